"""`gitopsgen apps`: the Applications Argo CD will generate, from the rendered ApplicationSet.

Nothing here is computed from the services file directly: the tree is rendered in memory,
argocd/applicationset.yaml is parsed, its generators run over the rendered tree (which is
the gitops repository) and its Go templates and templatePatch are evaluated the way the
ApplicationSet controller does. A wrong ApplicationSet therefore shows up in this output.
Generators and options outside the small supported set raise ExpansionError.

Only the ApplicationSet's (service) Applications are listed: the Kyverno guard's Applications
are plain files under argocd/policies/, in the project platform-policies, read as they are.

Speed, at 1,000 services (3,000 Applications): YAML is read from libyaml's events (PyYAML's
C parser), plain scalars resolved as go-yaml v3 resolves them (kustomize/yamlio.py, a YAML 1.2
core schema like the pure-Python ruamel.yaml reader used before, which took 10 of the 12
seconds `apps` needed). Everything gitopsgen writes is quoted wherever a YAML 1.1 or 1.2
reader would read it otherwise, so the readers agree on it (tests/test_apps_fast.py compares
them). Only the ApplicationSet is rendered unless a generator reads other files, each Go
template is parsed once, and each distinct rendered templatePatch is read once.
"""

from __future__ import annotations

import copy
import json
import re
import sys
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import yaml

from generator.argo import gotemplate
from generator.kustomize import yamlio
from generator.naming import gitops_repo_url
from generator.render import argocd, render_tree, with_header
from generator.render.argocd import APPLICATIONSET_PATH
from generator.resolve import Model
from generator.spec.errors import InputError

EXIT_OK, EXIT_INTERNAL = 0, 3
RESOURCES_FINALIZER = "resources-finalizer.argocd.argoproj.io"
SYNC_POLICIES = ("create-only", "create-update", "create-delete", "sync")
SUPPORTED_OPTIONS = ["missingkey=error"]
SUMMARY_FIELDS = (
    "name",
    "project",
    "cluster",
    "namespace",
    "path",
    "auto_sync",
    "revision",
    "repo",
    "cascade",
)


class ExpansionError(ValueError):
    """The ApplicationSet cannot be expanded (or Argo CD would refuse it)."""


def run(model: Model, as_json: bool) -> int:
    """Print the Applications: a table, or with `as_json` a JSON list of objects."""
    try:
        apps = expand_tree(
            RenderedTree(model), gitops_repo_url(model.spec.gitops.repo), model.spec.gitops.branch
        )
    except gotemplate.TemplateError as exc:
        # The templates carry values from the services file (the gitops branch, ...): a
        # template Argo CD would refuse is the user's input to fix, not a bug.
        raise InputError(
            [f"{APPLICATIONSET_PATH}: Argo CD would refuse this ApplicationSet: {exc}"]
        ) from None
    except ExpansionError as exc:
        print(f"gitopsgen: the rendered ApplicationSet does not expand: {exc}", file=sys.stderr)
        return EXIT_INTERNAL
    summaries = [summary(app) for app in apps]
    if as_json:
        print(json.dumps(summaries, indent=2))
    else:
        print(table(summaries), end="")
    return EXIT_OK


def summary(app: Mapping[str, Any]) -> dict[str, Any]:
    """The fields a user checks, from one generated Application."""
    spec = app["spec"]
    automated = spec.get("syncPolicy", {}).get("automated")
    # A multi-source Application (a Helm chart) is summarised by its first source, the chart:
    # `path` is then `<chart>@<version>`, the revision the chart's version.
    source = spec["sources"][0] if spec.get("sources") else spec["source"]
    path = (
        source.get("path")
        if "chart" not in source
        else f"{source['chart']}@{source.get('targetRevision')}"
    )
    return {
        "name": app["metadata"]["name"],
        "project": spec["project"],
        "cluster": spec["destination"].get("server") or spec["destination"].get("name"),
        "namespace": spec["destination"].get("namespace"),
        "path": path,
        "auto_sync": automated is not None and automated.get("enabled", True) is not False,
        "revision": source.get("targetRevision"),
        "repo": source["repoURL"],
        # deleting the Application deletes what it deployed (the resources finalizer)
        "cascade": RESOURCES_FINALIZER in app["metadata"].get("finalizers", []),
    }


def table(rows: list[dict[str, Any]]) -> str:
    headers = ("NAME", "PROJECT", "CLUSTER", "NAMESPACE", "PATH", "SYNC")
    cells = [
        (
            *(str(r[key]) for key in ("name", "project", "cluster", "namespace", "path")),
            "auto" if r["auto_sync"] else "manual",
        )
        for r in rows
    ]
    widths = [max(len(c) for c in column) for column in zip(headers, *cells, strict=True)]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
        for row in (headers, *cells)
    ]
    return "\n".join(lines) + "\n"


class RenderedTree(Mapping[str, str]):
    """`render_tree(model)`, rendered only as far as it is read.

    The ApplicationSet is rendered alone (its list generator needs nothing else); any other
    file, or a look at the whole tree (a git generator's files), renders everything once.
    """

    def __init__(self, model: Model) -> None:
        self._model = model
        self._tree: dict[str, str] | None = None
        self._appset: str | None = None

    def _whole(self) -> dict[str, str]:
        if self._tree is None:
            self._tree = render_tree(self._model)
        return self._tree

    def __getitem__(self, path: str) -> str:
        if path != APPLICATIONSET_PATH or self._tree is not None:
            return self._whole()[path]
        if self._appset is None:
            self._appset = with_header(path, argocd.render_applicationset(self._model))
        return self._appset

    def __contains__(self, path: object) -> bool:
        return path == APPLICATIONSET_PATH or path in self._whole()

    def __iter__(self) -> Iterator[str]:
        return iter(self._whole())

    def __len__(self) -> int:
        return len(self._whole())


def load_yaml(text: str) -> Any:
    """The one document of `text` (None when there is none), as yamlio.load_all reads it."""
    try:
        documents = from_events(yaml.parse(text, Loader=_LOADER))
    except _Unusual:
        documents = list(yamlio.load_all(text))
    if len(documents) > 1:
        raise ExpansionError(f"expected one YAML document, found {len(documents)}")
    return documents[0] if documents else None


_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's parser, if built
_NO_TAG = (None, "!")


class _Unusual(Exception):
    """YAML that only PyYAML's constructor reads right: tags, anchors, unhashable keys."""


def from_events(events: Iterable[Any]) -> list[Any]:
    """The non-empty documents of an event stream, built as yamlio's loader builds them (plain
    scalars read as go-yaml v3 reads them, quoted and block ones as strings) but straight from
    libyaml's events: PyYAML's composer and constructor take five times as long, 0.7 s for the
    ApplicationSet of 1,000 services. Raises _Unusual for what they must read."""
    documents: list[Any] = []
    stack: list[dict[Any, Any] | list[Any]] = []
    keys: list[Any] = []  # per open mapping: its pending key, or _NO_KEY

    def add(value: Any) -> None:
        if not stack:
            documents.append(value)
            return
        top = stack[-1]
        if isinstance(top, list):
            top.append(value)
        elif keys[-1] is _NO_KEY:
            # A repeated key or a merge key: yamlio's loader refuses or reports them exactly.
            if isinstance(value, dict | list) or value in top or value == "<<":
                raise _Unusual
            keys[-1] = value
        else:
            top[keys[-1]] = value
            keys[-1] = _NO_KEY

    for event in events:
        kind = type(event)
        if kind is yaml.ScalarEvent:
            if event.anchor is not None or event.tag not in _NO_TAG:
                raise _Unusual
            add(event.value if event.style else yamlio._v3_scalar(event.value))
        elif kind is yaml.MappingStartEvent or kind is yaml.SequenceStartEvent:
            if event.anchor is not None or event.tag not in _NO_TAG:
                raise _Unusual
            node: dict[Any, Any] | list[Any] = {} if kind is yaml.MappingStartEvent else []
            add(node)
            stack.append(node)
            keys.append(_NO_KEY)
        elif kind is yaml.MappingEndEvent or kind is yaml.SequenceEndEvent:
            stack.pop()
            keys.pop()
        elif kind is yaml.AliasEvent:
            raise _Unusual
    return [document for document in documents if document is not None]


_NO_KEY = object()


# ---------------------------------------------------------------------------------------------
# The ApplicationSet controller, in miniature


def expand_tree(tree: Mapping[str, str], repo_url: str, revision: str) -> list[dict[str, Any]]:
    """Every Application the rendered tree's ApplicationSet generates, in generation order.

    `repo_url` and `revision` say which repository and revision the tree is: a git generator
    reading anything else cannot be expanded from it.
    """
    if APPLICATIONSET_PATH not in tree:
        raise ExpansionError(f"{APPLICATIONSET_PATH} is not in the rendered tree")
    appset = load_yaml(tree[APPLICATIONSET_PATH])
    return expand(appset, Repository(tree=tree, url=repo_url, revision=revision))


class Repository:
    """The rendered tree standing in for the gitops repository at one revision."""

    def __init__(self, *, tree: Mapping[str, str], url: str, revision: str) -> None:
        self.tree, self.url, self.revision = tree, url, revision

    def files(self, url: str, revision: str, pattern: str) -> dict[str, str]:
        if (url, revision) != (self.url, self.revision):
            raise ExpansionError(
                f"the git generator reads {url}@{revision}, "
                f"but the tree is {self.url}@{self.revision}"
            )
        matcher = git_pathspec(pattern)
        return {path: text for path, text in sorted(self.tree.items()) if matcher.match(path)}


def git_pathspec(pattern: str) -> re.Pattern[str]:
    """Argo CD's default file globbing (`git ls-files` pathspec): `*` also matches `/`."""
    if any(ch in pattern for ch in "?[]\\"):
        raise ExpansionError(f"glob {pattern!r}: only `*` is supported")
    return re.compile("^" + ".*".join(re.escape(part) for part in pattern.split("*")) + "$")


def expand(appset: Mapping[str, Any], repo: Repository) -> list[dict[str, Any]]:
    if appset.get("apiVersion") != "argoproj.io/v1alpha1" or appset.get("kind") != "ApplicationSet":
        raise ExpansionError("not an argoproj.io/v1alpha1 ApplicationSet")
    spec = appset["spec"]
    known = {"goTemplate", "goTemplateOptions", "generators", "template", "templatePatch"}
    known.add("syncPolicy")
    if unknown := sorted(set(spec) - known):
        raise ExpansionError(f"spec fields not supported: {', '.join(unknown)}")
    if spec.get("goTemplate") is not True or spec.get("goTemplateOptions") != SUPPORTED_OPTIONS:
        raise ExpansionError(f"only goTemplate: true with goTemplateOptions {SUPPORTED_OPTIONS}")
    namespace = appset["metadata"]["namespace"]
    preserve = preserves_resources(spec.get("syncPolicy") or {})
    apps: list[dict[str, Any]] = []
    patches: dict[str, Any] = {}  # Applications alike in what the patch reads share its text
    for generator in spec["generators"]:
        for params in generate(generator, repo, {}):
            apps.append(application(spec, params, namespace, preserve=preserve, patches=patches))
    names = Counter(app["metadata"]["name"] for app in apps)
    if duplicates := sorted(name for name, count in names.items() if count > 1):
        raise ExpansionError(f"duplicate Application names: {', '.join(duplicates)}")
    return apps


def preserves_resources(policy: Mapping[str, Any]) -> bool:
    """The ApplicationSet's syncPolicy: whether deleting an Application keeps its resources."""
    if unknown := sorted(set(policy) - {"applicationsSync", "preserveResourcesOnDeletion"}):
        raise ExpansionError(f"syncPolicy fields not supported: {', '.join(unknown)}")
    if policy.get("applicationsSync", "sync") not in SYNC_POLICIES:
        raise ExpansionError(f"syncPolicy.applicationsSync must be one of {SYNC_POLICIES}")
    return policy.get("preserveResourcesOnDeletion") is True


def generate(
    generator: Mapping[str, Any], repo: Repository, outer: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """One generator's parameter sets; `outer` templates it (a matrix's first child's params)."""
    if len(generator) != 1:
        raise ExpansionError(f"a generator must have exactly one kind, not {sorted(generator)}")
    kind, body = next(iter(generator.items()))
    if outer:
        body = render_strings(body, outer, f"generators.matrix.{kind}")
    if kind == "list":
        return list_params(body)
    if kind == "git":
        return git_files_params(body, repo)
    if kind == "matrix":
        return matrix_params(body, repo)
    raise ExpansionError(f"generator {kind!r} is not supported")


def list_params(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    if set(body) != {"elements"}:
        raise ExpansionError(f"list generator: only `elements` is supported, not {sorted(body)}")
    elements = body["elements"]
    if not all(isinstance(e, dict) for e in elements):
        raise ExpansionError("list generator: every element must be a mapping")
    return [copy.deepcopy(e) for e in elements]


def git_files_params(body: Mapping[str, Any], repo: Repository) -> list[dict[str, Any]]:
    if set(body) != {"repoURL", "revision", "files"}:
        raise ExpansionError(
            f"git generator: only repoURL, revision and files are supported, not {sorted(body)}"
        )
    found: dict[str, str] = {}
    for item in body["files"]:
        if set(item) != {"path"}:
            raise ExpansionError(f"git files: only `path` is supported, not {sorted(item)}")
        found.update(repo.files(body["repoURL"], body["revision"], item["path"]))
    return [file_params(path, found[path]) for path in sorted(found)]


def file_params(path: str, text: str) -> dict[str, Any]:
    """A parameters file's keys plus Argo CD's `path` parameters (goTemplate form)."""
    content = load_yaml(text)
    if not isinstance(content, dict):
        raise ExpansionError(f"{path}: a parameters file must hold one mapping")
    directory = path.rpartition("/")[0] or "."
    filename = path.rpartition("/")[2]
    basename = directory.rpartition("/")[2]
    params = dict(content)
    params["path"] = {
        "path": directory,
        "basename": basename,
        "filename": filename,
        "basenameNormalized": sanitize_name(basename),
        "filenameNormalized": sanitize_name(filename),
        "segments": directory.split("/"),
    }
    return params


def sanitize_name(name: str) -> str:
    """Argo CD's utils.SanitizeName: a DNS-1123 subdomain-safe form of a path component."""
    cleaned = re.sub(r"[^-a-z0-9.]", "-", name.lower())[:253]
    return cleaned.strip("-.")


def matrix_params(body: Mapping[str, Any], repo: Repository) -> list[dict[str, Any]]:
    if set(body) != {"generators"} or len(body["generators"]) != 2:
        raise ExpansionError("matrix: exactly two child generators and nothing else")
    first, second = body["generators"]
    if "matrix" in first or "matrix" in second:
        raise ExpansionError("matrix: nested matrices are not supported")
    combined = []
    for a in generate(first, repo, {}):
        for b in generate(second, repo, a):
            if overlap := sorted(set(a) & set(b)):
                # Argo CD would let the first child win; a renderer never means that.
                raise ExpansionError(f"matrix: both children set {', '.join(overlap)}")
            combined.append({**b, **a})
    return combined


def render_strings(value: Any, params: Mapping[str, Any], where: str) -> Any:
    """Every string inside `value` rendered as a Go template, as Argo CD renders templates;
    `where` names `value` (a key path) in errors."""
    if isinstance(value, str):
        return render_template(value, params, where)
    if isinstance(value, Mapping):
        return {key: render_strings(item, params, f"{where}.{key}") for key, item in value.items()}
    if isinstance(value, list):
        return [render_strings(item, params, f"{where}[{i}]") for i, item in enumerate(value)]
    return value


def render_template(template: str, params: Mapping[str, Any], where: str) -> str:
    """One Go template, as Argo CD's Render.Replace runs it; errors name the template.

    gotemplate.parse keeps each template's parse, so the thousands of Applications that
    render the same few templates parse them once.
    """
    if "{{" not in template:
        return template  # no action: the text is the output
    try:
        return gotemplate.render(template, params)
    except gotemplate.TemplateError as exc:
        raise gotemplate.TemplateError(f"{where}: the Go template {template!r}: {exc}") from None


def application(
    spec: Mapping[str, Any],
    params: Mapping[str, Any],
    namespace: str,
    *,
    preserve: bool,
    patches: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The Application for one parameter set: template rendered, then templatePatch merged.

    As the controller does (applicationset/utils/utils.go, RenderTemplateParams): a template
    without finalizers gets the resources finalizer unless preserveResourcesOnDeletion, and
    only then is the templatePatch applied (controllers/template/template.go). `patches`
    keeps each rendered patch text's parse for the next Application (merge_patch copies what
    it takes, so a parse is never changed).
    """
    template = spec["template"]
    metadata = render_strings(template["metadata"], params, "spec.template.metadata")
    if not preserve and not metadata.get("finalizers"):
        metadata = {**metadata, "finalizers": [RESOURCES_FINALIZER]}
    app: dict[str, Any] = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {**metadata, "namespace": namespace},
        "spec": render_strings(template["spec"], params, "spec.template.spec"),
    }
    if "templatePatch" in spec:
        text = render_template(spec["templatePatch"], params, "spec.templatePatch")
        parsed = {} if patches is None else patches
        if text not in parsed:
            parsed[text] = load_yaml(text)
        patch = parsed[text]
        if not isinstance(patch, dict):
            raise ExpansionError(f"templatePatch rendered to {type(patch).__name__}, not a mapping")
        app = merge_patch(app, patch)
    return app


def merge_patch(target: Any, patch: Any) -> Any:
    """A strategic merge patch for Application (its lists carry no merge keys): maps merge
    key by key, lists and scalars replace, null deletes."""
    if isinstance(patch, str | int | float | bool):
        return patch  # immutable: a copy would be the same object
    if not isinstance(patch, dict) or not isinstance(target, dict):
        return copy.deepcopy(patch)
    merged = dict(target)
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = merge_patch(target.get(key), value)
    return merged
