"""The ``perfgate`` console command.

It lives outside the ``perfgate`` package on purpose: importing ``perfgate`` loads pydantic,
pluggy and the plugins' contracts, which takes a few hundred milliseconds, and a Ctrl-C in
that time must end perfgate the way it does later (``perfgate: interrupted``, exit 130),
not with a traceback from inside an import.
"""

from __future__ import annotations

import sys


def main() -> int:
    try:
        from perfgate.cli import main as run
    except KeyboardInterrupt:
        print("perfgate: interrupted", file=sys.stderr)
        return 130  # ExitCode.SIGINT, which this module must not import
    return run()


if __name__ == "__main__":
    sys.exit(main())
