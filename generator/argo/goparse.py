"""Go's text/template/parse, ported: the lexer and the parser, with Go's error messages.

The whole template is lexed and parsed before anything runs, exactly as Go does it, so a
syntax error in a branch that is never taken is still an error, and every position in an
error message is Go's (`template: base:3: unexpected "}" in operand`). The structure follows
Go's lex.go, parse.go and node.go function for function (Go 1.19 to 1.26 agree on all of it
except `range` over an integer, which Argo CD's ApplicationSets never need and this refuses
at execution time).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Iterator
from typing import Any

LEFT_DELIM, RIGHT_DELIM = "{{", "}}"
LEFT_COMMENT, RIGHT_COMMENT = "/*", "*/"
SPACE_CHARS = " \t\r\n"


class ParseError(ValueError):
    """Go's parse error, message and all: `template: NAME:LINE: ...`."""


# --------------------------------------------------------------------------------------------
# Items (lex.go)

ERROR, BOOL, CHAR, CHAR_CONSTANT, COMMENT, COMPLEX, ASSIGN, DECLARE, EOF = range(9)
FIELD, IDENTIFIER, LEFT_DELIM_ITEM, LEFT_PAREN, NUMBER, PIPE, RAW_STRING = range(9, 16)
RIGHT_DELIM_ITEM, RIGHT_PAREN, SPACE, STRING, TEXT, VARIABLE = range(16, 22)
KEYWORD = 22  # the keywords follow
BLOCK, BREAK, CONTINUE, DOT, DEFINE, ELSE, END, IF, NIL, RANGE, TEMPLATE, WITH = range(23, 35)

KEYWORDS = {
    ".": DOT,
    "block": BLOCK,
    "break": BREAK,
    "continue": CONTINUE,
    "define": DEFINE,
    "else": ELSE,
    "end": END,
    "if": IF,
    "range": RANGE,
    "nil": NIL,
    "template": TEMPLATE,
    "with": WITH,
}


class Item:
    __slots__ = ("line", "pos", "typ", "val")

    def __init__(self, typ: int, pos: int, val: str, line: int) -> None:
        self.typ, self.pos, self.val, self.line = typ, pos, val, line

    def __str__(self) -> str:
        if self.typ == EOF:
            return "EOF"
        if self.typ == ERROR:
            return self.val
        if self.typ > KEYWORD:
            return f"<{self.val}>"
        if len(self.val) > 10:
            return go_quote(self.val[:10]) + "..."
        return go_quote(self.val)


def go_quote(text: str) -> str:
    """strconv.Quote (what fmt's %q prints for a string)."""
    out = ['"']
    for char in text:
        if char in _QUOTE_ESCAPES:
            out.append(_QUOTE_ESCAPES[char])
        elif is_print(char):
            out.append(char)
        elif char == "\ufffd" or 0xD800 <= ord(char) <= 0xDFFF:
            out.append("\\ufffd" if char == "\ufffd" else "\\x" + f"{ord(char) & 0xFF:02x}")
        elif ord(char) < 0x80:
            out.append(f"\\x{ord(char):02x}")
        elif ord(char) < 0x10000:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(f"\\U{ord(char):08x}")
    out.append('"')
    return "".join(out)


_QUOTE_ESCAPES = {
    "\a": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\v": "\\v",
    "\\": "\\\\",
    '"': '\\"',
}


def is_print(char: str) -> bool:
    """unicode.IsPrint: letters, marks, numbers, punctuation, symbols and the ASCII space."""
    if char == " ":
        return True
    return unicodedata.category(char)[0] in "LMNPS"


def go_unicode_format(char: str) -> str:
    """fmt's %#U: `U+0041 'A'`."""
    code = f"U+{ord(char):04X}"
    return f"{code} '{char}'" if is_print(char) else code


def _is_space(char: str) -> bool:
    return char in (" ", "\t", "\r", "\n")


def _is_alphanumeric(char: str) -> bool:
    return char == "_" or (char != "" and (char.isalpha() or unicodedata.category(char) == "Nd"))


def _has_left_trim_marker(text: str, at: int) -> bool:
    return len(text) - at >= 2 and text[at] == "-" and _is_space(text[at + 1])


def _has_right_trim_marker(text: str, at: int) -> bool:
    return len(text) - at >= 2 and _is_space(text[at]) and text[at + 1] == "-"


# --------------------------------------------------------------------------------------------
# The lexer (lex.go)

StateFn = Callable[["Lexer"], "StateFn | None"]


class Lexer:
    """Go's lexer; positions are offsets into the (str) input, lines count from 1."""

    def __init__(self, text: str) -> None:
        self.input = text
        self.pos = 0
        self.start = 0
        self.at_eof = False
        self.paren_depth = 0
        self.line = 1
        self.start_line = 1
        self.items: list[Item] = []
        self.state: StateFn | None = lex_text

    def next_item(self) -> Item:
        while not self.items:
            if self.state is None:
                return Item(EOF, self.pos, "", self.start_line)
            self.state = self.state(self)
        return self.items.pop(0)

    def next(self) -> str:
        if self.pos >= len(self.input):
            self.at_eof = True
            return ""
        char = self.input[self.pos]
        self.pos += 1
        if char == "\n":
            self.line += 1
        return char

    def peek(self) -> str:
        char = self.next()
        self.backup()
        return char

    def backup(self) -> None:
        if not self.at_eof and self.pos > 0:
            self.pos -= 1
            if self.input[self.pos] == "\n":
                self.line -= 1

    def emit(self, typ: int) -> None:
        self.items.append(Item(typ, self.start, self.input[self.start : self.pos], self.start_line))
        self.start = self.pos
        self.start_line = self.line

    def ignore(self) -> None:
        self.line += self.input.count("\n", self.start, self.pos)
        self.start = self.pos
        self.start_line = self.line

    def accept(self, valid: str) -> bool:
        char = self.next()
        if char and char in valid:
            return True
        self.backup()
        return False

    def accept_run(self, valid: str) -> None:
        while True:
            char = self.next()
            if not (char and char in valid):
                break
        self.backup()

    def errorf(self, message: str) -> None:
        self.items.append(Item(ERROR, self.start, message, self.start_line))

    def at_right_delim(self) -> tuple[bool, bool]:
        if _has_right_trim_marker(self.input, self.pos) and self.input.startswith(
            RIGHT_DELIM, self.pos + 2
        ):
            return True, True
        if self.input.startswith(RIGHT_DELIM, self.pos):
            return True, False
        return False, False

    def at_terminator(self) -> bool:
        char = self.peek()
        if _is_space(char):
            return True
        if char in ("", ".", ",", "|", ":", ")", "("):
            return True
        return self.input.startswith(RIGHT_DELIM, self.pos)


def lex_text(lx: Lexer) -> StateFn | None:
    found = lx.input.find(LEFT_DELIM, lx.pos)
    if found >= 0:
        lx.pos = found
        trim = 0
        if _has_left_trim_marker(lx.input, lx.pos + len(LEFT_DELIM)):
            before = lx.input[lx.start : lx.pos]
            trim = len(before) - len(before.rstrip(SPACE_CHARS))
        lx.pos -= trim
        if lx.pos > lx.start:
            lx.line += lx.input.count("\n", lx.start, lx.pos)
            lx.emit(TEXT)
        lx.pos += trim
        lx.ignore()
        return lex_left_delim
    lx.pos = len(lx.input)
    if lx.pos > lx.start:
        lx.line += lx.input.count("\n", lx.start, lx.pos)
        lx.emit(TEXT)
    lx.emit(EOF)
    return None


def lex_left_delim(lx: Lexer) -> StateFn | None:
    lx.pos += len(LEFT_DELIM)
    trim_space = _has_left_trim_marker(lx.input, lx.pos)
    after_marker = 2 if trim_space else 0
    if lx.input.startswith(LEFT_COMMENT, lx.pos + after_marker):
        lx.pos += after_marker
        lx.ignore()
        return lex_comment
    lx.emit(LEFT_DELIM_ITEM)
    lx.pos += after_marker
    lx.ignore()
    lx.paren_depth = 0
    return lex_inside_action


def lex_comment(lx: Lexer) -> StateFn | None:
    lx.pos += len(LEFT_COMMENT)
    found = lx.input.find(RIGHT_COMMENT, lx.pos)
    if found < 0:
        lx.errorf("unclosed comment")
        return None
    lx.pos = found + len(RIGHT_COMMENT)
    delim, trim_space = lx.at_right_delim()
    if not delim:
        lx.errorf("comment ends before closing delimiter")
        return None
    if trim_space:
        lx.pos += 2
    lx.pos += len(RIGHT_DELIM)
    if trim_space:
        rest = lx.input[lx.pos :]
        lx.pos += len(rest) - len(rest.lstrip(SPACE_CHARS))
    lx.ignore()
    return lex_text


def lex_right_delim(lx: Lexer) -> StateFn | None:
    trim_space = _has_right_trim_marker(lx.input, lx.pos)
    if trim_space:
        lx.pos += 2
        lx.ignore()
    lx.pos += len(RIGHT_DELIM)
    lx.emit(RIGHT_DELIM_ITEM)
    if trim_space:
        rest = lx.input[lx.pos :]
        lx.pos += len(rest) - len(rest.lstrip(SPACE_CHARS))
        lx.ignore()
    return lex_text


def lex_inside_action(lx: Lexer) -> StateFn | None:
    delim, _ = lx.at_right_delim()
    if delim:
        if lx.paren_depth == 0:
            return lex_right_delim
        lx.errorf("unclosed left paren")
        return None
    char = lx.next()
    if char == "":
        lx.errorf("unclosed action")
        return None
    if _is_space(char):
        lx.backup()
        return lex_space
    if char == "=":
        lx.emit(ASSIGN)
    elif char == ":":
        if lx.next() != "=":
            lx.errorf("expected :=")
            return None
        lx.emit(DECLARE)
    elif char == "|":
        lx.emit(PIPE)
    elif char == '"':
        return lex_quote
    elif char == "`":
        return lex_raw_quote
    elif char == "$":
        return lex_variable
    elif char == "'":
        return lex_char
    elif char == "." and lx.pos < len(lx.input) and not "0" <= lx.input[lx.pos] <= "9":
        return lex_field
    elif char in "+-." or "0" <= char <= "9":
        lx.backup()
        return lex_number
    elif _is_alphanumeric(char):
        lx.backup()
        return lex_identifier
    elif char == "(":
        lx.emit(LEFT_PAREN)
        lx.paren_depth += 1
    elif char == ")":
        lx.emit(RIGHT_PAREN)
        lx.paren_depth -= 1
        if lx.paren_depth < 0:
            lx.errorf(f"unexpected right paren {go_unicode_format(char)}")
            return None
    elif ord(char) < 0x80 and is_print(char):
        lx.emit(CHAR)
    else:
        lx.errorf(f"unrecognized character in action: {go_unicode_format(char)}")
        return None
    return lex_inside_action


def lex_space(lx: Lexer) -> StateFn | None:
    spaces = 0
    while _is_space(lx.peek()):
        lx.next()
        spaces += 1
    if _has_right_trim_marker(lx.input, lx.pos - 1) and lx.input.startswith(
        RIGHT_DELIM, lx.pos + 1
    ):
        lx.backup()
        if spaces == 1:
            return lex_right_delim
    lx.emit(SPACE)
    return lex_inside_action


def lex_identifier(lx: Lexer) -> StateFn | None:
    while True:
        char = lx.next()
        if _is_alphanumeric(char):
            continue
        lx.backup()
        word = lx.input[lx.start : lx.pos]
        if not lx.at_terminator():
            lx.errorf(f"bad character {go_unicode_format(char) if char else 'U+FFFFFFFF'}")
            return None
        if KEYWORDS.get(word, 0) > KEYWORD:
            lx.emit(KEYWORDS[word])
        elif word[0] == ".":
            lx.emit(FIELD)
        elif word in ("true", "false"):
            lx.emit(BOOL)
        else:
            lx.emit(IDENTIFIER)
        return lex_inside_action


def lex_field(lx: Lexer) -> StateFn | None:
    return _lex_field_or_variable(lx, FIELD)


def lex_variable(lx: Lexer) -> StateFn | None:
    if lx.at_terminator():
        lx.emit(VARIABLE)
        return lex_inside_action
    return _lex_field_or_variable(lx, VARIABLE)


def _lex_field_or_variable(lx: Lexer, typ: int) -> StateFn | None:
    if lx.at_terminator():
        lx.emit(VARIABLE if typ == VARIABLE else DOT)
        return lex_inside_action
    while True:
        char = lx.next()
        if not _is_alphanumeric(char):
            lx.backup()
            break
    if not lx.at_terminator():
        lx.errorf(f"bad character {go_unicode_format(char) if char else 'U+FFFFFFFF'}")
        return None
    lx.emit(typ)
    return lex_inside_action


def _lex_quoted(lx: Lexer, quote: str, typ: int, what: str) -> StateFn | None:
    while True:
        char = lx.next()
        if char == "\\":
            following = lx.next()
            if following not in ("", "\n"):
                continue
            char = following
        if char in ("", "\n"):
            lx.errorf(f"unterminated {what}")
            return None
        if char == quote:
            break
    lx.emit(typ)
    return lex_inside_action


def lex_char(lx: Lexer) -> StateFn | None:
    return _lex_quoted(lx, "'", CHAR_CONSTANT, "character constant")


def lex_quote(lx: Lexer) -> StateFn | None:
    return _lex_quoted(lx, '"', STRING, "quoted string")


def lex_raw_quote(lx: Lexer) -> StateFn | None:
    while True:
        char = lx.next()
        if char == "":
            lx.errorf("unterminated raw quoted string")
            return None
        if char == "`":
            break
    lx.emit(RAW_STRING)
    return lex_inside_action


def lex_number(lx: Lexer) -> StateFn | None:
    if not _scan_number(lx):
        lx.errorf(f"bad number syntax: {go_quote(lx.input[lx.start : lx.pos])}")
        return None
    if lx.peek() in ("+", "-"):
        if not _scan_number(lx) or lx.input[lx.pos - 1] != "i":
            lx.errorf(f"bad number syntax: {go_quote(lx.input[lx.start : lx.pos])}")
            return None
        lx.emit(COMPLEX)
    else:
        lx.emit(NUMBER)
    return lex_inside_action


def _scan_number(lx: Lexer) -> bool:
    lx.accept("+-")
    digits = "0123456789_"
    if lx.accept("0"):
        if lx.accept("xX"):
            digits = "0123456789abcdefABCDEF_"
        elif lx.accept("oO"):
            digits = "01234567_"
        elif lx.accept("bB"):
            digits = "01_"
    lx.accept_run(digits)
    if lx.accept("."):
        lx.accept_run(digits)
    if len(digits) == 11 and lx.accept("eE"):
        lx.accept("+-")
        lx.accept_run("0123456789_")
    if len(digits) == 23 and lx.accept("pP"):
        lx.accept("+-")
        lx.accept_run("0123456789_")
    lx.accept("i")
    if _is_alphanumeric(lx.peek()):
        lx.next()
        return False
    return True


# --------------------------------------------------------------------------------------------
# Nodes (node.go)


class Node:
    __slots__ = ("pos",)

    def __init__(self, pos: int) -> None:
        self.pos = pos

    def __str__(self) -> str:  # Go's String()
        raise NotImplementedError


class ListNode(Node):
    __slots__ = ("nodes",)

    def __init__(self, pos: int) -> None:
        super().__init__(pos)
        self.nodes: list[Node] = []

    def __str__(self) -> str:
        return "".join(str(n) for n in self.nodes)


class TextNode(Node):
    __slots__ = ("text",)

    def __init__(self, pos: int, text: str) -> None:
        super().__init__(pos)
        self.text = text

    def __str__(self) -> str:
        return self.text


class CommentNode(Node):
    __slots__ = ("text",)

    def __init__(self, pos: int, text: str) -> None:
        super().__init__(pos)
        self.text = text

    def __str__(self) -> str:
        return "{{" + self.text + "}}"


class PipeNode(Node):
    __slots__ = ("cmds", "decl", "is_assign", "line")

    def __init__(self, pos: int, line: int) -> None:
        super().__init__(pos)
        self.line = line
        self.is_assign = False
        self.decl: list[VariableNode] = []
        self.cmds: list[CommandNode] = []

    def __str__(self) -> str:
        decl = ", ".join(str(v) for v in self.decl) + " := " if self.decl else ""
        return decl + " | ".join(str(c) for c in self.cmds)


class ActionNode(Node):
    __slots__ = ("line", "pipe")

    def __init__(self, pos: int, line: int, pipe: PipeNode) -> None:
        super().__init__(pos)
        self.line, self.pipe = line, pipe

    def __str__(self) -> str:
        return "{{" + str(self.pipe) + "}}"


class CommandNode(Node):
    __slots__ = ("args",)

    def __init__(self, pos: int) -> None:
        super().__init__(pos)
        self.args: list[Node] = []

    def __str__(self) -> str:
        return " ".join(f"({a})" if isinstance(a, PipeNode) else str(a) for a in self.args)


class IdentifierNode(Node):
    __slots__ = ("ident",)

    def __init__(self, pos: int, ident: str) -> None:
        super().__init__(pos)
        self.ident = ident

    def __str__(self) -> str:
        return self.ident


class VariableNode(Node):
    __slots__ = ("ident",)

    def __init__(self, pos: int, ident: str) -> None:
        super().__init__(pos)
        self.ident = ident.split(".")

    def __str__(self) -> str:
        return ".".join(self.ident)


class DotNode(Node):
    __slots__ = ()

    def __str__(self) -> str:
        return "."


class NilNode(Node):
    __slots__ = ()

    def __str__(self) -> str:
        return "nil"


class FieldNode(Node):
    __slots__ = ("ident",)

    def __init__(self, pos: int, ident: str) -> None:
        super().__init__(pos)
        self.ident = ident[1:].split(".")

    def __str__(self) -> str:
        return "".join("." + i for i in self.ident)


class ChainNode(Node):
    __slots__ = ("field", "node")

    def __init__(self, pos: int, node: Node) -> None:
        super().__init__(pos)
        self.node = node
        self.field: list[str] = []

    def add(self, field: str) -> None:
        self.field.append(field[1:])

    def __str__(self) -> str:
        head = f"({self.node})" if isinstance(self.node, PipeNode) else str(self.node)
        return head + "".join("." + f for f in self.field)


class BoolNode(Node):
    __slots__ = ("true",)

    def __init__(self, pos: int, true: bool) -> None:
        super().__init__(pos)
        self.true = true

    def __str__(self) -> str:
        return "true" if self.true else "false"


class NumberNode(Node):
    __slots__ = (
        "float64",
        "int64",
        "is_complex",
        "is_float",
        "is_int",
        "is_uint",
        "text",
        "uint64",
    )

    def __init__(self, pos: int, text: str) -> None:
        super().__init__(pos)
        self.text = text
        self.is_int = self.is_uint = self.is_float = self.is_complex = False
        self.int64 = self.uint64 = 0
        self.float64 = 0.0

    def __str__(self) -> str:
        return self.text


class StringNode(Node):
    __slots__ = ("quoted", "text")

    def __init__(self, pos: int, quoted: str, text: str) -> None:
        super().__init__(pos)
        self.quoted, self.text = quoted, text

    def __str__(self) -> str:
        return self.quoted


class EndNode(Node):
    __slots__ = ()

    def __str__(self) -> str:
        return "{{end}}"


class ElseNode(Node):
    __slots__ = ("line",)

    def __init__(self, pos: int, line: int) -> None:
        super().__init__(pos)
        self.line = line

    def __str__(self) -> str:
        return "{{else}}"


class BranchNode(Node):
    __slots__ = ("else_list", "line", "list", "pipe")
    keyword = ""

    def __init__(
        self, pos: int, line: int, pipe: PipeNode, body: ListNode, else_list: ListNode | None
    ) -> None:
        super().__init__(pos)
        self.line, self.pipe, self.list, self.else_list = line, pipe, body, else_list

    def __str__(self) -> str:
        text = "{{" + self.keyword + " " + str(self.pipe) + "}}" + str(self.list)
        if self.else_list is not None:
            text += "{{else}}" + str(self.else_list)
        return text + "{{end}}"


class IfNode(BranchNode):
    __slots__ = ()
    keyword = "if"


class RangeNode(BranchNode):
    __slots__ = ()
    keyword = "range"


class WithNode(BranchNode):
    __slots__ = ()
    keyword = "with"


class BreakNode(Node):
    __slots__ = ("line",)

    def __init__(self, pos: int, line: int) -> None:
        super().__init__(pos)
        self.line = line

    def __str__(self) -> str:
        return "{{break}}"


class ContinueNode(Node):
    __slots__ = ("line",)

    def __init__(self, pos: int, line: int) -> None:
        super().__init__(pos)
        self.line = line

    def __str__(self) -> str:
        return "{{continue}}"


class TemplateNode(Node):
    __slots__ = ("line", "name", "pipe")

    def __init__(self, pos: int, line: int, name: str, pipe: PipeNode | None) -> None:
        super().__init__(pos)
        self.line, self.name, self.pipe = line, name, pipe

    def __str__(self) -> str:
        if self.pipe is None:
            return "{{template " + go_quote(self.name) + "}}"
        return "{{template " + go_quote(self.name) + " " + str(self.pipe) + "}}"


def is_empty_tree(node: Node | None) -> bool:
    if node is None or isinstance(node, CommentNode):
        return True
    if isinstance(node, ListNode):
        return all(is_empty_tree(n) for n in node.nodes)
    if isinstance(node, TextNode):
        return not node.text.strip(" \t\n\v\f\r\x85\xa0")
    return False


# --------------------------------------------------------------------------------------------
# Literals: strconv.Unquote, strconv.UnquoteChar and the number rules of node.go


class _SyntaxError(ValueError):
    pass


_SIMPLE_ESCAPES = {
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
    "\\": "\\",
}


def unquote_char(text: str, quote: str) -> tuple[str, str]:
    """strconv.UnquoteChar: the first character of `text` (escapes decoded) and the rest."""
    char = text[0]
    if char == quote and quote in ("'", '"'):
        raise _SyntaxError
    if char != "\\":
        return char, text[1:]
    if len(text) <= 1:
        raise _SyntaxError
    kind, rest = text[1], text[2:]
    if kind in _SIMPLE_ESCAPES:
        return _SIMPLE_ESCAPES[kind], rest
    if kind in "xuU":
        size = {"x": 2, "u": 4, "U": 8}[kind]
        digits = rest[:size]
        if len(digits) < size or not all(c in "0123456789abcdefABCDEF" for c in digits):
            raise _SyntaxError
        value = int(digits, 16)
        if kind == "x":
            # a single byte; as a string element it stands for itself, as text for U+00XX
            # only when it is ASCII (Go's strings are bytes: see _bytes_to_str)
            return _byte_char(value), rest[size:]
        if value > 0x10FFFF or 0xD800 <= value <= 0xDFFF:
            raise _SyntaxError
        return chr(value), rest[size:]
    if kind in "01234567":
        digits = text[1:4]
        if len(digits) < 3 or not all(c in "01234567" for c in digits):
            raise _SyntaxError
        value = int(digits, 8)
        if value > 255:
            raise _SyntaxError
        return _byte_char(value), text[4:]
    if kind in ("'", '"'):
        if kind != quote:
            raise _SyntaxError
        return kind, rest
    raise _SyntaxError


def _byte_char(value: int) -> str:
    """A raw byte from a \\x or octal escape: ASCII as itself, others as a surrogate escape."""
    return chr(value) if value < 0x80 else chr(0xDC00 + value)


def bytes_to_str(text: str) -> str:
    """Decode the raw bytes (surrogate escapes) that escapes produced, as Go's []byte would be
    read back as UTF-8: valid sequences become their characters, others stay raw bytes."""
    if not any(0xDC80 <= ord(c) <= 0xDCFF for c in text):
        return text
    raw = text.encode("utf-8", "surrogateescape")
    return raw.decode("utf-8", "surrogateescape")


def unquote(text: str) -> str:
    """strconv.Unquote for "..." and `...` literals (the lexer already delimited them)."""
    if len(text) < 2 or text[0] != text[-1]:
        raise _SyntaxError
    quote, body = text[0], text[1:-1]
    if quote == "`":
        if "`" in body:
            raise _SyntaxError
        return body.replace("\r", "")
    if quote != '"' or "\n" in body:
        raise _SyntaxError
    out: list[str] = []
    while body:
        char, body = unquote_char(body, quote)
        out.append(char)
    return bytes_to_str("".join(out))


_INT_BASES = {"x": 16, "o": 8, "b": 2}


def parse_go_int(text: str) -> int | None:
    """strconv.ParseInt(text, 0, ...) without the range check: prefixes and underscores."""
    sign = 1
    body = text
    if body[:1] in ("+", "-"):
        sign = -1 if body[0] == "-" else 1
        body = body[1:]
    if not body:
        return None
    base = 10
    digits = body
    if len(body) >= 2 and body[0] == "0" and body[1].lower() in _INT_BASES:
        base = _INT_BASES[body[1].lower()]
        digits = body[2:]
    elif len(body) >= 2 and body[0] == "0":
        base = 8
        digits = body[1:]
    if not _underscore_ok(body):
        return None
    digits = digits.replace("_", "")
    if not digits:
        return 0 if base == 8 and body.strip("_") == "0" else None
    try:
        return sign * int(digits, base)
    except ValueError:
        return None


def _underscore_ok(body: str) -> bool:
    """strconv's underscoreOK: underscores only between digits or after a base prefix."""
    saw = "^"
    i = 0
    hexadecimal = False
    if len(body) >= 2 and body[0] == "0" and body[1].lower() in "xob":
        hexadecimal = body[1].lower() == "x"
        i = 2
        saw = "0"
    while i < len(body):
        char = body[i]
        if char.isdigit() or (hexadecimal and char.lower() in "abcdef"):
            saw = "0"
        elif char == "_":
            if saw != "0":
                return False
            saw = "_"
        else:
            if saw == "_":
                return False
            saw = "!"
        i += 1
    return saw != "_"


_DECIMAL_FLOAT = re.compile(r"[+-]?(?:[0-9](?:_?[0-9])*)?(?:\.(?:[0-9](?:_?[0-9])*)?)?")
_FLOAT_SYNTAX = re.compile(
    r"[+-]?(?:"
    r"(?:[0-9](?:_?[0-9])*(?:\.(?:[0-9](?:_?[0-9])*)?)?|\.[0-9](?:_?[0-9])*)"
    r"(?:[eE][+-]?[0-9](?:_?[0-9])*)?"
    r"|0[xX]_?(?:[0-9a-fA-F](?:_?[0-9a-fA-F])*(?:\.(?:[0-9a-fA-F](?:_?[0-9a-fA-F])*)?)?"
    r"|\.[0-9a-fA-F](?:_?[0-9a-fA-F])*)[pP][+-]?[0-9](?:_?[0-9])*"
    r")"
)


def parse_go_float(text: str) -> float | None:
    """strconv.ParseFloat(text, 64): decimal and hexadecimal floats, underscores, inf/nan
    spellings are not reachable from the lexer; None when Go reports a syntax error.
    Out of range values are ±Inf with an error in Go: None as well."""
    if not _FLOAT_SYNTAX.fullmatch(text):
        return None
    clean = text.replace("_", "")
    try:
        if "x" in clean.lower():
            sign = -1.0 if clean.startswith("-") else 1.0
            value = sign * float.fromhex(clean.lstrip("+-"))
        else:
            value = float(clean)
    except (ValueError, OverflowError):
        return None
    if math.isinf(value):
        return None
    return value


INT64_MIN, INT64_MAX, UINT64_MAX = -(1 << 63), (1 << 63) - 1, (1 << 64) - 1


def new_number(pos: int, text: str, typ: int) -> NumberNode:
    """node.go's newNumber; raises _NumberError with Go's message."""
    node = NumberNode(pos, text)
    if typ == CHAR_CONSTANT:
        try:
            char, tail = unquote_char(text[1:], text[0])
        except _SyntaxError:
            raise _NumberError("invalid syntax") from None
        if tail != "'":
            raise _NumberError(f"malformed character constant: {text}")
        code = ord(char) if not 0xDC80 <= ord(char) <= 0xDCFF else ord(char) - 0xDC00
        node.int64 = node.uint64 = code
        node.float64 = float(code)
        node.is_int = node.is_uint = node.is_float = True
        return node
    if typ == COMPLEX or text.endswith("i"):
        raise _NumberError(f"complex numbers are not supported: {text}")
    integer = parse_go_int(text)
    if integer is not None and 0 <= integer <= UINT64_MAX and text[0] not in "+-":
        node.is_uint, node.uint64 = True, integer
    if integer is not None and INT64_MIN <= integer <= INT64_MAX:
        node.is_int, node.int64 = True, integer
        if integer == 0:
            node.is_uint, node.uint64 = True, 0
    if node.is_int:
        node.is_float, node.float64 = True, float(node.int64)
    elif node.is_uint:
        node.is_float, node.float64 = True, float(node.uint64)
    else:
        value = parse_go_float(text)
        if value is not None:
            if not any(c in text for c in ".eEpP"):
                raise _NumberError(f"integer overflow: {go_quote(text)}")
            node.is_float, node.float64 = True, value
            if value.is_integer() and INT64_MIN <= value < 2.0**63:
                node.is_int, node.int64 = True, int(value)
            if value.is_integer() and 0 <= value < 2.0**64:
                node.is_uint, node.uint64 = True, int(value)
    if not (node.is_int or node.is_uint or node.is_float):
        raise _NumberError(f"illegal number syntax: {go_quote(text)}")
    return node


class _NumberError(ValueError):
    pass


# --------------------------------------------------------------------------------------------
# The parser (parse.go)


class Tree:
    """One parsed template: its name and root list; `trees` holds every template defined."""

    def __init__(self, name: str, text: str, parse_name: str) -> None:
        self.name = name
        self.parse_name = parse_name
        self.text = text
        self.root: ListNode | None = None

    def error_context(self, node: Node) -> tuple[str, str]:
        """Go's ErrorContext: `NAME:LINE:COL` (COL in bytes) and the node as text."""
        before = self.text[: node.pos]
        newline = before.rfind("\n")
        column_text = before if newline == -1 else before[newline + 1 :]
        column = len(column_text.encode("utf-8", "surrogatepass"))
        line = 1 + before.count("\n")
        return f"{self.parse_name}:{line}:{column}", str(node)


class Parser:
    def __init__(
        self, name: str, text: str, has_function: Callable[[str], bool], trees: dict[str, Tree]
    ) -> None:
        self.tree = Tree(name, text, name)
        self.parse_name = name
        self.text = text
        self.lex = Lexer(text)
        self.has_function = has_function
        self.trees = trees
        self.token: list[Item] = [Item(EOF, 0, "", 1)] * 3
        self.peek_count = 0
        self.vars = ["$"]
        self.action_line = 0
        self.range_depth = 0

    # token handling -------------------------------------------------------------------------
    def next(self) -> Item:
        if self.peek_count > 0:
            self.peek_count -= 1
        else:
            self.token[0] = self.lex.next_item()
        return self.token[self.peek_count]

    def backup(self) -> None:
        self.peek_count += 1

    def backup2(self, t1: Item) -> None:
        self.token[1] = t1
        self.peek_count = 2

    def backup3(self, t2: Item, t1: Item) -> None:
        self.token[1] = t1
        self.token[2] = t2
        self.peek_count = 3

    def peek(self) -> Item:
        if self.peek_count > 0:
            return self.token[self.peek_count - 1]
        self.peek_count = 1
        self.token[0] = self.lex.next_item()
        return self.token[0]

    def next_non_space(self) -> Item:
        while True:
            token = self.next()
            if token.typ != SPACE:
                return token

    def peek_non_space(self) -> Item:
        token = self.next_non_space()
        self.backup()
        return token

    # errors ---------------------------------------------------------------------------------
    def errorf(self, message: str) -> ParseError:
        return ParseError(f"template: {self.parse_name}:{self.token[0].line}: {message}")

    def expect(self, expected: int, context: str) -> Item:
        token = self.next_non_space()
        if token.typ != expected:
            raise self.unexpected(token, context)
        return token

    def expect_one_of(self, expected1: int, expected2: int, context: str) -> Item:
        token = self.next_non_space()
        if token.typ not in (expected1, expected2):
            raise self.unexpected(token, context)
        return token

    def unexpected(self, token: Item, context: str) -> ParseError:
        if token.typ == ERROR:
            extra = ""
            if self.action_line not in (0, token.line):
                extra = f" in action started at {self.parse_name}:{self.action_line}"
                if token.val.endswith(" action"):
                    extra = extra[len(" in action") :]
            return self.errorf(f"{token}{extra}")
        return self.errorf(f"unexpected {token} in {context}")

    # the grammar ----------------------------------------------------------------------------
    def parse(self) -> None:
        tree = self.tree
        tree.root = ListNode(self.peek().pos)
        while self.peek().typ != EOF:
            if self.peek().typ == LEFT_DELIM_ITEM:
                delim = self.next()
                if self.next_non_space().typ == DEFINE:
                    self.parse_definition()
                    continue
                self.backup2(delim)
            node = self.text_or_action()
            if isinstance(node, EndNode | ElseNode):
                raise self.errorf(f"unexpected {node}")
            tree.root.nodes.append(node)
        self.add(tree)

    def add(self, tree: Tree) -> None:
        existing = self.trees.get(tree.name)
        if existing is None or is_empty_tree(existing.root):
            self.trees[tree.name] = tree
            return
        if not is_empty_tree(tree.root):
            raise self.errorf(f"template: multiple definition of template {go_quote(tree.name)}")

    def parse_definition(self) -> None:
        context = "define clause"
        name = self.expect_one_of(STRING, RAW_STRING, context)
        try:
            defined = Tree(unquote(name.val), self.text, self.parse_name)
        except _SyntaxError:
            raise self.errorf("invalid syntax") from None
        self.expect(RIGHT_DELIM_ITEM, context)
        saved_vars = self.vars
        self.vars = ["$"]
        defined.root, end = self.item_list()
        self.vars = saved_vars
        if not isinstance(end, EndNode):
            raise self.errorf(f"unexpected {end} in {context}")
        self.add(defined)

    def item_list(self) -> tuple[ListNode, Node]:
        node_list = ListNode(self.peek_non_space().pos)
        while self.peek_non_space().typ != EOF:
            node = self.text_or_action()
            if isinstance(node, EndNode | ElseNode):
                return node_list, node
            node_list.nodes.append(node)
        raise self.errorf("unexpected EOF")

    def text_or_action(self) -> Node:
        token = self.next_non_space()
        if token.typ == TEXT:
            return TextNode(token.pos, token.val)
        if token.typ == LEFT_DELIM_ITEM:
            self.action_line = token.line
            try:
                return self.action()
            finally:
                self.action_line = 0
        if token.typ == COMMENT:
            return CommentNode(token.pos, token.val)
        raise self.unexpected(token, "input")

    def action(self) -> Node:
        token = self.next_non_space()
        typ = token.typ
        if typ == BLOCK:
            return self.block_control()
        if typ == BREAK:
            return self.break_control(token.pos, token.line, "break")
        if typ == CONTINUE:
            return self.break_control(token.pos, token.line, "continue")
        if typ == ELSE:
            return self.else_control()
        if typ == END:
            return EndNode(self.expect(RIGHT_DELIM_ITEM, "end").pos)
        if typ == IF:
            return self.parse_control(IfNode, allow_else_if=True, context="if")
        if typ == RANGE:
            return self.parse_control(RangeNode, allow_else_if=False, context="range")
        if typ == TEMPLATE:
            return self.template_control()
        if typ == WITH:
            return self.parse_control(WithNode, allow_else_if=False, context="with")
        self.backup()
        token = self.peek()
        return ActionNode(token.pos, token.line, self.pipeline("command", RIGHT_DELIM_ITEM))

    def break_control(self, pos: int, line: int, word: str) -> Node:
        token = self.next_non_space()
        if token.typ != RIGHT_DELIM_ITEM:
            raise self.unexpected(token, "{{" + word + "}}")
        if self.range_depth == 0:
            raise self.errorf("{{" + word + "}} outside {{range}}")
        return BreakNode(pos, line) if word == "break" else ContinueNode(pos, line)

    def pipeline(self, context: str, end: int) -> PipeNode:
        token = self.peek_non_space()
        pipe = PipeNode(token.pos, token.line)
        while True:  # Go's `decls:` label
            variable = self.peek_non_space()
            if variable.typ != VARIABLE:
                break
            self.next()
            after_variable = self.peek()
            following = self.peek_non_space()
            if following.typ in (ASSIGN, DECLARE):
                pipe.is_assign = following.typ == ASSIGN
                self.next_non_space()
                pipe.decl.append(VariableNode(variable.pos, variable.val))
                self.vars.append(variable.val)
                break
            if following.typ == CHAR and following.val == ",":
                self.next_non_space()
                pipe.decl.append(VariableNode(variable.pos, variable.val))
                self.vars.append(variable.val)
                if context == "range" and len(pipe.decl) < 2:
                    if self.peek_non_space().typ in (VARIABLE, RIGHT_DELIM_ITEM, RIGHT_PAREN):
                        continue
                    raise self.errorf("range can only initialize variables")
                raise self.errorf(f"too many declarations in {context}")
            if after_variable.typ == SPACE:
                self.backup3(variable, after_variable)
            else:
                self.backup2(variable)
            break
        while True:
            token = self.next_non_space()
            if token.typ == end:
                self.check_pipeline(pipe, context)
                return pipe
            if token.typ in (
                BOOL,
                CHAR_CONSTANT,
                COMPLEX,
                DOT,
                FIELD,
                IDENTIFIER,
                NUMBER,
                NIL,
                RAW_STRING,
                STRING,
                VARIABLE,
                LEFT_PAREN,
            ):
                self.backup()
                pipe.cmds.append(self.command())
            else:
                raise self.unexpected(token, context)

    def check_pipeline(self, pipe: PipeNode, context: str) -> None:
        if not pipe.cmds:
            raise self.errorf(f"missing value for {context}")
        for i, cmd in enumerate(pipe.cmds[1:]):
            if isinstance(cmd.args[0], BoolNode | DotNode | NilNode | NumberNode | StringNode):
                raise self.errorf(f"non executable command in pipeline stage {i + 2}")

    def parse_control(self, kind: type[BranchNode], *, allow_else_if: bool, context: str) -> Node:
        mark = len(self.vars)
        try:
            pipe = self.pipeline(context, RIGHT_DELIM_ITEM)
            if context == "range":
                self.range_depth += 1
            body, following = self.item_list()
            if context == "range":
                self.range_depth -= 1
            else_list: ListNode | None = None
            if isinstance(following, ElseNode):
                if allow_else_if and self.peek().typ == IF:
                    self.next()
                    else_list = ListNode(following.pos)
                    else_list.nodes.append(
                        self.parse_control(IfNode, allow_else_if=True, context="if")
                    )
                else:
                    else_list, following = self.item_list()
                    if not isinstance(following, EndNode):
                        raise self.errorf(f"expected end; found {following}")
            return kind(pipe.pos, pipe.line, pipe, body, else_list)
        finally:
            del self.vars[mark:]

    def else_control(self) -> Node:
        peek = self.peek_non_space()
        if peek.typ == IF:
            return ElseNode(peek.pos, peek.line)
        token = self.expect(RIGHT_DELIM_ITEM, "else")
        return ElseNode(token.pos, token.line)

    def block_control(self) -> Node:
        context = "block clause"
        token = self.next_non_space()
        name = self.parse_template_name(token, context)
        pipe = self.pipeline(context, RIGHT_DELIM_ITEM)
        block = Tree(name, self.text, self.parse_name)
        saved_vars, saved_depth = self.vars, self.range_depth
        self.vars, self.range_depth = ["$"], 0
        block.root, end = self.item_list()
        self.vars, self.range_depth = saved_vars, saved_depth
        if not isinstance(end, EndNode):
            raise self.errorf(f"unexpected {end} in {context}")
        self.add(block)
        return TemplateNode(token.pos, token.line, name, pipe)

    def template_control(self) -> Node:
        context = "template clause"
        token = self.next_non_space()
        name = self.parse_template_name(token, context)
        pipe: PipeNode | None = None
        if self.next_non_space().typ != RIGHT_DELIM_ITEM:
            self.backup()
            pipe = self.pipeline(context, RIGHT_DELIM_ITEM)
        return TemplateNode(token.pos, token.line, name, pipe)

    def parse_template_name(self, token: Item, context: str) -> str:
        if token.typ in (STRING, RAW_STRING):
            try:
                return unquote(token.val)
            except _SyntaxError:
                raise self.errorf("invalid syntax") from None
        raise self.unexpected(token, context)

    def command(self) -> CommandNode:
        cmd = CommandNode(self.peek_non_space().pos)
        while True:
            self.peek_non_space()
            operand = self.operand()
            if operand is not None:
                cmd.args.append(operand)
            token = self.next()
            if token.typ == SPACE:
                continue
            if token.typ in (RIGHT_DELIM_ITEM, RIGHT_PAREN):
                self.backup()
            elif token.typ != PIPE:
                raise self.unexpected(token, "operand")
            break
        if not cmd.args:
            raise self.errorf("empty command")
        return cmd

    def operand(self) -> Node | None:
        node = self.term()
        if node is None:
            return None
        if self.peek().typ == FIELD:
            chain = ChainNode(self.peek().pos, node)
            while self.peek().typ == FIELD:
                chain.add(self.next().val)
            if isinstance(node, FieldNode):
                return FieldNode(chain.pos, str(chain))
            if isinstance(node, VariableNode):
                return VariableNode(chain.pos, str(chain))
            if isinstance(node, BoolNode | StringNode | NumberNode | NilNode | DotNode):
                raise self.errorf(f"unexpected . after term {go_quote(str(node))}")
            return chain
        return node

    def term(self) -> Node | None:
        token = self.next_non_space()
        typ = token.typ
        if typ == IDENTIFIER:
            if not self.has_function(token.val):
                raise self.errorf(f"function {go_quote(token.val)} not defined")
            return IdentifierNode(token.pos, token.val)
        if typ == DOT:
            return DotNode(token.pos)
        if typ == NIL:
            return NilNode(token.pos)
        if typ == VARIABLE:
            return self.use_var(token.pos, token.val)
        if typ == FIELD:
            return FieldNode(token.pos, token.val)
        if typ == BOOL:
            return BoolNode(token.pos, token.val == "true")
        if typ in (CHAR_CONSTANT, COMPLEX, NUMBER):
            try:
                return new_number(token.pos, token.val, typ)
            except _NumberError as exc:
                raise self.errorf(str(exc)) from None
        if typ == LEFT_PAREN:
            return self.pipeline("parenthesized pipeline", RIGHT_PAREN)
        if typ in (STRING, RAW_STRING):
            try:
                return StringNode(token.pos, token.val, unquote(token.val))
            except _SyntaxError:
                raise self.errorf("invalid syntax") from None
        self.backup()
        return None

    def use_var(self, pos: int, name: str) -> Node:
        variable = VariableNode(pos, name)
        if variable.ident[0] in self.vars:
            return variable
        raise self.errorf(f"undefined variable {go_quote(variable.ident[0])}")


def parse(name: str, text: str, has_function: Callable[[str], bool]) -> dict[str, Tree]:
    """Every template `text` defines (the top-level one is `name`); raises ParseError."""
    trees: dict[str, Tree] = {}
    Parser(name, text, has_function, trees).parse()
    return trees


def walk(node: Node) -> Iterator[Node]:
    """Every node below `node`, depth first (for tests and tools)."""
    yield node
    children: list[Any] = []
    if isinstance(node, ListNode):
        children = list(node.nodes)
    elif isinstance(node, BranchNode):
        children = [node.pipe, node.list, node.else_list]
    elif isinstance(node, ActionNode):
        children = [node.pipe]
    elif isinstance(node, PipeNode):
        children = [*node.decl, *node.cmds]
    elif isinstance(node, CommandNode):
        children = list(node.args)
    elif isinstance(node, ChainNode):
        children = [node.node]
    elif isinstance(node, TemplateNode):
        children = [node.pipe]
    for child in children:
        if child is not None:
            yield from walk(child)
