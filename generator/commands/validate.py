"""The real validators over a rendered tree: Kustomize, schemas, workflow linters."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import referencing
from ruamel.yaml import YAML

from generator import naming
from generator.argo import appset, gotemplate
from generator.commands.charts import chart_findings
from generator.render import render_tree
from generator.render.argocd import APPLICATIONSET_PATH
from generator.resolve import Model
from generator.spec.versions import DEFAULT_KUBERNETES
from generator.tools import ToolMissingError, run_tool
from generator.tree import foreign, write

# The Kubernetes version built-in kinds are validated against when none is given: the
# default of `[platform] kubernetes_version` (kubernetes-validate's bundled schemas; strict =
# additionalProperties false everywhere, so a misspelled field fails).
KUBERNETES_VERSION = DEFAULT_KUBERNETES
CRD_SCHEMAS = Path(__file__).parent.parent / "schemas" / "crds"
OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
DEFINITIONS_URI = "https://kubernetes.io/api/_definitions.json"
# Where the tree keeps plain manifests (not Kustomize inputs) and workflows.
MANIFEST_DIRS = ("argocd", "policies")
WORKFLOW_DIRS = (".github/workflows", "ci")
YAML_SUFFIXES = (".yaml", ".yml")
# Custom kinds the tree renders for which no CRD schema is shipped yet: only their identity
# and metadata (strict ObjectMeta) are checked. A schema dropped into schemas/crds/ under the
# same layout takes over automatically.
UNSCHEMED_KINDS = frozenset({("networking.istio.io/v1", "VirtualService")})


class KustomizeError(RuntimeError):
    """`kubectl kustomize` failed on an overlay."""


# ---------------------------------------------------------------------------------------------
# External tools


def load_documents(text: str) -> list[dict[str, Any]]:
    """Every non-empty YAML document in a stream."""
    return [doc for doc in YAML(typ="safe", pure=True).load_all(text) if doc is not None]


def kustomize_build(overlay_dir: Path) -> tuple[list[dict[str, Any]], str]:
    """`kubectl kustomize overlay_dir`: the built objects and whatever Kustomize said on stderr."""
    proc = run_tool(["kubectl", "kustomize", str(overlay_dir)])
    if proc.returncode != 0:
        raise KustomizeError(proc.stderr.strip() or f"kubectl kustomize exited {proc.returncode}")
    return load_documents(proc.stdout), proc.stderr


# ---------------------------------------------------------------------------------------------
# Schemas


def describe(doc: Any) -> str:
    """`Kind/name` of an object, as readable as the object allows."""
    if not isinstance(doc, dict):
        return "<not a mapping>"
    metadata = doc.get("metadata")
    name = metadata.get("name") if isinstance(metadata, dict) else None
    return f"{doc.get('kind', '<no kind>')}/{name or '<no name>'}"


def error_path(error: jsonschema.ValidationError, prefix: Sequence[str | int] = ()) -> str:
    """`spec.template.spec.containers[0]` for an error's location in the instance."""
    out = ""
    for part in (*prefix, *error.absolute_path):
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(root)"


def schema_findings(
    validator: jsonschema.protocols.Validator, instance: Any, prefix: Sequence[str | int] = ()
) -> list[str]:
    """Every error a validator finds, `path: message`, in a stable order."""
    found = []
    for error in validator.iter_errors(instance):
        # anyOf/oneOf failures say little on their own; their best sub-error says what is wrong.
        best = jsonschema.exceptions.best_match(error.context) if error.context else error
        found.append(f"{error_path(best, prefix)}: {best.message}")
    return sorted(set(found))


def bundled_kubernetes_versions() -> list[str]:
    """The Kubernetes minors kubernetes-validate ships strict schemas for, oldest first."""
    root = resources.files("kubernetes_validate") / "kubernetes-json-schema"
    found = [
        entry.name[1:].removesuffix(".0-local-strict")
        for entry in root.iterdir()
        if entry.name.startswith("v") and entry.name.endswith(".0-local-strict")
    ]
    return sorted(found, key=lambda v: tuple(int(part) for part in v.split(".")))


@cache
def kubernetes_schema_dir(version: str = KUBERNETES_VERSION) -> Any:
    """kubernetes-validate's strict schemas for a Kubernetes minor (a Traversable)."""
    root = resources.files("kubernetes_validate") / "kubernetes-json-schema"
    folder = root / f"v{version}.0-local-strict"
    if not folder.is_dir():
        have = bundled_kubernetes_versions()
        span = f"{have[0]} to {have[-1]}" if have else "none"
        raise ToolMissingError(
            f"the installed kubernetes-validate has no schemas for Kubernetes {version} (it has"
            f" {span}): set [platform] kubernetes_version to one of them, or upgrade it with"
            " `pip install --upgrade 'gitopsgen[validate]'`"
        )
    return folder


@cache
def kubernetes_registry(version: str = KUBERNETES_VERSION) -> referencing.Registry[Any]:
    """The shared definitions every built-in schema refers to."""
    definitions = json.loads((kubernetes_schema_dir(version) / "_definitions.json").read_text())
    return referencing.Resource.from_contents(definitions) @ referencing.Registry()


def kubernetes_schema_name(api_version: str, kind: str) -> str:
    """kubernetes-validate's file name, e.g. networkpolicy-networking-v1.json."""
    group, _, version = api_version.rpartition("/")
    prefix = f"{group.split('.')[0]}-" if group else ""
    return f"{kind.lower()}-{prefix}{version}.json"


@cache
def builtin_validator(
    api_version: str, kind: str, version: str = KUBERNETES_VERSION
) -> jsonschema.protocols.Validator | None:
    """The strict validator of a built-in kind, None when Kubernetes has no such kind."""
    path = kubernetes_schema_dir(version) / kubernetes_schema_name(api_version, kind)
    if not path.is_file():
        return None
    schema = json.loads(path.read_text())
    return jsonschema.Draft202012Validator(schema, registry=kubernetes_registry(version))


@cache
def object_meta_validator(version: str = KUBERNETES_VERSION) -> jsonschema.protocols.Validator:
    """Strict ObjectMeta: what CRD schemas leave unchecked (`metadata.lables` must fail)."""
    schema = {"$ref": f"{DEFINITIONS_URI}#/$defs/{OBJECT_META}"}
    return jsonschema.Draft202012Validator(schema, registry=kubernetes_registry(version))


def crd_schema_path(api_version: str, kind: str) -> Path | None:
    group, _, version = api_version.rpartition("/")
    if not group:
        return None
    path = CRD_SCHEMAS / group / f"{kind.lower()}_{version}.json"
    return path if path.is_file() else None


@cache
def crd_validator(api_version: str, kind: str) -> jsonschema.protocols.Validator | None:
    path = crd_schema_path(api_version, kind)
    if path is None:
        return None
    schema = json.loads(path.read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(schema)


def is_custom(doc: dict[str, Any]) -> bool:
    """A custom resource we hold a CRD schema for."""
    return crd_schema_path(str(doc.get("apiVersion", "")), str(doc.get("kind", ""))) is not None


def identity_findings(doc: Any) -> list[str]:
    """What every object needs before a schema can be looked up."""
    if not isinstance(doc, dict):
        return ["(root): an object must be a mapping"]
    found = [
        f"{key}: missing or not a string"
        for key in ("apiVersion", "kind")
        if not isinstance(doc.get(key), str) or not doc.get(key)
    ]
    metadata = doc.get("metadata")
    if not isinstance(metadata, dict) or not metadata.get("name"):
        found.append("metadata.name: missing")
    return found


def validate_builtin(
    docs: Iterable[dict[str, Any]], version: str = KUBERNETES_VERSION
) -> list[str]:
    """Strict Kubernetes schema validation of built-in kinds: `Kind/name: path: message`.

    Custom resources we hold a CRD schema for are skipped (validate_custom checks them); any
    other unknown kind is a finding, never a silent pass.
    """
    found: list[str] = []
    for doc in docs:
        problems = identity_findings(doc)
        if not problems:
            if is_custom(doc):
                continue
            validator = builtin_validator(doc["apiVersion"], doc["kind"], version)
            if validator is None:
                problems = [
                    f"no schema for apiVersion {doc['apiVersion']} kind {doc['kind']} "
                    f"in Kubernetes {version}"
                ]
            else:
                problems = schema_findings(validator, doc)
        found += [f"{describe(doc)}: {problem}" for problem in problems]
    return found


def validate_unschemed(doc: dict[str, Any], version: str = KUBERNETES_VERSION) -> list[str]:
    """A custom kind without a shipped schema: identity, a `spec` mapping, strict metadata."""
    problems = identity_findings(doc)
    if not problems:
        if not isinstance(doc.get("spec"), dict):
            problems.append("spec: missing or not a mapping")
        problems += schema_findings(object_meta_validator(version), doc["metadata"], ("metadata",))
    return [f"{describe(doc)}: {problem}" for problem in sorted(set(problems))]


def is_unschemed(doc: dict[str, Any]) -> bool:
    return (doc.get("apiVersion"), doc.get("kind")) in UNSCHEMED_KINDS and not is_custom(doc)


def validate_custom(doc: dict[str, Any], version: str = KUBERNETES_VERSION) -> list[str]:
    """A custom resource against its CRD schema, top level and metadata strictly.

    The CRD schemas are strict inside `spec` only; an unknown top-level key or a misspelled
    metadata field (`metadata.lables`) would pass them, so those are checked here.
    """
    problems = identity_findings(doc)
    if not problems:
        validator = crd_validator(doc["apiVersion"], doc["kind"])
        if validator is None:
            problems = [f"no CRD schema for apiVersion {doc['apiVersion']} kind {doc['kind']}"]
        else:
            schema = validator.schema
            known = set(schema.get("properties", {})) if isinstance(schema, dict) else set()
            problems = [
                f"{key}: unknown top-level field (expected one of {', '.join(sorted(known))})"
                for key in doc
                if key not in known
            ]
            problems += schema_findings(validator, doc)
            problems += schema_findings(
                object_meta_validator(version), doc["metadata"], ("metadata",)
            )
    return [f"{describe(doc)}: {problem}" for problem in sorted(set(problems))]


def validate_objects(
    docs: Iterable[dict[str, Any]], version: str = KUBERNETES_VERSION
) -> list[str]:
    """Built-in kinds against Kubernetes, custom resources against their CRD schemas."""
    found: list[str] = []
    for doc in docs:
        if isinstance(doc, dict) and is_custom(doc):
            found += validate_custom(doc, version)
        elif isinstance(doc, dict) and is_unschemed(doc):
            found += validate_unschemed(doc, version)
        else:
            found += validate_builtin([doc], version)
    return found


# ---------------------------------------------------------------------------------------------
# Workflows


def lint_workflows(paths: Sequence[Path], *, cwd: Path | None = None) -> list[str]:
    """GitHub's workflow schema, actionlint and zizmor (offline) over workflow files.

    Findings name the files as given; pass paths relative to `cwd` to get relative names.
    """
    if not paths:
        return []
    files = [str(path) for path in paths]
    return sorted(
        [
            *workflow_schema_findings(files, cwd),
            *actionlint_findings(files, cwd),
            *zizmor_findings(files, cwd),
        ]
    )


def workflow_schema_findings(files: list[str], cwd: Path | None) -> list[str]:
    proc = run_tool(
        ["check-jsonschema", "--builtin-schema", "vendor.github-workflows", "-o", "json", *files],
        cwd,
    )
    try:
        report = json.loads(proc.stdout)
    except json.JSONDecodeError:
        return [f"check-jsonschema failed: {(proc.stderr or proc.stdout).strip()}"]
    found = []
    for error in report.get("errors", []):
        best = error.get("best_deep_match") or error
        found.append(f"{error['filename']}: schema: {best['path']}: {best['message']}")
    for error in report.get("parse_errors", []):
        found.append(f"{error.get('filename', '?')}: schema: {error.get('message', error)}")
    return found


def actionlint_findings(files: list[str], cwd: Path | None) -> list[str]:
    proc = run_tool(["actionlint", "-no-color", "-format", "{{json .}}", *files], cwd)
    try:
        report = json.loads(proc.stdout or "[]")
    except json.JSONDecodeError:
        return [f"actionlint failed: {(proc.stderr or proc.stdout).strip()}"]
    if proc.returncode not in (0, 1):
        return [f"actionlint failed: {(proc.stderr or proc.stdout).strip()}"]
    return [
        f"{e['filepath']}:{e['line']}:{e['column']}: actionlint: {e['message']} [{e['kind']}]"
        for e in report
    ]


def zizmor_findings(files: list[str], cwd: Path | None) -> list[str]:
    proc = run_tool(["zizmor", "--offline", "--no-progress", "--format", "json", *files], cwd)
    try:
        report = json.loads(proc.stdout)
    except json.JSONDecodeError:
        return [f"zizmor failed: {(proc.stderr or proc.stdout).strip()}"]
    # Findings silenced in the workflow (`# zizmor: ignore[...]`) are listed as ignored.
    return [zizmor_line(finding) for finding in report if not finding.get("ignored")]


def zizmor_line(finding: dict[str, Any]) -> str:
    locations = finding.get("locations", [])
    primary = next(
        (loc for loc in locations if loc["symbolic"].get("kind") == "Primary"),
        locations[0] if locations else None,
    )
    severity = finding.get("determinations", {}).get("severity", "?")
    what = f"zizmor: {finding['ident']}: {finding['desc']} ({severity})"
    if primary is None:
        return what
    key = primary["symbolic"]["key"]
    path = key.get("Local", {}).get("verbatim_path", "?") if isinstance(key, dict) else "?"
    start = primary["concrete"]["location"]["start_point"]
    note = primary["symbolic"].get("annotation", "")
    return f"{path}:{start['row'] + 1}:{start['column'] + 1}: {what}: {note}"


# ---------------------------------------------------------------------------------------------
# The whole tree


def validate_tree(model: Model, out: Path, charts: Path | None = None) -> list[str]:
    """Every finding over the tree written at `out`, each `path: Kind/name: message`.

    Only what gitopsgen writes, and what services.toml lets stay beside it (allow_foreign),
    is validated: a workflow of the repository's own (`.github/workflows/ci.yml`) is not
    gitopsgen's to judge.
    """
    version = model.spec.platform.kubernetes_version
    kubernetes_schema_dir(version)  # an unknown Kubernetes minor is refused before any work
    rendered = render_tree(model)
    found = overlay_findings(model, out)
    found += chart_findings(model, out, charts, validate_objects)
    found += manifest_findings(out, version)
    found += application_findings(model, out)
    found += foreign_findings(model, out, rendered)
    workflows = sorted(
        Path(path)
        for path in rendered
        if path.startswith(tuple(f"{folder}/" for folder in WORKFLOW_DIRS))
        and path.endswith(YAML_SUFFIXES)
        and (out / path).is_file()
    )
    found += lint_workflows(workflows, cwd=out)
    return found


def foreign_findings(model: Model, out: Path, rendered: Iterable[str] = ()) -> list[str]:
    """Files in apps/, argocd/ and policies/ that the services file does not generate."""
    known = {*(rendered or render_tree(model)), *write.owned(out)}
    return [
        f"{path}: {foreign.FOREIGN}"
        for path in foreign.find(out, known, model.spec.gitops.allow_foreign)
    ]


def overlay_dirs(model: Model, out: Path) -> list[Path]:
    """Every overlay the model says exists, and any other overlay found on disk."""
    expected = {
        out / "apps" / service.name / "overlays" / placement.env
        for service in model.services
        if service.chart is None  # a chart's overlay folder holds values: chart_findings
        for placement in service.placements
    }
    on_disk = {path.parent for path in (out / "apps").glob("*/overlays/*/kustomization.yaml")}
    return sorted(expected | on_disk)


def overlay_findings(model: Model, out: Path) -> list[str]:
    overlays = overlay_dirs(model, out)
    workers = max(1, min(len(overlays), os.cpu_count() or 1))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        version = model.spec.platform.kubernetes_version
        results = list(pool.map(lambda overlay: check_overlay(overlay, version), overlays))
    return [
        f"{overlay.relative_to(out).as_posix()}: {finding}"
        for overlay, findings in zip(overlays, results, strict=True)
        for finding in findings
    ]


def check_overlay(overlay: Path, version: str = KUBERNETES_VERSION) -> list[str]:
    """One overlay: builds with real Kustomize, silently, into valid objects."""
    if not (overlay / "kustomization.yaml").is_file():
        return ["kustomization.yaml missing: run gitopsgen build"]
    try:
        docs, stderr = kustomize_build(overlay)
    except KustomizeError as exc:
        return [f"kustomize: {exc}"]
    found = [f"kustomize: {line}" for line in stderr.splitlines() if line.strip()]
    return found + validate_objects(docs, version)


def manifest_findings(out: Path, version: str = KUBERNETES_VERSION) -> list[str]:
    """Plain manifests (argocd/, policies/): each document against its schema."""
    found: list[str] = []
    for folder in MANIFEST_DIRS:
        for path in yaml_files(out / folder):
            where = path.relative_to(out).as_posix()
            try:
                docs = load_documents(path.read_text(encoding="utf-8"))
            except Exception as exc:  # any parse error is a finding
                found.append(f"{where}: not valid YAML: {exc}")
                continue
            objects = [doc for doc in docs if not is_kustomization(doc)]
            found += [f"{where}: {finding}" for finding in validate_objects(objects, version)]
    return found


def application_findings(model: Model, out: Path) -> list[str]:
    """The Applications the ApplicationSet on disk generates over the tree on disk, each
    against the Application schema: a templated field can be wrong only once expanded."""
    path = out / APPLICATIONSET_PATH
    tree = {APPLICATIONSET_PATH: path.read_text(encoding="utf-8")} if path.is_file() else {}
    try:
        generated = appset.expand_tree(
            tree, naming.gitops_repo_url(model.spec.gitops.repo), model.spec.gitops.branch
        )
    except (appset.ExpansionError, gotemplate.TemplateError) as exc:
        return [f"{APPLICATIONSET_PATH}: does not expand: {exc}"]
    return [
        f"{APPLICATIONSET_PATH}: generated {finding}"
        for app in generated
        for finding in validate_custom(app, model.spec.platform.kubernetes_version)
    ]


def is_kustomization(doc: Any) -> bool:
    """A Kustomize input (not an object the cluster receives)."""
    return isinstance(doc, dict) and str(doc.get("apiVersion", "")).startswith(
        "kustomize.config.k8s.io/"
    )


def yaml_files(folder: Path) -> Iterator[Path]:
    if folder.is_dir():
        yield from sorted(p for p in folder.rglob("*") if p.suffix in YAML_SUFFIXES and p.is_file())
