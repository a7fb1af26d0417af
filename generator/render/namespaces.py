"""Namespaces and their RBAC: what the platform Application deploys beside the Kyverno guard.

For each environment cluster, one file `policies/namespaces-<env>.yaml` (named, like the
cluster's platform Application `policies-<env>`, after the first environment on it) holds,
for every namespace a service of an environment on that cluster uses (has an Application
there, a retiring one included):

- the Namespace: `app.kubernetes.io/managed-by: argocd`, Pod Security `restricted` enforced
  (and audited and warned) at the version `platform.kubernetes_version` pins, Istio's
  sidecar injection where an Istio canary runs in it; never pruned, never deleted with the
  Application (deleting a namespace deletes everything in it);
- for each team with services there, a RoleBinding of the built-in ClusterRole `view` to the
  team's groups (`platform.kubernetes_group`): read access, never anything that creates or
  changes a workload, in every environment (with approvers or not: see `TEAM_ROLE`);
- the environment's `quota` (a ResourceQuota) and `limit_range` (a LimitRange) for it.

The namespaces are exactly those the guard names (policies.managed_namespaces), cluster by
cluster. The service Applications never manage these Namespaces: they carry no
managedNamespaceMetadata, and `create_namespace` only lets Argo CD create a namespace that
does not exist yet (argocd.py).
"""

from __future__ import annotations

from typing import Any

from attrs import frozen

from generator import naming
from generator.render.templating import render as render_template
from generator.resolve import Model, ResolvedEnv
from generator.spec.model import LimitRange, Quota, ResourceSide

DIRECTORY = "policies"  # beside the guard, read by the same Applications (argocd.py)
MANAGED_BY = {"app.kubernetes.io/managed-by": "argocd"}
# Pod Security Admission: `restricted` is what gitopsgen's pods already meet (non-root,
# RuntimeDefault seccomp, no privilege escalation, every capability dropped).
POD_SECURITY_LEVEL = "restricted"
POD_SECURITY_MODES = ("enforce", "audit", "warn")
ISTIO_INJECTION = {"istio-injection": "enabled"}
# Read only, everywhere. `edit` would let a team create and change workloads (and read
# Secrets) by hand beside Argo CD, even where nobody approves a change (dev): the gitops
# repository is the only way anything is deployed, so no environment grants more than `view`.
TEAM_ROLE = "view"
QUOTA_NAME = "namespace-quota"
LIMIT_RANGE_NAME = "container-limits"
RESOURCES = ("cpu", "memory")


@frozen(kw_only=True)
class NamespacePlan:
    """One namespace on one cluster, and what the platform Application puts in it."""

    name: str
    teams: tuple[str, ...]  # teams with services there, sorted
    istio: bool  # an Istio canary runs there
    quota: Quota | None
    limit_range: LimitRange | None


@frozen(kw_only=True)
class ClusterPlan:
    """The namespaces of one environment cluster."""

    env: str  # the first environment on the cluster (in promotion order): the file's name
    cluster: str
    environments: tuple[str, ...]  # every environment on it, promotion order
    namespaces: tuple[NamespacePlan, ...]  # sorted by name

    @property
    def path(self) -> str:
        return f"{DIRECTORY}/{self.file}"

    @property
    def file(self) -> str:
        return naming.namespaces_file(self.env)


def render(model: Model) -> dict[str, str]:
    return {
        plan.path: render_cluster(model, plan) for plan in cluster_plans(model) if plan.namespaces
    }


def cluster_plans(model: Model) -> list[ClusterPlan]:
    """One plan per environment cluster, in the order of their first environments."""
    by_cluster: dict[str, list[ResolvedEnv]] = {}
    for env in model.environments:
        by_cluster.setdefault(env.cluster, []).append(env)
    used = namespaces_used(model)
    return [
        ClusterPlan(
            env=envs[0].name,
            cluster=cluster,
            environments=tuple(env.name for env in envs),
            namespaces=tuple(namespace_plans(model, envs, used)),
        )
        for cluster, envs in by_cluster.items()
    ]


def namespaces_used(model: Model) -> dict[str, set[str]]:
    """Per environment, the namespaces where a service has an Application."""
    used: dict[str, set[str]] = {env.name: set() for env in model.environments}
    for service in model.services:
        for env in service.application_envs:
            used.setdefault(env, set()).add(service.namespace)
    return used


def namespace_plans(
    model: Model, envs: list[ResolvedEnv], used: dict[str, set[str]]
) -> list[NamespacePlan]:
    """The namespaces services of `envs` (one cluster's) use, with what each gets there;
    `used`: namespaces_used."""
    names = {env.name for env in envs}
    teams: dict[str, set[str]] = {}
    meshed: set[str] = set()
    for service in model.services:
        if not service.application_envs & names:
            continue
        teams.setdefault(service.namespace, set()).add(service.team)
        if service.canary is not None and service.canary.traffic == "istio":
            meshed.add(service.namespace)
    plans = []
    for namespace in sorted(teams):
        settings = [
            model.spec.environments[env.name].namespaces[namespace]
            for env in envs
            if namespace in model.spec.environments[env.name].namespaces
            and namespace in used[env.name]
        ]
        # The loader refuses two environments of one cluster setting the same namespace's.
        quota = next((s.quota for s in settings if s.quota is not None), None)
        limit_range = next((s.limit_range for s in settings if s.limit_range is not None), None)
        plans.append(
            NamespacePlan(
                name=namespace,
                teams=tuple(sorted(teams[namespace])),
                istio=namespace in meshed,
                quota=quota,
                limit_range=limit_range,
            )
        )
    return plans


def namespaces_on(plans: list[ClusterPlan], cluster: str) -> list[str]:
    """The namespaces the platform Application of `cluster` deploys (`plans`: cluster_plans)."""
    return [ns.name for plan in plans if plan.cluster == cluster for ns in plan.namespaces]


def all_namespaces(plans: list[ClusterPlan]) -> list[str]:
    """Every namespace some cluster's file holds (the guard names exactly these)."""
    return sorted({ns.name for plan in plans for ns in plan.namespaces})


def namespaced_kinds(plans: list[ClusterPlan]) -> list[dict[str, str]]:
    """The namespaced kinds the files hold, as an AppProject whitelist names them."""
    namespaces = [ns for plan in plans for ns in plan.namespaces]
    kinds = [{"group": "rbac.authorization.k8s.io", "kind": "RoleBinding"}] if namespaces else []
    if any(ns.limit_range is not None for ns in namespaces):
        kinds.append({"group": "", "kind": "LimitRange"})
    if any(ns.quota is not None for ns in namespaces):
        kinds.append({"group": "", "kind": "ResourceQuota"})
    return sorted(kinds, key=lambda kind: (kind["group"], kind["kind"]))


# ---------------------------------------------------------------------------------------------
# The objects


def render_cluster(model: Model, plan: ClusterPlan) -> str:
    documents = []
    for namespace in plan.namespaces:
        documents.append(
            render_template(
                "namespaces/namespace.yaml",
                name=namespace.name,
                labels=namespace_labels(model, namespace),
            )
        )
        if namespace.limit_range is not None:
            documents.append(
                render_template(
                    "namespaces/limitrange.yaml",
                    name=LIMIT_RANGE_NAME,
                    namespace=namespace.name,
                    labels=MANAGED_BY,
                    limits=limit_range_spec(namespace.limit_range),
                )
            )
        if namespace.quota is not None:
            documents.append(
                render_template(
                    "namespaces/resourcequota.yaml",
                    name=QUOTA_NAME,
                    namespace=namespace.name,
                    labels=MANAGED_BY,
                    hard=quota_hard(namespace.quota),
                )
            )
        for team in namespace.teams:
            documents.append(
                render_template(
                    "namespaces/rolebinding.yaml",
                    name=naming.team_view_binding_name(team),
                    namespace=namespace.name,
                    labels={**MANAGED_BY, "app.kubernetes.io/part-of": team},
                    role=TEAM_ROLE,
                    subjects=team_subjects(model, team),
                )
            )
    return "---\n".join(documents)


def namespace_labels(model: Model, namespace: NamespacePlan) -> dict[str, str]:
    """Pod Security at the pinned version: a Kubernetes upgrade does not change what is
    admitted until `platform.kubernetes_version` moves in a reviewed change."""
    version = f"v{model.spec.platform.kubernetes_version}"
    labels = dict(MANAGED_BY)
    for mode in POD_SECURITY_MODES:
        labels[f"pod-security.kubernetes.io/{mode}"] = POD_SECURITY_LEVEL
        labels[f"pod-security.kubernetes.io/{mode}-version"] = version
    if namespace.istio:
        labels.update(ISTIO_INJECTION)
    return labels


def team_groups(model: Model, team: str) -> list[str]:
    """The Kubernetes groups of a team's GitHub teams (its users are no group)."""
    group_format = model.spec.platform.kubernetes_group
    groups = (naming.kubernetes_group(group_format, h) for h in model.spec.teams[team].owners)
    return sorted({group for group in groups if group is not None})


def team_subjects(model: Model, team: str) -> list[dict[str, str]]:
    return [
        {"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": group}
        for group in team_groups(model, team)
    ]


def side(values: ResourceSide | None) -> dict[str, str]:
    if values is None:
        return {}
    return {r: getattr(values, r) for r in RESOURCES if getattr(values, r) is not None}


def quota_hard(quota: Quota) -> dict[str, Any]:
    hard: dict[str, Any] = {}
    for key, values in (("requests", quota.requests), ("limits", quota.limits)):
        for resource, text in side(values).items():
            hard[f"{key}.{resource}"] = text
    if quota.pods is not None:
        hard["pods"] = str(quota.pods)
    return hard


def limit_range_spec(limit_range: LimitRange) -> list[dict[str, Any]]:
    item: dict[str, Any] = {"type": "Container"}
    for key, values in (
        ("default", limit_range.default),
        ("defaultRequest", limit_range.default_request),
        ("max", limit_range.max),
        ("min", limit_range.min),
    ):
        if side(values):
            item[key] = side(values)
    return [item]
