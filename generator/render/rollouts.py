"""Argo Rollouts: the canary Rollout, its Services, router objects and AnalysisTemplate.

Called by the Kustomize renderer for services with a `[canary]` table. The Rollout carries the
very pod template a Deployment would (templates/kustomize/podspec.yaml), so everything the
overlays patch by JSON pointer applies to it unchanged.
"""

from __future__ import annotations

from typing import Any

from attrs import frozen

from generator.naming import canary_service_name, stable_service_name
from generator.render.templating import render as render_template
from generator.resolve import ResolvedService
from generator.spec.model import Analysis, Canary

# Kustomize knows nothing of custom kinds: without this (Argo Rollouts' published transformer
# configuration) `labels` stop at the Rollout's metadata, the generated ConfigMap's hashed name
# never reaches its envFrom, and name references from the Rollout are not followed. Overlays
# inherit it: Kustomize merges a resource kustomization's configuration into the parent's.
TRANSFORM_CONFIG = "rollout-transform.yaml"
TRANSFORM_TEMPLATE = "rollouts/rollout-transform-kustomize-v5.yaml"

REVISION_HISTORY_LIMIT = 5  # as for Deployments: enough ReplicaSets to roll back a few releases
# Traffic-routed canaries only (Argo Rollouts rejects scaleDownDelaySeconds without a router,
# and the other two do nothing without one):
SCALE_DOWN_DELAY_SECONDS = 30  # keep the old stable up while load balancers drop its targets
SCALE_DOWN_DELAY_REVISION_LIMIT = 1  # at most one old ReplicaSet waits for that delay
ABORT_SCALE_DOWN_DELAY_SECONDS = 30  # on abort, the canary outlives its traffic by this long

SERVICE_PORT = 80  # the port of every Service templates/kustomize/service.yaml renders
ISTIO_ROUTE = "primary"  # the VirtualService's HTTP route that Argo Rollouts re-weights
WINDOW = "5m"  # every analysis query looks back this far

# AnalysisTemplate arguments.
ARG_SERVICE = "service-name"  # the canary Service (istio: the metrics' destination service)
ARG_HASH = "canary-hash"  # the canary ReplicaSet's pod-template hash: its pods' name infix


@frozen(kw_only=True)
class Metric:
    """One Prometheus measurement with its pass/fail conditions.

    Both conditions are written so that NaN (no requests in the window) satisfies neither:
    Argo Rollouts then records the measurement as Inconclusive and pauses the rollout for a
    person, instead of promoting or aborting on no evidence.
    """

    name: str
    query: str
    success: str
    failure: str


def base_objects(service: ResolvedService, context: dict[str, Any]) -> dict[str, str]:
    """The workload and the objects only canaries have: base file name -> text."""
    canary = service.canary
    assert canary is not None
    objects = {
        "rollout.yaml": render_template(
            "rollouts/rollout.yaml",
            **context,
            revision_history_limit=REVISION_HISTORY_LIMIT,
            canary=canary_strategy(service, canary),
        )
    }
    if is_routed(canary):
        for name in (stable_service_name(service.name), canary_service_name(service.name)):
            objects[f"service-{name}.yaml"] = render_template(
                "kustomize/service.yaml", **(context | {"name": name})
            )
    if canary.traffic == "alb":
        objects["ingress.yaml"] = render_template(
            "rollouts/ingress.yaml", s=service, name=service.name, rule=ingress_rule(service)
        )
    if canary.traffic == "istio":
        objects["virtualservice.yaml"] = render_template(
            "rollouts/virtualservice.yaml",
            name=service.name,
            root_service=service.name,
            route=ISTIO_ROUTE,
            stable_service=stable_service_name(service.name),
            canary_service=canary_service_name(service.name),
        )
    analysis = analysis_of(service)
    if analysis is not None:
        objects["analysistemplate.yaml"] = render_template(
            "rollouts/analysistemplate.yaml",
            name=service.name,
            args=analysis_args(canary),
            metrics=metrics_of(service, canary, analysis),
            interval=analysis.interval,
            count=analysis.count,
            failure_limit=analysis.failure_limit,
            prometheus=service.prometheus,
        )
    return objects


def base_support_files(service: ResolvedService) -> dict[str, str]:
    """Kustomize configuration files the base needs (listed under `configurations`)."""
    if service.canary is None:
        return {}
    return {TRANSFORM_CONFIG: render_template(TRANSFORM_TEMPLATE)}


def overlay_support_files(service: ResolvedService) -> dict[str, str]:
    """Kustomize configuration files each overlay needs (listed under `configurations`).

    None: an overlay inherits the base's configuration (see TRANSFORM_CONFIG), and Kustomize's
    load restrictor would refuse a `configurations` entry pointing outside the overlay anyway.
    """
    del service
    return {}


def is_routed(canary: Canary) -> bool:
    """Traffic moves by a router's weights rather than by replica counts."""
    return canary.traffic != "replicas"


def analysis_of(service: ResolvedService) -> Analysis | None:
    """The analysis the canary steps run, or None when they run none."""
    analysis = service.analysis
    if service.canary is None or not service.canary.analysis or analysis is None:
        return None
    wanted = (analysis.success_rate, analysis.latency_p99_ms, analysis.error_logs)
    return analysis if any(value is not None for value in wanted) else None


def canary_strategy(service: ResolvedService, canary: Canary) -> dict[str, Any]:
    """`spec.strategy.canary` of the Rollout."""
    strategy: dict[str, Any] = {}
    if is_routed(canary):
        strategy["canaryService"] = canary_service_name(service.name)
        strategy["stableService"] = stable_service_name(service.name)
        strategy["trafficRouting"] = traffic_routing(service, canary)
        strategy["scaleDownDelaySeconds"] = SCALE_DOWN_DELAY_SECONDS
        strategy["scaleDownDelayRevisionLimit"] = SCALE_DOWN_DELAY_REVISION_LIMIT
        strategy["abortScaleDownDelaySeconds"] = ABORT_SCALE_DOWN_DELAY_SECONDS
    strategy["steps"] = canary_steps(service, canary)
    return strategy


def traffic_routing(service: ResolvedService, canary: Canary) -> dict[str, Any]:
    if canary.traffic == "alb":
        # The Ingress routes to the root Service through the action annotation Argo Rollouts
        # writes under the root Service's name (see ingress_rule).
        return {
            "alb": {
                "ingress": service.name,
                "servicePort": SERVICE_PORT,
                "rootService": service.name,
            }
        }
    # `virtualService` (singular): the field Argo Rollouts' Kustomize configuration follows.
    return {"istio": {"virtualService": {"name": service.name, "routes": [ISTIO_ROUTE]}}}


def canary_steps(service: ResolvedService, canary: Canary) -> list[dict[str, Any]]:
    """setWeight, then its pause, then the analysis; an untimed pause before 100% if gated."""
    analysis_step = (
        {"analysis": analysis_step_of(service, canary)} if analysis_of(service) else None
    )
    steps: list[dict[str, Any]] = []
    for step in canary.steps:
        steps.append({"setWeight": step.weight})
        if step.pause is not None:
            steps.append({"pause": {"duration": step.pause}})
        if analysis_step is not None:
            steps.append(analysis_step)
    if canary.manual_gate:
        steps.append({"pause": {}})
    return steps


def analysis_args(canary: Canary) -> list[str]:
    """The arguments the AnalysisTemplate declares (and the Rollout passes).

    Wherever a canary Service exists its name is passed (istio's metrics select by it; for
    alb it is there for the team's own queries, since ALB metrics live in CloudWatch and the
    app's own metrics are selected by the canary pods' template hash).
    """
    if canary.traffic in ("istio", "alb"):
        return [ARG_SERVICE, ARG_HASH]
    return [ARG_HASH]


def analysis_step_of(service: ResolvedService, canary: Canary) -> dict[str, Any]:
    values = {
        ARG_SERVICE: {"name": ARG_SERVICE, "value": canary_service_name(service.name)},
        ARG_HASH: {"name": ARG_HASH, "valueFrom": {"podTemplateHashValue": "Latest"}},
    }
    return {
        "templates": [{"templateName": service.name}],
        "args": [values[arg] for arg in analysis_args(canary)],
    }


def ingress_rule(service: ResolvedService) -> dict[str, Any]:
    """The one Ingress rule: the root Service with port `use-annotation` (Argo Rollouts' ALB
    contract), so the AWS Load Balancer Controller forwards by the weighted action annotation."""
    canary = service.canary
    assert canary is not None
    backend = {"service": {"name": service.name, "port": {"name": "use-annotation"}}}
    rule: dict[str, Any] = {}
    if canary.host is not None:
        rule["host"] = canary.host
    rule["http"] = {"paths": [{"path": "/", "pathType": "Prefix", "backend": backend}]}
    return rule


def metrics_of(service: ResolvedService, canary: Canary, analysis: Analysis) -> list[Metric]:
    """The metrics the `analysis` table asks for, in a fixed order."""
    pods = f'namespace="{service.namespace}", pod=~"{service.name}-{{{{args.{ARG_HASH}}}}}-.+"'
    metrics: list[Metric] = []
    if analysis.success_rate is not None:
        metrics.append(
            threshold_metric(
                "success-rate",
                success_rate_query(service, canary, pods),
                ">=",
                analysis.success_rate,
            )
        )
    if analysis.latency_p99_ms is not None:
        metrics.append(
            threshold_metric(
                "latency-p99-ms",
                latency_query(service, canary, pods),
                "<",
                analysis.latency_p99_ms,
            )
        )
    if analysis.error_logs is not None:
        query = (
            f'scalar(sum(increase(log_messages_total{{{pods}, level="error"}}[{WINDOW}]))'
            " or vector(0))"
        )
        metrics.append(threshold_metric("error-logs", query, "<", analysis.error_logs))
    return metrics


def threshold_metric(name: str, query: str, passes: str, threshold: float) -> Metric:
    fails = {">=": "<", "<": ">="}[passes]
    return Metric(
        name=name,
        query=query,
        success=f"result {passes} {threshold!r}",
        failure=f"result {fails} {threshold!r}",
    )


def istio_selector(service: ResolvedService) -> str:
    """The canary's requests, as the calling sidecars report them (as in Argo Rollouts' own
    Istio examples: docs/features/analysis.md, docs/analysis/prometheus.md).

    The client's proxy names the Service the VirtualService routed the request to (its
    outbound cluster `outbound|80||<svc>-canary.<ns>...`). The canary pods' own proxy cannot:
    they are selected by the root, stable and canary Services at once, and a destination
    proxy labels every request with one of them (istio/istio#33940), mostly the root Service,
    so `reporter="destination"` with the canary Service's name matches nothing and every
    measurement would be Inconclusive.
    """
    return (
        f'reporter="source", destination_service_namespace="{service.namespace}", '
        f'destination_service_name="{{{{args.{ARG_SERVICE}}}}}"'
    )


def success_rate_query(service: ResolvedService, canary: Canary, pods: str) -> str:
    """Share of 2xx responses served by the canary over the window."""
    if canary.traffic == "istio":
        match = istio_selector(service)
        return (
            f'scalar(sum(rate(istio_requests_total{{{match}, response_code=~"2.."}}[{WINDOW}]))'
            f" / sum(rate(istio_requests_total{{{match}}}[{WINDOW}])))"
        )
    return (
        f'scalar(sum(rate(http_requests_total{{{pods}, code=~"2.."}}[{WINDOW}]))'
        f" / sum(rate(http_requests_total{{{pods}}}[{WINDOW}])))"
    )


def latency_query(service: ResolvedService, canary: Canary, pods: str) -> str:
    """p99 response time of the canary over the window, in milliseconds."""
    if canary.traffic == "istio":
        match = istio_selector(service)
        return (
            "scalar(histogram_quantile(0.99, sum by (le) "
            f"(rate(istio_request_duration_milliseconds_bucket{{{match}}}[{WINDOW}]))))"
        )
    return (
        "scalar(histogram_quantile(0.99, sum by (le) "
        f"(rate(http_request_duration_seconds_bucket{{{pods}}}[{WINDOW}]))) * 1000)"
    )
