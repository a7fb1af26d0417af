"""The render check's job summary: the rendered diff as Markdown, within GitHub's size limit."""

from __future__ import annotations

from pathlib import Path

from generator.spec.errors import InputError

# GitHub refuses a step summary over 1 MiB; the cut leaves room for the text around it.
# https://docs.github.com/en/actions/reference/workflows-and-actions/workflow-commands#step-isolation-and-limits
MAX_DIFF_BYTES = 900_000


def render(diff: str) -> str:
    """The summary of a `gitopsgen diff`: the diff itself, or that the tree matches."""
    lines = ["## Rendered diff"]
    if diff:
        cut = diff.encode("utf-8")[:MAX_DIFF_BYTES].decode("utf-8", errors="ignore")
        lines += [
            "The tree does not match services.toml: run `gitopsgen build` and commit the result.",
            "",
            "````diff",
            cut.removesuffix("\n"),
            "````",
        ]
    else:
        lines.append("The tree matches services.toml.")
    return "\n".join(lines) + "\n"


def append(path: Path, diff: str) -> None:
    """Append the summary to `path` (the step's `$GITHUB_STEP_SUMMARY` file)."""
    try:
        with path.open("a", encoding="utf-8") as file:
            file.write(render(diff))
    except OSError as exc:
        raise InputError([f"{path}: cannot write the summary: {exc.strerror}"]) from None
