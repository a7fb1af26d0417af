"""External tools (kubectl, the linters): where they are and how they run."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from generator.spec.errors import InputError


class ToolMissingError(InputError):
    """An external validator is not installed: reported like bad usage (exit 2), no traceback."""

    def __init__(self, message: str) -> None:
        super().__init__([message])


def find_tool(name: str) -> str:
    """The path of an executable: on PATH, else next to this Python (the virtualenv's bin)."""
    found = shutil.which(name)
    if found:
        return found
    beside = Path(sys.executable).parent / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    raise ToolMissingError(
        f"{name} not found on PATH or in {beside.parent}: install the validators with "
        "`pip install 'gitopsgen[validate]'`"
    )


def run_tool(args: Sequence[str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run a tool: no stdin, output captured as text."""
    return subprocess.run(
        [find_tool(args[0]), *args[1:]],
        cwd=cwd,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        check=False,
    )
