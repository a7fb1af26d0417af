"""Helm chart services: the rules of the services file, the rendered Applications, and
`validate` / `render` with Helm's own SDK over charts the tests make (no network)."""

from __future__ import annotations

import functools
import http.server
import importlib
import importlib.util
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
import yaml

from generator.cli import main
from generator.commands import charts, validate
from generator.render import render_tree
from generator.render.argocd import APPLICATIONSET_PATH
from generator.resolve import ResolvedChart, image_values, merge_values
from generator.spec.errors import InputError
from generator.spec.load import load_text
from tests.conftest import SPECS, model_of, tree_of
from tests.test_errors import edit, problems_of
from tests.test_rendered_diff import compare, model_from

# Helm's Go SDK: the helm extra, which the test extra installs
helm: Any = (
    importlib.import_module("helm_python") if importlib.util.find_spec("helm_python") else None
)
needs_helm = pytest.mark.skipif(helm is None, reason="Helm's SDK (the helm extra) is missing")

CHART = (
    'chart = { repository = "https://charts.example.com/stable", name = "cache",'
    ' version = "1.2.3" }'
)
DIGEST = "sha256:" + "ab" * 32
DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
  labels:
    app.kubernetes.io/managed-by: {{ .Release.Service }}
spec:
  replicas: {{ .Values.replicas }}
  selector:
    matchLabels: {app: {{ .Release.Name }}}
  template:
    metadata:
      labels: {app: {{ .Release.Name }}}
    spec:
      containers:
        - name: cache
          image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}\
{{- with .Values.image.digest }}@{{ . }}{{ end }}"
"""
SCHEMA = '{"type": "object", "properties": {"replicas": {"type": "integer", "minimum": 1}}}'


def make_chart(
    root: Path,
    name: str,
    version: str,
    *,
    templates: dict[str, str] | None = None,
    schema: str | None = SCHEMA,
) -> Path:
    """A chart archive `<name>-<version>.tgz` in `root`, packaged by Helm."""
    source = root / "src" / name
    (source / "templates").mkdir(parents=True)
    (source / "Chart.yaml").write_text(f"apiVersion: v2\nname: {name}\nversion: {version}\n")
    (source / "values.yaml").write_text(
        "image:\n  repository: docker.io/library/valkey\n  tag: ''\n  digest: ''\nreplicas: 1\n"
    )
    if schema is not None:
        (source / "values.schema.json").write_text(schema)
    for file, text in (templates or {"deployment.yaml": DEPLOYMENT}).items():
        (source / "templates" / file).write_text(text)
    return Path(helm.package(source, destination=root))


def chart_service(name: str = "cache", extra: str = "", env: str = "") -> tuple[str, str]:
    """An edit adding a chart service before hello (on line 25), deployed to dev."""
    body = f'team = "web"\n{CHART}\n{extra}'.rstrip()
    envs = f'[services.{name}.envs.dev]\ntag = "8.0.2"\ndigest = "{DIGEST}"\n{env}'.rstrip()
    return "[services.hello]\nteam", f"[services.{name}]\n{body}\n{envs}\n[services.hello]\nteam"


# --- the services file -------------------------------------------------------------------


def with_chart(chart: str = CHART, extra: str = "", env: str = "") -> str:
    old, new = chart_service(extra=extra, env=env)
    return edit(old, new.replace(CHART, chart))


@pytest.mark.parametrize(
    ("chart", "message"),
    [
        (
            CHART.replace('"1.2.3"', '"^1.2.0"'),
            "services.cache.chart.version: '^1.2.0' is a range: Argo CD would render whichever"
            " newest version matches it at each sync; pin the exact version the chart was"
            " tested with (X.Y.Z, e.g. '1.4.2')",
        ),
        (
            CHART.replace('"1.2.3"', '">=1.0, <2"'),
            "services.cache.chart.version: '>=1.0, <2' is a range: Argo CD would render"
            " whichever newest version matches it at each sync; pin the exact version the chart"
            " was tested with (X.Y.Z, e.g. '1.4.2')",
        ),
        (
            CHART.replace('"1.2.3"', '"1.2.x"'),
            "services.cache.chart.version: '1.2.x' is a range: Argo CD would render whichever"
            " newest version matches it at each sync; pin the exact version the chart was"
            " tested with (X.Y.Z, e.g. '1.4.2')",
        ),
        (
            CHART.replace('"1.2.3"', '"latest"'),
            "services.cache.chart.version: 'latest' is not a version: pin the exact version the"
            " chart was tested with (X.Y.Z, e.g. '1.4.2'), so every sync renders the same chart",
        ),
        (
            CHART.replace('"1.2.3"', '""'),
            "services.cache.chart.version: must not be empty: pin the exact version the chart"
            " was tested with (X.Y.Z, e.g. '1.4.2')",
        ),
        (
            CHART.replace('"1.2.3"', '"1.2"'),
            "services.cache.chart.version: '1.2' is not an exact SemVer version: pin the exact"
            " version the chart was tested with (X.Y.Z, e.g. '1.4.2')",
        ),
        (
            CHART.replace(', version = "1.2.3"', ""),
            "services.cache.chart.version: missing required key",
        ),
        (
            CHART.replace("https://", "http://"),
            "services.cache.chart.repository: 'http://charts.example.com/stable' is plain HTTP:"
            " anyone on the path could change the chart; use https://",
        ),
        (
            CHART.replace("https://", "https://bot:s3cret@"),
            "services.cache.chart.repository: 'https://bot:s3cret@charts.example.com/stable'"
            " carries credentials, which would sit in git: register them with Argo CD (a"
            " repository secret) instead",
        ),
        (
            CHART.replace("/stable", "/stable#{{.cluster}}"),
            "services.cache.chart.repository: 'https://charts.example.com/stable#{{.cluster}}'"
            " has a query or fragment, which a Helm repository URL cannot carry",
        ),
        (
            CHART.replace(
                "https://charts.example.com/stable", "oci://registry.example.com/Charts:1"
            ),
            "services.cache.chart.repository: 'oci://registry.example.com/Charts:1' is not an"
            " OCI repository: oci://<registry host>/<path>, lowercase, without a tag or digest"
            " (the chart's name and version are separate keys)",
        ),
        (
            CHART.replace("https://charts.example.com/stable", "git@github.com:acme/charts"),
            "services.cache.chart.repository: 'git@github.com:acme/charts' is not a chart"
            " repository: https://... or oci://<registry>/<path>",
        ),
        (
            CHART.replace('name = "cache"', 'name = "-Cache"'),
            "services.cache.chart.name: '-Cache' is not a chart name (lowercase letters, digits,"
            " '-', '_' and '.', starting and ending with a letter or digit)",
        ),
        (
            CHART.replace(" }", ', tag_key = "image.tag[0]" }'),
            "services.cache.chart.tag_key: 'image.tag[0]' is not a values key: dotted names of"
            " letters, digits, '_' and '-' (`image.tag`)",
        ),
        (
            CHART.replace(" }", ', digest_key = "image" }'),
            "services.cache.chart.digest_key: 'image' overlaps tag_key 'image.tag': each image"
            " value needs a key of its own",
        ),
        (
            CHART.replace(" }", ', tag_key = "" }'),
            "services.cache.chart.tag_key: must name the values key the environment's tag goes to",
        ),
    ],
)
def test_chart_rules(chart: str, message: str) -> None:
    assert [p.split(": ", 1)[1] for p in problems_of(with_chart(chart))] == [message]


def test_chart_rules_are_located() -> None:
    text = with_chart(CHART.replace('"1.2.3"', '"~1.2"'))
    assert problems_of(text) == [
        "s.toml:27:77: services.cache.chart.version: '~1.2' is a range: Argo CD would render"
        " whichever newest version matches it at each sync; pin the exact version the chart"
        " was tested with (X.Y.Z, e.g. '1.4.2')"
    ]


@pytest.mark.parametrize(
    ("extra", "env", "expected"),
    [
        (
            "port = 9000\nhpa = { max = 3 }",
            "replicas = 2",
            [
                "s.toml:28:1: services.cache.port: is not used by a Helm chart service: set what"
                " the chart reads in values (port)",
                "s.toml:29:1: services.cache.hpa: is not used by a Helm chart service: set what"
                " the chart reads in values (hpa)",
                "s.toml:33:1: services.cache.envs.dev.replicas: is not used by a Helm chart"
                " service: set what the chart reads in values (replicas)",
            ],
        ),
        (
            'values = { image = { tag = "9" } }',
            "",
            [
                "s.toml:28:22: services.cache.values.image.tag: is written by gitopsgen from the"
                " environment's image (chart.tag_key = 'image.tag'): record images with"
                " set-image, or name another chart.tag_key",
            ],
        ),
        (
            "",
            'values = { image = "valkey:8" }',
            [
                "s.toml:31:12: services.cache.envs.dev.values.image: is written by gitopsgen"
                " from the environment's image (chart.digest_key = 'image.digest'): record"
                " images with set-image, or name another chart.digest_key",
                "s.toml:31:12: services.cache.envs.dev.values.image: is written by gitopsgen"
                " from the environment's image (chart.tag_key = 'image.tag'): record images"
                " with set-image, or name another chart.tag_key",
            ],
        ),
        (
            'values = { started = 2026-01-02, ratio = nan, note = "a\\u0085b" }',
            "",
            [
                "s.toml:28:12: services.cache.values.started: is a TOML date or time, which"
                " Helm values (YAML read as JSON) cannot carry: write it as a string",
                "s.toml:28:34: services.cache.values.ratio: is nan, which Helm values (YAML"
                " read as JSON) cannot carry",
                "s.toml:28:47: services.cache.values.note: holds U+0085, a control or"
                " line-separator character that Kubernetes' YAML readers refuse or change:"
                " write the value without it",
            ],
        ),
    ],
)
def test_chart_service_rules(extra: str, env: str, expected: list[str]) -> None:
    assert problems_of(with_chart(extra=extra, env=env)) == expected


def test_values_need_a_chart() -> None:
    text = edit('repo = "acme/hello"', 'repo = "acme/hello"\nvalues = { a = 1 }')
    digest = 'digest = "sha256:483e04f17eae5234764124df21bfa43ebb5cb925cbd5a1b833bfe758d7fb2463"'
    text = edit(digest, f"{digest}\nvalues = {{ b = 2 }}", text)
    assert problems_of(text) == [
        "s.toml:28:1: services.hello.values: is read only by a Helm chart service: set chart first",
        "s.toml:33:1: services.hello.envs.dev.values: is read only by a Helm chart service: set"
        " chart first",
    ]


# --- what is rendered ----------------------------------------------------------------------


def elements(name: str) -> dict[str, dict[str, Any]]:
    appset = yaml.safe_load(tree_of(name)[APPLICATIONSET_PATH])
    listed = appset["spec"]["generators"][0]["list"]["elements"]
    return {element["name"]: element for element in listed}


def test_a_chart_application_reads_the_chart_and_its_values_files() -> None:
    assert elements("charts")["cache-prod"]["sources"] == [
        {
            "repoURL": "https://charts.example.com/stable",
            "chart": "cache",
            "targetRevision": "1.2.3",
            "helm": {
                "releaseName": "cache",
                "valueFiles": [
                    "$values/apps/cache/base/values.yaml",
                    "$values/apps/cache/overlays/prod/values-prod.yaml",
                ],
            },
        },
        {
            "repoURL": "https://github.com/acme/gitops.git",
            "targetRevision": "main",
            "ref": "values",
        },
    ]
    # an OCI registry is written without its scheme (Argo CD's Helm OCI form), and declared
    assert (
        elements("charts")["billing-dev"]["sources"][0]["repoURL"] == "registry.example.com/charts"
    )
    secret = yaml.safe_load(
        tree_of("charts")["argocd/repositories/helm-registry.example.com-charts-a4531642.yaml"]
    )
    assert secret["stringData"] == {
        "type": "helm",
        "name": "helm-registry.example.com-charts-a4531642",
        "url": "registry.example.com/charts",
        "enableOCI": "true",
    }
    # a retired chart deploys its empty overlay through the template's single source
    assert elements("charts")["billing-prod"]["sources"] == []
    assert "apps/billing/overlays/prod/kustomization.yaml" in tree_of("charts")
    # a Kustomize service keeps the single source
    assert elements("charts")["hello-dev"]["sources"] == []


def test_the_image_goes_to_the_charts_keys() -> None:
    chart = ResolvedChart(
        repository="https://c.example.com",
        name="c",
        version="1.0.0",
        tag_key="app.image.tag",
        digest_key=None,
        repository_key="app.image.repository",
    )
    assert image_values(chart, "r.example.com/c", "1.0", DIGEST) == {
        "app": {"image": {"repository": "r.example.com/c", "tag": f"1.0@{DIGEST}"}}
    }
    assert merge_values({"a": {"b": 1, "c": [1]}, "d": 1}, {"a": {"c": [2]}, "d": {"e": 1}}) == {
        "a": {"b": 1, "c": [2]},
        "d": {"e": 1},
    }


# --- validate and render, with Helm ---------------------------------------------------------


@pytest.fixture
def chart_tree(tmp_path: Path) -> tuple[Path, Path, Path]:
    """The charts fixture built into out/, with its two charts packaged in charts/."""
    config = tmp_path / "services.toml"
    config.write_text((SPECS / "charts.toml").read_text(encoding="utf-8"), encoding="utf-8")
    out = tmp_path / "out"
    assert main(["build", "-c", str(config), "-o", str(out)]) == 0
    archives = tmp_path / "charts"
    archives.mkdir()
    make_chart(archives, "cache", "1.2.3")
    make_chart(archives, "billing", "0.4.0-rc.1")
    return config, out, archives


@needs_helm
def test_validate_renders_every_chart_application(chart_tree: tuple[Path, Path, Path]) -> None:
    _config, out, archives = chart_tree
    model = model_of("charts")
    assert charts.chart_findings(model, out, archives, validate.validate_objects) == []


@needs_helm
def test_validate_reports_what_the_chart_or_the_project_refuses(
    chart_tree: tuple[Path, Path, Path],
) -> None:
    _config, out, archives = chart_tree
    for archive in archives.glob("cache-*.tgz"):
        archive.unlink()
    role = (
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\n"
        "metadata:\n  name: {{ .Release.Name }}\n"
    )
    elsewhere = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  namespace: kube-system\n"
    make_chart(
        archives / "bad",
        "cache",
        "1.2.3",
        templates={"deployment.yaml": DEPLOYMENT, "role.yaml": role, "cm.yaml": elsewhere},
    )
    (archives / "bad" / "cache-1.2.3.tgz").rename(archives / "cache-1.2.3.tgz")
    prod = out / "apps/cache/overlays/prod/values-prod.yaml"
    prod.write_text(prod.read_text().replace("replicas: 3", "replicas: 0"))
    found = charts.chart_findings(model_of("charts"), out, archives, validate.validate_objects)
    dev = "apps/cache/overlays/dev/values-dev.yaml: chart cache 1.2.3"
    assert found == [
        f"{dev}: ConfigMap/x: in namespace 'kube-system', not the service's 'hello': project dev"
        " permits only that one",
        f"{dev}: ClusterRole/cache: cluster-scoped, and project dev permits no cluster-scoped"
        " object of a service: Argo CD would refuse the sync (turn it off in the chart's values)",
        "apps/cache/overlays/prod/values-prod.yaml: chart cache 1.2.3: helm: values don't meet"
        " the specifications of the schema(s) in the following chart(s): cache: - at"
        " '/replicas': minimum: got 0, want 1",
    ]


@needs_helm
def test_validate_command_takes_the_charts_folder(chart_tree: tuple[Path, Path, Path]) -> None:
    config, out, archives = chart_tree
    assert main(["validate", "-c", str(config), "-o", str(out), "--charts", str(archives)]) == 0


@needs_helm
def test_an_unreachable_chart_is_a_finding(chart_tree: tuple[Path, Path, Path]) -> None:
    _config, out, archives = chart_tree
    (archives / "billing-0.4.0-rc.1.tgz").unlink()
    found = charts.chart_findings(model_of("charts"), out, archives, validate.validate_objects)
    assert len(found) == 1
    assert found[0].startswith(
        "apps/billing/overlays/dev/values-dev.yaml: chart billing 0.4.0-rc.1: not fetched: "
    )
    assert "registry.example.com" in found[0]


@needs_helm
def test_render_prints_what_helm_renders(
    chart_tree: tuple[Path, Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    config, _out, archives = chart_tree
    assert main(["render", "cache", "prod", "-c", str(config), "--charts", str(archives)]) == 0
    (deployment,) = yaml.safe_load_all(capsys.readouterr().out)
    assert deployment["spec"]["replicas"] == 3
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == (
        "docker.io/library/valkey:8.0.1"
        "@sha256:0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a1f0e9d"
    )


@pytest.fixture
def chart_repository(tmp_path: Path) -> Iterator[str]:
    """A real Helm repository on loopback: Helm's own index.yaml and an archive."""
    root = tmp_path / "repo"
    root.mkdir()
    make_chart(root, "cache", "1.2.3")
    helm.registry.repo_index_generate(root)

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()
    server.server_close()
    thread.join()


@needs_helm
@pytest.mark.parametrize("with_helm", [True, False])
def test_charts_are_fetched_from_a_helm_repository(
    chart_repository: str, tmp_path: Path, with_helm: bool
) -> None:
    # (the services file refuses plain HTTP; the fetch itself is the same over HTTPS)
    chart = ResolvedChart(
        repository=chart_repository,
        name="cache",
        version="1.2.3",
        tag_key="image.tag",
        digest_key="image.digest",
        repository_key=None,
    )
    cache = tmp_path / "cache"
    cache.mkdir()
    archive = charts.fetch(chart, cache, helm if with_helm else None)
    assert archive == cache / charts.repository_folder(chart) / "cache-1.2.3.tgz"
    assert helm.Chart.load(archive).version == "1.2.3"
    assert charts.fetch(chart, cache, None) == archive  # the folder is read first
    missing = attrs.evolve(chart, version="9.9.9")
    with pytest.raises(charts.ChartUnavailable) as caught:
        charts.fetch(missing, cache, helm if with_helm else None)
    assert "9.9.9" in str(caught.value)


@needs_helm
def test_without_helm_the_values_meet_the_charts_schema(tmp_path: Path) -> None:
    archive = make_chart(tmp_path, "cache", "1.2.3")
    assert charts.schema_only_findings(archive, {"replicas": 2}) == []
    assert charts.schema_only_findings(archive, {"replicas": 0}) == [
        "values: replicas: 0 is less than the minimum of 1"
    ]


def test_set_image_and_promote_change_only_the_values_of_that_environment(
    tmp_path: Path,
) -> None:
    config = tmp_path / "services.toml"
    config.write_text((SPECS / "charts.toml").read_text(encoding="utf-8"), encoding="utf-8")
    out = tmp_path / "out"
    assert main(["build", "-c", str(config), "-o", str(out)]) == 0
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    digest = "sha256:" + "cd" * 32
    assert main(["set-image", "cache", "dev", "8.0.3", "--digest", digest, "-c", str(config)]) == 0
    assert main(["promote", "cache", "--to", "prod", "-c", str(config)]) == 0
    assert main(["build", "-c", str(config), "-o", str(out)]) == 0
    after = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    changed = sorted(p.relative_to(out).as_posix() for p in after if before.get(p) != after[p])
    # the prod tag changes in prod's overlay folder: its approvers' CODEOWNERS and ruleset path
    assert changed == [
        ".gitopsgen-manifest",
        "apps/cache/overlays/dev/values-dev.yaml",
        "apps/cache/overlays/prod/values-prod.yaml",
    ]
    prod = yaml.safe_load((out / "apps/cache/overlays/prod/values-prod.yaml").read_text())
    assert prod["image"] == {"tag": "8.0.3", "digest": digest}


def test_the_rendered_diff_shows_a_charts_version_and_the_values_helm_gets() -> None:
    old = (SPECS / "charts.toml").read_text(encoding="utf-8")
    new = old.replace('version = "1.2.3"', 'version = "1.3.0"').replace(
        "values = { replicas = 3,", "values = { replicas = 4,"
    )
    result = compare(old, new)
    assert [(c.name, c.headline) for c in result.changes] == [
        (
            "cache-prod",
            "chart https://charts.example.com/stable/cache 1.2.3 ->"
            " https://charts.example.com/stable/cache 1.3.0; Values cache: values.replicas",
        ),
        (
            "cache-dev",
            "chart https://charts.example.com/stable/cache 1.2.3 ->"
            " https://charts.example.com/stable/cache 1.3.0",
        ),
    ]
    values = result.changes[0].objects[-1]
    assert values.title == "helm Values cache"
    assert [line for line in values.diff() if line.startswith(("-", "+"))] == [
        "-  replicas: 3",
        "+  replicas: 4",
    ]


def test_a_chart_leaves_a_gated_environment_only_through_retired(tmp_path: Path) -> None:
    config = tmp_path / "services.toml"
    text = (SPECS / "charts.toml").read_text(encoding="utf-8")
    config.write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    assert main(["build", "-c", str(config), "-o", str(out)]) == 0
    prod = text[text.index("[services.cache.envs.prod]") : text.index("[services.billing]")]
    config.write_text(text.replace(prod, ""), encoding="utf-8")
    assert main(["build", "-c", str(config), "-o", str(out)]) == 2
    assert (out / "apps/cache/overlays/prod/values-prod.yaml").is_file()  # nothing written
    # retired first: the Application deploys the empty overlay, a sync prunes the chart's objects
    config.write_text(text.replace(prod, "[services.cache.envs.prod]\nretired = true\n\n"))
    assert main(["build", "-c", str(config), "-o", str(out)]) == 0
    assert not (out / "apps/cache/overlays/prod/values-prod.yaml").exists()
    assert elements_of(out)["cache-prod"]["sources"] == []
    config.write_text(text.replace(prod, ""), encoding="utf-8")
    assert main(["build", "-c", str(config), "-o", str(out)]) == 0


def elements_of(out: Path) -> dict[str, dict[str, Any]]:
    appset = yaml.safe_load((out / APPLICATIONSET_PATH).read_text(encoding="utf-8"))
    return {e["name"]: e for e in appset["spec"]["generators"][0]["list"]["elements"]}


def test_removing_a_chart_in_one_step_is_refused_with_the_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "services.toml"
    text = (SPECS / "charts.toml").read_text(encoding="utf-8")
    config.write_text(text, encoding="utf-8")
    assert main(["build", "-c", str(config), "-o", str(tmp_path / "out")]) == 0
    prod = text[text.index("[services.cache.envs.prod]") : text.index("[services.billing]")]
    config.write_text(text.replace(prod, ""), encoding="utf-8")
    capsys.readouterr()
    assert main(["build", "-c", str(config), "-o", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err == (
        f"{config}:42:17: services.cache.envs.prod: removed in one step, but prod syncs only by"
        " hand (auto_sync = false): its Application cache-prod would be deleted and what it"
        " runs left in the cluster. Set `retired = true` in [services.cache.envs.prod], sync"
        " cache-prod in Argo CD (with prune), then remove the entry\n"
    )


def test_a_chart_version_per_environment_and_its_gate() -> None:
    text = (SPECS / "charts.toml").read_text(encoding="utf-8")
    staged = text.replace(
        'values = { replicas = 3, auth = { users = ["app"] } }',
        'values = { replicas = 3, auth = { users = ["app"] } }\nchart_version = "1.1.0"',
    )
    model = model_from(staged)
    tree = render_tree(model)
    appset = yaml.safe_load(tree[APPLICATIONSET_PATH])
    listed = {e["name"]: e for e in appset["spec"]["generators"][0]["list"]["elements"]}
    assert listed["cache-prod"]["sources"][0]["targetRevision"] == "1.1.0"
    assert listed["cache-dev"]["sources"][0]["targetRevision"] == "1.2.3"
    # the version an environment runs is named in that environment's folder: a chart upgrade
    # changes the file the ruleset gives to the environment's approvers
    prod = tree["apps/cache/overlays/prod/values-prod.yaml"].splitlines()
    assert prod[2] == "# Chart: https://charts.example.com/stable cache 1.1.0"
    assert (
        tree["apps/cache/overlays/dev/values-dev.yaml"].splitlines()[2]
        == "# Chart: https://charts.example.com/stable cache 1.2.3"
    )
    with pytest.raises(InputError) as caught:
        load_text(staged.replace('chart_version = "1.1.0"', 'chart_version = "~1.1"'), "s.toml")
    assert [str(p) for p in caught.value.problems] == [
        "s.toml:52:1: services.cache.envs.prod.chart_version: '~1.1' is a range: Argo CD would"
        " render whichever newest version matches it at each sync; pin the exact version the"
        " chart was tested with (X.Y.Z, e.g. '1.4.2')"
    ]


@needs_helm
def test_validate_reports_a_chart_that_ignores_the_image_keys(
    chart_tree: tuple[Path, Path, Path],
) -> None:
    _config, out, archives = chart_tree
    (archives / "cache-1.2.3.tgz").unlink()
    image_line = next(line for line in DEPLOYMENT.splitlines() if "image:" in line)
    fixed = DEPLOYMENT.replace(image_line, "          image: docker.io/library/valkey:7")
    assert fixed != DEPLOYMENT
    make_chart(archives / "fixed", "cache", "1.2.3", templates={"deployment.yaml": fixed})
    (archives / "fixed" / "cache-1.2.3.tgz").rename(archives / "cache-1.2.3.tgz")
    found = charts.chart_findings(model_of("charts"), out, archives, validate.validate_objects)
    assert found[0] == (
        "apps/cache/overlays/dev/values-dev.yaml: chart cache 1.2.3: no container runs"
        " 8.0.2@sha256:5d2b1f0a2e3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6"
        " (images: docker.io/library/valkey:7): does the chart read 'image.tag' and"
        " 'image.digest'? Name the keys it reads in [chart] tag_key, digest_key"
    )
    assert len(found) == 2  # dev and prod
