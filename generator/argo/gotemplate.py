"""Go's text/template as Argo CD's ApplicationSet controller runs it (goTemplate: true).

A port of Go's text/template: goparse.py lexes and parses the whole template first (so a
syntax error anywhere, in a branch never taken too, is an error, as in Argo CD), then this
module executes the tree with Go's rules: `missingkey=error`, Go's truth, pipelines,
variables, `if`/`else if`/`range`/`with`/`break`/`continue`/`define`/`template`/`block`,
the builtins (`and`, `or`, `not`, `len`, `index`, `print`, `printf`, `println`, `eq`, `ne`,
`lt`, `le`, `gt`, `ge`, `html`, `js`, `urlquery`, `call`) with their Go signatures, and
Go's fmt printing. The functions Argo CD adds (sprig's, less `env`, `expandenv` and
`getHostByName`, plus `normalize`) are in sprig.py; the few this port does not evaluate
(random, time, crypto, regular expressions, ...) parse as in Go but fail when executed with
"... is not evaluated by gitopsgen".

Values are Argo CD's: the parameters are JSON decoded into Go's `map[string]interface{}`,
so every number in them is a float64 (a Python float here); template literals and function
results keep Go's types (int: Python int, int64: GoInt64, []string: GoStrings, ...).

Every error is a TemplateError whose message is Go's own, with Go's location:
`template: base:1:3: executing "base" at <.missing>: map has no entry for key "missing"`.
"""

from __future__ import annotations

import math
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from functools import lru_cache
from typing import Any

from generator.argo import goparse
from generator.argo.goparse import go_quote

TEMPLATE_NAME = "base"  # Argo CD clones one template named "base" for every string
MAX_DEPTH = 64  # nested {{template}} calls (Go allows 100000; Python's stack does not)

ANY = "interface {}"
VALUE = "reflect.Value"


class TemplateError(ValueError):
    """Go would refuse the template (parse) or fail to execute it; the message is Go's."""


class FuncError(Exception):
    """A function's error (or recovered panic): Go reports `error calling NAME: MESSAGE`."""


class NotEvaluated(Exception):
    """A function Argo CD has but this port does not evaluate."""


# --------------------------------------------------------------------------------------------
# Go types of values


class GoInt64(int):
    """An int64 (sprig's arithmetic returns int64; a plain Python int is Go's int)."""

    __slots__ = ()


class GoStrings(list[str]):
    """A []string (sprig's splitList, toStrings, sortAlpha)."""

    __slots__ = ()


class GoStringMap(dict[str, str]):
    """A map[string]string (sprig's split)."""

    __slots__ = ()


class Iface:
    """A value inside an interface{}: a map's or slice's element before the pipeline
    unwraps it. Go's messages and nil checks tell the two apart."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


def go_type(value: Any) -> str:
    """The Go type name fmt's %T would print."""
    if isinstance(value, Iface):
        return ANY
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, GoInt64):
        return "int64"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, str):
        return "string"
    if isinstance(value, GoStringMap):
        return "map[string]string"
    if isinstance(value, Mapping):
        return "map[string]interface {}"
    if isinstance(value, GoStrings):
        return "[]string"
    if isinstance(value, list | tuple):
        return "[]interface {}"
    return type(value).__name__


def go_kind(value: Any) -> str:
    """reflect.Kind's name."""
    if isinstance(value, Iface):
        return "interface"
    if value is None:
        return "invalid"
    if isinstance(value, Mapping):
        return "map"
    if isinstance(value, list | tuple):
        return "slice"
    return go_type(value)


def unbox(value: Any) -> Any:
    return value.value if isinstance(value, Iface) else value


def boxed(container: Any, item: Any) -> Any:
    """An element of `container` as Go's reflect hands it out."""
    if isinstance(container, GoStrings | GoStringMap):
        return item
    return Iface(item)


def from_json(value: Any) -> Any:
    """Data as Go's encoding/json decodes it into interface{}: every number a float64."""
    if isinstance(value, bool) or value is None or isinstance(value, str | float):
        return value
    if isinstance(value, int):
        return float(value)
    if isinstance(value, Mapping):
        return {str(k): from_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [from_json(v) for v in value]
    return value


# --------------------------------------------------------------------------------------------
# fmt


def format_float(number: float, verb: str = "g", precision: int = -1) -> str:
    """strconv.FormatFloat(number, verb, precision, 64) for 'g', 'e' and 'f'."""
    if math.isnan(number):
        return "NaN"
    if math.isinf(number):
        return "+Inf" if number > 0 else "-Inf"
    if verb == "f":
        if precision < 0:  # the shortest digits that round-trip, never an exponent
            return format(Decimal(repr(number)).normalize(), "f")
        return f"{number:.{precision}f}"
    if verb == "e":
        if precision < 0:
            return _shortest_e(number)
        mantissa, _, exp = f"{number:.{precision}e}".partition("e")
        return f"{mantissa}e{int(exp):+03d}"
    if precision >= 0:
        text = f"{number:.{precision or 1}g}"
        mantissa, e, exp = text.partition("e")
        return f"{mantissa}e{int(exp):+03d}" if e else text
    if number == 0:
        return "-0" if math.copysign(1.0, number) < 0 else "0"
    # the shortest 'g': exponent form when the decimal exponent is < -4 or >= 6
    shortest = Decimal(repr(number)).normalize()
    if -4 <= shortest.adjusted() < 6:
        return format(shortest, "f")
    return _shortest_e(number)


def _shortest_e(number: float) -> str:
    shortest = Decimal(repr(number)).normalize()
    sign, digits, exponent = shortest.as_tuple()
    assert isinstance(exponent, int)
    mantissa = "".join(map(str, digits))
    decimal_exponent = exponent + len(mantissa) - 1
    fraction = f".{mantissa[1:]}" if len(mantissa) > 1 else ""
    return f"{'-' if sign else ''}{mantissa[0]}{fraction}e{decimal_exponent:+03d}"


def go_number(value: float) -> str:
    """A float64 as fmt's %v prints it: strconv's shortest 'g', in exponent form when the
    exponent is < -4 or >= 6 (3.0 prints as 3, 1000000 as 1e+06, 0.00001 as 1e-05)."""
    return format_float(float(value))


def fmt_value(value: Any) -> str:
    """fmt's %v."""
    value = unbox(value)
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, float):
        return go_number(value)
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        return "map[" + " ".join(f"{k}:{fmt_value(value[k])}" for k in sorted(value)) + "]"
    if isinstance(value, list | tuple):
        return "[" + " ".join(fmt_value(v) for v in value) + "]"
    return str(value)


def sprint(args: Sequence[Any]) -> str:
    """fmt.Sprint: a space between operands when neither is a string."""
    out: list[str] = []
    previous_string = False
    for number, arg in enumerate(args):
        is_string = isinstance(unbox(arg), str)
        if number > 0 and not is_string and not previous_string:
            out.append(" ")
        out.append(fmt_value(arg))
        previous_string = is_string
    return "".join(out)


def sprintln(args: Sequence[Any]) -> str:
    return " ".join(fmt_value(a) for a in args) + "\n"


def _bad_verb(verb: str, arg: Any) -> str:
    if arg is None:
        return f"%!{verb}(<nil>)"
    return f"%!{verb}({go_type(arg)}={fmt_value(arg)})"


def _format_one(verb: str, arg: Any, flags: str, precision: int | None) -> str:
    arg = unbox(arg)
    if verb == "v":
        return fmt_value(arg)
    if isinstance(arg, Mapping) and verb != "T":
        items = (f"{_format_one(verb, k, flags, precision)}:" for k in sorted(arg))
        values = (_format_one(verb, arg[k], flags, precision) for k in sorted(arg))
        return "map[" + " ".join(k + v for k, v in zip(items, values, strict=True)) + "]"
    if isinstance(arg, list | tuple) and verb not in ("T", "s", "q", "x", "X"):
        return "[" + " ".join(_format_one(verb, a, flags, precision) for a in arg) + "]"
    if verb == "T":
        return go_type(arg)
    if verb == "t":
        return ("true" if arg else "false") if isinstance(arg, bool) else _bad_verb(verb, arg)
    if isinstance(arg, bool):
        return _bad_verb(verb, arg)
    if verb in "sq" and isinstance(arg, list | tuple):
        return "[" + " ".join(_format_one(verb, a, flags, precision) for a in arg) + "]"
    if verb == "s":
        if isinstance(arg, str):
            return arg if precision is None else arg[:precision]
        return _bad_verb(verb, arg)
    if verb == "q":
        if isinstance(arg, str):
            return go_quote(arg)
        if isinstance(arg, int):
            return "'" + go_quote(chr(arg))[1:-1].replace("'", "\\'").replace('\\"', '"') + "'"
        return _bad_verb(verb, arg)
    if verb in "dbox" + "X" and isinstance(arg, int):
        base = {"d": 10, "b": 2, "o": 8, "x": 16, "X": 16}[verb]
        digits = _int_digits(abs(int(arg)), base, upper=verb == "X")
        sign = "-" if arg < 0 else ("+" if "+" in flags else (" " if " " in flags else ""))
        if "#" in flags and verb in "xX":
            digits = ("0X" if verb == "X" else "0x") + digits
        return sign + digits
    if verb in "xX" and isinstance(arg, str):
        text = arg.encode("utf-8", "surrogateescape").hex()
        return text.upper() if verb == "X" else text
    if verb == "c" and isinstance(arg, int):
        return chr(arg)
    if verb in "eEfFgG" and isinstance(arg, float):
        text = format_float(arg, verb.lower(), -1 if precision is None else precision)
        if verb in "fF" and precision is None:
            text = f"{arg:.6f}"
        elif verb in "eE" and precision is None:
            mantissa, _, exp = f"{arg:.6e}".partition("e")
            text = f"{mantissa}e{int(exp):+03d}"
        if "+" in flags and not text.startswith("-"):
            text = "+" + text
        return text.upper() if verb.isupper() else text
    return _bad_verb(verb, arg)


def _int_digits(number: int, base: int, *, upper: bool) -> str:
    if base == 10:
        return str(number)
    text = format(number, {2: "b", 8: "o", 16: "x"}[base])
    return text.upper() if upper else text


def sprintf(template: str, args: Sequence[Any]) -> str:  # noqa: PLR0915
    """fmt.Sprintf for the common verbs (%v %s %d %q %t %f %e %g %x %X %o %b %c %T %%),
    flags `+-# 0`, width and precision; wrong and missing arguments as Go prints them."""
    out: list[str] = []
    i, arg_index, n = 0, 0, len(template)
    while i < n:
        char = template[i]
        if char != "%":
            out.append(char)
            i += 1
            continue
        i += 1
        flags = ""
        while i < n and template[i] in "+-# 0":
            flags += template[i]
            i += 1
        width_text = ""
        while i < n and template[i].isdigit():
            width_text += template[i]
            i += 1
        precision: int | None = None
        if i < n and template[i] == ".":
            i += 1
            precision_text = ""
            while i < n and template[i].isdigit():
                precision_text += template[i]
                i += 1
            precision = int(precision_text or "0")
        if i >= n:
            out.append("%!(NOVERB)")
            break
        verb = template[i]
        i += 1
        if verb == "%":
            out.append("%")
            continue
        if arg_index >= len(args):
            out.append(f"%!{verb}(MISSING)")
            continue
        text = _format_one(verb, args[arg_index], flags, precision)
        arg_index += 1
        width = int(width_text) if width_text else 0
        if len(text) < width:
            if "-" in flags:
                text = text.ljust(width)
            elif "0" in flags and verb in "dbxXoeEfFgG" and not text.startswith("%!"):
                sign = text[0] if text[:1] in "+-" else ""
                text = sign + text[len(sign) :].rjust(width - len(sign), "0")
            else:
                text = text.rjust(width)
        out.append(text)
    if arg_index < len(args):
        extra = ", ".join(
            "<nil>" if unbox(a) is None else f"{go_type(unbox(a))}={fmt_value(a)}"
            for a in args[arg_index:]
        )
        out.append(f"%!(EXTRA {extra})")
    return "".join(out)


# --------------------------------------------------------------------------------------------
# Functions


class Func:
    """A template function with its Go signature: the types of its fixed parameters and,
    when variadic, of its variadic elements. `impl` None: not evaluated by this port."""

    __slots__ = ("impl", "name", "params", "variadic")

    def __init__(
        self,
        name: str,
        params: tuple[str, ...],
        impl: Callable[..., Any] | None,
        variadic: str | None = None,
    ) -> None:
        self.name, self.params, self.impl, self.variadic = name, params, impl, variadic


def indirect_interface(value: Any) -> Any:
    return unbox(value)


def is_true(value: Any) -> tuple[bool, bool]:
    """Go's isTrue: (truth, ok)."""
    if value is None:
        return False, True
    if isinstance(value, Iface):
        return value.value is not None, True
    if isinstance(value, bool):
        return value, True
    if isinstance(value, int | float):
        return value != 0, True
    if isinstance(value, str | Mapping | list | tuple):
        return len(value) > 0, True
    return False, False


def truthy(value: Any) -> bool:
    """Go's `if`: false, 0, nil and empty strings, maps and slices are false."""
    return is_true(indirect_interface(value))[0]


def _basic_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    return "invalid"


def _eq(arg1: Any, *rest: Any) -> bool:
    arg1 = indirect_interface(arg1)
    if not rest:
        raise FuncError("missing argument for comparison")
    k1 = _basic_kind(arg1)
    for given in rest:
        arg = indirect_interface(given)
        k2 = _basic_kind(arg)
        if k1 != k2:
            if arg1 is not None and arg is not None:
                raise FuncError("incompatible types for comparison")
            continue
        if k1 != "invalid":
            if arg1 == arg:
                return True
            continue
        if arg1 is None or arg is None:
            if arg1 is None and arg is None:
                return True
            continue
        if go_kind(arg1) != go_kind(arg):
            raise FuncError(
                f"non-comparable types {fmt_value(arg1)}: {go_type(arg1)},"
                f" {go_type(arg)}: {fmt_value(arg)}"
            )
        raise FuncError(f"non-comparable type {_format_one('s', arg, '', None)}: {go_type(arg)}")
    return False


def _lt(arg1: Any, arg2: Any) -> bool:
    arg1, arg2 = indirect_interface(arg1), indirect_interface(arg2)
    k1, k2 = _basic_kind(arg1), _basic_kind(arg2)
    if k1 == "invalid" or k2 == "invalid":
        raise FuncError("invalid type for comparison")
    if k1 != k2:
        raise FuncError("incompatible types for comparison")
    if k1 == "bool":
        raise FuncError("invalid type for comparison")
    return bool(arg1 < arg2)


def _le(arg1: Any, arg2: Any) -> bool:
    return _lt(arg1, arg2) or _eq(arg1, arg2)


def _index_arg(index: Any, cap: int) -> int:
    if isinstance(index, int) and not isinstance(index, bool):
        if index < 0 or index > cap:
            raise FuncError(f"index out of range: {index}")
        return int(index)
    if index is None:
        raise FuncError("cannot index slice/array with nil")
    raise FuncError(f"cannot index slice/array with type {go_type(index)}")


def _index(item: Any, *indexes: Any) -> Any:
    item = indirect_interface(item)
    if item is None:
        raise FuncError("index of untyped nil")
    for given in indexes:
        index = indirect_interface(given)
        if isinstance(item, Iface):
            if item.value is None:
                raise FuncError("index of nil pointer")
            item = item.value
        if isinstance(item, list | tuple | str):
            position = _index_arg(index, len(item))
            if isinstance(item, str):
                raw = item.encode("utf-8", "surrogateescape")
                if position >= len(raw):
                    raise FuncError("reflect: string index out of range")
                item = raw[position]
            else:
                if position >= len(item):
                    raise FuncError("reflect: slice index out of range")
                item = boxed(item, item[position])
        elif isinstance(item, Mapping):
            if index is None:
                raise FuncError("value is nil; should be of type string")
            if not isinstance(index, str):
                raise FuncError(f"value has type {go_type(index)}; should be string")
            if index in item:
                item = boxed(item, item[index])
            else:
                item = "" if isinstance(item, GoStringMap) else Iface(None)
        else:
            raise FuncError(f"can't index item of type {go_type(item)}")
    return item


def _len(item: Any) -> int:
    if isinstance(item, Iface):
        if item.value is None:
            raise FuncError("len of nil pointer")
        item = item.value
    if item is None:
        raise FuncError("reflect: call of reflect.Value.Type on zero Value")
    if isinstance(item, str):
        return len(item.encode("utf-8", "surrogateescape"))
    if isinstance(item, Mapping | list | tuple):
        return len(item)
    raise FuncError(f"len of type {go_type(item)}")


def _call(fn: Any, *_args: Any) -> Any:
    fn = indirect_interface(fn)
    if fn is None:
        raise FuncError("call of nil")
    raise FuncError(f"non-function of type {go_type(fn)}")


def _eval_args(args: Sequence[Any]) -> str:
    if len(args) == 1 and isinstance(args[0], str):
        return str(args[0])
    return sprint(args)


def html_escape(*args: Any) -> str:
    text = _eval_args(args)
    table = {"\0": "\ufffd", '"': "&#34;", "'": "&#39;", "&": "&amp;", "<": "&lt;", ">": "&gt;"}
    return "".join(table.get(c, c) for c in text)


def js_escape(*args: Any) -> str:
    out: list[str] = []
    for char in _eval_args(args):
        if char == "\\":
            out.append("\\\\")
        elif char in "'\"":
            out.append("\\" + char)
        elif char in "<>&=":
            out.append(f"\\u{ord(char):04X}")
        elif ord(char) < 0x80 and goparse.is_print(char):
            out.append(char)
        elif ord(char) < 0x80 or not goparse.is_print(char):
            out.append(f"\\u{ord(char):04X}")
        else:
            out.append(char)
    return "".join(out)


def urlquery_escape(*args: Any) -> str:
    return urllib.parse.quote_plus(_eval_args(args), safe="-_.~")


BUILTINS: dict[str, Func] = {
    f.name: f
    for f in (
        Func("and", (VALUE,), None, VALUE),
        Func("or", (VALUE,), None, VALUE),
        Func("call", (VALUE,), _call, VALUE),
        Func("html", (), html_escape, ANY),
        Func("index", (VALUE,), _index, VALUE),
        Func("slice", (VALUE,), None, VALUE),
        Func("js", (), js_escape, ANY),
        Func("len", (VALUE,), _len),
        Func("not", (VALUE,), lambda v: not truthy(v)),
        Func("print", (), lambda *a: sprint(a), ANY),
        Func("printf", ("string",), lambda f, *a: sprintf(f, a), ANY),
        Func("println", (), lambda *a: sprintln(a), ANY),
        Func("urlquery", (), urlquery_escape, ANY),
        Func("eq", (VALUE,), _eq, VALUE),
        Func("ge", (VALUE, VALUE), lambda a, b: not _lt(a, b)),
        Func("gt", (VALUE, VALUE), lambda a, b: not _le(a, b)),
        Func("le", (VALUE, VALUE), _le),
        Func("lt", (VALUE, VALUE), _lt),
        Func("ne", (VALUE, VALUE), lambda a, b: not _eq(a, b)),
    )
}


def _functions() -> dict[str, Func]:
    from generator.argo import sprig  # noqa: PLC0415 (sprig uses this module's types)

    return sprig.FUNCTIONS


# --------------------------------------------------------------------------------------------
# Execution (exec.go)


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


_MISSING = object()  # exec.go's missingVal: no final value piped in


class _State:
    def __init__(self, trees: dict[str, goparse.Tree], name: str, data: Any) -> None:
        self.trees = trees
        self.tree = trees[name]
        self.name = name
        self.node: goparse.Node | None = None
        self.vars: list[list[Any]] = [["$", data]]
        self.depth = 0
        self.out: list[str] = []
        self.funcs = _functions()

    def errorf(self, message: str) -> TemplateError:
        if self.node is None:
            return TemplateError(f"template: {self.name}: {message}")
        location, context = self.tree.error_context(self.node)
        return TemplateError(
            f"template: {location}: executing {go_quote(self.name)} at <{context}>: {message}"
        )

    # variables ------------------------------------------------------------------------------
    def set_var(self, name: str, value: Any) -> None:
        for variable in reversed(self.vars):
            if variable[0] == name:
                variable[1] = value
                return
        raise self.errorf(f"undefined variable: {name}")

    def var_value(self, name: str) -> Any:
        for variable in reversed(self.vars):
            if variable[0] == name:
                return variable[1]
        raise self.errorf(f"undefined variable: {name}")

    # walking --------------------------------------------------------------------------------
    def walk(self, dot: Any, node: goparse.Node) -> None:
        self.node = node
        if isinstance(node, goparse.ActionNode):
            value = self.eval_pipeline(dot, node.pipe)
            if not node.pipe.decl:
                self.print_value(node, value)
        elif isinstance(node, goparse.BreakNode):
            raise _Break
        elif isinstance(node, goparse.ContinueNode):
            raise _Continue
        elif isinstance(node, goparse.IfNode | goparse.WithNode):
            self.walk_if_or_with(node, dot)
        elif isinstance(node, goparse.ListNode):
            for child in node.nodes:
                self.walk(dot, child)
        elif isinstance(node, goparse.RangeNode):
            self.walk_range(dot, node)
        elif isinstance(node, goparse.TemplateNode):
            self.walk_template(dot, node)
        elif isinstance(node, goparse.TextNode):
            self.out.append(node.text)
        elif not isinstance(node, goparse.CommentNode):
            raise self.errorf(f"unknown node: {node}")

    def walk_if_or_with(self, node: goparse.BranchNode, dot: Any) -> None:
        mark = len(self.vars)
        try:
            value = self.eval_pipeline(dot, node.pipe)
            truth, ok = is_true(indirect_interface(value))
            if not ok:
                raise self.errorf(f"if/with can't use {fmt_value(value)}")
            if truth:
                self.walk(value if isinstance(node, goparse.WithNode) else dot, node.list)
            elif node.else_list is not None:
                self.walk(dot, node.else_list)
        finally:
            del self.vars[mark:]

    def walk_range(self, dot: Any, node: goparse.RangeNode) -> None:
        self.node = node
        mark = len(self.vars)
        try:
            value = unbox(self.eval_pipeline(dot, node.pipe))
            inner_mark = len(self.vars)
            iterations: list[tuple[Any, Any]] = []
            if isinstance(value, Mapping):
                iterations = [(k, boxed(value, value[k])) for k in sorted(value)]
            elif isinstance(value, list | tuple):
                iterations = [(i, boxed(value, v)) for i, v in enumerate(value)]
            elif value is not None:
                if isinstance(value, int) and not isinstance(value, bool):
                    raise self.errorf(
                        f"range over an integer ({value}) is not evaluated by gitopsgen"
                    )
                raise self.errorf(f"range can't iterate over {fmt_value(value)}")
            try:
                for index, element in iterations:
                    if node.pipe.decl:
                        self.vars[-1][1] = element
                    if len(node.pipe.decl) > 1:
                        self.vars[-2][1] = index
                    try:
                        self.walk(element, node.list)
                    except _Continue:
                        pass
                    finally:
                        del self.vars[inner_mark:]
            except _Break:
                return
            if not iterations and node.else_list is not None:
                self.walk(dot, node.else_list)
        finally:
            del self.vars[mark:]

    def walk_template(self, dot: Any, node: goparse.TemplateNode) -> None:
        self.node = node
        tree = self.trees.get(node.name)
        if tree is None:
            raise self.errorf(f"template {go_quote(node.name)} not defined")
        if self.depth >= MAX_DEPTH:
            raise self.errorf("exceeded maximum template depth (100000)")
        dot = self.eval_pipeline(dot, node.pipe)
        saved = (self.tree, self.name, self.vars, self.depth)
        self.tree, self.name, self.vars = tree, node.name, [["$", dot]]
        self.depth += 1
        try:
            assert tree.root is not None
            self.walk(dot, tree.root)
        finally:
            self.tree, self.name, self.vars, self.depth = saved

    # evaluation -----------------------------------------------------------------------------
    def eval_pipeline(self, dot: Any, pipe: goparse.PipeNode | None) -> Any:
        if pipe is None:
            return None
        self.node = pipe
        value: Any = _MISSING
        for cmd in pipe.cmds:
            value = unbox(self.eval_command(dot, cmd, value))
        for variable in pipe.decl:
            if pipe.is_assign:
                self.set_var(variable.ident[0], value)
            else:
                self.vars.append([variable.ident[0], value])
        return value

    def not_a_function(self, args: list[goparse.Node], final: Any) -> None:
        if len(args) > 1 or final is not _MISSING:
            raise self.errorf(f"can't give argument to non-function {args[0]}")

    def eval_command(self, dot: Any, cmd: goparse.CommandNode, final: Any) -> Any:
        first = cmd.args[0]
        if isinstance(first, goparse.FieldNode):
            return self.eval_field_node(dot, first, cmd.args, final)
        if isinstance(first, goparse.ChainNode):
            return self.eval_chain_node(dot, first, cmd.args, final)
        if isinstance(first, goparse.IdentifierNode):
            return self.eval_function(dot, first, cmd, cmd.args, final)
        if isinstance(first, goparse.PipeNode):
            self.not_a_function(cmd.args, final)
            return self.eval_pipeline(dot, first)
        if isinstance(first, goparse.VariableNode):
            return self.eval_variable_node(first, cmd.args, final)
        self.node = first
        self.not_a_function(cmd.args, final)
        if isinstance(first, goparse.BoolNode):
            return first.true
        if isinstance(first, goparse.DotNode):
            return dot
        if isinstance(first, goparse.NilNode):
            raise self.errorf("nil is not a command")
        if isinstance(first, goparse.NumberNode):
            return self.ideal_constant(first)
        if isinstance(first, goparse.StringNode):
            return first.text
        raise self.errorf(f"can't evaluate command {go_quote(str(first))}")

    def ideal_constant(self, constant: goparse.NumberNode) -> Any:
        self.node = constant
        text = constant.text
        is_hex_int = (
            len(text) > 2
            and text[0] == "0"
            and text[1] in "xX"
            and not any(c in text for c in "pP")
        )
        if (
            constant.is_float
            and not is_hex_int
            and not text.startswith("'")
            and any(c in text for c in ".eEpP")
        ):
            return constant.float64
        if constant.is_int:
            return constant.int64
        if constant.is_uint:
            raise self.errorf(f"{text} overflows int")
        return None

    def eval_field_node(
        self, dot: Any, field: goparse.FieldNode, args: list[goparse.Node] | None, final: Any
    ) -> Any:
        self.node = field
        return self.eval_field_chain(dot, field.ident, args, final)

    def eval_chain_node(
        self, dot: Any, chain: goparse.ChainNode, args: list[goparse.Node] | None, final: Any
    ) -> Any:
        self.node = chain
        if isinstance(chain.node, goparse.NilNode):
            raise self.errorf(f"indirection through explicit nil in {chain}")
        pipe = self.eval_arg(dot, None, chain.node)
        return self.eval_field_chain(pipe, chain.field, args, final)

    def eval_variable_node(
        self,
        variable: goparse.VariableNode,
        args: list[goparse.Node] | None,
        final: Any,
    ) -> Any:
        self.node = variable
        value = self.var_value(variable.ident[0])
        if len(variable.ident) == 1:
            self.not_a_function(args or [variable], final)
            return value
        return self.eval_field_chain(value, variable.ident[1:], args, final)

    def eval_field_chain(
        self,
        receiver: Any,
        idents: list[str],
        args: list[goparse.Node] | None,
        final: Any,
    ) -> Any:
        for name in idents[:-1]:
            receiver = self.eval_field(name, None, _MISSING, receiver)
        return self.eval_field(idents[-1], args, final, receiver)

    def eval_field(
        self, name: str, args: list[goparse.Node] | None, final: Any, receiver: Any
    ) -> Any:
        if receiver is None:
            raise self.errorf(f"nil data; no entry for key {go_quote(name)}")
        typ = go_type(receiver)
        if isinstance(receiver, Iface):
            if receiver.value is None:
                raise self.errorf(f"nil pointer evaluating {typ}.{name}")
            receiver = receiver.value
        has_args = (args is not None and len(args) > 1) or final is not _MISSING
        if isinstance(receiver, Mapping):
            if has_args:
                raise self.errorf(f"{name} is not a method but has arguments")
            if name not in receiver:
                raise self.errorf(f"map has no entry for key {go_quote(name)}")
            return boxed(receiver, receiver[name])
        raise self.errorf(f"can't evaluate field {name} in type {typ}")

    def eval_function(
        self,
        dot: Any,
        node: goparse.IdentifierNode,
        cmd: goparse.Node,
        args: list[goparse.Node] | None,
        final: Any,
    ) -> Any:
        self.node = node
        function = self.funcs.get(node.ident) or BUILTINS.get(node.ident)
        if function is None:
            raise self.errorf(f"{go_quote(node.ident)} is not a defined function")
        return self.eval_call(dot, function, cmd, args, final)

    def eval_call(
        self,
        dot: Any,
        function: Func,
        node: goparse.Node,
        args: list[goparse.Node] | None,
        final: Any,
    ) -> Any:
        name = function.name
        arguments = args[1:] if args is not None else []
        num_in = len(arguments) + (final is not _MISSING)
        fixed = len(function.params)
        if function.variadic is not None:
            if num_in < fixed:
                raise self.errorf(
                    f"wrong number of args for {name}: want at least {fixed} got {len(arguments)}"
                )
        elif num_in != fixed:
            raise self.errorf(f"wrong number of args for {name}: want {fixed} got {num_in}")
        if name in ("and", "or") and function is BUILTINS[name]:
            value: Any = None
            for arg in arguments:
                value = self.eval_arg(dot, VALUE, arg)
                if truthy(value) == (name == "or"):
                    return value
            if final is not _MISSING:
                value = final
            return value
        argv: list[Any] = []
        for i, arg in enumerate(arguments):
            typ = function.params[i] if i < fixed else function.variadic
            argv.append(self.eval_arg(dot, typ, arg))
        if final is not _MISSING:
            position = num_in - 1
            if position < fixed:
                typ = function.params[position]
            else:
                typ = function.variadic if function.variadic is not None else function.params[-1]
            argv.append(self.validate_type(final, typ))
        if function.impl is None:
            self.node = node
            raise self.errorf(
                f"{name} is not evaluated by gitopsgen (Argo CD would run it): "
                "check this template against Argo CD itself"
            )
        try:
            return function.impl(*argv)
        except FuncError as exc:
            self.node = node
            raise self.errorf(f"error calling {name}: {exc}") from None
        except NotEvaluated as exc:
            self.node = node
            raise self.errorf(f"{name}: {exc} is not evaluated by gitopsgen") from None

    def validate_type(self, value: Any, typ: str | None) -> Any:
        if typ is None:
            return value
        if value is None:
            if typ in (ANY, VALUE) or typ.startswith(("[]", "map[")):
                return None
            raise self.errorf(f"invalid value; expected {typ}")
        if typ == VALUE:
            return value
        if typ == ANY:
            return unbox(value)
        if go_type(value) == typ:
            return value
        if isinstance(value, Iface) and value.value is not None:
            value = value.value
            if go_type(value) == typ:
                return value
        raise self.errorf(f"wrong type for value; expected {typ}; got {go_type(value)}")

    def eval_arg(self, dot: Any, typ: str | None, node: goparse.Node) -> Any:
        self.node = node
        if isinstance(node, goparse.DotNode):
            return self.validate_type(dot, typ)
        if isinstance(node, goparse.NilNode):
            if typ is None or typ in (ANY, VALUE) or typ.startswith(("[]", "map[")):
                return None
            raise self.errorf(f"cannot assign nil to {typ}")
        if isinstance(node, goparse.FieldNode):
            return self.validate_type(self.eval_field_node(dot, node, [node], _MISSING), typ)
        if isinstance(node, goparse.VariableNode):
            return self.validate_type(self.eval_variable_node(node, None, _MISSING), typ)
        if isinstance(node, goparse.PipeNode):
            return self.validate_type(self.eval_pipeline(dot, node), typ)
        if isinstance(node, goparse.IdentifierNode):
            return self.validate_type(self.eval_function(dot, node, node, None, _MISSING), typ)
        if isinstance(node, goparse.ChainNode):
            return self.validate_type(self.eval_chain_node(dot, node, None, _MISSING), typ)
        if typ == "bool":
            if isinstance(node, goparse.BoolNode):
                return node.true
            raise self.errorf(f"expected bool; found {node}")
        if typ in ("float64",):
            if isinstance(node, goparse.NumberNode) and node.is_float:
                return node.float64
            raise self.errorf(f"expected float; found {node}")
        if typ in ("int", "int64"):
            if isinstance(node, goparse.NumberNode) and node.is_int:
                return node.int64 if typ == "int" else GoInt64(node.int64)
            raise self.errorf(f"expected integer; found {node}")
        if typ == "string":
            if isinstance(node, goparse.StringNode):
                return node.text
            raise self.errorf(f"expected string; found {node}")
        if typ in (ANY, VALUE):
            return self.eval_empty_interface(node)
        raise self.errorf(f"can't handle {node} for arg of type {typ}")

    def eval_empty_interface(self, node: goparse.Node) -> Any:
        self.node = node
        if isinstance(node, goparse.BoolNode):
            return node.true
        if isinstance(node, goparse.NumberNode):
            return self.ideal_constant(node)
        if isinstance(node, goparse.StringNode):
            return node.text
        if isinstance(node, goparse.NilNode):
            raise self.errorf("evalEmptyInterface: nil (can't happen)")
        raise self.errorf(f"can't handle assignment of {node} to empty interface argument")

    def print_value(self, node: goparse.Node, value: Any) -> None:
        self.node = node
        value = unbox(value)
        self.out.append("<no value>" if value is None else fmt_value(value))


def _has_function(name: str) -> bool:
    return name in BUILTINS or name in _functions()


@lru_cache(maxsize=4096)
def parse(template: str, name: str = TEMPLATE_NAME) -> dict[str, goparse.Tree]:
    """Every template `template` defines, parsed as Go parses it; raises TemplateError."""
    try:
        return goparse.parse(name, template, _has_function)
    except goparse.ParseError as exc:
        raise TemplateError(str(exc)) from None


def render(template: str, data: Mapping[str, Any], *, decoded: bool = False) -> str:
    """Execute `template` over `data` as Argo CD does: parsed whole first, then executed
    with missingkey=error. `data` is decoded like JSON (numbers become float64) unless
    `decoded` says it already is."""
    trees = parse(template)
    state = _State(trees, TEMPLATE_NAME, data if decoded else from_json(data))
    root = trees[TEMPLATE_NAME].root
    assert root is not None
    try:
        state.walk(state.vars[0][1], root)
    except (_Break, _Continue):  # pragma: no cover - the parser allows them only in range
        raise state.errorf("break or continue outside range") from None
    except RecursionError:
        raise state.errorf("the template nests too deeply for gitopsgen") from None
    return "".join(state.out)


def to_json(value: Any) -> str:
    """sprig's toJson: Go's json.Marshal (sorted keys, HTML characters escaped)."""
    from generator.argo import sprig  # noqa: PLC0415

    return sprig.marshal_json(from_json(value))
