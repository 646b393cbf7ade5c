"""The detached sender: ``python -m dlt_telemetry.sender``.

Started by the engine at interpreter exit when messages wait in the outbox: with the marker
``DLT_TELEMETRY_SENDER`` in its environment, null standard streams and a process group of its
own. It finds its recipient and credentials the way the host did, from the environment it
inherits and the same config files, delivers for at most 30 s, stops early on SIGTERM or
SIGINT (writing back what it could not deliver) and ignores SIGHUP. Run by hand, it does
nothing.
"""

from __future__ import annotations

import sys

from . import _engine


def main() -> int:
    code = _engine.serve_sender()
    if code is None:
        print("dlt_telemetry.sender is started by the engine itself; there is nothing to run by hand", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":
    sys.exit(main())
