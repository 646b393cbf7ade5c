"""dlt's command line on this engine: ``python -m dlt_telemetry.cli [dlt arguments]``.

The same as ``dlt [arguments]``, with :func:`dlt_telemetry.install` run first, so that the
command's ``command_*`` event goes through the engine.
"""

import sys

from . import install


def main() -> None:
    install()
    from dlt._workspace.cli._dlt import _main

    sys.argv[0] = "dlt"
    _main()


if __name__ == "__main__":
    main()
