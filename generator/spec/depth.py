"""Bounds on how deep a services file nests.

tomllib (and every recursive step after it) recurses once per nested array or inline table
and per dotted-key part: a few hundred levels exhaust Python's stack. No services file needs
more than a handful, so past MAX_NESTING levels, or MAX_KEY_PARTS parts in a key, the file
is refused with the position of the first level too many. The parsed data's depth is the
cheap test (tomllib's own stack overflow counts as too deep); only a file that fails it is
scanned character by character for the place to report.
"""

from __future__ import annotations

from typing import Any

MAX_NESTING = 32  # arrays and inline tables inside each other
MAX_KEY_PARTS = 32  # `a.b.c` in a table header or a key


def too_deep(data: Any) -> bool:
    """The data nests past the bounds (a dotted key's parts nest as tables do)."""
    stack = [(data, 0)]
    while stack:
        node, level = stack.pop()
        if level > MAX_NESTING:
            return True
        if isinstance(node, dict):
            stack.extend((child, level + 1) for child in node.values())
        elif isinstance(node, list):
            stack.extend((child, level + 1) for child in node)
    return False


def problem(text: str) -> tuple[int, int, str] | None:
    """(line, column, message) of the first place past a bound, or None."""
    depth, line, col, i = 0, 1, 1, 0
    at_line_start = True
    while i < len(text):
        char = text[i]
        if char == "\n":
            line, col, i, at_line_start = line + 1, 1, i + 1, True
            continue
        if char in " \t\r":
            i, col = i + 1, col + 1
            continue
        if char == "#":
            end = text.find("\n", i)
            end = len(text) if end < 0 else end
            col += end - i
            i = end
            continue
        if at_line_start and depth == 0:
            found = _key_parts(text, i, line, col)
            if found is not None:
                return found
        at_line_start = False
        if char in "\"'":
            end = _string_end(text, i)
            for skipped in text[i:end]:
                line, col = (line + 1, 1) if skipped == "\n" else (line, col + 1)
            i = end
            continue
        if char in "[{" and not (depth == 0 and _is_header(text, i)):
            depth += 1
            if depth > MAX_NESTING:
                return line, col, f"nested more than {MAX_NESTING} levels deep"
        elif char in "]}" and depth > 0:
            depth -= 1
        i, col = i + 1, col + 1
    return None


def _is_header(text: str, i: int) -> bool:
    """A `[table]` or `[[array]]` header: a bracket first on its line, outside any value."""
    start = text.rfind("\n", 0, i) + 1
    return text[start:i].strip() == ""


def _string_end(text: str, i: int) -> int:
    """The index just past the string starting at i (basic, literal, or multi-line)."""
    quote = text[i]
    if text.startswith(quote * 3, i):
        end = text.find(quote * 3, i + 3)
        while quote == '"' and end > 0 and _escaped(text, end):
            end = text.find(quote * 3, end + 1)
        end = len(text) if end < 0 else end + 3
        while end < len(text) and text[end] == quote:  # up to two quotes may close it
            end += 1
        return end
    j = i + 1
    while j < len(text) and text[j] not in (quote, "\n"):
        j += 2 if quote == '"' and text[j] == "\\" else 1
    return min(j + 1, len(text))


def _escaped(text: str, index: int) -> bool:
    backslashes = 0
    while index - backslashes - 1 >= 0 and text[index - backslashes - 1] == "\\":
        backslashes += 1
    return backslashes % 2 == 1


def _key_parts(text: str, i: int, line: int, col: int) -> tuple[int, int, str] | None:
    """A header's or a key's dotted parts, counted outside quotes, up to `]` or `=`."""
    parts, j = 1, i
    while j < len(text) and text[j] not in "=\n":
        if text[j] in "\"'":
            j = _string_end(text, j)
            continue
        if text[j] == "]" and text[i] == "[":
            break
        if text[j] == ".":
            parts += 1
            if parts > MAX_KEY_PARTS:
                return line, col, f"a key of more than {MAX_KEY_PARTS} dotted parts"
        j += 1
    return None
