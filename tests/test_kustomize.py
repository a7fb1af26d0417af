"""Every overlay of every fixture spec, built by real `kubectl kustomize`, checked per field."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from generator.commands import validate
from generator.render import render_tree
from generator.render.kustomize import config_literal
from generator.resolve import Model, Placement, ResolvedService, resolve
from generator.spec.load import load_text
from tests.conftest import SPEC_NAMES, SPECS, model_of, tree_of

pytestmark = pytest.mark.tools

Doc = dict[str, Any]
Built = tuple[list[Doc], str]

CASES = [
    pytest.param(spec, service.name, placement.env, id=f"{spec}-{service.name}-{placement.env}")
    for spec in SPEC_NAMES
    for service in model_of(spec).services
    if service.chart is None  # a chart has no Kustomize overlay: tests/test_charts.py
    for placement in service.placements
]
WORKLOAD_KINDS = {"Deployment", "Rollout"}


def write_tree(tree: dict[str, str], root: Path) -> Path:
    for path, text in tree.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return root


class Builds:
    """Each fixture spec written once and each of its overlays built once, on demand."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.cache: dict[tuple[str, str], Built] = {}

    def tree(self, spec: str) -> Path:
        folder = self.root / spec
        if not folder.exists():
            write_tree(tree_of(spec), folder)
        return folder

    def build(self, spec: str, relative: str) -> Built:
        key = (spec, relative)
        if key not in self.cache:
            self.cache[key] = validate.kustomize_build(self.tree(spec) / relative)
        return self.cache[key]

    def overlay(self, spec: str, service: str, env: str) -> Built:
        return self.build(spec, f"apps/{service}/overlays/{env}")


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> Builds:
    return Builds(tmp_path_factory.mktemp("trees"))


# ---------------------------------------------------------------------------------------------
# Helpers: find objects, and what the spec says independently of the resolver


def only(docs: list[Doc], kind: str) -> Doc:
    found = [doc for doc in docs if doc["kind"] == kind]
    assert len(found) == 1, f"expected one {kind}, got {len(found)}"
    return found[0]


def workload_of(docs: list[Doc]) -> Doc:
    found = [doc for doc in docs if doc["kind"] in WORKLOAD_KINDS]
    assert len(found) == 1, [d["kind"] for d in found]
    return found[0]


def container_of(workload: Doc) -> Doc:
    containers = workload["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    container: Doc = containers[0]
    return container


def raw_spec(spec: str) -> dict[str, Any]:
    return tomllib.loads((SPECS / f"{spec}.toml").read_text(encoding="utf-8"))


def lookup(model: Model, service: str, env: str) -> tuple[ResolvedService, Placement]:
    resolved = next(s for s in model.services if s.name == service)
    return resolved, next(p for p in resolved.placements if p.env == env)


def expected_image(registry: str, raw: dict[str, Any], service: str, env: str) -> str:
    """`<registry>/<image>:<tag>@<digest>` (Kustomize keeps both), `...:<tag>` without a digest."""
    image = raw["services"][service].get("image", service)
    entry = raw["services"][service]["envs"][env]
    pinned = f"@{entry['digest']}" if "digest" in entry else ""
    return f"{registry}/{image}:{entry['tag']}{pinned}"


def expected_environment(raw: dict[str, Any], service: str, env: str) -> dict[str, str]:
    """What the user means: most specific layer wins, a per-env `config` over the service `env`."""
    table = raw["services"][service]
    per_env = table.get("envs", {}).get(env, {})
    merged: dict[str, str] = (
        table.get("env", {})
        | table.get("config", {})
        | per_env.get("env", {})
        | per_env.get("config", {})
    )
    return merged


def expected_tolerations(raw: dict[str, Any], service: str, env: str) -> list[dict[str, Any]]:
    """The most specific `tolerations` list, in Kubernetes field names."""
    table = raw["services"][service]
    layers = (
        table.get("envs", {}).get(env, {}).get("tolerations"),
        table.get("tolerations"),
        raw["environments"][env].get("tolerations"),
    )
    chosen: list[dict[str, Any]] = next((layer for layer in layers if layer is not None), [])
    names = {"toleration_seconds": "tolerationSeconds"}
    return [
        {"operator": "Equal", **{names.get(k, k): v for k, v in toleration.items()}}
        for toleration in chosen
    ]


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    """A non-empty equality selector that the labels satisfy (empty would select every pod)."""
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


# ---------------------------------------------------------------------------------------------
# Every overlay, field by field


@pytest.mark.parametrize(("spec", "service_name", "env"), CASES)
def test_overlay_builds_cleanly_into_valid_objects(
    builds: Builds, spec: str, service_name: str, env: str
) -> None:
    docs, stderr = builds.overlay(spec, service_name, env)
    assert stderr == ""
    assert validate.validate_objects(docs) == []
    assert docs


@pytest.mark.parametrize(("spec", "service_name", "env"), CASES)
def test_overlay_workload_fields(builds: Builds, spec: str, service_name: str, env: str) -> None:
    model = model_of(spec)
    service, placement = lookup(model, service_name, env)
    raw = raw_spec(spec)
    docs, _ = builds.overlay(spec, service_name, env)
    workload = workload_of(docs)
    container = container_of(workload)
    pod = workload["spec"]["template"]["spec"]

    assert workload["kind"] == service.workload_kind
    assert workload["metadata"]["name"] == service_name
    assert {doc["metadata"].get("namespace") for doc in docs} == {service.namespace}
    # On Google Cloud each service's images live in a repository of its own.
    repository = (
        f"{model.registry}-{service_name}" if model.spec.cloud.provider == "gcp" else model.registry
    )
    assert container["image"] == expected_image(repository, raw, service_name, env)
    assert container["resources"] == {
        side: values
        for side, values in (
            ("requests", placement.resources.requests),
            ("limits", placement.resources.limits),
        )
        if values
    }
    assert pod.get("tolerations", []) == expected_tolerations(raw, service_name, env)
    assert pod["serviceAccountName"] == service_name
    assert only(docs, "ServiceAccount")["metadata"]["name"] == service_name


@pytest.mark.parametrize(("spec", "service_name", "env"), CASES)
def test_overlay_replicas_or_hpa(builds: Builds, spec: str, service_name: str, env: str) -> None:
    _, placement = lookup(model_of(spec), service_name, env)
    docs, _ = builds.overlay(spec, service_name, env)
    workload = workload_of(docs)
    hpas = [doc for doc in docs if doc["kind"] == "HorizontalPodAutoscaler"]
    if placement.hpa is None:
        assert hpas == []
        assert workload["spec"]["replicas"] == placement.replicas
        return
    # The HPA owns the replica count: the workload must not state one Argo CD would reset.
    assert "replicas" not in workload["spec"]
    (hpa,) = hpas
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["minReplicas"] == placement.hpa.min
    assert hpa["spec"]["maxReplicas"] == placement.hpa.max
    assert hpa["spec"]["metrics"] == [
        {
            "type": "Resource",
            "resource": {
                "name": "cpu",
                "target": {
                    "type": "Utilization",
                    "averageUtilization": placement.hpa.cpu_utilization,
                },
            },
        }
    ]
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": workload["apiVersion"],
        "kind": workload["kind"],
        "name": workload["metadata"]["name"],
    }


@pytest.mark.parametrize(("spec", "service_name", "env"), CASES)
def test_overlay_config_reaches_the_pod(
    builds: Builds, spec: str, service_name: str, env: str
) -> None:
    _, placement = lookup(model_of(spec), service_name, env)
    docs, _ = builds.overlay(spec, service_name, env)
    container = container_of(workload_of(docs))
    config_map = only(docs, "ConfigMap")
    name = config_map["metadata"]["name"]
    # Old ReplicaSets keep reading the ConfigMap of their hash: Argo CD never prunes it, and a
    # superseded one is not OutOfSync (the Applications have no PruneLast).
    assert config_map["metadata"]["annotations"] == {
        "argocd.argoproj.io/sync-options": "Prune=false",
        "argocd.argoproj.io/compare-options": "IgnoreExtraneous",
    }
    prefix = f"{service_name}-config-"
    assert name.startswith(prefix)
    assert len(name) == len(prefix) + 10  # Kustomize's content hash
    assert container["envFrom"] == [{"configMapRef": {"name": name}}]
    assert config_map.get("data", {}) == dict(placement.config)
    env_vars = {var["name"]: var["value"] for var in container.get("env", [])}
    assert env_vars == dict(placement.env_vars)
    # env beats envFrom in Kubernetes: a name in both would silently hide the ConfigMap's value.
    assert not set(env_vars) & set(config_map.get("data", {}))
    effective = config_map.get("data", {}) | env_vars
    assert effective == expected_environment(raw_spec(spec), service_name, env)


@pytest.mark.parametrize(("spec", "service_name", "env"), CASES)
def test_overlay_labels(builds: Builds, spec: str, service_name: str, env: str) -> None:
    service, _ = lookup(model_of(spec), service_name, env)
    docs, _ = builds.overlay(spec, service_name, env)
    workload = workload_of(docs)
    pod_labels = workload["spec"]["template"]["metadata"]["labels"]
    for labels in (workload["metadata"]["labels"], pod_labels):
        assert labels["app.kubernetes.io/managed-by"] == "argocd"
        assert labels["app.kubernetes.io/name"] == service_name
        assert labels["app.kubernetes.io/part-of"] == service.team
        assert labels["app.kubernetes.io/environment"] == env
    for doc in docs:
        assert doc["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "argocd"
    # Selectors are immutable: they carry the service's name and nothing that may change.
    assert workload["spec"]["selector"] == {"matchLabels": {"app.kubernetes.io/name": service_name}}


@pytest.mark.parametrize(("spec", "service_name", "env"), CASES)
def test_overlay_selectors_select_the_pods(
    builds: Builds, spec: str, service_name: str, env: str
) -> None:
    service, _ = lookup(model_of(spec), service_name, env)
    docs, _ = builds.overlay(spec, service_name, env)
    workload = workload_of(docs)
    pod_labels = workload["spec"]["template"]["metadata"]["labels"]
    container = container_of(workload)

    assert selects(workload["spec"]["selector"]["matchLabels"], pod_labels)
    services = [doc for doc in docs if doc["kind"] == "Service"]
    if service.port == 0:
        assert services == []
        assert "ports" not in container
    else:
        assert services
        port_names = {port["name"]: port["containerPort"] for port in container["ports"]}
        assert port_names == {"http": service.port}
        for svc in services:
            assert selects(svc["spec"]["selector"], pod_labels)
            for port in svc["spec"]["ports"]:
                assert port["targetPort"] in port_names
    pdb = only(docs, "PodDisruptionBudget")
    assert selects(pdb["spec"]["selector"]["matchLabels"], pod_labels)
    policy = only(docs, "NetworkPolicy")
    assert selects(policy["spec"]["podSelector"]["matchLabels"], pod_labels)
    ports = [port for rule in policy["spec"].get("ingress", []) for port in rule["ports"]]
    expected = [service.port] if service.port else []
    if service.canary is not None and service.canary.traffic == "istio":
        expected += [15020, 15090]  # the sidecar's metrics, which the canary analysis reads
    assert ports == [{"port": port, "protocol": "TCP"} for port in expected]


@pytest.mark.parametrize("spec", SPEC_NAMES)
def test_selectors_select_no_other_service(builds: Builds, spec: str) -> None:
    """Services sharing a namespace: each selector picks its own pods, never a neighbour's."""
    model = model_of(spec)
    for env in model.environments:
        built = [
            builds.overlay(spec, s.name, env.name)[0]
            for s in model.services
            if s.chart is None and any(p.env == env.name for p in s.placements)
        ]
        pods = {
            (docs[0]["metadata"]["namespace"], workload_of(docs)["metadata"]["name"]): workload_of(
                docs
            )["spec"]["template"]["metadata"]["labels"]
            for docs in built
        }
        for docs in built:
            own = (docs[0]["metadata"]["namespace"], workload_of(docs)["metadata"]["name"])
            for selector in selectors_in(docs):
                chosen: set[tuple[str, str]] = {
                    key
                    for key, labels in pods.items()
                    if key[0] == own[0] and selects(selector, labels)
                }
                assert chosen == {own}


def selectors_in(docs: list[Doc]) -> Iterator[dict[str, str]]:
    for doc in docs:
        spec = doc.get("spec", {})
        if doc["kind"] == "Service":
            yield spec["selector"]
        elif doc["kind"] == "NetworkPolicy":
            yield spec["podSelector"]["matchLabels"]
        elif "selector" in spec and "matchLabels" in spec["selector"]:
            yield spec["selector"]["matchLabels"]


@pytest.mark.parametrize("spec", SPEC_NAMES)
def test_bases_build_cleanly(builds: Builds, spec: str) -> None:
    for service in model_of(spec).services:
        if service.chart is not None:
            continue
        docs, stderr = builds.build(spec, f"apps/{service.name}/base")
        assert stderr == ""
        assert validate.validate_objects(docs) == []


@pytest.mark.parametrize("spec", SPEC_NAMES)
def test_kustomizations_use_labels_not_common_labels(spec: str) -> None:
    yaml = YAML(typ="safe")
    kustomizations = [
        yaml.load(text)
        for path, text in tree_of(spec).items()
        if path.endswith("kustomization.yaml")
    ]
    assert kustomizations
    for kustomization in kustomizations:
        assert "commonLabels" not in kustomization
        if kustomization.get("resources") == []:  # a retired overlay: nothing to label
            continue
        assert "labels" in kustomization
        for entry in kustomization["labels"]:
            assert not entry.get("includeSelectors", False)


# ---------------------------------------------------------------------------------------------
# Exact values: the reference file's biggest overlay, and config values Kustomize could mangle


def test_reference_payments_prod_exactly(builds: Builds) -> None:
    docs, _ = builds.overlay("reference", "payments-api", "prod")
    workload = workload_of(docs)
    assert workload["kind"] == "Rollout"  # an ALB canary: Kustomize reaches it through its config
    container = container_of(workload)
    assert container["image"] == (
        "111111111111.dkr.ecr.me-south-1.amazonaws.com/payments-api:def456abc"
        "@sha256:bafe24947268f7f6ea29282e28672b4ee23072b10997bb711878d2108c424950"
    )
    assert container["resources"] == {
        "requests": {"cpu": "500m", "memory": "512Mi"},
        "limits": {"cpu": "2", "memory": "2Gi"},
    }
    assert workload["spec"]["template"]["spec"]["tolerations"] == [
        {"key": "dedicated", "operator": "Equal", "value": "prod", "effect": "NoSchedule"}
    ]
    hpa = only(docs, "HorizontalPodAutoscaler")["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (6, 20)
    assert hpa["metrics"][0]["resource"]["target"]["averageUtilization"] == 70
    assert only(docs, "ConfigMap")["data"] == {
        "DATABASE_HOST": "payments-db.prod.internal",
        "ENABLE_TRACING": "true",
        "LOG_LEVEL": "warn",
    }
    assert "env" not in container  # LOG_LEVEL=info (service env) lost to prod's config
    assert only(docs, "PodDisruptionBudget")["spec"]["minAvailable"] == "50%"


def test_reference_deployment_runs_the_pinned_digest(builds: Builds) -> None:
    docs, _ = builds.overlay("reference", "orders-api", "prod")
    workload = workload_of(docs)
    assert workload["kind"] == "Deployment"
    assert container_of(workload)["image"] == (
        "111111111111.dkr.ecr.me-south-1.amazonaws.com/orders-api:sha-5c1d9b0"
        "@sha256:2f610cef1c8d69a52d994b4376d750eb9471099113a1535a8f8016474177c0a8"
    )


def test_reference_tag_without_digest_runs_the_tag(builds: Builds) -> None:
    """The migration path: an entry from before digests still deploys, by its tag."""
    docs, _ = builds.overlay("reference", "ledger-worker", "dev")
    assert container_of(workload_of(docs))["image"] == (
        "111111111111.dkr.ecr.me-south-1.amazonaws.com/ledger-worker:sha-0a1b2c3"
    )


@pytest.mark.parametrize("spec", SPEC_NAMES)
def test_overlays_pin_exactly_the_recorded_digest(spec: str) -> None:
    """The overlay's images entry states the tag and, where recorded, the digest: nothing else."""
    yaml = YAML(typ="safe")
    raw = raw_spec(spec)
    for service in model_of(spec).services:
        for placement in service.placements if service.chart is None else ():
            path = f"apps/{service.name}/overlays/{placement.env}/kustomization.yaml"
            (entry,) = yaml.load(tree_of(spec)[path])["images"]
            recorded = raw["services"][service.name]["envs"][placement.env]
            expected = {"name": service.image, "newTag": recorded["tag"]}
            if "digest" in recorded:
                expected["digest"] = recorded["digest"]
            assert entry == expected


DIGEST = "sha256:" + "0123456789abcdef" * 4


@pytest.mark.parametrize(
    ("image", "rendered"),
    [
        # What render/kustomize.py relies on: with both set, the tag stays beside the digest.
        ({"newTag": "sha-1a2b3c4", "digest": DIGEST}, f"reg.example/app:sha-1a2b3c4@{DIGEST}"),
        # Why it sets both: a digest alone drops the tag from what people read.
        ({"digest": DIGEST}, f"reg.example/app@{DIGEST}"),
        ({"newTag": "sha-1a2b3c4"}, "reg.example/app:sha-1a2b3c4"),
    ],
)
def test_kustomize_image_transformer_with_tag_and_digest(
    tmp_path: Path, image: dict[str, str], rendered: str
) -> None:
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "app"},
        "spec": {
            "selector": {"matchLabels": {"app": "app"}},
            "template": {
                "metadata": {"labels": {"app": "app"}},
                # A base image that already carries a tag and a digest: both are replaced.
                "spec": {"containers": [{"name": "app", "image": f"reg.example/app:old@{DIGEST}"}]},
            },
        },
    }
    kustomization = {"resources": ["app.yaml"], "images": [{"name": "reg.example/app", **image}]}
    (tmp_path / "app.yaml").write_text(json.dumps(deployment), encoding="utf-8")
    (tmp_path / "kustomization.yaml").write_text(json.dumps(kustomization), encoding="utf-8")
    docs, stderr = validate.kustomize_build(tmp_path)
    assert stderr == ""
    assert container_of(workload_of(docs))["image"] == rendered


def test_reference_orders_prod_replicas(builds: Builds) -> None:
    docs, _ = builds.overlay("reference", "orders-api", "prod")
    assert workload_of(docs)["spec"]["replicas"] == 4
    docs, _ = builds.overlay("reference", "orders-api", "staging")
    assert workload_of(docs)["spec"]["replicas"] == 2
    assert "tolerations" not in workload_of(docs)["spec"]["template"]["spec"]


TRICKY_SPEC = (
    (SPECS / "minimal.toml").read_text(encoding="utf-8")
    + '''
[services.hello.env]
A = "service env"
B = "service env"
C = "service env"
QUOTE = '"kept"'

[services.hello.config]
B = "service config"

[services.hello.envs.dev.env]
C = "dev env"
D = "dev env"

[services.hello.envs.dev.config]
A = "dev config"
D = "dev config"
DQ = '"quoted"'
SQ = "'single'"
HALF = '"open'
EQ = "a=b=c"
SPACES = "  lead and trail  "
LINES = """line one
line two
"""
EMPTY = ""
BOOL = "true"
HASH = "# not a comment"
JSON = '{"k": [1, "two"]}'
'''
)


def test_only_the_generated_configmap_is_kept_from_pruning(builds: Builds) -> None:
    # Prune=false on the workload would keep a removed Deployment running for ever.
    docs, _ = builds.overlay("reference", "payments-api", "prod")
    for doc in docs:
        annotations = doc["metadata"].get("annotations", {})
        if doc["kind"] == "ConfigMap":
            assert annotations["argocd.argoproj.io/sync-options"] == "Prune=false"
        else:
            assert "argocd.argoproj.io/sync-options" not in annotations, doc["kind"]
            assert "argocd.argoproj.io/compare-options" not in annotations, doc["kind"]


def test_a_config_change_makes_a_new_configmap_and_keeps_the_old_one_unpruned(
    tmp_path: Path,
) -> None:
    # A config change renames the ConfigMap (its hash): the Rollout's new pods read the new
    # one while the stable ReplicaSet's pods still read the old, which Argo CD must keep.
    text = (SPECS / "reference.toml").read_text(encoding="utf-8")
    names = []
    for value in ("one", "two"):
        changed = text.replace('LOG_LEVEL = "debug"', f'LOG_LEVEL = "{value}"')
        assert changed != text
        tree = render_tree(resolve(load_text(changed, "reference.toml").spec))
        root = write_tree(tree, tmp_path / value)
        docs, _ = validate.kustomize_build(root / "apps/payments-api/overlays/dev")
        config_map = only(docs, "ConfigMap")
        assert config_map["metadata"]["annotations"]["argocd.argoproj.io/sync-options"] == (
            "Prune=false"
        )
        assert container_of(workload_of(docs))["envFrom"] == [
            {"configMapRef": {"name": config_map["metadata"]["name"]}}
        ]
        names.append(config_map["metadata"]["name"])
    assert names[0] != names[1]


def test_config_values_reach_the_pod_exactly(tmp_path: Path) -> None:
    """Per-environment config beats the service's env; Kustomize keeps every value verbatim."""
    raw = tomllib.loads(TRICKY_SPEC)
    model = resolve(load_text(TRICKY_SPEC, "tricky.toml").spec)
    write_tree(render_tree(model), tmp_path)
    docs, stderr = validate.kustomize_build(tmp_path / "apps/hello/overlays/dev")
    assert stderr == ""
    container = container_of(workload_of(docs))
    data = only(docs, "ConfigMap")["data"]
    env_vars = {var["name"]: var["value"] for var in container["env"]}
    assert data | env_vars == expected_environment(raw, "hello", "dev")
    assert env_vars == {"C": "dev env", "QUOTE": '"kept"'}
    assert data["A"] == "dev config"
    assert data["B"] == "service config"
    assert data["D"] == "dev config"
    assert data["DQ"] == '"quoted"'
    assert data["SQ"] == "'single'"
    assert data["LINES"] == "line one\nline two\n"
    assert data["EMPTY"] == ""


@pytest.mark.parametrize(
    ("value", "literal"),
    [
        ("plain", "K=plain"),
        ('"quoted"', 'K=""quoted""'),
        ("'single'", "K=\"'single'\""),
        ('"', 'K="'),
        ('"open', 'K="open'),
        ("", "K="),
    ],
)
def test_config_literal(value: str, literal: str) -> None:
    assert config_literal("K", value) == literal
