"""The rules of the services file that types alone cannot express (DESIGN section 1)."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal

from generator import syncwindows, timespec
from generator.errors import KeyPath, did_you_mean
from generator.model import (
    Analysis,
    Canary,
    Cloud,
    Environment,
    Hpa,
    Pdb,
    Resources,
    ResourceSide,
    Retry,
    Service,
    Spec,
    SyncWindow,
    Toleration,
)
from generator.resolve import layer_resources  # the one place that layers resources

Found = Iterator[tuple[KeyPath, str]]

MAX_LABEL = 63
_LABEL_CHARS = re.compile(r"[a-z0-9-]")
_VARIABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# resource.Quantity: <sign><number><suffix>, suffix binary SI, decimal SI or a decimal exponent.
_QUANTITY = re.compile(
    r"(?P<number>[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))"
    r"(?P<suffix>Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?[0-9]+)?"
)
_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_GITHUB_NAME = r"[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}"
_GITHUB_OWNER = re.compile(rf"@{_GITHUB_NAME}(?:/[A-Za-z0-9][A-Za-z0-9_.-]*)?")
_GITHUB_REPO = re.compile(rf"{_GITHUB_NAME}/(?!\.\.?$)[A-Za-z0-9_.-]{{1,100}}")
_IMAGE_NAME = re.compile(
    r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*"
)
_IMAGE_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
_REGISTRY = re.compile(r"[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?(?::[0-9]+)?(?:/[a-z0-9._-]+)*")
_AWS_ACCOUNT = re.compile(r"[0-9]{12}")
_AWS_REGION = re.compile(r"[a-z]{2}(?:-[a-z]+)+-[0-9]+")
_GCP_PROJECT = re.compile(r"[a-z][a-z0-9-]{4,28}[a-z0-9]")
_GCP_REGION = re.compile(r"[a-z]+-[a-z]+[0-9]+")
_GCP_REPOSITORY = re.compile(r"[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?")
_WORKLOAD_IDENTITY_PROVIDER = re.compile(
    r"projects/[0-9]+/locations/global/workloadIdentityPools/[a-z0-9-]{4,32}"
    r"/providers/[a-z0-9-]{4,32}"
)
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_URL = re.compile(r"https?://[^\s/?#]+[^\s]*")
_PERCENT = re.compile(r"(?P<number>[0-9]+)%")
_LABEL_KEY_NAME = re.compile(r"[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?")
_LABEL_VALUE = re.compile(r"(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?")
_DNS_SUBDOMAIN = re.compile(
    r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*"
)
_HOST = re.compile(r"(?:\*\.)?" + _DNS_SUBDOMAIN.pattern)
GCP_ONLY = ("registry_repository", "workload_identity_provider", "service_account")
METRICS = ("success_rate", "latency_p99_ms", "error_logs")
PLATFORM_ROLE = "platform"


def check(spec: Spec) -> Found:
    """Every semantic problem of a structurally valid spec, as (key path, message)."""
    yield from check_gitops(spec)
    yield from check_cloud(spec.cloud)
    yield from check_platform(spec)
    yield from check_environments(spec)
    yield from check_teams(spec)
    for name, service in spec.services.items():
        yield from check_service(spec, name, service)


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
    for name, service in spec.services.items():
        yield from service_warnings(name, service)


def service_warnings(name: str, service: Service) -> Found:
    where: KeyPath = ("services", name)
    if service.analysis is not None and (service.canary is None or not service.canary.analysis):
        yield (*where, "analysis"), "is never used: it runs only with canary.analysis = true"
    analysis = service.analysis
    if analysis is not None and analysis.count >= 1 and analysis.failure_limit >= analysis.count:
        yield (
            (*where, "analysis", "failure_limit"),
            f"the analysis can never fail: failure_limit ({analysis.failure_limit})"
            f" is not below count ({analysis.count})",
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
    return number.scaleb(int(suffix[1:]))


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
    if not spec.gitops.branch.strip() or any(c.isspace() for c in spec.gitops.branch):
        yield ("gitops", "branch"), f"{spec.gitops.branch!r} is not a git branch name"
    requirement = spec.gitops.generator
    if not requirement.strip() or "\n" in requirement or "\r" in requirement:
        yield (
            ("gitops", "generator"),
            f"{requirement!r} is not a pip requirement (e.g. 'gitopsgen[validate]==1.2.0')",
        )


def repo_problems(path: KeyPath, repo: str) -> Found:
    if not _GITHUB_REPO.fullmatch(repo):
        yield path, f"{repo!r} is not a GitHub repository: write 'owner/name'"


def check_cloud(cloud: Cloud) -> Found:
    if cloud.registry is not None and not _REGISTRY.fullmatch(cloud.registry):
        yield (
            ("cloud", "registry"),
            f"{cloud.registry!r} is not a registry: write a host name with an optional path,"
            " without a scheme (e.g. 'registry.example.com/team')",
        )
    if cloud.provider == "aws":
        yield from check_aws(cloud)
    else:
        yield from check_gcp(cloud)


def check_aws(cloud: Cloud) -> Found:
    if not _AWS_ACCOUNT.fullmatch(cloud.account):
        yield ("cloud", "account"), f"must be a 12-digit AWS account id, got {cloud.account!r}"
    if not _AWS_REGION.fullmatch(cloud.region):
        yield ("cloud", "region"), f"{cloud.region!r} is not an AWS region such as 'eu-west-1'"
    for key in GCP_ONLY:
        if getattr(cloud, key) is not None:
            yield ("cloud", key), "is only used with provider = 'gcp'"


def check_gcp(cloud: Cloud) -> Found:
    if not _GCP_PROJECT.fullmatch(cloud.account):
        yield (
            ("cloud", "account"),
            f"{cloud.account!r} is not a GCP project id (6 to 30 lowercase letters, digits"
            " and '-', starting with a letter)",
        )
    if not _GCP_REGION.fullmatch(cloud.region):
        yield ("cloud", "region"), f"{cloud.region!r} is not a GCP region such as 'europe-west1'"
    for key in GCP_ONLY:
        if getattr(cloud, key) is None:
            yield ("cloud", key), "missing required key: provider = 'gcp' needs it"
    repository = cloud.registry_repository
    if repository is not None and not _GCP_REPOSITORY.fullmatch(repository):
        yield (
            ("cloud", "registry_repository"),
            f"{repository!r} is not an Artifact Registry repository id (lowercase letters,"
            " digits and '-', starting with a letter)",
        )
    provider = cloud.workload_identity_provider
    if provider is not None and not _WORKLOAD_IDENTITY_PROVIDER.fullmatch(provider):
        yield (
            ("cloud", "workload_identity_provider"),
            f"{provider!r} is not the provider's full resource name: write 'projects/<project"
            " number>/locations/global/workloadIdentityPools/<pool>/providers/<provider>'",
        )
    account = cloud.service_account
    if account is not None and not _EMAIL.fullmatch(account):
        yield (
            ("cloud", "service_account"),
            f"{account!r} is not a service account email"
            " (e.g. 'ci@my-project.iam.gserviceaccount.com')",
        )


def check_platform(spec: Spec) -> Found:
    yield from owners_problems(("platform", "owners"), spec.platform.owners, required=True)
    try:
        timespec.check_timezone(spec.platform.timezone)
    except ValueError as exc:
        yield ("platform", "timezone"), str(exc)
    if not _URL.fullmatch(spec.platform.prometheus):
        yield (
            ("platform", "prometheus"),
            f"{spec.platform.prometheus!r} is not an http:// or https:// URL",
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
        yield from check_environment(spec, name, env)
    yield from promotion_problems(spec.environments)


def check_environment(spec: Spec, name: str, env: Environment) -> Found:
    where: KeyPath = ("environments", name)
    if not _URL.fullmatch(env.cluster):
        yield (*where, "cluster"), f"{env.cluster!r} is not the https:// URL of an API server"
    yield from _found((*where, "replicas"), at_least(env.replicas, 0))
    yield from _found((*where, "required_approvals"), at_least(env.required_approvals, 1))
    yield from owners_problems((*where, "approvers"), env.approvers, required=False)
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
            yield where, f"{PLATFORM_ROLE!r} is reserved for the platform team in sync_roles"
        yield from owners_problems((*where, "owners"), team.owners, required=True)


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
    if service.team not in spec.teams:
        yield (*where, "team"), unknown_name("team", service.team, spec.teams)
    if service.namespace is not None:
        yield from _found((*where, "namespace"), label_problem("namespace", service.namespace))
    if service.repo is not None:
        yield from repo_problems((*where, "repo"), service.repo)
    if service.image is not None and not _IMAGE_NAME.fullmatch(service.image):
        yield (
            (*where, "image"),
            f"{service.image!r} is not an image repository name (lowercase letters, digits,"
            " '.', '_', '-' and '/')",
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
    yield from variables_problems((*where, "config"), service.config)
    yield from hpa_problems((*where, "hpa"), service.hpa)
    yield from pdb_problems((*where, "pdb"), service.pdb)
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


def check_service_env(name: str, service: Service, env: str) -> Found:
    where: KeyPath = ("services", name, "envs", env)
    overrides = service.envs[env]
    if overrides.tag is not None:
        yield from _found((*where, "tag"), tag_problem(overrides.tag))
    if overrides.replicas is not None:
        yield from _found((*where, "replicas"), at_least(overrides.replicas, 0))
    yield from resources_problems((*where, "resources"), overrides.resources)
    yield from variables_problems((*where, "env"), overrides.env)
    yield from variables_problems((*where, "config"), overrides.config)
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


def variables_problems(where: KeyPath, variables: Mapping[str, str]) -> Found:
    for name in variables:
        if not _VARIABLE.fullmatch(name):
            yield (
                (*where, name),
                f"{name!r} is not a valid variable name (letters, digits and '_',"
                " not starting with a digit)",
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
    if resource == "memory" and text.endswith("m"):
        # Legal for Kubernetes, but 'm' is milli: "256m" is a quarter of a byte.
        return f"{text!r} means {value} bytes ('m' is milli); did you mean {text[:-1] + 'Mi'!r}?"
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
