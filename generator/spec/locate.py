"""Where a key path stands in the TOML text, for located error messages."""

from __future__ import annotations

import bisect
import contextlib
import tomllib
from collections.abc import Callable

from generator.spec.errors import KeyPath

_BARE_KEY = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
_SCALAR_END = frozenset(",]}\n#")
Record = Callable[[KeyPath, int, bool], None]


class Locator:
    """Maps key paths to the (line, column), 1-based, of their key in the text.

    Tables point at their key in the header that defines them, array-of-tables elements at
    their own `[[...]]` header, array elements at the element, everything else at its key.
    A path that is not in the text falls back to its nearest located ancestor, then to 1:1.
    """

    def __init__(self, text: str) -> None:
        self._text = text
        self._line_starts = [0] + [i + 1 for i, char in enumerate(text) if char == "\n"]
        self._offsets: dict[KeyPath, tuple[int, bool]] = {}
        # Only text that tomllib rejects can stop the scanner early; keep what was found.
        with contextlib.suppress(IndexError, ValueError, tomllib.TOMLDecodeError):
            _Scanner(text, self._record).document()

    def _record(self, path: KeyPath, offset: int, explicit: bool) -> None:
        # A table defined by its own header or key beats one implied by a longer header.
        known = self._offsets.get(path)
        if known is None or (explicit and not known[1]):
            self._offsets[path] = (offset, explicit)

    def position(self, offset: int) -> tuple[int, int]:
        line = bisect.bisect_right(self._line_starts, offset) - 1
        return line + 1, offset - self._line_starts[line] + 1

    def find(self, path: KeyPath) -> tuple[int, int] | None:
        """The exact position of `path`, or None when the text does not write it."""
        known = self._offsets.get(path)
        return None if known is None else self.position(known[0])

    def locate(self, path: KeyPath) -> tuple[int, int]:
        for end in range(len(path), 0, -1):
            found = self.find(path[:end])
            if found is not None:
                return found
        return (1, 1)


class _Scanner:
    """A structural pass over valid TOML: records where each key and element starts."""

    def __init__(self, text: str, record: Record) -> None:
        self.text = text
        self.i = 0
        self.record = record
        self.array_tables: dict[KeyPath, int] = {}  # [[x]] path -> elements seen so far

    def document(self) -> None:
        table: KeyPath = ()
        while True:
            self.skip_blank_lines()
            if self.i >= len(self.text):
                return
            if self.text.startswith("[[", self.i):
                table = self.array_table_header()
            elif self.text[self.i] == "[":
                table = self.table_header()
            else:
                self.key_value(table)

    # --- headers ---------------------------------------------------------------------------

    def table_header(self) -> KeyPath:
        self.i += 1
        parts = self.key()
        self.expect("]")
        path = self.concrete(parts[:-1])
        name, offset = parts[-1]
        path = self.into_array_table((*path, name))
        self.record(path, offset, True)
        return path

    def array_table_header(self) -> KeyPath:
        self.i += 2
        parts = self.key()
        self.expect("]]")
        name, offset = parts[-1]
        array = (*self.concrete(parts[:-1]), name)
        index = self.array_tables.get(array, 0)
        self.array_tables[array] = index + 1
        self.record(array, offset, False)
        self.record((*array, index), offset, True)
        return (*array, index)

    def concrete(self, parts: list[tuple[str, int]]) -> KeyPath:
        """The path a header's leading keys name: an array of tables means its last element."""
        path: KeyPath = ()
        for name, offset in parts:
            path = (*path, name)
            self.record(path, offset, False)
            path = self.into_array_table(path)
        return path

    def into_array_table(self, path: KeyPath) -> KeyPath:
        count = self.array_tables.get(path)
        return path if count is None else (*path, count - 1)

    # --- key/value pairs -------------------------------------------------------------------

    def key_value(self, table: KeyPath) -> None:
        path = self.assigned_key(table)
        self.value(path)
        self.skip_spaces()
        self.skip_comment()

    def assigned_key(self, table: KeyPath) -> KeyPath:
        """`a.b."c" =`: records every dotted prefix, returns the full path."""
        parts = self.key()
        path = table
        for number, (name, offset) in enumerate(parts, start=1):
            path = (*path, name)
            self.record(path, offset, number == len(parts))
        self.expect("=")
        self.skip_spaces()
        return path

    def key(self) -> list[tuple[str, int]]:
        parts: list[tuple[str, int]] = []
        while True:
            self.skip_spaces()
            parts.append(self.simple_key())
            self.skip_spaces()
            if self.peek() != ".":
                return parts
            self.i += 1

    def simple_key(self) -> tuple[str, int]:
        start = self.i
        char = self.peek()
        if char and char in "\"'":
            end = self.string_end()
            # Escapes in a quoted key mean what tomllib says they mean.
            name = tomllib.loads(f"k = {self.text[start:end]}")["k"]
            self.i = end
            return str(name), start
        while self.peek() in _BARE_KEY:
            self.i += 1
        if self.i == start:
            raise ValueError(f"no key at offset {start}")
        return self.text[start : self.i], start

    # --- values ----------------------------------------------------------------------------

    def value(self, path: KeyPath) -> None:
        char = self.peek()
        if char and char in "\"'":
            self.i = self.string_end()
        elif char == "[":
            self.array(path)
        elif char == "{":
            self.inline_table(path)
        else:
            while self.i < len(self.text) and self.text[self.i] not in _SCALAR_END:
                self.i += 1

    def array(self, path: KeyPath) -> None:
        self.i += 1
        index = 0
        while True:
            self.skip_blank_lines()
            if self.peek() == "]":
                self.i += 1
                return
            self.record((*path, index), self.i, True)
            self.value((*path, index))
            self.skip_blank_lines()
            if self.peek() == ",":
                self.i += 1
                index += 1

    def inline_table(self, path: KeyPath) -> None:
        self.i += 1
        while True:
            self.skip_blank_lines()  # TOML 1.1 allows newlines in inline tables
            if self.peek() == "}":
                self.i += 1
                return
            self.value(self.assigned_key(path))
            self.skip_blank_lines()
            if self.peek() == ",":
                self.i += 1

    def string_end(self) -> int:
        """The offset just past the string that starts at `self.i` (any of the four kinds)."""
        text, start = self.text, self.i
        quote = text[start]
        if text.startswith(quote * 3, start):
            end = start + 3
            while not text.startswith(quote * 3, end):
                end += 2 if quote == '"' and text[end] == "\\" else 1
            end += 3
            # Up to two quotes right before the closing delimiter belong to the content.
            for _ in range(2):
                if end < len(text) and text[end] == quote:
                    end += 1
            return end
        end = start + 1
        while text[end] != quote:
            end += 2 if quote == '"' and text[end] == "\\" else 1
        return end + 1

    # --- whitespace ------------------------------------------------------------------------

    def peek(self) -> str:
        return self.text[self.i] if self.i < len(self.text) else ""

    def expect(self, token: str) -> None:
        self.skip_spaces()
        if not self.text.startswith(token, self.i):
            raise ValueError(f"expected {token!r} at offset {self.i}")
        self.i += len(token)

    def skip_spaces(self) -> None:
        while self.peek() in (" ", "\t"):
            self.i += 1

    def skip_comment(self) -> None:
        if self.peek() == "#":
            while self.i < len(self.text) and self.text[self.i] != "\n":
                self.i += 1

    def skip_blank_lines(self) -> None:
        while self.i < len(self.text):
            self.skip_spaces()
            self.skip_comment()
            if self.peek() in ("\n", "\r"):
                self.i += 1
            else:
                return
