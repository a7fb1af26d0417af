"""GitHub: CODEOWNERS, the reusable service CI, promotion, the render check, and each app's caller.

Every third-party action is pinned to the full commit SHA of a release (the version is the
comment beside it); a tag can be moved, a commit cannot.
"""

from __future__ import annotations

from typing import Any

from attrs import frozen

from generator import naming
from generator.render.templating import render as render_template
from generator.resolve import Model, ResolvedEnv, ResolvedService

CODEOWNERS_PATH = ".github/CODEOWNERS"
SERVICE_CI_PATH = ".github/workflows/service-ci.yml"
PROMOTE_PATH = ".github/workflows/promote.yml"
RENDER_CHECK_PATH = ".github/workflows/render-check.yml"
PYTHON_VERSION = "3.12"
# The GitHub environment of the gitops repository that holds the App's key for promotions.
PROMOTION_ENVIRONMENT = "promotion"
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


PINS = {
    "checkout": Pin(
        action="actions/checkout", sha="8e8c483db84b4bee98b60c0593521ed34d9990e8", version="v6.0.1"
    ),
    "setup_python": Pin(
        action="actions/setup-python",
        sha="a26af69be951a213d495a4c3e4e4022e16d87065",
        version="v5.6.0",
    ),
    "app_token": Pin(
        action="actions/create-github-app-token",
        sha="df432ceedc7162793a195dd1713ff69aefc7379e",
        version="v2.0.6",
    ),
    "hadolint": Pin(
        action="hadolint/hadolint-action",
        sha="54c9adbab1582c2ef04b2016b760714a4bfde3cf",
        version="v3.1.0",
    ),
    "buildx": Pin(
        action="docker/setup-buildx-action",
        sha="e468171a9de216ec08956ac3ada2f0791b6bd435",
        version="v3.11.1",
    ),
    "build_push": Pin(
        action="docker/build-push-action",
        sha="263435318d21b8e681c14492fe198d362a7d2c83",
        version="v6.18.0",
    ),
    "docker_login": Pin(
        action="docker/login-action",
        sha="5e57cd118135c172c3672efd75eb46360885c0ef",
        version="v3.6.0",
    ),
    "aws_credentials": Pin(
        action="aws-actions/configure-aws-credentials",
        sha="b47578312673ae6fa5b5096b330d9fbac3d116df",
        version="v4.2.1",
    ),
    "ecr_login": Pin(
        action="aws-actions/amazon-ecr-login",
        sha="062b18b96a7aff071d4dc91bc00c4c1a7945b076",
        version="v2.0.1",
    ),
    "gcp_auth": Pin(
        action="google-github-actions/auth",
        sha="ba79af03959ebeac9769e648f473a284504d9193",
        version="v2.1.10",
    ),
    "trivy": Pin(
        action="aquasecurity/trivy-action",
        sha="ed142fd0673e97e23eac54620cfb913e5ce36c25",
        version="v0.36.0",
    ),
    "create_pr": Pin(
        action="peter-evans/create-pull-request",
        sha="271a8d0340265f705b14b6d32b9829c1cb33d45e",
        version="v7.0.8",
    ),
}


def render(model: Model) -> dict[str, str]:
    context = common_context(model)
    files = {
        CODEOWNERS_PATH: render_codeowners(model),
        SERVICE_CI_PATH: render_template("github/service-ci.yml", **context),
        RENDER_CHECK_PATH: render_template("github/render-check.yml", **context),
    }
    targets = promotion_targets(model)
    if targets and model.services:
        files[PROMOTE_PATH] = render_template(
            "github/promote.yml",
            **context,
            services=[service.name for service in model.services],
            promotion_environment=PROMOTION_ENVIRONMENT,
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
        "pins": PINS,
        "provider": cloud.provider,
        "region": cloud.region,
        "registry_host": model.registry.split("/", 1)[0],
        "workload_identity_provider": cloud.workload_identity_provider,
        "service_account": cloud.service_account,
        "gitops_repo": gitops.repo,
        "gitops_owner": owner,
        "gitops_name": name,
        "gitops_branch": gitops.branch,
        "first_env": model.environments[0].name,
        "generator": model.generator,
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
