"""The ``tokenkeeper`` command: the console script of the wheel.

It runs the CLI library of the native ``tokenkeeper`` binary (``core/cli``), so both are one
program: the same commands, flags, output and exit statuses (``docs/cli.md``). ``tokenkeeper
demo`` needs the local issuer of the ``tokenkeeper-testing`` wheel
(``pip install 'tokenkeeper[testing]'``).
"""

from __future__ import annotations

import sys
from typing import Sequence

from ._native import _cli

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command line ``argv`` (default: ``sys.argv[1:]``); returns the exit status."""
    args = sys.argv[1:] if argv is None else list(argv)
    # The library writes to the process's stdout and stderr: what Python buffered goes first.
    sys.stdout.flush()
    sys.stderr.flush()
    return _cli(["tokenkeeper", *args])


if __name__ == "__main__":
    sys.exit(main())
