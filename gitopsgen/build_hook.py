"""The `gitopsgen-build` pre-commit hook: `gitopsgen build ARGS`, failing when it changed files.

pre-commit fails a hook that modified tracked files, but it cannot see the files a hook
creates (the first build of a tree, a new service's base and overlays before the manifest is
committed): the hook says it itself. It exits 1 when the build created, updated or deleted a
file (review and stage them, then commit again), 0 when the tree was up to date, and the
build's own code otherwise (1: a file was kept, 2: bad input).
"""

from __future__ import annotations

import contextlib
import io
import sys
from collections.abc import Sequence
from typing import TextIO

from generator.cli import EXIT_FINDINGS, EXIT_OK, main
from generator.tree.write import Change

CHANGED = tuple(f"{change.value} " for change in Change)


class _Tee(io.StringIO):
    """What `build` prints, printed and kept."""

    def __init__(self, through: TextIO) -> None:
        super().__init__()
        self.through = through

    def write(self, text: str) -> int:
        self.through.write(text)
        return super().write(text)


def run(argv: Sequence[str]) -> int:
    printed = _Tee(sys.stdout)
    with contextlib.redirect_stdout(printed):
        code = main(["build", *argv])
    changed = any(line.startswith(CHANGED) for line in printed.getvalue().splitlines())
    if code == EXIT_OK and changed:
        print("gitopsgen build changed the tree: review and stage the changes", file=sys.stderr)
        return EXIT_FINDINGS
    return code


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
