"""terraform/: the CI identity (GitHub OIDC on AWS, Workload Identity Federation on GCP), the
OIDC subject templates it trusts, and the gitops repository's gates (github.tf)."""

from __future__ import annotations

import json
from typing import Any

from attrs import frozen

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
# 6.11.0 added required_reviewers to github_repository_ruleset's pull_request rule.
GITHUB_PROVIDER = {"name": "github", "source": "integrations/github", "version": "~> 6.11"}
GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
AWS_AUDIENCE = "sts.amazonaws.com"
# What `docker push`, BuildKit's registry cache (export and import) and actions/attest with
# push-to-registry (check the subject manifest, upload the bundle blobs, put the referrer
# manifest by digest) need on the one repository: aws-actions/amazon-ecr-login's documented
# push policy, which is also the set the ECR push documentation lists.
ECR_PUSH_ACTIONS = (
    "ecr:BatchCheckLayerAvailability",
    "ecr:BatchGetImage",
    "ecr:CompleteLayerUpload",
    "ecr:GetDownloadUrlForLayer",
    "ecr:InitiateLayerUpload",
    "ecr:PutImage",
    "ecr:UploadLayerPart",
)
# What `gh attestation verify oci://IMAGE@DIGEST --bundle-from-oci` reads: the image manifest
# and its referrers (ECR's referrers listing requires BatchGetImage) and the bundle blobs.
ECR_READ_ACTIONS = ("ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer")
# The GitHub Actions app (`gh api /apps/github-actions`): the render check's only source.
GITHUB_ACTIONS_APP_ID = 15368
# Paths only the platform owners may change (as in CODEOWNERS, less services.toml: every
# change to services.toml that matters changes a rendered path, and the required render check
# fails unless it does; tag edits would otherwise need the platform's approval).
PLATFORM_PATTERNS = ("argocd/**", "policies/**", "terraform/**", ".github/**", "ci/**")
BASE_PATTERN = "apps/*/base/**"
LABEL_COLOR = "0E8A16"


def render(model: Model) -> dict[str, str]:
    provider = model.spec.cloud.provider
    files = {
        "versions.tf": render_template(
            "terraform/versions.tf",
            terraform_version=TERRAFORM_VERSION,
            providers=[PROVIDERS[provider], GITHUB_PROVIDER],
        ),
        "github.tf": render_github(model),
        **(_aws_files(model) if provider == "aws" else _gcp_files(model)),
    }
    return {f"terraform/{name}": hclout.fmt(text) for name, text in files.items()}


def ci_services(model: Model) -> tuple[ResolvedService, ...]:
    """Services with an app repository: each gets a CI identity."""
    return tuple(service for service in model.services if service.repo)


def repo_name(repo: str) -> str:
    """The name part of `owner/name` (the GitHub provider acts in one owner)."""
    return repo.split("/", 1)[1]


def app_repositories(model: Model) -> list[str]:
    """The app repositories' names, once each (services may share one)."""
    return sorted({repo_name(s.repo) for s in ci_services(model) if s.repo})


# --- GitHub: subject templates, the gitops branch's ruleset, the writer environment ----------


@frozen(kw_only=True)
class RequiredReviewer:
    comment: str
    team: str  # the slug
    minimum_approvals: int
    file_patterns: tuple[str, ...]


def team_slug(owner: str) -> str:
    """`@org/team` -> `team` (the loader admits only teams of the gitops owner here)."""
    return owner.split("/", 1)[1]


def required_reviewers(model: Model) -> list[RequiredReviewer]:
    """One entry per approving environment and team, then the platform owners' paths.

    An environment's overlays need its approvers; a base reaches every environment, so each
    approving environment's reviewers must approve a base change too. A ruleset names one
    team per entry, so an environment with several approver teams needs each of them.
    Users cannot be required reviewers: the loader refuses them where approvals are required.
    """
    reviewers = [
        RequiredReviewer(
            comment=f"{env.name}: its overlays and every base, {env.required_approvals}"
            f" approval(s) from {owner}",
            team=team_slug(owner),
            minimum_approvals=env.required_approvals,
            file_patterns=(f"apps/*/overlays/{env.name}/**", BASE_PATTERN),
        )
        for env in model.environments
        for owner in env.approvers
        if "/" in owner
    ]
    reviewers += [
        RequiredReviewer(
            comment=f"the platform's paths, 1 approval from {owner}",
            team=team_slug(owner),
            minimum_approvals=1,
            file_patterns=PLATFORM_PATTERNS,
        )
        for owner in model.spec.platform.owners
        if "/" in owner
    ]
    return reviewers


def promotion_labels(model: Model) -> dict[str, str]:
    """The labels promotion pull requests carry, with their descriptions."""
    labels = {naming.PROMOTION_LABEL: "A tag promoted by gitopsgen promote."}
    for env in model.environments:
        if env.promote_from:
            labels[naming.promotion_env_label(env.name)] = (
                f"A promotion to {env.name} (from {env.promote_from})."
            )
    return labels


def render_github(model: Model) -> str:
    gitops = model.spec.gitops
    owner = gitops.repo.split("/", 1)[0]
    reviewers = required_reviewers(model)
    return render_template(
        "terraform/github.tf",
        owner=owner,
        gitops_repo=gitops.repo,
        gitops_repository=repo_name(gitops.repo),
        gitops_branch=gitops.branch,
        app_repositories=app_repositories(model),
        ci_claim_keys=naming.CI_SUBJECT_CLAIM_KEYS,
        intake_claim_keys=naming.INTAKE_SUBJECT_CLAIM_KEYS,
        ci_ref=f"refs/heads/{naming.APP_CI_BRANCH}",
        ci_job_workflow_ref=naming.workflow_ref(
            gitops.repo, naming.SERVICE_CI_WORKFLOW, gitops.branch
        ),
        intake_context=f"ref:refs/heads/{gitops.branch}",
        intake_workflow_refs=[
            naming.workflow_ref(gitops.repo, workflow, gitops.branch)
            for workflow in naming.VERIFYING_WORKFLOWS
        ],
        missing_repository=(
            "GitHub has no repository {} that the provider's token can read: the OIDC"
            " subjects would name repository id 0."
        ),
        branch_ref=f"refs/heads/{gitops.branch}",
        reviewers=reviewers,
        teams=sorted({r.team for r in reviewers}),
        render_check=naming.RENDER_CHECK_CONTEXT,
        actions_app_id=GITHUB_ACTIONS_APP_ID,
        writer_environment=naming.WRITER_ENVIRONMENT,
        labels=promotion_labels(model),
        label_color=LABEL_COLOR,
    )


# --- AWS -------------------------------------------------------------------------------------


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
    gitops = model.spec.gitops
    roles = [
        {
            "service": service.name,
            "role_name": naming.ci_role_name(service.name),
            "description": (
                f"GitHub Actions CI of {service.repo} "
                f"({naming.APP_CI_BRANCH} branch): pushes the {service.image_name} image."
            ),
            "repository": repo_name(service.repo or ""),
            "repository_arn": ecr_repository_arn(model, service),
        }
        for service in ci_services(model)
    ]
    intake = {
        "role_name": naming.INTAKE_IDENTITY_NAME,
        "description": (
            f"GitHub Actions intake of {gitops.repo} ({gitops.branch} branch): reads the"
            " services' images and their attestations."
        ),
        "repository_arns": sorted({role["repository_arn"] for role in roles}),
    }
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
            intake=intake,
            push_actions=ECR_PUSH_ACTIONS,
            read_actions=ECR_READ_ACTIONS,
        ),
        "outputs.tf": render_template("terraform/aws-outputs.tf", roles=roles),
    }


# --- GCP -------------------------------------------------------------------------------------


def repository_principal_set(provider: naming.WorkloadIdentityProvider) -> str:
    """Every identity the pool maps from one GitHub repository id (append `/<id>`)."""
    return (
        f"principalSet://iam.googleapis.com/projects/{provider.project_number}"
        f"/locations/global/workloadIdentityPools/{provider.pool_id}"
        "/attribute.repository_id"
    )


# google.subject: at most 127 bytes (the IAM API). For every token the condition admits this
# is `repository_id:<id>:ref:refs/heads/<main or the gitops branch>`; the loader bounds the
# branch (checks.MAX_GCP_GITOPS_BRANCH) so that it always fits.
GOOGLE_SUBJECT = '"repository_id:" + assertion.repository_id + ":ref:" + assertion.ref'
ATTRIBUTE_MAPPING = {
    "google.subject": GOOGLE_SUBJECT,
    "attribute.repository_owner_id": "assertion.repository_owner_id",
    "attribute.repository_id": "assertion.repository_id",
    "attribute.ref": "assertion.ref",
    "attribute.event_name": "assertion.event_name",
    # absent outside reusable workflows (the intake's top-level job)
    "attribute.job_workflow_ref": (
        'has(assertion.job_workflow_ref) ? assertion.job_workflow_ref : ""'
    ),
    "attribute.workflow_ref": "assertion.workflow_ref",
}
# The placeholders of attribute_condition_format, filled in by Terraform from GitHub.
OWNER_ID = "\x00owner_id\x00"
GITOPS_ID = "\x00gitops_id\x00"


def attribute_condition(model: Model, owner_id: str, gitops_id: str) -> str:
    """CEL admitting two kinds of token only, all values exact:

    - app CI: a push to APP_CI_BRANCH in a repository of the gitops owner (not the gitops
      repository) running the gitops repository's SERVICE_CI_WORKFLOW at the gitops branch;
      which repository may impersonate which service account is bound by repository id;
    - verification: a dispatch of one of the gitops repository's VERIFYING_WORKFLOWS (intake,
      promote) at the gitops branch.

    CEL's `&&` is false when one side is false even if the other is an error, so the missing
    `job_workflow_ref` of an intake token cannot make the first clause fail the whole.
    """
    gitops = model.spec.gitops

    def cel(field: str, op: str, value: str) -> str:
        return f"assertion.{field} {op} {value}"

    ci = " && ".join(
        [
            cel("event_name", "==", json.dumps(naming.APP_CI_EVENT)),
            cel("repository_owner_id", "==", owner_id),
            cel("repository_id", "!=", gitops_id),
            cel("ref", "==", json.dumps(f"refs/heads/{naming.APP_CI_BRANCH}")),
            cel(
                "job_workflow_ref",
                "==",
                json.dumps(
                    naming.workflow_ref(gitops.repo, naming.SERVICE_CI_WORKFLOW, gitops.branch)
                ),
            ),
        ]
    )
    intake = " && ".join(
        [
            cel("event_name", "==", json.dumps(naming.INTAKE_EVENT)),
            cel("repository_owner_id", "==", owner_id),
            cel("repository_id", "==", gitops_id),
            cel("ref", "==", json.dumps(f"refs/heads/{gitops.branch}")),
            cel(
                "workflow_ref",
                "in",
                json.dumps(
                    [
                        naming.workflow_ref(gitops.repo, workflow, gitops.branch)
                        for workflow in naming.VERIFYING_WORKFLOWS
                    ]
                ),
            ),
        ]
    )
    return f"({ci}) || ({intake})"


def attribute_condition_format(model: Model) -> str:
    """attribute_condition as the format string of Terraform's format(): the owner id and
    the gitops repository id, JSON-quoted, fill the `%s` in the order they appear."""
    text = attribute_condition(model, OWNER_ID, GITOPS_ID).replace("%", "%%")
    return text.replace(OWNER_ID, "%s").replace(GITOPS_ID, "%s")


def attribute_condition_arguments(model: Model) -> list[str]:
    """The order format() receives the ids in (one per placeholder)."""
    text = attribute_condition(model, OWNER_ID, GITOPS_ID)
    positions = sorted(
        [(i, "owner") for i in _find_all(text, OWNER_ID)]
        + [(i, "gitops") for i in _find_all(text, GITOPS_ID)]
    )
    return [which for _, which in positions]


def _find_all(text: str, part: str) -> list[int]:
    found, start = [], text.find(part)
    while start != -1:
        found.append(start)
        start = text.find(part, start + 1)
    return found


def _gcp_files(model: Model) -> dict[str, str]:
    cloud = model.spec.cloud
    gitops = model.spec.gitops
    if cloud.workload_identity_provider is None:
        raise ValueError("gcp needs cloud.workload_identity_provider")
    # The loader refuses what these parsers refuse (checks.py), so they do not raise here.
    provider = naming.parse_workload_identity_provider(cloud.workload_identity_provider)
    registry = naming.parse_artifact_registry(model.registry)
    repositories = [
        {
            "service": service.name,
            "repository_id": naming.artifact_repository_id(registry.repository, service.name),
            "description": f"Images of the service {service.name}.",
        }
        for service in model.services
    ]
    accounts = [
        {
            "service": service.name,
            "account_id": naming.ci_service_account_id(service.name),
            "repository": repo_name(service.repo or ""),
            "description": (
                f"Impersonated by the GitHub Actions CI of {service.repo}"
                f" ({naming.APP_CI_BRANCH} branch) to push the {service.name} images to"
                " Artifact Registry repository"
                f" {naming.artifact_repository_id(registry.repository, service.name)}."
            ),
        }
        for service in ci_services(model)
    ]
    arguments = {
        "owner": "jsonencode(local.github_owner_id)",
        "gitops": "jsonencode(tostring(data.github_repository.gitops.repo_id))",
    }
    context: dict[str, Any] = {
        "project": cloud.account,
        "region": cloud.region,
        "project_number": provider.project_number,
        "pool_id": provider.pool_id,
        "provider_id": provider.provider_id,
        "repositories": repositories,
        "accounts": accounts,
        "repository_principal_set": repository_principal_set(provider),
        "number_mismatch": (
            f"Project {cloud.account} does not have the number {provider.project_number} "
            "that cloud.workload_identity_provider in services.toml names."
        ),
        "attribute_mapping": ATTRIBUTE_MAPPING,
        "condition_format": attribute_condition_format(model),
        "condition_arguments": [arguments[a] for a in attribute_condition_arguments(model)],
        "issuer": GITHUB_ISSUER,
        "intake_account_id": naming.INTAKE_IDENTITY_NAME,
        "intake_description": (
            f"Impersonated by the intake workflow of {gitops.repo} ({gitops.branch} branch)"
            " to read the services' images and their attestations."
        ),
        "registry": registry,
    }
    return {
        "providers.tf": render_template("terraform/gcp-providers.tf", **context),
        "variables.tf": render_template("terraform/gcp-variables.tf"),
        "main.tf": render_template("terraform/gcp-main.tf", **context),
        "outputs.tf": render_template("terraform/gcp-outputs.tf"),
    }
