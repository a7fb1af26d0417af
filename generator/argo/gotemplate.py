"""A deliberately small Go text/template evaluator: the subset Argo CD ApplicationSets use here.

Supported, with Go's semantics: text, `{{ pipeline }}`, `{{ if pipeline }} ... {{ else }} ...
{{ end }}`, the trim markers `{{- ` and ` -}}`, field chains (`.a.b`, `.`), string and integer
literals, and the functions `index` (Go) and `toJson` (sprig), with `missingkey=error` (a
missing map key is an error, as Argo CD's recommended `goTemplateOptions` make it).
Everything else (pipes, variables, `range`, `with`, other functions, printing a map) raises
`TemplateError` rather than guessing, so a template this evaluator cannot judge fails loudly.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from attrs import frozen


class TemplateError(ValueError):
    """The template is outside the supported subset, or Go would fail to execute it."""


@frozen(kw_only=True)
class Text:
    text: str


@frozen(kw_only=True)
class Action:
    command: tuple[str, ...]  # tokens of one command: an operand, or a function and its args


@frozen(kw_only=True)
class If:
    condition: tuple[str, ...]
    then: tuple[Node, ...]
    otherwise: tuple[Node, ...]


Node = Text | Action | If

_ACTION = re.compile(r"\{\{(-\s)?(.*?)(\s-)?\}\}", re.DOTALL)
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[^\s()|]+|[()|]')
_FIELD_CHAIN = re.compile(r"^(?:\.|(?:\.[A-Za-z_][A-Za-z0-9_]*)+)$")
_INTEGER = re.compile(r"^-?[0-9]+$")
_KEYWORDS = frozenset({"if", "else", "end", "range", "with", "define", "template", "block"})


def render(template: str, data: Mapping[str, Any]) -> str:
    """Execute `template` over `data` as Go's text/template would with missingkey=error."""
    return "".join(_execute(parse(template), data))


def parse(template: str) -> tuple[Node, ...]:
    """The template's node tree; raises TemplateError on anything outside the subset."""
    pieces = _lex(template)
    nodes, rest, stop = _parse_nodes(pieces, 0)
    if stop is not None:
        raise TemplateError(f"unexpected {{{{ {stop} }}}}")
    assert rest == len(pieces)
    return nodes


def _lex(template: str) -> list[str | tuple[str, ...]]:
    """Text pieces (str) and action token tuples, with trim markers already applied."""
    pieces: list[str | tuple[str, ...]] = []
    position = 0
    trim_next = False
    for match in _ACTION.finditer(template):
        text = template[position : match.start()]
        if trim_next:
            text = text.lstrip(" \t\r\n")
        if match.group(1):
            text = text.rstrip(" \t\r\n")
        pieces.append(text)
        body = match.group(2).strip()
        if body.startswith("/*"):
            raise TemplateError("template comments are not supported")
        tokens = tuple(_TOKEN.findall(body))
        if not tokens:
            raise TemplateError("empty action {{ }}")
        pieces.append(tokens)
        trim_next = bool(match.group(3))
        position = match.end()
    tail = template[position:]
    if trim_next:
        tail = tail.lstrip(" \t\r\n")
    if "{{" in tail:
        raise TemplateError(f"unclosed action in {tail!r}")
    pieces.append(tail)
    return pieces


def _parse_nodes(
    pieces: list[str | tuple[str, ...]], start: int
) -> tuple[tuple[Node, ...], int, str | None]:
    """Nodes from `start` until `else`/`end` (returned as the stop word) or the end."""
    nodes: list[Node] = []
    index = start
    while index < len(pieces):
        piece = pieces[index]
        index += 1
        if isinstance(piece, str):
            if piece:
                nodes.append(Text(text=piece))
            continue
        head = piece[0]
        if head in ("else", "end"):
            if len(piece) != 1:
                raise TemplateError(f"{{{{ {' '.join(piece)} }}}} is not supported")
            return tuple(nodes), index, head
        if head == "if":
            node, index = _parse_if(pieces, index, piece[1:])
            nodes.append(node)
        elif head in _KEYWORDS:
            raise TemplateError(f"{{{{ {head} }}}} is not supported")
        else:
            nodes.append(Action(command=_command(piece)))
    return tuple(nodes), index, None


def _parse_if(
    pieces: list[str | tuple[str, ...]], index: int, condition: tuple[str, ...]
) -> tuple[If, int]:
    then, index, stop = _parse_nodes(pieces, index)
    otherwise: tuple[Node, ...] = ()
    if stop == "else":
        otherwise, index, stop = _parse_nodes(pieces, index)
    if stop != "end":
        raise TemplateError("{{ if }} without {{ end }}")
    return If(condition=_command(condition), then=then, otherwise=otherwise), index


def _command(tokens: tuple[str, ...]) -> tuple[str, ...]:
    if not tokens:
        raise TemplateError("missing value for command")
    unsupported = [t for t in tokens if t in ("(", ")", "|") or t.startswith("$")]
    if unsupported:
        raise TemplateError(
            f"{' '.join(tokens)!r}: pipes, parentheses and variables are not supported"
        )
    return tokens


def _execute(nodes: Sequence[Node], data: Mapping[str, Any]) -> list[str]:
    out: list[str] = []
    for node in nodes:
        if isinstance(node, Text):
            out.append(node.text)
        elif isinstance(node, Action):
            out.append(_print(_evaluate(node.command, data)))
        else:
            branch = node.then if truthy(_evaluate(node.condition, data)) else node.otherwise
            out += _execute(branch, data)
    return out


def _evaluate(command: tuple[str, ...], data: Mapping[str, Any]) -> Any:
    head, args = command[0], command[1:]
    if head in FUNCTIONS:
        return FUNCTIONS[head]([_operand(arg, data) for arg in args])
    if args:
        raise TemplateError(f"function {head!r} is not supported (only {', '.join(FUNCTIONS)})")
    return _operand(head, data)


def _operand(token: str, data: Mapping[str, Any]) -> Any:
    if token.startswith('"'):
        value: str = json.loads(token)  # Go's interpreted string literals escape like JSON here
        return value
    if _INTEGER.match(token):
        return int(token)
    if token in ("true", "false"):
        return token == "true"
    if _FIELD_CHAIN.match(token):
        return _field_chain(token, data)
    if token in FUNCTIONS:
        raise TemplateError(f"function {token} used as a value")
    raise TemplateError(f"{token!r} is not supported (unknown function or syntax)")


def _field_chain(chain: str, data: Mapping[str, Any]) -> Any:
    value: Any = data
    if chain == ".":
        return value
    for name in chain[1:].split("."):
        if not isinstance(value, Mapping):
            raise TemplateError(f"can't evaluate field {name} in type {go_type(value)}")
        if name not in value:
            raise TemplateError(f"map has no entry for key {name!r} (missingkey=error)")
        value = value[name]
    return value


def truthy(value: Any) -> bool:
    """Go's `if`: false, 0, nil and empty strings, maps and slices are false."""
    if value is None:
        return False
    if isinstance(value, bool | int | float | str | Mapping | list | tuple):
        return bool(value)
    raise TemplateError(f"cannot test a {go_type(value)} for truth")


def _print(value: Any) -> str:
    """fmt.Print of a scalar; printing a map or slice is refused (Go's format is not YAML)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return go_number(value)
    raise TemplateError(f"printing a {go_type(value)} directly is not supported; use toJson")


def go_number(value: int | float) -> str:
    """A number as Go's fmt prints the float64 that Argo CD decodes every JSON/YAML number to:
    %v is strconv's shortest 'g', in exponent form when the exponent is < -4 or >= 6
    (3.0 prints as 3, 1000000 as 1e+06, 0.00001 as 1e-05)."""
    number = float(value)
    if not math.isfinite(number):
        return "NaN" if math.isnan(number) else ("+Inf" if number > 0 else "-Inf")
    if number == 0:
        return "-0" if math.copysign(1.0, number) < 0 else "0"
    # repr is the shortest round-tripping decimal, as strconv's shortest formatting is.
    shortest = Decimal(repr(number)).normalize()
    sign, digits, exponent = shortest.as_tuple()
    assert isinstance(exponent, int)
    mantissa = "".join(map(str, digits))
    decimal_exponent = exponent + len(mantissa) - 1
    if -4 <= decimal_exponent < 6:
        return format(shortest, "f")
    fraction = f".{mantissa[1:]}" if len(mantissa) > 1 else ""
    minus = "-" if sign else ""
    return f"{minus}{mantissa[0]}{fraction}e{decimal_exponent:+03d}"


def go_type(value: Any) -> str:
    if isinstance(value, Mapping):
        return "map[string]interface {}"
    if isinstance(value, list | tuple):
        return "[]interface {}"
    return type(value).__name__


def _index(args: list[Any]) -> Any:
    if len(args) < 2:
        raise TemplateError("index needs a collection and at least one key")
    value = args[0]
    for key in args[1:]:
        if isinstance(value, Mapping) and isinstance(key, str):
            # Go's index returns the zero value for a missing key, even with missingkey=error.
            value = value.get(key)
        elif isinstance(value, list | tuple) and isinstance(key, int) and not isinstance(key, bool):
            if not 0 <= key < len(value):
                raise TemplateError(f"index out of range: {key}")
            value = value[key]
        else:
            raise TemplateError(f"cannot index {go_type(value)} with {key!r}")
    return value


def _to_json(args: list[Any]) -> str:
    if len(args) != 1:
        raise TemplateError("toJson takes one argument")
    return to_json(args[0])


def to_json(value: Any) -> str:
    """Go's json.Marshal as sprig's toJson uses it: sorted keys, HTML characters escaped."""
    text = json.dumps(_go_numbers(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _go_numbers(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _go_numbers(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_go_numbers(v) for v in value]
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return int(value)
    return value


FUNCTIONS = {"index": _index, "toJson": _to_json}
