"""`kustomize build` of one directory, for the features gitopsgen's kustomizations use.

Followed step by step from sigs.k8s.io/kustomize/api (v5): KustTarget.accumulateTarget reads
the resources (a directory is built first, its transformer configurations merged upward),
then runs the generators, then the builtin transformers in their fixed order (patches,
namespace, labels, images); makeCustomizedResMap then appends the generated ConfigMaps'
content hashes to their names and fixes every reference to them; `kubectl kustomize` prints
in the legacy order (SortOrderTransformer). A kustomization using anything else raises
`Unsupported`, so a caller can hand that directory to the real kubectl instead of guessing.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import yaml
from attrs import field, frozen

from generator.kustomize import jsonpatch, yamlio

Object = dict[str, Any]
# Reads a file of the tree by its path (POSIX, relative to the tree's root); None if absent.
Reader = Callable[[str], "str | None"]

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
_KNOWN_KEYS = frozenset(
    {
        "apiVersion",
        "kind",
        "resources",
        "configurations",
        "namespace",
        "labels",
        "images",
        "configMapGenerator",
        "patches",
    }
)
# Kinds that Kustomize's namespace transformer would treat specially (their subjects, webhook
# services or names): none is ever in a gitopsgen overlay.
_NAMESPACE_SPECIAL = frozenset(
    {
        "Namespace",
        "RoleBinding",
        "ClusterRoleBinding",
        "APIService",
        "CustomResourceDefinition",
        "MutatingWebhookConfiguration",
        "ValidatingWebhookConfiguration",
    }
)
# Cluster-scoped kinds of the Kubernetes API (Kustomize reads this from its OpenAPI data);
# every other kind, custom ones included, is namespaced to it.
CLUSTER_SCOPED = frozenset(
    {
        "APIService",
        "CertificateSigningRequest",
        "ClusterRole",
        "ClusterRoleBinding",
        "ComponentStatus",
        "CSIDriver",
        "CSINode",
        "CustomResourceDefinition",
        "FlowSchema",
        "IngressClass",
        "MutatingAdmissionPolicy",
        "MutatingAdmissionPolicyBinding",
        "MutatingWebhookConfiguration",
        "Namespace",
        "Node",
        "PersistentVolume",
        "PodSecurityPolicy",
        "PriorityClass",
        "PriorityLevelConfiguration",
        "RuntimeClass",
        "StorageClass",
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
        "ValidatingWebhookConfiguration",
        "VolumeAttachment",
    }
)


class Unsupported(Exception):
    """The kustomization uses a feature this port does not implement."""


class BuildError(Exception):
    """Kustomize itself would fail on this kustomization (a missing file, a bad patch)."""


@frozen(kw_only=True)
class FieldSpec:
    """A field path, and the group/version/kind it applies to (empty: any)."""

    path: tuple[str, ...]
    kind: str = ""
    group: str = ""
    version: str = ""
    create: bool = False

    def selects(self, obj: Object) -> bool:
        group, _, version = _api_version(obj)
        return (
            (not self.kind or self.kind == obj.get("kind"))
            and (not self.group or self.group == group)
            and (not self.version or self.version == version)
        )


def _split_path(path: str) -> tuple[str, ...]:
    """A fieldspec path: `/` separates fields, `\\/` is a slash inside one."""
    return tuple(part.replace("\x00", "/") for part in path.replace("\\/", "\x00").split("/"))


def _spec(raw: Any) -> FieldSpec:
    if not isinstance(raw, dict) or not isinstance(raw.get("path"), str):
        raise Unsupported(f"a field spec without a path: {raw!r}")
    return FieldSpec(
        path=_split_path(raw["path"]),
        kind=str(raw.get("kind", "")),
        group=str(raw.get("group", "")),
        version=str(raw.get("version", "")),
        create=bool(raw.get("create", False)),
    )


def _builtin_config_map_references() -> tuple[FieldSpec, ...]:
    """namereference.go's field specs for a ConfigMap's name (api/internal/konfig)."""
    suffixes = (
        "volumes/configMap/name",
        "containers/env/valueFrom/configMapKeyRef/name",
        "initContainers/env/valueFrom/configMapKeyRef/name",
        "containers/envFrom/configMapRef/name",
        "initContainers/envFrom/configMapRef/name",
        "volumes/projected/sources/configMap/name",
    )
    pod_specs = {
        "Pod": ("spec", "v1"),
        "PodTemplate": ("template/spec", ""),
        "Deployment": ("spec/template/spec", ""),
        "ReplicaSet": ("spec/template/spec", ""),
        "DaemonSet": ("spec/template/spec", ""),
        "StatefulSet": ("spec/template/spec", ""),
        "Job": ("spec/template/spec", ""),
        "CronJob": ("spec/jobTemplate/spec/template/spec", ""),
    }
    specs = [
        FieldSpec(path=_split_path(f"{prefix}/{suffix}"), kind=kind, version=version)
        for kind, (prefix, version) in pod_specs.items()
        for suffix in suffixes
    ]
    specs += [
        FieldSpec(path=_split_path("spec/configSource/configMap"), kind="Node"),
        FieldSpec(path=_split_path("rules/resourceNames"), kind="Role"),
        FieldSpec(path=_split_path("rules/resourceNames"), kind="ClusterRole"),
        FieldSpec(
            path=_split_path(
                "metadata/annotations/nginx.ingress.kubernetes.io\\/fastcgi-params-configmap"
            ),
            kind="Ingress",
        ),
    ]
    return tuple(specs)


def _builtin_template_labels() -> tuple[FieldSpec, ...]:
    """metadatalabels.go, the `templateLabels` field specs `includeTemplates` adds."""
    raw = [
        ("spec/template/metadata/labels", "ReplicationController", "", "v1"),
        ("spec/template/metadata/labels", "Deployment", "", ""),
        ("spec/template/metadata/labels", "ReplicaSet", "", ""),
        ("spec/template/metadata/labels", "DaemonSet", "", ""),
        ("spec/template/metadata/labels", "StatefulSet", "apps", ""),
        ("spec/template/metadata/labels", "Job", "batch", ""),
        ("spec/jobTemplate/metadata/labels", "CronJob", "batch", ""),
        ("spec/jobTemplate/spec/template/metadata/labels", "CronJob", "batch", ""),
    ]
    return tuple(
        FieldSpec(path=_split_path(p), kind=k, group=g, version=v, create=True)
        for p, k, g, v in raw
    )


BUILTIN_CONFIG_MAP_REFERENCES = _builtin_config_map_references()
BUILTIN_TEMPLATE_LABELS = _builtin_template_labels()
METADATA_LABELS = FieldSpec(path=("metadata", "labels"), create=True)


@frozen(kw_only=True)
class Config:
    """The transformer configuration a build has gathered (its `configurations` files)."""

    config_map_references: tuple[FieldSpec, ...] = ()
    template_labels: tuple[FieldSpec, ...] = ()

    def merged(self, other: Config) -> Config:
        return Config(
            config_map_references=_union(self.config_map_references, other.config_map_references),
            template_labels=_union(self.template_labels, other.template_labels),
        )


def _union(first: tuple[FieldSpec, ...], second: tuple[FieldSpec, ...]) -> tuple[FieldSpec, ...]:
    return first + tuple(spec for spec in second if spec not in first)


@frozen(kw_only=True)
class Resource:
    obj: Object
    # A generated ConfigMap whose name gets its content hash at the end of the build.
    hashed: bool = False


@frozen(kw_only=True)
class Built:
    """One object of a build; `generated`: a generated ConfigMap's name before its hash."""

    obj: Object
    generated: str | None = None


@frozen(kw_only=True)
class Accumulated:
    resources: tuple[Resource, ...]
    config: Config = field(factory=Config)


def _api_version(obj: Object) -> tuple[str, str, str]:
    api = str(obj.get("apiVersion", ""))
    group, _, version = api.rpartition("/")
    return group, "/", version


def clone(value: Any) -> Any:
    """A deep copy of JSON-like data (dicts, lists, scalars), much faster than copy.deepcopy."""
    if isinstance(value, dict):
        return {key: clone(item) for key, item in value.items()}
    if isinstance(value, list):
        return [clone(item) for item in value]
    return value


class Kustomizer:
    """Builds kustomization directories of one tree; a directory is built once and reused."""

    def __init__(self, read: Reader) -> None:
        self._reader = read
        self._built: dict[str, Accumulated] = {}
        self._allowed: tuple[str, ...] = ()

    def build(self, directory: str, *, within: tuple[str, ...] = ()) -> list[Built]:
        """The objects `kubectl kustomize <directory>` prints, in its order.

        `within`: path prefixes the build may read; reading elsewhere raises Unsupported (a
        caller that skips unchanged inputs must know every file a build depends on).
        """
        self._allowed = within
        accumulated = self._accumulate(directory, ())
        objects = [clone(resource.obj) for resource in accumulated.resources]
        generated = _add_hash_suffixes(objects, accumulated, accumulated.config)
        built = [
            Built(obj=obj, generated=name) for obj, name in zip(objects, generated, strict=True)
        ]
        return sorted(built, key=lambda item: legacy_sort_key(item.obj))

    def read(self, path: str) -> str | None:
        if self._allowed and not f"{path}/".startswith(self._allowed):
            raise Unsupported(f"reads {path}, outside {' and '.join(self._allowed)}")
        return self._reader(path)

    def _accumulate(self, directory: str, stack: tuple[str, ...]) -> Accumulated:
        if directory in stack:
            raise BuildError(f"{directory}: cycle in kustomization resources")
        if directory not in self._built:
            self._built[directory] = self._accumulate_target(directory, (*stack, directory))
        return self._built[directory]

    def _kustomization(self, directory: str) -> tuple[str, Object]:
        found = [
            (path, text)
            for path in (posixpath.join(directory, name) for name in KUSTOMIZATION_FILES)
            if (text := self.read(path)) is not None
        ]
        if len(found) > 1:  # kustomize: "Found multiple kustomization files"
            raise BuildError(f"{directory}: more than one kustomization file")
        if not found:
            raise BuildError(f"{directory}: no kustomization file")
        path, text = found[0]
        documents = load(path, text)
        if len(documents) != 1 or not isinstance(documents[0], dict):
            raise BuildError(f"{path}: expected one kustomization mapping")
        kind = documents[0].get("kind", "Kustomization")
        if kind != "Kustomization":
            raise Unsupported(f"{path}: kind {kind}")
        return path, documents[0]

    def _accumulate_target(self, directory: str, stack: tuple[str, ...]) -> Accumulated:
        path, kustomization = self._kustomization(directory)
        unknown = sorted(set(kustomization) - _KNOWN_KEYS)
        if unknown:
            raise Unsupported(f"{path}: {', '.join(unknown)}")
        resources: list[Resource] = []
        config = Config()
        for entry in kustomization.get("resources") or ():
            child = self._resource(directory, str(entry), stack)
            resources += child.resources
            config = config.merged(child.config)
        for entry in kustomization.get("configurations") or ():
            config = config.merged(self._configuration(posixpath.join(directory, str(entry))))
        resources += [
            Resource(obj=_generate_config_map(path, raw), hashed=True)
            for raw in kustomization.get("configMapGenerator") or ()
        ]
        objects = [clone(resource.obj) for resource in resources]
        for patch in kustomization.get("patches") or ():
            objects = self._patch(directory, path, patch, objects)
        namespace = kustomization.get("namespace")
        if namespace:
            _set_namespace(path, objects, str(namespace))
        for label in kustomization.get("labels") or ():
            _add_labels(path, objects, label, config)
        for image in kustomization.get("images") or ():
            _set_image(path, objects, image)
        _check_unique(path, objects)
        return Accumulated(
            resources=tuple(
                Resource(obj=obj, hashed=resource.hashed)
                for obj, resource in zip(objects, resources, strict=True)
            ),
            config=config,
        )

    def _resource(self, directory: str, entry: str, stack: tuple[str, ...]) -> Accumulated:
        target = posixpath.normpath(posixpath.join(directory, entry))
        if "://" in entry or target.startswith("../") or target == "..":
            raise Unsupported(f"{directory}: resource {entry!r} outside the tree")
        text = self.read(target)
        if text is None:
            return self._accumulate(target, stack)
        objects = [_check_object(target, doc) for doc in load(target, text)]
        return Accumulated(resources=tuple(Resource(obj=obj) for obj in objects))

    def _configuration(self, path: str) -> Config:
        text = self.read(path)
        if text is None:
            raise BuildError(f"{path}: no such configuration file")
        documents = load(path, text)
        raw = documents[0] if documents else {}
        if not isinstance(raw, dict):
            raise BuildError(f"{path}: not a transformer configuration")
        references = tuple(
            _spec(spec)
            for entry in raw.get("nameReference") or ()
            if entry.get("kind") == "ConfigMap"
            for spec in entry.get("fieldSpecs") or ()
        )
        labels = tuple(_spec(spec) for spec in raw.get("templateLabels") or ())
        return Config(config_map_references=references, template_labels=labels)

    def _patch(self, directory: str, path: str, patch: Any, objects: list[Object]) -> list[Object]:
        if not isinstance(patch, dict) or set(patch) - {"path", "target"} or "path" not in patch:
            raise Unsupported(f"{path}: a patch other than a JSON 6902 file with a target")
        patch_path = posixpath.join(directory, str(patch["path"]))
        text = self.read(patch_path)
        if text is None:
            raise BuildError(f"{patch_path}: no such patch file")
        documents = load(patch_path, text)
        if len(documents) != 1 or not isinstance(documents[0], list):
            raise Unsupported(f"{patch_path}: not a JSON 6902 patch")
        target = patch.get("target") or {}
        if set(target) - {"group", "version", "kind", "name", "namespace"}:
            raise Unsupported(f"{path}: a patch target by labels or annotations")
        try:
            return [
                jsonpatch.apply(obj, documents[0]) if _targets(target, obj) else obj
                for obj in objects
            ]
        except jsonpatch.PatchError as exc:
            raise BuildError(f"{patch_path}: {exc}") from exc


def load(path: str, text: str) -> list[Any]:
    """A file's documents; YAML this port does not reproduce is Unsupported, not guessed."""
    try:
        return list(yamlio.load_all(text))
    except yamlio.UnsupportedYaml as exc:
        raise Unsupported(f"{path}: {exc}") from exc
    except yaml.YAMLError as exc:
        raise BuildError(f"{path}: not valid YAML: {exc}") from exc


def _check_object(path: str, doc: Any) -> Object:
    if isinstance(doc, dict) and str(doc.get("kind", "")).endswith("List"):
        raise Unsupported(f"{path}: a {doc['kind']} of objects")
    if not isinstance(doc, dict) or not doc.get("kind") or not doc.get("apiVersion"):
        raise BuildError(f"{path}: not a Kubernetes object (apiVersion and kind)")
    metadata = doc.get("metadata")
    if not isinstance(metadata, dict) or not metadata.get("name"):
        raise BuildError(f"{path}: {doc['kind']} without metadata.name")
    return doc


def _targets(target: dict[str, Any], obj: Object) -> bool:
    """A patch target selects the object (kind, group, version exact; names as regexes)."""
    group, _, version = _api_version(obj)
    metadata = obj["metadata"]
    # Kustomize's selector matches every field as an anchored regular expression
    # (api/types/selector.go, SelectorRegex).
    fields = (
        ("kind", obj.get("kind")),
        ("group", group),
        ("version", version),
        ("name", metadata.get("name")),
        ("namespace", metadata.get("namespace")),
    )
    for key, value in fields:
        if target.get(key):
            try:
                if not re.fullmatch(str(target[key]), str(value or "")):
                    return False
            except re.error as exc:
                raise Unsupported(f"patch target {key} {target[key]!r}: {exc}") from exc
    return True


def _generate_config_map(path: str, raw: Any) -> Object:
    """configMapGenerator: name, options (labels, annotations) and literals only."""
    if not isinstance(raw, dict) or set(raw) - {"name", "options", "literals"}:
        raise Unsupported(f"{path}: a configMapGenerator with files, envs or a behavior")
    options = raw.get("options") or {}
    if set(options) - {"labels", "annotations"}:
        raise Unsupported(f"{path}: configMapGenerator options other than labels/annotations")
    metadata: Object = {"name": str(raw["name"])}
    if options.get("labels"):
        metadata["labels"] = {str(k): str(v) for k, v in options["labels"].items()}
    if options.get("annotations"):
        metadata["annotations"] = {str(k): str(v) for k, v in options["annotations"].items()}
    obj: Object = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata}
    data = dict(_literal(path, str(item)) for item in raw.get("literals") or ())
    if data:
        obj["data"] = data
    return obj


def _literal(path: str, source: str) -> tuple[str, str]:
    """api/kv/kv.go parseLiteralSource: split at the first `=`, strip one pair of quotes."""
    key, sep, value = source.partition("=")
    if not sep or not key:
        raise BuildError(f"{path}: invalid literal source {source}, expected key=value")
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        value = value[1:-1]
    return key, value


def _set_namespace(path: str, objects: list[Object], namespace: str) -> None:
    for obj in objects:
        kind = obj.get("kind")
        if kind in _NAMESPACE_SPECIAL:
            raise Unsupported(f"{path}: namespace over a {kind}")
        if kind not in CLUSTER_SCOPED:
            obj["metadata"]["namespace"] = namespace


def _add_labels(path: str, objects: list[Object], label: Any, config: Config) -> None:
    if not isinstance(label, dict) or set(label) - {"pairs", "includeTemplates"}:
        raise Unsupported(f"{path}: labels with selectors or field specs")
    pairs = {str(k): str(v) for k, v in (label.get("pairs") or {}).items()}
    specs: tuple[FieldSpec, ...] = ()
    if label.get("includeTemplates"):
        specs = _union(BUILTIN_TEMPLATE_LABELS, config.template_labels)
    specs = _union((METADATA_LABELS,), specs)
    for obj in objects:
        for spec in specs:
            if spec.selects(obj):
                for labels in _maps_at(obj, spec.path, create=spec.create):
                    labels.update(pairs)


def _maps_at(node: Any, path: tuple[str, ...], *, create: bool) -> Iterator[dict[str, Any]]:
    """The mappings at `path` (through every element of a list), made if `create`."""
    if isinstance(node, list):
        for item in node:
            yield from _maps_at(item, path, create=create)
        return
    if not isinstance(node, dict):
        return
    if not path:
        yield node
        return
    head, rest = path[0], path[1:]
    if head not in node or node[head] is None:
        if not create:
            return
        node[head] = {}
    yield from _maps_at(node[head], rest, create=create)


def _set_image(path: str, objects: list[Object], image: Any) -> None:
    allowed = {"name", "newName", "newTag", "digest"}
    if not isinstance(image, dict) or set(image) - allowed or not image.get("name"):
        raise Unsupported(f"{path}: an images entry other than name/newName/newTag/digest")
    for obj in objects:
        if obj.get("kind") != "CustomResourceDefinition":
            _walk_containers(obj, image)


def _walk_containers(node: Any, image: dict[str, Any]) -> None:
    """imagetag.LegacyFilter: every `containers`/`initContainers` list, at any depth."""
    if isinstance(node, dict):
        for key, value in node.items():
            _walk_containers(value, image)
            if key in ("containers", "initContainers") and isinstance(value, list):
                for container in value:
                    if isinstance(container, dict) and isinstance(container.get("image"), str):
                        container["image"] = updated_image(container["image"], image)
    elif isinstance(node, list):
        for item in node:
            _walk_containers(item, image)


def updated_image(value: str, image: dict[str, Any]) -> str:
    """imagetag/updater.go SetImageValue, with image.IsImageMatched and image.Split."""
    pattern = (
        "^" + str(image["name"]) + r"(:[a-zA-Z0-9_.{}-]*)?(@[a-zA-Z0-9]+([.+_-][a-zA-Z0-9]+)*"
        r":[a-zA-Z0-9_.{}-]*)?$"
    )
    try:
        if not re.match(pattern, value):
            return value
    except re.error:
        return value
    name, tag, digest = split_image(value)
    if image.get("newName"):
        name = str(image["newName"])
    new_tag, new_digest = str(image.get("newTag") or ""), str(image.get("digest") or "")
    if new_tag and new_digest:
        tag, digest = new_tag, new_digest
    elif new_tag:
        tag, digest = new_tag, ""
    elif new_digest:
        tag, digest = "", new_digest
    if tag:
        name += ":" + tag
    if digest:
        name += "@" + digest
    return name


def split_image(value: str) -> tuple[str, str, str]:
    """image.Split: name, tag, digest (a `:` before the first `/` is a registry's port)."""
    slash = value.find("/")
    offset = slash if slash > 0 else 0
    search = value[offset:]
    at, colon = search.find("@"), search.find(":")
    if colon < 0 and at < 0:
        return value, "", ""
    if at >= 0 and (at < colon or colon < 0):
        return value[: at + offset], "", value[at + offset + 1 :]
    if at >= 0 and colon >= 0:
        return (
            value[: colon + offset],
            value[colon + offset + 1 : at + offset],
            value[at + offset + 1 :],
        )
    return value[: colon + offset], value[colon + offset + 1 :], ""


def _check_unique(path: str, objects: list[Object]) -> None:
    seen: set[tuple[str, ...]] = set()
    for obj in objects:
        key = object_key(obj)
        if key in seen:
            raise BuildError(f"{path}: may not add resource with an already registered id {key}")
        seen.add(key)


def object_key(obj: Object) -> tuple[str, str, str, str]:
    """apiVersion, kind, namespace, name: what identifies an object in a build."""
    metadata = obj.get("metadata") or {}
    return (
        str(obj.get("apiVersion", "")),
        str(obj.get("kind", "")),
        str(metadata.get("namespace") or ""),
        str(metadata.get("name", "")),
    )


def config_map_hash(obj: Object) -> str:
    """hasher.go: sha256 of the JSON of kind, name and data (binaryData), encoded.

    The name is always empty: encodeConfigMap looks it up with `yaml.Lookup("metadata/name")`,
    one field literally named `metadata/name`, which no ConfigMap has (getNodeValues then
    puts ""). So two ConfigMaps with equal data get equal suffixes, as kubectl shows.
    """
    encoded: Object = {"kind": "ConfigMap", "name": "", "data": obj.get("data", "")}
    if isinstance(obj.get("binaryData"), dict):
        encoded["binaryData"] = obj["binaryData"]
    text = _go_json(encoded)
    digest = hashlib.sha256(text.encode()).hexdigest()[:10]
    return digest.translate(str.maketrans("013ae", "ghkmt"))


def _go_json(value: Any) -> str:
    """encoding/json.Marshal: sorted keys, no spaces, <, > and & escaped as \\u003c etc."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    for char, escape in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(char, escape)
    return text


def _add_hash_suffixes(
    objects: list[Object], accumulated: Accumulated, config: Config
) -> list[str | None]:
    """addHashesToNames then FixBackReferences; each object's name before its hash, if any."""
    renamed: dict[tuple[str, str], str] = {}
    generated: list[str | None] = []
    for obj, resource in zip(objects, accumulated.resources, strict=True):
        generated.append(None)
        if resource.hashed:
            metadata = obj["metadata"]
            old = metadata["name"]
            generated[-1] = old
            metadata["name"] = f"{old}-{config_map_hash(obj)}"
            renamed[(str(metadata.get("namespace") or ""), old)] = metadata["name"]
    if not renamed:
        return generated
    specs = BUILTIN_CONFIG_MAP_REFERENCES + config.config_map_references
    for obj in objects:
        namespace = str(obj["metadata"].get("namespace") or "")
        for spec in specs:
            if spec.selects(obj):
                _rename_at(obj, spec.path, renamed, namespace)
    return generated


def _rename_at(
    node: Any, path: tuple[str, ...], renamed: dict[tuple[str, str], str], namespace: str
) -> None:
    if isinstance(node, list):
        for index, item in enumerate(node):
            if not path and isinstance(item, str):
                node[index] = renamed.get((namespace, item), item)
            else:
                _rename_at(item, path, renamed, namespace)
        return
    if not isinstance(node, dict) or not path:
        return
    head, rest = path[0], path[1:]
    if head not in node:
        return
    value = node[head]
    if not rest and isinstance(value, str):
        node[head] = renamed.get((namespace, value), value)
    else:
        _rename_at(value, rest, renamed, namespace)


# kyaml/resid/gvk.go and SortOrderTransformer: the legacy order `kubectl kustomize` prints.
_ORDER_FIRST = [
    "Namespace",
    "ResourceQuota",
    "StorageClass",
    "CustomResourceDefinition",
    "ServiceAccount",
    "PodSecurityPolicy",
    "Role",
    "ClusterRole",
    "RoleBinding",
    "ClusterRoleBinding",
    "ConfigMap",
    "Secret",
    "Endpoints",
    "Service",
    "LimitRange",
    "PriorityClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "Deployment",
    "StatefulSet",
    "CronJob",
    "PodDisruptionBudget",
]
_ORDER_LAST = ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration")
_TYPE_ORDER = {kind: index - len(_ORDER_FIRST) for index, kind in enumerate(_ORDER_FIRST)}
_TYPE_ORDER |= {kind: index + 1 for index, kind in enumerate(_ORDER_LAST)}


def legacy_sort_key(obj: Object) -> tuple[int, str, str]:
    group, _, version = _api_version(obj)
    kind = str(obj.get("kind", ""))
    metadata = obj.get("metadata") or {}
    gvk = "_".join((group or "~G", version or "~V", kind or "~K"))
    # legacyResIDSortString breaks ties: Gvk.String() (kind.version.group), namespace, name.
    gvk_string = ".".join((kind or "[noKind]", version or "[noVer]", group or "[noGrp]"))
    resid = "|".join(
        (gvk_string, str(metadata.get("namespace") or "~X"), str(metadata.get("name") or "~N"))
    )
    return _TYPE_ORDER.get(kind, 0), gvk, resid


def render_objects(built: Iterable[Built]) -> str:
    """The objects as `kubectl kustomize` prints them."""
    return yamlio.dump_all([item.obj for item in built])
