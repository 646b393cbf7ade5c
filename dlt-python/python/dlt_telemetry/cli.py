"""dlt's command line on this engine: ``python -m dlt_telemetry.cli [dlt arguments]``.

The same as ``dlt [arguments]``, with :func:`dlt_telemetry.install` run first, so that the
command's ``command_*`` event goes through the engine. ``--disable-telemetry`` also records the
engine's opt-out: the mark every sender checks, and every outbox deleted, once dlt has edited its
config files (also when that failed). After, not before: every process reads the mark before
its configuration, so one that read the files from before the edit holds the mark from before
it too, and sees the opt-out.
"""

import sys
from typing import Callable

from . import _engine, install


def _recording_opt_out(change: Callable[[bool], None]) -> Callable[[bool], None]:
    def change_telemetry_status_command(enabled: bool) -> None:
        try:
            change(enabled)
        finally:
            if not enabled:
                try:
                    from dlt.common.runtime import run_context

                    _engine.record_opt_out(str(run_context.active().global_dir))
                except Exception:  # noqa: BLE001 - dlt's switch is done; its config files decide
                    pass

    return change_telemetry_status_command


def main() -> None:
    install()
    from dlt._workspace.cli import _telemetry_command
    from dlt._workspace.cli._dlt import _main

    # Called through the module's globals by dlt's switch wrapper (and its --disable-telemetry).
    _telemetry_command.change_telemetry_status_command = _recording_opt_out(
        _telemetry_command.change_telemetry_status_command
    )
    sys.argv[0] = "dlt"
    _main()


if __name__ == "__main__":
    main()
