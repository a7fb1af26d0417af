"""Step outputs for the workflow running a command: `key=value` lines on `$GITHUB_OUTPUT`.

https://docs.github.com/en/actions/reference/workflows-and-actions/workflow-commands#setting-an-output-parameter
Values are single lines (names, tags, digests, paths the loader has checked).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from generator.spec.errors import InputError


def append(path: Path, outputs: Mapping[str, str]) -> None:
    try:
        with path.open("a", encoding="utf-8") as file:
            file.writelines(f"{key}={value}\n" for key, value in outputs.items())
    except OSError as exc:
        raise InputError([f"{path}: cannot write: {exc.strerror}"]) from None
