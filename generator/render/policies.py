"""Kyverno: a policy admitting only workloads with Argo CD's label to managed namespaces.

A ValidatingPolicy (policies.kyverno.io/v1, CEL) where `platform.kyverno_version` is 1.17 or
later, the release that made it stable and deprecated ClusterPolicy; a ClusterPolicy
(kyverno.io/v1) for older releases. Both enforce the same rule on the same objects.
"""

from __future__ import annotations

from typing import Any

from generator.render.templating import render as render_template
from generator.resolve import Model
from generator.spec import versions

POLICY_NAME = "require-argocd-managed-by"
POLICY_DIR = "policies"
POLICY_FILE = f"{POLICY_NAME}.yaml"
POLICY_PATH = f"{POLICY_DIR}/{POLICY_FILE}"
POLICY_GROUP = "kyverno.io"  # ClusterPolicy, Kyverno before 1.17
POLICY_KIND = "ClusterPolicy"
VALIDATING_POLICY_GROUP = "policies.kyverno.io"  # ValidatingPolicy, Kyverno 1.17 on
VALIDATING_POLICY_KIND = "ValidatingPolicy"
LABEL_KEY = "app.kubernetes.io/managed-by"
LABEL_VALUE = "argocd"
# Group/version/kind, so that no other group's `Rollout` is matched by accident.
WORKLOAD_KINDS = (
    "apps/v1/Deployment",
    "apps/v1/StatefulSet",
    "apps/v1/DaemonSet",
)
# Only where the tree deploys Rollouts: Kyverno resolves every kind a policy matches when the
# policy is admitted, and one whose CRD is not installed gets the policy refused (before 1.14)
# or admitted as Ready=False (1.14 on), which Argo CD reports as Degraded.
ROLLOUT_KIND = "argoproj.io/v1alpha1/Rollout"
# Who Argo CD is on a cluster: its application controller where Argo CD runs, and on a
# cluster it manages remotely the account `argocd cluster add` creates for it.
ARGOCD_ACCOUNTS = (
    {"namespace": "argocd", "name": "argocd-application-controller"},
    {"namespace": "kube-system", "name": "argocd-manager"},
)


def render(model: Model) -> dict[str, str]:
    namespaces = managed_namespaces(model)
    if not is_rendered(model):
        # An empty `namespaces` would match every namespace: no deployed service, no policy.
        return {}
    kinds = workload_kinds(model)
    common: dict[str, Any] = {
        "name": POLICY_NAME,
        "description": (
            f"In the namespaces that services.toml manages, every workload must carry the "
            f"label {LABEL_KEY}: {LABEL_VALUE}, which the gitops repository's Kustomize "
            f"bases set. Argo CD itself (its application controller, and argocd-manager on the "
            f"clusters it manages remotely) is exempt."
        ),
        "subject": ", ".join(kind.rpartition("/")[2] for kind in kinds),
        "namespaces": namespaces,
        "message": (
            f"Workloads in this namespace are deployed by Argo CD from the gitops "
            f"repository and must carry the label {LABEL_KEY}: {LABEL_VALUE}."
        ),
    }
    if is_validating_policy(model):
        text = render_template(
            "policies/validatingpolicy.yaml",
            **common,
            resource_rules=resource_rules(kinds),
            exempt=exempt_users_expression(),
            expression=label_expression(),
        )
    else:
        text = render_template(
            "policies/clusterpolicy.yaml",
            **common,
            rule="require-managed-by-argocd",
            kinds=kinds,
            accounts=ARGOCD_ACCOUNTS,
            label_key=LABEL_KEY,
            label_value=LABEL_VALUE,
        )
    return {POLICY_PATH: text}


def is_validating_policy(model: Model) -> bool:
    return versions.kyverno_validating_policy(model.spec.platform.kyverno_version)


def policy_kind(model: Model) -> tuple[str, str]:
    """The guard's API group and kind (what its Argo CD project permits, by name)."""
    if is_validating_policy(model):
        return VALIDATING_POLICY_GROUP, VALIDATING_POLICY_KIND
    return POLICY_GROUP, POLICY_KIND


# The API resources of WORKLOAD_KINDS and ROLLOUT_KIND, as admission rules name them.
RESOURCES = {
    "Deployment": "deployments",
    "StatefulSet": "statefulsets",
    "DaemonSet": "daemonsets",
    "Rollout": "rollouts",
}


def resource_rules(kinds: list[str]) -> list[dict[str, Any]]:
    """`matchConstraints.resourceRules`: one rule per group/version, creations and updates of
    the workloads themselves (no subresource: an HPA's scale updates are not checked)."""
    by_group: dict[tuple[str, str], list[str]] = {}
    for kind in kinds:
        group_version, _, name = kind.rpartition("/")
        group, _, version = group_version.rpartition("/")
        by_group.setdefault((group, version), []).append(RESOURCES[name])
    return [
        {
            "apiGroups": [group],
            "apiVersions": [version],
            "operations": ["CREATE", "UPDATE"],
            "resources": resources,
        }
        for (group, version), resources in by_group.items()
    ]


def exempt_users_expression() -> str:
    """A CEL match condition: the request is not Argo CD's (by service account user name)."""
    users = ", ".join(
        f"'system:serviceaccount:{account['namespace']}:{account['name']}'"
        for account in ARGOCD_ACCOUNTS
    )
    return f"!(request.userInfo.username in [{users}])"


def label_expression() -> str:
    return (
        f"has(object.metadata.labels) && '{LABEL_KEY}' in object.metadata.labels"
        f" && object.metadata.labels['{LABEL_KEY}'] == '{LABEL_VALUE}'"
    )


def is_rendered(model: Model) -> bool:
    """Whether the tree has a guard to deploy (Argo CD's policy Applications read it)."""
    return bool(managed_namespaces(model))


def workload_kinds(model: Model) -> list[str]:
    """The workload kinds the guard matches: the Rollout kind only if the tree deploys one."""
    deploys_rollouts = any(
        s.application_envs and s.workload_kind == "Rollout" for s in model.services
    )
    return [*WORKLOAD_KINDS, ROLLOUT_KIND] if deploys_rollouts else list(WORKLOAD_KINDS)


def managed_namespaces(model: Model) -> list[str]:
    """The namespaces the tree deploys into: those of services with an Application anywhere
    (a retired one's too: the guard stays until what it ran is pruned and its entry goes)."""
    return sorted({s.namespace for s in model.services if s.application_envs})
