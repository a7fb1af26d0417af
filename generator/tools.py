"""External tools (kubectl, the linters): where they are and how they run."""

from __future__ import annotations

import functools
import json
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
    """The path of an executable: the one gitopsgen's own install provides (beside this
    Python, e.g. the virtualenv's bin/, where `gitopsgen[validate]` puts kubectl), else the
    first on PATH. Own first: a kubectl on PATH may be any release, or not Kubernetes' at all.
    """
    beside = Path(sys.executable).parent / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which(name)
    if found:
        return found
    raise ToolMissingError(
        f"{name} not found in {beside.parent} or on PATH: install the validators with "
        "`pip install 'gitopsgen[validate]'`"
    )


KUSTOMIZE_MAJOR = 5  # what the kustomizations gitopsgen writes need (labels, patches, v1beta1)


@functools.cache
def kubectl() -> str:
    """The kubectl to build overlays with, once its Kustomize is known to be 5.x."""
    path = find_tool("kubectl")
    proc = subprocess.run(
        [path, "version", "--client", "-o", "json"],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    try:
        reported = json.loads(proc.stdout)
        kustomize = str(reported.get("kustomizeVersion", ""))
        client = str(reported.get("clientVersion", {}).get("gitVersion", "?"))
    except (json.JSONDecodeError, AttributeError):
        kustomize, client = "", "?"
    major = kustomize.removeprefix("v").split(".")[0]
    if not major.isdigit() or int(major) != KUSTOMIZE_MAJOR:
        raise ToolMissingError(
            f"{path} is not a kubectl with Kustomize {KUSTOMIZE_MAJOR} (it reports kubectl"
            f" {client}, Kustomize {kustomize or 'none'}): install gitopsgen's own with"
            " `pip install 'gitopsgen[validate]'`, or put such a kubectl first on PATH"
        )
    return path


def run_tool(args: Sequence[str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run a tool: no stdin, output captured as text."""
    executable = kubectl() if args[0] == "kubectl" else find_tool(args[0])
    return subprocess.run(
        [executable, *args[1:]],
        cwd=cwd,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        check=False,
    )
