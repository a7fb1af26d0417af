"""The serializer through which every value enters YAML: scalars quoted exactly when needed.

Hand-rolled rather than ruamel.yaml because it runs for every value of thousands of files.
A string is written plain only when every reader the output meets reads it back as the same
string: YAML 1.2 (ruamel.yaml, Kustomize's kyaml), YAML 1.1 (PyYAML) and go-yaml v2 (what
Kubernetes, Argo CD and sigs.k8s.io/yaml use), which also takes `y`/`n` for booleans,
`1e3` for a float, `2024-01-02` for a timestamp and rejects `a:b` inside a flow collection.
Everything else is double-quoted with YAML's own escapes. tests/test_yamlout.py proves it
by reading tricky strings back through ruamel.yaml and PyYAML.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

# A plain scalar: a letter, or a digit or `/` (paths, versions), then only characters that
# are never indicators. No spaces, so no ` #` or `: `; a `:` only between word characters,
# and only outside flow collections.
_PLAIN_BLOCK = re.compile(
    r"[A-Za-z][A-Za-z0-9_./%+@=-]*(?::[A-Za-z0-9_./%+@=-]+)*|[0-9/][A-Za-z0-9_./%+@=-]*"
)
_PLAIN_FLOW = re.compile(r"[A-Za-z0-9/][A-Za-z0-9_./%+@=-]*")
# Anything a YAML 1.1 or 1.2 reader, or go-yaml's strconv fallback, could take for a number,
# and a leading date (YAML 1.1 timestamps, which go-yaml v2 turns into time.Time).
_NUMBER_LIKE = re.compile(
    r"[-+]?(?:0b[01_]+|0x[0-9a-fA-F_]+|0o?[0-7_]+|[0-9][0-9_]*(?:\.[0-9_]*)?(?:[eE][-+]?[0-9]+)?)"
    r"|[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt ].*)?",
    re.IGNORECASE,  # Go's strconv takes 0X1F, 0O17 and 0B1 too
)
# Booleans and nulls of YAML 1.1 and go-yaml v2 (compared case-insensitively).
_RESERVED = frozenset({"y", "yes", "n", "no", "true", "false", "on", "off", "null", "~"})

_ESCAPES = {
    "\\": "\\\\",
    '"': '\\"',
    "\n": "\\n",
    "\t": "\\t",
    "\r": "\\r",
    "\0": "\\0",
}
# Not printable in YAML (C0/C1 controls, DEL, surrogates, U+FFFE/U+FFFF), line breaks that
# YAML 1.1 folds (NEL, LS, PS) and the BOM: always written as escapes.
_NEEDS_ESCAPE = re.compile('[\\\\"\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff\ud800-\udfff\ufffe\uffff]')


def _escape(char: str) -> str:
    known = _ESCAPES.get(char)
    if known is not None:
        return known
    code = ord(char)
    return f"\\x{code:02X}" if code < 0x100 else f"\\u{code:04X}"


def quote(text: str) -> str:
    """A double-quoted YAML scalar that every reader reads back as exactly `text`."""
    return '"' + _NEEDS_ESCAPE.sub(lambda m: _escape(m.group()), text) + '"'


def _needs_quotes(text: str, plain: re.Pattern[str]) -> bool:
    return (
        plain.fullmatch(text) is None
        or text.lower() in _RESERVED
        or _NUMBER_LIKE.fullmatch(text) is not None
    )


@lru_cache(maxsize=1 << 16)
def _block_string(text: str) -> str:
    return quote(text) if _needs_quotes(text, _PLAIN_BLOCK) else text


@lru_cache(maxsize=1 << 16)
def _flow_string(text: str) -> str:
    return quote(text) if _needs_quotes(text, _PLAIN_FLOW) else text


def _number(value: int | float) -> str:
    if isinstance(value, int):
        return int.__repr__(value)
    if math.isnan(value):
        return ".nan"
    if math.isinf(value):
        return ".inf" if value > 0 else "-.inf"
    text = float.__repr__(value)
    # YAML 1.1 (PyYAML) reads `1e-05` as a string: its floats need a dot and a signed exponent.
    mantissa, e, exponent = text.partition("e")
    if "." not in mantissa:
        mantissa += ".0"
    if e and exponent[0] not in "+-":
        exponent = "+" + exponent
    return f"{mantissa}{e}{exponent}"


def scalar(value: Any, *, in_flow: bool = False) -> str:
    """One YAML scalar, plain when that reads back as the same value, else double-quoted."""
    kind = type(value)
    if kind is str:
        return _flow_string(value) if in_flow else _block_string(value)
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _number(value)
    if isinstance(value, str):  # a str subclass (an enum member, say): its plain text
        return scalar(str.__str__(value), in_flow=in_flow)
    raise TypeError(f"cannot write {kind.__name__} as a YAML scalar")


SCALAR, MAPPING, SEQUENCE = 0, 1, 2
_EXACT_KINDS: dict[type, int] = {
    str: SCALAR,
    int: SCALAR,
    float: SCALAR,
    bool: SCALAR,
    type(None): SCALAR,
    dict: MAPPING,
    list: SEQUENCE,
    tuple: SEQUENCE,
}


def _kind(value: Any) -> int:
    """SCALAR, MAPPING or SEQUENCE; exact types first, as ABC checks are slow on hot paths."""
    kind = _EXACT_KINDS.get(type(value))
    if kind is not None:
        return kind
    if isinstance(value, Mapping):
        return MAPPING
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return SEQUENCE
    return SCALAR


def flow(value: Any) -> str:
    """A value on one line: a scalar, or a flow collection (`{a: 1}`, `[x, y]`).

    Safe in any slot, even inside a flow collection a template writes (`[{= x | y =}]`), so a
    string with a `:` is quoted.
    """
    if type(value) is str:
        return _flow_string(value)
    return _flow(value, in_flow=True)


def _inline(value: Any) -> str:
    """A value after `key: ` or `- ` in block style, where `a:b` may stay plain."""
    if type(value) is str:
        return _block_string(value)
    return _flow(value, in_flow=False)


def _flow(value: Any, *, in_flow: bool) -> str:
    kind = _kind(value)
    if kind == MAPPING:
        items = (f"{scalar(k, in_flow=True)}: {_flow(v, in_flow=True)}" for k, v in value.items())
        return "{" + ", ".join(items) + "}"
    if kind == SEQUENCE:
        return "[" + ", ".join(_flow(v, in_flow=True) for v in value) + "]"
    return scalar(value, in_flow=in_flow)


def block(value: Any, indent: int) -> str:
    """A collection in block style for a template slot at column `indent`.

    The first line carries no indentation (the template places it); the following lines are
    indented by `indent`. Empty collections are written in flow style (`{}`, `[]`).
    """
    lines: list[str] = []
    _emit(value, 0, lines)
    return ("\n" + " " * indent).join(lines)


def _emit(value: Any, indent: int, lines: list[str]) -> None:
    # The hot loop of every render: exact-type dispatch, no helper calls for plain scalars.
    pad = " " * indent
    kind = _kind(value)
    if kind == MAPPING:
        if not value:
            lines.append(pad + "{}")
        for key, item in value.items():
            head = pad + (_block_string(key) if type(key) is str else scalar(key)) + ":"
            if type(item) is str:
                lines.append(head + " " + _block_string(item))
            elif _kind(item) != SCALAR and item:
                lines.append(head)
                _emit(item, indent + 2, lines)
            else:
                lines.append(head + " " + _inline(item))
    elif kind == SEQUENCE:
        if not value:
            lines.append(pad + "[]")
        for item in value:
            if type(item) is str:
                lines.append(pad + "- " + _block_string(item))
            elif _kind(item) != SCALAR and item:
                # the item's first line, re-indented to sit after the dash: `- key: value`
                start = len(lines)
                _emit(item, indent + 2, lines)
                lines[start] = pad + "- " + lines[start][indent + 2 :]
            else:
                lines.append(pad + "- " + _inline(item))
    else:
        lines.append(pad + scalar(value))
