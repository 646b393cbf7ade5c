"""The detached sender: ``python -m dlt_telemetry.sender LIBRARY_NAME LIBRARY_VERSION``.

Started by the engine at interpreter exit (with null standard streams, in a session of its
own) when messages wait in the outbox. It finds its recipient and credentials the way the host
did, from the environment it inherits and the same config files, delivers for at most 30 s and
stops early, writing back what it could not deliver, on SIGTERM, SIGINT or SIGHUP.
"""

from __future__ import annotations

import signal
import sys
import threading
from typing import List

from . import _engine


def main(argv: List[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m dlt_telemetry.sender LIBRARY_NAME LIBRARY_VERSION", file=sys.stderr)
        return 2
    stop = _engine.StopSignal()
    for name in ("SIGTERM", "SIGINT", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), lambda *_: stop.stop())
    failure: List[str] = []
    # The loop runs on a thread so that this (main) thread can run the signal handlers.
    worker = threading.Thread(target=lambda: failure.extend(filter(None, [_engine.run_sender(argv[0], argv[1], stop)])))
    worker.start()
    while worker.is_alive():
        worker.join(0.2)
    if failure:
        print(f"error: {failure[0]}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
