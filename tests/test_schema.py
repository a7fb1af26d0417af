"""The services file's JSON Schema (spec/schema.py): current, sound, and what it refuses."""

from __future__ import annotations

import copy
import json
import re
import tomllib
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import jsonschema
import pytest

from generator.cli import main
from generator.spec import checks, schema
from generator.spec.errors import KeyPath
from generator.spec.load import structure
from generator.spec.model import DESCRIPTION, Spec
from generator.spec.versions import DEFAULT_KUBERNETES
from tests.test_errors import CASES, VALID, WARNING_CASES, edit

ROOT = Path(__file__).parents[1]
DATA = Path(__file__).parent / "data"
COMMITTED = ROOT / "services.schema.json"
REGENERATE = "gitopsgen schema > services.schema.json"
# Every services file the project keeps: the fixtures, the quoting fixture, its own.
FILES = [*sorted((DATA / "specs").glob("*.toml")), DATA / "kustomize" / "quoting.toml"]
FILES.append(ROOT / "services.toml")

SCHEMA = schema.services_schema()
# The dialect the file declares, and draft 7, which Taplo applies to a dialect it does not know.
VALIDATORS = [jsonschema.Draft202012Validator(SCHEMA), jsonschema.Draft7Validator(SCHEMA)]


def errors(data: dict[str, Any]) -> list[list[str]]:
    """Each validator's messages: the two dialects must agree on whether the file is valid."""
    found = [[error.message for error in validator.iter_errors(data)] for validator in VALIDATORS]
    assert bool(found[0]) == bool(found[1]), found
    return found


def test_the_committed_schema_is_what_the_model_generates() -> None:
    assert COMMITTED.read_text(encoding="utf-8") == schema.dumps(), (
        f"services.schema.json does not match generator/spec/model.py: run `{REGENERATE}`"
        " and commit the result"
    )


def test_gitopsgen_schema_prints_it(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    out = capsys.readouterr().out
    assert out == schema.dumps()
    assert out.endswith("}\n")
    assert json.loads(out) == SCHEMA
    assert schema.dumps() == out  # the same bytes every time


def test_the_schema_is_a_schema_in_both_dialects() -> None:
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    jsonschema.Draft7Validator.check_schema(SCHEMA)
    # Draft 7 ignores a $ref's siblings; Taplo shows a $ref's target's description.
    text = schema.dumps()
    assert "$ref" not in text
    assert "$defs" not in text


def _patterns(value: object) -> Iterator[str]:
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "pattern":
                yield inner
            elif key == "patternProperties":
                yield from inner
            yield from _patterns(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _patterns(inner)


def test_patterns_are_portable() -> None:
    # ECMA-262 (JSON Schema), Python (jsonschema) and Rust's `regex` (Taplo) read these alike:
    # no look-around or named groups (Rust has neither), no classes whose meaning differs.
    found = list(_patterns(SCHEMA))
    assert len(found) > 20
    for pattern in found:
        re.compile(pattern)
        for construct in ("(?=", "(?!", "(?<", "(?P", r"\s", r"\S", r"\d", r"\w", r"\b"):
            assert construct not in pattern, pattern


def _classes(cls: type = Spec) -> Iterator[type]:
    yield cls
    for kind in typing.get_type_hints(cls).values():
        stack = [kind]
        while stack:
            inner = stack.pop()
            if attrs.has(inner):
                yield from _classes(inner)
            stack += typing.get_args(inner)


MODEL = sorted(set(_classes()), key=lambda cls: cls.__name__)


@pytest.mark.parametrize("cls", MODEL, ids=[cls.__name__ for cls in MODEL])
def test_every_table_and_key_is_described(cls: type) -> None:
    assert cls.__doc__, cls
    for field in attrs.fields(cls):
        description = field.metadata.get(DESCRIPTION)
        assert isinstance(description, str), (cls.__name__, field.name)
        assert description.endswith("."), (cls.__name__, field.name)
        assert description.isascii(), (cls.__name__, field.name)


def test_every_key_of_the_model_is_in_the_readme() -> None:
    # README's services-file section is the other description of the keys: it names them all.
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## The services file", 1)[1].split("\n## ", 1)[0]
    named = set(re.findall(r"`\[*(?:[\w.<>-]*\.)?(\w+)[`\] .]", section))
    missing = [
        f"{cls.__name__}.{field.name}"
        for cls in MODEL
        for field in attrs.fields(cls)
        if field.name not in named
    ]
    assert missing == [], "add these keys to README's tables of the services file"


def test_the_rules_name_keys_of_the_model() -> None:
    for cls, name in schema.RULES:
        assert name in attrs.fields_dict(cls), (cls.__name__, name)
    for cls, rules in schema.TABLE_RULES.items():
        keys = set(attrs.fields_dict(cls))
        for branch in (rules.get("then", {}), rules.get("else", {}).get("then", {})):
            assert set(branch.get("properties", {})) | set(branch.get("required", [])) <= keys


def test_types_defaults_and_required_keys_come_from_the_model() -> None:
    properties = SCHEMA["properties"]
    assert SCHEMA["required"] == ["gitops", "cloud", "platform", "environments"]
    assert SCHEMA["additionalProperties"] is False
    service = properties["services"]["patternProperties"][schema.SERVICE_NAME]
    assert service["required"] == ["team"]
    assert service["additionalProperties"] is False
    assert service["properties"]["port"] == {
        "type": "integer",
        "default": 8080,
        "minimum": 0,
        "maximum": 65535,
        "description": "Container port; a Service on port 80 targets it; `0`: no port, no"
        " Service, no probes.",
    }
    assert service["properties"]["sensitive"]["default"] == []
    assert "default" not in service["properties"]["namespace"]  # None: resolve decides
    traffic = service["properties"]["canary"]["properties"]["traffic"]
    assert traffic["enum"] == ["alb", "istio", "replicas"]
    assert traffic["default"] == "replicas"
    pdb = service["properties"]["pdb"]["properties"]["min_available"]
    assert pdb["type"] == ["integer", "string"]
    envs = service["properties"]["envs"]
    assert set(envs["patternProperties"]) == {schema.LABEL}
    tolerations = properties["environments"]["patternProperties"][schema.LABEL]["properties"][
        "tolerations"
    ]
    assert tolerations["type"] == "array"
    assert tolerations["items"]["properties"]["operator"]["default"] == "Equal"
    platform = properties["platform"]["properties"]
    assert platform["kubernetes_version"]["default"] == DEFAULT_KUBERNETES
    # checks.py requires it, though the model's type has a default ("not written")
    assert "generator" in properties["gitops"]["required"]


@pytest.mark.parametrize("path", FILES, ids=[path.stem for path in FILES])
def test_every_services_file_of_the_project_is_valid(path: Path) -> None:
    assert errors(tomllib.loads(path.read_text(encoding="utf-8"))) == [[], []]


def test_the_projects_services_file_names_the_schema() -> None:
    first = (ROOT / "services.toml").read_text(encoding="utf-8").split("\n", 1)[0]
    assert first == "#:schema ./services.schema.json"


# Cases of tests/test_errors.py (the loader refuses each one) that the schema refuses too.
REFUSED = [
    # unknown keys
    "unknown-key-did-you-mean",
    "unknown-key-lists-the-keys",
    "unknown-top-level-table",
    # wrong types
    "integer-given-a-string",
    "boolean-given-an-integer",
    "string-given-a-date",
    "table-where-a-value-is-expected",
    "value-where-a-table-is-expected",
    "string-where-an-array-is-expected",
    "array-element-of-the-wrong-type",
    "env-value-not-a-string",
    "pdb-wrong-type",
    "retired-not-a-boolean",
    # bad enum values
    "unknown-choice",
    "unknown-choice-did-you-mean",
    "toleration-effect-unknown",
    "window-kind-unknown",
    # missing keys
    "missing-required-key",
    "missing-top-level-table",
    "gitops-generator-missing",
    "gcp-needs-its-keys",
    "aws-with-gcp-key",
    # names
    "service-name-not-a-label",
    "service-name-path-traversal",
    "service-name-starting-with-a-digit",
    "environment-name-not-a-label",
    "team-name-too-long",
    "team-named-platform",
    "environment-named-like-argo-cd-default-project",
    "namespace-not-a-label",
    "env-variable-name",
    "config-key-with-equals",
    "config-key-too-long-for-a-configmap",
    # image tags and digests
    "tag-latest",
    "tag-empty",
    "tag-invalid",
    "digest-wrong-algorithm",
    "digest-too-short",
    "digest-too-long",
    "digest-uppercase",
    "digest-not-hex",
    "digest-without-prefix",
    "digest-empty",
    "digest-without-a-tag",
    "image-name-invalid",
    # ranges, percentages, quantities
    "port-out-of-range",
    "replicas-negative",
    "environment-replicas-negative",
    "hpa-bounds",
    "pdb-both",
    "pdb-neither",
    "pdb-not-a-percentage",
    "pdb-over-100-percent",
    "pdb-negative",
    "canary-no-steps",
    "canary-weights",
    "analysis-values",
    "analysis-success-rate-zero",
    "required-approvals",
    "retry-values",
    "quantity-invalid",
    "memory-in-millibytes",
    # formats
    "owner-format",
    "approver-is-a-user",
    "repo-format",
    "aws-account",
    "gcp-formats",
    "versions-that-are-not-releases",
    "cluster-not-a-url",
    "canary-host",
    "probe-path",
    "expression-in-test-command",
]
EDITS = {name: (old, new) for name, old, new, _ in CASES}


@pytest.mark.parametrize("name", REFUSED)
def test_the_schema_refuses_what_the_loader_refuses(name: str) -> None:
    old, new = EDITS[name]
    assert all(errors(tomllib.loads(edit(old, new))))


@pytest.mark.parametrize(
    ("old", "new"),
    [pytest.param(old, new, id=name) for name, old, new, *_ in [*VALID, *WARNING_CASES]],
)
def test_the_schema_accepts_the_valid_cases(old: str, new: str) -> None:
    assert errors(tomllib.loads(edit(old, new))) == [[], []]


# --- sound: whatever the loader accepts, the schema accepts --------------------------------

STRINGS = [
    *("x", "", "a b", "A", "-a", "a-", "1a", "a.b", "a_b", "*.a.b", "latest", "ünï"),
    *("a" * 63, "a" * 64, "@a/b", "@a", "@a-/b", "a/b", "a/..", "/x", "http://x"),
    *("https://x y", "sha256:" + "0" * 64, "1.2", "v1.2.3", "1.37", "1.2.3-rc.1"),
    *("50%", "100%", "101%", "007%", "1Gi", "256m", "-0", "+1", "0x1F", "${{ x }}"),
    *("Equal", "Exists", "NoExecute", "10s", "1"),
]
NUMBERS = [-2, -1, 0, 1, 2, 99, 100, 101, 65535, 65536]
FRACTIONS = [0.0, 0.5, 1.0, 1.5]
NAMES = ["x", "A", "a_b", "a-b", "-a", "1a", "a" * 63, "a" * 64, "default", "platform", "A_1"]


def _loader_accepts(data: dict[str, Any]) -> bool:
    """What load_text decides, without the text: no structural problem, no rule broken."""
    spec, findings = structure(data)
    return spec is not None and not findings and not list(checks.check(spec))


def _paths(value: object, path: KeyPath = ()) -> Iterator[tuple[KeyPath, object]]:
    items: list[tuple[str | int, object]] = []
    if isinstance(value, dict):
        items = list(value.items())
    elif isinstance(value, list):
        items = list(enumerate(value))
    for key, inner in items:
        yield (*path, key), inner
        if isinstance(inner, dict | list):
            yield from _paths(inner, (*path, key))


def _mutations(data: dict[str, Any], *, per_value: int = 16) -> Iterator[dict[str, Any]]:
    """The file with each value in turn replaced, and each table of a table of names renamed:
    `per_value` candidates each, taken in rotation so that every candidate is used."""
    for number, (path, value) in enumerate(_paths(data)):
        pool: list[Any]
        if isinstance(value, dict) and len(path) > 1 and isinstance(_at(data, path[:-1]), dict):
            pool = NAMES  # a service, an environment, a variable, ... renamed
        elif isinstance(value, dict | list):
            continue
        elif isinstance(value, bool):
            pool = [not value]
        else:
            pool = (
                STRINGS
                if isinstance(value, str)
                else NUMBERS
                if isinstance(value, int)
                else FRACTIONS
            )
        for offset in range(min(per_value, len(pool))):
            candidate = pool[(number + offset) % len(pool)]
            changed = copy.deepcopy(data)
            parent = _at(changed, path[:-1])
            if isinstance(value, dict):
                parent[candidate] = parent.pop(path[-1])
            else:
                parent[path[-1]] = candidate
            yield changed


def _at(data: Any, path: KeyPath) -> Any:
    for part in path:
        data = data[part]
    return data


@pytest.mark.parametrize("spec", ["reference", "gcp", "canary-variants"])
def test_the_schema_accepts_whatever_the_loader_accepts(spec: str) -> None:
    # The schema's rules are the loader's or looser, never stricter: an editor must never
    # flag a file gitopsgen builds. Every value of a fixture in turn becomes an awkward value
    # (and every table name an awkward name); each variant the loader accepts must validate.
    data = tomllib.loads((DATA / "specs" / f"{spec}.toml").read_text(encoding="utf-8"))
    accepted = 0
    for changed in _mutations(data):
        if _loader_accepts(changed):
            accepted += 1
            assert all(v.is_valid(changed) for v in VALIDATORS), (changed, errors(changed))
    assert accepted >= 30  # the loader accepted enough of them for this to mean something
