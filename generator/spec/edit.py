"""One key's value in TOML text, found and edited without parsing the whole document.

For edits in place (`set-image`, `promote`): a 1,000-service file takes tomlkit seconds and
tomllib a seventh of a second to read, while the value to change is one string on one line.

Finding (`find`) is a guess: the table headers are found by a regular expression over the
lines, the key among the lines of the few tables that can hold it (the headers that are
prefixes of its table, and the lines before the first header) by the Locator, and the value's
bytes by the small string scanner below. A line inside a multi-line string may look like a
header, so the caller checks what it wrote.

Judging (`confined`, `added`) is not: they say whether tomllib reads the edited text as the
old data with exactly one table changed, from that table's lines alone, only where the file's
shape makes that sound (each explains why), and otherwise say they cannot tell, so that the
caller reads the whole edited text with tomllib instead.
"""

from __future__ import annotations

import functools
import re
import tomllib
from typing import Any

from attrs import frozen

from generator.spec.errors import KeyPath
from generator.spec.locate import Locator

# A table header line: `[a.b."c"]` or `[[a.b]]`, maybe indented, maybe with a comment.
HEADER = re.compile(r"^[ \t]*(\[\[?)([^\[\]#\n]+)(\]\]?)[ \t]*(?:#.*)?$")
_BARE_PATH = re.compile(r"[ \t]*[A-Za-z0-9_-]+(?:[ \t]*\.[ \t]*[A-Za-z0-9_-]+)*[ \t]*")
_HEADER_LINE = re.compile(r"^[ \t]*\[[^\n]*", re.MULTILINE)
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_EQUALS = re.compile(r"[ \t]*=[ \t]*")
# What may stand before a key on its line: indentation and bare dotted parts (`envs.dev.`).
_KEY_PREFIX = re.compile(r"[ \t]*(?:[A-Za-z0-9_-]+[ \t]*\.[ \t]*)*")
# What may follow a value on its line: spaces and a comment (TOML comments hold no CR or LF).
_LINE_REST = re.compile(r"[ \t]*(?:#[^\r\n]*)?(?:\r?\n|\Z)")
# Characters a basic string must escape (tomlkit escapes exactly these); a literal string
# cannot hold any of them but the tab.
_CONTROL = frozenset(chr(c) for c in range(0x20)) | {chr(0x7F)}
_BASIC_ESCAPED = _CONTROL | {'"', "\\"}


def header_path(line: str) -> tuple[tuple[str, ...], bool] | None:
    """The key path of a table header line, and whether it is `[[...]]`; None: not a header.

    Bare keys are split here; a header with quoted keys is parsed by tomllib, so its
    escapes mean what they mean to the loader.
    """
    match = HEADER.match(line.rstrip("\r\n"))
    if match is None or len(match[1]) != len(match[3]):
        return None
    array = match[1] == "[["
    if _BARE_PATH.fullmatch(match[2]):
        return tuple(part.strip(" \t") for part in match[2].split(".")), array
    try:
        data = tomllib.loads(f"[{match[2]}]\n")
    except tomllib.TOMLDecodeError:
        return None  # a line inside a multi-line value that merely looks like a header
    path: list[str] = []
    while isinstance(data, dict) and len(data) == 1:
        key = next(iter(data))
        path.append(key)
        data = data[key]
    return tuple(path), array


@frozen(kw_only=True)
class HeaderLine:
    """A table header: where its line starts and ends (past the newline), and its key path."""

    start: int
    end: int
    path: tuple[str, ...]
    array: bool


@functools.lru_cache(maxsize=4)  # an edit looks at the same text more than once
def header_lines(text: str) -> tuple[HeaderLine, ...]:
    """Every line of the text that reads as a table header, in order."""
    found = []
    for match in _HEADER_LINE.finditer(text):
        parsed = header_path(match[0])
        if parsed is not None:
            end = match.end() + 1 if match.end() < len(text) else match.end()
            found.append(HeaderLine(start=match.start(), end=end, path=parsed[0], array=parsed[1]))
    return tuple(found)


@frozen(kw_only=True)
class Value:
    """A key/value pair whose value is a one-line string: the offsets of its key, its value's
    quotes (`end` is past the closing one) and its line (`line_end` is past the newline)."""

    key: int
    start: int
    end: int
    line_start: int
    line_end: int
    literal: bool  # '...': no escapes
    own_line: bool  # nothing else on its line but indentation, dotted key parts and a comment


@frozen(kw_only=True)
class Found:
    """Where the text writes `table.<key>` for each key asked about."""

    keys: dict[str, int]  # key -> offset of the key (its last part) in the text
    values: dict[str, Value | None]  # None: the value is not a one-line string


def find(text: str, table: KeyPath, keys: tuple[str, ...]) -> Found | None:
    """Where `table.<key>` is written, for each of `keys` the text writes.

    None when an array of tables lies on the way, or a key seems written twice: the caller's
    slow path decides then.
    """
    headers = header_lines(text)
    regions: list[tuple[int, int]] = []
    starts = [h.start for h in headers] + [len(text)]
    if not headers or headers[0].start > 0:
        regions.append((0, starts[0]))  # the root table
    for number, header in enumerate(headers):
        if header.path == tuple(table[: len(header.path)]):
            if header.array:
                return None
            regions.append((header.start, starts[number + 1]))
    offsets: dict[str, int] = {}
    for start, end in regions:
        chunk = text[start:end]
        if not any(key in chunk for key in keys):
            continue
        locator = Locator(chunk)
        line_starts = [0] + [i + 1 for i, char in enumerate(chunk) if char == "\n"]
        for key in keys:
            position = locator.find((*table, key))
            if position is None:
                continue
            if key in offsets:
                return None
            offsets[key] = start + line_starts[position[0] - 1] + position[1] - 1
    return Found(keys=offsets, values={key: value_at(text, at) for key, at in offsets.items()})


def confined(
    old: str, new: str, table: KeyPath, before: dict[str, Any], after: dict[str, Any]
) -> bool:
    """Whether tomllib reads `new` as it reads `old` but for `table`, whose content goes from
    `before` to `after`, judged from that table's lines alone; False when that is not sound.

    It is sound when the headers found are the file's headers (`certain_headers`): each then
    starts a statement, in both texts. If `table` is one `[...]` table whose lines, alone,
    read as `before`, nothing else in the file writes into it. If `new` differs from `old` only
    in those lines (its header line kept) and they, alone, read as `after`, the statements
    before them read the same, they read as `after` (nothing before wrote into the table), and
    the statements after them read the same (none writes into the table, so none meets its
    keys): tomllib reads `new` as `old` with `after` in place of `before`.
    """
    headers = certain_headers(old)
    if headers is None or any(quote in new for quote in ('"""', "'''")):
        return False
    own = [number for number, header in enumerate(headers) if header.path == table]
    if len(own) != 1 or headers[own[0]].array:
        return False
    header = headers[own[0]]
    end = headers[own[0] + 1].start if own[0] + 1 < len(headers) else len(old)
    rest = len(old) - end
    if len(new) - rest < header.end or not new.startswith(old[: header.end]):
        return False
    lines = new[header.start : len(new) - rest]
    if not new.endswith(old[end:]) or (rest and not lines.endswith("\n")):
        return False
    try:
        read_before, read_after = tomllib.loads(old[header.start : end]), tomllib.loads(lines)
    except tomllib.TOMLDecodeError:
        return False
    return read_before == nested(table, before) and read_after == nested(table, after)


def added(
    old: str, new: str, *, at: int, table: KeyPath, after: dict[str, Any], data: dict[str, Any]
) -> bool:
    """Whether tomllib reads `new`, which is `old` with lines put in at offset `at`, as `data`
    (what it reads in `old`) with the new table `table` holding `after`; False when that
    cannot be judged from the new lines alone.

    It is sound when the headers found are the file's (`certain_headers`), the lines go in
    at a line's start followed only by blank and comment lines up to the next header (so the
    statements around them end and start there), the table is nowhere in `data`, a header
    below its nearest ancestor that is shows that ancestor to be a table that headers may
    extend (not an inline table), and the new lines, alone, read as `table` holding `after`.
    """
    size = len(new) - len(old)
    headers = certain_headers(old)
    if headers is None or size <= 0 or any(quote in new for quote in ('"""', "'''")):
        return False
    if (at and old[at - 1] != "\n") or not (new.startswith(old[:at]) and new.endswith(old[at:])):
        return False
    lines = new[at : at + size]
    following = next((h.start for h in headers if h.start >= at), len(old))
    if not lines.endswith("\n") or not _BLANK_OR_COMMENTS.fullmatch(old, at, following):
        return False
    node: Any = data
    ancestor: KeyPath = ()
    for key in table:
        if not isinstance(node, dict):
            return False
        if key not in node:
            break
        node, ancestor = node[key], (*ancestor, key)
    else:
        return False  # the table exists
    if not isinstance(node, dict) or not any(h.path[: len(ancestor)] == ancestor for h in headers):
        return False
    try:
        return tomllib.loads(lines) == nested(table, after)
    except tomllib.TOMLDecodeError:
        return False


_BLANK_OR_COMMENTS = re.compile(r"(?:[ \t]*(?:#[^\r\n]*)?(?:\r?\n|\Z))*")

# Values that are also bare keys: `[true]` or `[1]` may be a line of a multi-line array.
_VALUE_LIKE = re.compile(r"(?:true|false|inf|nan)$|[^A-Za-z]")


def certain_headers(text: str) -> tuple[HeaderLine, ...] | None:
    """The text's headers when the lines that read as headers are exactly its headers, else
    None. A line can read as one without being one inside a multi-line string (so there must
    be no triple quote) or as a line of a multi-line array (`["a"]`, `[1]`, `[true]`: so each
    header's first key must start with a letter and not be a value, and hold no quote); a real
    header can be missed when quoted keys hold `#`, `[` or `]` (so no line starting with `[`
    that is not a header may hold a quote).
    """
    if '"""' in text or "'''" in text:
        return None
    headers = header_lines(text)
    first_keys = {header.start: header.path[0] for header in headers}
    for match in _HEADER_LINE.finditer(text):
        quoted = '"' in match[0] or "'" in match[0]
        first = first_keys.get(match.start())
        if quoted or (first is not None and _VALUE_LIKE.match(first)):
            return None
    return headers


def nested(path: KeyPath, value: dict[str, Any]) -> dict[str, Any]:
    for key in reversed(path):
        value = {str(key): value}
    return value


def value_at(text: str, key: int) -> Value | None:
    """The one-line string value of the key/value pair whose (last) key starts at `key`."""
    if text.startswith(('"', "'"), key):
        after_key = string_end(text, key)
        if after_key is None:
            return None
    else:
        bare = _BARE_KEY.match(text, key)
        if bare is None:
            return None
        after_key = bare.end()
    equals = _EQUALS.match(text, after_key)
    if equals is None:
        return None
    start = equals.end()
    end = string_end(text, start)
    if end is None:
        return None
    rest = _LINE_REST.match(text, end)
    line_start = text.rfind("\n", 0, key) + 1
    newline = text.find("\n", end)
    line_end = len(text) if newline < 0 else newline + 1
    prefix = _KEY_PREFIX.fullmatch(text, line_start, key)
    return Value(
        key=key,
        start=start,
        end=end,
        line_start=line_start,
        line_end=line_end,
        literal=text[start] == "'",
        own_line=prefix is not None and rest is not None and rest.end() == line_end,
    )


def string_end(text: str, start: int) -> int | None:
    """Past the closing quote of the one-line string that opens at `start`, else None."""
    quote = text[start : start + 1]
    if quote not in ('"', "'") or text.startswith(quote * 3, start):
        return None  # not a string, or a multi-line one
    at = start + 1
    while at < len(text):
        char = text[at]
        if char == quote:
            return at + 1
        if char in "\r\n":
            return None
        at += 2 if char == "\\" and quote == '"' else 1
    return None


def string(value: str, *, literal: bool = False) -> str | None:
    """`value` as a TOML string the way tomlkit writes it, or None where tomlkit must decide
    (a value with characters to escape)."""
    if literal:
        return None if "'" in value or _CONTROL & set(value) - {"\t"} else f"'{value}'"
    return None if _BASIC_ESCAPED & set(value) else f'"{value}"'
