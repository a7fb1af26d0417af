"""Where a key path stands in the TOML text, for located error messages."""

from __future__ import annotations

import re

from generator.errors import KeyPath

_HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?")


class Locator:
    """Maps key paths to (line, column), 1-based. Falls back to the nearest known ancestor."""

    def __init__(self, text: str) -> None:
        self._positions: dict[KeyPath, tuple[int, int]] = {}
        for number, line in enumerate(text.splitlines(), start=1):
            match = _HEADER.match(line)
            if match:
                key = tuple(part.strip().strip('"') for part in match.group(1).split("."))
                self._positions.setdefault(key, (number, match.start(1) + 1))

    def locate(self, path: KeyPath) -> tuple[int, int]:
        for end in range(len(path), 0, -1):
            found = self._positions.get(path[:end])
            if found:
                return found
        return (1, 1)
