"""Output for programs: `--format json` documents, and GitHub Actions workflow annotations.

Inside GitHub Actions (`GITHUB_ACTIONS=true`) every input error and finding is also printed
as an `::error file=...,line=...::` workflow command, so the pull request shows it on the
line it is about (docs.github.com, "Workflow commands for GitHub Actions": setting an error
message; escaping as @actions/core's command.ts does).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Sequence
from typing import Any, TextIO

from generator.spec.errors import Problem, format_path

_SUGGESTION = re.compile(r"\(did you mean '([^']*)'\?\)")
# `path:line:col: message` or `path: message`, as validate prints its findings.
_FINDING = re.compile(
    r"(?P<file>[^\s:][^:]*?)(?::(?P<line>[0-9]+):(?P<col>[0-9]+))?: (?P<message>.*)"
)


def in_github_actions() -> bool:
    return os.environ.get("GITHUB_ACTIONS") == "true"


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(
    message: str,
    *,
    file: str | None = None,
    line: int | None = None,
    col: int | None = None,
    title: str = "gitopsgen",
) -> str:
    """One `::error ...::message` workflow command line."""
    properties = [("title", title)]
    if file:
        properties.insert(0, ("file", file))
    if line:
        properties.insert(1, ("line", str(line)))
        if col:
            properties.insert(2, ("col", str(col)))
    joined = ",".join(f"{key}={_escape_property(value)}" for key, value in properties)
    return f"::error {joined}::{_escape_data(message)}"


def problem_record(problem: Problem | str) -> dict[str, Any]:
    """An input error as JSON: file, line, column, key path, message, suggestion."""
    if isinstance(problem, Problem):
        match = _SUGGESTION.search(problem.message)
        return {
            "file": problem.file,
            "line": problem.line,
            "column": problem.col,
            "key_path": format_path(problem.path) or None,
            "message": problem.message,
            "suggestion": match.group(1) if match else None,
        }
    match = _SUGGESTION.search(problem)
    return {
        "file": None,
        "line": None,
        "column": None,
        "key_path": None,
        "message": problem,
        "suggestion": match.group(1) if match else None,
    }


def errors_document(problems: Sequence[Problem | str]) -> str:
    return dump({"ok": False, "errors": [problem_record(p) for p in problems]})


def problem_annotation(problem: Problem | str) -> str:
    if isinstance(problem, Problem):
        key = format_path(problem.path)
        text = f"{key}: {problem.message}" if key else problem.message
        return annotation(text, file=problem.file, line=problem.line, col=problem.col)
    return annotation(problem)


def finding_record(finding: str, root: str) -> dict[str, Any]:
    """A validate finding (`path[:line:col]: message`) as JSON, its path under `root`."""
    match = _FINDING.fullmatch(finding)
    if match is None:
        return {"file": None, "line": None, "column": None, "message": finding}
    return {
        "file": tree_path(root, match["file"]),
        "line": int(match["line"]) if match["line"] else None,
        "column": int(match["col"]) if match["col"] else None,
        "message": match["message"],
    }


def finding_annotation(record: dict[str, Any]) -> str:
    return annotation(
        record["message"], file=record["file"], line=record["line"], col=record["column"]
    )


def tree_path(root: str, path: str) -> str:
    """A path of the tree as the repository names it (what an annotation's file= needs)."""
    return path if root in ("", ".") else f"{root.rstrip('/')}/{path}"


def dump(document: Any) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def print_annotations(lines: Iterable[str], stream: TextIO) -> None:
    """Workflow commands go to stdout, where the runner reads them."""
    for line in lines:
        stream.write(line + "\n")
