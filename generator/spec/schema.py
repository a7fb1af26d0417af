"""The JSON Schema of the services file, generated from the model: `gitopsgen schema`.

Editors complete and check services.toml with it (Taplo's `#:schema` directive, the TOML
plugins of VS Code and JetBrains). It is derived from spec/model.py, never kept by hand: each
attrs class is an object with `additionalProperties: false` (the loader's converter forbids
unknown keys), its fields without a default are `required`, the annotations give the types,
the defaults and each field's `about(...)` metadata give `default` and `description`.

On top of the types it states the rules of spec/checks.py that a schema can say simply (`RULES`,
`TABLE_RULES`): names that must be DNS-1123 labels, image tags and digests, ports, replica
counts and other ranges, percentages, GitHub owners and repositories. Every one accepts at least
what the loader accepts (tests/test_schema.py holds them to it), so a file the schema refuses is
refused by the loader too; the converse is not true. The loader stays the authority: rules
across keys and tables (teams and environments that exist, promotion cycles, requests above
limits, names derived from a service's name, sync windows, durations, cron schedules, versions
at least what the rendered objects need) are only checked there.

The schema declares draft 2020-12 but is written to mean the same under draft 7, which editors
built on older validators apply (Taplo falls back to it for a dialect it does not know): every
table is written inline (no `$defs`/`$ref`, whose sibling keywords draft 7 ignores, and whose
descriptions an editor would show in place of the key's own), and it uses no keyword whose
meaning changed between the drafts. Patterns are ECMA-262 and Rust `regex` alike: no
look-around, no named groups, ASCII classes only.
"""

from __future__ import annotations

import inspect
import json
import types
import typing
from collections.abc import Mapping
from typing import Any, Literal, get_args, get_origin

import attrs

from generator.spec.model import (
    DESCRIPTION,
    Analysis,
    Canary,
    CanaryStep,
    Cloud,
    Environment,
    Gitops,
    Hpa,
    Pdb,
    Platform,
    ResourceSide,
    Retry,
    Service,
    ServiceEnv,
    Spec,
    Team,
)

DIALECT = "https://json-schema.org/draft/2020-12/schema"
TITLE = "gitopsgen services file (services.toml)"
# What the schema tells a reader of the file itself (the command that regenerates it).
COMMENT = (
    "Generated from generator/spec/model.py by `gitopsgen schema`: do not edit. The loader"
    " (`gitopsgen build`, `check`) is the authority: it checks rules this schema cannot state."
)

MAX_LABEL = 63  # checks.MAX_LABEL: a DNS-1123 label
MAX_CONFIG_KEY = 253  # checks.MAX_SUBDOMAIN: a ConfigMap key
DIGEST_HEX_DIGITS = 64  # checks.DIGEST_HEX_DIGITS

# --- patterns: each the loader's rule, or (marked) a superset of it --------------------------
_LABEL_TAIL = f"(?:[a-z0-9-]{{0,{MAX_LABEL - 2}}}[a-z0-9])?"
LABEL = f"^[a-z0-9]{_LABEL_TAIL}$"  # checks.label_problem
SERVICE_NAME = f"^[a-z]{_LABEL_TAIL}$"  # a label starting with a letter (DNS-1035)
VARIABLE = "^[A-Za-z_][A-Za-z0-9_]*$"  # checks._VARIABLE
CONFIG_KEY = f"^[A-Za-z_][A-Za-z0-9_]{{0,{MAX_CONFIG_KEY - 1}}}$"
# checks._GITHUB_NAME without its length limit (which needs look-ahead): a superset.
_GITHUB_NAME = "[A-Za-z0-9](?:-?[A-Za-z0-9])*"
_TEAM_SLUG = "[A-Za-z0-9][A-Za-z0-9_.-]*"
OWNER = f"^@{_GITHUB_NAME}(?:/{_TEAM_SLUG})?$"  # `@org/team` or `@user`
TEAM = f"^@{_GITHUB_NAME}/{_TEAM_SLUG}$"  # where a ruleset requires reviewers: teams only
REPO = f"^{_GITHUB_NAME}/[A-Za-z0-9_.-]{{1,100}}$"  # superset: `.` and `..` are refused
IMAGE_TAG = "^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$"  # checks._IMAGE_TAG
_IMAGE_PART = "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
IMAGE_NAME = f"^{_IMAGE_PART}(?:/{_IMAGE_PART})*$"  # checks._IMAGE_NAME
DIGEST = f"^sha256:[0-9a-f]{{{DIGEST_HEX_DIGITS}}}$"  # checks.digest_problem
# checks._QUANTITY; negative values are refused by the loader (a superset).
QUANTITY = (
    r"^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?[0-9]+)?$"
)
PERCENT = "^0*(?:100|[1-9]?[0-9])%$"  # checks._PERCENT, at most 100
_RELEASE = "(?:0|[1-9][0-9]*)"
VERSION = rf"^v?{_RELEASE}\.{_RELEASE}(?:\.{_RELEASE})?$"  # versions._VERSION
KUBERNETES = rf"^1\.{_RELEASE}$"  # versions._KUBERNETES
URL = "^https?://[^/?#]"  # checks._URL's start: a superset
HTTP_PATH = "^/"  # the probes' start: a superset
_SUBDOMAIN_PART = "[a-z0-9](?:[-a-z0-9]*[a-z0-9])?"
HOST = rf"^(?:\*\.)?{_SUBDOMAIN_PART}(?:\.{_SUBDOMAIN_PART})*$"  # checks._HOST
EXPRESSION = r"\$\{\{"  # GitHub Actions would evaluate it (checks.expression_problem)
AWS_ACCOUNT = "^[0-9]{12}$"
AWS_REGION = "^[a-z]{2}(?:-[a-z]+)+-[0-9]+$"
GCP_PROJECT_ID = "^[a-z][a-z0-9-]{4,28}[a-z0-9]$"  # naming.GCP_PROJECT_ID
GCP_REGION = "^[a-z]+-[a-z]+[0-9]+$"  # naming.GCP_REGION
GCP_REPOSITORY_ID = f"^[a-z]{_LABEL_TAIL}$"  # naming.GCP_REPOSITORY_ID
# naming._WIF_PROVIDER; ids starting with `gcp-` (Google's) are refused by the loader.
WORKLOAD_IDENTITY_PROVIDER = (
    "^projects/[0-9]+/locations/global/workloadIdentityPools/[a-z0-9-]{4,32}"
    "/providers/[a-z0-9-]{4,32}$"
)
GCP_ONLY = ("registry_repository", "workload_identity_provider", "service_account")
GCP_REQUIRED = ("registry_repository", "workload_identity_provider")
RESERVED_ENVIRONMENTS = ("default", "platform-policies")  # naming: Argo CD's, the guard's
RESERVED_TEAMS = ("platform",)  # naming.PLATFORM_ROLE_NAME

Schema = dict[str, Any]


@attrs.frozen(kw_only=True)
class Rule:
    """What checks.py requires of one key, in schema terms."""

    keywords: Mapping[str, Any] = attrs.field(factory=dict)  # added to the key's own schema
    each: Mapping[str, Any] = attrs.field(factory=dict)  # to each array item or table value
    names: str | None = None  # a table of names: the pattern each name must match
    reserved: tuple[str, ...] = ()  # a table of names: names that are refused
    required: bool = False  # required by checks.py although the type has a default


def _string(pattern: str, **more: Any) -> Mapping[str, Any]:
    return {"pattern": pattern, **more}


def _at_least(low: int) -> Mapping[str, Any]:
    return {"minimum": low}


def _between(low: int, high: int) -> Mapping[str, Any]:
    return {"minimum": low, "maximum": high}


_QUANTITIES = {"cpu": _string(QUANTITY), "memory": _string(QUANTITY, **{"not": {"pattern": "m$"}})}
_ENVIRONMENT_NAMES = Rule(names=LABEL, reserved=RESERVED_ENVIRONMENTS)
_VARIABLES = Rule(names=VARIABLE)
_CONFIG = Rule(names=CONFIG_KEY)
_PDB_VALUE = Rule(keywords={"minimum": 0, "pattern": PERCENT})

RULES: Mapping[tuple[type, str], Rule] = {
    (Spec, "environments"): Rule(
        keywords={"minProperties": 1}, names=LABEL, reserved=RESERVED_ENVIRONMENTS
    ),
    (Spec, "teams"): Rule(names=LABEL, reserved=RESERVED_TEAMS),
    (Spec, "services"): Rule(names=SERVICE_NAME),
    (Gitops, "repo"): Rule(keywords=_string(REPO)),
    (Gitops, "generator"): Rule(required=True),
    (Platform, "owners"): Rule(keywords={"minItems": 1}, each=_string(TEAM)),
    (Platform, "prometheus"): Rule(keywords=_string(URL)),
    (Platform, "argocd_version"): Rule(keywords=_string(VERSION)),
    (Platform, "kyverno_version"): Rule(keywords=_string(VERSION)),
    (Platform, "kubernetes_version"): Rule(keywords=_string(KUBERNETES)),
    (Environment, "cluster"): Rule(keywords=_string(URL)),
    (Environment, "replicas"): Rule(keywords=_at_least(0)),
    (Environment, "promote_from"): Rule(keywords=_string(LABEL)),
    (Environment, "approvers"): Rule(each=_string(TEAM)),
    (Environment, "required_approvals"): Rule(keywords=_at_least(1)),
    (Environment, "sync_roles"): Rule(each=_string(LABEL)),
    (Retry, "limit"): Rule(keywords=_at_least(-1)),
    (Retry, "factor"): Rule(keywords=_at_least(1)),
    (ResourceSide, "cpu"): Rule(keywords=_QUANTITIES["cpu"]),
    (ResourceSide, "memory"): Rule(keywords=_QUANTITIES["memory"]),
    (Team, "owners"): Rule(keywords={"minItems": 1}, each=_string(OWNER)),
    (Hpa, "min"): Rule(keywords=_at_least(1)),
    (Hpa, "max"): Rule(keywords=_at_least(1)),
    (Hpa, "cpu_utilization"): Rule(keywords=_between(1, 100)),
    (Pdb, "min_available"): _PDB_VALUE,
    (Pdb, "max_unavailable"): _PDB_VALUE,
    (CanaryStep, "weight"): Rule(keywords=_between(1, 99)),
    (Canary, "steps"): Rule(keywords={"minItems": 1}, required=True),
    (Canary, "host"): Rule(keywords=_string(HOST)),
    (Analysis, "success_rate"): Rule(keywords={"exclusiveMinimum": 0, "maximum": 1}),
    (Analysis, "latency_p99_ms"): Rule(keywords=_at_least(1)),
    (Analysis, "error_logs"): Rule(keywords=_at_least(1)),
    (Analysis, "count"): Rule(keywords=_at_least(1)),
    (Analysis, "failure_limit"): Rule(keywords=_at_least(0)),
    (ServiceEnv, "tag"): Rule(keywords=_string(IMAGE_TAG, **{"not": {"const": "latest"}})),
    (ServiceEnv, "digest"): Rule(keywords=_string(DIGEST)),
    (ServiceEnv, "replicas"): Rule(keywords=_at_least(0)),
    (ServiceEnv, "env"): _VARIABLES,
    (ServiceEnv, "config"): _CONFIG,
    (Service, "namespace"): Rule(keywords=_string(LABEL)),
    (Service, "repo"): Rule(keywords=_string(REPO)),
    (Service, "image"): Rule(keywords=_string(IMAGE_NAME)),
    (Service, "port"): Rule(keywords=_between(0, 65535)),
    (Service, "liveness"): Rule(keywords=_string(HTTP_PATH)),
    (Service, "readiness"): Rule(keywords=_string(HTTP_PATH)),
    (Service, "replicas"): Rule(keywords=_at_least(0)),
    (Service, "env"): _VARIABLES,
    (Service, "config"): _CONFIG,
    (Service, "sensitive"): Rule(each=_string(VARIABLE)),
    (Service, "test_command"): Rule(keywords={"not": {"pattern": EXPRESSION}}),
    (Service, "envs"): _ENVIRONMENT_NAMES,
}


def _provider_is(provider: str) -> Schema:
    return {"required": ["provider"], "properties": {"provider": {"const": provider}}}


# Rules across the keys of one table.
TABLE_RULES: Mapping[type, Schema] = {
    # One `if` per table, no `allOf`: an editor that meets `allOf` stops offering the keys.
    Cloud: {
        "if": _provider_is("aws"),
        "then": {
            "properties": {
                "account": _string(AWS_ACCOUNT),
                "region": _string(AWS_REGION),
                **dict.fromkeys(GCP_ONLY, False),
            }
        },
        "else": {
            "if": _provider_is("gcp"),
            "then": {
                "required": list(GCP_REQUIRED),
                "properties": {
                    "account": _string(GCP_PROJECT_ID),
                    "region": _string(GCP_REGION),
                    "registry_repository": _string(GCP_REPOSITORY_ID),
                    "workload_identity_provider": _string(WORKLOAD_IDENTITY_PROVIDER),
                },
            },
        },
    },
    Pdb: {"minProperties": 1, "maxProperties": 1},  # exactly one of its two keys
    ServiceEnv: {"if": {"required": ["digest"]}, "then": {"required": ["tag"]}},
}


def services_schema() -> Schema:
    """The JSON Schema of a services file, from the model."""
    return {"$schema": DIALECT, "title": TITLE, "$comment": COMMENT, **_table(Spec)}


def dumps() -> str:
    """The schema as `services.schema.json` holds it: sorted, indented, ASCII, one newline."""
    return json.dumps(services_schema(), indent=2, sort_keys=True, ensure_ascii=True) + "\n"


def _table(cls: type) -> Schema:
    hints = typing.get_type_hints(cls)
    properties: Schema = {}
    required: list[str] = []
    for field in attrs.fields(cls):
        rule = RULES.get((cls, field.name), Rule())
        schema = {**_value(hints[field.name], rule), DESCRIPTION: _description(field)}
        if field.default is attrs.NOTHING or rule.required:
            required.append(field.name)
        elif (default := _default(field.default)) is not None:
            schema["default"] = default
        properties[field.name] = schema
    table: Schema = {
        "type": "object",
        DESCRIPTION: _prose(cls.__doc__ or ""),
        "properties": properties,
        "additionalProperties": False,
    }
    if required:
        table["required"] = required
    return {**table, **TABLE_RULES.get(cls, {})}


def _prose(docstring: str) -> str:
    """A docstring as Markdown prose: its paragraphs, each on one line."""
    paragraphs = inspect.cleandoc(docstring).split("\n\n")
    return "\n\n".join(" ".join(p.split("\n")) for p in paragraphs)


def _description(field: attrs.Attribute[Any]) -> str:
    description = field.metadata.get(DESCRIPTION)
    if not isinstance(description, str) or not description:
        raise TypeError(f"{field.name}: every field of the model needs about(description)")
    return description


def _default(value: Any) -> Any:
    """The JSON form of a field's default; None for "not written" (resolve decides)."""
    if isinstance(value, attrs.Factory):  # type: ignore[arg-type]
        value = value.factory()
    if isinstance(value, tuple):
        return list(value)
    return value


def _value(kind: Any, rule: Rule) -> Schema:
    """The schema of a value of type `kind`; `rule` adds what checks.py says of it."""
    kinds = _without_none(kind)
    if len(kinds) > 1:  # int | str
        schema: Schema = {"type": [_scalar(k) for k in kinds]}
    else:
        schema = _single(kinds[0], rule)
    return {**schema, **rule.keywords}


def _single(kind: Any, rule: Rule) -> Schema:
    origin = get_origin(kind)
    if kind is Any:  # Helm values: any data (checks.py refuses dates and non-finite floats)
        return {}
    if attrs.has(kind):
        return _table(kind)
    if origin is Literal:
        return {"type": "string", "enum": list(get_args(kind))}
    if origin is tuple:
        item, _ = get_args(kind)
        return {"type": "array", "items": {**_single(item, Rule()), **rule.each}}
    if origin is dict:
        _, item = get_args(kind)
        values = {**_single(item, Rule()), **rule.each}
        if rule.names is None:
            return {"type": "object", "additionalProperties": values}
        schema: Schema = {
            "type": "object",
            "patternProperties": {rule.names: values},
            "additionalProperties": False,
        }
        if rule.reserved:
            schema["propertyNames"] = {"not": {"enum": list(rule.reserved)}}
        return schema
    return {"type": _scalar(kind)}


def _scalar(kind: Any) -> str:
    names = {str: "string", int: "integer", float: "number", bool: "boolean"}
    if kind not in names:
        raise TypeError(f"no JSON Schema type for {kind!r}")
    return names[kind]


def _without_none(kind: Any) -> list[Any]:
    if get_origin(kind) in (typing.Union, types.UnionType):
        return [k for k in get_args(kind) if k is not type(None)]
    return [kind]
