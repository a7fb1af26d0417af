"""`set-image` and `promote`: change one tag in services.toml in place, and nothing else.

The file is edited as text so that comments, order, spacing and quoting survive: an existing
tag value is replaced through tomlkit (which keeps the rest of its line), a missing tag or
environment table is inserted as text next to the service's other environments. The edited
text is parsed back and must equal the old data with exactly that one value changed, and it
must pass the loader's checks (e.g. no `latest`), before it is written atomically.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import tomlkit
import tomlkit.items
from attrs import frozen

from generator.resolve import promotion_order
from generator.spec.errors import InputError, KeyPath, did_you_mean, format_path
from generator.spec.load import load_text
from generator.spec.model import Spec
from generator.tree import write

# A table header line: `[a.b."c"]` or `[[a.b]]`, maybe indented, maybe with a comment.
_HEADER = re.compile(r"^[ \t]*(\[\[?)([^\[\]#\n]+)(\]\]?)[ \t]*(?:#.*)?$")


@frozen(kw_only=True)
class Header:
    """A table header line of the file: its index in the list of lines, and its key path."""

    line: int
    path: tuple[str, ...]
    array: bool


@frozen(kw_only=True)
class Target:
    """The value to write: `services.<service>.envs.<env>.tag = tag`."""

    service: str
    env: str
    tag: str
    source: str | None  # the environment it was promoted from

    @property
    def path(self) -> KeyPath:
        return ("services", self.service, "envs", self.env, "tag")


@frozen(kw_only=True)
class Edit:
    """The outcome of an edit: the new text and what to tell the user."""

    text: str
    old: str | None


@frozen(kw_only=True)
class Change:
    """A tag written (or found already there): the file's spec after it, and the old value."""

    target: Target
    old: str | None
    spec: Spec


def set_image(config: Path, service: str, env: str, tag: str) -> Change:
    """`gitopsgen set-image SERVICE ENV TAG`: what app CI runs after pushing an image."""
    text = read(config)
    spec = load_text(text, str(config)).spec
    check_target(config, spec, service, env)
    return apply(config, text, spec, Target(service=service, env=env, tag=tag, source=None))


def promote(config: Path, service: str, env: str) -> Change:
    """`gitopsgen promote SERVICE --to ENV`: copy the tag of the environment promote_from names."""
    text = read(config)
    spec = load_text(text, str(config)).spec
    check_target(config, spec, service, env)
    source = spec.environments[env].promote_from
    if source is None:
        raise InputError([f"{config}: environment '{env}' has no promote_from: nothing to promote"])
    source_env = spec.services[service].envs.get(source)
    tag = source_env.tag if source_env is not None else None
    if not tag:
        raise InputError(
            [f"{config}: cannot promote '{service}' to '{env}': it has no tag in '{source}'"]
        )
    return apply(config, text, spec, Target(service=service, env=env, tag=tag, source=source))


def read(config: Path) -> str:
    try:
        # Bytes, not read_text: universal newlines would rewrite every CRLF line.
        return config.read_bytes().decode("utf-8")
    except OSError as exc:
        raise InputError([f"{config}: cannot read: {exc.strerror}"]) from None
    except UnicodeDecodeError:
        raise InputError([f"{config}: not UTF-8 text"]) from None


def check_target(config: Path, spec: Spec, service: str, env: str) -> None:
    """Both names must exist; a misspelling gets a suggestion. Every problem is reported."""
    problems = []
    if service not in spec.services:
        hint = did_you_mean(service, spec.services)
        problems.append(f"{config}: unknown service '{service}'{hint}")
    if env not in spec.environments:
        hint = did_you_mean(env, spec.environments)
        problems.append(f"{config}: unknown environment '{env}'{hint}")
    if problems:
        raise InputError(problems)


def apply(config: Path, text: str, spec: Spec, target: Target) -> Change:
    edit = edited(text, spec, target)
    where = f"{format_path(target.path)} in {config}"
    if edit.old == target.tag:
        print(f"{where} is already {quoted(target.tag)}: nothing to do")
        return Change(target=target, old=edit.old, spec=spec)
    verify(text, edit.text, target)
    # the loader's rules (e.g. no `latest`) before writing
    after = load_text(edit.text, str(config)).spec
    write.write_atomic(config.resolve(), edit.text.encode("utf-8"))
    was = "unset" if edit.old is None else quoted(edit.old)
    origin = f" (from {target.source})" if target.source else ""
    print(f"{where}: {was} -> {quoted(target.tag)}{origin}")
    return Change(target=target, old=edit.old, spec=after)


def quoted(value: str) -> str:
    return tomlkit.string(value).as_string()


def edited(text: str, spec: Spec, target: Target) -> Edit:
    """The text with the tag set: replaced where it exists, inserted where it does not."""
    doc = tomlkit.parse(text)
    table = lookup(doc, target.path[:-1])
    if table is not None and "tag" in table:
        old = table["tag"]
        table["tag"] = tag_item(target.tag, like=old)
        return Edit(text=tomlkit.dumps(doc), old=str(old))
    order = promotion_order(spec.environments)
    inserted = insert_as_text(text, order, target, has_table=table is not None)
    if inserted is None or not edits_only(text, inserted, target):
        inserted = insert_with_tomlkit(doc, target)
    return Edit(text=inserted, old=None)


def lookup(doc: tomlkit.TOMLDocument, path: KeyPath) -> Any:
    node: Any = doc
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


def tag_item(tag: str, *, like: Any) -> tomlkit.items.String:
    """Keep a literal ('...') string literal when the new value can be one."""
    literal = (
        isinstance(like, tomlkit.items.String)
        and like.type == tomlkit.items.StringType.SLL
        and "'" not in tag
        and "\n" not in tag
    )
    return tomlkit.string(tag, literal=literal)


def headers(lines: list[str]) -> Iterator[Header]:
    """Every table header line, with its key path (parsed by tomllib, so quoting is right)."""
    for number, line in enumerate(lines):
        match = _HEADER.match(line.rstrip("\r\n"))
        if match is None or len(match[1]) != len(match[3]):
            continue
        try:
            data = tomllib.loads(f"[{match[2]}]\n")
        except tomllib.TOMLDecodeError:
            continue  # a line inside a multi-line value that merely looks like a header
        path: list[str] = []
        while isinstance(data, dict) and len(data) == 1:
            key = next(iter(data))
            path.append(key)
            data = data[key]
        yield Header(line=number, path=tuple(path), array=match[1] == "[[")


def insert_as_text(text: str, order: list[str], target: Target, *, has_table: bool) -> str | None:
    """Insert `tag = ...` under the env's header, or a new env table beside its siblings.

    Returns None when the file does not lay the service out in header tables (inline tables,
    dotted keys): then tomlkit places the value.
    """
    lines = text.splitlines(keepends=True)
    newline = "\r\n" if lines and lines[0].endswith("\r\n") else "\n"
    found = list(headers(lines))
    tag_line = f"tag = {tag_item(target.tag, like=None).as_string()}{newline}"
    table_path = target.path[:-1]
    if has_table:
        own = [h for h in found if h.path == table_path and not h.array]
        if len(own) != 1:
            return None
        at = own[0].line + 1
        return "".join([*lines[:at], tag_line, *lines[at:]])
    new_table = [newline, f"[{dotted(table_path)}]{newline}", tag_line]
    anchor = anchor_line(lines, found, order, target)
    if anchor is None:
        return None
    if anchor and not lines[anchor - 1].endswith("\n"):
        lines[anchor - 1] += newline  # the file ended without a newline
    return "".join([*lines[:anchor], *new_table, *lines[anchor:]])


def anchor_line(
    lines: list[str], found: list[Header], order: list[str], target: Target
) -> int | None:
    """Where a new `[services.<s>.envs.<env>]` goes: after the table of the service's last
    environment before `env` in promotion order, else after the service's last table."""
    rank = {name: i for i, name in enumerate(order)}
    mine = [h for h in found if h.path[:2] == ("services", target.service)]
    if not mine or any(h.path == ("services", target.service, "envs") for h in mine):
        return None  # `[services.<s>.envs]` holds the environments: leave it to tomlkit
    earlier = [
        h
        for h in mine
        if len(h.path) == 4 and h.path[2] == "envs" and rank.get(h.path[3], -1) < rank[target.env]
    ]
    anchor = max(earlier, key=lambda h: rank.get(h.path[3], -1)) if earlier else mine[-1]
    return region_end(lines, found, anchor)


def region_end(lines: list[str], found: list[Header], header: Header) -> int:
    """The line after the table's last key: comments and blank lines before the next header
    belong to what follows."""
    following = [h.line for h in found if h.line > header.line]
    end = following[0] if following else len(lines)
    last = header.line
    for number in range(header.line + 1, end):
        stripped = lines[number].strip()
        if stripped and not stripped.startswith("#"):
            last = number
    return last + 1


def dotted(path: KeyPath) -> str:
    """A TOML dotted key, quoting the parts that are not bare keys."""
    parts = [str(part) for part in path]
    return ".".join(p if re.fullmatch(r"[A-Za-z0-9_-]+", p) else quoted(p) for p in parts)


def insert_with_tomlkit(doc: tomlkit.TOMLDocument, target: Target) -> str:
    """The fallback for inline tables and dotted keys: tomlkit places the new value."""
    service = lookup(doc, ("services", target.service))
    if "envs" not in service:
        service["envs"] = tomlkit.table(is_super_table=True)
    envs = service["envs"]
    if target.env in envs:
        envs[target.env]["tag"] = target.tag
    else:
        inline = isinstance(envs, tomlkit.items.InlineTable)
        table = tomlkit.inline_table() if inline else tomlkit.table()
        table["tag"] = target.tag
        envs[target.env] = table
    return tomlkit.dumps(doc)


def edits_only(old_text: str, new_text: str, target: Target) -> bool:
    """Whether the new text is the old data with exactly the target's tag set."""
    expected = tomllib.loads(old_text)
    node = expected
    for key in target.path[:-1]:
        node = node.setdefault(str(key), {})
    node["tag"] = target.tag
    try:
        return tomllib.loads(new_text) == expected
    except tomllib.TOMLDecodeError:
        return False


def verify(old_text: str, new_text: str, target: Target) -> None:
    """The edit changed exactly one value: anything else is a bug, never written."""
    if not edits_only(old_text, new_text, target):
        raise AssertionError(f"editing {format_path(target.path)} would change other values")
