"""HCL output: values as HCL literals, and the layout `terraform fmt` gives a file.

`literal` is the serializer every value passes through on its way into a .tf template (the
`hcl` filter). `fmt` re-indents a rendered file and aligns the `=` of consecutive attribute
lines exactly as `terraform fmt` (hclwrite's formatter) does, so a template's whitespace
cannot drift from what `terraform fmt -check` accepts.

The formatter handles the HCL this project writes: attributes, blocks, multi-line lists and
objects, full-line comments and strings with template sequences; not heredocs, block
comments or trailing comments, which it refuses rather than mis-format.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from attrs import frozen

_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_ESCAPED = re.compile("[" + re.escape("".join(_ESCAPES)) + "]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# `${` and `%{` would start an interpolation or a directive inside an HCL string; doubling
# the sigil (`$${`, `%%{`) is HCL's escape for the literal characters.
_TEMPLATE_START = re.compile(r"([$%])(?=\{)")
INDENT = 2


def literal(value: Any) -> str:
    """One HCL value on one line: string, number, bool, null or a tuple of those."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return string(value)
    if isinstance(value, Sequence):
        return "[" + ", ".join(literal(item) for item in value) + "]"
    if isinstance(value, Mapping):
        raise TypeError("write objects in the template, one attribute per line")
    raise TypeError(f"cannot write {type(value).__name__} as an HCL literal")


def string(text: str) -> str:
    """A quoted HCL string that evaluates to exactly `text`, with no interpolation."""
    escaped = _ESCAPED.sub(lambda m: _ESCAPES[m.group()], text)
    escaped = _CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", escaped)
    return '"' + _TEMPLATE_START.sub(r"\1\1", escaped) + '"'


@frozen(kw_only=True)
class _Line:
    """One source line as the formatter sees it (leading whitespace removed)."""

    text: str
    brackets: int  # net opening brackets on the line
    key: str | None  # the text before `=` when the line is a whole single-line assignment
    value: str  # the text after `=` (when `key` is set)


def fmt(text: str) -> str:
    """`text` laid out as `terraform fmt` would leave it (see the module docstring)."""
    lines = [_scan(raw.strip()) for raw in text.strip("\n").split("\n")]
    indents = _indents(lines)
    out = [
        " " * indent + line.text if line.text else ""
        for line, indent in zip(lines, indents, strict=True)
    ]
    for start, end in _assignment_chains(lines):
        width = max(indents[i] + len(lines[i].key or "") for i in range(start, end))
        for i in range(start, end):
            key = lines[i].key or ""
            pad = " " * (width - indents[i] - len(key) + 1)
            out[i] = " " * indents[i] + key + pad + "= " + lines[i].value
    return "\n".join(out) + "\n"


def _indents(lines: list[_Line]) -> list[int]:
    """hclwrite's indent stack: a line opening brackets indents what follows by one level,
    however many it opens; closing pops the levels those brackets opened."""
    stack: list[int] = []
    indents: list[int] = []
    for line in lines:
        if line.brackets < 0:
            closed = -line.brackets
            while closed > 0 and stack:
                if closed >= stack[-1]:
                    closed -= stack.pop()
                else:
                    stack[-1] -= closed
                    closed = 0
        indents.append(INDENT * len(stack))
        if line.brackets > 0:
            stack.append(line.brackets)
    return indents


def _assignment_chains(lines: list[_Line]) -> list[tuple[int, int]]:
    """Runs of consecutive single-line assignments; anything else (a blank line, a comment,
    a block, an assignment whose value opens brackets) ends a run."""
    chains: list[tuple[int, int]] = []
    start = -1
    for i, line in enumerate([*lines, _Line(text="", brackets=0, key=None, value="")]):
        if line.key is None:
            if start != -1:
                chains.append((start, i))
            start = -1
        elif start == -1:
            start = i
    return chains


# What the scanner stops at (everything in between is skipped in one step): in code, quotes,
# brackets, comment starts and `=`; in a string, escapes, template sequences (escaped or not)
# and the closing quote. Alternatives are tried in order at each position, as the scanner
# would test them character by character.
_CODE_TOKEN = re.compile(r'["{}\[\]()#=]|//')
_STRING_TOKEN = re.compile(r'\\.|\$\$\{|%%\{|[$%]\{|"', re.DOTALL)


def _scan(text: str) -> _Line:
    """Count brackets outside strings and find the first `=` of an assignment."""
    if text.startswith(("#", "//")) or not text:
        return _Line(text=text, brackets=0, key=None, value="")
    if "<<" in text or "/*" in text:
        _refuse_unless_in_string(text)
    contexts: list[str] = []  # "s" string, "i" interpolation, "b" bracket
    brackets = 0
    equals = -1
    after_equals = 0
    i = 0
    while True:
        in_string = bool(contexts) and contexts[-1] == "s"
        match = (_STRING_TOKEN if in_string else _CODE_TOKEN).search(text, i)
        if match is None:
            break
        token, i = match.group(), match.end()
        if in_string:
            if token in ("${", "%{"):
                contexts.append("i")
                brackets += 1
            elif token == '"':
                contexts.pop()
            continue  # an escape, or an escaped template sequence: literal text
        if token == '"':
            contexts.append("s")
        elif token in "{[(":
            contexts.append("b")
            brackets += 1
        elif token in "}])":
            if contexts:
                contexts.pop()
            brackets -= 1
        elif token in ("#", "//"):
            raise ValueError(f"trailing comments are not supported: {text!r}")
        elif equals == -1 and _is_assignment(text, match.start()):
            equals = match.start()
            after_equals = brackets
    if equals > 0 and brackets - after_equals == 0:
        return _Line(
            text=text,
            brackets=brackets,
            key=text[:equals].rstrip(),
            value=text[equals + 1 :].lstrip(),
        )
    return _Line(text=text, brackets=brackets, key=None, value="")


def _is_assignment(text: str, i: int) -> bool:
    """`=` alone, not part of `==`, `!=`, `<=`, `>=` or `=>`."""
    before = text[i - 1 : i]
    after = text[i + 1 : i + 2]
    return not (before and before in "=!<>") and not (after and after in "=>")


def _refuse_unless_in_string(text: str) -> None:
    if re.search(r"<<-?[A-Za-z_]|/\*", re.sub(r'"(?:\\.|[^"\\])*"', '""', text)):
        raise ValueError(f"heredocs and block comments are not supported: {text!r}")
