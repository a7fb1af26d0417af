"""Argo Rollouts canaries: the base objects, and what real Kustomize makes of every overlay."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import attrs
import pytest
from ruamel.yaml import YAML

from generator.commands import validate
from generator.naming import canary_service_name, stable_service_name
from generator.render import kustomize, rollouts
from generator.render.templating import templates_dir
from generator.resolve import Placement, ResolvedService
from tests.conftest import model_of, tree_of

CANARY_SPECS = ("reference", "canary-variants")
ROLLOUT_API = "argoproj.io/v1alpha1"


def load(text: str) -> Any:
    return YAML(typ="safe").load(text)


def service_of(spec: str, name: str) -> ResolvedService:
    return next(s for s in model_of(spec).services if s.name == name)


def base_doc(spec: str, service: str, file: str) -> Any:
    return load(tree_of(spec)[f"apps/{service}/base/{file}"])


def canary_cases() -> list[tuple[str, str, str]]:
    """(spec, service, environment) for every overlay of every canary service."""
    return [
        (spec, service.name, placement.env)
        for spec in CANARY_SPECS
        for service in model_of(spec).services
        if service.canary is not None
        for placement in service.placements
    ]


def canary_services() -> list[tuple[str, str]]:
    return sorted({(spec, service) for spec, service, _ in canary_cases()})


def case_id(case: tuple[str, ...]) -> str:
    return "/".join(case)


# ---------------------------------------------------------------------------------------------
# The base, as rendered


def test_every_canary_spec_has_canaries_of_every_traffic_kind() -> None:
    kinds = {
        service_of(spec, name).canary.traffic  # type: ignore[union-attr]
        for spec, name in canary_services()
    }
    assert kinds == {"alb", "istio", "replicas"}


@pytest.mark.parametrize("spec", [*CANARY_SPECS, "gcp", "minimal"])
def test_workload_kind_follows_the_canary_table(spec: str) -> None:
    for service in model_of(spec).services:
        expected = "Rollout" if service.canary is not None else "Deployment"
        assert service.workload_kind == expected
        files = {
            p.rsplit("/", 1)[1] for p in tree_of(spec) if p.startswith(f"apps/{service.name}/base/")
        }
        assert ("rollout.yaml" in files) is (expected == "Rollout")
        assert ("deployment.yaml" in files) is (expected == "Deployment")


@pytest.mark.parametrize(("spec", "name"), canary_services(), ids=case_id)
def test_rollout_has_the_pod_template_a_deployment_would(spec: str, name: str) -> None:
    service = service_of(spec, name)
    as_deployment = load(
        kustomize.base_objects(attrs.evolve(service, canary=None))["deployment.yaml"]
    )
    rollout = base_doc(spec, name, "rollout.yaml")
    assert rollout["apiVersion"] == ROLLOUT_API
    assert rollout["kind"] == "Rollout"
    assert rollout["metadata"] == {"name": name}
    assert rollout["spec"]["template"] == as_deployment["spec"]["template"]
    assert rollout["spec"]["selector"] == as_deployment["spec"]["selector"]
    assert rollout["spec"]["revisionHistoryLimit"] == 5
    assert "replicas" not in rollout["spec"]  # each overlay sets them, or the HPA owns them


def test_reference_alb_canary_strategy_exactly() -> None:
    canary = base_doc("reference", "payments-api", "rollout.yaml")["spec"]["strategy"]["canary"]
    analysis = {
        "analysis": {
            "templates": [{"templateName": "payments-api"}],
            "args": [
                {"name": "service-name", "value": "payments-api-canary"},
                {"name": "canary-hash", "valueFrom": {"podTemplateHashValue": "Latest"}},
            ],
        }
    }
    assert canary == {
        "canaryService": "payments-api-canary",
        "stableService": "payments-api-stable",
        "trafficRouting": {
            "alb": {"ingress": "payments-api", "servicePort": 80, "rootService": "payments-api"}
        },
        "scaleDownDelaySeconds": 30,
        "scaleDownDelayRevisionLimit": 1,
        "abortScaleDownDelaySeconds": 30,
        "steps": [
            {"setWeight": 10},
            {"pause": {"duration": "2m"}},
            analysis,
            {"setWeight": 30},
            {"pause": {"duration": "5m"}},
            analysis,
            {"setWeight": 60},
            {"pause": {"duration": "5m"}},
            analysis,
            {"pause": {}},  # manual_gate: a person promotes to 100%
        ],
    }


def test_reference_istio_canary_strategy_exactly() -> None:
    canary = base_doc("reference", "trading-engine", "rollout.yaml")["spec"]["strategy"]["canary"]
    analysis = {
        "analysis": {
            "templates": [{"templateName": "trading-engine"}],
            "args": [
                {"name": "service-name", "value": "trading-engine-canary"},
                {"name": "canary-hash", "valueFrom": {"podTemplateHashValue": "Latest"}},
            ],
        }
    }
    assert canary["trafficRouting"] == {
        "istio": {"virtualService": {"name": "trading-engine", "routes": ["primary"]}}
    }
    assert canary["canaryService"] == "trading-engine-canary"
    assert canary["stableService"] == "trading-engine-stable"
    # No manual gate: after the last analysis the Rollout goes to 100% by itself.
    assert canary["steps"] == [
        {"setWeight": 20},
        {"pause": {"duration": "10m"}},
        analysis,
        {"setWeight": 50},
        {"pause": {"duration": "10m"}},
        analysis,
    ]


def test_replica_weighted_canary_has_no_router_and_no_router_only_fields() -> None:
    canary = base_doc("canary-variants", "web-replicas", "rollout.yaml")["spec"]["strategy"][
        "canary"
    ]
    # Argo Rollouts rejects scaleDownDelaySeconds without trafficRouting; the two other delays
    # only act on traffic-routed canaries.
    assert set(canary) == {"steps"}
    assert [step for step in canary["steps"] if "analysis" not in step] == [
        {"setWeight": 25},
        {"pause": {"duration": "1m"}},
        {"setWeight": 50},  # no pause given: straight on to the analysis
        {"setWeight": 75},
        {"pause": {"duration": "90s"}},
        {"pause": {}},
    ]
    assert sum("analysis" in step for step in canary["steps"]) == 3
    base = {p.rsplit("/", 1)[1] for p in tree_of("canary-variants") if "/web-replicas/base/" in p}
    assert not {"ingress.yaml", "virtualservice.yaml"} & base
    assert not any(name.startswith("service-") for name in base)


def test_canary_without_analysis_or_gate_only_sets_weights_and_pauses() -> None:
    canary = base_doc("canary-variants", "api-plain", "rollout.yaml")["spec"]["strategy"]["canary"]
    assert canary["steps"] == [{"setWeight": 50}, {"pause": {"duration": "30s"}}]
    assert "apps/api-plain/base/analysistemplate.yaml" not in tree_of("canary-variants")
    gated = base_doc("canary-variants", "mesh-gated", "rollout.yaml")["spec"]["strategy"]["canary"]
    assert gated["steps"][-1] == {"pause": {}}
    assert not any("analysis" in step for step in gated["steps"])


def test_alb_ingress_follows_the_rollouts_alb_contract() -> None:
    ingress = base_doc("reference", "payments-api", "ingress.yaml")
    assert ingress["apiVersion"] == "networking.k8s.io/v1"
    assert ingress["spec"]["ingressClassName"] == "alb"
    assert ingress["metadata"]["annotations"] == {
        "alb.ingress.kubernetes.io/target-type": "ip",
        "alb.ingress.kubernetes.io/healthcheck-path": "/ready",
    }
    (rule,) = ingress["spec"]["rules"]
    assert "host" not in rule  # no canary.host: the rule matches any host
    (path,) = rule["http"]["paths"]
    assert path["backend"] == {
        "service": {"name": "payments-api", "port": {"name": "use-annotation"}}
    }
    hosted = base_doc("canary-variants", "api-plain", "ingress.yaml")
    assert hosted["spec"]["rules"][0]["host"] == "api.example.com"


def test_istio_virtual_service_has_the_named_route_over_stable_and_canary() -> None:
    vs = base_doc("reference", "trading-engine", "virtualservice.yaml")
    assert vs["apiVersion"] == "networking.istio.io/v1"
    assert vs["spec"]["hosts"] == ["trading-engine"]
    assert vs["spec"]["http"] == [
        {
            "name": "primary",
            "route": [
                {"destination": {"host": "trading-engine-stable"}, "weight": 100},
                {"destination": {"host": "trading-engine-canary"}, "weight": 0},
            ],
        }
    ]


@pytest.mark.parametrize(("spec", "name"), canary_services(), ids=case_id)
def test_stable_and_canary_services_exist_exactly_for_routed_canaries(spec: str, name: str) -> None:
    service = service_of(spec, name)
    assert service.canary is not None
    root = base_doc(spec, name, "service.yaml")
    files = tree_of(spec)
    for other in (stable_service_name(service.name), canary_service_name(service.name)):
        path = f"apps/{name}/base/service-{other}.yaml"
        if service.canary.traffic == "replicas":
            assert path not in files
            continue
        doc = load(files[path])
        assert doc["metadata"]["name"] == other
        assert doc["spec"] == root["spec"]  # same pods and port; Rollouts adds the hash
    assert stable_service_name(service.name) != canary_service_name(service.name)


def test_reference_analysis_template_exactly() -> None:
    template = base_doc("reference", "payments-api", "analysistemplate.yaml")
    assert template["apiVersion"] == ROLLOUT_API
    assert template["kind"] == "AnalysisTemplate"
    assert template["metadata"] == {"name": "payments-api"}
    assert template["spec"]["args"] == [{"name": "service-name"}, {"name": "canary-hash"}]
    metrics = {m["name"]: m for m in template["spec"]["metrics"]}
    assert list(metrics) == ["success-rate", "latency-p99-ms", "error-logs"]
    for metric in metrics.values():
        assert metric["interval"] == "60s"
        assert metric["count"] == 5
        assert metric["failureLimit"] == 2
        assert (
            metric["provider"]["prometheus"]["address"] == "http://prometheus.monitoring.svc:9090"
        )
        assert 'namespace="payments"' in metric["provider"]["prometheus"]["query"]
        assert (
            'pod=~"payments-api-{{args.canary-hash}}-.+"'
            in metric["provider"]["prometheus"]["query"]
        )
    assert metrics["success-rate"]["successCondition"] == "result >= 0.995"
    assert metrics["success-rate"]["failureCondition"] == "result < 0.995"
    assert 'code=~"2.."' in metrics["success-rate"]["provider"]["prometheus"]["query"]
    assert metrics["latency-p99-ms"]["successCondition"] == "result < 500"
    assert metrics["latency-p99-ms"]["failureCondition"] == "result >= 500"
    assert metrics["error-logs"]["successCondition"] == "result < 10"
    assert metrics["error-logs"]["failureCondition"] == "result >= 10"
    # No error line in the window is zero errors, not an inconclusive measurement.
    assert metrics["error-logs"]["provider"]["prometheus"]["query"].endswith(" or vector(0))")


def test_istio_analysis_measures_the_canary_service_in_the_mesh() -> None:
    template = base_doc("reference", "trading-engine", "analysistemplate.yaml")
    assert template["spec"]["args"] == [{"name": "service-name"}, {"name": "canary-hash"}]
    metrics = {m["name"]: m for m in template["spec"]["metrics"]}
    assert list(metrics) == ["success-rate", "latency-p99-ms"]  # no error_logs in the table
    for metric in metrics.values():
        query = metric["provider"]["prometheus"]["query"]
        assert 'destination_service_name="{{args.service-name}}"' in query
        assert 'destination_service_namespace="trading"' in query
        # The calling sidecars name the canary Service the route chose; the canary pods' own
        # proxy would report one of the three Services that select them (istio/istio#33940).
        assert 'reporter="source"' in query
        assert "destination" not in query.replace("destination_service", "")
        assert metric["failureLimit"] == 1
        assert metric["count"] == 5
    assert "istio_requests_total" in metrics["success-rate"]["provider"]["prometheus"]["query"]
    assert metrics["success-rate"]["successCondition"] == "result >= 0.999"
    assert (
        "istio_request_duration_milliseconds_bucket"
        in (metrics["latency-p99-ms"]["provider"]["prometheus"]["query"])
    )


@pytest.mark.parametrize(("spec", "name"), canary_services(), ids=case_id)
def test_base_rollout_and_analysis_template_match_their_crd_schemas(spec: str, name: str) -> None:
    files = tree_of(spec)
    for file in ("rollout.yaml", "analysistemplate.yaml"):
        path = f"apps/{name}/base/{file}"
        if path in files:
            assert validate.validate_custom(load(files[path])) == []


def test_schema_validation_catches_a_broken_rollout() -> None:
    rollout = base_doc("reference", "payments-api", "rollout.yaml")
    rollout["spec"]["strategy"]["canary"]["steps"][0] = {"setWieght": 10}
    assert any("setWieght" in finding for finding in validate.validate_custom(rollout))


@pytest.mark.parametrize("spec", CANARY_SPECS)
def test_base_kustomization_lists_argo_rollouts_transformer_config(spec: str) -> None:
    published = (templates_dir() / rollouts.TRANSFORM_TEMPLATE).read_text(encoding="utf-8")
    files = tree_of(spec)
    for service in model_of(spec).services:
        base = f"apps/{service.name}/base"
        kustomization = load(files[f"{base}/kustomization.yaml"])
        config = f"{base}/{rollouts.TRANSFORM_CONFIG}"
        if service.canary is None:
            assert "configurations" not in kustomization
            assert config not in files
            continue
        assert kustomization["configurations"] == [rollouts.TRANSFORM_CONFIG]
        assert load(files[config]) == load(published)
        for placement in service.placements:
            overlay = load(
                files[f"apps/{service.name}/overlays/{placement.env}/kustomization.yaml"]
            )
            assert "configurations" not in overlay  # inherited from the base


def test_failure_limit_semantics_are_argo_rollouts() -> None:
    """failureLimit N tolerates N failed measurements: the N+1th fails the analysis."""
    template = base_doc("canary-variants", "web-replicas", "analysistemplate.yaml")
    assert {m["failureLimit"] for m in template["spec"]["metrics"]} == {0}
    assert {m["count"] for m in template["spec"]["metrics"]} == {4}
    assert {m["interval"] for m in template["spec"]["metrics"]} == {"30s"}
    address = {m["provider"]["prometheus"]["address"] for m in template["spec"]["metrics"]}
    assert address == {"http://prometheus-operated.observability.svc:9090"}


# ---------------------------------------------------------------------------------------------
# What Kustomize renders (real kubectl kustomize over every overlay)


@cache
def written_tree(spec: str, root: str) -> Path:
    out = Path(root) / spec
    for path, text in tree_of(spec).items():
        target = out / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return out


@cache
def built(spec: str, service: str, env: str, root: str) -> tuple[tuple[Any, ...], str]:
    docs, stderr = validate.kustomize_build(
        written_tree(spec, root) / "apps" / service / "overlays" / env
    )
    return tuple(docs), stderr


@pytest.fixture(scope="module")
def out_root(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(tmp_path_factory.mktemp("rollouts"))


def objects(case: tuple[str, str, str], root: str) -> dict[tuple[str, str], Any]:
    docs, _ = built(*case, root)
    return {(doc["kind"], doc["metadata"]["name"]): doc for doc in docs}


def placement_of(spec: str, service: str, env: str) -> Placement:
    return next(p for p in service_of(spec, service).placements if p.env == env)


@pytest.mark.tools
@pytest.mark.parametrize("case", canary_cases(), ids=case_id)
def test_kustomize_builds_the_overlay_silently(case: tuple[str, str, str], out_root: str) -> None:
    docs, stderr = built(*case, out_root)
    assert stderr == ""
    kinds = [doc["kind"] for doc in docs]
    assert kinds.count("Rollout") == 1
    assert "Deployment" not in kinds


@pytest.mark.tools
@pytest.mark.parametrize("case", canary_cases(), ids=case_id)
def test_kustomized_rollout_field_by_field(case: tuple[str, str, str], out_root: str) -> None:
    spec, name, env = case
    service = service_of(spec, name)
    placement = placement_of(spec, name, env)
    found = objects(case, out_root)
    rollout = found[("Rollout", name)]
    pod = rollout["spec"]["template"]
    (container,) = pod["spec"]["containers"]

    assert rollout["apiVersion"] == ROLLOUT_API
    assert rollout["metadata"]["namespace"] == service.namespace
    pinned = f"@{placement.digest}" if placement.digest else ""  # Kustomize keeps both
    assert container["image"] == f"{service.image}:{placement.tag}{pinned}"

    selector = rollout["spec"]["selector"]["matchLabels"]
    assert selector == {"app.kubernetes.io/name": name}
    labels = pod["metadata"]["labels"]
    assert selector.items() <= labels.items()
    assert labels["app.kubernetes.io/environment"] == env  # the overlay's labels reach pods
    assert labels["app.kubernetes.io/managed-by"] == "argocd"  # the Kyverno guard's label
    assert labels["app.kubernetes.io/part-of"] == service.team
    assert rollout["metadata"]["labels"]["app.kubernetes.io/environment"] == env

    (config,) = [doc for (kind, _), doc in found.items() if kind == "ConfigMap"]
    assert config["metadata"]["name"].startswith(f"{name}-config-")  # hashed by the generator
    assert container["envFrom"] == [{"configMapRef": {"name": config["metadata"]["name"]}}]
    assert config.get("data", {}) == dict(placement.config)

    if placement.hpa is None:
        assert rollout["spec"]["replicas"] == placement.replicas
    else:
        assert "replicas" not in rollout["spec"]
    assert container["resources"] == kustomize.resources_dict(placement.resources)
    if placement.env_vars:
        assert container["env"] == [{"name": k, "value": v} for k, v in placement.env_vars]
    else:
        assert "env" not in container
    expected_tolerations = [kustomize.toleration_dict(t) for t in placement.tolerations]
    assert pod["spec"].get("tolerations", []) == expected_tolerations

    # The patches leave the rest of the container as the base wrote it.
    base = base_doc(spec, name, "rollout.yaml")
    (base_container,) = base["spec"]["template"]["spec"]["containers"]
    for key in ("name", "ports", "livenessProbe", "readinessProbe", "securityContext"):
        assert container.get(key) == base_container.get(key)
    assert pod["spec"]["serviceAccountName"] == name
    assert pod["spec"]["securityContext"] == base["spec"]["template"]["spec"]["securityContext"]
    assert rollout["spec"]["strategy"] == base["spec"]["strategy"]


@pytest.mark.tools
@pytest.mark.parametrize("case", canary_cases(), ids=case_id)
def test_everything_selects_or_targets_the_rollouts_pods(
    case: tuple[str, str, str], out_root: str
) -> None:
    spec, name, env = case
    found = objects(case, out_root)
    pod_labels = found[("Rollout", name)]["spec"]["template"]["metadata"]["labels"]
    selectors = []
    for (kind, _), doc in found.items():
        if kind == "Service":
            selectors.append(doc["spec"]["selector"])
        elif kind in ("PodDisruptionBudget",):
            selectors.append(doc["spec"]["selector"]["matchLabels"])
        elif kind == "NetworkPolicy":
            selectors.append(doc["spec"]["podSelector"]["matchLabels"])
    assert selectors
    for selector in selectors:
        assert selector
        assert selector.items() <= pod_labels.items()
    hpa = found.get(("HorizontalPodAutoscaler", name))
    if placement_of(spec, name, env).hpa is not None:
        assert hpa is not None
        assert hpa["spec"]["scaleTargetRef"] == {
            "apiVersion": ROLLOUT_API,
            "kind": "Rollout",
            "name": name,
        }
    else:
        assert hpa is None


@pytest.mark.tools
@pytest.mark.parametrize("case", canary_cases(), ids=case_id)
def test_every_name_the_rollout_references_resolves(
    case: tuple[str, str, str], out_root: str
) -> None:
    _, name, _ = case
    found = objects(case, out_root)
    canary = found[("Rollout", name)]["spec"]["strategy"]["canary"]
    services = {n for (kind, n) in found if kind == "Service"}
    routing = canary.get("trafficRouting", {})

    if routing:
        assert canary["canaryService"] in services
        assert canary["stableService"] in services
        assert canary["canaryService"] != canary["stableService"]
    if "alb" in routing:
        alb = routing["alb"]
        ingress = found[("Ingress", alb["ingress"])]
        assert alb["rootService"] in services - {canary["canaryService"], canary["stableService"]}
        backends = [
            path["backend"]["service"]
            for rule in ingress["spec"]["rules"]
            for path in rule["http"]["paths"]
        ]
        assert backends == [{"name": alb["rootService"], "port": {"name": "use-annotation"}}]
        root = found[("Service", alb["rootService"])]
        assert [port["port"] for port in root["spec"]["ports"]] == [alb["servicePort"]]
    if "istio" in routing:
        ref = routing["istio"]["virtualService"]
        vs = found[("VirtualService", ref["name"])]
        http = {route["name"]: route for route in vs["spec"]["http"]}
        for route in ref["routes"]:
            hosts = {dest["destination"]["host"] for dest in http[route]["route"]}
            assert hosts == {canary["canaryService"], canary["stableService"]}
        assert set(vs["spec"]["hosts"]) <= services

    templates = {n: doc for (kind, n), doc in found.items() if kind == "AnalysisTemplate"}
    steps = [step["analysis"] for step in canary["steps"] if "analysis" in step]
    assert bool(steps) == bool(templates)
    for step in steps:
        for ref in step["templates"]:
            template = templates[ref["templateName"]]
            declared = {arg["name"] for arg in template["spec"]["args"]}
            assert {arg["name"] for arg in step["args"]} == declared
            for arg in step["args"]:
                if arg["name"] == rollouts.ARG_SERVICE:
                    assert arg["value"] == canary["canaryService"]


@pytest.mark.tools
@pytest.mark.parametrize("case", canary_cases(), ids=case_id)
def test_kustomized_objects_match_their_schemas(case: tuple[str, str, str], out_root: str) -> None:
    docs, _ = built(*case, out_root)
    custom = [d for d in docs if d["apiVersion"] == ROLLOUT_API]
    assert {d["kind"] for d in custom} <= {"Rollout", "AnalysisTemplate"}
    for doc in custom:
        assert validate.validate_custom(doc) == []
    # Istio ships no schema here; every built-in kind validates strictly.
    builtin = [
        d for d in docs if not d["apiVersion"].startswith(("argoproj.io/", "networking.istio.io/"))
    ]
    assert validate.validate_builtin(builtin) == []


@pytest.mark.tools
@pytest.mark.tools
def test_the_canary_variants_rollouts_run_their_digests(out_root: str) -> None:
    (container,) = objects(("canary-variants", "web-replicas", "prod"), out_root)[
        ("Rollout", "web-replicas")
    ]["spec"]["template"]["spec"]["containers"]
    assert container["image"] == (
        "333333333333.dkr.ecr.eu-west-1.amazonaws.com/web-replicas:1.3.9"
        "@sha256:08d2e62f4abcda22b01c202f2e2177731dd06170eb8e4b59ba2351e24da286f1"
    )


def test_without_the_transformer_config_kustomize_would_miss_the_rollout(
    tmp_path: Path,
) -> None:
    """Guards the reason for the configuration: drop it and labels and the hash go missing."""
    spec, name, env = "reference", "payments-api", "prod"
    for path, text in tree_of(spec).items():
        if path.startswith(f"apps/{name}/"):
            target = tmp_path / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
    base = tmp_path / "apps" / name / "base" / "kustomization.yaml"
    kustomization = load(base.read_text(encoding="utf-8"))
    del kustomization["configurations"]
    base.write_text(json.dumps(kustomization), encoding="utf-8")
    docs, _ = validate.kustomize_build(tmp_path / "apps" / name / "overlays" / env)
    (rollout,) = [d for d in docs if d["kind"] == "Rollout"]
    (container,) = rollout["spec"]["template"]["spec"]["containers"]
    assert container["envFrom"] == [{"configMapRef": {"name": f"{name}-config"}}]
    assert "app.kubernetes.io/environment" not in rollout["spec"]["template"]["metadata"]["labels"]
