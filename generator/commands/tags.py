"""`set-image` and `promote`: change one tag and its digest in services.toml in place, nothing else.

The file is edited as text so that comments, order, spacing and quoting survive: an existing
tag or digest value is replaced (the rest of its line kept), a missing tag or environment
table is inserted as text next to the service's other environments, a missing digest as the
line after the tag's, and a digest that does not belong to the new tag is removed with its
line. The edited text is parsed back and must equal the old data with exactly those values
changed, and it must pass the loader's checks (e.g. no `latest`), before it is written
atomically.

Two paths make the same edit. The fast one (CI runs these commands in a retry loop, on files
of a thousand services) reads the file once with tomllib, finds the values' bytes with
generator/spec/edit.py and replaces, removes or inserts exactly those. The edited text must
read as the data read with exactly the change applied: judged from the edited table's lines
alone where edit.confined and edit.added show that to be sound (environments in `[...]`
tables of their own, no multi-line strings), else by tomllib reading the whole edited text.
The loader's rules then run on that data (and the loader itself reports any problem). When
the fast path cannot place an edit (an inline table gaining or losing a key, a multi-line or
escaped string, a table it cannot find by its header) or the text does not read as it
should, the slow path makes the whole edit again through tomlkit, which parses the file in
full (seconds at a thousand services) and knows every layout; tomlkit is imported only there.
"""

from __future__ import annotations

import re
import sys
import tomllib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from attrs import frozen

from generator.resolve import promotion_order
from generator.spec import checks, depth, edit
from generator.spec.checks import digest_problem
from generator.spec.errors import InputError, KeyPath, Problem, did_you_mean, format_path
from generator.spec.load import integer_problems, load_text, structure
from generator.spec.locate import Locator
from generator.spec.model import Spec
from generator.tree import write

if TYPE_CHECKING:
    import tomlkit
    import tomlkit.items

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


@frozen(kw_only=True)
class Source:
    """The services file as read: its text, tomllib's data of it and its spec.

    `data` is None when only the loader could read the file (then only the slow path edits
    it). With data, the spec is structured but not yet checked: the rules are applied to the
    file as it will stand, before it is written (or, when nothing changes, as it stands).
    """

    text: str
    data: dict[str, Any] | None
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
    source = parse(config, read(config))
    spec = source.spec
    problems = target_problems(config, spec, service, env)
    if digest is not None and (problem := digest_problem(digest)) is not None:
        problems.append(f"set-image: --digest {problem}")
    if not problems and expect_digest is not None:
        problems += expectation_problems(spec, service, env, expect_digest)
    if problems:
        raise InputError(problems)
    target = Target(service=service, env=env, tag=tag, digest=digest, source=None)
    return apply(config, source, target)


def promote(config: Path, service: str, env: str, *, expect_digest: str | None = None) -> Change:
    """`gitopsgen promote SERVICE --to ENV`: copy the tag of the environment promote_from names.

    `expect_digest`: copy only if the source records exactly this digest (the one the
    promote workflow's verify job verified), so nothing recorded since travels unverified.
    """
    parsed = parse(config, read(config))
    spec = parsed.spec
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
    return apply(config, parsed, target)


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


def parse(config: Path, text: str) -> Source:
    """tomllib's data and the structured spec; the loader's own report of a file that does not
    structure (it raises, with every problem located)."""
    try:
        data = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, RecursionError):
        data = None
    if data is not None and (depth.too_deep(data) or next(integer_problems(data), None)):
        data = None  # nested too deep, an integer out of range: the loader's located report
    if data is not None:
        spec, findings = structure(data)
        if spec is not None and not findings:
            return Source(text=text, data=data, spec=spec)
    return Source(text=text, data=None, spec=load_text(text, str(config)).spec)


def apply(config: Path, source: Source, target: Target) -> Change:
    """Edit, verify, check and write; say what changed (stdout) and what the entry warns of."""
    if source.data is None:  # the loader read it, and found nothing wrong
        return apply_slow(config, source.text, source.spec, target, loaded=True)
    change = apply_fast(config, source, source.data, target)
    if change is not None:
        return change
    return apply_slow(config, source.text, source.spec, target, loaded=False)


def apply_fast(config: Path, source: Source, data: dict[str, Any], target: Target) -> Change | None:
    """`apply` with the edit placed by edit.find and checked against tomllib's data; None
    (nothing printed, nothing written) when the slow path must decide."""
    entry = data_entry(data, target)
    old, old_digest = (None, None) if entry is None else (entry.get("tag"), entry.get("digest"))
    if not isinstance(old, str | None) or not isinstance(old_digest, str | None):
        return None
    if (old, old_digest) == (target.tag, target.digest):
        checked(config, source.text, data, target, spec=source.spec)  # the file as it stands
        nothing_to_do(config, target)
        return Change(target=target, old=old, old_digest=old_digest, spec=source.spec)
    edited = fast_edit(source.text, source.spec, target, entry)
    if edited is None:
        return None
    text, at = edited
    expected = with_values(data, target)
    if not read_as(source.text, text, data, expected, target, added_at=at):
        return None
    # the loader's rules (e.g. no `latest`) before writing
    spec, warnings = checked(config, text, expected, target, before=source.text)
    write.write_atomic(config.resolve(), text.encode("utf-8"))
    report(config, target, {"tag": old, "digest": old_digest})
    warn(warnings)
    return Change(target=target, old=old, old_digest=old_digest, spec=spec)


def read_as(
    old: str,
    new: str,
    data: dict[str, Any],
    expected: dict[str, Any],
    target: Target,
    *,
    added_at: int | None = None,
) -> bool:
    """Whether tomllib reads the edited text `new` as `expected` (`old` read as `data`): from
    the edited table's lines alone where edit.confined or edit.added show that suffices (a
    file written in `[...]` tables, as gitopsgen's own), else by reading the whole text."""
    before, after = data_entry(data, target), data_entry(expected, target)
    if after is not None:
        if before is not None and edit.confined(old, new, target.table, before, after):
            return True
        if added_at is not None and edit.added(
            old, new, at=added_at, table=target.table, after=after, data=data
        ):
            return True
    try:
        return tomllib.loads(new) == expected
    except tomllib.TOMLDecodeError:
        return False


def data_entry(data: dict[str, Any], target: Target) -> dict[str, Any] | None:
    """The target's table in tomllib's data, None where the file does not write it
    (structure() accepted the data, so every table on the way is one)."""
    node: Any = data
    for key in target.table:
        node = node.get(key) if isinstance(node, dict) else None
    return node if isinstance(node, dict) else None


def with_values(data: dict[str, Any], target: Target) -> dict[str, Any]:
    """The data with exactly the target's values set (None: unset); `data` is not changed."""

    def changed(node: dict[str, Any], path: KeyPath) -> dict[str, Any]:
        copy = dict(node)
        if not path:
            for key, value in target.values.items():
                if value is None:
                    copy.pop(key, None)
                else:
                    copy[key] = value
            return copy
        copy[str(path[0])] = changed(node.get(str(path[0]), {}), path[1:])
        return copy

    return changed(data, target.table)


def checked(
    config: Path,
    text: str,
    data: dict[str, Any],
    target: Target,
    *,
    spec: Spec | None = None,
    before: str | None = None,
) -> tuple[Spec, list[Problem]]:
    """The loader's verdict on `text` (whose data is `data`): its spec and the target's
    warnings, located. Structure and checks run on the data already parsed; any problem sends
    the text to the loader itself, which reports every problem as it always does (the file
    as it was read first, `before`, as the commands always did)."""
    if spec is None:
        spec, findings = structure(data)
        if findings:
            spec = None
    if spec is None or next(iter(checks.check(spec)), None) is not None:
        if before is not None:
            load_text(before, str(config))
        loaded = load_text(text, str(config))
        return loaded.spec, [w for w in loaded.warnings if under(w.path, target.table)]
    warnings = [
        located(config, text, path, message, target.table)
        for path, message in checks.warnings(spec)
        if under(path, target.table)
    ]
    return spec, sorted(warnings, key=lambda p: (p.line, p.col, str(p)))


def under(path: KeyPath, table: KeyPath) -> bool:
    return path[: len(table)] == table


def located(config: Path, text: str, path: KeyPath, message: str, table: KeyPath) -> Problem:
    """A warning at its place, as the loader places it (Locator), found without scanning the
    whole file when it is a key of the target's table."""
    position = None
    if len(path) == len(table) + 1:
        found = edit.find(text, table, (str(path[-1]),))
        if found is not None and str(path[-1]) in found.keys:
            offset = found.keys[str(path[-1])]
            line_start = text.rfind("\n", 0, offset) + 1
            position = (text.count("\n", 0, offset) + 1, offset - line_start + 1)
    line, col = position or Locator(text).locate(path)
    return Problem(file=str(config), line=line, col=col, path=path, message=message)


def fast_edited(text: str, spec: Spec, target: Target, entry: dict[str, Any] | None) -> str | None:
    """The text with the tag and the digest set (or the digest removed), edited where
    edit.find places the values; None where it cannot."""
    edited = fast_edit(text, spec, target, entry)
    return None if edited is None else edited[0]


def fast_edit(
    text: str, spec: Spec, target: Target, entry: dict[str, Any] | None
) -> tuple[str, int | None] | None:
    """fast_edited's text, and where a new table went into `text` (None: no new table, or
    not as lines of its own)."""
    has_tag = entry is not None and "tag" in entry
    has_digest = entry is not None and "digest" in entry
    at = None
    if not has_tag:
        order = promotion_order(spec.environments)
        placed = insertion(text, order, target, has_table=entry is not None)
        if placed is None:
            return None
        text, at = placed
    found = edit.find(text, target.table, ("tag", "digest"))
    if found is None or "tag" not in found.keys or ("digest" in found.keys) != has_digest:
        return None
    tag, digest = found.values["tag"], found.values.get("digest")
    if tag is None:
        return None
    splices = [] if not has_tag else [replacement(tag, target.tag)]
    if target.digest is None:
        if has_digest:
            if digest is None or not digest.own_line:
                return None  # in an inline table: tomlkit rewrites its spacing
            splices.append((digest.line_start, digest.line_end, ""))
    elif digest is not None:
        splices.append(replacement(digest, target.digest))
    elif has_digest:
        return None  # not a one-line string
    else:
        splices.append(digest_line_after(text, tag, target.digest))
    ready = [splice for splice in splices if splice is not None]
    if len(ready) != len(splices):
        return None
    for start, end, written in sorted(ready, reverse=True):  # from the end: offsets stay right
        text = text[:start] + written + text[end:]
    return text, at


Splice = tuple[int, int, str]  # text[start:end] becomes the string


def replacement(value: edit.Value, new: str) -> Splice | None:
    """The string `value` replaced by `new`, written as tag_item writes it."""
    literal = value.literal and "'" not in new and "\n" not in new
    written = edit.string(new, literal=literal)
    return None if written is None else (value.start, value.end, written)


def digest_line_after(text: str, tag: edit.Value, digest: str) -> Splice | None:
    """digest_after_tag's line, after the tag's line as edit.find found it."""
    line = text[tag.line_start : tag.line_end]
    match = _TAG_KEY.match(line)
    written = edit.string(digest)
    if match is None or tag.line_start + len(match["prefix"]) != tag.key or written is None:
        return None  # the tag is in an inline table: tomlkit places the digest
    newline = "\r\n" if line.endswith("\r\n") else "\n"
    ending = "" if line.endswith("\n") else newline  # the file ended without a newline
    return (tag.line_end, tag.line_end, f"{ending}{match['prefix']}digest = {written}{newline}")


def apply_slow(config: Path, text: str, spec: Spec, target: Target, *, loaded: bool) -> Change:
    """The edit through tomlkit, for every layout. The file as read must pass the loader's
    rules first (`loaded`: it did), the edited one before it is written."""
    if not loaded:
        load_text(text, str(config))
    result = edited(text, spec, target)
    if (result.old, result.old_digest) == (target.tag, target.digest):
        nothing_to_do(config, target)
        return Change(target=target, old=result.old, old_digest=result.old_digest, spec=spec)
    verify(text, result.text, target)
    # the loader's rules (e.g. no `latest`) before writing
    after = load_text(result.text, str(config))
    write.write_atomic(config.resolve(), result.text.encode("utf-8"))
    report(config, target, {"tag": result.old, "digest": result.old_digest})
    warn(w for w in after.warnings if under(w.path, target.table))
    return Change(target=target, old=result.old, old_digest=result.old_digest, spec=after.spec)


def nothing_to_do(config: Path, target: Target) -> None:
    where = f"{format_path(target.path)} in {config}"
    pinned = f" with digest {quoted(target.digest)}" if target.digest else ""
    print(f"{where} is already {quoted(target.tag)}{pinned}: nothing to do")


def report(config: Path, target: Target, old: dict[str, str | None]) -> None:
    """One line per value that changed: `services.a.envs.dev.tag in F: "1" -> "2"`."""
    origin = f" (from {target.source})" if target.source else ""
    for key, new in target.values.items():
        if old[key] != new:
            path = format_path((*target.table, key))
            print(f"{path} in {config}: {shown(old[key])} -> {shown(new)}{origin}")


def shown(value: str | None) -> str:
    return "unset" if value is None else quoted(value)


def warn(warnings: Iterable[Problem]) -> None:
    """The edited entry's warnings (e.g. a tag without a digest), as every command prints them."""
    for warning in warnings:
        print(f"{warning} (warning)", file=sys.stderr)


def quoted(value: str) -> str:
    return toml_string(value)


def toml_string(value: str, *, literal: bool = False) -> str:
    """The value as tomlkit writes a string, without importing it unless it must escape."""
    written = edit.string(value, literal=literal)
    if written is not None:
        return written
    import tomlkit  # noqa: PLC0415 (only for a value with characters to escape)

    return tomlkit.string(value, literal=literal).as_string()


def edited(text: str, spec: Spec, target: Target) -> Edit:
    """The text with the tag and the digest set (or the digest removed)."""
    tagged = edited_tag(text, spec, target)
    text, old_digest = edited_digest(tagged.text, target)
    return Edit(text=text, old=tagged.old, old_digest=old_digest)


def edited_tag(text: str, spec: Spec, target: Target) -> Edit:
    """The text with the tag set: replaced where it exists, inserted where it does not."""
    import tomlkit  # noqa: PLC0415 (the slow path only: seconds to import and parse)

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
    import tomlkit  # noqa: PLC0415 (the slow path only)

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
    line = f"{match['prefix']}digest = {toml_string(target.digest)}{newline}"
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
    import tomlkit.items  # noqa: PLC0415 (the slow path only)

    literal = (
        isinstance(like, tomlkit.items.String)
        and like.type == tomlkit.items.StringType.SLL
        and "'" not in tag
        and "\n" not in tag
    )
    return tomlkit.string(tag, literal=literal)


def headers(lines: list[str]) -> Iterator[Header]:
    """Every table header line, with its key path (quoted keys parsed by tomllib)."""
    for number, line in enumerate(lines):
        if line.lstrip(" \t").startswith("["):
            parsed = edit.header_path(line)
            if parsed is not None:
                yield Header(line=number, path=parsed[0], array=parsed[1])


def insert_as_text(text: str, order: list[str], target: Target, *, has_table: bool) -> str | None:
    """Insert `tag = ...` under the env's header, or a new env table beside its siblings.

    Returns None when the file does not lay the service out in header tables (inline tables,
    dotted keys): then tomlkit places the value.
    """
    placed = insertion(text, order, target, has_table=has_table)
    return None if placed is None else placed[0]


def insertion(
    text: str, order: list[str], target: Target, *, has_table: bool
) -> tuple[str, int | None] | None:
    """insert_as_text's text, and the offset in `text` where the lines went in (None: the
    line before them had to get its missing newline first)."""
    lines = text.splitlines(keepends=True)
    newline = "\r\n" if lines and lines[0].endswith("\r\n") else "\n"
    found = list(headers(lines))
    tag_line = f"tag = {toml_string(target.tag)}{newline}"
    table_path = target.path[:-1]
    if has_table:
        own = [h for h in found if h.path == table_path and not h.array]
        if len(own) != 1:
            return None
        at = own[0].line + 1
        return "".join([*lines[:at], tag_line, *lines[at:]]), None
    new_table = [newline, f"[{dotted(table_path)}]{newline}", tag_line]
    anchor = anchor_line(lines, found, order, target)
    if anchor is None:
        return None
    offset: int | None = sum(map(len, lines[:anchor]))
    if anchor and not lines[anchor - 1].endswith("\n"):
        lines[anchor - 1] += newline  # the file ended without a newline
        offset = None
    return "".join([*lines[:anchor], *new_table, *lines[anchor:]]), offset


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
    import tomlkit  # noqa: PLC0415 (the slow path only)

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
