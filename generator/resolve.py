"""Resolve: layer built-in defaults, environment defaults, the service and its per-env table.

The result is what every renderer reads: no renderer applies a default of its own.
"""

from __future__ import annotations

from typing import Any, TypeVar

from attrs import evolve, field, frozen

from generator.naming import artifact_repository_id, ecr_registry_host
from generator.smoketest import ResolvedSmokeTest, resolve_smoke_test
from generator.spec import pin
from generator.spec.model import (
    Analysis,
    Canary,
    Chart,
    Environment,
    Hpa,
    Pdb,
    Resources,
    Service,
    ServiceEnv,
    Spec,
    SyncWindow,
    Toleration,
)
from generator.spec.pin import GeneratorPin

DEFAULT_REQUESTS = {"cpu": "100m", "memory": "128Mi"}
DEFAULT_LIMITS = {"cpu": "500m", "memory": "256Mi"}
DEFAULT_CPU_UTILIZATION = 80
FIRST_ENV_RETRY = (3, "5s")  # the first environment in promotion order retries fast and briefly
LATER_ENV_RETRY = (5, "10s")

T = TypeVar("T")


@frozen(kw_only=True)
class ResolvedRetry:
    limit: int
    backoff: str
    factor: int
    max_duration: str


@frozen(kw_only=True)
class ResolvedEnv:
    name: str
    cluster: str
    auto_sync: bool
    create_namespace: bool
    promote_from: str | None
    approvers: tuple[str, ...]
    required_approvals: int
    sync_roles: tuple[str, ...] | None
    sync_windows: tuple[SyncWindow, ...]
    retry: ResolvedRetry
    # Argo CD Notifications proposes promotions here once a smoke test passed in promote_from.
    auto_propose: bool = False


@frozen(kw_only=True)
class ResolvedHpa:
    min: int
    max: int
    cpu_utilization: int


@frozen(kw_only=True)
class ResolvedResources:
    requests: dict[str, str]
    limits: dict[str, str]


@frozen(kw_only=True)
class ResolvedChart:
    """A Helm chart service's chart: where Argo CD fetches it, and which values keys receive
    the environment's image (a key `None`: the chart's values are left alone there)."""

    repository: str  # as written: https://... or oci://...
    name: str
    version: str
    tag_key: str
    digest_key: str | None
    repository_key: str | None

    @property
    def is_oci(self) -> bool:
        return self.repository.startswith(OCI_SCHEME)

    @property
    def repo_url(self) -> str:
        """The Application source's `repoURL`: a Helm repository over OCI is written without
        the scheme, with `chart` naming the chart (Argo CD docs, user-guide/helm.md: "the oci://
        syntax is not included"); the repository is registered with `enableOCI`."""
        return self.repository.removeprefix(OCI_SCHEME) if self.is_oci else self.repository

    @property
    def reference(self) -> str:
        """What `helm pull` takes: `oci://<registry>/<path>/<name>`, or the name alone (with
        the repository URL beside it)."""
        return f"{self.repository.rstrip('/')}/{self.name}" if self.is_oci else self.name


OCI_SCHEME = "oci://"


@frozen(kw_only=True)
class Placement:
    """A service in one environment where it has a tag: one overlay, one Application."""

    env: str
    tag: str
    digest: str | None  # what the overlay deploys, when the services file records it
    replicas: int
    hpa: ResolvedHpa | None
    resources: ResolvedResources
    tolerations: tuple[Toleration, ...]
    env_vars: tuple[tuple[str, str], ...]
    config: tuple[tuple[str, str], ...]
    smoke_test: ResolvedSmokeTest | None = None  # the PostSync hook Job, where there is one
    chart: ResolvedChart | None = None  # a chart's, at this environment's version
    # a chart's values here (values-<env>.yaml), image keys included
    values: dict[str, Any] = field(factory=dict)


@frozen(kw_only=True)
class ResolvedService:
    name: str
    team: str
    namespace: str
    repo: str | None
    image: str  # <registry>/<image>, without a tag
    image_name: str  # the registry repository name alone
    port: int
    liveness: str
    readiness: str
    resources: ResolvedResources
    hpa: ResolvedHpa | None
    pdb: Pdb
    canary: Canary | None
    analysis: Analysis | None
    test_command: str | None
    dockerfile: str
    placements: tuple[Placement, ...]  # in promotion order
    retired: tuple[str, ...]  # environments it is leaving (an empty overlay), promotion order
    prometheus: str  # platform.prometheus: where canary analysis queries go
    sensitive: frozenset[str] = frozenset()  # config keys a rendered diff never shows
    chart: ResolvedChart | None = None  # a Helm chart: no Kustomize base or overlays
    values: dict[str, Any] = field(
        factory=dict
    )  # a chart's values of every environment (values.yaml)

    @property
    def application_envs(self) -> frozenset[str]:
        """Where it has an Application: placed there, or retiring from there."""
        return frozenset(p.env for p in self.placements) | frozenset(self.retired)

    @property
    def workload_kind(self) -> str:
        """A `[canary]` table makes Argo Rollouts own the pods instead of a Deployment."""
        return "Rollout" if self.canary is not None else "Deployment"


@frozen(kw_only=True)
class Model:
    spec: Spec
    registry: str
    environments: tuple[ResolvedEnv, ...]  # in promotion order
    services: tuple[ResolvedService, ...]  # sorted by name
    generator: GeneratorPin  # the gitopsgen the workflows install

    def environment(self, name: str) -> ResolvedEnv:
        return next(env for env in self.environments if env.name == name)


def resolve(spec: Spec) -> Model:
    """The layered model of a checked spec."""
    order = promotion_order(spec.environments)
    environments = tuple(
        _resolve_env(name, spec.environments[name], first=i == 0) for i, name in enumerate(order)
    )
    registry = registry_of(spec)
    services = tuple(
        _resolve_service(name, spec.services[name], spec, order, registry)
        for name in sorted(spec.services)
    )
    return Model(
        spec=spec,
        registry=registry,
        environments=environments,
        services=services,
        generator=generator_pin(spec),
    )


def generator_pin(spec: Spec) -> GeneratorPin:
    parsed = pin.parse(spec.gitops.generator or "")
    if isinstance(parsed, str):  # the checks refuse such a file before it is resolved
        raise ValueError(parsed)
    return parsed


def promotion_order(environments: dict[str, Environment]) -> list[str]:
    """Environments ordered so that each comes after the one it is promoted from.

    Ties keep the order of the file. Assumes no cycle (the checks reject one).
    """
    placed: list[str] = []
    remaining = list(environments)
    while remaining:
        ready = [
            n
            for n in remaining
            if environments[n].promote_from is None
            or environments[n].promote_from in placed
            or environments[n].promote_from not in environments
        ]
        if not ready:  # a cycle: keep file order rather than loop for ever
            ready = remaining[:1]
        placed.append(ready[0])
        remaining.remove(ready[0])
    return placed


def registry_of(spec: Spec) -> str:
    cloud = spec.cloud
    if cloud.registry:
        return cloud.registry
    if cloud.provider == "aws":
        return ecr_registry_host(cloud.account, cloud.region)
    return f"{cloud.region}-docker.pkg.dev/{cloud.account}/{cloud.registry_repository}"


def image_repository_of(spec: Spec, registry: str, service: str) -> str:
    """Where a service's images live: the registry, or on Google Cloud the service's own
    Artifact Registry repository `<registry>-<service>` (IAM is per repository there, so
    only a repository of its own lets a service's CI push that service's images alone)."""
    if spec.cloud.provider != "gcp":
        return registry
    parent, _, prefix = registry.rpartition("/")
    return f"{parent}/{artifact_repository_id(prefix, service)}"


def _resolve_env(name: str, env: Environment, *, first: bool) -> ResolvedEnv:
    limit, backoff = FIRST_ENV_RETRY if first else LATER_ENV_RETRY
    retry = env.retry
    return ResolvedEnv(
        name=name,
        cluster=env.cluster,
        auto_sync=env.auto_sync,
        create_namespace=env.create_namespace,
        promote_from=env.promote_from,
        approvers=env.approvers,
        required_approvals=env.required_approvals,
        sync_roles=env.sync_roles,
        sync_windows=env.sync_windows,
        retry=ResolvedRetry(
            limit=retry.limit if retry and retry.limit is not None else limit,
            backoff=retry.backoff if retry and retry.backoff else backoff,
            factor=retry.factor if retry and retry.factor is not None else 2,
            max_duration=retry.max_duration if retry and retry.max_duration else "3m",
        ),
        auto_propose=env.promote_from is not None and env.auto_propose is not False,
    )


def _resolve_service(
    name: str, service: Service, spec: Spec, order: list[str], registry: str
) -> ResolvedService:
    image_name = service.image or name
    base_resources = layer_resources(None, service.resources)
    image = f"{image_repository_of(spec, registry, name)}/{image_name}"
    chart = resolve_chart(service)
    placements = tuple(
        _place(env, spec.environments[env], service, service.envs[env], image, chart)
        for env in order
        if env in service.envs and service.envs[env].tag and not service.envs[env].retired
    )
    retired = tuple(env for env in order if env in service.envs and service.envs[env].retired)
    return ResolvedService(
        name=name,
        team=service.team,
        namespace=service.namespace or name,
        repo=service.repo,
        image=image,
        image_name=image_name,
        port=service.port,
        liveness=service.liveness,
        readiness=service.readiness,
        resources=base_resources,
        hpa=merge_hpa(service.hpa, None),
        pdb=service.pdb or Pdb(max_unavailable=1),
        canary=service.canary,
        analysis=service.analysis,
        test_command=service.test_command,
        dockerfile=service.dockerfile,
        placements=placements,
        retired=retired,
        prometheus=spec.platform.prometheus,
        sensitive=frozenset(service.sensitive),
        chart=chart,
        values=service.values,
    )


def resolve_chart(service: Service) -> ResolvedChart | None:
    chart: Chart | None = service.chart
    if chart is None:
        return None
    default_repository = "image.repository" if service.repo else ""
    repository_key = (
        chart.repository_key if chart.repository_key is not None else default_repository
    )
    return ResolvedChart(
        repository=chart.repository,
        name=chart.name,
        version=chart.version,
        tag_key=chart.tag_key,
        digest_key=chart.digest_key or None,
        repository_key=repository_key or None,
    )


def image_values(chart: ResolvedChart, image: str, tag: str, digest: str | None) -> dict[str, Any]:
    """The values that deploy one environment's image: its tag and digest (and the repository
    where CI pushes it) at the chart's keys. A chart without a digest key gets
    `<tag>@<digest>` as the tag, which a chart writing `<repository>:<tag>` deploys by digest."""
    pairs: list[tuple[str, str]] = []
    if chart.repository_key is not None:
        pairs.append((chart.repository_key, image))
    if digest is not None and chart.digest_key is not None:
        pairs += [(chart.tag_key, tag), (chart.digest_key, digest)]
    else:
        pairs.append((chart.tag_key, f"{tag}@{digest}" if digest is not None else tag))
    values: dict[str, Any] = {}
    for key, value in pairs:
        *parents, leaf = key.split(".")
        table = values
        for part in parents:
            table = table.setdefault(part, {})
        table[leaf] = value
    return values


def merge_values(below: dict[str, Any], above: dict[str, Any]) -> dict[str, Any]:
    """Helm's coalescing of two values layers: tables merge key by key, anything else in
    `above` replaces what `below` has (helm.sh/helm pkg/chart/common/util/coalesce.go)."""
    merged = dict(below)
    for key, value in above.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge_values(merged[key], value)
        else:
            merged[key] = value
    return merged


def _place(  # noqa: PLR0917 (the layers of one placement)
    name: str,
    env: Environment,
    service: Service,
    overrides: ServiceEnv,
    image: str,
    chart: ResolvedChart | None,
) -> Placement:
    replicas = _first_set(overrides.replicas, service.replicas, env.replicas)
    tolerations = _first_set(overrides.tolerations, service.tolerations, env.tolerations)
    env_vars, config = split_env_and_config(service, overrides)
    assert overrides.tag is not None
    values = overrides.values
    if chart is not None:
        values = merge_values(values, image_values(chart, image, overrides.tag, overrides.digest))
        if overrides.chart_version is not None:
            chart = evolve(chart, version=overrides.chart_version)
    return Placement(
        env=name,
        tag=overrides.tag,
        digest=overrides.digest,
        replicas=replicas,
        hpa=merge_hpa(service.hpa, overrides.hpa),
        resources=layer_resources(env.resources, service.resources, overrides.resources),
        tolerations=tolerations,
        env_vars=env_vars,
        config=config,
        smoke_test=resolve_smoke_test(service.smoke_test, overrides.smoke_test),
        chart=chart,
        values=values,
    )


def _first_set(*values: T | None) -> T:
    for value in values:
        if value is not None:
            return value
    raise ValueError("no layer sets this value")


def merge_hpa(service: Hpa | None, override: Hpa | None) -> ResolvedHpa | None:
    """Key-by-key merge; an HPA exists only where the service declares one."""
    if service is None:
        return None
    low = _first_set(override.min if override else None, service.min, 1)
    high = _first_set(override.max if override else None, service.max, low)
    cpu = _first_set(
        override.cpu_utilization if override else None,
        service.cpu_utilization,
        DEFAULT_CPU_UTILIZATION,
    )
    return ResolvedHpa(min=low, max=high, cpu_utilization=cpu)


def layer_resources(*layers: Resources | None) -> ResolvedResources:
    """`requests` and `limits` each replace the layer below as a whole."""
    requests, limits = DEFAULT_REQUESTS, DEFAULT_LIMITS
    for layer in layers:
        if layer is None:
            continue
        if layer.requests is not None:
            requests = _side(layer.requests.cpu, layer.requests.memory)
        if layer.limits is not None:
            limits = _side(layer.limits.cpu, layer.limits.memory)
    return ResolvedResources(requests=dict(requests), limits=dict(limits))


def _side(cpu: str | None, memory: str | None) -> dict[str, str]:
    side = {}
    if cpu is not None:
        side["cpu"] = cpu
    if memory is not None:
        side["memory"] = memory
    return side


def split_env_and_config(
    service: Service, overrides: ServiceEnv
) -> tuple[tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]]:
    """Plain env vars and ConfigMap entries, each name in exactly one of them.

    Kubernetes lets `env` beat `envFrom`, so a name set in both would silently ignore the
    ConfigMap. Instead the most specific layer wins: service env < service config < the
    environment's env < the environment's config.
    """
    layers = (
        ("env", service.env),
        ("config", service.config),
        ("env", overrides.env),
        ("config", overrides.config),
    )
    winner: dict[str, tuple[str, str]] = {}
    for kind, values in layers:
        for key, value in values.items():
            winner[key] = (kind, value)
    env_vars = tuple(sorted((k, v) for k, (kind, v) in winner.items() if kind == "env"))
    config = tuple(sorted((k, v) for k, (kind, v) in winner.items() if kind == "config"))
    return env_vars, config
