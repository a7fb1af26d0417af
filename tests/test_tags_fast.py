"""The fast path of `set-image` and `promote` writes what the tomlkit path writes, or declines."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import tomlkit

from generator.cli import main
from generator.commands import tags
from generator.spec import edit
from generator.spec.errors import InputError
from generator.spec.load import load_text
from generator.spec.locate import Locator
from tests.conftest import SPECS

NEW = "sha256:" + "1a" * 32
OLD = "sha256:" + "2b" * 32

HEAD = """\
[gitops]
repo = "acme/gitops"
generator = "gitopsgen @ git+https://github.com/bank-org/gitopsgen@fd0cbc4f9db151ed07109a4340d6145c805f7f00"
[cloud]
provider = "aws"
region = "eu-west-1"
account = "222222222222"

[platform]
owners = ["@acme/platform"]

[environments.dev]
cluster = "https://dev.example"

[environments.staging]
cluster = "https://staging.example"
promote_from = "dev"

[environments.prod]
cluster = "https://prod.example"
promote_from = "staging"

[teams.web]
owners = ["@acme/web"]

[services.other]
team = "web"

[services.other.envs.dev]
tag = "0.0.1"
digest = "sha256:{other}"
"""

# Each layout the services file may write `services.hello`'s environments in.
LAYOUTS = {
    "tables": """\
[services.hello]
team = "web"

[services.hello.envs.dev]
tag = "1.0.0"
digest = "{old}"

[services.hello.envs.staging]
tag = "0.9.0"

# prod is not deployed yet
""",
    "comments after the values": """\
[services.hello]
team = "web"

[services.hello.envs.dev]  # the first environment
tag = "1.0.0"    # what the intake wrote
digest = "{old}"  # the image the tag named
replicas = 2

[services.hello.envs.staging]
tag = "0.9.0"  # older
""",
    "literal strings": """\
[services.hello]
team = "web"

[services.hello.envs.dev]
tag = '1.0.0'
digest = '{old}'

[services.hello.envs.staging]
tag = '0.9.0'
""",
    "indented, spaced": """\
[services.hello]
team = "web"

  [services.hello.envs.dev]
    tag   =   "1.0.0"
    digest	=	"{old}"	# tabs

  [services.hello.envs.staging]
    replicas = 1
""",
    "digest first": """\
[services.hello]
team = "web"

[services.hello.envs.dev]
digest = "{old}"
tag = "1.0.0"
[services.hello.envs.staging]
tag = "0.9.0"
""",
    "quoted header keys": """\
[services."hello"]
team = "web"

[services."hello".envs.'dev']
tag = "1.0.0"
digest = "{old}"
""",
    "dotted keys": """\
[services.hello]
team = "web"
envs.dev.tag = "1.0.0"
envs.dev.digest = "{old}"
envs.staging.tag = "0.9.0"
port = 0
""",
    "dotted keys under the envs table": """\
[services.hello]
team = "web"

[services.hello.envs]
dev.tag = "1.0.0"
dev . digest = "{old}"  # spaced
staging.tag = "0.9.0"
""",
    "dotted keys under the services table": """\
[services]
hello.team = "web"
hello.envs.dev.tag = "1.0.0"
hello.envs.dev.digest = "{old}"
""",
    "inline environment table": """\
[services.hello]
team = "web"
envs.dev = { tag = "1.0.0", digest = "{old}" }
envs.staging = { tag = "0.9.0" }
""",
    "inline envs": """\
[services.hello]
team = "web"
envs = { dev = { tag = "1.0.0", digest = "{old}" }, staging = { tag = "0.9.0" } }
""",
    "no newline at the end": """\
[services.hello]
team = "web"

[services.hello.envs.dev]
digest = "{old}"
tag = "1.0.0\"""",
    "no environments": """\
[services.hello]
team = "web"
port = 0
""",
}

# What `set-image hello ENV TAG [--digest D]` writes: (ENV, TAG, D).
EDITS: dict[str, tuple[str, str, str | None]] = {
    "replace tag and digest": ("dev", "1.1.0", NEW),
    "replace tag, drop digest": ("dev", "1.1.0", None),
    "same tag, new digest": ("dev", "1.0.0", NEW),
    "add a digest": ("staging", "0.9.1", NEW),  # staging's tag without a digest, or no tag
    "tag only": ("staging", "0.9.1", None),
    "new environment": ("prod", "2.0.0", NEW),
    "new environment, no digest": ("prod", "2.0.0", None),
}

# The edits the fast path leaves to tomlkit: an inline table gaining or losing a key (tomlkit
# rewrites its spacing), a new environment where `[services.hello.envs]` holds them, and one
# its text insertion gets wrong (a new table after an inline `envs`: tomllib refuses the text).
SLOW = {
    ("inline environment table", "replace tag, drop digest"),
    ("inline environment table", "add a digest"),
    ("inline envs", "replace tag, drop digest"),
    ("inline envs", "add a digest"),
    ("inline envs", "new environment"),
    ("inline envs", "new environment, no digest"),
    ("dotted keys under the envs table", "new environment"),
    ("dotted keys under the envs table", "new environment, no digest"),
}
# Where the tomlkit path itself fails (tomlkit misplaces a table added under dotted keys of a
# super-table; the command stops before writing, exit 3): the fast path declines them too.
BROKEN = {
    ("dotted keys under the services table", change)
    for change in ("add a digest", "tag only", "new environment", "new environment, no digest")
}


def spec_text(layout: str, *, crlf: bool = False) -> str:
    text = HEAD.replace("{other}", "3c" * 32) + "\n" + LAYOUTS[layout].replace("{old}", OLD)
    return text.replace("\n", "\r\n") if crlf else text


def target_of(env: str, tag: str, digest: str | None) -> tags.Target:
    return tags.Target(service="hello", env=env, tag=tag, digest=digest, source=None)


def both_paths(text: str, target: tags.Target) -> tuple[str | None, str]:
    """What the fast path writes (None: it declines) and what the tomlkit path writes."""
    spec = load_text(text, "services.toml").spec
    data = tomllib.loads(text)
    fast = tags.fast_edited(text, spec, target, tags.data_entry(data, target))
    try:
        if fast is not None and tomllib.loads(fast) != tags.with_values(data, target):
            fast = None  # apply_fast checks exactly this before it writes
    except tomllib.TOMLDecodeError:
        fast = None
    return fast, tags.edited(text, spec, target).text


@pytest.mark.parametrize("crlf", [False, True], ids=["lf", "crlf"])
@pytest.mark.parametrize("change", list(EDITS))
@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_the_fast_path_writes_what_tomlkit_writes(layout: str, change: str, crlf: bool) -> None:
    text = spec_text(layout, crlf=crlf)
    env, tag, digest = EDITS[change]
    target = target_of(env, tag, digest)
    if (layout, change) in BROKEN:
        spec = load_text(text, "services.toml").spec
        entry = tags.data_entry(tomllib.loads(text), target)
        assert tags.fast_edited(text, spec, target, entry) is None
        return
    fast, slow = both_paths(text, target)
    data = tomllib.loads(slow)
    assert data == tags.with_values(tomllib.loads(text), target)  # the tomlkit path is right
    if (layout, change) in SLOW:
        assert fast is None
    else:
        assert fast == slow


def test_the_tables_of_exceptions_name_real_cases() -> None:
    """A typo in SLOW or BROKEN would silently test nothing."""
    assert all(layout in LAYOUTS and change in EDITS for layout, change in SLOW | BROKEN)


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_the_fast_path_only_touches_the_values(layout: str) -> None:
    """Replacing in place changes the value's bytes and nothing else on its line."""
    text = spec_text(layout)
    target = target_of("dev", "1.0.1", NEW)
    fast, slow = both_paths(text, target)
    if "dev" not in tomllib.loads(text)["services"]["hello"].get("envs", {}):
        return
    assert fast == slow
    assert fast == text.replace("1.0.0", "1.0.1").replace(OLD, NEW)


def test_the_commands_take_the_fast_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "services.toml"
    text = spec_text("comments after the values")
    path.write_text(text, encoding="utf-8")

    def no_slow_path(*_: object, **__: object) -> tags.Change:
        raise AssertionError("the slow path ran")

    monkeypatch.setattr(tags, "apply_slow", no_slow_path)
    assert main(["set-image", "hello", "dev", "1.1.0", "--digest", NEW, "-c", str(path)]) == 0
    assert main(["promote", "hello", "--to", "staging", "-c", str(path)]) == 0
    assert main(["promote", "hello", "--to", "prod", "-c", str(path)]) == 0
    assert main(["set-image", "hello", "prod", "1.1.0", "-c", str(path)]) == 0
    assert main(["set-image", "hello", "prod", "1.1.0", "-c", str(path)]) == 0
    after = tomllib.loads(path.read_text(encoding="utf-8"))["services"]["hello"]["envs"]
    assert after["dev"] == {"tag": "1.1.0", "digest": NEW, "replicas": 2}
    assert after["staging"] == {"tag": "1.1.0", "digest": NEW}
    assert after["prod"] == {"tag": "1.1.0"}  # set-image without --digest dropped it
    out, err = capsys.readouterr()
    assert out.splitlines()[-1] == (
        f'services.hello.envs.prod.tag in {path} is already "1.1.0": nothing to do'
    )
    line = path.read_text(encoding="utf-8").splitlines().index("[services.hello.envs.prod]") + 2
    assert err == (
        f"{path}:{line}:1: services.hello.envs.prod.tag: has no digest: the tag is mutable, so"
        " the image it names can change under it; record the digest with gitopsgen set-image"
        " hello prod 1.1.0 --digest sha256:... (warning)\n"
    )


def test_tomlkit_is_only_imported_on_the_slow_path(tmp_path: Path) -> None:
    path = tmp_path / "services.toml"
    path.write_text(spec_text("tables"), encoding="utf-8")
    program = (
        "import sys\n"
        "from generator.cli import main\n"
        f"code = main(['promote', 'hello', '--to', 'prod', '-c', {str(path)!r}])\n"
        "print(code, 'tomlkit' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True
    )
    assert result.stdout.splitlines()[-1] == "0 False"
    path.write_text(spec_text("inline envs"), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True
    )
    assert result.stdout.splitlines()[-1] == "0 True"


# A multi-line string holding lines that read as headers, staging's among them: the fast path
# takes it for staging's table and inserts prod inside the string; tomllib sees it change.
TRAP = """\
[services.hello]
team = "web"

[services.hello.config]
NOTES = \"\"\"
[services.hello.envs.staging]
see the runbook
[end]
\"\"\"

[services.hello.envs.dev]
tag = "1.0.0"

[services.hello.envs.staging]
tag = "0.9.0"
"""


def test_an_edit_the_fast_path_gets_wrong_is_made_by_tomlkit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = HEAD.replace("{other}", "3c" * 32) + "\n" + TRAP
    target = target_of("prod", "0.9.0", None)
    data = tomllib.loads(text)
    spec = load_text(text, "services.toml").spec
    wrong = tags.fast_edited(text, spec, target, tags.data_entry(data, target))
    assert wrong is not None
    notes = data["services"]["hello"]["config"]["NOTES"]
    assert tomllib.loads(wrong)["services"]["hello"]["config"]["NOTES"] != notes
    path = tmp_path / "services.toml"
    path.write_text(text, encoding="utf-8")
    assert main(["promote", "hello", "--to", "prod", "-c", str(path)]) == 0
    after = path.read_text(encoding="utf-8")
    assert after == tags.edited(text, spec, target).text
    assert tomllib.loads(after) == tags.with_values(data, target)
    assert "services.hello.envs.prod.tag in" in capsys.readouterr().out


def test_an_inline_table_losing_its_digest_is_edited_by_tomlkit(tmp_path: Path) -> None:
    path = tmp_path / "services.toml"
    text = spec_text("inline envs")
    path.write_text(text, encoding="utf-8")
    assert main(["set-image", "hello", "dev", "1.1.0", "-c", str(path)]) == 0
    assert path.read_text(encoding="utf-8") == text.replace(
        f'{{ tag = "1.0.0", digest = "{OLD}" }}', '{ tag = "1.1.0"  }'
    )


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_warnings_are_located_as_the_loader_locates_them(layout: str) -> None:
    text = spec_text(layout)
    for env in ("dev", "staging"):
        for key in ("tag", "digest", "replicas"):
            path = ("services", "hello", "envs", env, key)
            problem = tags.located(Path("f"), text, path, "m", path[:-1])
            assert (problem.line, problem.col) == Locator(text).locate(path), path


@pytest.mark.parametrize("name", ["reference", "gcp", "minimal", "canary-variants"])
def test_the_check_of_parsed_data_is_the_loaders(name: str) -> None:
    text = (SPECS / f"{name}.toml").read_text(encoding="utf-8")
    loaded = load_text(text, "f")
    data = tomllib.loads(text)
    for service, entry in loaded.spec.services.items():
        for env in [*entry.envs, "nowhere"]:
            target = tags.Target(service=service, env=env, tag="t", digest=None, source=None)
            spec, warnings = tags.checked(Path("f"), text, data, target)
            assert spec == loaded.spec
            assert warnings == [w for w in loaded.warnings if tags.under(w.path, target.table)]


def test_the_check_of_parsed_data_reports_as_the_loader() -> None:
    text = spec_text("tables").replace(
        '[services.hello]\nteam = "web"', '[services.hello]\nteam = "wbe"'
    )
    with pytest.raises(InputError) as from_loader:
        load_text(text, "f")
    with pytest.raises(InputError) as from_check:
        tags.checked(Path("f"), text, tomllib.loads(text), target_of("dev", "1", None))
    assert str(from_check.value) == str(from_loader.value)


def test_headers_are_found_as_tomllib_reads_them() -> None:
    assert edit.header_path("[services.a-b . envs.dev]  # c\r\n") == (
        ("services", "a-b", "envs", "dev"),
        False,
    )
    assert edit.header_path('[[ "a.b" . c ]]') == (("a.b", "c"), True)
    assert edit.header_path("[services.a\\u0041]") is None
    assert edit.header_path("[1, 2]") is None
    assert edit.header_path("[a]]") is None


@pytest.mark.parametrize(
    ("value", "literal", "written"),
    [
        ("v1.2.3", False, '"v1.2.3"'),
        ("v1.2.3", True, "'v1.2.3'"),
        ("caf\u00e9", False, '"caf\u00e9"'),
        ('a"b', False, None),
        ("a\\b", False, None),
        ("a\tb", False, None),
        ("a\tb", True, "'a\tb'"),
        ("it's", True, None),
        ("a\x7fb", True, None),
    ],
)
def test_strings_are_written_as_tomlkit_writes_them(
    value: str, literal: bool, written: str | None
) -> None:
    assert edit.string(value, literal=literal) == written
    if written is not None:
        assert tomlkit.string(value, literal=literal).as_string() == written
    assert tags.toml_string(value) == tomlkit.string(value).as_string()


# The layouts whose edits are judged from the edited table's lines alone (edit.confined and
# edit.added), without reading the whole file again: tables of their own.
JUDGED_ALONE = ("tables", "comments after the values", "literal strings", "digest first")


@pytest.mark.parametrize("crlf", [False, True], ids=["lf", "crlf"])
@pytest.mark.parametrize("change", list(EDITS))
@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_a_table_judged_alone_reads_as_the_whole_file(layout: str, change: str, crlf: bool) -> None:
    """Where the edited table's lines are judged to suffice, tomllib reading the file agrees."""
    text = spec_text(layout, crlf=crlf)
    target = target_of(*EDITS[change])
    data = tomllib.loads(text)
    expected = tags.with_values(data, target)
    spec = load_text(text, "services.toml").spec
    if (layout, change) in BROKEN:
        return
    edited = tags.fast_edit(text, spec, target, tags.data_entry(data, target))
    if edited is None:
        return
    new, at = edited
    before, after = tags.data_entry(data, target), tags.data_entry(expected, target)
    assert after is not None
    alone = (before is not None and edit.confined(text, new, target.table, before, after)) or (
        at is not None and edit.added(text, new, at=at, table=target.table, after=after, data=data)
    )
    if alone:
        assert tomllib.loads(new) == expected
    assert alone or layout not in JUDGED_ALONE


@pytest.mark.parametrize(
    "text",
    [
        'x = [\n[1]\n]\n[a]\nk = "v"\n',  # an array's element reads as a header
        "x = [\n[true] # a comment\n]\n[a]\n",
        'x = [\n["a"]\n]\n[a]\n',
        '[a."b#c"]\nk = 1\n',  # a header that does not read as one
        '[a]\ns = """\n[b]\n"""\n',  # a header in a string
        "[a]\ns = '''x'''\n",
        "[ 'a' ]\n",
    ],
)
def test_headers_are_certain_only_where_every_header_line_is_one(text: str) -> None:
    tomllib.loads(text)
    assert edit.certain_headers(text) is None


def test_certain_headers() -> None:
    text = "[a]\nx = [\n  [1, 2],\n  [3],\n]\n[[b.c]]  # d\n[b.c.e-f]\n"
    assert [(h.path, h.array) for h in edit.certain_headers(text) or ()] == [
        (("a",), False),
        (("b", "c"), True),
        (("b", "c", "e-f"), False),
    ]


CONFINED = """\
[services.hello.envs.dev]
tag = "1"
digest = "d"

[services.hello.envs.prod]
tag = "2"
"""


@pytest.mark.parametrize(
    ("old", "new"),
    [
        # the table gets a key from elsewhere
        (CONFINED + "[services.hello.envs.dev.config]\nA = 'b'\n", None),
        # the edit reaches past the table's lines, or changes its header
        (CONFINED, CONFINED.replace('"1"', '"9"').replace('"2"', '"9"')),
        (CONFINED, CONFINED.replace("[services.hello.envs.dev]", "[services.hello.envs.'dev']")),
        (CONFINED, CONFINED.replace('tag = "1"\n', 'tag = "9"').replace('"d"', '"e"')),
        (CONFINED, 'services.hello.envs.dev.tag = "9"\n' + CONFINED.split("\n", 1)[1]),
        # the table is not one header table of its own
        (CONFINED.replace("[services.hello.envs.dev]", "[[services.hello.envs.dev]]"), None),
    ],
)
def test_a_table_is_not_judged_alone_where_that_is_unsound(old: str, new: str | None) -> None:
    table = ("services", "hello", "envs", "dev")
    new = old.replace('"1"', '"9"') if new is None else new
    before = tomllib.loads(old)["services"]["hello"]["envs"]["dev"]
    if isinstance(before, list):
        before = before[0]
    assert not edit.confined(old, new, table, before, {**before, "tag": "9"})


ADDED = CONFINED + "# the end\n"


@pytest.mark.parametrize(
    ("old", "at", "lines"),
    [
        (ADDED, ADDED.index("[services.hello.envs.prod]"), '[services.hello.envs.qa]\ntag = "3"\n'),
        (ADDED, len(ADDED), '[services.hello.envs.qa]\ntag = "3"\n'),
        (ADDED, ADDED.index("# the end"), '\n[services.hello.envs.qa]\ntag = "3"\n'),
    ],
)
def test_a_new_table_is_judged_alone(old: str, at: int, lines: str) -> None:
    new = old[:at] + lines + old[at:]
    data = tomllib.loads(old)
    table = ("services", "hello", "envs", "qa")
    assert edit.added(old, new, at=at, table=table, after={"tag": "3"}, data=data)
    assert not edit.added(old, new, at=at, table=table, after={"tag": "4"}, data=data)


@pytest.mark.parametrize(
    ("old", "at"),
    [
        # inside a table, before its last key: the key would move into the new table
        (ADDED, ADDED.index('tag = "2"')),
        (ADDED, ADDED.index('tag = "2"') + 1),  # not at a line's start
        # envs is an inline table: no header may add to it
        ('[services.hello]\nenvs = { dev = { tag = "1" } }\n', None),
        ("[services]\nhello.envs.dev.tag = 'x'\n", None),  # no header below services.hello
        (
            ADDED.replace(
                "[services.hello.envs.prod]", 's = """\n[x]\n"""\n[services.hello.envs.prod]'
            ),
            None,
        ),
    ],
)
def test_a_new_table_is_not_judged_alone_where_that_is_unsound(old: str, at: int | None) -> None:
    at = len(old) if at is None else at
    lines = '[services.hello.envs.qa]\ntag = "3"\n'
    data = tomllib.loads(old)
    table = ("services", "hello", "envs", "qa")
    assert not edit.added(
        old, old[:at] + lines + old[at:], at=at, table=table, after={"tag": "3"}, data=data
    )


def test_an_existing_table_is_not_added() -> None:
    table = ("services", "hello", "envs", "prod")
    new = ADDED + '[services.hello.envs.prod]\ntag = "3"\n'
    data = tomllib.loads(ADDED)
    assert not edit.added(ADDED, new, at=len(ADDED), table=table, after={"tag": "3"}, data=data)


def test_a_table_is_judged_alone() -> None:
    table = ("services", "hello", "envs", "dev")
    new = CONFINED.replace('"1"', '"9"').replace('digest = "d"\n', "")
    assert edit.confined(CONFINED, new, table, {"tag": "1", "digest": "d"}, {"tag": "9"})
    assert not edit.confined(CONFINED, new, table, {"tag": "1", "digest": "d"}, {"tag": "1"})


@pytest.mark.parametrize("name", ["reference", "gcp", "minimal", "canary-variants"])
def test_the_fixture_files_are_edited_as_tomlkit_edits_them(name: str) -> None:
    """Every service and environment of the fixture files, with and without a digest."""
    text = (SPECS / f"{name}.toml").read_text(encoding="utf-8")
    spec = load_text(text, "f").spec
    data = tomllib.loads(text)
    fast_ones = 0
    for service in spec.services:
        for env in spec.environments:
            for digest in (NEW, None):
                target = tags.Target(
                    service=service, env=env, tag="9.9.9", digest=digest, source=None
                )
                edited = tags.fast_edit(text, spec, target, tags.data_entry(data, target))
                slow = tags.edited(text, spec, target).text
                if edited is None:
                    continue
                new, at = edited
                expected = tags.with_values(data, target)
                if tags.read_as(text, new, data, expected, target, added_at=at):
                    assert new == slow, (service, env, digest)
                    fast_ones += 1
    assert fast_ones >= len(spec.services) * len(spec.environments)  # the files use tables
