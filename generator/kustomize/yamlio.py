"""YAML in and out the way `kubectl kustomize` reads and prints it, byte for byte.

In: Kustomize's kyaml reads with go-yaml v3, a YAML 1.2 core schema (`on` and `yes` are
strings; `1e3` is a float; a date stays a string), and its values then pass through JSON.
Out: `Resource.AsYAML` (sigs.k8s.io/kustomize/api/resource/resource.go) turns that JSON into
YAML with `sigs.k8s.io/yaml.JSONToYAML`, i.e. go-yaml v2's `Marshal` of plain Go maps: keys
sorted by go-yaml's `keyList.Less` (digit runs compare as numbers), a string quoted "like
this" when a plain scalar would read back as something else under go-yaml v2's YAML 1.1
resolver (`y`, `on`, `0x1F`, `1:20`, `2024-01-02`), a literal block when it holds a newline,
and otherwise whatever libyaml's emitter chooses (go-yaml v2's emitter is a port of it).
PyYAML's C emitter is libyaml itself, so the line folding at 80 columns and the choice of
single quotes agree too. tests/test_kustomize_build.py compares the bytes with kubectl.
"""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from collections.abc import Iterator
from typing import Any

import yaml

# PyYAML's libyaml bindings when it was built with them; the pure-Python classes otherwise
# (the same output, only slower).
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_Dumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

Object = dict[str, Any]

STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_BOOL = "tag:yaml.org,2002:bool"
_NULL = "tag:yaml.org,2002:null"

# go-yaml v3's resolve (resolve.go): the plain scalars that are not strings.
_V3_BOOL = {"true": True, "True": True, "TRUE": True, "false": False, "False": False}
_V3_BOOL["FALSE"] = False
_V3_NULL = frozenset({"", "~", "null", "Null", "NULL"})
_V3_SPECIAL_FLOAT = {
    **dict.fromkeys((".nan", ".NaN", ".NAN"), math.nan),
    **dict.fromkeys((".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"), math.inf),
    **dict.fromkeys(("-.inf", "-.Inf", "-.INF"), -math.inf),
}
_YAML_STYLE_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
# Go's strconv.ParseInt(s, 0, 64) after go-yaml removes every `_`.
_GO_INT = re.compile(r"[-+]?(0[xX][0-9a-fA-F]+|0[oO]?[0-7]+|0[bB][01]+|[1-9][0-9]*|0)")
_GO_INT_BASES = {"x": 16, "o": 8, "b": 2}
_INT64 = 1 << 63

# go-yaml v2's resolve adds YAML 1.1's booleans; its encoder also quotes base-60 floats (but
# writes the merge key `<<` plain, as kubectl shows).
_YAML11_BOOLEANS: tuple[str, ...] = ("y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO")
_YAML11_BOOLEANS += ("on", "On", "ON", "off", "Off", "OFF")
_V2_RESERVED = frozenset((*_V3_BOOL, *_V3_NULL, *_V3_SPECIAL_FLOAT, *_YAML11_BOOLEANS))
_BASE60_FLOAT = re.compile(r"[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?")
_DATE = re.compile(r"[0-9]{4}-")
_TIMESTAMP = re.compile(
    r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}"
    r"(?:[Tt ][0-9]{1,2}:[0-9]{1,2}:[0-9]{1,2}(?:\.[0-9]{1,9})?(?:Z|[-+][0-9]{2}:[0-9]{2})?)?"
)


def _go_int(text: str) -> int | None:
    """strconv.ParseInt(text, 0, 64) (or ParseUint), as go-yaml resolves a plain scalar."""
    plain = text.replace("_", "")
    if not _GO_INT.fullmatch(plain):
        return None
    sign = -1 if plain[0] == "-" else 1
    digits = plain.lstrip("+-")
    if len(digits) > 1 and digits[0] == "0":
        base = _GO_INT_BASES.get(digits[1].lower(), 8)
        digits = digits[2:] if base != 8 or digits[1] in "oO" else digits[1:]
        value = int(digits, base)
    else:
        value = int(digits)
    value *= sign
    return value if -_INT64 <= value < 2 * _INT64 else None


def _v3_scalar(text: str) -> Any:
    """What go-yaml v3 (kyaml) makes of a plain scalar, as JSON would carry it."""
    if text in _V3_NULL:
        return None
    if text in _V3_BOOL:
        return _V3_BOOL[text]
    if text in _V3_SPECIAL_FLOAT:
        return _V3_SPECIAL_FLOAT[text]
    if not text or text[0] not in "+-.0123456789":
        return text
    number = _go_int(text)
    if number is not None:
        return number
    plain = text.replace("_", "")
    if _YAML_STYLE_FLOAT.fullmatch(plain):
        return float(plain)
    return text


class _KyamlLoader(_Loader):  # type: ignore[misc]
    """Reads plain scalars as go-yaml v3 does; quoted ones are always strings."""


def _construct_scalar(_loader: Any, node: yaml.ScalarNode) -> Any:
    if node.style:  # quoted or block: a string
        return node.value
    return _v3_scalar(node.value)


class UnsupportedYaml(ValueError):
    """YAML whose meaning this reader does not reproduce (merge keys, explicit tags)."""


def _construct_mapping(loader: Any, node: yaml.MappingNode) -> dict[Any, Any]:
    mapping: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge" or (
            not key_node.style and key_node.value == "<<"
        ):
            raise UnsupportedYaml(f"line {key_node.start_mark.line + 1}: a YAML merge key")
        key = loader.construct_object(key_node, deep=True)
        if key in mapping:  # go-yaml v3 refuses it: "mapping key already defined"
            raise yaml.constructor.ConstructorError(
                None, None, f"mapping key {key!r} already defined", key_node.start_mark
            )
        mapping[key] = loader.construct_object(value_node, deep=True)
    return mapping


def _construct_sequence(loader: Any, node: yaml.SequenceNode) -> list[Any]:
    return [loader.construct_object(child, deep=True) for child in node.value]


def _refuse_tag(_loader: Any, node: yaml.Node) -> Any:
    raise UnsupportedYaml(f"line {node.start_mark.line + 1}: the YAML tag {node.tag}")


# Every plain scalar resolves to one tag, which this constructor reads the v3 way; anything
# tagged otherwise (`!!binary`, `!!int "5"`, a custom tag) is left to the real Kustomize.
_KyamlLoader.yaml_implicit_resolvers = {}
_KyamlLoader.yaml_constructors = {}
_KyamlLoader.yaml_multi_constructors = {}
_KyamlLoader.add_constructor(STR, _construct_scalar)
_KyamlLoader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)
_KyamlLoader.add_constructor("tag:yaml.org,2002:seq", _construct_sequence)
_KyamlLoader.add_constructor(None, _refuse_tag)


def load_all(text: str) -> Iterator[Any]:
    """The documents of one file, empty ones skipped (as Kustomize does)."""
    for document in yaml.load_all(text, Loader=_KyamlLoader):
        if document is not None:
            yield document


def _v2_non_string(text: str) -> bool:
    """go-yaml v2 would read this plain scalar as something other than the string."""
    if text in _V2_RESERVED or _BASE60_FLOAT.fullmatch(text):
        return True
    if text[0] == ".":
        return _YAML_STYLE_FLOAT.fullmatch(text) is not None
    if text[0] not in "+-0123456789":
        return False
    if _DATE.match(text) and _TIMESTAMP.fullmatch(text):
        return True
    plain = text.replace("_", "")
    return _go_int(text) is not None or _YAML_STYLE_FLOAT.fullmatch(plain) is not None


class _GoYamlDumper(_Dumper):  # type: ignore[misc]
    """Tags plain scalars the way go-yaml v2 resolves them, so libyaml quotes alike."""

    def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
        if kind is yaml.ScalarNode and implicit[0]:
            return _v2_tag(value)
        return super().resolve(kind, value, implicit)  # type: ignore[no-any-return]


_V2_TAG = {"true": _BOOL, "false": _BOOL, "null": _NULL}


def _v2_tag(text: str) -> str:
    """The tag go-yaml v2 gives a plain scalar: what libyaml must not contradict."""
    known = _V2_TAG.get(text)
    if known is not None:
        return known
    if not _v2_non_string(text):
        return STR
    if _go_int(text) is not None:
        return _INT
    if _YAML_STYLE_FLOAT.fullmatch(text.replace("_", "")) or text in _V3_SPECIAL_FLOAT:
        return _FLOAT
    return "?"  # y, on, a timestamp: never written plain (see _represent_str)


def _represent_str(dumper: Any, text: str) -> yaml.ScalarNode:
    if "\n" in text:
        style: str | None = "|"
    elif _v2_non_string(text):
        style = '"'
    else:
        style = None
    return dumper.represent_scalar(STR, text, style=style)  # type: ignore[no-any-return]


def _represent_int(dumper: Any, number: int) -> yaml.ScalarNode:
    return dumper.represent_scalar(_INT, str(number))  # type: ignore[no-any-return]


def _represent_float(dumper: Any, number: float) -> yaml.ScalarNode:
    return dumper.represent_scalar(_FLOAT, go_float(number))  # type: ignore[no-any-return]


def _represent_dict(dumper: Any, mapping: dict[str, Any]) -> yaml.MappingNode:
    items = sorted(mapping.items(), key=lambda item: _go_key(item[0]))
    return dumper.represent_mapping(  # type: ignore[no-any-return]
        "tag:yaml.org,2002:map", items
    )


_GoYamlDumper.add_representer(str, _represent_str)
_GoYamlDumper.add_representer(int, _represent_int)
_GoYamlDumper.add_representer(float, _represent_float)
_GoYamlDumper.add_representer(dict, _represent_dict)


def go_float(number: float) -> str:
    """strconv.FormatFloat(f, 'g', -1, 64), as go-yaml v2 writes a float (`1e+06`, `0.0001`)."""
    if math.isnan(number):
        return ".nan"
    if math.isinf(number):
        return ".inf" if number > 0 else "-.inf"
    sign = "-" if math.copysign(1.0, number) < 0 else ""
    digits, point = _shortest_digits(abs(number))
    exp = point - 1
    if number != 0 and (exp < -4 or exp >= 6):  # shortest 'g' switches to %e at these
        tail = digits[1:]
        body = digits[0] + ("." + tail if tail else "")
        return f"{sign}{body}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    if point <= 0:
        return f"{sign}0.{'0' * -point}{digits}"
    if point >= len(digits):
        return f"{sign}{digits}{'0' * (point - len(digits))}"
    return f"{sign}{digits[:point]}.{digits[point:]}"


def _shortest_digits(number: float) -> tuple[str, int]:
    """The shortest round-tripping decimal digits of `number` and its decimal point position."""
    if number == 0:
        return "0", 1
    mantissa, _, exp_text = f"{number!r}".partition("e")
    whole, _, fraction = mantissa.partition(".")
    exp = int(exp_text) if exp_text else 0
    if fraction == "0":
        fraction = ""
    digits = (whole + fraction).lstrip("0")
    leading_zeros = len(whole + fraction) - len((whole + fraction).lstrip("0"))
    point = len(whole) - leading_zeros + exp
    return digits.rstrip("0") or "0", point


@functools.lru_cache(maxsize=4096)
def _go_key(key: str) -> _GoKey:
    """A sort key that orders strings as go-yaml v2's keyList.Less does (sorter.go)."""
    return _GoKey(key)


class _GoKey(tuple[str]):
    """Wraps a key so that sorted() compares with go-yaml's rules."""

    def __new__(cls, key: str) -> _GoKey:
        return super().__new__(cls, (key,))

    def __lt__(self, other: object) -> bool:
        assert isinstance(other, _GoKey)
        return _go_less(self[0], other[0])


def _go_less(a: str, b: str) -> bool:
    """keyList.Less of go-yaml (sorter.go) for two string keys."""
    for i in range(min(len(a), len(b))):
        ca, cb = a[i], b[i]
        if ca == cb:
            continue
        la, lb = ca.isalpha(), cb.isalpha()
        if la and lb:
            return ca < cb
        if la or lb:
            return lb
        an = bn = 0
        if ca == "0" or cb == "0":
            j = i - 1
            while j >= 0 and _is_digit(a[j]):
                if a[j] != "0":
                    an = bn = 1
                    break
                j -= 1
        ai = i
        while ai < len(a) and _is_digit(a[ai]):
            an = an * 10 + _digit(a[ai])
            ai += 1
        bi = i
        while bi < len(b) and _is_digit(b[bi]):
            bn = bn * 10 + _digit(b[bi])
            bi += 1
        if an != bn:
            return an < bn
        if ai != bi:
            return ai < bi
        return ca < cb
    return len(a) < len(b)


def _is_digit(char: str) -> bool:
    return "0" <= char <= "9" or (not char.isascii() and unicodedata.category(char) == "Nd")


def _digit(char: str) -> int:
    return ord(char) - ord("0")  # go-yaml's `r - '0'`, whatever digit it is


def dump(obj: Object) -> str:
    """One object as `kubectl kustomize` prints it."""
    return yaml.dump(
        obj,
        Dumper=_GoYamlDumper,
        default_flow_style=False,
        allow_unicode=True,
        width=80,
        indent=2,
        sort_keys=False,  # _represent_dict sorts, with go-yaml's order
    )


def dump_all(objects: list[Object]) -> str:
    """Objects joined as `resmap.AsYaml` joins them."""
    return "---\n".join(dump(obj) for obj in objects)
