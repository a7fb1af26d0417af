"""The YAML serializer: every value reads back identically in YAML 1.2, YAML 1.1 and go-yaml v2."""

from __future__ import annotations

import io
import math
import re
import traceback
from typing import Any

import jinja2
import pytest
import yaml
from ruamel.yaml import YAML
from yamllint import linter
from yamllint.config import YamlLintConfig

from generator.render import templating, yamlout

TRICKY = [
    # booleans and nulls of YAML 1.1, 1.2 and go-yaml v2, in their case variants
    *("yes", "Yes", "YES", "no", "No", "NO", "y", "Y", "n", "N", "true", "True", "TRUE"),
    *("false", "False", "FALSE", "on", "On", "ON", "off", "Off", "OFF", "oN", "yEs"),
    *("null", "Null", "NULL", "~", "", "<<", "="),
    # numbers in every base, with underscores, signs, exponents, sexagesimal, specials
    *("0", "00", "012", "0o17", "0O17", "0b101", "0x1F", "0X1f", "0x_1F", "1_000", "1_", "_1"),
    *("1", "-1", "+1", "1.5", "1.", ".5", "-.5", "1e3", "1E3", "1e+3", "1.5e-3", "6.8523015e+5"),
    *("1:20", "190:20:30", "-1:20", "1:20.5", ".inf", "-.inf", "+.inf", ".Inf", ".NaN", ".nan"),
    *("inf", "nan", "Infinity", "0x", "0b", "0o", "0.0", "-0", "99999999999999999999999"),
    # timestamps (YAML 1.1; go-yaml v2 turns them into time.Time)
    *("2024-01-02", "2024-1-2", "2001-12-14t21:59:43.10-05:00", "2001-12-14 21:59:43.10 -5"),
    *("2001-12-15T02:59:43.1Z", "2024-01-02x", "12:30", "2024-13-45"),
    # indicators, at the start and inside
    *(" ", "  ", " a", "a ", "a #b", "a#b", "#a", "a: b", "a:b", "a:", ":a", "a::b", "::"),
    *("- x", "-", "-x", "--", "---", "--- a", "...", "? a", "?", "?a", "|", "|-", ">", ">-"),
    *("{", "}", "[", "]", "{a: 1}", "[1]", "[]", "{}", ",", "a,b", "a, b", "*a", "&a", "!a"),
    *("!!str", "!!int 1", "%YAML", "%", "@a", "a@b", "`a", "a`b", "'a'", '"a"', "it's"),
    *('say "hi"', "a\\b", "\\", "\\n", "a|b", "a>b", "a=b", "a%b", "50%", "a/b", "/healthz"),
    # whitespace, line breaks, controls
    *("a\nb", "a\n", "\n", "\n\n", "\t", "a\tb", "\r\n", "a\rb", "a  b", " a\n b "),
    *("\x00", "\x07", "\x1b[0m", "\x7f", "\x85", "\xa0", "\u2028", "\u2029", "\ufeff"),
    *("\ufffe", "a\u200bb"),
    # unicode
    *("é", "naïve", "日本語", "emoji 🎉", "Ω", "\U0001f600", "ß"),
    # realistic values
    *("http://prometheus.monitoring.svc:9090", "postgres://u:p@h:5432/db?ssl=true&x=1"),
    *("123456789012.dkr.ecr.me-south-1.amazonaws.com/api:v1", "v1.2.3", "1.2.3", "sha-7f3e2a1"),
    *("100m", "512Mi", "0.5", "1Gi", "250m", "app.kubernetes.io/name", "LOG_LEVEL=debug"),
    *("${{ github.sha }}", "{{ .Values.x }}", "$HOME", "go test ./... -v -race", "@org/team"),
    *("a" * 200, "key: value # comment", "- [a, b]", "&anchor *alias", "x" + " " * 3),
]

NON_STRINGS: list[Any] = [
    True,
    False,
    None,
    0,
    1,
    -1,
    2**63,
    10**30,
    0.5,
    -0.0,
    0.1,
    1e-05,
    1e16,
    1.5e300,
    -2.5e-300,
    3.0,
]


def ruamel_load(text: str) -> Any:
    return YAML(typ="safe", pure=True).load(io.StringIO(text))


def pyyaml_load(text: str) -> Any:
    return yaml.load(text, Loader=yaml.SafeLoader)


def libyaml_load(text: str) -> Any:
    return yaml.load(text, Loader=yaml.CSafeLoader)


READERS = {"ruamel-1.2": ruamel_load, "pyyaml-1.1": pyyaml_load, "libyaml-1.1": libyaml_load}

# go-yaml v2 (resolve.go): which plain scalars it reads as something other than a string.
_GO_RESERVED = {
    *("y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"),
    *("n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"),
    *("", "~", "null", "Null", "NULL", ".nan", ".NaN", ".NAN", ".inf", ".Inf", ".INF"),
    *("+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF", "<<"),
}
_GO_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
_GO_TIMESTAMP = re.compile(r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt ].*)?")


def _go_parse_int(text: str) -> bool:
    """strconv.ParseInt(text, 0, 64) syntax (any size: an overflow becomes a float anyway)."""
    body = text[1:] if text[:1] in "+-" else text
    prefixes = {"0x": "0123456789abcdefABCDEF", "0o": "01234567", "0b": "01"}
    for prefix, digits in prefixes.items():
        if body.lower().startswith(prefix):
            rest = body[2:]
            return bool(rest) and all(c in digits for c in rest)
    if len(body) > 1 and body.startswith("0"):
        return all(c in "01234567" for c in body[1:])
    return body.isascii() and body.isdigit()


def goyaml_v2_reads_plain_as_string(text: str) -> bool:
    if text in _GO_RESERVED:
        return False
    first = text[:1]
    if first == ".":
        return _GO_FLOAT.fullmatch(text) is None
    if first and first in "+-0123456789":
        plain = text.replace("_", "")
        return not (
            _GO_TIMESTAMP.fullmatch(text) or _go_parse_int(plain) or _GO_FLOAT.fullmatch(plain)
        )
    return True


def plain_scalars(text: str) -> list[str]:
    """The unquoted scalars of one flow or `key: value` line."""
    return [t for t in re.split(r"[\[\]{},]\s*|: |^- ", text) if t and not t.startswith('"')]


@pytest.mark.parametrize("text", TRICKY, ids=range(len(TRICKY)))
@pytest.mark.parametrize("reader", READERS)
def test_every_string_reads_back_identically(text: str, reader: str) -> None:
    load = READERS[reader]
    assert load(f"k: {yamlout.flow(text)}\n") == {"k": text}
    assert load(f"- {yamlout.flow(text)}\n") == [text]
    assert load(f"[{yamlout.flow(text)}]\n") == [text]  # `y` is safe inside a flow collection
    assert load(f"k: {yamlout.flow([text, text])}\n") == {"k": [text, text]}
    assert load(f"k: {yamlout.flow({text: text})}\n") == {"k": {text: text}}
    assert load(f"{yamlout.block({text: [text], 'x': {text: text}}, 0)}\n") == {
        text: [text],
        "x": {text: text},
    }


@pytest.mark.parametrize("text", TRICKY, ids=range(len(TRICKY)))
def test_plain_output_is_a_string_to_go_yaml_v2(text: str) -> None:
    for written in (yamlout.flow(text), yamlout.block({"k": text}, 0).partition(": ")[2]):
        if not written.startswith('"'):
            assert written == text
            assert goyaml_v2_reads_plain_as_string(written)
    # go-yaml v2 rejects `a:b` inside a flow collection ("found unexpected ':'")
    for plain in plain_scalars(yamlout.flow({text: [text]})):
        assert ":" not in plain


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("api", "api"),
        ("sha-7f3e2a1", "sha-7f3e2a1"),
        ("1.2.3", "1.2.3"),
        ("/healthz", "/healthz"),
        ("yes", '"yes"'),
        ("1e3", '"1e3"'),
        ("2024-01-02", '"2024-01-02"'),
        ("a:b", '"a:b"'),
        ("", '""'),
        ('say "hi"\n', '"say \\"hi\\"\\n"'),
        ("\x7f\x85\u2028\ufeff", '"\\x7F\\x85\\u2028\\uFEFF"'),
        ("日本語", '"日本語"'),
    ],
)
def test_strings_are_quoted_exactly_when_needed(text: str, expected: str) -> None:
    assert yamlout.flow(text) == expected


def test_block_keeps_a_colon_plain_where_yaml_allows_it() -> None:
    assert yamlout.block({"image": "nginx:1.27"}, 0) == "image: nginx:1.27"
    assert yamlout.flow("nginx:1.27") == '"nginx:1.27"'


@pytest.mark.parametrize("value", NON_STRINGS, ids=repr)
@pytest.mark.parametrize("reader", READERS)
def test_non_strings_read_back_with_their_type(value: Any, reader: str) -> None:
    loaded = READERS[reader](f"k: {yamlout.flow(value)}\n")["k"]
    assert type(loaded) is type(value)
    assert loaded == value
    if isinstance(value, float):
        assert math.copysign(1, loaded) == math.copysign(1, value)


@pytest.mark.parametrize("reader", READERS)
def test_special_floats(reader: str) -> None:
    loaded = READERS[reader](yamlout.block([math.inf, -math.inf, math.nan], 0))
    assert loaded[:2] == [math.inf, -math.inf]
    assert math.isnan(loaded[2])


def test_unsupported_values_are_refused() -> None:
    with pytest.raises(TypeError, match="cannot write bytes"):
        yamlout.flow(b"x")
    with pytest.raises(TypeError, match="cannot write object"):
        yamlout.block({"k": object()}, 0)


NESTED: list[Any] = [
    {"a": 1, "b": [1, 2, {"c": "d", "e": []}], "f": {}, "g": {"h": {"i": [[1, 2], [], ["x"]]}}},
    [{"name": "x", "value": "y: z"}, {"name": "on", "value": None}, [[["deep"]]], {}],
    {"yes": "no", "1e3": 1000, "": "empty key", "key with spaces": " v ", 1: "int key"},
    {"list": [{"a": [{"b": [1]}]}], "t": (1, 2)},
    {"multi": "line one\nline two\n", "tab": "\t", "quote": "'\""},
    [],
    {},
]


@pytest.mark.parametrize("value", NESTED, ids=range(len(NESTED)))
@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize("indent", [0, 6])
def test_block_output_reads_back_equal(value: Any, reader: str, indent: int) -> None:
    document = f"root:\n{' ' * indent}  {yamlout.block(value, indent + 2)}\n"
    assert READERS[reader](document) == {"root": _plain(value)}


def _plain(value: Any) -> Any:
    """What a YAML reader gives back: tuples become lists."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def test_block_layout() -> None:
    value = {"a": [{"b": 1, "c": [2, 3]}, [4, 5]], "d": {}, "e": []}
    assert yamlout.block(value, 4) == (
        "a:\n"
        "      - b: 1\n"
        "        c:\n"
        "          - 2\n"
        "          - 3\n"
        "      - - 4\n"
        "        - 5\n"
        "    d: {}\n"
        "    e: []"
    )


YAMLLINT = YamlLintConfig("extends: default\nrules:\n  line-length: disable\n")


@pytest.mark.parametrize("value", [*NESTED, {"strings": TRICKY}], ids=range(len(NESTED) + 1))
def test_block_output_is_yamllint_clean(value: Any) -> None:
    document = f"---\nroot:\n  {yamlout.block(value, 2)}\n"
    problems = [str(p) for p in linter.run(document, YAMLLINT)]
    assert problems == []


# --- the template environment the filters live in ----------------------------------------------


def test_fast_render_equals_jinja_render() -> None:
    context = {"s": {"name": "api"}, "labels": {"app.kubernetes.io/name": "api", "x": "on"}}
    template, _ = templating.compiled("kustomize/serviceaccount.yaml")
    assert templating.render("kustomize/serviceaccount.yaml", **context) == template.render(
        **context
    )


def test_a_template_error_names_the_template_line() -> None:
    with pytest.raises(jinja2.UndefinedError) as error:
        templating.render("kustomize/serviceaccount.yaml")
    frames = [f for f in traceback.extract_tb(error.value.__traceback__) if f.filename]
    assert any(f.filename.endswith("kustomize/serviceaccount.yaml") for f in frames)


def test_delimiters_leave_double_braces_alone() -> None:
    env = templating.environment()
    text = env.from_string("a: {= v | y =}\nb: '{{ .name }}'\n<# note #>c: ${{ x }}\n").render(
        v="on"
    )
    assert text == "a: \"on\"\nb: '{{ .name }}'\nc: ${{ x }}\n"
