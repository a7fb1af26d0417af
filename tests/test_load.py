"""The TOML key locator and the loader's handling of files that are not valid input."""

from __future__ import annotations

import copy
import json
import tomllib
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from generator.render import render_tree
from generator.resolve import resolve
from generator.spec import checks
from generator.spec.errors import InputError, KeyPath, Problem
from generator.spec.load import Loaded, load_file, load_text
from generator.spec.locate import Locator

SPECS = Path(__file__).parent / "data" / "specs"
SPEC_FILES = sorted(SPECS.glob("*.toml"))


def where(text: str, *path: str | int) -> tuple[int, int]:
    tomllib.loads(text)  # every case is valid TOML
    found = Locator(text).find(path)
    assert found is not None, f"{path} not located"
    return found


def mark(text: str) -> tuple[str, tuple[int, int]]:
    """Text with a `^` marking where the key is expected: (clean text, (line, col))."""
    lines = text.split("\n")
    for number, line in enumerate(lines, start=1):
        if "^" in line:
            col = line.index("^") + 1
            return text.replace("^", "", 1), (number, col)
    raise AssertionError("no ^ marker")


# Each case: TOML with `^` right before the key (or element) that the path names.
LOCATED: list[tuple[str, KeyPath]] = [
    ('[gitops]\n^repo = "a/b"\n', ("gitops", "repo")),
    ('[^gitops]\nrepo = "a/b"\n', ("gitops",)),
    ("[services.^api]\nteam = 'x'\n", ("services", "api")),
    ("[^services.api]\nteam = 'x'\n", ("services",)),
    ("[ services . ^api ]\nteam = 'x'\n", ("services", "api")),
    ('[services.^"my.api"]\nteam = "x"\n', ("services", "my.api")),
    ("[services.^'lit']\nteam = 'x'\n", ("services", "lit")),
    ('["a\\u0062c".^d]\n', ("abc", "d")),
    ("[a]\nb.c.^d = 1\n", ("a", "b", "c", "d")),
    ("[a]\n^b.c.d = 1\n", ("a", "b")),
    ("[a]\nb . ^c = 1\n", ("a", "b", "c")),
    ('[a]\n"quoted key".^x = 1\n', ("a", "quoted key", "x")),
    ("a = { b = { ^c = 1 } }\n", ("a", "b", "c")),
    ("a = { ^b = { c = 1 } }\n", ("a", "b")),
    ("a = { b.^c = 1, d = 2 }\n", ("a", "b", "c")),
    ("a = { b = 1, ^d = 2 }\n", ("a", "d")),
    ("a = [1, ^2, 3]\n", ("a", 1)),
    ("a = [\n  1,\n  ^2,\n]\n", ("a", 1)),
    ("a = [\n  1, # one, two\n  # [3] = x\n  ^2,\n]\n", ("a", 1)),
    ("a = [[1, 2], [3, ^4]]\n", ("a", 1, 1)),
    ("a = [{ x = 1 }, { ^x = 2 }]\n", ("a", 1, "x")),
    ("a = [\n  { x = 1 },\n  ^{ x = 2 },\n]\n", ("a", 1)),
    ('a = ["[not, a table]", ^"b"]\n', ("a", 1)),
    ("a = ['x, y', ^'z']\n", ("a", 1)),
    ('a = "# not a comment = [x]"\n^b = 1\n', ("b",)),
    ("a = '# [b] = c'\n^b = 1\n", ("b",)),
    ('a = """\n[fake]\nb = 1 # \\""" x\n"""\n^b = 2\n', ("b",)),
    ("a = '''\n[fake]\nb = 1\n'''\n^b = 2\n", ("b",)),
    ('a = """x"""""\n^b = 2\n', ("b",)),
    ("a = '''x'''''\n^b = 2\n", ("b",)),
    ('a = "quote \\" = [x"\n^b = 1\n', ("b",)),
    ("a = 1979-05-27 07:32:00Z # when\n^b = 1\n", ("b",)),
    ("a = 1 # c = 2\n[t] # [u]\n^x = 1\n", ("t", "x")),
    ("a = [1,2] # ]\n^b = 1\n", ("b",)),
    # Arrays of tables: each header is its own element; index counts per array.
    ("[[^w]]\nk = 1\n[[w]]\nk = 2\n", ("w",)),
    ("[[^w]]\nk = 1\n[[w]]\nk = 2\n", ("w", 0)),
    ("[[w]]\nk = 1\n[[^w]]\nk = 2\n", ("w", 1)),
    ("[[w]]\nk = 1\n[[w]]\n^k = 2\n", ("w", 1, "k")),
    ("[[a.^w]]\nk = 1\n[[b.w]]\nk = 1\n[[a.w]]\nk = 2\n", ("a", "w", 0)),
    ("[[a.w]]\nk = 1\n[[b.w]]\nk = 1\n[[a.^w]]\nk = 2\n", ("a", "w", 1)),
    ("[[a.w]]\nk = 1\n[[b.w]]\n^k = 1\n", ("b", "w", 0, "k")),
    ("[[f]]\n[[f.v]]\n[[f]]\n[[f.v]]\n[[f.v]]\n^n = 1\n", ("f", 1, "v", 1, "n")),
    ("[[f]]\n[f.^meta]\nx = 1\n", ("f", 0, "meta")),
    ("[[f]]\n[[f]]\n[f.meta]\n^x = 1\n", ("f", 1, "meta", "x")),
    (
        "[environments.prod]\nx = 1\n[[environments.prod.^sync_windows]]\nkind = 'allow'\n",
        ("environments", "prod", "sync_windows", 0),
    ),
    # A table defined by its own header beats one implied by an earlier, longer header.
    ("[a.b.c]\nx = 1\n[a.^b]\ny = 2\n", ("a", "b")),
    ("[^a.b.c]\nx = 1\n", ("a",)),
    ("[^a]\r\nb = 1\r\n", ("a",)),
    ("[a]\r\n^b = 1\r\n", ("a", "b")),
    ("[a]\n\t^b\t=\t1\n", ("a", "b")),
    ("  [  ^a  ]  # x\n", ("a",)),
    ("a = {}\n^b = []\n", ("b",)),
    ("a = { b = [ { c = [ { ^d = 1 } ] } ] }\n", ("a", "b", 0, "c", 0, "d")),
]


@pytest.mark.parametrize(("marked", "path"), LOCATED)
def test_locator_finds_the_key(marked: str, path: KeyPath) -> None:
    text, expected = mark(marked)
    assert where(text, *path) == expected


def test_locator_falls_back_to_the_nearest_ancestor() -> None:
    locator = Locator("[a]\nb = { c = 1 }\n")
    assert locator.locate(("a", "b", "missing", 3)) == (2, 1)
    assert locator.locate(("a", "b", "c", 3)) == (2, 7)
    assert locator.locate(("a", "missing")) == (1, 2)
    assert locator.locate(("nothing",)) == (1, 1)
    assert locator.find(("a", "missing")) is None


def test_locator_survives_text_that_is_not_toml() -> None:
    locator = Locator('[a]\nb = "unterminated\n')
    assert locator.locate(("a", "b")) == (2, 1)
    assert Locator("").locate(("a",)) == (1, 1)


def test_locator_places_every_key_of_the_reference_file() -> None:
    text = (SPECS / "reference.toml").read_text(encoding="utf-8")
    locator = Locator(text)
    lines = text.split("\n")

    def walk(value: object, path: KeyPath) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                found = locator.find((*path, key))
                assert found is not None, (*path, key)
                line, col = found
                assert lines[line - 1][col - 1 :].startswith(key), (path, key, found)
                walk(inner, (*path, key))
        elif isinstance(value, list):
            for index, inner in enumerate(value):
                assert locator.find((*path, index)) is not None, (*path, index)
                walk(inner, (*path, index))

    walk(tomllib.loads(text), ())
    assert locator.find(("services", "payments-api", "canary", "steps", 2, "pause")) == (104, 18)
    assert locator.find(("environments", "prod", "tolerations", 0, "effect")) == (56, 73)


# --- the loader on input that is not a services file ----------------------------------------


def problems(text: str) -> list[str]:
    with pytest.raises(InputError) as caught:
        load_text(text, "s.toml")
    return [str(p) for p in caught.value.problems]


def test_toml_syntax_error_is_located() -> None:
    assert problems('[gitops]\nrepo = "a/b\n') == [
        "s.toml:2:12: TOML syntax error: Illegal character '\\n'"
    ]


def test_toml_syntax_error_at_end_of_document() -> None:
    assert problems("[gitops]\nrepo =") == ["s.toml:2:7: TOML syntax error: Invalid value"]


def test_toml_duplicate_table_names_the_key_in_dots() -> None:
    assert problems("[a.b]\n[a.b]\n") == [
        "s.toml:2:5: TOML syntax error: Cannot declare [a.b] twice"
    ]


def test_missing_file_is_a_problem_not_a_traceback(tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        load_file(tmp_path / "nope.toml")
    assert [str(p) for p in caught.value.problems] == [
        f"{tmp_path / 'nope.toml'}: cannot read the services file: No such file or directory"
    ]


def test_directory_is_a_problem_not_a_traceback(tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        load_file(tmp_path)
    assert [str(p) for p in caught.value.problems] == [
        f"{tmp_path}: cannot read the services file: Is a directory"
    ]


def test_file_that_is_not_utf8_is_located(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_bytes(b'[gitops]\nrepo = "caf\xe9"\n')
    with pytest.raises(InputError) as caught:
        load_file(path)
    assert [str(p) for p in caught.value.problems] == [
        f"{path}:2:12: not UTF-8 text (TOML must be UTF-8): byte 0xe9 is invalid"
    ]


# The reference file keeps one entry from before digests, so the migration path stays rendered.
EXPECTED_WARNINGS = {
    "reference": [
        "188:1: services.ledger-worker.envs.dev.tag: has no digest: the tag is mutable, so the"
        " image it names can change under it; record the digest with gitopsgen set-image"
        " ledger-worker dev sha-0a1b2c3 --digest sha256:..."
    ]
}


def test_reference_specs_load_without_problems() -> None:
    for name in ("reference", "gcp", "minimal"):
        path = SPECS / f"{name}.toml"
        loaded = load_file(path)
        expected = [f"{path}:{line}" for line in EXPECTED_WARNINGS.get(name, [])]
        assert [str(warning) for warning in loaded.warnings] == expected
        assert loaded.spec.services


def _value_paths(value: object, path: KeyPath = ()) -> list[KeyPath]:
    found: list[KeyPath] = []
    items = (
        value.items()
        if isinstance(value, dict)
        else enumerate(value)
        if isinstance(value, list)
        else ()
    )
    for key, inner in items:
        found += [(*path, key), *_value_paths(inner, (*path, key))]
    return found


def _inline(value: object) -> str:
    """A TOML value on one line (JSON's string escapes are TOML's too)."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, dict):
        pairs = ", ".join(f"{json.dumps(k)} = {_inline(v)}" for k, v in value.items())
        return f"{{ {pairs} }}"
    if isinstance(value, list):
        return "[" + ", ".join(_inline(v) for v in value) + "]"
    return json.dumps(value)


@pytest.mark.parametrize("path", SPEC_FILES, ids=[path.stem for path in SPEC_FILES])
def test_every_fixture_spec_loads_resolves_and_renders(path: Path) -> None:
    loaded = load_file(path)
    expected = [f"{path}:{line}" for line in EXPECTED_WARNINGS.get(path.stem, [])]
    assert [str(warning) for warning in loaded.warnings] == expected
    tree = render_tree(resolve(loaded.spec))
    assert all(
        f"apps/{name}/base/{'values' if service.chart else 'kustomization'}.yaml" in tree
        for name, service in loaded.spec.services.items()
    )


def _rendered_objects(tree: dict[str, str], service: str) -> set[tuple[str, str]]:
    """(kind, name) of every object in the service's base, and of its generated ConfigMaps."""
    yaml = YAML(typ="safe")
    found: set[tuple[str, str]] = set()
    base = f"apps/{service}/base/"
    for path, text in tree.items():
        if path.startswith(base) and path.endswith(".yaml"):
            doc = yaml.load(text)
            if doc.get("kind") not in ("Kustomization", None) and "metadata" in doc:
                found.add((doc["kind"], doc["metadata"]["name"]))
        elif path.startswith(f"apps/{service}/overlays/") and path.endswith("kustomization.yaml"):
            found |= {
                ("ConfigMap", g["name"]) for g in yaml.load(text).get("configMapGenerator", [])
            }
    return found


@pytest.mark.parametrize("path", SPEC_FILES, ids=[path.stem for path in SPEC_FILES])
def test_the_collision_rule_knows_every_object_a_service_renders(path: Path) -> None:
    spec = load_file(path).spec
    tree = render_tree(resolve(spec))
    for name, service in spec.services.items():
        listed = {(o.kind, o.name) for o in checks.rendered_objects(name, service)}
        rendered = _rendered_objects(tree, name)
        if not service.envs:  # no overlay: no ConfigMap is generated
            listed = {(kind, n) for kind, n in listed if kind != "ConfigMap"}
        assert listed == rendered, name


@pytest.mark.parametrize("spec", ["reference", "gcp", "canary-variants"])
def test_any_wrong_value_anywhere_is_a_located_problem_never_a_crash(spec: str) -> None:
    # Replace each value of a fixture file in turn by a value of another shape: the loader
    # either accepts it or reports located problems; nothing else may escape. What it accepts
    # renders without an exception (a renderer raising would be exit 3, not 2).
    data = tomllib.loads((SPECS / f"{spec}.toml").read_text(encoding="utf-8"))
    substitutes: list[object] = ["x", -7, {"zz": 1}, [], True, [{"weight": 5}]]
    paths = _value_paths(data)
    rejected = 0
    for number, path in enumerate(paths):
        changed = copy.deepcopy(data)
        parent: Any = changed
        for part in path[:-1]:
            parent = parent[part]
        parent[path[-1]] = substitutes[number % len(substitutes)]
        text = "\n".join(f"{json.dumps(k)} = {_inline(v)}" for k, v in changed.items())
        found: tuple[Problem | str, ...] = ()
        try:
            loaded = load_text(text, "s.toml")
        except InputError as error:
            found = error.problems or ("no problem listed",)
        else:
            assert render_tree(resolve(loaded.spec)), path
        rejected += bool(found)
        for problem in found:
            assert isinstance(problem, Problem), (path, problem)
            assert problem.line >= 1, (path, problem)
    assert rejected > len(paths) * 3 // 4


# Values of the right type, chosen to trip a serializer or a template: quotes, template
# syntax, comment characters, line breaks, YAML 1.1 booleans, numbers at the edges.
EDGY: dict[type, list[object]] = {
    str: [
        "x",
        "",
        "a b",
        'quote " and \\ backslash',
        "${x} %{y} {{ .z }}",
        "# not a comment: [x]",
        "line\nbreak",
        "ünïcödé",
        "1e3",
        "yes",
    ],
    int: [0, 1, 65535, 2**31 - 1, -1],
    float: [0.5, 1.0],
}


@pytest.mark.parametrize("spec", ["reference", "gcp"])
def test_any_value_the_loader_accepts_renders(spec: str) -> None:
    # Each scalar of a fixture file in turn becomes an awkward value of its own type, until
    # the loader accepts one: then the whole tree must render (a renderer raising is exit 3).
    data = tomllib.loads((SPECS / f"{spec}.toml").read_text(encoding="utf-8"))
    leaves = [p for p in _value_paths(data) if not isinstance(_at(data, p), dict | list)]
    rendered = 0
    for number, path in enumerate(leaves):
        loaded = _first_accepted(data, path, start=number)
        if loaded is not None:
            assert render_tree(resolve(loaded.spec)), path
            rendered += 1
    assert rendered > len(leaves) // 4  # the renderers really were exercised


def _first_accepted(data: dict[str, Any], path: KeyPath, *, start: int) -> Loaded | None:
    """The first awkward value at `path` (rotating from `start`) that the loader accepts."""
    value = _at(data, path)
    choices = [not value] if isinstance(value, bool) else EDGY[type(value)]
    for offset in range(len(choices)):
        changed = copy.deepcopy(data)
        _at(changed, path[:-1])[path[-1]] = choices[(start + offset) % len(choices)]
        text = "\n".join(f"{json.dumps(k)} = {_inline(v)}" for k, v in changed.items())
        try:
            return load_text(text, "s.toml")
        except InputError as error:
            problems = error.problems
        assert problems, path
        assert all(isinstance(p, Problem) and p.line >= 1 for p in problems), path
    return None


def _at(data: Any, path: KeyPath) -> Any:
    for part in path:
        data = data[part]
    return data
