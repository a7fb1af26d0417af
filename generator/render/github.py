"""GitHub: CODEOWNERS, the reusable service CI, promotion, the render check, and each app's caller.

Every third-party action is pinned to the full commit SHA of a release (the version is the
comment beside it); a tag can be moved, a commit cannot.
"""

from __future__ import annotations

import json
import posixpath
import tomllib
from functools import cache
from typing import Any

from attrs import frozen

from generator import naming
from generator.render.templating import render as render_template
from generator.render.templating import templates_dir
from generator.resolve import Model, ResolvedEnv, ResolvedService

CODEOWNERS_PATH = ".github/CODEOWNERS"
SERVICE_CI_PATH = naming.SERVICE_CI_WORKFLOW
INTAKE_PATH = naming.INTAKE_WORKFLOW
PINS_FILE = "github/action-pins.toml"
# Where the render check checks out a pull request's base (outside every folder gitopsgen owns).
BASE_CHECKOUT = ".gitopsgen-base"
# The session policy of a job that only pulls: a session's permissions are the intersection of
# the role's and this (https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies.html#policies_session).
READ_ONLY_SESSION_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "PullOnly",
                "Effect": "Allow",
                "Action": [
                    "ecr:GetAuthorizationToken",
                    "ecr:BatchCheckLayerAvailability",
                    "ecr:BatchGetImage",
                    "ecr:GetDownloadUrlForLayer",
                ],
                "Resource": "*",
            }
        ],
    },
    separators=(",", ":"),
)
PROMOTE_PATH = naming.PROMOTE_WORKFLOW
RENDER_CHECK_PATH = ".github/workflows/render-check.yml"
PYTHON_VERSION = "3.12"
# The Trivy binary trivy-action installs; v0.69.4 was the compromised release (GHSA-69fq-xp46-6x23).
TRIVY_VERSION = "v0.69.3"
# The platform's own paths: everything that is not one service's base or overlay.
PLATFORM_PATHS = ("/services.toml", "/argocd/", "/policies/", "/terraform/", "/.github/", "/ci/")


@frozen(kw_only=True)
class Pin:
    """An action at the commit of one release."""

    action: str
    sha: str
    version: str

    @property
    def ref(self) -> str:
        return f"{self.action}@{self.sha}"


@cache
def pins() -> dict[str, Pin]:
    """The pinned actions, from the one data file a bot updates (templates/github)."""
    with (templates_dir() / PINS_FILE).open("rb") as file:
        table = tomllib.load(file)
    return {key: Pin(**entry) for key, entry in table.items()}


def render(model: Model) -> dict[str, str]:
    context = common_context(model)
    files = {
        CODEOWNERS_PATH: render_codeowners(model),
        SERVICE_CI_PATH: render_template("github/service-ci.yml", **context),
        RENDER_CHECK_PATH: render_template("github/render-check.yml", **context),
    }
    built_by_ci = [service.name for service in model.services if service.repo]
    if built_by_ci:
        files[INTAKE_PATH] = render_template("github/intake.yml", **context, services=built_by_ci)
    targets = promotion_targets(model)
    if targets and model.services:
        files[PROMOTE_PATH] = render_template(
            "github/promote.yml",
            **context,
            services=[service.name for service in model.services],
            targets=[env.name for env in targets],
        )
    for service in model.services:
        if service.repo:
            files[caller_path(service)] = render_caller(model, service, context)
    return files


def caller_path(service: ResolvedService) -> str:
    return f"ci/{service.name}.yaml"


def common_context(model: Model) -> dict[str, Any]:
    gitops = model.spec.gitops
    cloud = model.spec.cloud
    owner, _, name = gitops.repo.partition("/")
    return {
        "pins": pins(),
        "provider": cloud.provider,
        "region": cloud.region,
        "registry_host": model.registry.split("/", 1)[0],
        "workload_identity_provider": cloud.workload_identity_provider,
        "gitops_repo": gitops.repo,
        "gitops_owner": owner,
        "gitops_name": name,
        "gitops_branch": gitops.branch,
        "first_env": model.environments[0].name,
        "generator": model.generator,
        "has_charts": any(service.chart for service in model.services),
        "writer_environment": naming.WRITER_ENVIRONMENT,
        "intake_workflow_file": INTAKE_PATH.rsplit("/", 1)[1],
        "intake_identity": naming.INTAKE_IDENTITY_NAME,
        "read_only_session_policy": READ_ONLY_SESSION_POLICY,
        "base_checkout": BASE_CHECKOUT,
        # The base branch's tree inside its checkout (render-check's --previous).
        "base_tree": posixpath.normpath(f"{BASE_CHECKOUT}/{model.spec.gitops.output}"),
        "intake_login_role": naming.intake_role_arn(cloud.account, cloud.region),
        "intake_login_service_account": naming.intake_service_account_email(cloud.account),
        "ci_login_role": "${{ inputs.aws_role_arn }}",
        "ci_login_service_account": "${{ inputs.gcp_service_account }}",
        "python_version": PYTHON_VERSION,
        "trivy_version": TRIVY_VERSION,
    }


def render_caller(model: Model, service: ResolvedService, context: dict[str, Any]) -> str:
    return render_template(
        "github/caller.yaml",
        **context,
        service=service,
        branch=naming.APP_CI_BRANCH,
        reusable=f"{model.spec.gitops.repo}/{SERVICE_CI_PATH}@{model.spec.gitops.branch}",
        role_arn=naming.ci_role_arn(model.spec.cloud.account, model.spec.cloud.region, service.name)
        if context["provider"] == "aws"
        else None,
        service_account=naming.ci_service_account_email(model.spec.cloud.account, service.name)
        if context["provider"] == "gcp"
        else None,
    )


def promotion_targets(model: Model) -> list[ResolvedEnv]:
    """Environments a tag can be promoted to: those with promote_from, in promotion order."""
    return [env for env in model.environments if env.promote_from]


@frozen(kw_only=True)
class ServiceRule:
    comment: str
    patterns: tuple[str, ...]
    owners: tuple[str, ...]


@frozen(kw_only=True)
class EnvRule:
    comment: str
    pattern: str
    owners: tuple[str, ...]


def render_codeowners(model: Model) -> str:
    """Platform first, then each service's team, then each gated environment (last wins)."""
    # An environment without approvers is gated by each service's team, like the first one.
    team_envs = [env.name for env in model.environments if not env.approvers]
    gated = [env for env in model.environments if env.approvers]
    service_rules = [
        ServiceRule(
            comment=f"{service.name}: team {service.team} owns its base"
            + "".join(f", its {env} overlay" for env in team_envs),
            patterns=(
                f"/apps/{service.name}/base/",
                *(f"/apps/{service.name}/overlays/{env}/" for env in team_envs),
            ),
            owners=model.spec.teams[service.team].owners,
        )
        for service in model.services
    ]
    env_rules = [
        EnvRule(
            comment=f"{env.name}: every service's overlay, its approvers only",
            pattern=f"/apps/*/overlays/{env.name}/",
            owners=env.approvers,
        )
        for env in gated
    ]
    return render_template(
        "github/CODEOWNERS",
        gitops_branch=model.spec.gitops.branch,
        platform=model.spec.platform.owners,
        platform_paths=PLATFORM_PATHS,
        service_rules=service_rules,
        env_rules=env_rules,
    )
