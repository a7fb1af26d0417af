"""Load: services.toml text -> the frozen `Spec`, or an `InputError` listing every problem."""

from __future__ import annotations

import ast
import copy
import datetime
import re
import tomllib
import types
import typing
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, Literal, TypeVar, cast, get_args, get_origin

import attrs
import cattrs
from cattrs.cols import homogenous_tuple_structure_factory, mapping_structure_factory
from cattrs.errors import (
    AttributeValidationNote,
    ClassValidationError,
    ForbiddenExtraKeysError,
    IterableValidationError,
    IterableValidationNote,
)
from cattrs.gen import make_dict_structure_fn

from generator.spec import checks, depth
from generator.spec.errors import InputError, KeyPath, Problem, did_you_mean, format_path
from generator.spec.locate import Locator
from generator.spec.model import Spec

T = TypeVar("T")

_TOML_POSITION = re.compile(r"^(?P<msg>.*) \(at line (?P<line>\d+), column (?P<col>\d+)\)$")
_TOML_AT_END = re.compile(r"^(?P<msg>.*) \(at end of document\)$")
_TOML_KEY_TUPLE = re.compile(r"\(('(?:[^'\\]|\\.)*',? ?)+\)")
_TYPE_NAMES = {int: "an integer", str: "a string", bool: "a boolean", float: "a number"}
_MAX_REPAIR_ROUNDS = 10


# --- the converter ---------------------------------------------------------------------------


def describe(value: Any) -> str:
    """How a TOML value is named in a message: `the string '80'`, `a table`."""
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
    if isinstance(value, datetime.datetime):
        return f"the date-time {value.isoformat()}"
    if isinstance(value, datetime.date):
        return f"the date {value.isoformat()}"
    if isinstance(value, datetime.time):
        return f"the time {value.isoformat()}"
    return type(value).__name__


def _strict(kind: type[T]) -> Callable[[Any, Any], T]:
    """cattrs would turn "80" into 80 and True into 1; a services file must say what it means."""

    def structure(value: Any, _: Any) -> T:
        if type(value) is kind or (kind is float and type(value) is int):
            return cast(T, value)
        raise TypeError(f"expected {_TYPE_NAMES[kind]}, got {describe(value)}")

    return structure


def _int_or_string(value: Any, _: Any) -> int | str:
    if isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    raise TypeError(f"expected an integer or a string, got {describe(value)}")


def _literal(kind: Any) -> Callable[[Any, Any], Any]:
    choices = get_args(kind)

    def structure(value: Any, _: Any) -> Any:
        if not isinstance(value, str):
            raise TypeError(f"expected a string, got {describe(value)}")
        if value not in choices:
            raise ValueError(
                f"must be {_one_of(choices)}, got {value!r}{did_you_mean(value, choices)}"
            )
        return value

    return structure


def _one_of(choices: Iterable[str]) -> str:
    quoted = [repr(c) for c in choices]
    return quoted[0] if len(quoted) == 1 else f"one of {', '.join(quoted[:-1])} or {quoted[-1]}"


def _shaped(shape: type, name: str, inner: Callable[[Any, Any], T]) -> Callable[[Any, Any], T]:
    """A hook that first insists on the TOML shape: a string is iterable, but not an array."""

    def structure(value: Any, kind: Any) -> T:
        if not isinstance(value, shape):
            raise TypeError(f"expected {name}, got {describe(value)}")
        return inner(value, kind)

    return structure


def _is_homogenous_tuple(kind: Any) -> bool:
    args = get_args(kind)
    return get_origin(kind) is tuple and len(args) == 2 and args[1] is Ellipsis


def _is_dict(kind: Any) -> bool:
    return get_origin(kind) is dict


def _is_literal(kind: Any) -> bool:
    return get_origin(kind) is Literal


def make_converter() -> cattrs.Converter:
    """The one converter: strict scalars, unknown keys rejected, every error collected."""
    converter = cattrs.Converter(forbid_extra_keys=True, detailed_validation=True)
    for kind in (int, str, bool, float):
        converter.register_structure_hook(kind, _strict(kind))
    converter.register_structure_hook(int | str, _int_or_string)
    converter.register_structure_hook(int | str | None, _int_or_string)
    converter.register_structure_hook_factory(_is_literal, _literal)
    converter.register_structure_hook_factory(
        attrs.has,
        lambda cl: _shaped(dict, "a table", make_dict_structure_fn(cl, converter)),
    )
    converter.register_structure_hook_factory(
        _is_homogenous_tuple,
        lambda kind: _shaped(list, "an array", homogenous_tuple_structure_factory(kind, converter)),
    )
    converter.register_structure_hook_factory(
        _is_dict,
        lambda kind: _shaped(dict, "a table", mapping_structure_factory(kind, converter)),
    )
    return converter


CONVERTER = make_converter()


# --- loading ---------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Loaded:
    spec: Spec
    warnings: tuple[Problem, ...] = ()


@attrs.frozen(kw_only=True)
class _Finding:
    """A structural problem, and how to get past it to find the others."""

    path: KeyPath
    message: str
    drop: bool  # an unknown key: remove it; otherwise put a placeholder in its place


def load_file(path: Path) -> Loaded:
    """Read and validate a services file."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise InputError([f"{path}: cannot read the services file: {reason}"]) from None
    return load_text(decode(raw, str(path)), str(path))


def decode(raw: bytes, filename: str) -> str:
    """UTF-8 text (TOML requires it), or a located problem at the first bad byte."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        col = len(before[before.rfind(b"\n") + 1 :].decode("utf-8", errors="replace")) + 1
        message = f"not UTF-8 text (TOML must be UTF-8): byte 0x{raw[exc.start]:02x} is invalid"
        problem = Problem(file=filename, line=line, col=col, path=(), message=message)
        raise InputError([problem]) from None


def load_text(text: str, filename: str) -> Loaded:
    """Parse, structure and check the text of a services file."""
    data = parse_toml(text, filename)
    locators: list[Locator] = []  # built only when there is something to locate

    def at(path: KeyPath, message: str) -> Problem:
        if not locators:
            locators.append(Locator(text))
        line, col = locators[0].locate(path)
        return Problem(file=filename, line=line, col=col, path=path, message=message)

    out_of_range = list(integer_problems(data))
    if out_of_range:
        raise InputError(sorted_problems([at(path, message) for path, message in out_of_range]))
    spec, findings = structure(data)
    problems = [at(f.path, f.message) for f in findings]
    broken = [f.path for f in findings]
    # A whole top-level section in pieces would make every reference into it look wrong.
    if spec is not None and not any(len(f.path) == 1 and not f.drop for f in findings):
        problems += [
            at(path, message)
            for path, message in checks.check(spec)
            if not any(path[: len(b)] == b for b in broken)
        ]
    if problems or spec is None:
        raise InputError(sorted_problems(problems))
    warnings = [at(p, m) for p, m in checks.warnings(spec)]
    return Loaded(spec=spec, warnings=tuple(sorted_problems(warnings)))


_INT64 = (-(2**63), 2**63 - 1)  # TOML: an integer outside it must be refused
_INT32 = (-(2**31), 2**31 - 1)
# Keys whose integers Kubernetes stores as int32 (replicas, HPA bounds, PDB counts): past it,
# the API server rejects the object, so the services file does first.
INT32_KEYS = frozenset(
    {"replicas", "min", "max", "cpu_utilization", "min_available", "max_unavailable"}
)


def integer_problems(data: Any, path: KeyPath = ()) -> Iterator[tuple[KeyPath, str]]:
    """Integers outside TOML's 64-bit range, and outside int32 where Kubernetes wants it."""
    items = (
        data.items()
        if isinstance(data, dict)
        else enumerate(data)
        if isinstance(data, list)
        else ()
    )
    for key, value in items:
        where = (*path, key)
        if isinstance(value, bool):
            continue
        if isinstance(value, int):
            low, high = _INT32 if key in INT32_KEYS else _INT64
            if not low <= value <= high:
                bits = "32" if key in INT32_KEYS else "64"
                yield where, f"{value} is outside the {bits}-bit integers ({low} to {high})"
        elif isinstance(value, dict | list):
            yield from integer_problems(value, where)


def parse_toml(text: str, filename: str) -> dict[str, Any]:
    """tomllib, with its syntax error turned into a located problem."""
    try:
        data = tomllib.loads(text)
    except RecursionError:
        data = None  # nested far too deep: located below
    except tomllib.TOMLDecodeError as exc:
        line, col, message = _syntax_error_position(str(exc), text)
        message = _TOML_KEY_TUPLE.sub(_dotted_key, message)
        problem = Problem(
            file=filename, line=line, col=col, path=(), message=f"TOML syntax error: {message}"
        )
        raise InputError([problem]) from None
    if data is None or depth.too_deep(data):
        found = depth.problem(text) or (1, 1, f"nested more than {depth.MAX_NESTING} levels deep")
        line, col, message = found
        raise InputError([Problem(file=filename, line=line, col=col, path=(), message=message)])
    return data


def _syntax_error_position(error: str, text: str) -> tuple[int, int, str]:
    match = _TOML_POSITION.match(error)
    if match:
        return int(match["line"]), int(match["col"]), match["msg"]
    match = _TOML_AT_END.match(error)
    lines = text.split("\n")
    return len(lines), len(lines[-1]) + 1, match["msg"] if match else error


def _dotted_key(match: re.Match[str]) -> str:
    # tomllib names keys as Python tuples: "Cannot declare ('a', 'b') twice".
    try:
        parts = ast.literal_eval(match.group(0))
    except (ValueError, SyntaxError):
        return match.group(0)
    parts = parts if isinstance(parts, tuple) else (parts,)
    return f"[{format_path(tuple(str(p) for p in parts))}]"


def sorted_problems(problems: Iterable[Problem]) -> list[Problem]:
    return sorted(problems, key=lambda p: (p.line, p.col, str(p)))


# --- structuring with every problem collected ------------------------------------------------


def structure(data: dict[str, Any]) -> tuple[Spec | None, list[_Finding]]:
    """The spec and every structural problem.

    cattrs stops at the first problem in a value, so after each round the broken values are
    repaired (unknown keys dropped, wrong or missing values replaced by a placeholder of the
    right type) and structuring runs again: the result is a spec that the semantic checks
    can read, with the broken paths known so their placeholder values are not reported.
    """
    try:
        return CONVERTER.structure(data, Spec), []
    except (ClassValidationError, IterableValidationError):
        pass  # repair a copy: the caller's data stays what the file says
    work = copy.deepcopy(data)
    findings: list[_Finding] = []
    for _ in range(_MAX_REPAIR_ROUNDS):
        try:
            return CONVERTER.structure(work, Spec), findings
        except (ClassValidationError, IterableValidationError) as group:
            found = list(structure_errors(group, ()))
        new = [f for f in found if f not in findings]
        findings += new
        for finding in found:
            _repair(work, finding)
        if not new:
            break
    return None, findings


def structure_errors(exc: BaseException, path: KeyPath) -> Iterator[_Finding]:
    """Flatten cattrs' exception groups into findings."""
    if isinstance(exc, ClassValidationError | IterableValidationError):
        with_notes, without_notes = exc.group_exceptions()
        for inner, note in with_notes:
            yield from structure_errors(inner, path + _note_key(note))
        for inner in without_notes:
            yield from structure_errors(inner, path)
    elif isinstance(exc, ForbiddenExtraKeysError):
        known = [f.name for f in attrs.fields(exc.cl)]
        for key in sorted(exc.extra_fields):
            yield _Finding(path=(*path, key), message=_unknown(key, known), drop=True)
    elif isinstance(exc, KeyError):
        yield _Finding(path=path, message=_missing(path), drop=False)
    else:
        yield _Finding(path=path, message=_plain_message(exc), drop=False)


def _unknown(key: str, known: list[str]) -> str:
    hint = did_you_mean(key, known)
    if hint:
        return f"unknown key{hint}"
    return f"unknown key; the keys here are {', '.join(sorted(known))}"


def _missing(path: KeyPath) -> str:
    kind, _ = type_at(path)
    if attrs.has(_without_none(kind)):
        return f"missing required table [{format_path(path)}]"
    return "missing required key"


def _note_key(note: object) -> KeyPath:
    if isinstance(note, AttributeValidationNote):
        return (note.name,)
    if isinstance(note, IterableValidationNote):
        index = note.index
        return (index,) if isinstance(index, int | str) else ()
    return ()


def _plain_message(exc: BaseException) -> str:
    if isinstance(exc, TypeError | ValueError) and str(exc).startswith(("expected ", "must be ")):
        return str(exc)
    return f"invalid value: {exc}"


# --- repair: placeholders of the right type --------------------------------------------------


def _repair(data: dict[str, Any], finding: _Finding) -> None:
    *parents, last = finding.path
    container: Any = data
    for part in parents:
        container = container[part]
    kind, default = type_at(finding.path)
    # A key with a real default can go; one whose default means "not written" (None) must stay
    # written, or rules such as "exactly one of" would report what the user did write.
    if finding.drop or (default not in (attrs.NOTHING, None) and isinstance(container, dict)):
        container.pop(last, None)
    else:
        container[last] = placeholder(kind)


def type_at(path: KeyPath) -> tuple[Any, Any]:
    """The declared type of the value at `path`, and its default (attrs.NOTHING: required)."""
    kind: Any = Spec
    default: Any = attrs.NOTHING
    for part in path:
        kind = _without_none(kind)
        if attrs.has(kind):
            fields = attrs.fields_dict(kind)
            hints = typing.get_type_hints(kind)
            if part not in fields:
                return Any, None
            default = fields[part].default
            kind = hints[str(part)]
        elif _is_dict(kind):
            kind, default = get_args(kind)[1], attrs.NOTHING
        elif _is_homogenous_tuple(kind):
            kind, default = get_args(kind)[0], attrs.NOTHING
        else:
            return Any, None
    return kind, default


def _without_none(kind: Any) -> Any:
    if get_origin(kind) in (typing.Union, types.UnionType):
        args = [a for a in get_args(kind) if a is not type(None)]
        return args[0] if len(args) == 1 else kind
    return kind


def placeholder(kind: Any) -> Any:
    """A value the converter accepts for `kind`; its path is reported already, so it is mute."""
    kind = _without_none(kind)
    simple = {str: "", int: 0, float: 0.0, bool: False}
    if kind in simple:
        return simple[kind]
    if _is_literal(kind):
        return get_args(kind)[0]
    if _is_homogenous_tuple(kind):
        return []
    if _is_dict(kind):
        return {}
    if attrs.has(kind):
        hints = typing.get_type_hints(kind)
        return {
            f.name: placeholder(hints[f.name])
            for f in attrs.fields(kind)
            if f.default is attrs.NOTHING
        }
    return 0  # int | str
