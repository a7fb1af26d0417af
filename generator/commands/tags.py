"""`set-image` and `promote`: change one tag and its digest in services.toml in place, nothing else.

The file is edited as text so that comments, order, spacing and quoting survive: an existing
tag or digest value is replaced through tomlkit (which keeps the rest of its line), a missing
tag or environment table is inserted as text next to the service's other environments, a
missing digest as the line after the tag's, and a digest that does not belong to the new tag
is removed with its line. The edited text is parsed back and must equal the old data with
exactly those values changed, and it must pass the loader's checks (e.g. no `latest`), before
it is written atomically.
"""

from __future__ import annotations

import re
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import tomlkit
import tomlkit.items
from attrs import frozen

from generator.resolve import promotion_order
from generator.spec.checks import digest_problem
from generator.spec.errors import InputError, KeyPath, did_you_mean, format_path
from generator.spec.load import Loaded, load_text
from generator.spec.locate import Locator
from generator.spec.model import Spec
from generator.tree import write

# A table header line: `[a.b."c"]` or `[[a.b]]`, maybe indented, maybe with a comment.
_HEADER = re.compile(r"^[ \t]*(\[\[?)([^\[\]#\n]+)(\]\]?)[ \t]*(?:#.*)?$")
# The start of a `tag = ...` line, maybe indented, maybe under bare dotted keys (`envs.dev.`).
_TAG_KEY = re.compile(r"(?P<prefix>[ \t]*(?:[A-Za-z0-9_-]+[ \t]*\.[ \t]*)*)tag[ \t]*=")


@frozen(kw_only=True)
class Header:
    """A table header line of the file: its index in the list of lines, and its key path."""

    line: int
    path: tuple[str, ...]
    array: bool


@frozen(kw_only=True)
class Target:
    """The values to write: `services.<service>.envs.<env>.tag = tag`, and its digest.

    A digest of None means the entry ends up without one: an old digest named the old tag's
    image, so it never survives a tag written without its own.
    """

    service: str
    env: str
    tag: str
    digest: str | None
    source: str | None  # the environment it was promoted from

    @property
    def table(self) -> KeyPath:
        return ("services", self.service, "envs", self.env)

    @property
    def path(self) -> KeyPath:
        return (*self.table, "tag")

    @property
    def values(self) -> dict[str, str | None]:
        """Every key the edit sets (None: removes), in the order they are reported."""
        return {"tag": self.tag, "digest": self.digest}


@frozen(kw_only=True)
class Edit:
    """The outcome of an edit: the new text and what to tell the user."""

    text: str
    old: str | None
    old_digest: str | None


@frozen(kw_only=True)
class Change:
    """A tag written (or found already there): the file's spec after it, and the old values."""

    target: Target
    old: str | None
    old_digest: str | None
    spec: Spec


def set_image(
    config: Path,
    service: str,
    env: str,
    tag: str,
    *,
    digest: str | None = None,
    expect_digest: str | None = None,
) -> Change:
    """`gitopsgen set-image SERVICE ENV TAG [--digest D]`: what the intake runs for an image.

    `expect_digest` makes it a compare-and-swap: the intake verified the build order against
    the digest recorded then, so it writes nothing if another digest has been recorded since
    (a re-run of an old intake's last job would otherwise roll the environment back).
    """
    text = read(config)
    spec = load_text(text, str(config)).spec
    problems = target_problems(config, spec, service, env)
    if digest is not None and (problem := digest_problem(digest)) is not None:
        problems.append(f"set-image: --digest {problem}")
    if not problems and expect_digest is not None:
        problems += expectation_problems(spec, service, env, expect_digest)
    if problems:
        raise InputError(problems)
    target = Target(service=service, env=env, tag=tag, digest=digest, source=None)
    return apply(config, text, spec, target)


def promote(config: Path, service: str, env: str, *, expect_digest: str | None = None) -> Change:
    """`gitopsgen promote SERVICE --to ENV`: copy the tag of the environment promote_from names.

    `expect_digest`: copy only if the source records exactly this digest (the one the
    promote workflow's verify job verified), so nothing recorded since travels unverified.
    """
    text = read(config)
    spec = load_text(text, str(config)).spec
    check_target(config, spec, service, env)
    source = spec.environments[env].promote_from
    if source is None:
        raise InputError([f"{config}: environment '{env}' has no promote_from: nothing to promote"])
    source_env = spec.services[service].envs.get(source)
    if source_env is None or not source_env.tag:
        raise InputError(
            [f"{config}: cannot promote '{service}' to '{env}': it has no tag in '{source}'"]
        )
    if expect_digest is not None and (source_env.digest or "") != expect_digest:
        raise InputError(
            [
                f"promote: {service} in {source} records {source_env.digest or 'no digest'} now,"
                f" not the verified {expect_digest or 'no digest'}: start the promotion again"
            ]
        )
    # The digest travels with its tag; a source without one leaves the target without one.
    target = Target(
        service=service, env=env, tag=source_env.tag, digest=source_env.digest, source=source
    )
    return apply(config, text, spec, target)


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
    problems = target_problems(config, spec, service, env)
    if problems:
        raise InputError(problems)


def expectation_problems(spec: Spec, service: str, env: str, expected: str) -> list[str]:
    entry = spec.services[service].envs.get(env)
    recorded = entry.digest if entry is not None else None
    if (recorded or "") == expected:
        return []
    return [
        f"set-image: {service} in {env} records {recorded or 'no digest'} now, not"
        f" {expected or 'no digest'} as expected: it changed since the image was verified;"
        " run the whole intake again"
    ]


def target_problems(config: Path, spec: Spec, service: str, env: str) -> list[str]:
    problems = []
    if service not in spec.services:
        hint = did_you_mean(service, spec.services)
        problems.append(f"{config}: unknown service '{service}'{hint}")
    if env not in spec.environments:
        hint = did_you_mean(env, spec.environments)
        problems.append(f"{config}: unknown environment '{env}'{hint}")
    return problems


def apply(config: Path, text: str, spec: Spec, target: Target) -> Change:
    """Edit, verify, check and write; say what changed (stdout) and what the entry warns of."""
    edit = edited(text, spec, target)
    where = f"{format_path(target.path)} in {config}"
    if (edit.old, edit.old_digest) == (target.tag, target.digest):
        pinned = f" with digest {quoted(target.digest)}" if target.digest else ""
        print(f"{where} is already {quoted(target.tag)}{pinned}: nothing to do")
        return Change(target=target, old=edit.old, old_digest=edit.old_digest, spec=spec)
    verify(text, edit.text, target)
    # the loader's rules (e.g. no `latest`) before writing
    after = load_text(edit.text, str(config))
    write.write_atomic(config.resolve(), edit.text.encode("utf-8"))
    report(config, target, {"tag": edit.old, "digest": edit.old_digest})
    warn_about(after, target)
    return Change(target=target, old=edit.old, old_digest=edit.old_digest, spec=after.spec)


def report(config: Path, target: Target, old: dict[str, str | None]) -> None:
    """One line per value that changed: `services.a.envs.dev.tag in F: "1" -> "2"`."""
    origin = f" (from {target.source})" if target.source else ""
    for key, new in target.values.items():
        if old[key] != new:
            path = format_path((*target.table, key))
            print(f"{path} in {config}: {shown(old[key])} -> {shown(new)}{origin}")


def shown(value: str | None) -> str:
    return "unset" if value is None else quoted(value)


def warn_about(after: Loaded, target: Target) -> None:
    """The edited entry's warnings (e.g. a tag without a digest), as every command prints them."""
    for warning in after.warnings:
        if warning.path[: len(target.table)] == target.table:
            print(f"{warning} (warning)", file=sys.stderr)


def quoted(value: str) -> str:
    return tomlkit.string(value).as_string()


def edited(text: str, spec: Spec, target: Target) -> Edit:
    """The text with the tag and the digest set (or the digest removed)."""
    tagged = edited_tag(text, spec, target)
    text, old_digest = edited_digest(tagged.text, target)
    return Edit(text=text, old=tagged.old, old_digest=old_digest)


def edited_tag(text: str, spec: Spec, target: Target) -> Edit:
    """The text with the tag set: replaced where it exists, inserted where it does not."""
    doc = tomlkit.parse(text)
    table = lookup(doc, target.table)
    if table is not None and "tag" in table:
        old = table["tag"]
        table["tag"] = tag_item(target.tag, like=old)
        return Edit(text=tomlkit.dumps(doc), old=str(old), old_digest=None)
    order = promotion_order(spec.environments)
    inserted = insert_as_text(text, order, target, has_table=table is not None)
    if inserted is None or not edits_only(text, inserted, target.table, {"tag": target.tag}):
        inserted = insert_with_tomlkit(doc, target)
    return Edit(text=inserted, old=None, old_digest=None)


def edited_digest(text: str, target: Target) -> tuple[str, str | None]:
    """`text` (where the tag is set) with the target's digest, and the digest it replaced."""
    doc = tomlkit.parse(text)
    table = lookup(doc, target.table)
    old = table.get("digest")
    old_value = None if old is None else str(old)
    if target.digest is None:
        if old is None:
            return text, None
        del table["digest"]  # tomlkit drops the whole line, its comment included
        return tomlkit.dumps(doc), old_value
    if old is not None:
        table["digest"] = tag_item(target.digest, like=old)
        return tomlkit.dumps(doc), old_value
    inserted = digest_after_tag(text, target)
    if inserted is None or not edits_only(text, inserted, target.table, {"digest": target.digest}):
        table["digest"] = target.digest
        inserted = tomlkit.dumps(doc)
    return inserted, None


def digest_after_tag(text: str, target: Target) -> str | None:
    """`digest = ...` as the line after the tag's, written the way the tag's key is.

    Returns None when the tag's line is not `[dotted.]tag = ...` (an inline table): then
    tomlkit places the value.
    """
    assert target.digest is not None
    found = Locator(text).find(target.path)
    if found is None:
        return None
    lines = text.splitlines(keepends=True)
    at = found[0] - 1
    match = _TAG_KEY.match(lines[at])
    if match is None:
        return None
    newline = "\r\n" if lines[at].endswith("\r\n") else "\n"
    if not lines[at].endswith("\n"):
        lines[at] += newline  # the file ended without a newline after the tag
    value = tag_item(target.digest, like=None).as_string()
    line = f"{match['prefix']}digest = {value}{newline}"
    return "".join([*lines[: at + 1], line, *lines[at + 1 :]])


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


def edits_only(old_text: str, new_text: str, table: KeyPath, values: dict[str, str | None]) -> bool:
    """Whether the new text is the old data with exactly `values` set in `table` (None: unset)."""
    expected = tomllib.loads(old_text)
    node = expected
    for key in table:
        node = node.setdefault(str(key), {})
    for key, value in values.items():
        if value is None:
            node.pop(key, None)
        else:
            node[key] = value
    try:
        return tomllib.loads(new_text) == expected
    except tomllib.TOMLDecodeError:
        return False


def verify(old_text: str, new_text: str, target: Target) -> None:
    """The edit changed exactly the target's values: anything else is a bug, never written."""
    if not edits_only(old_text, new_text, target.table, target.values):
        raise AssertionError(f"editing {format_path(target.table)} would change other values")
