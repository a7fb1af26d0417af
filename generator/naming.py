"""Names that several output families must agree on (CI workflows, Terraform, Argo CD)."""

from __future__ import annotations

from generator.resolve import Model, ResolvedService


def ci_role_name(service: ResolvedService) -> str:
    """The IAM role (aws) that the service's CI assumes; Terraform defines it."""
    return f"github-ci-{service.name}"


def ci_role_arn(model: Model, service: ResolvedService) -> str:
    return f"arn:aws:iam::{model.spec.cloud.account}:role/{ci_role_name(service)}"


def gitops_repo_url(model: Model) -> str:
    return f"https://github.com/{model.spec.gitops.repo}.git"
