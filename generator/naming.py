"""Names that several output families must agree on (CI workflows, Terraform, Argo CD)."""

from __future__ import annotations

from generator.resolve import Model, ResolvedService


def ci_role_name(service: ResolvedService) -> str:
    """The IAM role (aws) that the service's CI assumes; Terraform defines it."""
    return f"github-ci-{service.name}"


def ci_role_arn(model: Model, service: ResolvedService) -> str:
    partition = aws_partition(model.spec.cloud.region)
    return f"arn:{partition}:iam::{model.spec.cloud.account}:role/{ci_role_name(service)}"


def aws_partition(region: str) -> str:
    """The ARN partition of an AWS region: China and GovCloud regions have their own."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def app_ci_branch(service: ResolvedService) -> str:  # noqa: ARG001 (one branch for every service today)
    """The app repository branch whose CI may publish the service's image.

    The cloud trust (Terraform) admits tokens from this branch only, so the service's CI
    workflow must publish from pushes to exactly this branch.
    """
    return "main"


def gitops_repo_url(model: Model) -> str:
    return f"https://github.com/{model.spec.gitops.repo}.git"


def stable_service_name(service: ResolvedService) -> str:
    """The Service Argo Rollouts points at the stable pods of a traffic-routed canary."""
    return f"{service.name}-stable"


def canary_service_name(service: ResolvedService) -> str:
    """The Service Argo Rollouts points at the canary pods of a traffic-routed canary."""
    return f"{service.name}-canary"
