"""Kyverno: a ClusterPolicy admitting only workloads with Argo CD's label to managed namespaces."""

from __future__ import annotations

from generator.render.templating import render as render_template
from generator.resolve import Model

POLICY_NAME = "require-argocd-managed-by"
POLICY_DIR = "policies"
POLICY_FILE = f"{POLICY_NAME}.yaml"
POLICY_PATH = f"{POLICY_DIR}/{POLICY_FILE}"
POLICY_GROUP = "kyverno.io"
POLICY_KIND = "ClusterPolicy"
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
    return {
        POLICY_PATH: render_template(
            "policies/clusterpolicy.yaml",
            name=POLICY_NAME,
            description=(
                f"In the namespaces that services.toml manages, every workload must carry the "
                f"label {LABEL_KEY}: {LABEL_VALUE}, which the gitops repository's Kustomize "
                f"bases set. Argo CD itself (its application controller, and argocd-manager on the "
                f"clusters it manages remotely) is exempt."
            ),
            rule="require-managed-by-argocd",
            kinds=workload_kinds(model),
            subject=", ".join(kind.rpartition("/")[2] for kind in workload_kinds(model)),
            namespaces=namespaces,
            accounts=ARGOCD_ACCOUNTS,
            message=(
                f"Workloads in this namespace are deployed by Argo CD from the gitops "
                f"repository and must carry the label {LABEL_KEY}: {LABEL_VALUE}."
            ),
            label_key=LABEL_KEY,
            label_value=LABEL_VALUE,
        )
    }


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
