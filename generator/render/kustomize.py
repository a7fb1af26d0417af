"""Kustomize bases and per-environment overlays under apps/<service>/."""

from __future__ import annotations

from typing import Any

from generator import naming
from generator.render import rollouts, smoketest
from generator.render.templating import render as render_template
from generator.resolve import Model, Placement, ResolvedResources, ResolvedService

WORKLOAD_API = {"Deployment": "apps/v1", "Rollout": "argoproj.io/v1alpha1"}
CONTAINER = "/spec/template/spec/containers/0"
# On each generated ConfigMap. Its name carries a hash of its data, so a config change makes a
# new ConfigMap while the old ReplicaSets (a canary's stable pods; the revisions a rollback or
# `kubectl argo rollouts undo` returns to) still reference the old one. Argo CD would prune
# the old one at once (without PruneLast, which the Applications no longer set: it holds a
# sync open until every resource is Healthy, a whole canary long). So it is never pruned
# (sync-options Prune=false) and a superseded one does not count as OutOfSync
# (compare-options IgnoreExtraneous): Argo CD's documented pairing for Kustomize-generated
# ConfigMaps (user-guide/compare-options.md, "Ignoring Resources That Are Extraneous").
CONFIG_MAP_ANNOTATIONS = {
    "argocd.argoproj.io/sync-options": "Prune=false",
    "argocd.argoproj.io/compare-options": "IgnoreExtraneous",
}


def render(model: Model) -> dict[str, str]:
    files: dict[str, str] = {}
    for service in model.services:
        if service.chart is None:  # a chart's values files: render/helm.py
            files.update(render_base(service))
            for placement in service.placements:
                files.update(render_overlay(service, placement))
        for env in service.retired:
            files[overlay_kustomization(service.name, env)] = retired_overlay(service.name, env)
    return files


def overlay_kustomization(service: str, env: str) -> str:
    return f"apps/{service}/overlays/{env}/kustomization.yaml"


def retired_overlay(service: str, env: str) -> str:
    """The overlay of a retired environment: no resources, so a sync with prune removes the
    workload and everything else the Application ran. No Namespace either: one created by
    CreateNamespace=true is not the Application's and stays (other services may live there)."""
    return render_template(
        "kustomize/retired-overlay.yaml",
        service=service,
        env=env,
        app=naming.application_name(service, env),
    )


def service_labels(service: ResolvedService) -> dict[str, str]:
    """Labels on every object of the service and on its pod template (never on selectors)."""
    return {
        "app.kubernetes.io/name": service.name,
        "app.kubernetes.io/part-of": service.team,
        "app.kubernetes.io/managed-by": "argocd",
    }


def config_literal(key: str, value: str) -> str:
    """A configMapGenerator literal that Kustomize reads back as exactly `value`.

    Kustomize strips one pair of matching quotes around a literal's value (`K="v"` gives v),
    and keeps everything else verbatim (spaces, `=`, newlines); so a value that is itself
    wrapped in matching quotes gets one more pair, which Kustomize then strips.
    """
    quoted = len(value) > 1 and value[0] in "\"'" and value[-1] == value[0]
    return f'{key}="{value}"' if quoted else f"{key}={value}"


def resources_dict(resources: ResolvedResources) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if resources.requests:
        out["requests"] = resources.requests
    if resources.limits:
        out["limits"] = resources.limits
    return out


# The Istio sidecar's merged Prometheus endpoint and Envoy's own: an Istio canary's analysis
# reads metrics scraped from them, which a policy admitting only the app port would block.
ISTIO_METRICS_PORTS = (15020, 15090)


def ingress_ports(service: ResolvedService) -> list[int]:
    """The TCP ports the NetworkPolicy admits: the app's, and the mesh's metrics ports."""
    ports = [service.port] if service.port else []
    if service.canary is not None and service.canary.traffic == "istio":
        ports += ISTIO_METRICS_PORTS
    return ports


def base_objects(service: ResolvedService) -> dict[str, str]:
    """The base's object files, file name -> text."""
    context = {
        "s": service,
        "config_name": naming.config_map_name(service.name),
        "resources": resources_dict(service.resources),
        "workload_api": WORKLOAD_API[service.workload_kind],
        "name": service.name,
    }
    if service.canary is not None:
        objects = rollouts.base_objects(service, context)
    else:
        objects = {"deployment.yaml": render_template("kustomize/deployment.yaml", **context)}
    objects |= {
        "serviceaccount.yaml": render_template("kustomize/serviceaccount.yaml", **context),
        "pdb.yaml": render_template("kustomize/pdb.yaml", **context),
        "networkpolicy.yaml": render_template(
            "kustomize/networkpolicy.yaml", **context, ports=ingress_ports(service)
        ),
    }
    if service.port:
        objects["service.yaml"] = render_template("kustomize/service.yaml", **context)
    if service.hpa:
        objects["hpa.yaml"] = render_template("kustomize/hpa.yaml", **context)
    return objects


def render_base(service: ResolvedService) -> dict[str, str]:
    objects = base_objects(service)
    support = rollouts.base_support_files(service)
    kustomization = render_template(
        "kustomize/base-kustomization.yaml",
        labels=service_labels(service),
        resources=sorted(objects),
        configurations=sorted(support),
    )
    base = f"apps/{service.name}/base"
    files = {f"{base}/{name}": text for name, text in (objects | support).items()}
    files[f"{base}/kustomization.yaml"] = kustomization
    return files


def workload_ops(placement: Placement) -> list[dict[str, Any]]:
    """JSON patch operations for the workload: kind-agnostic, so they work on a Rollout too."""
    ops: list[dict[str, Any]] = []
    if placement.hpa is None:
        ops.append({"op": "add", "path": "/spec/replicas", "value": placement.replicas})
    ops.append(
        {
            "op": "add",
            "path": f"{CONTAINER}/resources",
            "value": resources_dict(placement.resources),
        }
    )
    if placement.env_vars:
        env = [{"name": k, "value": v} for k, v in placement.env_vars]
        ops.append({"op": "add", "path": f"{CONTAINER}/env", "value": env})
    if placement.tolerations:
        ops.append(
            {
                "op": "add",
                "path": "/spec/template/spec/tolerations",
                "value": [toleration_dict(t) for t in placement.tolerations],
            }
        )
    return ops


def toleration_dict(toleration: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if toleration.key is not None:
        out["key"] = toleration.key
    out["operator"] = toleration.operator
    if toleration.value is not None:
        out["value"] = toleration.value
    if toleration.effect is not None:
        out["effect"] = toleration.effect
    if toleration.toleration_seconds is not None:
        out["tolerationSeconds"] = toleration.toleration_seconds
    return out


def hpa_ops(placement: Placement) -> list[dict[str, Any]]:
    assert placement.hpa is not None
    return [
        {"op": "replace", "path": "/spec/minReplicas", "value": placement.hpa.min},
        {"op": "replace", "path": "/spec/maxReplicas", "value": placement.hpa.max},
        {
            "op": "replace",
            "path": "/spec/metrics/0/resource/target/averageUtilization",
            "value": placement.hpa.cpu_utilization,
        },
    ]


# The overlay's `images:` entry sets both `newTag` and `digest` when the services file records
# a digest. Kustomize's image updater (sigs.k8s.io/kustomize/api/filters/imagetag/updater.go,
# `case u.ImageTag.NewTag != "" && u.ImageTag.Digest != ""`) then keeps both and writes
# `<name>:<tag>@<digest>`; `kubectl kustomize` (Kustomize v5.8) renders
# `<registry>/<image>:sha-1a2b3c4@sha256:<64 hex>`. The runtime pulls by the digest alone, so
# what runs cannot change, while people still read the tag in the manifest. A digest alone
# would drop the tag from the image string. The builtin images transformer first walks every
# `containers`/`initContainers` list of any kind (imagetag/legacy.go, LegacyFilter), which is
# how a Rollout's image is set too: rollout-transform.yaml needs no `images` field specs.
def render_overlay(service: ResolvedService, placement: Placement) -> dict[str, str]:
    overlay = f"apps/{service.name}/overlays/{placement.env}"
    kind = service.workload_kind
    group, _, version = WORKLOAD_API[kind].rpartition("/")
    patch_files = {
        "patches/workload.yaml": (
            workload_ops(placement),
            {"group": group, "version": version, "kind": kind, "name": service.name},
        )
    }
    if placement.hpa is not None:
        patch_files["patches/hpa.yaml"] = (
            hpa_ops(placement),
            {
                "group": "autoscaling",
                "version": "v2",
                "kind": "HorizontalPodAutoscaler",
                "name": service.name,
            },
        )
    support = rollouts.overlay_support_files(service)
    files = {
        f"{overlay}/{path}": render_template("kustomize/json-patch.yaml", ops=ops)
        for path, (ops, _) in patch_files.items()
    }
    files |= {f"{overlay}/{path}": text for path, text in support.items()}
    extra_resources = []
    if placement.smoke_test is not None:
        extra_resources.append(smoketest.FILE_NAME)
        files[f"{overlay}/{smoketest.FILE_NAME}"] = smoketest.smoke_test_job(
            service=service.name,
            team=service.team,
            env=placement.env,
            namespace=service.namespace,
            service_account=service.name,
            port=service.port,
            test=placement.smoke_test,
        )
    files[f"{overlay}/kustomization.yaml"] = render_template(
        "kustomize/overlay-kustomization.yaml",
        s=service,
        p=placement,
        config_name=naming.config_map_name(service.name),
        config_labels=service_labels(service),
        config_annotations=CONFIG_MAP_ANNOTATIONS,
        literals=[config_literal(k, v) for k, v in placement.config],
        patches=[{"path": path, "target": target} for path, (_, target) in patch_files.items()],
        configurations=sorted(support),
        extra_resources=extra_resources,
    )
    return files
