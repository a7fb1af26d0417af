"""terraform/: the CI identity, GitHub OIDC on AWS or Workload Identity Federation on GCP."""

from __future__ import annotations

import json
from typing import Any

from generator import naming
from generator.render import hclout
from generator.render.templating import render as render_template
from generator.resolve import Model, ResolvedService

TERRAFORM_VERSION = ">= 1.5.0"
# 6.x: thumbprint_list of aws_iam_openid_connect_provider is optional (AWS trusts GitHub's
# CA itself since 2023); google 6.x and 7.x agree on every resource used here.
PROVIDERS = {
    "aws": {"name": "aws", "source": "hashicorp/aws", "version": "~> 6.0"},
    "gcp": {"name": "google", "source": "hashicorp/google", "version": ">= 6.0, < 8.0"},
}
GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
AWS_AUDIENCE = "sts.amazonaws.com"
# What `docker push` and BuildKit's registry cache (export and import) need on the one
# repository, as in aws-actions/amazon-ecr-login's documented push policy.
ECR_PUSH_ACTIONS = (
    "ecr:BatchCheckLayerAvailability",
    "ecr:BatchGetImage",
    "ecr:CompleteLayerUpload",
    "ecr:GetDownloadUrlForLayer",
    "ecr:InitiateLayerUpload",
    "ecr:PutImage",
    "ecr:UploadLayerPart",
)


def render(model: Model) -> dict[str, str]:
    provider = model.spec.cloud.provider
    files = {
        "versions.tf": render_template(
            "terraform/versions.tf",
            terraform_version=TERRAFORM_VERSION,
            provider=PROVIDERS[provider],
        ),
        **(_aws_files(model) if provider == "aws" else _gcp_files(model)),
    }
    return {f"terraform/{name}": hclout.fmt(text) for name, text in files.items()}


def ci_services(model: Model) -> tuple[ResolvedService, ...]:
    """Services with an app repository: each gets a CI identity."""
    return tuple(service for service in model.services if service.repo)


def github_subject(service: ResolvedService) -> str:
    """The `sub` claim of a GitHub token from a push to the app repository's CI branch."""
    return f"repo:{service.repo}:ref:refs/heads/{naming.APP_CI_BRANCH}"


def ecr_repository_name(model: Model, service: ResolvedService) -> str:
    """The ECR repository CI pushes to: what follows the registry host in the image reference.

    A `cloud.registry` with a path (`<host>/team`) puts the image in repository
    `team/<image>`, and the policy must name that repository, not `<image>` alone.
    """
    _, _, path = model.registry.partition("/")
    return f"{path}/{service.image_name}" if path else service.image_name


def ecr_repository_arn(model: Model, service: ResolvedService) -> str:
    cloud = model.spec.cloud
    partition = naming.aws_partition(cloud.region)
    repository = ecr_repository_name(model, service)
    return f"arn:{partition}:ecr:{cloud.region}:{cloud.account}:repository/{repository}"


def _aws_files(model: Model) -> dict[str, str]:
    cloud = model.spec.cloud
    roles = [
        {
            "service": service.name,
            "role_name": naming.ci_role_name(service.name),
            "description": (
                f"GitHub Actions CI of {service.repo} "
                f"({naming.APP_CI_BRANCH} branch): pushes the {service.image_name} image."
            ),
            "subject": github_subject(service),
            "repository_arn": ecr_repository_arn(model, service),
        }
        for service in ci_services(model)
    ]
    return {
        "providers.tf": render_template(
            "terraform/aws-providers.tf", region=cloud.region, account=cloud.account
        ),
        "variables.tf": render_template("terraform/aws-variables.tf"),
        "main.tf": render_template(
            "terraform/aws-main.tf",
            oidc_url=GITHUB_ISSUER,
            audience=AWS_AUDIENCE,
            roles=roles,
            push_actions=ECR_PUSH_ACTIONS,
        ),
        "outputs.tf": render_template("terraform/aws-outputs.tf"),
    }


def principal_set(provider: naming.WorkloadIdentityProvider, repository: str) -> str:
    """Every identity the pool maps from the GitHub repository `<owner>/<name>`."""
    return (
        f"principalSet://iam.googleapis.com/projects/{provider.project_number}"
        f"/locations/global/workloadIdentityPools/{provider.pool_id}"
        f"/attribute.repository/{repository}"
    )


def attribute_condition(model: Model) -> str:
    """CEL admitting tokens only from the organisation(s) owning the app repositories (the
    gitops repository's owner when no service names one) and from their CI branch."""
    services = ci_services(model)
    owners = sorted({(s.repo or "").split("/")[0] for s in services}) or [
        model.spec.gitops.repo.split("/")[0]
    ]
    refs = sorted({f"refs/heads/{naming.APP_CI_BRANCH}" for s in services}) or ["refs/heads/main"]
    return f"{_cel_in('assertion.repository_owner', owners)} && {_cel_in('assertion.ref', refs)}"


def _cel_in(field: str, values: list[str]) -> str:
    if len(values) == 1:
        return f"{field} == {json.dumps(values[0])}"
    return f"{field} in [{', '.join(json.dumps(v) for v in values)}]"


def _gcp_files(model: Model) -> dict[str, str]:
    cloud = model.spec.cloud
    if cloud.workload_identity_provider is None or cloud.service_account is None:
        raise ValueError("gcp needs cloud.workload_identity_provider and cloud.service_account")
    # The loader refuses what these parsers refuse (checks.py), so they do not raise here.
    provider = naming.parse_workload_identity_provider(cloud.workload_identity_provider)
    account = naming.parse_service_account(cloud.service_account)
    registry = naming.parse_artifact_registry(model.registry)
    bindings = [
        {
            "service": service.name,
            "repository": service.repo,
            "principal_set": principal_set(provider, service.repo or ""),
        }
        for service in ci_services(model)
    ]
    context: dict[str, Any] = {
        "project": cloud.account,
        "region": cloud.region,
        "project_number": provider.project_number,
        "pool_id": provider.pool_id,
        "provider_id": provider.provider_id,
        "service_account_id": account.account_id,
        "service_account_project": account.project,
        "bindings": bindings,
        "number_mismatch": (
            f"Project {cloud.account} does not have the number {provider.project_number} "
            "that cloud.workload_identity_provider in services.toml names."
        ),
        "attribute_condition": attribute_condition(model),
        "issuer": GITHUB_ISSUER,
        "service_account_description": (
            "Impersonated by the GitHub Actions CI of the app repositories in services.toml "
            f"to push images to Artifact Registry repository {registry.repository}."
        ),
        "registry": registry,
    }
    return {
        "providers.tf": render_template("terraform/gcp-providers.tf", **context),
        "variables.tf": render_template("terraform/gcp-variables.tf"),
        "main.tf": render_template("terraform/gcp-main.tf", **context),
        "outputs.tf": render_template("terraform/gcp-outputs.tf"),
    }
