"""The rules of the services file that types alone cannot express (DESIGN section 1)."""

from __future__ import annotations

import functools
import itertools
import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from decimal import Decimal
from urllib.parse import urlsplit

from attrs import frozen

from generator import naming, smoketest
from generator.argo import syncwindows, timespec
from generator.resolve import (  # resolve owns these rules
    image_repository_of,
    layer_resources,
    merge_hpa,
    promotion_order,
    registry_of,
)
from generator.spec import charts, pin, versions
from generator.spec.errors import KeyPath, did_you_mean
from generator.spec.model import (
    Analysis,
    Canary,
    Cloud,
    Environment,
    Hpa,
    LimitRange,
    Pdb,
    Quota,
    Resources,
    ResourceSide,
    Retry,
    Service,
    ServiceEnv,
    SmokeTest,
    Spec,
    SyncWindow,
    Toleration,
)
from generator.tree import foreign

Found = Iterator[tuple[KeyPath, str]]

MAX_LABEL = 63
_LABEL_CHARS = re.compile(r"[a-z0-9-]")
_VARIABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# resource.Quantity: <sign><number><suffix>, suffix binary SI, decimal SI or a decimal exponent.
_QUANTITY = re.compile(
    r"(?P<number>[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))"
    r"(?P<suffix>Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?[0-9]+)?"
)
_MAX_QUANTITY_EXPONENT = 1000
_MAX_QUANTITY = Decimal(2**63)
_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_GITHUB_NAME = r"[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}"
_GITHUB_OWNER = re.compile(rf"@{_GITHUB_NAME}(?:/[A-Za-z0-9][A-Za-z0-9_.-]*)?")
_GITHUB_REPO = re.compile(rf"{_GITHUB_NAME}/(?!\.\.?$)[A-Za-z0-9_.-]{{1,100}}")
_IMAGE_NAME = naming.IMAGE_PATH
_IMAGE_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
DIGEST_ALGORITHM = "sha256"  # what ECR and Artifact Registry report; the OCI spec's default
DIGEST_HEX_DIGITS = 64
_REGISTRY = re.compile(r"[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?(?::[0-9]+)?(?:/[a-z0-9._-]+)*")
_AWS_ACCOUNT = re.compile(r"[0-9]{12}")
_AWS_REGION = re.compile(r"[a-z]{2}(?:-[a-z]+)+-[0-9]+")
_URL = re.compile(r"https?://[^\s/?#]+[^\s]*")
# An API server as Argo CD matches it in projects and the ApplicationSet: host, port, path;
# a `{` would meet the Go templates, a fragment or query is no part of a server's address.
_CLUSTER_URL = re.compile(r"https?://[A-Za-z0-9.-]+(?::[0-9]{1,5})?(?:/[A-Za-z0-9._~%/-]*)?")
_PERCENT = re.compile(r"(?P<number>[0-9]+)%")
_LABEL_KEY_NAME = re.compile(r"[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?")
_LABEL_VALUE = re.compile(r"(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?")
_DNS_SUBDOMAIN = re.compile(
    r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*"
)
_HOST = re.compile(r"(?:\*\.)?" + _DNS_SUBDOMAIN.pattern)
MAX_SUBDOMAIN = 253  # Kubernetes object names, ConfigMap keys
MAX_IAM_ROLE_NAME = 64
MAX_IMAGE_NAME = 255  # <registry>/<repository>, without the tag
MAX_GCP_REPOSITORY_ID = 63  # Artifact Registry repository ids
# A ruleset's required reviewers: at most 10 approvals each (GitHub's rulesets documentation).
MAX_REQUIRED_APPROVALS = 10
# google.subject is `repository_id:<id>:ref:refs/heads/<branch>` and Google allows 127 bytes;
# GitHub ids have at most 20 digits, which leaves the gitops branch 77 bytes.
MAX_GCP_GITOPS_BRANCH = 127 - len("repository_id:") - 20 - len(":ref:refs/heads/")
KUSTOMIZE_HASH_SUFFIX = len("-") + 10  # what configMapGenerator appends to a name
GCP_ONLY = ("registry_repository", "workload_identity_provider", "service_account")
GCP_REQUIRED = ("registry_repository", "workload_identity_provider")
METRICS = ("success_rate", "latency_p99_ms", "error_logs")
PLATFORM_ROLE = naming.PLATFORM_ROLE_NAME


def check(spec: Spec) -> Found:
    """Every semantic problem of a structurally valid spec, as (key path, message)."""
    yield from check_gitops(spec)
    yield from check_cloud(spec.cloud)
    yield from check_platform(spec)
    yield from check_environments(spec)
    yield from check_teams(spec)
    for name, service in spec.services.items():
        yield from check_service(spec, name, service)
        yield from smoke_test_problems(spec, name, service)
        yield from charts.service_problems(name, service, value_problem)
    yield from object_collisions(spec)
    yield from application_collisions(spec)
    yield from policy_application_collisions(spec)
    yield from shared_cluster_collisions(spec)
    yield from namespace_problems(spec)


def warnings(spec: Spec) -> Found:
    """Things that are legal but almost certainly not what the user meant."""
    for name, env in spec.environments.items():
        where: KeyPath = ("environments", name)
        for index, why in syncwindows.manual_sync_pointless(
            env.sync_windows, auto_sync=env.auto_sync
        ):
            yield (*where, "sync_windows", index, "manual_sync"), why
        if env.auto_sync:
            why_not = syncwindows.automatic_never(env.sync_windows, spec.platform.timezone)
            if why_not is not None:
                yield (*where, "auto_sync"), why_not
    if spec.cloud.provider == "gcp" and spec.cloud.service_account is not None:
        yield (
            ("cloud", "service_account"),
            "is no longer used: each service's CI has its own service account"
            f" ({naming.ci_service_account_id('<service>')}) and the intake has"
            f" {naming.INTAKE_IDENTITY_NAME}, which terraform/ creates; remove this key",
        )
    yield from auto_propose_warnings(spec)
    for name, service in spec.services.items():
        yield from service_warnings(name, service)
        yield from smoke_test_warnings(name, service)
        if not list(pdb_problems(("services", name, "pdb"), service.pdb)):
            yield from pdb_drain_problems(spec, name, service, blocked_always=False)
    yield from namespace_warnings(spec)


def service_warnings(name: str, service: Service) -> Found:
    where: KeyPath = ("services", name)
    canary = service.canary
    if canary is not None and canary.host is not None and canary.traffic != "alb":
        # Only the ALB Ingress has a host rule; the other routers never read it.
        yield (*where, "canary", "host"), "is ignored: it is only used with traffic = 'alb'"
    if service.analysis is not None and (service.canary is None or not service.canary.analysis):
        yield (*where, "analysis"), "is never used: it runs only with canary.analysis = true"
    analysis = service.analysis
    if analysis is not None and analysis.count >= 1 and analysis.failure_limit == analysis.count:
        # Above count is an error (analysis_problems): Argo Rollouts refuses the metric.
        yield (
            (*where, "analysis", "failure_limit"),
            f"the analysis can never fail: failure_limit ({analysis.failure_limit})"
            f" equals count ({analysis.count}), and only more failures than the limit fail it",
        )
    for env, overrides in service.envs.items():
        if overrides.tag and overrides.digest is None:
            # Tolerated so that files written before digests keep building while they migrate.
            yield (
                (*where, "envs", env, "tag"),
                "has no digest: the tag is mutable, so the image it names can change under it;"
                f" record the digest with {set_image_hint(name, env, overrides.tag)}",
            )
    if service.hpa is not None:
        if service.replicas is not None:
            yield (*where, "replicas"), "is ignored: the HPA owns the replica count"
        for env, overrides in service.envs.items():
            if overrides.replicas is not None:
                yield (
                    (*where, "envs", env, "replicas"),
                    "is ignored: the HPA owns the replica count",
                )


# --- helpers -------------------------------------------------------------------------------


def label_problem(what: str, value: str) -> str | None:
    """Why `value` is not a DNS-1123 label (Kubernetes names, and safe as a path part)."""
    if not value:
        reason = "it is empty"
    elif len(value) > MAX_LABEL:
        reason = f"it has {len(value)} characters, at most {MAX_LABEL} are allowed"
    elif bad := sorted(set(value) - set("abcdefghijklmnopqrstuvwxyz0123456789-")):
        shown = ", ".join(repr(char) for char in bad)
        reason = f"it contains {shown}; only lowercase letters, digits and '-' are allowed"
    elif value[0] == "-" or value[-1] == "-":
        reason = "it must start and end with a lowercase letter or digit"
    else:
        return None
    return f"{what} {value!r} is not a DNS-1123 label: {reason}"


def unknown_name(kind: str, name: str, known: Iterable[str]) -> str:
    """`team 'paymnts' does not exist (did you mean 'payments'?)`."""
    known = list(known)
    hint = did_you_mean(name, known)
    if hint:
        return f"{kind} {name!r} does not exist{hint}"
    if known:
        return f"{kind} {name!r} does not exist; defined: {', '.join(known)}"
    return f"{kind} {name!r} does not exist; none is defined"


def duration_problem(text: str) -> str | None:
    """Why Go's time.ParseDuration rejects `text`, or why the duration is not positive."""
    try:
        value = timespec.parse_duration(text)
    except ValueError as exc:
        return str(exc)
    if value.total_seconds() <= 0:
        return f"duration {text!r} must be positive"
    return None


@functools.cache
def parse_quantity(text: str) -> Decimal | None:
    """The value of a Kubernetes resource.Quantity, or None when it is not one."""
    match = _QUANTITY.fullmatch(text)
    if match is None:
        return None
    number = Decimal(match["number"])
    suffix = match["suffix"] or ""
    if suffix in _BINARY:
        return number * _BINARY[suffix]
    if suffix in _DECIMAL:
        return number.scaleb(_DECIMAL[suffix])
    exponent = int(suffix[1:])
    if abs(exponent) > _MAX_QUANTITY_EXPONENT:  # `1e99999999`: beyond Decimal's range, and any
        return Decimal("Infinity") if exponent > 0 and number else Decimal(0)  # Kubernetes'
    return number.scaleb(exponent)


def at_least(value: int, low: int) -> str | None:
    return None if value >= low else f"must be at least {low}, got {value}"


def between(value: int, low: int, high: int) -> str | None:
    return None if low <= value <= high else f"must be between {low} and {high}, got {value}"


def _found(path: KeyPath, problem: str | None) -> Found:
    if problem is not None:
        yield path, problem


# --- gitops, cloud, platform ---------------------------------------------------------------


def check_gitops(spec: Spec) -> Found:
    yield from repo_problems(("gitops", "repo"), spec.gitops.repo)
    branch_problem_text = branch_problem(spec.gitops.branch)
    if branch_problem_text is not None:
        yield ("gitops", "branch"), branch_problem_text
    elif spec.cloud.provider == "gcp":
        size = len(spec.gitops.branch.encode())
        if size > MAX_GCP_GITOPS_BRANCH:
            yield (
                ("gitops", "branch"),
                f"is {size} bytes long; on Google Cloud the intake's google.subject"
                " 'repository_id:<id>:ref:refs/heads/<branch>' must fit in 127 bytes, which"
                f" leaves the branch {MAX_GCP_GITOPS_BRANCH}",
            )
    yield from generator_problems(spec.gitops.generator)
    for index, pattern in enumerate(spec.gitops.allow_foreign):
        yield from _found(("gitops", "allow_foreign", index), foreign.pattern_problem(pattern))
    yield from _found(("gitops", "output"), output_problem(spec.gitops.output))


def output_problem(output: str) -> str | None:
    """A folder below the services file's: the tree never lands outside the repository."""
    parts = output.replace("\\", "/").split("/")
    if output.startswith(("/", "~")) or re.match(r"[A-Za-z]:", output) or ".." in parts:
        return (
            f"{output!r} must be a folder inside the services file's folder, such as 'out' or '.'"
        )
    # It reaches the render check's `env:` (where `${{ }}` is evaluated) and a shell step.
    if not output or any(part.startswith("-") for part in parts) or not _OUTPUT.fullmatch(output):
        return (
            f"{output!r} is not a folder name a workflow and a shell step can pass safely"
            " (letters, digits, '.', '_', '-' and '/')"
        )
    return None


_OUTPUT = re.compile(r"[A-Za-z0-9._/-]+")


# A branch reaches git refs, workflow `ref:`/`branches:` and `env:` values, `uses: ...@<branch>`
# lines, Argo CD's targetRevision through the ApplicationSet's Go template, and shell steps:
# ASCII letters, digits and `._/-` are safe in all of them (no `${{`, `{{`, quotes, `$`).
_BRANCH = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]*")


def branch_problem(branch: str) -> str | None:
    """git check-ref-format's rules, within the characters every consumer reads as data."""
    if not _BRANCH.fullmatch(branch):
        return (
            f"{branch!r} is not a branch name gitopsgen accepts: ASCII letters, digits, '.',"
            " '_', '/' and '-', starting with a letter or digit"
        )
    parts = branch.split("/")
    if (
        ".." in branch
        or any(not part or part.startswith(".") or part.endswith(".lock") for part in parts)
        or branch.endswith(".")
    ):
        return (
            f"{branch!r} is not a git branch name (git check-ref-format: no '..', no empty"
            " part or part starting with '.', none ending in '.lock' or '.')"
        )
    return None


def generator_problems(requirement: str | None) -> Found:
    if requirement is None:
        yield (
            ("gitops",),
            f"'generator' is required: pin the gitopsgen the workflows install, {pin.EXAMPLES}",
        )
        return
    parsed = pin.parse(requirement)
    if isinstance(parsed, str):
        yield ("gitops", "generator"), parsed


def expression_problem(value: str) -> str | None:
    """Values the workflows carry must stay data: GitHub evaluates `${{ }}` in any string."""
    if "${{" in value:
        return "must not contain '${{': GitHub Actions would evaluate it as an expression"
    return None


def dockerfile_problem(path: str) -> str | None:
    """A relative path inside the app repository, passed to CI as data."""
    if not path.strip() or any(c in path for c in "\n\r") or path.startswith("/"):
        return f"{path!r} is not a path relative to the app repository's root"
    if ".." in path.split("/"):
        return f"{path!r} leaves the app repository (it contains '..')"
    return expression_problem(path)


def repo_problems(path: KeyPath, repo: str) -> Found:
    if not _GITHUB_REPO.fullmatch(repo):
        yield path, f"{repo!r} is not a GitHub repository: write 'owner/name'"


def check_cloud(cloud: Cloud) -> Found:
    registry = cloud.registry
    if registry is not None and not _REGISTRY.fullmatch(registry):
        yield (
            ("cloud", "registry"),
            f"{registry!r} is not a registry: write a host name with an optional path,"
            " without a scheme (e.g. 'registry.example.com/team')",
        )
    elif registry is not None and cloud.provider == "gcp":
        # Terraform grants CI push access on exactly this Artifact Registry repository.
        yield from _parsed(("cloud", "registry"), naming.parse_artifact_registry, registry)
    if cloud.provider == "aws":
        yield from check_aws(cloud)
    else:
        yield from check_gcp(cloud)


def _parsed(path: KeyPath, parse: Callable[[str], object], text: str) -> Found:
    """The parser's own complaint: the loader refuses exactly what a renderer could not use."""
    try:
        parse(text)
    except ValueError as exc:
        yield path, str(exc)


def check_aws(cloud: Cloud) -> Found:
    if not _AWS_ACCOUNT.fullmatch(cloud.account):
        yield ("cloud", "account"), f"must be a 12-digit AWS account id, got {cloud.account!r}"
    if not _AWS_REGION.fullmatch(cloud.region):
        yield ("cloud", "region"), f"{cloud.region!r} is not an AWS region such as 'eu-west-1'"
    for key in GCP_ONLY:
        if getattr(cloud, key) is not None:
            yield ("cloud", key), "is only used with provider = 'gcp'"
    if cloud.registry is not None and _REGISTRY.fullmatch(cloud.registry):
        yield from _found(("cloud", "registry"), ecr_registry_problem(cloud))


def ecr_registry_problem(cloud: Cloud) -> str | None:
    """CI logs in to the account's ECR and terraform/ grants push there: nowhere else."""
    assert cloud.registry is not None
    host = naming.ecr_registry_host(cloud.account, cloud.region)
    path = cloud.registry.removeprefix(host)
    if path == "" or (path.startswith("/") and _IMAGE_NAME.fullmatch(path[1:])):
        return None
    return (
        f"{cloud.registry!r} is not this account's ECR registry: write {host!r}, optionally"
        f" with a path ({host + '/team'!r}); CI logs in to, and terraform/ grants push on,"
        " that registry only"
    )


def check_gcp(cloud: Cloud) -> Found:
    if not naming.GCP_PROJECT_ID.fullmatch(cloud.account):
        yield (
            ("cloud", "account"),
            f"{cloud.account!r} is not a GCP project id (6 to 30 lowercase letters, digits"
            " and '-', starting with a letter)",
        )
    if not naming.GCP_REGION.fullmatch(cloud.region):
        yield ("cloud", "region"), f"{cloud.region!r} is not a GCP region such as 'europe-west1'"
    for key in GCP_REQUIRED:
        if getattr(cloud, key) is None:
            yield ("cloud", key), "missing required key: provider = 'gcp' needs it"
    repository = cloud.registry_repository
    if repository is not None and not naming.GCP_REPOSITORY_ID.fullmatch(repository):
        yield (
            ("cloud", "registry_repository"),
            f"{repository!r} is not an Artifact Registry repository id (lowercase letters,"
            " digits and '-', starting with a letter)",
        )
    provider = cloud.workload_identity_provider
    if provider is not None:
        yield from _parsed(
            ("cloud", "workload_identity_provider"),
            naming.parse_workload_identity_provider,
            provider,
        )
    if cloud.service_account is not None:
        yield from _parsed(
            ("cloud", "service_account"), naming.parse_service_account, cloud.service_account
        )


def check_platform(spec: Spec) -> Found:
    yield from owners_problems(("platform", "owners"), spec.platform.owners, required=True)
    yield from required_reviewer_problems(
        spec, ("platform", "owners"), spec.platform.owners, "the platform's paths"
    )
    try:
        timespec.check_timezone(spec.platform.timezone)
    except ValueError as exc:
        yield ("platform", "timezone"), str(exc)
    parts = urlsplit(spec.platform.prometheus)
    if parts.username is not None or parts.password is not None or parts.fragment:
        yield (
            ("platform", "prometheus"),
            f"{spec.platform.prometheus!r} carries credentials or a fragment: the analysis"
            " queries the server's address alone (credentials would sit in git)",
        )
    elif not _URL.fullmatch(spec.platform.prometheus):
        yield (
            ("platform", "prometheus"),
            f"{spec.platform.prometheus!r} is not an http:// or https:// URL",
        )
    yield from version_problems(spec)
    yield from _found(
        ("platform", "kubernetes_version"),
        versions.kubernetes_problem(spec.platform.kubernetes_version),
    )


def deploys_anything(spec: Spec) -> bool:
    """Whether some service has a tag in an environment (so the guard and its project exist)."""
    return any(
        overrides.tag and env in spec.environments
        for service in spec.services.values()
        for env, overrides in service.envs.items()
    )


def version_problems(spec: Spec) -> Found:
    """The releases `[platform]` names must have what the rendered objects use."""
    argocd = versions.parse(spec.platform.argocd_version)
    kyverno = versions.parse(spec.platform.kyverno_version)
    for key, text, parsed, example in (
        ("argocd_version", spec.platform.argocd_version, argocd, "3.5.1"),
        ("kyverno_version", spec.platform.kyverno_version, kyverno, "1.19.0"),
    ):
        if parsed is None:
            yield (
                ("platform", key),
                f"{text!r} is not a release version: write X.Y or X.Y.Z, such as {example!r}",
            )
    floor = versions.ARGOCD_RESOURCE_NAMES
    if argocd is not None and argocd < floor and deploys_anything(spec):
        # Every AppProject that permits a cluster-scoped object names it: the guard's project
        # its policy, an environment with create_namespace its Namespaces.
        yield (
            ("platform", "argocd_version"),
            f"Argo CD {versions.show(argocd)} has no clusterResourceWhitelist[].name (added in"
            f" {versions.show(floor)}), by which the AppProjects permit only the guard's policy"
            " and the Namespaces Argo CD creates; an older AppProject CRD refuses or drops the"
            f" field, and an entry without it permits every object of its kind: use"
            f" {versions.show(floor)} or later",
        )
    floor = versions.KYVERNO_RULE_FAILURE_ACTION
    if kyverno is not None and kyverno < floor:
        yield (
            ("platform", "kyverno_version"),
            f"Kyverno {versions.show(kyverno)} has no per-rule validate.failureAction (added"
            f" in {versions.show(floor)}), which the guard's ClusterPolicy uses: use"
            f" {versions.show(floor)} or later",
        )


def gitops_owner(spec: Spec) -> str:
    return spec.gitops.repo.split("/", 1)[0]


def required_reviewer_problems(
    spec: Spec, path: KeyPath, owners: tuple[str, ...], what: str
) -> Found:
    """Owners the gitops branch's ruleset (terraform/github.tf) must require as reviewers:
    a ruleset requires teams only, and the GitHub provider finds teams of the gitops
    repository's owner only."""
    if not _GITHUB_REPO.fullmatch(spec.gitops.repo):
        return  # check_gitops reports it
    org = gitops_owner(spec)
    for index, owner in enumerate(owners):
        if not _GITHUB_OWNER.fullmatch(owner):
            continue  # owners_problems reports it
        if "/" not in owner:
            yield (
                (*path, index),
                f"{owner!r} is a user, but the ruleset of the gitops branch requires the"
                f" approval of {what} from teams only: write a team '@{org}/<team>'",
            )
        elif owner[1:].split("/", 1)[0].lower() != org.lower():
            yield (
                (*path, index),
                f"team {owner!r} is not a team of {org!r}, the gitops repository's owner:"
                " only its teams can be required reviewers there",
            )


def owners_problems(path: KeyPath, owners: tuple[str, ...], *, required: bool) -> Found:
    if required and not owners:
        yield path, "needs at least one owner"
    for index, owner in enumerate(owners):
        if not _GITHUB_OWNER.fullmatch(owner):
            yield (
                (*path, index),
                f"{owner!r} is not a GitHub owner: write '@org/team' or '@user'",
            )


# --- environments ----------------------------------------------------------------------------


def check_environments(spec: Spec) -> Found:
    if not spec.environments:
        yield ("environments",), "at least one environment is required"
    for name, env in spec.environments.items():
        where: KeyPath = ("environments", name)
        yield from _found(where, label_problem("environment name", name))
        if name == naming.POLICY_PROJECT_NAME:
            # Each environment renders an AppProject of its name, beside the guard's project.
            yield (
                where,
                f"environment name {name!r} is reserved: it is the Argo CD project of the"
                " Kyverno guard's Applications",
            )
        if name == naming.ARGOCD_DEFAULT_PROJECT:
            # The environment's AppProject would replace Argo CD's own `default` project.
            yield (
                where,
                f"environment name {name!r} is reserved: it is Argo CD's built-in project,"
                " which argocd/root.yaml uses",
            )
        yield from check_environment(spec, name, env)
    yield from promotion_problems(spec.environments)


def check_environment(spec: Spec, name: str, env: Environment) -> Found:
    where: KeyPath = ("environments", name)
    if not _CLUSTER_URL.fullmatch(env.cluster):
        yield (
            (*where, "cluster"),
            f"{env.cluster!r} is not the https:// URL of an API server (https://host[:port]"
            "[/path], no query, fragment or braces)",
        )
    yield from _found((*where, "replicas"), at_least(env.replicas, 0))
    yield from _found((*where, "required_approvals"), at_least(env.required_approvals, 1))
    yield from owners_problems((*where, "approvers"), env.approvers, required=False)
    if env.approvers and env.required_approvals > MAX_REQUIRED_APPROVALS:
        yield (
            (*where, "required_approvals"),
            f"must be at most {MAX_REQUIRED_APPROVALS}, the most a ruleset's required"
            f" reviewers can demand; got {env.required_approvals}",
        )
    if env.required_approvals > 0:
        yield from required_reviewer_problems(
            spec, (*where, "approvers"), env.approvers, f"the {name} overlays"
        )
    teams = list(spec.teams)
    for index, role in enumerate(env.sync_roles or ()):
        if role != PLATFORM_ROLE and role not in spec.teams:
            hint = did_you_mean(role, [*teams, PLATFORM_ROLE])
            yield (
                (*where, "sync_roles", index),
                f"sync role {role!r} is neither a team nor {PLATFORM_ROLE!r}{hint}",
            )
    yield from tolerations_problems((*where, "tolerations"), env.tolerations)
    yield from resources_problems((*where, "resources"), env.resources)
    yield from retry_problems((*where, "retry"), env.retry)
    yield from sync_window_problems(spec, name, env)


def retry_problems(where: KeyPath, retry: Retry | None) -> Found:
    if retry is None:
        return
    if retry.limit is not None and retry.limit < -1:
        yield (*where, "limit"), f"must be -1 (retry for ever) or more, got {retry.limit}"
    if retry.factor is not None:
        yield from _found((*where, "factor"), at_least(retry.factor, 1))
    for key in ("backoff", "max_duration"):
        text = getattr(retry, key)
        # Argo CD reads a bare number as seconds, anything else with time.ParseDuration.
        if text is not None and not text.isdigit():
            yield from _found((*where, key), duration_problem(text))


def sync_window_problems(spec: Spec, name: str, env: Environment) -> Found:
    where: KeyPath = ("environments", name, "sync_windows")
    valid = True
    for index, window in enumerate(env.sync_windows):
        try:
            timespec.parse_cron(window.schedule)
        except ValueError as exc:
            valid = False
            yield (
                (*where, index, "schedule"),
                f"{window.schedule!r} is not a schedule Argo CD accepts: {exc}",
            )
        problem = duration_problem(window.duration)
        if problem is not None:
            valid = False
            yield (*where, index, "duration"), problem
    if valid and env.sync_windows:
        problem = _never_syncs(env.sync_windows, spec.platform.timezone, env.auto_sync)
        if problem is not None:
            yield where, problem


@functools.cache  # a whole calendar cycle is searched: once per distinct set of windows
def _never_syncs(windows: tuple[SyncWindow, ...], timezone: str, auto_sync: bool) -> str | None:
    return syncwindows.never_syncs(windows, timezone=timezone, auto_sync=auto_sync)


def promotion_problems(environments: Mapping[str, Environment]) -> Found:
    """`promote_from` names an environment, and following it never comes back."""
    reported: set[str] = set()
    for name, env in environments.items():
        source = env.promote_from
        if source is None:
            continue
        path: KeyPath = ("environments", name, "promote_from")
        if source not in environments:
            yield path, unknown_name("environment", source, environments)
            continue
        chain = [name]
        while True:
            source = environments[chain[-1]].promote_from
            if source is None or source not in environments:
                break
            if source in chain:
                cycle = chain[chain.index(source) :]
                if not reported.intersection(cycle):
                    reported.update(cycle)
                    # Name it in the direction tags travel: dev -> staging -> dev.
                    order = [*reversed(cycle), cycle[-1]]
                    first = next(n for n in environments if n in cycle)
                    yield (
                        ("environments", first, "promote_from"),
                        "promote_from forms a cycle: " + " -> ".join(_rotate(order, first)),
                    )
                break
            chain.append(source)


def _rotate(cycle: list[str], first: str) -> list[str]:
    """`[b, c, a, b]` started at `a` -> `[a, b, c, a]`."""
    ring = cycle[:-1]
    start = ring.index(first)
    ring = ring[start:] + ring[:start]
    return [*ring, first]


# --- teams -----------------------------------------------------------------------------------


def check_teams(spec: Spec) -> Found:
    for name, team in spec.teams.items():
        where: KeyPath = ("teams", name)
        yield from _found(where, label_problem("team name", name))
        if name == PLATFORM_ROLE:
            yield (
                where,
                f"team name {name!r} is reserved: it is the platform owners' role in every"
                " Argo CD project and in sync_roles",
            )
        yield from owners_problems((*where, "owners"), team.owners, required=True)
        yield from team_role_problems(spec, name, team.owners)


def is_user(owner: str) -> bool:
    """`@user` rather than `@org/team` (an owner that is neither is reported elsewhere)."""
    return bool(_GITHUB_OWNER.fullmatch(owner)) and "/" not in owner


def team_role_problems(spec: Spec, name: str, owners: tuple[str, ...]) -> Found:
    """A team's Argo CD roles grant SSO groups, and Dex's GitHub connector makes groups of
    teams only (`@org/team` is `org:team`): a team of users alone has roles that grant nobody
    anything. Refused like user approvers and platform owners (required_reviewer_problems)."""
    valid = [owner for owner in owners if _GITHUB_OWNER.fullmatch(owner)]
    if not valid or not all(is_user(owner) for owner in valid):
        return  # a team among them: the role has a group (user entries still own CODEOWNERS)
    org = gitops_owner(spec) if _GITHUB_REPO.fullmatch(spec.gitops.repo) else "<org>"
    users = ", ".join(repr(owner) for owner in valid)
    yield (
        ("teams", name, "owners"),
        f"has users only ({users}), but the team's Argo CD roles grant SSO groups, which are"
        f" GitHub teams ('@org/team' is the group 'org:team'): nobody could get or sync"
        f" {name}'s Applications; add a team '@{org}/<team>'",
    )


# --- services --------------------------------------------------------------------------------


def check_service(spec: Spec, name: str, service: Service) -> Found:
    where: KeyPath = ("services", name)
    problem = label_problem("service name", name)
    if problem is None and not name[0].isalpha():
        # A Kubernetes Service carries the name, and Service names are DNS-1035 labels.
        problem = (
            f"service name {name!r} must start with a letter: its Kubernetes Service is"
            " named after it"
        )
    yield from _found(where, problem)
    if problem is None:
        yield from service_name_problems(spec, name, service)
    if service.team not in spec.teams:
        yield (*where, "team"), unknown_name("team", service.team, spec.teams)
    if service.namespace is not None:
        yield from _found((*where, "namespace"), label_problem("namespace", service.namespace))
    if service.repo is not None:
        yield from app_repo_problems(spec, (*where, "repo"), service.repo)
    if service.test_command is not None:
        yield from _found((*where, "test_command"), expression_problem(service.test_command))
    yield from _found((*where, "dockerfile"), dockerfile_problem(service.dockerfile))
    if service.image is not None and not _IMAGE_NAME.fullmatch(service.image):
        yield (
            (*where, "image"),
            f"{service.image!r} is not an image repository name (lowercase letters, digits,"
            " '.', '_', '-' and '/')",
        )
    elif service.image is not None:
        full = f"{image_repository_of(spec, registry_of(spec), name)}/{service.image}"
        if len(full) > MAX_IMAGE_NAME:
            # Docker's reference grammar: `docker push` refuses a longer repository name.
            yield (
                (*where, "image"),
                f"makes the image repository name {full!r} {len(full)} characters long;"
                f" image references allow {MAX_IMAGE_NAME}",
            )
    if not 0 <= service.port <= 65535:
        yield (*where, "port"), f"must be between 1 and 65535, or 0 for no port; got {service.port}"
    for probe in ("liveness", "readiness"):
        path = getattr(service, probe)
        if not path.startswith("/") or any(c.isspace() for c in path):
            yield (*where, probe), f"{path!r} is not an HTTP path starting with '/'"
    if service.replicas is not None:
        yield from _found((*where, "replicas"), at_least(service.replicas, 0))
    yield from resources_problems((*where, "resources"), service.resources)
    yield from variables_problems((*where, "env"), service.env)
    yield from variables_problems((*where, "config"), service.config, config_map=True)
    yield from sensitive_problems(where, service)
    yield from hpa_problems((*where, "hpa"), service.hpa)
    yield from service_pdb_problems(spec, name, service)
    if service.tolerations is not None:
        yield from tolerations_problems((*where, "tolerations"), service.tolerations)
    if service.canary is not None:
        yield from canary_problems(where, service, service.canary)
    if service.analysis is not None:
        yield from analysis_problems((*where, "analysis"), service.analysis)
    seen: set[KeyPath] = set()
    for env in service.envs:
        if env not in spec.environments:
            yield (*where, "envs", env), unknown_name("environment", env, spec.environments)
            continue
        yield from check_service_env(name, service, env)
        layers = (
            (("environments", env, "resources"), spec.environments[env].resources),
            ((*where, "resources"), service.resources),
            ((*where, "envs", env, "resources"), service.envs[env].resources),
        )
        for path, problem in limits_problems(env, layers):
            if path not in seen:  # a service-wide mistake is worth one message, not one per env
                seen.add(path)
                yield path, problem


def sensitive_problems(where: KeyPath, service: Service) -> Found:
    """`sensitive` names config or env keys: a name that is none hides nothing, so a typo."""
    layers: list[Service | ServiceEnv] = [service, *service.envs.values()]
    keys: set[str] = set().union(*(set(layer.config) | set(layer.env) for layer in layers))
    for index, key in enumerate(service.sensitive):
        if key not in keys:
            yield (*where, "sensitive", index), unknown_name("config or env key", key, sorted(keys))


def service_name_problems(spec: Spec, name: str, service: Service) -> Found:
    where: KeyPath = ("services", name)
    for message in derived_name_problems(name, service, spec.cloud.provider):
        yield where, message
    if spec.cloud.provider == "gcp":
        yield from _found(where, artifact_repository_problem(spec, name))


def app_repo_problems(spec: Spec, path: KeyPath, repo: str) -> Found:
    problems = list(repo_problems(path, repo))
    yield from problems
    if problems or not _GITHUB_REPO.fullmatch(spec.gitops.repo):
        return
    org = gitops_owner(spec)
    if repo.split("/", 1)[0].lower() != org.lower():
        yield (
            path,
            f"{repo!r} is not a repository of {org!r}, the gitops repository's owner:"
            " terraform/github.tf sets each app repository's OIDC subject through the one"
            " GitHub provider of that owner",
        )
    elif repo.lower() == spec.gitops.repo.lower():
        yield (
            path,
            f"{repo!r} is the gitops repository, whose OIDC subject is the intake's:"
            " build the service in a repository of its own",
        )


def artifact_repository_problem(spec: Spec, name: str) -> str | None:
    """Each service's images live in an Artifact Registry repository of their own."""
    registry = registry_of(spec)
    try:
        prefix = naming.parse_artifact_registry(registry).repository
    except ValueError:
        return None  # check_cloud reports it
    repository = naming.artifact_repository_id(prefix, name)
    if len(repository) <= MAX_GCP_REPOSITORY_ID:
        return None
    return (
        f"service name {name!r} makes its Artifact Registry repository {repository!r}"
        f" {len(repository)} characters long; Artifact Registry allows"
        f" {MAX_GCP_REPOSITORY_ID}"
    )


def check_service_env(name: str, service: Service, env: str) -> Found:
    where: KeyPath = ("services", name, "envs", env)
    overrides = service.envs[env]
    if overrides.tag is not None:
        yield from _found((*where, "tag"), tag_problem(overrides.tag))
    if overrides.digest is not None:
        yield from _found((*where, "digest"), digest_problem(overrides.digest))
        if overrides.tag is None:
            # Without a tag nothing is deployed here: a lone digest is a half-recorded image.
            yield (
                (*where, "digest"),
                f"has no tag beside it: record both with {set_image_hint(name, env, 'TAG')},"
                " or remove the digest to not deploy to this environment",
            )
    if overrides.replicas is not None:
        yield from _found((*where, "replicas"), at_least(overrides.replicas, 0))
    yield from resources_problems((*where, "resources"), overrides.resources)
    yield from variables_problems((*where, "env"), overrides.env)
    yield from variables_problems((*where, "config"), overrides.config, config_map=True)
    if overrides.tolerations is not None:
        yield from tolerations_problems((*where, "tolerations"), overrides.tolerations)
    if overrides.hpa is not None:
        if service.hpa is None:
            yield (
                (*where, "hpa"),
                f"there is no HPA to adjust: declare hpa in [services.{name}] first",
            )
        else:
            yield from hpa_problems((*where, "hpa"), overrides.hpa, base=service.hpa)


def tag_problem(tag: str) -> str | None:
    if not tag:
        return "must not be empty (leave tag out to not deploy to this environment)"
    if tag == "latest":
        return "'latest' is not allowed: pin the tag of one build so every deploy is repeatable"
    if not _IMAGE_TAG.fullmatch(tag):
        return (
            f"{tag!r} is not an image tag (at most 128 letters, digits, '_', '.' and '-',"
            " not starting with '.' or '-')"
        )
    return None


def digest_problem(digest: str) -> str | None:
    """Why `digest` is not `sha256:<64 lowercase hex digits>`, the digest registries report.

    Kustomize writes the digest into the image reference as given, and the container runtime
    refuses a malformed one only when the pod starts: refuse it here instead.
    """
    algorithm, colon, digits = digest.partition(":")
    if not digest:
        reason = "it is empty"
    elif not colon:
        reason = f"it does not start with '{DIGEST_ALGORITHM}:'"
    elif algorithm.lower() != DIGEST_ALGORITHM:
        reason = f"the algorithm is {algorithm!r}, not {DIGEST_ALGORITHM!r}"
    elif digest != digest.lower():
        reason = "it contains uppercase letters"
    elif bad := sorted(set(digits) - set("0123456789abcdef")):
        shown = ", ".join(repr(char) for char in bad)
        reason = f"it contains {shown} (hex digits are 0-9 and a-f)"
    elif len(digits) != DIGEST_HEX_DIGITS:
        reason = f"it has {len(digits)} hex digits after the ':', not {DIGEST_HEX_DIGITS}"
    else:
        return None
    return (
        f"{digest!r} is not an image digest: {reason}; write '{DIGEST_ALGORITHM}:' and"
        f" {DIGEST_HEX_DIGITS} lowercase hex digits"
    )


def set_image_hint(service: str, env: str, tag: str) -> str:
    """The command that records a tag with its digest (what the intake runs)."""
    return f"gitopsgen set-image {service} {env} {tag} --digest {DIGEST_ALGORITHM}:..."


def variables_problems(
    where: KeyPath, variables: Mapping[str, str], *, config_map: bool = False
) -> Found:
    """Environment variable names; `config` keys become the generated ConfigMap's keys too.

    The pod reads the ConfigMap with envFrom, so its keys must be variable names; a variable
    name is a valid ConfigMap key (and has no `=`, where Kustomize splits a literal), but a
    ConfigMap key is at most 253 characters long.
    """
    for name in variables:
        if not _VARIABLE.fullmatch(name):
            yield (
                (*where, name),
                f"{name!r} is not a valid variable name (letters, digits and '_',"
                " not starting with a digit)",
            )
        elif config_map and len(name) > MAX_SUBDOMAIN:
            yield (
                (*where, name),
                f"{name!r} is too long for a ConfigMap key: it has {len(name)} characters,"
                f" at most {MAX_SUBDOMAIN} are allowed",
            )
        else:
            yield from _found((*where, name), value_problem(variables[name]))


# Characters a value may not hold: kubectl's YAML reader refuses control characters ("control
# characters are not allowed"), and YAML 1.1 readers turn NEL, LS and PS into line breaks, so
# the pod would not get the value as written. Tab and newline are fine, but not a tab that
# starts a line (a block scalar cannot be indented with one).
_UNSAFE_VALUE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ufeff]")


def value_problem(value: str) -> str | None:
    found = _UNSAFE_VALUE.search(value)
    if found is not None:
        return (
            f"holds U+{ord(found.group()):04X}, a control or line-separator character that"
            " Kubernetes' YAML readers refuse or change: write the value without it"
        )
    if "\n\t" in value or ("\n" in value and value.startswith("\t")):
        return "a line of the value starts with a tab, which YAML cannot carry in a block"
    return None


# --- names derived from a service name, and clashes between services -----------------------


def derived_name_problems(name: str, service: Service, provider: str) -> Iterator[str]:
    """Names the tree derives from a valid service name that the real systems would refuse."""
    canary = service.canary
    if provider == "aws" and service.repo is not None:  # only services with CI get a role
        role = naming.ci_role_name(name)
        if len(role) > MAX_IAM_ROLE_NAME:
            yield (
                f"service name {name!r} makes the IAM role {role!r} {len(role)} characters"
                f" long; IAM allows {MAX_IAM_ROLE_NAME}"
            )
    if canary is not None and canary.traffic != "replicas":
        stable = naming.stable_service_name(name)
        canary_service = naming.canary_service_name(name)
        longest = max(len(stable), len(canary_service))
        if longest > MAX_LABEL:
            yield (
                f"service name {name!r} makes the Services {stable!r} and {canary_service!r}"
                f" {longest} characters long; Kubernetes allows {MAX_LABEL}"
            )
    if canary is not None and canary.traffic == "alb":
        # Annotation keys are qualified names: at most 63 characters after the prefix.
        annotation = naming.alb_action_annotation(name)
        key_name = annotation.rpartition("/")[2]
        if len(key_name) > MAX_LABEL:
            yield (
                f"service name {name!r} makes the Ingress annotation {annotation!r} that Argo"
                f" Rollouts writes {len(key_name)} characters long after the '/';"
                f" Kubernetes allows {MAX_LABEL}"
            )
    config_map = naming.config_map_name(name)
    if len(config_map) + KUSTOMIZE_HASH_SUFFIX > MAX_SUBDOMAIN:
        yield (
            f"service name {name!r} makes the generated ConfigMap '{config_map}-<hash>'"
            f" {len(config_map) + KUSTOMIZE_HASH_SUFFIX} characters long;"
            f" Kubernetes allows {MAX_SUBDOMAIN}"
        )


@frozen(kw_only=True)
class RenderedObject:
    """A namespaced object a service's base or overlays render."""

    kind: str
    name: str
    role: str  # how a message names it: "Service", "stable Service"


def rendered_objects(name: str, service: Service) -> list[RenderedObject]:
    """Every object render/kustomize.py and render/rollouts.py write for the service.

    The ConfigMap is named before Kustomize appends its hash. tests/test_load.py holds this
    list to what the renderers actually produce. A Helm chart's objects are the chart's,
    unknown until Helm renders it (`validate`): none is listed.
    """
    if service.chart is not None:
        return []
    canary = service.canary
    workload = "Rollout" if canary is not None else "Deployment"
    kinds = [workload, "ServiceAccount", "PodDisruptionBudget", "NetworkPolicy"]
    if service.port:
        kinds.append("Service")
    if service.hpa is not None:
        kinds.append("HorizontalPodAutoscaler")
    if canary is not None and canary.traffic == "alb":
        kinds.append("Ingress")
    if canary is not None and canary.traffic == "istio":
        kinds.append("VirtualService")
    analysis = service.analysis
    if (
        canary is not None
        and canary.analysis
        and analysis is not None
        and any(getattr(analysis, metric) is not None for metric in METRICS)
    ):
        kinds.append("AnalysisTemplate")
    objects = [RenderedObject(kind=kind, name=name, role=kind) for kind in kinds]
    if canary is not None and canary.traffic != "replicas":
        objects += [
            RenderedObject(
                kind="Service", name=naming.stable_service_name(name), role="stable Service"
            ),
            RenderedObject(
                kind="Service", name=naming.canary_service_name(name), role="canary Service"
            ),
        ]
    objects.append(
        RenderedObject(kind="ConfigMap", name=naming.config_map_name(name), role="ConfigMap")
    )
    return objects


def _well_named(spec: Spec) -> list[str]:
    """Services whose names are valid (the others are reported already)."""
    return [name for name in spec.services if label_problem("", name) is None]


def object_collisions(spec: Spec) -> Found:
    """Two services must not render the same object (same kind and name) in one namespace."""
    owners: dict[tuple[str, str, str], tuple[str, RenderedObject]] = {}
    for name in _well_named(spec):
        service = spec.services[name]
        namespace = service.namespace or name
        for obj in rendered_objects(name, service):
            other, theirs = owners.setdefault((namespace, obj.kind, obj.name), (name, obj))
            if other != name:
                yield (
                    ("services", name),
                    f"its {obj.role} and the {theirs.role} of service {other!r} are both the"
                    f" {obj.kind} {obj.name!r} in namespace {namespace!r}: rename a service or"
                    " move one to another namespace",
                )


def application_collisions(spec: Spec) -> Found:
    """Application names `<service>-<env>` must differ for every service and environment.

    The ApplicationSet refuses to generate two Applications of one name, and stops updating
    all of them. Checked for every environment, not only those with a tag: `set-image` can
    deploy a service anywhere.
    """
    owners: dict[str, tuple[str, str]] = {}
    environments = [env for env in spec.environments if label_problem("", env) is None]
    for name in _well_named(spec):
        for env in environments:
            app = naming.application_name(name, env)
            other, other_env = owners.setdefault(app, (name, env))
            if other != name:
                yield (
                    ("services", name),
                    f"its Argo CD Application for environment {env!r} and that of service"
                    f" {other!r} for environment {other_env!r} are both named {app!r}; an"
                    " ApplicationSet refuses duplicate names: rename a service or an environment",
                )


def policy_application_collisions(spec: Spec) -> Found:
    """A service's Application must not take the name of the Kyverno guard's Application.

    The guard's Application is named after the first environment on its cluster; the name is
    reserved for every environment, so moving an environment to another cluster never makes
    a valid file invalid.
    """
    environments = [env for env in spec.environments if label_problem("", env) is None]
    reserved = {naming.policy_application_name(env): env for env in environments}
    for name in _well_named(spec):
        for env in environments:
            app = naming.application_name(name, env)
            if app in reserved:
                yield (
                    ("services", name),
                    f"its Argo CD Application for environment {env!r} would be named {app!r},"
                    " the name reserved for the Kyverno guard's Application of environment"
                    f" {reserved[app]!r}: rename the service",
                )
                break  # renaming the service resolves every clash: one message is enough


def shared_cluster_collisions(spec: Spec) -> Found:
    """Environments sharing a cluster must not both run a service: the service's namespace is
    the same in every environment, so their two Applications would own the same objects."""
    order = [env for env in promotion_order(spec.environments) if label_problem("", env) is None]
    for name in _well_named(spec):
        service = spec.services[name]
        namespace = service.namespace or name
        first_on: dict[str, str] = {}  # cluster -> the first environment placing the service
        for env in order:
            entry = service.envs.get(env)
            if entry is None or not (entry.tag or entry.retired):
                continue
            cluster = spec.environments[env].cluster
            other = first_on.setdefault(cluster, env)
            if other != env:
                yield (
                    ("services", name, "envs", env),
                    f"environments {other!r} and {env!r} share the cluster {cluster!r} and"
                    f" would both run {name!r} in namespace {namespace!r}: their Applications"
                    f" {naming.application_name(name, other)!r} and"
                    f" {naming.application_name(name, env)!r} would own the same objects;"
                    " deploy the service to one of them only, or give the environments"
                    " different clusters",
                )


# --- resources -------------------------------------------------------------------------------


def resources_problems(where: KeyPath, resources: Resources | None) -> Found:
    if resources is None:
        return
    for side in ("requests", "limits"):
        values: ResourceSide | None = getattr(resources, side)
        if values is None:
            continue
        for resource in ("cpu", "memory"):
            text = getattr(values, resource)
            if text is not None:
                yield from _found((*where, side, resource), quantity_problem(resource, text))


@functools.cache
def quantity_problem(resource: str, text: str) -> str | None:
    value = parse_quantity(text)
    if value is None:
        example = "'250m', '1' or '1.5'" if resource == "cpu" else "'512Mi', '1Gi' or '1e9'"
        return f"{text!r} is not a Kubernetes quantity (e.g. {example})"
    if value < 0:
        return f"{text!r} must not be negative"
    if value >= _MAX_QUANTITY:
        # resource.Quantity holds an int64 of its smallest unit (nano for cpu): larger is refused.
        return f"{text!r} is too large: Kubernetes quantities must be below 2^63"
    if resource == "memory" and text.endswith("m"):
        # Legal for Kubernetes, but 'm' is milli: "256m" is a quarter of a byte.
        return f"{text!r} means {value} bytes ('m' is milli); did you mean {text[:-1] + 'Mi'!r}?"
    if resource == "memory" and value != value.to_integral_value():
        return f"{text!r} is a fraction of a byte: memory is a whole number of bytes"
    return None


def limits_problems(env: str, layers: tuple[tuple[KeyPath, Resources | None], ...]) -> Found:
    """Kubernetes rejects a pod whose request is above its limit: check each environment."""
    resolved = layer_resources(*(resources for _, resources in layers))
    for resource in ("cpu", "memory"):
        texts = (resolved.requests.get(resource), resolved.limits.get(resource))
        if None in texts or any(quantity_problem(resource, t or "") for t in texts):
            continue  # nothing to compare, or already reported as not a quantity
        request, limit = (parse_quantity(t or "") or Decimal(0) for t in texts)
        if request <= limit:
            continue
        # Blame the most specific layer that sets resources; with none, the defaults clash
        # with nothing the user wrote, so there is nothing to report.
        setters = [path for path, resources in layers if resources is not None]
        if not setters:
            continue
        yield (
            setters[-1],
            f"in {env!r} the {resource} request {resolved.requests[resource]!r} is above the"
            f" limit {resolved.limits[resource]!r}; Kubernetes rejects such a pod",
        )


# --- hpa, pdb, tolerations -------------------------------------------------------------------


def hpa_problems(where: KeyPath, hpa: Hpa | None, base: Hpa | None = None) -> Found:
    if hpa is None:
        return
    if hpa.min is not None:
        yield from _found((*where, "min"), at_least(hpa.min, 1))
    if hpa.cpu_utilization is not None:
        yield from _found((*where, "cpu_utilization"), between(hpa.cpu_utilization, 1, 100))
    low = next((v for v in (hpa.min, base.min if base else None) if v is not None), 1)
    high = next((v for v in (hpa.max, base.max if base else None) if v is not None), None)
    if high is not None and high < low and (hpa.min is not None or hpa.max is not None):
        path = (*where, "max") if hpa.max is not None else (*where, "min")
        yield path, f"max ({high}) must be at least min ({low})"


def pdb_problems(where: KeyPath, pdb: Pdb | None) -> Found:
    if pdb is None:
        return
    given = [key for key in ("min_available", "max_unavailable") if getattr(pdb, key) is not None]
    if len(given) != 1:
        yield where, "set exactly one of min_available and max_unavailable"
    for key in given:
        value = getattr(pdb, key)
        if isinstance(value, int):
            yield from _found((*where, key), at_least(value, 0))
            continue
        match = _PERCENT.fullmatch(value)
        if match is None or int(match["number"]) > 100:
            yield (
                (*where, key),
                f"must be an integer of at least 0 or a percentage such as '50%', got {value!r}",
            )


def service_pdb_problems(spec: Spec, name: str, service: Service) -> Found:
    """The PDB's own values, then (if they are sound) whether it ever lets a node drain."""
    problems = list(pdb_problems(("services", name, "pdb"), service.pdb))
    yield from problems
    if not problems:
        yield from pdb_drain_problems(spec, name, service, blocked_always=True)


def pdb_allows_no_disruption(pdb: Pdb, pods: int) -> bool:
    """Whether a PDB leaves no pod to evict when `pods` run, as Kubernetes' disruption
    controller computes it (a percentage of the expected pods, rounded up, for both keys)."""

    def scaled(value: int | str) -> int:
        if isinstance(value, int):
            return value
        return math.ceil(int(value.removesuffix("%")) * pods / 100)

    if pdb.min_available is not None:
        return scaled(pdb.min_available) >= pods
    assert pdb.max_unavailable is not None
    return scaled(pdb.max_unavailable) == 0


def pdb_drain_problems(spec: Spec, name: str, service: Service, *, blocked_always: bool) -> Found:
    """A PDB that allows no disruption makes every node drain (a cluster upgrade, the cluster
    autoscaler's scale-down) wait on the service's pods for ever. `blocked_always`: the
    error (no disruption at any replica count the environment can run), else the warning
    (none while an HPA runs at its minimum, some once it scales up)."""
    pdb = service.pdb
    if pdb is None:
        return  # the default, max_unavailable = 1, always allows one
    key = "min_available" if pdb.min_available is not None else "max_unavailable"
    value = getattr(pdb, key)
    where: list[str] = []
    for env, overrides in service.envs.items():
        if env not in spec.environments or not overrides.tag:
            continue  # not deployed there (or reported as an unknown environment)
        hpa = merge_hpa(service.hpa, overrides.hpa)
        if hpa is None:
            replicas = next(
                n
                for n in (overrides.replicas, service.replicas, spec.environments[env].replicas)
                if n is not None
            )
            if blocked_always and replicas > 0 and pdb_allows_no_disruption(pdb, replicas):
                where.append(f"{env} ({replicas} replica{'' if replicas == 1 else 's'})")
        elif not 1 <= hpa.min <= hpa.max:
            continue  # hpa_problems reports it
        elif pdb_allows_no_disruption(pdb, hpa.max):
            if blocked_always:
                where.append(f"{env} (HPA max {hpa.max})")
        elif not blocked_always and pdb_allows_no_disruption(pdb, hpa.min):
            enough = next(
                n for n in range(hpa.min, hpa.max + 1) if not pdb_allows_no_disruption(pdb, n)
            )
            where.append(f"{env} (HPA min {hpa.min}; it needs {enough} replicas)")
    if not where:
        return
    if blocked_always:
        fix = (
            "lower it below the replica count, or use max_unavailable"
            if key == "min_available"
            else "allow at least 1"
        )
        yield (
            ("services", name, "pdb", key),
            f"{key} = {value!r} allows no disruption in {', '.join(where)}: every node drain"
            f" (a cluster upgrade, the autoscaler's scale-down) would wait on these pods for"
            f" ever; {fix}",
        )
    else:
        yield (
            ("services", name, "pdb", key),
            f"{key} = {value!r} allows no disruption while the HPA runs at its minimum, in"
            f" {', '.join(where)}: node drains wait until the HPA scales up",
        )


def tolerations_problems(where: KeyPath, tolerations: tuple[Toleration, ...]) -> Found:
    for index, toleration in enumerate(tolerations):
        path = (*where, index)
        if toleration.key is None or toleration.key == "":
            if toleration.operator != "Exists":
                yield (*path, "operator"), "must be 'Exists' when the toleration has no key"
        elif (problem := label_key_problem(toleration.key)) is not None:
            yield (*path, "key"), problem
        if toleration.operator == "Exists" and toleration.value is not None:
            yield (*path, "value"), "must not be set when operator is 'Exists'"
        elif toleration.value is not None and not _LABEL_VALUE.fullmatch(toleration.value):
            yield (
                (*path, "value"),
                f"{toleration.value!r} is not a label value (at most 63 letters, digits, '-',"
                " '_' and '.', starting and ending with a letter or digit)",
            )
        if toleration.toleration_seconds is not None and toleration.effect != "NoExecute":
            yield (*path, "toleration_seconds"), "is only allowed with effect = 'NoExecute'"


def label_key_problem(key: str) -> str | None:
    prefix, _, name = key.rpartition("/")
    if (prefix and not _DNS_SUBDOMAIN.fullmatch(prefix)) or not _LABEL_KEY_NAME.fullmatch(name):
        return (
            f"{key!r} is not a label key (an optional DNS prefix and '/', then at most 63"
            " letters, digits, '-', '_' and '.')"
        )
    return None


# --- canary and analysis ---------------------------------------------------------------------


def canary_problems(where: KeyPath, service: Service, canary: Canary) -> Found:
    steps_path = (*where, "canary", "steps")
    if not canary.steps:
        yield steps_path, "a canary needs at least one step"
    previous: int | None = None
    for index, step in enumerate(canary.steps):
        weight_path = (*steps_path, index, "weight")
        if not 1 <= step.weight <= 99:
            yield weight_path, f"must be between 1 and 99, got {step.weight}"
        elif previous is not None and step.weight <= previous:
            yield (
                weight_path,
                f"weights must increase from step to step: {step.weight} follows {previous}",
            )
        previous = step.weight
        if step.pause is not None:
            yield from _found((*steps_path, index, "pause"), pause_problem(step.pause))
    if canary.host is not None and not _HOST.fullmatch(canary.host):
        yield (
            (*where, "canary", "host"),
            f"{canary.host!r} is not a host name (lowercase DNS labels joined by '.',"
            " optionally starting with '*.')",
        )
    if canary.traffic != "replicas" and service.port == 0:
        yield (
            (*where, "canary", "traffic"),
            f"traffic {canary.traffic!r} routes requests to the service's port, but port is 0",
        )
    analysis = service.analysis
    if canary.analysis and (analysis is None or all(getattr(analysis, m) is None for m in METRICS)):
        yield (
            (*where, "canary", "analysis"),
            "analysis = true needs at least one metric: set success_rate, latency_p99_ms or"
            f" error_logs in [services.{where[-1]}.analysis]",
        )


def pause_problem(text: str) -> str | None:
    try:
        pause = timespec.parse_pause_duration(text)
    except ValueError as exc:
        return str(exc)
    # Argo Rollouts waits whole seconds: "500ms" would not pause at all.
    if pause.total_seconds() < 1:
        return f"pause {text!r} is shorter than 1s, the shortest pause Argo Rollouts waits"
    return None


def analysis_problems(where: KeyPath, analysis: Analysis) -> Found:
    rate = analysis.success_rate
    if rate is not None and not 0 < rate <= 1:
        yield (*where, "success_rate"), f"must be greater than 0 and at most 1, got {rate}"
    if analysis.latency_p99_ms is not None:
        yield from _found((*where, "latency_p99_ms"), at_least(analysis.latency_p99_ms, 1))
    if analysis.error_logs is not None:
        # The count must stay below this: 0 would fail every measurement.
        yield from _found((*where, "error_logs"), at_least(analysis.error_logs, 1))
    yield from _found((*where, "interval"), duration_problem(analysis.interval))
    yield from _found((*where, "count"), at_least(analysis.count, 1))
    yield from _found((*where, "failure_limit"), at_least(analysis.failure_limit, 0))
    if analysis.count >= 1 and analysis.failure_limit > analysis.count:
        # Argo Rollouts' ValidateMetric (utils/analysis/factory.go): count must be at least
        # failureLimit + consecutiveSuccessLimit (0 here); the AnalysisRun ends in Error.
        yield (
            (*where, "failure_limit"),
            f"must be at most count ({analysis.count}), got {analysis.failure_limit}:"
            f" Argo Rollouts refuses the metric (count ({analysis.count}) must be >="
            f" failureLimit + consecutiveSuccessLimit ({analysis.failure_limit} + 0)),"
            " so every analysis run ends in Error and aborts the canary",
        )


# --- namespaces: [platform] kubernetes_group, [environments.<env>.namespaces.<ns>] ---------
# (what the platform Application deploys, render/namespaces.py)

_PLACEHOLDER = re.compile(r"\{[^{}]*\}?")


def namespace_problems(spec: Spec) -> Found:
    yield from _found(
        ("platform", "kubernetes_group"), group_format_problem(spec.platform.kubernetes_group)
    )
    for name, service in spec.services.items():
        why = system_namespace(service.namespace or name)
        if why is not None:
            yield (
                ("services", name, "namespace") if service.namespace else ("services", name),
                f"namespace {service.namespace or name!r} is {why}: the platform Application"
                " would own it, enforce Pod Security restricted on all it runs, and the guard"
                " would refuse its other workloads; give the service a namespace of its own",
            )
    used = service_namespaces(spec)
    residents = namespace_residents(spec)
    first_on: dict[tuple[str, str], str] = {}
    for env_name, env in spec.environments.items():
        for namespace, settings in env.namespaces.items():
            where: KeyPath = ("environments", env_name, "namespaces", namespace)
            if namespace not in used:
                hint = did_you_mean(namespace, used)
                known = f"; services use {', '.join(sorted(used))}" if used and not hint else ""
                yield where, f"no service uses the namespace {namespace!r}{hint}{known}"
                continue
            if settings.quota is None and settings.limit_range is None:
                yield where, "sets neither quota nor limit_range: write one, or remove the table"
            yield from quota_problems((*where, "quota"), settings.quota)
            yield from limit_range_problems((*where, "limit_range"), settings.limit_range)
            yield from limit_range_refusals(
                spec, env_name, namespace, residents[namespace], settings.limit_range
            )
            other = first_on.setdefault((env.cluster, namespace), env_name)
            if other != env_name:
                yield (
                    where,
                    f"environments {other!r} and {env_name!r} share the cluster"
                    f" {env.cluster!r}, which has one namespace {namespace!r}: both set its"
                    f" quota or limit range; set them in one of the two environments only",
                )


# Namespaces of the cluster's own components, which no service may take (and so no platform
# Application may own): Kubernetes reserves `kube-` (kube-system, kube-public, kube-node-lease).
SYSTEM_NAMESPACES = {
    "default": "Kubernetes' default namespace",
    "argocd": "Argo CD's namespace",
    "kyverno": "Kyverno's namespace, the guard's engine",
    "istio-system": "Istio's namespace",
}


def system_namespace(namespace: str) -> str | None:
    """Why `namespace` belongs to the cluster's own components, or None."""
    if namespace.startswith("kube-"):
        return "a system namespace (Kubernetes reserves the prefix 'kube-')"
    return SYSTEM_NAMESPACES.get(namespace)


def service_namespaces(spec: Spec) -> set[str]:
    return {service.namespace or name for name, service in spec.services.items()}


def namespace_residents(spec: Spec) -> dict[str, list[str]]:
    """Each namespace's services, sorted by name."""
    residents: dict[str, list[str]] = {}
    for name in sorted(spec.services):
        residents.setdefault(spec.services[name].namespace or name, []).append(name)
    return residents


def group_format_problem(text: str) -> str | None:
    """`[platform] kubernetes_group`: `{org}` and `{team}` only, and `{team}` at least."""
    unsafe = value_problem(text)
    if unsafe is not None:
        return unsafe
    unknown = [p for p in _PLACEHOLDER.findall(text) if p not in naming.GROUP_PLACEHOLDERS]
    if unknown or "}" in _PLACEHOLDER.sub("", text):
        shown = unknown[0] if unknown else "}"
        return (
            f"{text!r} has {shown!r}, which is not a placeholder: only {{org}} and {{team}} are"
            " replaced (by a GitHub team's organisation and slug)"
        )
    if "{team}" not in text:
        return (
            f"{text!r} has no {{team}}: every team would be the same Kubernetes group, so each"
            " team's RoleBindings would grant every other team too"
        )
    return None


def quota_problems(where: KeyPath, quota: Quota | None) -> Found:
    if quota is None:
        return
    if quota.requests is None and quota.limits is None and quota.pods is None:
        yield where, "sets no limit: write requests, limits or pods"
    yield from resources_problems(where, Resources(requests=quota.requests, limits=quota.limits))
    if quota.pods is not None:
        yield from _found((*where, "pods"), at_least(quota.pods, 1))


# A LimitRange's sides in the order Kubernetes requires of them (ValidateLimitRange):
# min <= defaultRequest <= default <= max, for each resource that two of them set.
_LIMIT_RANGE_ORDER = ("min", "default_request", "default", "max")


def limit_range_problems(where: KeyPath, limit_range: LimitRange | None) -> Found:
    if limit_range is None:
        return
    sides = {key: getattr(limit_range, key) for key in _LIMIT_RANGE_ORDER}
    if all(side is None for side in sides.values()):
        yield where, "sets no limit: write default_request, default, min or max"
    for key, side in sides.items():
        if side is None:
            continue
        for resource in ("cpu", "memory"):
            text = getattr(side, resource)
            if text is not None:
                yield from _found((*where, key, resource), quantity_problem(resource, text))
    for resource in ("cpu", "memory"):
        values = [
            (key, text)
            for key, side in sides.items()
            if side is not None
            and (text := getattr(side, resource)) is not None
            and quantity_problem(resource, text) is None
        ]
        for (low_key, low), (high_key, high) in itertools.pairwise(values):
            if (parse_quantity(low) or Decimal(0)) > (parse_quantity(high) or Decimal(0)):
                yield (
                    (*where, high_key, resource),
                    f"{high!r} is below {low_key}.{resource} {low!r}: Kubernetes refuses a"
                    f" LimitRange unless min <= default_request <= default <= max",
                )


def limit_range_refusals(
    spec: Spec, env_name: str, namespace: str, residents: list[str], limit_range: LimitRange | None
) -> Found:
    """A service deployed there (`residents`: the services of the namespace, sorted) whose
    containers the LimitRange would refuse at admission."""
    if limit_range is None or any(True for _ in limit_range_problems((), limit_range)):
        return  # nothing to compare, or already reported
    env = spec.environments[env_name]
    where: KeyPath = ("environments", env_name, "namespaces", namespace, "limit_range")
    for name in residents:
        service = spec.services[name]
        overrides = service.envs.get(env_name)
        if overrides is None or not overrides.tag or overrides.retired:
            continue
        if smoketest.merged(service.smoke_test, overrides.smoke_test) is not None:
            # its smoke test's Job, whose resources are fixed (render/smoketest.py)
            yield from _limit_refusals(
                where,
                limit_range,
                who=f"the smoke test of {name!r}",
                env_name=env_name,
                requests=smoketest.RESOURCES["requests"],
                limits=smoketest.RESOURCES["limits"],
            )
        if service.chart is not None:
            continue  # a Helm chart, whose values set its containers' resources
        resolved = layer_resources(env.resources, service.resources, overrides.resources)
        yield from _limit_refusals(
            where,
            limit_range,
            who=f"service {name!r}",
            env_name=env_name,
            requests=resolved.requests,
            limits=resolved.limits,
        )


def _limit_refusals(
    where: KeyPath,
    limit_range: LimitRange,
    *,
    who: str,
    env_name: str,
    requests: Mapping[str, str],
    limits: Mapping[str, str],
) -> Found:
    """Containers of `who` that the LimitRange refuses: a limit above max, a request below min."""
    for bound, key, values, word in (
        (limit_range.max, "max", limits, "limit"),
        (limit_range.min, "min", requests, "request"),
    ):
        for resource in ("cpu", "memory"):
            edge = getattr(bound, resource) if bound is not None else None
            text = values.get(resource)
            if edge is None or text is None or quantity_problem(resource, text):
                continue
            value, edge_value = parse_quantity(text), parse_quantity(edge)
            if value is None or edge_value is None:
                continue
            if (value > edge_value) if key == "max" else (value < edge_value):
                side = "above" if key == "max" else "below"
                yield (
                    (*where, key, resource),
                    f"{who} runs in {env_name!r} with the {resource} {word} {text!r}, {side}"
                    f" this {key} {edge!r}: Kubernetes would refuse its pods",
                )


def namespace_warnings(spec: Spec) -> Found:
    residents = namespace_residents(spec)
    for env_name, env in spec.environments.items():
        for namespace, settings in env.namespaces.items():
            if namespace not in residents:
                continue  # an error (namespace_problems)
            deployed = any(
                (overrides := spec.services[name].envs.get(env_name)) is not None
                and (overrides.tag or overrides.retired)
                for name in residents[namespace]
            )
            if not deployed:
                yield (
                    ("environments", env_name, "namespaces", namespace),
                    f"nothing runs in namespace {namespace!r} in {env_name!r} yet, so it has"
                    " no quota or limit range there until a service does",
                )
            yield from quota_headroom(
                spec, env_name, namespace, residents[namespace], settings.quota
            )
            quota = settings.quota
            if quota is None or quota.requests is None or quota.limits is None:
                continue
            for resource in ("cpu", "memory"):
                request = getattr(quota.requests, resource)
                limit = getattr(quota.limits, resource)
                if request is None or limit is None:
                    continue
                if quantity_problem(resource, request) or quantity_problem(resource, limit):
                    continue
                if (parse_quantity(request) or 0) > (parse_quantity(limit) or 0):
                    yield (
                        (
                            "environments",
                            env_name,
                            "namespaces",
                            namespace,
                            "quota",
                            "requests",
                            resource,
                        ),
                        f"{request!r} is above limits.{resource} {limit!r}: every pod's request"
                        " is at most its limit, so the requests can never reach this",
                    )


def quota_headroom(
    spec: Spec, env_name: str, namespace: str, residents: list[str], quota: Quota | None
) -> Found:
    """A quota below what the services deployed there need at their most replicas (the HPA's
    `max`, else the replica count), one container each, Helm charts not counted: scaling up or
    rolling out past it is refused (a warning: a quota may mean to hold them back)."""
    if quota is None or any(True for _ in quota_problems((), quota)):
        return
    env = spec.environments[env_name]
    need: dict[str, Decimal] = {}
    pods = 0
    for name in residents:
        service = spec.services[name]
        overrides = service.envs.get(env_name)
        if overrides is None or not overrides.tag or overrides.retired:
            continue
        if service.chart is not None:
            continue  # its values set its replicas and resources: not counted
        hpa = merge_hpa(service.hpa, overrides.hpa)
        replicas = (
            hpa.max
            if hpa is not None
            else next(
                n for n in (overrides.replicas, service.replicas, env.replicas) if n is not None
            )
        )
        pods += replicas
        resolved = layer_resources(env.resources, service.resources, overrides.resources)
        for side, values in (("requests", resolved.requests), ("limits", resolved.limits)):
            for resource, text in values.items():
                value = parse_quantity(text) if quantity_problem(resource, text) is None else None
                if value is not None:
                    key = f"{side}.{resource}"
                    need[key] = need.get(key, Decimal(0)) + value * replicas
    where: KeyPath = ("environments", env_name, "namespaces", namespace, "quota")
    for side, bounds in (("requests", quota.requests), ("limits", quota.limits)):
        for resource in ("cpu", "memory"):
            bound: str | None = getattr(bounds, resource) if bounds is not None else None
            key = f"{side}.{resource}"
            if bound is None or key not in need:
                continue
            allowed = parse_quantity(bound) or Decimal(0)
            if need[key] > allowed:
                yield (
                    (*where, side, resource),
                    f"{bound!r} is below the {_show(need[key], resource)} the services in"
                    f" {namespace!r} need in {env_name!r} at their most replicas: Kubernetes"
                    " refuses the pods past it (scale-ups, rollouts)",
                )
    if quota.pods is not None and pods > quota.pods:
        yield (
            (*where, "pods"),
            f"{quota.pods} is below the {pods} pods the services in {namespace!r} run in"
            f" {env_name!r} at their most replicas: Kubernetes refuses the pods past it"
            " (scale-ups, and the extra pods of a rollout)",
        )


def _show(value: Decimal, resource: str) -> str:
    """A quantity for a message: cores with up to 3 decimals, memory in Mi or Gi."""
    if resource == "cpu":
        return f"{value.normalize():f} CPU"
    if value % 2**30 == 0:
        return f"{value / 2**30:f}Gi memory"
    return f"{(value / 2**20).quantize(Decimal(1))}Mi memory"


# --- smoke tests and automatic proposals ---------------------------------------------------

# `<repository>[:<tag>]@<digest>`: the repository as Docker's reference grammar has it (an
# optional registry host with a port, then lowercase path components).
_PINNED_IMAGE = re.compile(
    r"(?P<name>(?:(?P<host>[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::[0-9]+)?)/)?"
    + _IMAGE_NAME.pattern
    + r")(?::(?P<tag>"
    + _IMAGE_TAG.pattern
    + r"))?@(?P<digest>.*)"
)


def smoke_image_problem(image: str) -> str | None:
    """Why `image` is not an image reference pinned by digest.

    The Job runs in the service's namespace under the guard and the restricted policy, after
    every sync: a tag alone could be re-pushed, and the test that lets a release travel on
    would then be a different program from the one reviewed.
    """
    if "@" not in image:
        return (
            f"{image!r} is not pinned by digest: write '<repository>@{DIGEST_ALGORITHM}:<64"
            f" hex digits>' (or '<repository>:<tag>@{DIGEST_ALGORITHM}:...'); a tag can be"
            " pushed again, and the test that decides the promotion would change unseen"
        )
    match = _PINNED_IMAGE.fullmatch(image)
    if match is None:
        return (
            f"{image!r} is not an image reference: '<repository>[:<tag>]@{DIGEST_ALGORITHM}:"
            "<64 hex digits>', the repository in lowercase letters, digits, '.', '_', '-' and"
            " '/'"
        )
    return digest_problem(match["digest"])


def smoke_test_fields(where: KeyPath, test: SmokeTest) -> Found:
    """The keys one `smoke_test` table writes, each on its own."""
    if test.image is not None:
        yield from _found((*where, "image"), smoke_image_problem(test.image))
    if test.command is not None:
        if not test.command:
            yield (*where, "command"), "must not be empty: the program and its arguments"
        for index, part in enumerate(test.command):
            if not part:
                yield (*where, "command", index), "must not be empty"
            else:
                yield from _found((*where, "command", index), value_problem(part))
    if test.deadline is not None:
        problem = duration_problem(test.deadline)
        if problem is None:
            seconds = timespec.parse_duration(test.deadline).total_seconds()
            if seconds != int(seconds):
                problem = f"{test.deadline!r} is not a whole number of seconds"
            elif not smoketest.MIN_DEADLINE_SECONDS <= seconds <= smoketest.MAX_DEADLINE_SECONDS:
                problem = (
                    f"must be between {smoketest.MIN_DEADLINE_SECONDS}s and 1h (the hook holds"
                    f" the sync open while it runs), got {test.deadline!r}"
                )
        yield from _found((*where, "deadline"), problem)
    if test.retries is not None:
        yield from _found((*where, "retries"), between(test.retries, 0, smoketest.MAX_RETRIES))


def smoke_test_problems(spec: Spec, name: str, service: Service) -> Found:
    where: KeyPath = ("services", name)
    if service.smoke_test is not None:
        yield from smoke_test_fields((*where, "smoke_test"), service.smoke_test)
    tested = False
    reported: set[tuple[KeyPath, str]] = set()
    for env, overrides in service.envs.items():
        if overrides.smoke_test is not None:
            yield from smoke_test_fields((*where, "envs", env, "smoke_test"), overrides.smoke_test)
        test = smoketest.merged(service.smoke_test, overrides.smoke_test)
        if test is None or env not in spec.environments:
            continue
        tested = True
        if test.image is not None and env_image_clash(spec, name, service, test.image):
            path = (
                (*where, "envs", env, "smoke_test", "image")
                if overrides.smoke_test is not None and overrides.smoke_test.image is not None
                else (*where, "smoke_test", "image")
            )
            if (path, "clash") not in reported:
                reported.add((path, "clash"))
                yield (
                    path,
                    f"is the service's own image repository: the overlay's images entry would"
                    f" replace its digest with the one {env} deploys; give the test an image of"
                    " its own",
                )
        missing = [key for key in ("image", "command") if getattr(test, key) is None]
        if missing:
            path = (
                (*where, "envs", env, "smoke_test")
                if overrides.smoke_test is not None
                else (*where, "smoke_test")
            )
            keys = " and ".join(missing)
            yield (
                path,
                f"has no {keys} for {env}: a smoke test needs an image and a command, here or"
                f" in [services.{name}] smoke_test",
            )
    job = smoketest.job_name(name)
    if tested and len(job) > smoketest.MAX_JOB_NAME and label_problem("", name) is None:
        yield (
            (*where, "smoke_test") if service.smoke_test is not None else where,
            f"service name {name!r} makes the smoke test's Job {job!r} {len(job)} characters"
            f" long; the Job controller labels its pods with that name, and label values allow"
            f" {smoketest.MAX_JOB_NAME} (service name <= "
            f"{smoketest.MAX_JOB_NAME - len(smoketest.JOB_SUFFIX)})",
        )


def env_image_clash(spec: Spec, name: str, service: Service, image: str) -> bool:
    """Whether a smoke test's image is the service's own repository, which the overlay's
    Kustomize `images` entry rewrites (it matches every container by repository name)."""
    match = _PINNED_IMAGE.fullmatch(image)
    if match is None:
        return False
    own = f"{image_repository_of(spec, registry_of(spec), name)}/{service.image or name}"
    return match["name"] == own


def smoke_test_warnings(name: str, service: Service) -> Found:
    if service.smoke_test is not None and service.canary is not None:
        # gitops-engine's sync waits on a Suspended resource as on a Progressing one
        # (pkg/sync/sync_context.go, getOperationPhase), and a PostSync hook runs only once
        # everything synced before it is Healthy.
        yield (
            ("services", name, "smoke_test"),
            "runs only after the canary has reached 100%: Argo CD starts a PostSync hook once"
            " every resource is Healthy, and a Rollout paused at a step is Suspended, so each"
            " sync stays running for the whole canary (auto-sync and selfHeal wait with it)",
        )


def auto_propose_warnings(spec: Spec) -> Found:
    for name, env in spec.environments.items():
        if env.auto_propose is not None and env.promote_from is None:
            yield (
                ("environments", name, "auto_propose"),
                f"does nothing: {name} has no promote_from, so nothing is promoted into it",
            )
