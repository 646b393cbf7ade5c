"""dlt's anonymous usage telemetry on the Rust engine of dlt-telemetry-rs.

For dlt users, one line switches dlt (Python) to this engine::

    import dlt_telemetry
    dlt_telemetry.install()

For other Python tools, a small API::

    dlt_telemetry.start("my_tool", "0.3.0")
    dlt_telemetry.track("command", "export", {"format": "parquet"})
    dlt_telemetry.status()["telemetry"]["enabled"]

The engine reads dlt's configuration (the same files and environment variables), where any
opt-out wins; ``track`` never blocks and never raises; at interpreter exit nothing waits for the
network: what is left goes to an on-disk outbox and a detached sender delivers it (inline,
within a short deadline, in CI and as PID 1). It survives ``os.fork()``: a child starts its own
runtime on its first event.
"""

from __future__ import annotations

import atexit
import json
import os
import sys
from typing import Any, Dict, List, Mapping, Optional

from . import _engine
from ._dlt import SUPPORTED_DLT_VERSIONS, UnsupportedDltVersion, install

__all__ = [
    "SUPPORTED_DLT_VERSIONS",
    "UnsupportedDltVersion",
    "flush",
    "install",
    "start",
    "sent",
    "status",
    "track",
]

CATEGORIES = ("command", "pipeline", "helper", "mcp")
"""The event categories a message may have; events of other categories are dropped."""


def start(library_name: str, library_version: str) -> bool:
    """Starts telemetry for this process as ``library_name``/``library_version``.

    They become ``context.library`` and the ``User-Agent`` of every message. Nothing is read or
    sent yet: the runtime starts on the first event. The first ``start`` (or ``install``) of a
    process wins; True when this call configured it, False when it already was.
    """
    return _configure(library_name, library_version)


def track(category: str, name: str, properties: Optional[Mapping[str, Any]] = None) -> None:
    """Sends the event ``<category>_<name>`` with ``properties``, if usage telemetry is on.

    ``category`` is one of :data:`CATEGORIES`. Property values may be ``None``, booleans,
    numbers, text, and lists and dicts of those; anything else is sent as ``null``. Never
    raises, never blocks: the message is queued (or kept for the detached sender). Does nothing
    before :func:`start` or :func:`install`.
    """
    try:
        _ensure_exit_hook()
        _engine.track(category, name, properties)
    except Exception:  # noqa: BLE001 - telemetry never breaks its host
        pass


def flush(timeout: float = 1.0) -> bool:
    """Waits up to ``timeout`` seconds (without holding the GIL) for what was tracked so far.

    When a detached sender delivers (the default outside CI), this writes it to the outbox at
    once, where it waits for the sender started at exit (or the next run). Call it before
    ending a process with ``os._exit``, which skips the exit hooks. True when everything was
    delivered or kept.
    """
    try:
        return bool(_engine.flush(float(timeout)))
    except Exception:  # noqa: BLE001
        return False


def status() -> Dict[str, Any]:
    """The facts ``dlt telemetry --json`` shows, for this process.

    Whether usage telemetry is on and which setting decided it, the endpoint (password hidden),
    whether a write key, a Sentry DSN or OpenTelemetry export is set, and what waits to be sent
    per recipient. Starts the runtime if needed; raises ``RuntimeError`` before :func:`start`
    or :func:`install`.
    """
    return json.loads(_engine.status_json())


def sent(since: Optional[float] = None) -> List[Dict[str, Any]]:
    """Every usage message delivered from this machine, exactly as it was sent, oldest first.

    What ``dlt telemetry log --json`` prints: a list of ``{"sent_at", "endpoint", "write_key",
    "message"}``, ``endpoint`` with its credentials hidden, from the record the engine keeps
    for 30 days (only messages an endpoint confirmed). ``since`` limits it to the last so many
    seconds. Sends nothing. Raises ``RuntimeError`` before :func:`start` or :func:`install`,
    ``ValueError`` for a negative ``since``.
    """
    return json.loads(_engine.sent_json(None if since is None else float(since)))


def _configure(
    library_name: str,
    library_version: str,
    exec_info: Optional[list] = None,
    env_overrides: Optional[list] = None,
) -> bool:
    sender = (sys.executable, ["-m", "dlt_telemetry.sender"])
    configured = _engine.configure(
        library_name,
        library_version,
        python=sys.version.split(" ")[0],
        exec_info=exec_info,
        env_overrides=env_overrides,
        sender=sender,
    )
    _ensure_exit_hook()
    return configured


_exit_hook_pid: Optional[int] = None


def _ensure_exit_hook() -> None:
    """Shuts the runtime of this process down at its exit, once per process.

    A forked child gets its own hook on its first event: ``multiprocessing`` children end with
    ``os._exit`` after running multiprocessing's finalizers, not ``atexit``.
    """
    global _exit_hook_pid
    pid = os.getpid()
    if _exit_hook_pid == pid:
        return
    _exit_hook_pid = pid
    atexit.register(_shutdown_at_exit)
    mp_util = sys.modules.get("multiprocessing.util")
    if mp_util is not None:
        mp_util.Finalize(None, _shutdown_at_exit, exitpriority=0)


def _shutdown_at_exit() -> None:
    try:
        _engine.shutdown()
    except Exception:  # noqa: BLE001
        pass
