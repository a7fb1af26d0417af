"""`validate` for Helm chart services: fetch each chart and render it as Argo CD would.

Argo CD runs `helm template` with the Application's value files in order (base, then the
environment's), the release name and the destination namespace (user-guide/helm.md). Here the
same is done with Helm's own Go SDK (helm-python-sdk, the `helm` extra: Helm 4, no binary), so
a chart whose `values.schema.json` refuses the values, or whose templates fail, is a finding,
and so is every object it renders that its schema refuses or that the environment's project
would not let Argo CD sync (another namespace, a cluster-scoped kind). Without the extra, the
values are checked against the chart's `values.schema.json`, where it ships one (HTTPS
repositories only: an OCI registry needs Helm's client).

Charts are read from `--charts DIR` first (`<name>-<version>.tgz`), then fetched into it.
"""

from __future__ import annotations

import hashlib
import io
import json
import sys
import tarfile
import tempfile
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from generator.render import helm as helm_files
from generator.resolve import Model, Placement, ResolvedChart, ResolvedService, merge_values
from generator.smoketest import FILE_NAME as SMOKE_TEST_FILE
from generator.spec.errors import InputError

FETCH_TIMEOUT = 60  # seconds, per request
# Kinds the API server keeps outside namespaces that charts commonly render: an environment's
# project permits none (Argo CD refuses the sync: "resource ... is not permitted in project").
CLUSTER_SCOPED = frozenset(
    {
        "APIService",
        "CSIDriver",
        "ClusterIssuer",
        "ClusterRole",
        "ClusterRoleBinding",
        "CustomResourceDefinition",
        "IngressClass",
        "MutatingWebhookConfiguration",
        "Namespace",
        "PersistentVolume",
        "PriorityClass",
        "RuntimeClass",
        "StorageClass",
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
        "ValidatingWebhookConfiguration",
    }
)


ObjectsCheck = Callable[[Iterable[dict[str, Any]], str], list[str]]  # validate_objects


class ChartUnavailable(Exception):
    """The chart could not be fetched (a finding: validate cannot vouch for it)."""


def helm_sdk() -> Any | None:
    """Helm's SDK, or None when the `helm` extra is not installed."""
    try:
        import helm_python  # noqa: PLC0415 (the helm extra, loaded only where there are charts)
    except ImportError:
        return None
    return helm_python


@contextmanager
def chart_cache(directory: Path | None) -> Iterator[Path]:
    """`--charts DIR`, or a temporary folder for this run."""
    if directory is not None:
        directory.mkdir(parents=True, exist_ok=True)
        yield directory
        return
    with tempfile.TemporaryDirectory(prefix="gitopsgen-charts-") as temporary:
        yield Path(temporary)


def repository_folder(chart: ResolvedChart) -> str:
    return hashlib.sha256(chart.repository.encode()).hexdigest()[:16]


def archive_name(chart: ResolvedChart) -> str:
    return f"{chart.name}-{chart.version}.tgz"


def fetch(chart: ResolvedChart, cache: Path, sdk: Any | None) -> Path:
    """The chart's archive: one placed in `cache` by hand (`--charts DIR`), else the one
    fetched into the repository's own folder there (two repositories may serve a chart of the
    same name and version: neither stands in for the other)."""
    given = cache / archive_name(chart)
    if given.is_file():
        return given
    folder = cache / repository_folder(chart)
    target = folder / archive_name(chart)
    if target.is_file():
        return target
    folder.mkdir(parents=True, exist_ok=True)
    cache = folder
    if sdk is not None:
        try:
            if chart.is_oci:
                sdk.registry.pull(chart.reference, version=chart.version, destination=cache)
            else:
                sdk.registry.pull(
                    chart.name, repo_url=chart.repository, version=chart.version, destination=cache
                )
        except sdk.HelmError as exc:
            raise ChartUnavailable(str(exc).strip()) from None
        if not target.is_file():
            raise ChartUnavailable(f"Helm fetched no {archive_name(chart)}")
        return target
    if chart.is_oci:
        raise ChartUnavailable(
            "an OCI chart needs Helm's client: install gitopsgen[helm] to fetch and render it"
        )
    target.write_bytes(http_fetch(chart.repository, chart.name, chart.version))
    return target


def http_fetch(repository: str, name: str, version: str) -> bytes:
    """A chart archive from an HTTP(S) Helm repository: its index.yaml, then the entry's URL."""
    base = repository.rstrip("/") + "/"
    index = yaml.safe_load(_get(urllib.parse.urljoin(base, "index.yaml")))
    entries = (index or {}).get("entries", {}).get(name) or []
    entry = next((e for e in entries if str(e.get("version")) == version), None)
    if entry is None or not entry.get("urls"):
        raise ChartUnavailable(f"chart {name!r} version {version!r} is not in {repository}")
    return _get(urllib.parse.urljoin(base, str(entry["urls"][0])))


def _get(url: str) -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=FETCH_TIMEOUT) as response:
            data: bytes = response.read()
            return data
    except (OSError, ValueError) as exc:
        raise ChartUnavailable(f"{url}: {exc}") from None


Reader = Callable[[str], "str | None"]  # a tree's file by its path, None when absent


def read_values(read: Reader, path: str) -> dict[str, Any]:
    """A values file of the tree (validate judges the tree on disk, render the one in memory)."""
    text = read(path)
    if text is None:
        raise ChartUnavailable(f"{path} is missing: run gitopsgen build")
    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ChartUnavailable(f"{path}: not YAML: {exc}") from None
    if not isinstance(loaded, dict):
        raise ChartUnavailable(f"{path}: not a mapping of values")
    return loaded


def disk_reader(out: Path) -> Reader:
    def read(path: str) -> str | None:
        try:
            return (out / path).read_text(encoding="utf-8")
        except FileNotFoundError:
            return None

    return read


def layered_values(read: Reader, service: ResolvedService, placement: Placement) -> dict[str, Any]:
    """The values Argo CD passes: base values.yaml, then values-<env>.yaml over it."""
    base = read_values(read, helm_files.base_values_path(service.name))
    env = read_values(read, helm_files.env_values_path(service.name, placement.env))
    return merge_values(base, env)


def render_chart(
    sdk: Any, archive: Path, service: ResolvedService, values: dict[str, Any]
) -> list[dict[str, Any]]:
    """`helm template` as Argo CD runs it: the release named after the service, in its
    namespace (raises the SDK's HelmError)."""
    loaded = sdk.Chart.load(archive)
    manifests = loaded.render(
        values, name=service.name, namespace=service.namespace, is_install=True
    )
    return rendered_documents(manifests)


def rendered_documents(manifests: dict[str, str]) -> list[dict[str, Any]]:
    """The objects of `helm template`'s output (NOTES.txt and empty documents dropped)."""
    documents: list[dict[str, Any]] = []
    for path in sorted(manifests):
        if path.endswith(".txt"):
            continue
        for doc in yaml.safe_load_all(manifests[path]):
            if isinstance(doc, dict) and doc:
                documents.append(doc)
    return documents


def placement_findings(
    out: Path,
    *,
    service: ResolvedService,
    placement: Placement,
    archive: Path,
    sdk: Any | None,
    check_objects: Callable[[list[dict[str, Any]]], list[str]],
) -> list[str]:
    """One chart Application: its values, its rendering, its objects."""
    values = layered_values(disk_reader(out), service, placement)
    hooks = hook_documents(disk_reader(out), service, placement)
    if sdk is None:
        return schema_only_findings(archive, values) + check_objects(hooks)
    try:
        documents = render_chart(sdk, archive, service, values)
    except sdk.HelmError as exc:
        return [f"helm: {' '.join(str(exc).split())}"]
    found = [*project_findings(documents, service, placement)]
    found += image_findings(documents, placement)
    return found + check_objects(documents + hooks)


def hook_documents(
    read: Reader, service: ResolvedService, placement: Placement
) -> list[dict[str, Any]]:
    """The chart Application's third source: its smoke test's hook Job, where it has one."""
    text = read(f"{helm_files.hooks_path(service.name, placement.env)}/{SMOKE_TEST_FILE}")
    return [] if text is None else rendered_documents({SMOKE_TEST_FILE: text})


def image_findings(documents: list[dict[str, Any]], placement: Placement) -> Iterator[str]:
    """The environment's image must be what some container runs: a chart that reads other
    keys than tag_key and digest_key would run its default image, and set-image, promote and
    the digest would change nothing."""
    wanted = placement.digest or placement.tag
    images = [
        str(container.get("image", "")) for doc in documents for container in _containers(doc)
    ]
    if images and not any(wanted in image for image in images):
        chart = placement.chart
        assert chart is not None
        yield (
            f"no container runs {placement.tag}{'@' + placement.digest if placement.digest else ''}"
            f" (images: {', '.join(sorted(set(images)))}): does the chart read"
            f" {chart.tag_key!r}{' and ' + repr(chart.digest_key) if chart.digest_key else ''}?"
            " Name the keys it reads in [chart] tag_key, digest_key"
        )


def _containers(doc: dict[str, Any]) -> list[dict[str, Any]]:
    spec = doc.get("spec") or {}
    template = (spec.get("template") or {}).get("spec") or {}
    if doc.get("kind") == "CronJob":
        template = (((spec.get("jobTemplate") or {}).get("spec") or {}).get("template") or {}).get(
            "spec"
        ) or {}
    pod = spec if doc.get("kind") == "Pod" else template
    found = [*(pod.get("containers") or []), *(pod.get("initContainers") or [])]
    return [c for c in found if isinstance(c, dict)]


def project_findings(
    documents: list[dict[str, Any]], service: ResolvedService, placement: Placement
) -> Iterator[str]:
    """What the environment's AppProject would refuse to sync."""
    for doc in documents:
        kind = str(doc.get("kind"))
        name = (doc.get("metadata") or {}).get("name")
        namespace = (doc.get("metadata") or {}).get("namespace")
        if kind in CLUSTER_SCOPED:
            yield (
                f"{kind}/{name}: cluster-scoped, and project {placement.env} permits no"
                " cluster-scoped object of a service: Argo CD would refuse the sync (turn it"
                " off in the chart's values)"
            )
        elif namespace not in (None, service.namespace):
            yield (
                f"{kind}/{name}: in namespace {namespace!r}, not the service's"
                f" {service.namespace!r}: project {placement.env} permits only that one"
            )


def schema_only_findings(archive: Path, values: dict[str, Any]) -> list[str]:
    """Without Helm: the chart's defaults coalesced with the values, against its schema."""
    defaults, schema = archive_values_and_schema(archive)
    if schema is None:
        print(
            f"gitopsgen: warning: {archive.name} ships no values.schema.json and Helm is not"
            " installed (gitopsgen[helm]): its values are not checked",
            file=sys.stderr,
        )
        return []
    import jsonschema  # noqa: PLC0415 (the validate extra: `render` runs without it)

    merged = merge_values(defaults, values)
    validator = jsonschema.validators.validator_for(schema)(schema)
    return [
        f"values: {'/'.join(str(p) for p in error.absolute_path) or '(root)'}: {error.message}"
        for error in sorted(validator.iter_errors(merged), key=lambda e: list(e.absolute_path))
    ]


def archive_values_and_schema(archive: Path) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The chart's own values.yaml and values.schema.json, read from its archive."""
    defaults: dict[str, Any] = {}
    schema: dict[str, Any] | None = None
    with tarfile.open(fileobj=io.BytesIO(archive.read_bytes())) as tar:
        for member in tar.getmembers():
            parts = member.name.split("/")
            if len(parts) != 2 or not member.isfile():
                continue
            data = tar.extractfile(member)
            if data is None:
                continue
            if parts[1] == "values.yaml":
                defaults = yaml.safe_load(data.read()) or {}
            elif parts[1] == "values.schema.json":
                schema = json.loads(data.read())
    return defaults, schema


def render_application(
    service: ResolvedService, placement: Placement, read: Reader, charts: Path | None
) -> list[dict[str, Any]]:
    """`gitopsgen render` of a chart's Application: fetched and rendered with Helm."""
    chart = placement.chart
    assert chart is not None
    sdk = helm_sdk()
    if sdk is None:
        raise InputError(
            [
                f"render: {service.name} is a Helm chart: rendering it needs Helm's SDK"
                " (pip install 'gitopsgen[helm]')"
            ]
        )
    with chart_cache(charts) as cache:
        try:
            archive = fetch(chart, cache, sdk)
            return render_chart(sdk, archive, service, layered_values(read, service, placement))
        except ChartUnavailable as exc:
            raise InputError([f"render: chart {chart.name} {chart.version}: {exc}"]) from None
        except sdk.HelmError as exc:
            raise InputError(
                [f"render: chart {chart.name} {chart.version}: {' '.join(str(exc).split())}"]
            ) from None


def chart_findings(
    model: Model, out: Path, charts: Path | None, check_objects: ObjectsCheck
) -> list[str]:
    """Every chart Application of the model, rendered; findings named by its values file.
    `check_objects`: validate's schema check of rendered objects."""
    placed = [(s, p) for s in model.services if s.chart is not None for p in s.placements]
    if not placed:
        return []
    sdk = helm_sdk()
    version = model.spec.platform.kubernetes_version

    def check(documents: list[dict[str, Any]]) -> list[str]:
        return check_objects(documents, version)

    found: list[str] = []
    with chart_cache(charts) as cache:
        archives: dict[tuple[str, str], Path | str] = {}
        for service, placement in placed:
            chart = placement.chart  # at the environment's version
            assert chart is not None
            where = helm_files.env_values_path(service.name, placement.env)
            key = (chart.reference, chart.version)
            if key not in archives:
                try:
                    archives[key] = fetch(chart, cache, sdk)
                except ChartUnavailable as exc:
                    archives[key] = str(exc)
            archive = archives[key]
            if isinstance(archive, str):
                found.append(f"{where}: chart {chart.name} {chart.version}: not fetched: {archive}")
                continue
            try:
                findings = placement_findings(
                    out,
                    service=service,
                    placement=placement,
                    archive=archive,
                    sdk=sdk,
                    check_objects=check,
                )
            except ChartUnavailable as exc:
                findings = [str(exc)]
            found += [f"{where}: chart {chart.name} {chart.version}: {f}" for f in findings]
    return found
