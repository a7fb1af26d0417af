"""`python -m gitopsgen ...`: the same command line as the `gitopsgen` script."""

from __future__ import annotations

import sys

from generator.cli import main

if __name__ == "__main__":
    sys.exit(main())
