"""A service's life between two builds: leaving an environment, and renames, judged against
the tree the previous build wrote (its .gitopsgen-manifest)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path

from attrs import frozen
from ruamel.yaml import YAML

from generator import naming
from generator.render import with_header
from generator.render.argocd import APPLICATIONSET_PATH, removal_is_gated
from generator.render.kustomize import overlay_kustomization, retired_overlay
from generator.resolve import Model, ResolvedEnv, ResolvedService
from generator.spec.errors import InputError, KeyPath, Problem
from generator.spec.locate import Locator
from generator.tree import write

# A Kustomize service's overlay and base, or a Helm chart's values files (render/helm.py).
_OVERLAY = re.compile(r"apps/([^/]+)/overlays/([^/]+)/(?:kustomization|values-\2)\.yaml")
_BASE = re.compile(r"apps/([^/]+)/base/(?:kustomization|values)\.yaml")
_WORKLOADS = ("deployment.yaml", "rollout.yaml")
# The caller workflow's own header line names the app repository (render/github.py writes it).
_CALLER_REPO = re.compile(r"^# The CI of [^:]+: install this file in (\S+) as$", re.MULTILINE)


@frozen(kw_only=True)
class Previous:
    """The tree as the previous build left it: what gitopsgen wrote, read only."""

    out: Path
    hashes: Mapping[str, str]

    def read(self, path: str) -> str | None:
        sha = self.hashes.get(path)
        data = None if sha is None else write.read_owned(self.out, path, sha)
        return None if data is None else data.decode(errors="replace")

    def applications(self) -> Iterator[tuple[str, str]]:
        """(service, environment) of every Application the previous tree had an overlay for."""
        for path in self.hashes:
            if match := _OVERLAY.fullmatch(path):
                yield match[1], match[2]

    def elements(self) -> dict[str, Element]:
        """The previous ApplicationSet's list elements, by Application name."""
        text = self.read(APPLICATIONSET_PATH)
        return {} if text is None else list_elements(text)

    def services(self) -> set[str]:
        return {m[1] for path in self.hashes if (m := _BASE.fullmatch(path))}

    def was_retired(self, service: str, env: str) -> bool:
        """Its overlay was exactly the empty one a retired environment renders."""
        path = overlay_kustomization(service, env)
        retired = with_header(path, retired_overlay(service, env)).encode()
        return self.hashes.get(path) == write.digest(retired)

    def identity(self, service: str) -> dict[str, str]:
        """What names the service outside its name: the image repository and the app repo."""
        found: dict[str, str] = {}
        for name in _WORKLOADS:
            text = self.read(f"apps/{service}/base/{name}")
            image = workload_image(text) if text else None
            if image:
                found["image"] = image.rpartition("/")[2]
        caller = self.read(f"ci/{service}.yaml")
        if caller and (match := _CALLER_REPO.search(caller)):
            found["repo"] = match[1]
        return found


@frozen(kw_only=True)
class Element:
    """What the previous tree said of one Application: where it ran, and how it could leave."""

    env: str
    cluster: str
    namespace: str
    retired: bool
    cascade: bool


# The list generator's elements as render/argocd.py writes them (yamlout's block style): a
# line scan of our own file (read_owned checked its hash), since parsing 3,000 elements with
# pure-Python YAML takes seconds.
_ELEMENT_START = re.compile(r"^ {10}- name: (.*)$")
_ELEMENT_FIELD = re.compile(r"^ {12}(env|cluster|namespace|retired|cascade): (.*)$")


def list_elements(text: str) -> dict[str, Element]:
    found: dict[str, dict[str, str]] = {}
    current: dict[str, str] | None = None
    for line in text.splitlines():
        if start := _ELEMENT_START.match(line):
            current = found.setdefault(scalar(start[1]), {})
        elif current is not None and (field := _ELEMENT_FIELD.match(line)):
            current[field[1]] = scalar(field[2])
    return {
        name: Element(
            env=f.get("env", ""),
            cluster=f.get("cluster", ""),
            namespace=f.get("namespace", ""),
            retired=f.get("retired") == "true",
            cascade=f.get("cascade") != "false",
        )
        for name, f in found.items()
    }


def scalar(value: str) -> str:
    """A one-line YAML scalar as yamlout writes it: plain, '...' or JSON-compatible "..."."""
    if value.startswith('"'):
        return str(json.loads(value))
    if value.startswith("'"):
        return value[1:-1].replace("''", "'")
    return value


def workload_image(text: str) -> str | None:
    """The first container's image of a Deployment or Rollout file."""
    try:
        docs = [d for d in YAML(typ="safe", pure=True).load_all(text) if isinstance(d, dict)]
        return str(docs[0]["spec"]["template"]["spec"]["containers"][0]["image"])
    except (KeyError, IndexError, TypeError, ValueError):
        return None


def check(model: Model, out: Path, text: str, filename: str) -> None:
    """Refuse what the previous tree makes unsafe: InputError with every located problem."""
    previous = Previous(out=out, hashes=write.owned(out))
    elements = previous.elements()
    found = [
        *removals(model, previous, elements),
        *environment_removals(model, elements),
        *renames(model, previous),
    ]
    if found:
        locator = Locator(text)
        problems: list[Problem] = []
        for path, message in found:
            line, col = locator.locate(path)
            problems.append(Problem(file=filename, line=line, col=col, path=path, message=message))
        problems.sort(key=lambda p: (p.line, p.col, str(p)))
        raise InputError(problems)


def removals(
    model: Model, previous: Previous, elements: Mapping[str, Element]
) -> Iterator[tuple[KeyPath, str]]:
    """Applications that would go in one step, and Applications that would move.

    A departure goes through `retired = true` where a sync is manual or windowed (deleting the
    Application leaves what it runs: the ApplicationSet preserves it), and where it is
    automatic but the same build would drop the namespace from the project (its last
    Application): Argo CD deletes nothing the project no longer permits (controller/state.go
    keeps out-of-project objects out of the diff), so the cascade would delete nothing. A move
    of cluster or namespace leaves the old objects the same way.
    """
    services = {service.name: service for service in model.services}
    environments = {env.name: env for env in model.environments}
    for name, env_name in sorted(previous.applications()):
        env = environments.get(env_name)
        if env is None:
            continue  # a removed environment: environment_removals
        service = services.get(name)
        before = elements.get(naming.application_name(name, env_name))
        leaving = service is None or env_name not in service.application_envs
        moved = None if service is None or leaving else moved_from(before, env, service)
        # Only a departure asks whether it was retired (a render and a hash per Application
        # otherwise: every build passes here).
        if not (leaving or moved) or was_retired(previous, before, name, env_name):
            continue
        where: KeyPath = ("services", name, "envs", env_name)
        if moved is not None:
            yield where, move_message(name, env, moved)
        elif removal_is_gated(env) or not still_permitted(model, env, before):
            yield where, removal_message(name, env)


def moved_from(
    before: Element | None, env: ResolvedEnv, service: ResolvedService
) -> Element | None:
    """The previous place of an Application that stays but changes cluster or namespace."""
    if before is None or (before.cluster, before.namespace) == (env.cluster, service.namespace):
        return None
    return before


def was_retired(previous: Previous, before: Element | None, service: str, env: str) -> bool:
    """The previous ApplicationSet's element says so; a tree older than the list generator
    is asked its overlay's bytes."""
    return before.retired if before is not None else previous.was_retired(service, env)


def still_permitted(model: Model, env: ResolvedEnv, before: Element | None) -> bool:
    """Whether the environment's project keeps the leaving Application's namespace (another
    Application of the environment deploys there), so its cascade delete can still act."""
    if before is None:
        return False
    return any(
        env.name in service.application_envs and service.namespace == before.namespace
        for service in model.services
    )


def move_message(service: str, env: ResolvedEnv, before: Element) -> str:
    app = naming.application_name(service, env.name)
    return (
        f"moves {app} from namespace {before.namespace!r} on {before.cluster} in one step:"
        " Argo CD would deploy the new place and leave everything in the old one, no longer"
        f" permitted by the project, running unmanaged. Set `retired = true` in"
        f" [services.{service}.envs.{env.name}] and sync {app} (with prune), then move it"
    )


def environment_removals(
    model: Model, elements: Mapping[str, Element]
) -> Iterator[tuple[KeyPath, str]]:
    """An environment removed while it still had Applications that were not retired (the
    previous ApplicationSet says which): they would go in one step, like a removed entry."""
    current = {env.name for env in model.environments}
    stranded: dict[str, list[str]] = {}
    for app, element in elements.items():
        if element.env not in current and not element.retired:
            stranded.setdefault(element.env, []).append(app)
    for env, apps in sorted(stranded.items()):
        yield (
            ("environments",),
            (
                f"environment {env!r} removed in one step, but its Applications"
                f" {', '.join(sorted(apps))} are not retired: they would be deleted and what"
                " they run left in the cluster. Keep the environment, set `retired = true` in each"
                f" of its services' [services.<service>.envs.{env}] and sync them within its rules,"
                " then remove the entries and the environment"
            ),
        )


def removal_message(service: str, env: ResolvedEnv) -> str:
    app = naming.application_name(service, env.name)
    manual = "syncs only by hand (auto_sync = false)" if not env.auto_sync else ""
    windows = "has sync windows" if env.sync_windows else ""
    why = " and ".join(part for part in (manual, windows) if part)
    within = f" within {env.name}'s sync windows" if env.sync_windows else ""
    if not why:  # automatic: the sync prunes, the project may drop the namespace first
        return (
            f"removed in one step: its Application {app} would be deleted in the build that also"
            " drops its namespace from the project, and what it runs left in the cluster."
            f" Set `retired = true` in [services.{service}.envs.{env.name}], let {app} sync"
            " (it prunes by itself), then remove the entry"
        )
    return (
        f"removed in one step, but {env.name} {why}: its Application {app} would be deleted"
        " and what it runs left in the cluster. Set `retired = true` in"
        f" [services.{service}.envs.{env.name}], sync {app} in Argo CD (with prune){within},"
        " then remove the entry"
    )


def renames(model: Model, previous: Previous) -> Iterator[tuple[KeyPath, str]]:
    """A service removed and one added in the same build, with the same image or app repo."""
    before = previous.services()
    if not before:
        return
    current = {service.name for service in model.services}
    removed = sorted(before - current)
    added = [service for service in model.services if service.name not in before]
    for old in removed:
        identity = previous.identity(old)
        for new in added:
            same = shared_identity(identity, new)
            if same is not None:
                yield ("services", new.name), rename_message(old, new.name, same)


def shared_identity(identity: Mapping[str, str], new: ResolvedService) -> str | None:
    if identity.get("repo") is not None and identity.get("repo") == new.repo:
        return f"app repository {new.repo}"
    if identity.get("image") == new.image_name:
        return f"image {new.image_name}"
    return None


def rename_message(old: str, new: str, same: str) -> str:
    return (
        f"replaces service {old!r} (removed in this build, with the same {same}): a rename in"
        f" one step deletes {old}'s Applications while {new}'s start. Rename in steps: add"
        f" {new!r} beside {old!r} and deploy it, set `retired = true` in each environment of"
        f" {old!r} and sync them, then remove {old!r}"
    )
