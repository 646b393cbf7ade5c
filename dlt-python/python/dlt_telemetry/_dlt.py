"""Switching dlt (Python) to this engine: :func:`install`.

The seam is ``dlt.common.runtime.anon_tracker._send_event``. Every usage event dlt sends goes
through ``anon_tracker.track``, whichever name its caller imported it under, and ``track``
calls ``_send_event`` through the module's globals at call time, so replacing that one
function catches every call site (docs/python.md lists them). dlt still builds the event as it
always did (its properties, its execution context); the replacement hands it to the engine
instead of dlt's thread pool, and dlt never builds its request payload, so it never reads or
writes its ``.anonymous_id`` file either. ``dlt.common.runtime.telemetry.init_anon_tracker`` is
replaced too, so that dlt's tracker records dlt's decision without starting its worker.
"""

from __future__ import annotations

import inspect
from typing import Any, Mapping, Tuple

SUPPORTED_DLT_VERSIONS: Tuple[str, ...] = ("1.31",)
"""The dlt release series :func:`install` supports (``1.31`` is 1.31.0 and its patches)."""

_MARK = "__dlt_telemetry_engine__"
_SEAM_PARAMETERS = ["event_name", "properties", "context"]


class UnsupportedDltVersion(RuntimeError):
    """The installed dlt is not one :func:`install` knows how to switch."""


def install() -> None:
    """Switches this process's dlt to this engine; calling it again does nothing.

    From then on every usage event dlt sends (``command_*``, ``pipeline_*`` and any other)
    goes through the engine with dlt's event names and properties, as long as both dlt's
    configuration and the engine's say telemetry is on (any opt-out wins). Raises
    :class:`UnsupportedDltVersion` for a dlt outside :data:`SUPPORTED_DLT_VERSIONS`, and
    ``ImportError`` when dlt is not installed; dlt is then left as it was.
    """
    from dlt.version import __version__ as dlt_version

    series = ".".join(dlt_version.split(".")[:2])
    if series not in SUPPORTED_DLT_VERSIONS:
        supported = ", ".join(f"{v}.x" for v in SUPPORTED_DLT_VERSIONS)
        raise UnsupportedDltVersion(
            f"dlt_telemetry supports dlt {supported}; this is dlt {dlt_version}, which is left"
            " unchanged (its own tracker keeps sending)"
        )
    from dlt.common.runtime import anon_tracker

    current = anon_tracker._send_event
    if getattr(current, _MARK, False):
        return
    if list(inspect.signature(current).parameters) != _SEAM_PARAMETERS:
        raise UnsupportedDltVersion(
            f"dlt {dlt_version}: dlt.common.runtime.anon_tracker._send_event is not the"
            f" function dlt_telemetry replaces (expected parameters {_SEAM_PARAMETERS})"
        )
    from dlt.common.runtime import telemetry

    setattr(_send_event, _MARK, True)
    anon_tracker._send_event = _send_event
    # dlt's start_telemetry() calls init_anon_tracker through telemetry's globals: from now on
    # it only records dlt's decision, without dlt's worker thread and HTTP session.
    telemetry.init_anon_tracker = _record_dlt_consent


def _send_event(event_name: str, properties: Mapping[str, Any], context: Mapping[str, Any]) -> None:
    """dlt's ``anon_tracker._send_event``, sending through the engine. Never raises."""
    try:
        from dlt.common.runtime import anon_tracker

        # dlt's own consent: its tracker runs only when its configuration (every provider it
        # reads, Airflow and cloud secrets included) has telemetry on.
        if anon_tracker._ANON_TRACKER_ENDPOINT is None:
            return
        from . import _engine, track

        if not _engine.is_configured():
            _configure_for_dlt(context)
        category = properties.get("event_category")
        name = properties.get("event_name")
        own = {k: v for k, v in properties.items() if k not in ("event_category", "event_name")}
        track(category, name, own)
    except Exception:  # noqa: BLE001 - telemetry never breaks its host
        pass


def _record_dlt_consent(config: Any) -> None:
    """dlt's ``init_anon_tracker`` once installed: dlt's configuration has telemetry on, and
    this is where it would send (the engine decides again, with its own rules)."""
    from dlt.common.runtime import anon_tracker

    anon_tracker._ANON_TRACKER_ENDPOINT = config.dlthub_telemetry_endpoint


def _configure_for_dlt(context: Mapping[str, Any]) -> None:
    """Configures the engine as dlt: its library, Python version and execution environments
    (from the context dlt built), and dlt's own global and project folders, so that the engine
    reads exactly the config files dlt reads."""
    from dlt.common.runtime import run_context

    from . import _configure

    library = context.get("library") or {}
    exec_info = context.get("exec_info")
    active = run_context.active()
    _configure(
        str(library.get("name", "dlt")),
        str(library.get("version", "")),
        exec_info=[str(item) for item in exec_info] if isinstance(exec_info, list) else None,
        env_overrides=[("DLT_GLOBAL_DIR", str(active.global_dir)), ("DLT_PROJECT_DIR", str(active.run_dir))],
    )
