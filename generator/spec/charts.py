"""The rules of Helm chart services: the chart reference, its exact version, its values.

A chart service's workload is the chart's: the keys that shape a Kustomize workload (port,
probes, replicas, resources, env, config, hpa, pdb, tolerations, canary) are refused there,
and `values` is refused anywhere else. Values reach only YAML, through the serializer, but
must be data Helm can read: no TOML dates or times, no NaN or infinity.
"""

from __future__ import annotations

import datetime
import math
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

import attrs

from generator import naming
from generator.resolve import resolve_chart
from generator.spec.errors import KeyPath
from generator.spec.model import Chart, Service, ServiceEnv

Found = Iterator[tuple[KeyPath, str]]
StringRule = Callable[[str], str | None]

# SemVer 2.0.0 (semver.org, the suggested regular expression): what Helm requires of a chart
# version (helm.sh/docs/topics/charts, "Charts and Versioning").
_SEMVER = re.compile(
    r"(?:0|[1-9][0-9]*)\.(?:0|[1-9][0-9]*)\.(?:0|[1-9][0-9]*)"
    r"(?:-(?:0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)"
    r"(?:\.(?:0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*))*)?"
    r"(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?"
)
# What makes Masterminds/semver (Argo CD's and Helm's) read a version as a constraint.
_RANGE_MARKS = re.compile(r"[\^~<>=*|, ]|(?:^|\.)[xX](?:\.|$)| - ")
_CHART_NAME = re.compile(r"[a-z0-9](?:[a-z0-9._-]*[a-z0-9])?")
_VALUES_KEY = re.compile(r"[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*")
_HOST = re.compile(r"[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?(?::[0-9]{1,5})?")
_URL_PATH = re.compile(r"(?:/[A-Za-z0-9._~%!$&'()*+,;=:@-]*)*")
# A Kustomize workload's keys: refused on a chart service (where they differ from the default).
WORKLOAD_KEYS = (
    "port",
    "liveness",
    "readiness",
    "replicas",
    "resources",
    "env",
    "config",
    "sensitive",
    "hpa",
    "pdb",
    "tolerations",
    "canary",
    "analysis",
)
ENV_WORKLOAD_KEYS = ("replicas", "resources", "hpa", "env", "config", "tolerations")
IMAGE_KEYS = ("tag_key", "digest_key", "repository_key")


def written(instance: Any, key: str) -> bool:
    """Whether a key differs from its default: the model keeps no record of what was typed."""
    default = getattr(attrs.fields(type(instance)), key).default
    factory = getattr(default, "factory", None)  # attrs.Factory(dict), say
    return bool(getattr(instance, key) != (factory() if callable(factory) else default))


def service_problems(name: str, service: Service, string_problem: StringRule) -> Found:
    """A chart service's rules, and `values` refused where there is no chart;
    `string_problem`: the rule for every string that reaches YAML."""
    where: KeyPath = ("services", name)
    chart = service.chart
    if chart is None:
        if service.values:
            yield (*where, "values"), "is read only by a Helm chart service: set chart first"
        for env, overrides in service.envs.items():
            # (plain tests: this runs for every service and environment of the file)
            for key, value in (
                ("values", overrides.values),
                ("chart_version", overrides.chart_version),
            ):
                if value:
                    yield (
                        (*where, "envs", env, key),
                        "is read only by a Helm chart service: set chart first",
                    )
        return
    yield from chart_problems((*where, "chart"), chart)
    for key in WORKLOAD_KEYS:
        if written(service, key):
            yield (*where, key), not_a_chart_key(key)
    yield from values_problems((*where, "values"), service.values, string_problem)
    keys = image_keys(service)
    yield from image_key_clashes((*where, "values"), service.values, keys)
    for env, overrides in service.envs.items():
        yield from env_problems((*where, "envs", env), overrides, keys, string_problem)


def env_problems(
    where: KeyPath, overrides: ServiceEnv, keys: Mapping[str, str], string_problem: StringRule
) -> Found:
    for key in ENV_WORKLOAD_KEYS:
        if written(overrides, key):
            yield (*where, key), not_a_chart_key(key)
    if overrides.chart_version is not None:
        yield from _found_version((*where, "chart_version"), overrides.chart_version)
    yield from values_problems((*where, "values"), overrides.values, string_problem)
    yield from image_key_clashes((*where, "values"), overrides.values, keys)


def _found_version(where: KeyPath, version: str) -> Found:
    problem = version_problem(version)
    if problem is not None:
        yield where, problem


def not_a_chart_key(key: str) -> str:
    return f"is not used by a Helm chart service: set what the chart reads in values ({key})"


def chart_problems(where: KeyPath, chart: Chart) -> Found:
    problem = repository_problem(chart.repository)
    if problem is not None:
        yield (*where, "repository"), problem
    if not _CHART_NAME.fullmatch(chart.name):
        yield (
            (*where, "name"),
            f"{chart.name!r} is not a chart name (lowercase letters, digits, '-', '_' and '.',"
            " starting and ending with a letter or digit)",
        )
    yield from _found_version((*where, "version"), chart.version)
    for key in IMAGE_KEYS:
        value = getattr(chart, key)
        if value and not _VALUES_KEY.fullmatch(value):
            yield (
                (*where, key),
                f"{value!r} is not a values key: dotted names of letters, digits, '_' and '-'"
                " (`image.tag`)",
            )
    if not chart.tag_key:
        yield (*where, "tag_key"), "must name the values key the environment's tag goes to"
    set_keys = [(key, getattr(chart, key)) for key in IMAGE_KEYS if getattr(chart, key)]
    for i, (key, value) in enumerate(set_keys):
        for other, other_value in set_keys[:i]:
            if _overlaps(value, other_value):
                yield (
                    (*where, key),
                    f"{value!r} overlaps {other} {other_value!r}: each image value needs a key"
                    " of its own",
                )


def repository_problem(url: str) -> str | None:
    """Why Argo CD and Helm could not fetch a chart from `url`, or why they should not."""
    if url.startswith("oci://"):
        host, _, path = url.removeprefix("oci://").partition("/")
        if not _HOST.fullmatch(host) or (
            path and not naming.IMAGE_PATH.fullmatch(path.rstrip("/"))
        ):
            return (
                f"{url!r} is not an OCI repository: oci://<registry host>/<path>, lowercase,"
                " without a tag or digest (the chart's name and version are separate keys)"
            )
        return None
    if url.startswith("http://"):
        return f"{url!r} is plain HTTP: anyone on the path could change the chart; use https://"
    if not url.startswith("https://"):
        return f"{url!r} is not a chart repository: https://... or oci://<registry>/<path>"
    parts = urlsplit(url)
    if parts.username is not None or parts.password is not None:
        return (
            f"{url!r} carries credentials, which would sit in git: register them with Argo CD"
            " (a repository secret) instead"
        )
    if parts.query or parts.fragment or "?" in url or "#" in url:
        return f"{url!r} has a query or fragment, which a Helm repository URL cannot carry"
    if not _HOST.fullmatch(parts.netloc) or not _URL_PATH.fullmatch(parts.path):
        return f"{url!r} is not a URL of a Helm repository (https://<host>/<path>)"
    return None


def version_problem(version: str) -> str | None:
    """An exact SemVer version, which Argo CD and Helm fetch as written: never a range."""
    exact = "pin the exact version the chart was tested with (X.Y.Z, e.g. '1.4.2')"
    if not version.strip():
        return f"must not be empty: {exact}"
    if version.strip().lower() == "latest":
        return f"'latest' is not a version: {exact}, so every sync renders the same chart"
    if _SEMVER.fullmatch(version):
        return None
    if _RANGE_MARKS.search(version):
        return (
            f"{version!r} is a range: Argo CD would render whichever newest version matches it"
            f" at each sync; {exact}"
        )
    return f"{version!r} is not an exact SemVer version: {exact}"


def values_problems(where: KeyPath, values: Any, string_problem: StringRule) -> Found:
    """Values Helm can read: YAML's data without TOML's dates and non-finite floats."""
    if isinstance(values, dict):
        for key, value in values.items():
            yield from values_problems((*where, key), value, string_problem)
    elif isinstance(values, list):
        for index, value in enumerate(values):
            yield from values_problems((*where, index), value, string_problem)
    elif isinstance(values, datetime.date | datetime.time):
        yield (
            where,
            "is a TOML date or time, which Helm values (YAML read as JSON) cannot carry: write"
            " it as a string",
        )
    elif isinstance(values, float) and not math.isfinite(values):
        yield where, f"is {values!r}, which Helm values (YAML read as JSON) cannot carry"
    elif isinstance(values, str) and (problem := string_problem(values)) is not None:
        yield where, problem


def image_keys(service: Service) -> dict[str, str]:
    """The values keys gitopsgen writes per environment, chart key name -> dotted path."""
    chart = resolve_chart(service)
    assert chart is not None
    keys = {
        "tag_key": chart.tag_key,
        "digest_key": chart.digest_key,
        "repository_key": chart.repository_key,
    }
    return {key: path for key, path in keys.items() if path}


def image_key_clashes(where: KeyPath, values: Mapping[str, Any], keys: Mapping[str, str]) -> Found:
    """A value the environment's image sets: written twice, one would silently lose."""
    for key, path in keys.items():
        parts = path.split(".")
        table: Any = values
        for depth, part in enumerate(parts):
            if not isinstance(table, dict) or part not in table:
                break
            table = table[part]
            if depth == len(parts) - 1 or not isinstance(table, dict):
                yield (
                    (*where, *parts[: depth + 1]),
                    f"is written by gitopsgen from the environment's image (chart.{key} ="
                    f" {path!r}): record images with set-image, or name another chart.{key}",
                )
                break


def _overlaps(one: str, other: str) -> bool:
    a, b = one.split("."), other.split(".")
    return a[: len(b)] == b or b[: len(a)] == a
