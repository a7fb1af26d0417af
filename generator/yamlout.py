"""The serializer through which every value enters YAML: scalars quoted exactly when needed.

Hand-rolled rather than ruamel.yaml because it runs for every value of thousands of files;
the tests parse its output with ruamel.yaml (YAML 1.1 and 1.2 readers alike must read back
the same value).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

# A plain scalar: no indicator at the start, no ": " or " #" inside, nothing a YAML 1.1 or
# 1.2 reader would take for a number, boolean or null.
_PLAIN = re.compile(r"^(?:[A-Za-z][A-Za-z0-9_./%+@=-]*(?::[A-Za-z0-9_./%+@=-]+)*|[0-9/][A-Za-z0-9_./%+@=-]*)$")
_NUMBER_LIKE = re.compile(
    r"^[-+]?(?:0b[01_]+|0x[0-9a-fA-F_]+|0o?[0-7_]+|[0-9][0-9_]*(?:\.[0-9_]*)?(?:[eE][-+]?[0-9]+)?)$"
)
_RESERVED = frozenset({"y", "yes", "n", "no", "true", "false", "on", "off", "null", "~"})


def scalar(value: Any) -> str:
    """One YAML scalar, plain when that reads back as the same string, else double-quoted."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, int | float):
        return repr(value)
    if not isinstance(value, str):
        raise TypeError(f"cannot write {type(value).__name__} as a YAML scalar")
    if _PLAIN.match(value) and value.lower() not in _RESERVED and not _NUMBER_LIKE.match(value):
        return value
    return json.dumps(value, ensure_ascii=False)


def flow(value: Any) -> str:
    """A value on one line: a scalar, or a JSON-style flow collection."""
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{scalar(k)}: {flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, Sequence) and not isinstance(value, str):
        return "[" + ", ".join(flow(v) for v in value) + "]"
    return scalar(value)


def block(value: Any, indent: int) -> str:
    """A collection in block style for a template slot at column `indent`.

    The first line carries no indentation (the template places it); the following lines are
    indented by `indent`. Empty collections are written in flow style.
    """
    lines: list[str] = []
    _emit(value, 0, lines)
    pad = "\n" + " " * indent
    return pad.join(lines)


def _emit(value: Any, indent: int, lines: list[str]) -> None:
    pad = " " * indent
    if isinstance(value, Mapping):
        if not value:
            lines.append(pad + "{}")
        for key, item in value.items():
            _emit_entry(f"{pad}{scalar(key)}:", item, indent + 2, lines)
    elif isinstance(value, Sequence) and not isinstance(value, str):
        if not value:
            lines.append(pad + "[]")
        for item in value:
            _emit_item(item, indent, lines)
    else:
        lines.append(pad + scalar(value))


def _is_nonempty_collection(value: Any) -> bool:
    return isinstance(value, Mapping | list | tuple) and bool(value)


def _emit_entry(head: str, item: Any, child_indent: int, lines: list[str]) -> None:
    if _is_nonempty_collection(item):
        lines.append(head)
        _emit(item, child_indent, lines)
    else:
        lines.append(f"{head} {flow(item)}")


def _emit_item(item: Any, indent: int, lines: list[str]) -> None:
    pad = " " * indent
    if isinstance(item, Mapping) and item:
        start = len(lines)
        _emit(item, indent + 2, lines)
        lines[start] = pad + "- " + lines[start][indent + 2 :]
    elif _is_nonempty_collection(item):
        start = len(lines)
        _emit(item, indent + 2, lines)
        lines[start] = pad + "- " + lines[start][indent + 2 :]
    else:
        lines.append(f"{pad}- {flow(item)}")
