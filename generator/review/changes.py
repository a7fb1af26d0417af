"""Per Application: the objects Kustomize renders on each side, paired, compared, summarised."""

from __future__ import annotations

import difflib
import json
import sys
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import yaml
from attrs import frozen

from generator import tools
from generator.kustomize import yamlio
from generator.kustomize.build import BuildError, Built, Kustomizer, Unsupported, clone, split_image
from generator.render import helm
from generator.resolve import merge_values
from generator.review.trees import Tree, input_prefixes
from generator.smoketest import FILE_NAME as SMOKE_TEST_FILE
from generator.spec.errors import InputError

Object = dict[str, Any]
Status = Literal["added", "removed", "changed"]
# (group, kind, namespace, name): a generated ConfigMap pairs by its name before the hash, so a
# config change reads as one ConfigMap changed, not one removed and one added.
PairKey = tuple[str, str, str, str]

WORKLOAD_KINDS = frozenset({"Deployment", "Rollout", "StatefulSet", "DaemonSet"})
HIDDEN = "(sensitive: not shown)"
HIDDEN_CHANGED = "(sensitive: changed, not shown)"


@frozen(kw_only=True)
class ObjectChange:
    kind: str  # apiVersion/kind as Kustomize prints them, e.g. argoproj.io/v1alpha1 Rollout
    namespace: str
    name: str  # as it is now (or was, for a removed object)
    change: Status
    before: str  # the object as Kustomize prints it, sensitive values hidden ("" if added)
    after: str

    @property
    def title(self) -> str:
        where = f"{self.namespace}/{self.name}" if self.namespace else self.name
        return f"{self.kind} {where}"

    def diff(self) -> list[str]:
        """Unified diff lines (without line ends) of the object as Kustomize renders it."""
        if self.change == "removed":
            return []
        lines = difflib.unified_diff(
            self.before.splitlines(), self.after.splitlines(), lineterm="", n=3
        )
        return [line for line in lines if not line.startswith(("---", "+++"))]


@frozen(kw_only=True)
class AppChange:
    service: str
    env: str
    status: Status
    headline: str
    objects: tuple[ObjectChange, ...]

    @property
    def name(self) -> str:
        return f"{self.service}-{self.env}"


@frozen(kw_only=True)
class Report:
    changes: tuple[AppChange, ...]
    unchanged: int  # Applications whose effective objects are the same on both sides
    # The ApplicationSet changed beyond its elements: every Application it generates may.
    template_changed: bool = False


class Side:
    """One tree's builds, each service's base built once for all its overlays."""

    def __init__(self, tree: Tree) -> None:
        self.tree = tree
        self.builders: dict[str, Kustomizer] = {}

    def build(self, service: str, env: str, overlay: str) -> list[Built]:
        if f"{overlay}/kustomization.yaml" not in self.tree.blobs:
            return self.chart_values(service, env)
        builder = self.builders.setdefault(service, Kustomizer(self.tree.read))
        try:
            return builder.build(overlay, within=input_prefixes(service, env))
        except Unsupported as exc:
            return self._with_kubectl(service, env, overlay, str(exc))
        except (BuildError, yaml.YAMLError) as exc:
            raise InputError(
                [f"{self.tree.label}: {overlay}: kustomize would fail: {exc}"]
            ) from exc

    def chart_values(self, service: str, env: str) -> list[Built]:
        """A Helm chart's Application, as far as it can be shown without its chart: the values
        Argo CD passes to Helm (values.yaml, then values-<env>.yaml over it), as one object.
        The chart and its version are the element's `sources` (shown beside it)."""
        merged: dict[str, Any] = {}
        for path in (helm.base_values_path(service), helm.env_values_path(service, env)):
            try:
                layer = next(yamlio.load_all(self.tree.read(path) or "{}"), None)
            except (yaml.YAMLError, yamlio.UnsupportedYaml) as exc:
                raise InputError([f"{self.tree.label}: {path}: not YAML: {exc}"]) from exc
            merged = merge_values(merged, layer if isinstance(layer, dict) else {})
        values = {"apiVersion": "helm", "kind": "Values", "metadata": {"name": service}}
        hook = self.tree.read(f"{helm.hooks_path(service, env)}/{SMOKE_TEST_FILE}")
        hooks = [Built(obj=doc) for doc in yamlio.load_all(hook) if doc] if hook else []
        return [Built(obj={**values, "values": merged}), *hooks]

    def _with_kubectl(self, service: str, env: str, overlay: str, why: str) -> list[Built]:
        """What this port does not implement, the real Kustomize builds (from a scratch copy)."""
        print(
            f"note: {self.tree.label}: {overlay}: built with kubectl kustomize ({why})",
            file=sys.stderr,
        )
        with tempfile.TemporaryDirectory(prefix="gitopsgen-kustomize-") as scratch:
            for path, _ in self.tree.inputs(service, env):
                target = Path(scratch, path)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(self.tree.read(path) or "", encoding="utf-8")
            try:
                proc = tools.run_tool(["kubectl", "kustomize", str(Path(scratch, overlay))])
            except tools.ToolMissingError as exc:
                raise InputError(
                    [f"{self.tree.label}: {overlay}: {why}; building it needs kubectl: {exc}"]
                ) from exc
        if proc.returncode != 0:
            raise InputError([f"{self.tree.label}: {overlay}: kubectl kustomize: {proc.stderr}"])
        return [Built(obj=obj) for obj in yamlio.load_all(proc.stdout)]


def compare(
    old: Tree,
    new: Tree,
    *,
    env_order: Sequence[str],
    sensitive: Mapping[str, frozenset[str]],
) -> Report:
    """Every Application whose effective objects differ, most critical environment first."""
    before, after = old.overlays(), new.overlays()
    old_side, new_side = Side(old), Side(new)
    rank = {env: index for index, env in enumerate(reversed(env_order))}
    keys = sorted(set(before) | set(after), key=lambda k: (rank.get(k[1], len(rank)), k[1], k[0]))
    old_elements, new_elements = old.elements() or {}, new.elements() or {}
    changes, unchanged = [], 0
    for key in keys:
        service, env = key
        path = after.get(key) or before[key]
        was_element, element = old_elements.get(path), new_elements.get(path)
        if (
            key in before
            and key in after
            and _same_inputs(old, new, service, env)
            and same(was_element, element)
        ):
            unchanged += 1  # byte-identical inputs build identical objects
            continue
        old_objects = old_side.build(service, env, before[key]) if key in before else None
        new_objects = new_side.build(service, env, after[key]) if key in after else None
        change = compare_application(
            service,
            env,
            old_objects,
            new_objects,
            sensitive.get(service, frozenset()),
            elements=(was_element, element),
        )
        if change is None:
            unchanged += 1
        else:
            changes.append(change)
    old_template, new_template = old.applicationset(), new.applicationset()
    template_changed = (
        old_template is not None and new_template is not None and old_template[0] != new_template[0]
    )
    return Report(changes=tuple(changes), unchanged=unchanged, template_changed=template_changed)


def same(first: Any, second: Any) -> bool:
    """Equal as Kubernetes sees them: `0` is not `false`, `1` is not `1.0` (JSON types)."""
    return bool(first == second and _typed(first) == _typed(second))


def _typed(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _typed(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_typed(item) for item in value]
    return (type(value).__name__, value)


def _same_inputs(old: Tree, new: Tree, service: str, env: str) -> bool:
    return old.inputs(service, env) == new.inputs(service, env)


def compare_application(
    service: str,
    env: str,
    old: list[Built] | None,
    new: list[Built] | None,
    sensitive: frozenset[str],
    *,
    elements: tuple[dict[str, Any] | None, dict[str, Any] | None] = (None, None),
) -> AppChange | None:
    """The Application's change, or None when its objects (and its element) are equal."""
    before = _paired(old or [])
    after = _paired(new or [])
    objects = []
    was_element, element = elements
    element_changed = old is not None and new is not None and not same(was_element, element)
    if element_changed:
        objects.append(_element_change(f"{service}-{env}", was_element, element))
    for key in _ordered_keys(before, after):
        was, now = before.get(key), after.get(key)
        if same(was, now):
            continue
        objects.append(_object_change(was, now, sensitive))
    if old is not None and new is not None and not objects:
        return None
    status: Status = "added" if old is None else "removed" if new is None else "changed"
    facts = _element_facts(was_element, element) if element_changed else []
    body = headline(status, before, after, sensitive)
    return AppChange(
        service=service,
        env=env,
        status=status,
        headline="; ".join([*facts, body] if body else facts),
        objects=tuple(objects),
    )


def _element_change(
    name: str, was: dict[str, Any] | None, now: dict[str, Any] | None
) -> ObjectChange:
    """The Application's own settings: its element of the ApplicationSet's list generator."""
    return ObjectChange(
        kind="argoproj.io/v1alpha1 ApplicationSet element",
        namespace="",
        name=name,
        change="changed",
        before="" if was is None else yamlio.dump(was),
        after="" if now is None else yamlio.dump(now),
    )


def _element_facts(was: dict[str, Any] | None, now: dict[str, Any] | None) -> list[str]:
    """`autoSync false -> true`, `cluster A -> B`: what Argo CD does differently."""
    old, new = was or {}, now or {}
    return [
        _sources_fact(old.get(key), new.get(key))
        if key == "sources"
        else f"{key} {_shown(old.get(key))} -> {_shown(new.get(key))}"
        for key in [*old, *(k for k in new if k not in old)]
        if not same(old.get(key), new.get(key))
    ]


def _sources_fact(was: Any, now: Any) -> str:
    """A chart Application's sources by its chart: `chart valkey 2.4.7 -> 2.5.0`."""
    return f"chart {_chart_of(was)} -> {_chart_of(now)}"


def _chart_of(sources: Any) -> str:
    first = sources[0] if isinstance(sources, list) and sources else None
    if not isinstance(first, dict) or "chart" not in first:
        return "none"
    return f"{first.get('repoURL')}/{first['chart']} {first.get('targetRevision')}"


def _shown(value: Any) -> str:
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, separators=(",", ":"))
    return str(value)


def _pair_key(item: Built) -> PairKey:
    obj = item.obj
    metadata = obj.get("metadata") or {}
    group = str(obj.get("apiVersion", "")).rpartition("/")[0]
    name = item.generated or str(metadata.get("name", ""))
    return group, str(obj.get("kind", "")), str(metadata.get("namespace") or ""), name


def _paired(built: Iterable[Built]) -> dict[PairKey, Object]:
    return {_pair_key(item): item.obj for item in built}


def _ordered_keys(
    before: Mapping[PairKey, Object], after: Mapping[PairKey, Object]
) -> list[PairKey]:
    """Kustomize's order of the new side, then what only the old side had."""
    return [*after, *(key for key in before if key not in after)]


def _object_change(
    was: Object | None, now: Object | None, sensitive: frozenset[str]
) -> ObjectChange:
    shown = now if now is not None else was
    assert shown is not None
    metadata = shown.get("metadata") or {}
    masked_before, masked_after = hide_sensitive(was, now, sensitive)
    change: Status = "added" if was is None else "removed" if now is None else "changed"
    return ObjectChange(
        kind=f"{shown.get('apiVersion', '')} {shown.get('kind', '')}",
        namespace=str(metadata.get("namespace") or ""),
        name=str(metadata.get("name", "")),
        change=change,
        before="" if masked_before is None else yamlio.dump(masked_before),
        after="" if masked_after is None else yamlio.dump(masked_after),
    )


def _hide_env(obj: Object, other: Object | None, sensitive: frozenset[str]) -> None:
    """A container's `env` value whose name is a sensitive key (a layer's plain `env` may set
    one), hidden in place; marked changed when `other` (the old side) differs."""
    others = {
        (name, item.get("name")): item.get("value")
        for name, container in _containers(other or {}).items()
        for item in container.get("env") or ()
        if isinstance(item, dict)
    }
    for name, container in _containers(obj).items():
        for item in container.get("env") or ():
            if isinstance(item, dict) and item.get("name") in sensitive and "value" in item:
                changed = other is not None and others.get((name, item["name"])) != item["value"]
                item["value"] = HIDDEN_CHANGED if changed else HIDDEN


def _secret_fields(obj: Object, sensitive: frozenset[str]) -> list[tuple[str, str]]:
    """(field, key) pairs whose values are never shown: a Secret's, and sensitive config."""
    kind = obj.get("kind")
    if kind == "Secret":
        return [(field, key) for field in ("data", "stringData") for key in (obj.get(field) or {})]
    if kind == "ConfigMap":
        return [("data", key) for key in (obj.get("data") or {}) if key in sensitive]
    return []


def hide_sensitive(
    was: Object | None, now: Object | None, sensitive: frozenset[str]
) -> tuple[Object | None, Object | None]:
    """Both sides with secret values replaced by a marker that still tells a change apart."""
    hidden: list[Object | None] = []
    for obj in (was, now):
        if obj is None:
            hidden.append(None)
            continue
        copy = clone(obj)
        other = now if obj is was else was
        if obj.get("kind") in WORKLOAD_KINDS:
            _hide_env(copy, other if obj is now else None, sensitive)
        for field, key in _secret_fields(obj, sensitive):
            other_value = ((other or {}).get(field) or {}).get(key)
            changed = obj is now and other_value != obj[field][key]
            copy[field][key] = HIDDEN_CHANGED if changed else HIDDEN
        hidden.append(copy)
    return hidden[0], hidden[1]


# ---------------------------------------------------------------------------------------------
# Headlines: one line a reviewer reads first


def headline(
    status: Status,
    before: Mapping[PairKey, Object],
    after: Mapping[PairKey, Object],
    sensitive: frozenset[str],
) -> str:
    if status == "added":
        return f"new Application: {_count(len(after))}{_images_now(after)}"
    if status == "removed":
        return f"Application removed ({_count(len(before))} it deployed)"
    if before and not after:
        return f"retired: its next sync prunes {_count(len(before))}"
    facts = [
        *_image_facts(before, after),
        *_replica_facts(before, after),
        *_resource_facts(before, after),
        *_config_facts(before, after, sensitive),
    ]
    explained = {
        key for key in after if key[1] in WORKLOAD_KINDS | {"ConfigMap", "HorizontalPodAutoscaler"}
    }
    metadata_facts: dict[str, int] = {}
    for key in _ordered_keys(before, after):
        was, now = before.get(key), after.get(key)
        if same(was, now):
            continue
        label = f"{key[1]} {now['metadata']['name'] if now else key[3]}"
        if was is None:
            facts.append(f"+{label}")
        elif now is None:
            facts.append(f"-{label}")
        else:
            for fact in _metadata_facts(was, now):
                metadata_facts[fact] = metadata_facts.get(fact, 0) + 1
            was, now = _without_metadata(was), _without_metadata(now)
            if was != now and (key not in explained or not _explained(key, was, now)):
                facts.append(f"{label}: {_paths_summary(was, now)}")
    facts += [f"{fact} ({_count(count)})" for fact, count in metadata_facts.items()]
    return "; ".join(facts)


# Where Kustomize's labels and annotations land on the objects gitopsgen renders.
_METADATA_MAPS = (
    ("label", ("metadata", "labels")),
    ("label", ("spec", "template", "metadata", "labels")),
    ("annotation", ("metadata", "annotations")),
    ("annotation", ("spec", "template", "metadata", "annotations")),
)


def _map_at(obj: Object, path: tuple[str, ...]) -> dict[str, Any]:
    node: Any = obj
    for part in path:
        node = node.get(part) if isinstance(node, dict) else None
    return node if isinstance(node, dict) else {}


def _metadata_facts(was: Object, now: Object) -> list[str]:
    """`label +team=payments`, `annotation -x`: label and annotation changes, once each."""
    facts: list[str] = []
    for what, path in _METADATA_MAPS:
        old, new = _map_at(was, path), _map_at(now, path)
        for key in sorted(set(old) | set(new)):
            if key not in old:
                fact = f"{what} +{key}={new[key]}"
            elif key not in new:
                fact = f"{what} -{key}"
            elif old[key] != new[key]:
                fact = f"{what} {key}: {old[key]} -> {new[key]}"
            else:
                continue
            if fact not in facts:
                facts.append(fact)
    return facts


def _without_metadata(obj: Object) -> Object:
    """The object without the label and annotation maps _metadata_facts reports on."""
    return _without(obj, *(path for _, path in _METADATA_MAPS))


def changed_paths(was: Any, now: Any, path: str = "") -> list[str]:
    """The leaf fields that differ: `spec.template.spec.containers[app].livenessProbe...`."""
    if isinstance(was, dict) and isinstance(now, dict):
        found = []
        for key in [*was, *(k for k in now if k not in was)]:
            if was.get(key) != now.get(key):
                found += changed_paths(was.get(key), now.get(key), f"{path}.{key}" if path else key)
        return found
    if isinstance(was, list) and isinstance(now, list) and len(was) == len(now):
        found = []
        for index, (old, new) in enumerate(zip(was, now, strict=True)):
            named = (
                isinstance(old, dict)
                and isinstance(new, dict)
                and old.get("name") == new.get("name")
            )
            label = old["name"] if named and old.get("name") else index
            if old != new:
                found += changed_paths(old, new, f"{path}[{label}]")
        return found
    return [path]


def _paths_summary(was: Object, now: Object) -> str:
    """At most two changed fields, the pod template's prefix left out, then how many more."""
    paths = [
        p.removeprefix("spec.template.spec.").removeprefix("spec.") for p in changed_paths(was, now)
    ]
    shown = ", ".join(paths[:2])
    return f"{shown} and {len(paths) - 2} more" if len(paths) > 2 else shown


def _count(number: int) -> str:
    return f"{number} object{'s' if number != 1 else ''}"


def _containers(obj: Object) -> dict[str, Object]:
    spec = ((obj.get("spec") or {}).get("template") or {}).get("spec") or {}
    return {
        str(c.get("name")): c
        for field in ("initContainers", "containers")
        for c in spec.get(field) or ()
        if isinstance(c, dict)
    }


def _workloads(objects: Mapping[PairKey, Object]) -> dict[PairKey, Object]:
    return {key: obj for key, obj in objects.items() if key[1] in WORKLOAD_KINDS}


def _images_now(after: Mapping[PairKey, Object]) -> str:
    images = [
        short_image(str(c.get("image", "")))
        for obj in _workloads(after).values()
        for c in _containers(obj).values()
    ]
    return f"; image {', '.join(images)}" if images else ""


def short_image(image: str) -> str:
    """`...:def456@sha256:bafe24947268f7f6`: the tag and 16 hex digits of the digest (64 bits:
    no one pushes an image whose digest shares them), the registry path elided."""
    repository, tag, digest = split_image(image)
    short = f"...:{tag}" if tag else f"...{repository.rpartition('/')[2]}"
    if digest:
        algorithm, _, hexdigits = digest.partition(":")
        short += f"@{algorithm}:{hexdigits[:16]}"
    return short


def _container_pairs(
    before: Mapping[PairKey, Object], after: Mapping[PairKey, Object]
) -> Iterator[tuple[str, Object, Object]]:
    """(name, as it was, as it is) for each container of a workload on both sides."""
    for key, now in _workloads(after).items():
        was = before.get(key)
        if was is not None:
            old_containers = _containers(was)
            for name, container in _containers(now).items():
                yield name, old_containers.get(name) or {}, container


def _image_facts(before: Mapping[PairKey, Object], after: Mapping[PairKey, Object]) -> list[str]:
    facts = []
    for _, old_container, container in _container_pairs(before, after):
        old_image = str(old_container.get("image", ""))
        new_image = str(container.get("image", ""))
        if old_image and old_image != new_image:
            if split_image(old_image)[0] != split_image(new_image)[0]:
                facts.append(f"image {old_image} -> {new_image}")  # another repository
            elif short_image(old_image) == short_image(new_image):
                facts.append(f"image {old_image} -> {new_image}")  # past 16 hex digits
            else:
                facts.append(f"image {short_image(old_image)} -> {short_image(new_image)}")
    return facts


def _replica_facts(before: Mapping[PairKey, Object], after: Mapping[PairKey, Object]) -> list[str]:
    facts = []
    for key, now in after.items():
        was = before.get(key)
        if was is None:
            continue
        spec, old_spec = now.get("spec") or {}, was.get("spec") or {}
        if key[1] in WORKLOAD_KINDS and spec.get("replicas") != old_spec.get("replicas"):
            facts.append(
                f"replicas {_value(old_spec.get('replicas'))} -> {_value(spec.get('replicas'))}"
            )
        if key[1] == "HorizontalPodAutoscaler":
            old_range = (old_spec.get("minReplicas"), old_spec.get("maxReplicas"))
            new_range = (spec.get("minReplicas"), spec.get("maxReplicas"))
            if old_range != new_range:
                facts.append(
                    f"autoscaling {_value(old_range[0])}-{_value(old_range[1])}"
                    f" -> {_value(new_range[0])}-{_value(new_range[1])} replicas"
                )
    return facts


def _value(value: Any) -> str:
    return "unset" if value is None else str(value)


def _resource_facts(before: Mapping[PairKey, Object], after: Mapping[PairKey, Object]) -> list[str]:
    facts = []
    for name, old_container, container in _container_pairs(before, after):
        old = old_container.get("resources") or {}
        new = container.get("resources") or {}
        parts = [
            f"{side} {resource} {_value((old.get(side) or {}).get(resource))}"
            f" -> {_value((new.get(side) or {}).get(resource))}"
            for side in ("requests", "limits")
            for resource in sorted(set(old.get(side) or {}) | set(new.get(side) or {}))
            if (old.get(side) or {}).get(resource) != (new.get(side) or {}).get(resource)
        ]
        if parts:
            facts.append(f"{name}: {', '.join(parts)}")
    return facts


def _config_facts(
    before: Mapping[PairKey, Object], after: Mapping[PairKey, Object], sensitive: frozenset[str]
) -> list[str]:
    del sensitive  # key names are shown, values never are
    facts = []
    for key, now in after.items():
        was = before.get(key)
        if was is None or key[1] != "ConfigMap":
            continue
        old, new = was.get("data") or {}, now.get("data") or {}
        keys = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
        if keys:
            facts.append(f"config {', '.join(keys)} changed")
    return facts


def _explained(key: PairKey, was: Object, now: Object) -> bool:
    """The change is all in what the headline already says (image, replicas, config...)."""
    if key[1] == "ConfigMap":
        return _without(was, ("data",), ("metadata", "name")) == _without(
            now, ("data",), ("metadata", "name")
        )
    if key[1] == "HorizontalPodAutoscaler":
        return _without(was, ("spec", "minReplicas"), ("spec", "maxReplicas")) == _without(
            now, ("spec", "minReplicas"), ("spec", "maxReplicas")
        )
    return _strip_workload(was) == _strip_workload(now)


def _without(obj: Object, *paths: tuple[str, ...]) -> Object:
    copy: Object = clone(obj)
    for path in paths:
        node: Any = copy
        for part in path[:-1]:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict):
            node.pop(path[-1], None)
    return copy


def _strip_workload(obj: Object) -> Object:
    """A workload without image, replicas, resources and the ConfigMap names it references."""
    copy = _without(obj, ("spec", "replicas"))
    spec = ((copy.get("spec") or {}).get("template") or {}).get("spec") or {}
    for field in ("initContainers", "containers"):
        for container in spec.get(field) or ():
            if isinstance(container, dict):
                container.pop("image", None)
                container.pop("resources", None)
                for source in container.get("envFrom") or ():
                    if isinstance(source, dict) and "configMapRef" in source:
                        source["configMapRef"].pop("name", None)
    return copy
