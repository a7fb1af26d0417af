"""Names that several output families must agree on (CI workflows, Terraform, Argo CD).

Each name has a function of the plain service name (the loader's checks use it before
anything is resolved) and, where renderers want one, a thin wrapper taking the resolved
service. The Google Cloud resource names the services file gives are parsed here too, so the
loader refuses exactly what Terraform could not use.
"""

from __future__ import annotations

import hashlib
import re

from attrs import frozen

# Google Cloud identifiers (the rules its consoles state).
# The path of an image (or any OCI) repository, Docker's reference grammar: lowercase
# components separated by `.`, `_`, `__` or dashes, joined by `/`.
IMAGE_PATH = re.compile(
    r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*"
)
GCP_PROJECT_ID = re.compile(r"[a-z][a-z0-9-]{4,28}[a-z0-9]")
GCP_REGION = re.compile(r"[a-z]+-[a-z]+[0-9]+")
GCP_MULTI_REGIONS = ("asia", "europe", "us")  # Artifact Registry's multi-region locations
GCP_REPOSITORY_ID = re.compile(r"[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?")
GCP_SERVICE_ACCOUNT_ID = re.compile(r"[a-z][a-z0-9-]{4,28}[a-z0-9]")
_WIF_PROVIDER = re.compile(
    r"projects/(?P<number>[0-9]+)/locations/global/workloadIdentityPools/"
    r"(?P<pool>[a-z0-9-]{4,32})/providers/(?P<provider>[a-z0-9-]{4,32})"
)
_SERVICE_ACCOUNT_DOMAIN = ".iam.gserviceaccount.com"
_ARTIFACT_REGISTRY = re.compile(
    r"(?P<location>[^/]+)-docker\.pkg\.dev/(?P<project>[^/]+)/(?P<repository>[^/]+)"
)
_PROJECT_RULE = "6 to 30 lowercase letters, digits and '-', starting with a letter"

# --- Kubernetes and AWS names derived from a service name ------------------------------------


def ci_role_name(service: str) -> str:
    """The IAM role (aws) that the service's CI assumes; Terraform defines it."""
    return f"github-ci-{service}"


def ci_role_arn(account: str, region: str, service: str) -> str:
    return f"arn:{aws_partition(region)}:iam::{account}:role/{ci_role_name(service)}"


def ecr_registry_host(account: str, region: str) -> str:
    """The account's ECR registry in a region (China regions live under amazonaws.com.cn)."""
    suffix = ".cn" if aws_partition(region) == "aws-cn" else ""
    return f"{account}.dkr.ecr.{region}.amazonaws.com{suffix}"


def aws_partition(region: str) -> str:
    """The ARN partition of an AWS region: China and GovCloud regions have their own."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


# The app repository branch whose CI may publish a service's image (one for every service
# today). The cloud trust (Terraform) admits tokens from this branch only, so the service's CI
# workflow must publish from pushes to exactly this branch.
APP_CI_BRANCH = "main"


def gitops_repo_url(repo: str) -> str:
    """The URL Argo CD reads the gitops repository (GitHub `owner/name`) from."""
    return f"https://github.com/{repo}.git"


def stable_service_name(service: str) -> str:
    """The Service Argo Rollouts points at the stable pods of a traffic-routed canary."""
    return f"{service}-stable"


def canary_service_name(service: str) -> str:
    """The Service Argo Rollouts points at the canary pods of a traffic-routed canary."""
    return f"{service}-canary"


def config_map_name(service: str) -> str:
    """The ConfigMap each overlay generates; Kustomize appends `-<10-character hash>`."""
    return f"{service}-config"


def application_name(service: str, env: str) -> str:
    """The Argo CD Application the ApplicationSet generates for a service in an environment."""
    return f"{service}-{env}"


# The AppProject of the Kyverno guard's Applications, beside one project per environment.
POLICY_PROJECT_NAME = "platform-policies"
# Argo CD's built-in project, which the root app uses; an environment must not replace it.
ARGOCD_DEFAULT_PROJECT = "default"
# The platform owners' role in every AppProject (and a `sync_roles` entry): no team's name.
PLATFORM_ROLE_NAME = "platform"


def policy_application_name(env: str) -> str:
    """The Argo CD Application deploying the Kyverno guard to the cluster of `env`.

    Named after the first environment (in promotion order) on each cluster; the loader
    reserves the name for every environment, so moving a cluster never makes a file invalid.
    """
    return f"policies-{env}"


# --- Namespaces and their RBAC (render/namespaces.py; the loader checks the group format) -----

# `[platform] kubernetes_group`: the placeholders a group format may use.
GROUP_PLACEHOLDERS = ("{org}", "{team}")


def namespaces_file(env: str) -> str:
    """The file (in policies/) of the Namespaces, RoleBindings, quotas and limit ranges of
    one cluster, named like its platform Application after the first environment on it."""
    return f"namespaces-{env}.yaml"


def team_view_binding_name(team: str) -> str:
    """The RoleBinding granting a team's groups the built-in `view` ClusterRole."""
    return f"team-{team}-view"


def kubernetes_group(group_format: str, handle: str) -> str | None:
    """The Kubernetes group of a GitHub team `@org/team` under `[platform] kubernetes_group`
    (`{org}` and `{team}` replaced); a user (`@alice`) is none."""
    org, slash, team = handle.removeprefix("@").partition("/")
    if not (slash and org and team):
        return None
    return group_format.replace("{org}", org).replace("{team}", team)


def alb_action_annotation(service: str) -> str:
    """The Ingress annotation Argo Rollouts writes the canary's weights into (traffic "alb").

    Argo Rollouts' format (`alb.ingress.kubernetes.io/actions.<rootService>`), not ours: the
    root Service is the one named after the service.
    """
    return f"alb.ingress.kubernetes.io/actions.{service}"


# --- Google Cloud resource names from the services file --------------------------------------


@frozen(kw_only=True)
class WorkloadIdentityProvider:
    project_number: str
    pool_id: str
    provider_id: str


@frozen(kw_only=True)
class ServiceAccount:
    account_id: str
    project: str


@frozen(kw_only=True)
class ArtifactRepository:
    location: str
    project: str
    repository: str


def parse_workload_identity_provider(name: str) -> WorkloadIdentityProvider:
    """`projects/<number>/locations/global/workloadIdentityPools/<pool>/providers/<id>`."""
    match = _WIF_PROVIDER.fullmatch(name)
    if match is None:
        raise ValueError(
            f"{name!r} is not a workload identity provider's full resource name: write"
            " 'projects/<project number>/locations/global/workloadIdentityPools/<pool>"
            "/providers/<provider>'"
        )
    for kind in ("pool", "provider"):
        if match[kind].startswith("gcp-"):
            # Google reserves the prefix for its own pools and providers.
            raise ValueError(
                f"{kind} id {match[kind]!r} may not start with 'gcp-' (reserved by Google)"
            )
    return WorkloadIdentityProvider(
        project_number=match["number"], pool_id=match["pool"], provider_id=match["provider"]
    )


def parse_service_account(email: str) -> ServiceAccount:
    """`<account id>@<project>.iam.gserviceaccount.com`: a user-managed service account."""
    account_id, at, domain = email.partition("@")
    project = domain.removesuffix(_SERVICE_ACCOUNT_DOMAIN)
    if not at or project == domain or not account_id or not project:
        raise ValueError(
            f"{email!r} is not a user-managed service account email: write"
            f" '<account id>@<project id>{_SERVICE_ACCOUNT_DOMAIN}'"
        )
    if not GCP_SERVICE_ACCOUNT_ID.fullmatch(account_id):
        raise ValueError(
            f"the account id {account_id!r} of service account {email!r} must be 6 to 30"
            " lowercase letters, digits and '-', starting with a letter and ending with a"
            " letter or digit"
        )
    if not GCP_PROJECT_ID.fullmatch(project):
        raise ValueError(
            f"the project {project!r} of service account {email!r} is not a GCP project id"
            f" ({_PROJECT_RULE})"
        )
    return ServiceAccount(account_id=account_id, project=project)


def parse_artifact_registry(registry: str) -> ArtifactRepository:
    """`<location>-docker.pkg.dev/<project>/<repository>`: where the images are pushed."""
    match = _ARTIFACT_REGISTRY.fullmatch(registry)
    if match is None:
        raise ValueError(
            f"{registry!r} is not an Artifact Registry Docker repository: write"
            " '<location>-docker.pkg.dev/<project id>/<repository id>'"
            " (e.g. 'europe-west1-docker.pkg.dev/my-project/apps')"
        )
    location, project, repository = match["location"], match["project"], match["repository"]
    if location not in GCP_MULTI_REGIONS and not GCP_REGION.fullmatch(location):
        raise ValueError(
            f"the location {location!r} of {registry!r} is not a GCP region such as"
            f" 'europe-west1' or one of the multi-regions {', '.join(GCP_MULTI_REGIONS)}"
        )
    if not GCP_PROJECT_ID.fullmatch(project):
        raise ValueError(
            f"the project {project!r} of {registry!r} is not a GCP project id ({_PROJECT_RULE})"
        )
    if not GCP_REPOSITORY_ID.fullmatch(repository):
        raise ValueError(
            f"the repository {repository!r} of {registry!r} is not an Artifact Registry"
            " repository id (lowercase letters, digits and '-', starting with a letter)"
        )
    return ArtifactRepository(location=location, project=project, repository=repository)


# --- The trust chain: workflows, GitHub environments and identities that must agree ----------

# The reusable workflow every app repository's CI calls, and the intake workflow that records
# an image in services.toml; both live in the gitops repository.
SERVICE_CI_WORKFLOW = ".github/workflows/service-ci.yml"
INTAKE_WORKFLOW = ".github/workflows/intake.yml"
PROMOTE_WORKFLOW = ".github/workflows/promote.yml"
# The gitops workflows whose verify job reads images and attestations as INTAKE_IDENTITY_NAME:
# the intake (before dev records an image) and the promotion (before a pull request copies
# one to the next environment), each dispatched on the gitops branch.
VERIFYING_WORKFLOWS = (INTAKE_WORKFLOW, PROMOTE_WORKFLOW)
# The GitHub environment of the gitops repository that holds the gitops App's key; it admits
# the gitops branch only (Terraform renders it), so no other branch's workflow can read it.
WRITER_ENVIRONMENT = "gitops-writer"
# The AWS role (and GCP service account id) the intake workflow uses to read images and their
# attestations from the registry: read-only, bound to the intake workflow on the gitops branch.
INTAKE_IDENTITY_NAME = "gitops-intake"


def workflow_ref(repo: str, workflow: str, branch: str) -> str:
    """A workflow at a branch, as GitHub's `job_workflow_ref` claim and Sigstore's signer name it.

    https://docs.github.com/en/actions/reference/security/oidc (`job_workflow_ref`).
    """
    return f"{repo}/{workflow}@refs/heads/{branch}"


def intake_role_arn(account: str, region: str) -> str:
    return f"arn:{aws_partition(region)}:iam::{account}:role/{INTAKE_IDENTITY_NAME}"


# The status check the gitops branch's ruleset requires: the render check job's name.
RENDER_CHECK_CONTEXT = "render-check"
# The labels a promotion pull request carries; Terraform creates them in the gitops repository.
PROMOTION_LABEL = "promotion"


def promotion_env_label(env: str) -> str:
    """The label of a promotion pull request to `env`."""
    return f"env:{env}"


# --- OIDC subjects: what the cloud trusts, and the claim templates GitHub builds them from ---
#
# Each repository's subject claim is customised (Terraform sets the template) to a list of
# `key:value` pairs in this order, every value an immutable ID or an exact ref
# (https://docs.github.com/en/actions/reference/security/oidc, "Customizing the subject
# claims"). Renaming or transferring a repository changes neither, and a customised template
# does not depend on GitHub's default subject format (name-based, or the immutable
# `repo:OWNER@ID/REPO@ID` format of repositories created after 15 July 2026).

# App repositories: a push to APP_CI_BRANCH running the gitops repository's reusable CI.
CI_SUBJECT_CLAIM_KEYS = ("repository_owner_id", "repository_id", "ref", "job_workflow_ref")
# The gitops repository: its workflows are not reusable-workflow calls, so `job_workflow_ref`
# may be absent; `workflow_ref` is always present. `context` is `ref:refs/heads/<branch>` for
# a job without a GitHub environment (`environment:<name>` for one with).
INTAKE_SUBJECT_CLAIM_KEYS = ("repository_owner_id", "repository_id", "context", "workflow_ref")
# The events that may obtain cloud credentials: CI publishes on pushes, intake is dispatched.
APP_CI_EVENT = "push"
INTAKE_EVENT = "workflow_dispatch"


def ci_subject(owner_id: str, repo_id: str, gitops_repo: str, gitops_branch: str) -> str:
    """The `sub` of a token of an app repository's CI: a push to APP_CI_BRANCH, in a job of
    the gitops repository's reusable SERVICE_CI_WORKFLOW at the gitops branch."""
    job_workflow = workflow_ref(gitops_repo, SERVICE_CI_WORKFLOW, gitops_branch)
    return (
        f"repository_owner_id:{owner_id}:repository_id:{repo_id}"
        f":ref:refs/heads/{APP_CI_BRANCH}:job_workflow_ref:{job_workflow}"
    )


def intake_subject(
    owner_id: str,
    repo_id: str,
    gitops_repo: str,
    gitops_branch: str,
    workflow: str = INTAKE_WORKFLOW,
) -> str:
    """The `sub` of a token of a VERIFYING_WORKFLOWS workflow at the gitops branch, in a job
    without a GitHub environment (the registry-reading job needs none)."""
    workflow = workflow_ref(gitops_repo, workflow, gitops_branch)
    return (
        f"repository_owner_id:{owner_id}:repository_id:{repo_id}"
        f":ref:refs/heads/{gitops_branch}:workflow_ref:{workflow}"
    )


# --- Google Cloud: one Artifact Registry repository and one service account per service ------

_SA_PREFIX = "github-ci-"
_SA_MAX = 30
_SA_HASH = 6


def artifact_repository_id(prefix: str, service: str) -> str:
    """The Artifact Registry repository holding a service's images: `<prefix>-<service>`.

    Artifact Registry grants access per repository only, so each service has its own and its
    CI can push to it alone. `prefix` is cloud.registry_repository (or the repository of a
    cloud.registry override).
    """
    return f"{prefix}-{service}"


def ci_service_account_id(service: str) -> str:
    """The service account (gcp) a service's CI impersonates: `github-ci-<service>`, or, past
    Google's 30 characters, its first characters and a hash of the whole name."""
    whole = f"{_SA_PREFIX}{service}"
    if len(whole) <= _SA_MAX:
        return whole
    digest = hashlib.sha256(service.encode()).hexdigest()[:_SA_HASH]
    keep = _SA_MAX - len(_SA_PREFIX) - 1 - _SA_HASH
    return f"{_SA_PREFIX}{service[:keep].rstrip('-')}-{digest}"


def ci_service_account_email(project: str, service: str) -> str:
    return f"{ci_service_account_id(service)}@{project}{_SERVICE_ACCOUNT_DOMAIN}"


def intake_service_account_email(project: str) -> str:
    """The service account (gcp) the intake workflow impersonates: reads every service's
    Artifact Registry repository, writes none."""
    return f"{INTAKE_IDENTITY_NAME}@{project}{_SERVICE_ACCOUNT_DOMAIN}"
