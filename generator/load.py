"""Load: services.toml text -> the frozen `Spec`, or an `InputError` listing every problem."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import attrs
import cattrs
from cattrs.errors import (
    ClassValidationError,
    ForbiddenExtraKeysError,
    IterableValidationError,
)
from cattrs.errors import AttributeValidationNote, IterableValidationNote

from generator import checks
from generator.errors import InputError, KeyPath, Problem, did_you_mean
from generator.locate import Locator
from generator.model import Spec

T = TypeVar("T")

_TOML_POSITION = re.compile(r"^(?P<msg>.*) \(at line (?P<line>\d+), column (?P<col>\d+)\)$")
_TYPE_NAMES = {int: "an integer", str: "a string", bool: "a boolean", float: "a number"}


def _strict(kind: type[T]) -> Callable[[Any, Any], T]:
    """cattrs would turn "80" into 80 and True into 1; a services file must say what it means."""

    def structure(value: Any, _: Any) -> T:
        if type(value) is kind or (kind is float and type(value) is int):
            return value  # type: ignore[no-any-return]
        raise TypeError(f"expected {_TYPE_NAMES[kind]}, got {_describe(value)}")

    return structure


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    return type(value).__name__


def make_converter() -> cattrs.Converter:
    """The one converter: strict scalars, unknown keys rejected, every error collected."""
    converter = cattrs.Converter(forbid_extra_keys=True, detailed_validation=True)
    for kind in (int, str, bool, float):
        converter.register_structure_hook(kind, _strict(kind))
    converter.register_structure_hook(int | str, _int_or_string)
    converter.register_structure_hook(int | str | None, _int_or_string)
    return converter


def _int_or_string(value: Any, _: Any) -> int | str:
    if isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    raise TypeError(f"expected an integer or a string, got {_describe(value)}")


CONVERTER = make_converter()


@attrs.frozen(kw_only=True)
class Loaded:
    spec: Spec
    warnings: tuple[Problem, ...] = ()


def load_file(path: Path) -> Loaded:
    """Read and validate a services file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError([f"{path}: cannot read: {exc.strerror}"]) from None
    return load_text(text, str(path))


def load_text(text: str, filename: str) -> Loaded:
    """Parse, structure and check the text of a services file."""
    data = parse_toml(text, filename)
    locator = Locator(text)

    def at(path: KeyPath, message: str) -> Problem:
        line, col = locator.locate(path)
        return Problem(file=filename, line=line, col=col, path=path, message=message)

    try:
        spec = CONVERTER.structure(data, Spec)
    except (ClassValidationError, IterableValidationError) as group:
        raise InputError(sorted_problems(at(p, m) for p, m in structure_errors(group, ()))) from None
    problems = [at(p, m) for p, m in checks.check(spec, data)]
    if problems:
        raise InputError(sorted_problems(problems))
    warnings = [at(p, m) for p, m in checks.warnings(spec)]
    return Loaded(spec=spec, warnings=tuple(sorted_problems(warnings)))


def parse_toml(text: str, filename: str) -> dict[str, Any]:
    """tomllib, with its syntax error turned into a located problem."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = _TOML_POSITION.match(str(exc))
        if match is None:
            raise InputError([f"{filename}: TOML syntax error: {exc}"]) from None
        problem = Problem(
            file=filename,
            line=int(match["line"]),
            col=int(match["col"]),
            path=(),
            message=f"TOML syntax error: {match['msg']}",
        )
        raise InputError([problem]) from None


def sorted_problems(problems: Iterator[Problem] | list[Problem]) -> list[Problem]:
    return sorted(problems, key=lambda p: (p.line, p.col, str(p)))


def structure_errors(exc: BaseException, path: KeyPath) -> Iterator[tuple[KeyPath, str]]:
    """Flatten cattrs' exception groups into (key path, message) pairs."""
    if isinstance(exc, ClassValidationError | IterableValidationError):
        with_notes, without_notes = exc.group_exceptions()
        for inner, note in with_notes:
            yield from structure_errors(inner, path + _note_key(note))
        for inner in without_notes:
            yield from structure_errors(inner, path)
    elif isinstance(exc, ForbiddenExtraKeysError):
        known = [f.name for f in attrs.fields(exc.cl)]
        for key in sorted(exc.extra_fields):
            yield path + (key,), f"unknown key{did_you_mean(key, known)}"
    elif isinstance(exc, KeyError):
        yield path, "required key is missing"
    elif isinstance(exc, cattrs.errors.CattrsError) and " not in literal " in str(exc):
        yield path, _literal_message(exc)
    else:
        yield path, _plain_message(exc)


def _note_key(note: object) -> KeyPath:
    if isinstance(note, AttributeValidationNote):
        return (note.name,)
    if isinstance(note, IterableValidationNote):
        index = note.index
        return (index,) if isinstance(index, int | str) else ()
    return ()


def _literal_message(exc: BaseException) -> str:
    # cattrs says "azure not in literal typing.Literal['aws', 'gcp']"
    value, _, allowed = str(exc).partition(" not in literal ")
    choices = re.findall(r"'([^']*)'", allowed)
    return f"must be one of {', '.join(repr(c) for c in choices)}, got {value!r}" + did_you_mean(
        value, choices
    )


def _plain_message(exc: BaseException) -> str:
    text = str(exc)
    if isinstance(exc, TypeError) and text.startswith("expected "):
        return text
    if "is not iterable" in text or "is not a mapping" in text or "object has no attribute" in text:
        return "has the wrong type"
    return text or type(exc).__name__
