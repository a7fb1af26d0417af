"""Problems found in the user's input, with their locations, and the exceptions that carry them."""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable, Sequence

from attrs import frozen

KeyPath = tuple[str | int, ...]
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def format_path(path: KeyPath) -> str:
    """`('services', 'api', 'steps', 0, 'weight')` -> `services.api.steps[0].weight`.

    A key that is not a bare TOML key is quoted as TOML quotes it: `services."my.api"`.
    """
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
            continue
        key = part if _BARE_KEY.fullmatch(part) else _quoted(part)
        out = f"{out}.{key}" if out else key
    return out


def _quoted(key: str) -> str:
    """A TOML basic string of `key`, with every character that is not printable (DEL,
    U+0085, U+2028 ...: a terminal or a log would break the line there) as a `\\uXXXX`."""
    text = json.dumps(key, ensure_ascii=False)
    return "".join(c if c.isprintable() else _escape(c) for c in text)


def _escape(char: str) -> str:
    code = ord(char)
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


@frozen(kw_only=True)
class Problem:
    """One finding: where it is and what is wrong."""

    file: str
    line: int
    col: int
    path: KeyPath
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.col}"
        key = format_path(self.path)
        return f"{where}: {key}: {self.message}" if key else f"{where}: {self.message}"


class InputError(Exception):
    """Bad input: every problem found, reported together; exit code 2."""

    def __init__(self, problems: Sequence[Problem | str]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """A ` (did you mean 'x'?)` suffix when a close candidate exists, else ''."""
    close = difflib.get_close_matches(word, sorted(candidates), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""
