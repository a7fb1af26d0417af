"""The template functions Argo CD's ApplicationSet controller adds: sprig's GenericFuncMap
less `env`, `expandenv` and `getHostByName`, plus Argo CD's `normalize`, `slugify`,
`toYaml`, `fromYaml` and `fromYamlArray` (applicationset/utils/utils.go).

Each function carries its Go signature, so that wrong arguments fail as in Go. The ones
ported here follow sprig's source (and spf13/cast's conversions, Go's strings, path and
encoding/json packages); the rest are known by name, so a template using them parses as in
Argo CD, but executing one raises TemplateError "... is not evaluated by gitopsgen": random
values, the clock, cryptography, regular expressions (Go's RE2 is not Python's re), YAML.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
from collections.abc import Mapping
from typing import Any

from generator.argo.goparse import go_quote, parse_go_int
from generator.argo.gotemplate import (
    ANY,
    Func,
    FuncError,
    GoInt64,
    GoStringMap,
    GoStrings,
    fmt_value,
    format_float,
    go_kind,
    go_type,
    unbox,
)

MAP = "map[string]interface {}"
INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1

# unicode.IsSpace
_GO_SPACE = "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
_GO_SPACE += "\u2009\u200a\u2028\u2029\u202f\u205f\u3000"


# --------------------------------------------------------------------------------------------
# encoding/json


def _json_string(text: str, *, escape_html: bool) -> str:
    out = ['"']
    for char in text:
        code = ord(char)
        if char in ('"', "\\"):
            out.append("\\" + char)
        elif char == "\n":
            out.append("\\n")
        elif char == "\r":
            out.append("\\r")
        elif char == "\t":
            out.append("\\t")
        elif char == "\b":
            out.append("\\b")  # Go 1.22 on; Go 1.21 and older print \u0008
        elif char == "\f":
            out.append("\\f")
        elif code < 0x20 or (escape_html and char in "<>&") or code in (0x2028, 0x2029):
            out.append(f"\\u{code:04x}")
        elif 0xD800 <= code <= 0xDFFF:
            out.append("\\ufffd")  # an invalid UTF-8 byte
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


def json_float(number: float) -> str:
    """encoding/json's float64: 'f' format unless the magnitude is < 1e-6 or >= 1e21, then
    'e' with a two-digit exponent cleaned to one (1e-07 as 1e-7)."""
    if not math.isfinite(number):
        raise FuncError(f"json: unsupported value: {format_float(number)}")
    magnitude = abs(number)
    if magnitude != 0 and (magnitude < 1e-6 or magnitude >= 1e21):
        text = format_float(number, "e")
        return re.sub(r"e-0(\d)$", r"e-\1", text)
    return format_float(number, "f")


def marshal_json(
    value: Any, *, escape_html: bool = True, indent: str | None = None, level: int = 0
) -> str:
    """json.Marshal (or MarshalIndent with `indent`) of a decoded value."""
    value = unbox(value)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, float):
        return json_float(value)
    if isinstance(value, str):
        return _json_string(value, escape_html=escape_html)
    if isinstance(value, Mapping | list | tuple):
        if isinstance(value, Mapping):
            parts = [
                _json_string(str(k), escape_html=escape_html)
                + (": " if indent is not None else ":")
                + marshal_json(value[k], escape_html=escape_html, indent=indent, level=level + 1)
                for k in sorted(value)
            ]
            opening, closing = "{", "}"
        else:
            parts = [
                marshal_json(v, escape_html=escape_html, indent=indent, level=level + 1)
                for v in value
            ]
            opening, closing = "[", "]"
        if not parts:
            return opening + closing
        if indent is None:
            return opening + ",".join(parts) + closing
        inner = "\n" + indent * (level + 1)
        return opening + inner + ("," + inner).join(parts) + "\n" + indent * level + closing
    raise FuncError(f"json: unsupported type: {go_type(value)}")


def _to_json(value: Any) -> str:
    try:
        return marshal_json(value)
    except FuncError:
        return ""


def _must_to_json(value: Any) -> str:
    return marshal_json(value)


def _to_pretty_json(value: Any) -> str:
    try:
        return marshal_json(value, indent="  ")
    except FuncError:
        return ""


def _must_to_pretty_json(value: Any) -> str:
    return marshal_json(value, indent="  ")


def _to_raw_json(value: Any) -> str:
    return marshal_json(value, escape_html=False)


def _no_constant(name: str) -> Any:
    raise ValueError(name)


def _must_from_json(text: str) -> Any:
    try:
        return json.loads(text, parse_int=float, parse_constant=_no_constant)
    except ValueError as exc:
        raise FuncError(f"invalid JSON: {exc}") from None


def _from_json(text: str) -> Any:
    try:
        return _must_from_json(text)
    except FuncError:
        return None


# --------------------------------------------------------------------------------------------
# spf13/cast and sprig's strval


def strval(value: Any) -> str:
    value = unbox(value)
    return value if isinstance(value, str) else fmt_value(value)


def _trim_zero_decimal(text: str) -> str:
    found_zero = False
    for i in range(len(text), 0, -1):
        char = text[i - 1]
        if char == ".":
            if found_zero:
                return text[: i - 1]
        elif char == "0":
            found_zero = True
        else:
            return text
    return text


def _go_float_to_int64(number: float) -> int:
    if math.isnan(number) or not INT64_MIN <= number < 2.0**63:
        return INT64_MIN  # what amd64's conversion gives
    return int(number)


def to_int64(value: Any) -> int:
    """cast.ToInt64 (errors give 0, as sprig ignores them)."""
    value = unbox(value)
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return _go_float_to_int64(value)
    if isinstance(value, str):
        parsed = parse_go_int(_trim_zero_decimal(value)) if value else None
        if parsed is None or not INT64_MIN <= parsed <= INT64_MAX:
            return 0
        return parsed
    return 0


def to_float64(value: Any) -> float:
    """cast.ToFloat64."""
    value = unbox(value)
    if isinstance(value, bool | int | float):
        return float(value)
    if isinstance(value, str):
        try:
            if not re.fullmatch(
                r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[+-]?[Ii]nf(inity)?", value
            ):
                return 0.0
            return float(value)
        except ValueError:
            return 0.0
    return 0.0


def _atoi(text: str) -> int:
    if not re.fullmatch(r"[+-]?[0-9]+", text):
        return 0
    return max(INT64_MIN, min(INT64_MAX, int(text)))


def _strslice(value: Any) -> GoStrings:
    value = unbox(value)
    if isinstance(value, GoStrings):
        return value
    if isinstance(value, list | tuple):
        return GoStrings(strval(v) for v in value if unbox(v) is not None)
    if value is None:
        return GoStrings()
    return GoStrings([strval(value)])


# --------------------------------------------------------------------------------------------
# strings


def _utf8(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


def _slice_error(low: int | None, high: int | None, length: int) -> FuncError:
    if high is not None and (high < 0 or high > length):
        return FuncError(f"runtime error: slice bounds out of range [:{high}] with length {length}")
    if high is None:
        return FuncError(f"runtime error: slice bounds out of range [{low}:{length}]")
    return FuncError(f"runtime error: slice bounds out of range [{low}:{high}]")


def _substr(start: int, end: int, text: str) -> str:
    raw = _utf8(text)
    if start < 0:
        if end < 0 or end > len(raw):
            raise _slice_error(None, end, len(raw))
        return _text(raw[:end])
    if end < 0 or end > len(raw):
        if start > len(raw):
            raise _slice_error(start, None, len(raw))
        return _text(raw[start:])
    if start > end:
        raise _slice_error(start, end, len(raw))
    return _text(raw[start:end])


def _trunc(count: int, text: str) -> str:
    raw = _utf8(text)
    if count < 0 and len(raw) + count > 0:
        return _text(raw[len(raw) + count :])
    if count >= 0 and len(raw) > count:
        return _text(raw[:count])
    return text


def _repeat(count: int, text: str) -> str:
    if count < 0:
        raise FuncError("strings: negative Repeat count")
    return text * count


def _simple_case(text: str, upper: bool) -> str:
    out = []
    for char in text:
        mapped = char.upper() if upper else char.lower()
        out.append(mapped if len(mapped) == 1 else char)
    return "".join(out)


def _is_separator(char: str) -> bool:
    if ord(char) <= 0x7F:
        return not (char.isalnum() or char == "_")
    if char.isalpha() or char.isdigit():
        return False
    return char in _GO_SPACE


def _title(text: str) -> str:
    out, previous = [], " "
    for char in text:
        out.append(_simple_case(char, upper=True) if _is_separator(previous) else char)
        previous = char
    return "".join(out)


def _split_go(separator: str, text: str) -> list[str]:
    """strings.Split: an empty separator splits after each UTF-8 character."""
    if separator == "":
        return list(text)
    return text.split(separator)


def _indent(spaces: int, text: str) -> str:
    pad = " " * max(spaces, 0)
    if spaces < 0:
        raise FuncError("strings: negative Repeat count")
    return pad + text.replace("\n", "\n" + pad)


def _quote(*values: Any) -> str:
    return " ".join(go_quote(strval(v)) for v in values if unbox(v) is not None)


def _squote(*values: Any) -> str:
    return " ".join(f"'{fmt_value(v)}'" for v in values if unbox(v) is not None)


def _cat(*values: Any) -> str:
    return " ".join(fmt_value(v) for v in values if unbox(v) is not None)


def _b64dec(text: str) -> str:
    cleaned = text.replace("\r", "").replace("\n", "")
    try:
        return _text(base64.b64decode(cleaned, validate=True))
    except ValueError:
        alphabet = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=")
        bad = next((i for i, c in enumerate(cleaned) if c not in alphabet), len(cleaned) // 4 * 4)
        return f"illegal base64 data at input byte {bad}"


def _normalize(name: str) -> str:
    """Argo CD's SanitizeName."""
    cleaned = re.sub(r"[^-a-z0-9.]", "-", _simple_case(name, upper=False))
    raw = _utf8(cleaned)[:253]
    return _text(raw).strip("-.")


# --------------------------------------------------------------------------------------------
# path


def _clean(path: str) -> str:
    """path.Clean."""
    if path == "":
        return "."
    rooted = path.startswith("/")
    parts: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts and parts[-1] != "..":
                parts.pop()
            elif not rooted:
                parts.append("..")
            continue
        parts.append(part)
    text = "/".join(parts)
    if rooted:
        return "/" + text
    return text or "."


def _base(path: str) -> str:
    if path == "":
        return "."
    path = path.rstrip("/")
    if path == "":
        return "/"
    return path.rpartition("/")[2]


def _dir(path: str) -> str:
    return _clean(path[: path.rfind("/") + 1])


def _ext(path: str) -> str:
    for i in range(len(path) - 1, -1, -1):
        if path[i] == "/":
            break
        if path[i] == ".":
            return path[i:]
    return ""


# --------------------------------------------------------------------------------------------
# defaults, lists and dicts


def empty(value: Any) -> bool:
    value = unbox(value)
    if value is None:
        return True
    if isinstance(value, str | Mapping | list | tuple):
        return len(value) == 0
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return value == 0
    return False


def _default(fallback: Any, *given: Any) -> Any:
    if not given or empty(given[0]):
        return fallback
    return given[0]


def _coalesce(*values: Any) -> Any:
    return next((v for v in values if not empty(v)), None)


def _dict(*values: Any) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for i in range(0, len(values), 2):
        key = strval(values[i])
        result[key] = values[i + 1] if i + 1 < len(values) else ""
    return result


def _kind_name(value: Any) -> str:
    if value is None:
        raise FuncError("runtime error: invalid memory address or nil pointer dereference")
    return go_kind(value)


def _first(values: Any) -> Any:
    kind = _kind_name(values)
    if kind != "slice":
        raise FuncError(f"Cannot find first on type {kind}")
    return values[0] if values else None


def _last(values: Any) -> Any:
    kind = _kind_name(values)
    if kind != "slice":
        raise FuncError(f"Cannot find last on type {kind}")
    return values[-1] if values else None


def deep_equal(a: Any, b: Any) -> bool:
    """reflect.DeepEqual of two decoded values (types must match)."""
    a, b = unbox(a), unbox(b)
    if go_type(a) != go_type(b):
        return False
    if isinstance(a, Mapping):
        return a.keys() == b.keys() and all(deep_equal(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(deep_equal(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _has(needle: Any, haystack: Any) -> bool:
    if haystack is None:
        return False
    kind = go_kind(haystack)
    if kind != "slice":
        raise FuncError(f"Cannot find has on type {kind}")
    return any(deep_equal(needle, item) for item in haystack)


def _sort_alpha(values: Any) -> GoStrings:
    if isinstance(values, list | tuple):
        return GoStrings(sorted(_strslice(values), key=_utf8))
    return GoStrings([strval(values)])


def _fail(message: str) -> str:
    raise FuncError(message)


def _division(a: Any, b: Any, *, modulo: bool) -> GoInt64:
    x, y = to_int64(a), to_int64(b)
    if y == 0:
        raise FuncError("runtime error: integer divide by zero")
    quotient = abs(x) // abs(y) * (1 if (x >= 0) == (y >= 0) else -1)  # Go truncates
    return GoInt64(x - quotient * y if modulo else quotient)


def _wrap64(number: int) -> GoInt64:
    return GoInt64((number - INT64_MIN) % (1 << 64) + INT64_MIN)


def _mul(first: Any, *rest: Any) -> GoInt64:
    product = to_int64(first)
    for value in rest:
        product = _wrap64(product * to_int64(value))
    return GoInt64(product)


# --------------------------------------------------------------------------------------------
# The function map

STR, INT, BOOL = "string", "int", "bool"


def _f(name: str, params: tuple[str, ...], impl: Any, variadic: str | None = None) -> Func:
    return Func(name, params, impl, variadic)


_PORTED = [
    # strings
    _f("trim", (STR,), lambda s: s.strip(_GO_SPACE)),
    _f("upper", (STR,), lambda s: _simple_case(s, upper=True)),
    _f("lower", (STR,), lambda s: _simple_case(s, upper=False)),
    _f("title", (STR,), _title),
    _f("substr", (INT, INT, STR), _substr),
    _f("trunc", (INT, STR), _trunc),
    _f("repeat", (INT, STR), _repeat),
    _f("trimall", (STR, STR), lambda a, b: b.strip(a) if a else b),
    _f("trimAll", (STR, STR), lambda a, b: b.strip(a) if a else b),
    _f("trimSuffix", (STR, STR), lambda a, b: b[: -len(a)] if a and b.endswith(a) else b),
    _f("trimPrefix", (STR, STR), lambda a, b: b[len(a) :] if b.startswith(a) else b),
    _f("nospace", (STR,), lambda s: "".join(c for c in s if c not in _GO_SPACE)),
    _f("contains", (STR, STR), lambda sub, s: sub in s),
    _f("hasPrefix", (STR, STR), lambda sub, s: s.startswith(sub)),
    _f("hasSuffix", (STR, STR), lambda sub, s: s.endswith(sub)),
    _f("quote", (), _quote, ANY),
    _f("squote", (), _squote, ANY),
    _f("cat", (), _cat, ANY),
    _f("indent", (INT, STR), _indent),
    _f("nindent", (INT, STR), lambda n, s: "\n" + _indent(n, s)),
    _f("replace", (STR, STR, STR), lambda old, new, s: s.replace(old, new)),
    _f("plural", (STR, STR, INT), lambda one, many, n: one if n == 1 else many),
    _f("sha1sum", (STR,), lambda s: hashlib.sha1(_utf8(s)).hexdigest()),
    _f("sha256sum", (STR,), lambda s: hashlib.sha256(_utf8(s)).hexdigest()),
    _f("toString", (ANY,), strval),
    _f("atoi", (STR,), _atoi),
    _f("int64", (ANY,), lambda v: GoInt64(to_int64(v))),
    _f("int", (ANY,), to_int64),
    _f("float64", (ANY,), to_float64),
    _f(
        "split",
        (STR, STR),
        lambda sep, s: GoStringMap((f"_{i}", part) for i, part in enumerate(_split_go(sep, s))),
    ),
    _f("splitList", (STR, STR), lambda sep, s: GoStrings(_split_go(sep, s))),
    _f("toStrings", (ANY,), _strslice),
    _f("join", (STR, ANY), lambda sep, v: sep.join(_strslice(v))),
    _f("sortAlpha", (ANY,), _sort_alpha),
    _f("b64enc", (STR,), lambda s: base64.b64encode(_utf8(s)).decode("ascii")),
    _f("b64dec", (STR,), _b64dec),
    # arithmetic (int64, as sprig computes it)
    _f("add1", (ANY,), lambda v: _wrap64(to_int64(v) + 1)),
    _f("add", (), lambda *v: _wrap64(sum(to_int64(x) for x in v)), ANY),
    _f("sub", (ANY, ANY), lambda a, b: _wrap64(to_int64(a) - to_int64(b))),
    _f("div", (ANY, ANY), lambda a, b: _division(a, b, modulo=False)),
    _f("mod", (ANY, ANY), lambda a, b: _division(a, b, modulo=True)),
    _f("mul", (ANY,), _mul, ANY),
    _f("max", (ANY,), lambda a, *r: GoInt64(max(to_int64(x) for x in (a, *r))), ANY),
    _f("biggest", (ANY,), lambda a, *r: GoInt64(max(to_int64(x) for x in (a, *r))), ANY),
    _f("min", (ANY,), lambda a, *r: GoInt64(min(to_int64(x) for x in (a, *r))), ANY),
    # defaults and flow
    _f("default", (ANY,), _default, ANY),
    _f("empty", (ANY,), empty),
    _f("coalesce", (), _coalesce, ANY),
    _f("all", (), lambda *v: all(not empty(x) for x in v), ANY),
    _f("any", (), lambda *v: any(not empty(x) for x in v), ANY),
    _f("ternary", (ANY, ANY, BOOL), lambda t, f, v: t if v else f),
    _f("fail", (STR,), _fail),
    # encoding
    _f("toJson", (ANY,), _to_json),
    _f("mustToJson", (ANY,), _must_to_json),
    _f("toPrettyJson", (ANY,), _to_pretty_json),
    _f("mustToPrettyJson", (ANY,), _must_to_pretty_json),
    _f("toRawJson", (ANY,), _to_raw_json),
    _f("mustToRawJson", (ANY,), _to_raw_json),
    _f("fromJson", (STR,), _from_json),
    _f("mustFromJson", (STR,), _must_from_json),
    # types
    _f("typeOf", (ANY,), go_type),
    _f("kindOf", (ANY,), go_kind),
    _f("typeIs", (STR, ANY), lambda t, v: go_type(v) == t),
    _f("kindIs", (STR, ANY), lambda k, v: go_kind(v) == k),
    _f("deepEqual", (ANY, ANY), deep_equal),
    # paths
    _f("base", (STR,), _base),
    _f("dir", (STR,), _dir),
    _f("clean", (STR,), _clean),
    _f("ext", (STR,), _ext),
    _f("isAbs", (STR,), lambda p: p.startswith("/")),
    # lists and dicts
    _f("list", (), lambda *v: list(v), ANY),
    _f("tuple", (), lambda *v: list(v), ANY),
    _f("dict", (), _dict, ANY),
    _f("get", (MAP, STR), lambda d, k: d.get(k, "")),
    _f("hasKey", (MAP, STR), lambda d, k: k in d),
    _f("first", (ANY,), _first),
    _f("mustFirst", (ANY,), _first),
    _f("last", (ANY,), _last),
    _f("mustLast", (ANY,), _last),
    _f("has", (ANY, ANY), _has),
    _f("mustHas", (ANY, ANY), _has),
    # Argo CD's own
    _f("normalize", (STR,), _normalize),
]

# Known to Argo CD, parsed as in Go, but not evaluated here.
_NOT_EVALUATED = [
    "hello",
    "ago",
    "date",
    "date_in_zone",
    "date_modify",
    "dateInZone",
    "dateModify",
    "duration",
    "durationRound",
    "htmlDate",
    "htmlDateInZone",
    "must_date_modify",
    "mustDateModify",
    "mustToDate",
    "now",
    "toDate",
    "unixEpoch",
    "abbrev",
    "abbrevboth",
    "untitle",
    "initials",
    "randAlphaNum",
    "randAlpha",
    "randAscii",
    "randNumeric",
    "swapcase",
    "shuffle",
    "snakecase",
    "camelcase",
    "kebabcase",
    "wrap",
    "wrapWith",
    "adler32sum",
    "seq",
    "toDecimal",
    "splitn",
    "until",
    "untilStep",
    "randInt",
    "add1f",
    "addf",
    "subf",
    "divf",
    "mulf",
    "maxf",
    "minf",
    "ceil",
    "floor",
    "round",
    "compact",
    "mustCompact",
    "deepCopy",
    "mustDeepCopy",
    "typeIsLike",
    "osBase",
    "osClean",
    "osDir",
    "osExt",
    "osIsAbs",
    "b32enc",
    "b32dec",
    "set",
    "unset",
    "pluck",
    "keys",
    "pick",
    "omit",
    "merge",
    "mergeOverwrite",
    "mustMerge",
    "mustMergeOverwrite",
    "values",
    "append",
    "push",
    "mustAppend",
    "mustPush",
    "prepend",
    "mustPrepend",
    "rest",
    "mustRest",
    "initial",
    "mustInitial",
    "reverse",
    "mustReverse",
    "uniq",
    "mustUniq",
    "without",
    "mustWithout",
    "slice",
    "mustSlice",
    "concat",
    "dig",
    "chunk",
    "mustChunk",
    "bcrypt",
    "htpasswd",
    "genPrivateKey",
    "derivePassword",
    "buildCustomCert",
    "genCA",
    "genCAWithKey",
    "genSelfSignedCert",
    "genSelfSignedCertWithKey",
    "genSignedCert",
    "genSignedCertWithKey",
    "encryptAES",
    "decryptAES",
    "randBytes",
    "uuidv4",
    "semver",
    "semverCompare",
    "regexMatch",
    "mustRegexMatch",
    "regexFindAll",
    "mustRegexFindAll",
    "regexFind",
    "mustRegexFind",
    "regexReplaceAll",
    "mustRegexReplaceAll",
    "regexReplaceAllLiteral",
    "mustRegexReplaceAllLiteral",
    "regexSplit",
    "mustRegexSplit",
    "regexQuoteMeta",
    "urlParse",
    "urlJoin",
    "slugify",
    "toYaml",
    "fromYaml",
    "fromYamlArray",
]

FUNCTIONS: dict[str, Func] = {f.name: f for f in _PORTED}
FUNCTIONS.update({name: Func(name, (), None, ANY) for name in _NOT_EVALUATED})
