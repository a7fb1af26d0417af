"""The services file as frozen attrs classes: exactly what the user wrote, before layering.

A field that is `None` was not written; `resolve` fills it from the layers below. Field names
are the TOML keys (cattrs maps them one to one), so a key path in an error message is the
attribute path here.
"""

from __future__ import annotations

from typing import Literal

from attrs import field, frozen

from generator.spec.versions import DEFAULT_KUBERNETES

Provider = Literal["aws", "gcp"]
WindowKind = Literal["allow", "deny"]
Traffic = Literal["alb", "istio", "replicas"]
TolerationOperator = Literal["Equal", "Exists"]
TaintEffect = Literal["NoSchedule", "PreferNoSchedule", "NoExecute"]


@frozen(kw_only=True)
class Gitops:
    repo: str
    branch: str = "main"
    # The gitopsgen the workflows install, pinned (spec/pin.py): required, no default, since
    # generated files never carry a version and an unpinned install runs whatever is served.
    generator: str | None = None
    # Paths under apps/, argocd/ and policies/ that gitopsgen did not write but may stay there
    # (globs: `*` within a folder, `**` any folders): `check` and `validate` report the others.
    allow_foreign: tuple[str, ...] = ()
    # Where the rendered tree goes, relative to the services file: what `-o` defaults to, for
    # a local build and the generated workflows alike. A gitops repository's tree is its root.
    output: str = "."


@frozen(kw_only=True)
class Cloud:
    provider: Provider
    region: str
    account: str
    registry: str | None = None
    registry_repository: str | None = None
    workload_identity_provider: str | None = None
    service_account: str | None = None


@frozen(kw_only=True)
class Platform:
    owners: tuple[str, ...]
    timezone: str = "UTC"
    prometheus: str = "http://prometheus.monitoring.svc:9090"
    # The releases the clusters run (the rendered objects depend on them; spec/versions.py).
    argocd_version: str = "3.5.1"
    kyverno_version: str = "1.19.0"
    # The Kubernetes minor they run: `validate` checks built-in kinds against its schemas.
    kubernetes_version: str = DEFAULT_KUBERNETES


@frozen(kw_only=True)
class Toleration:
    key: str | None = None
    operator: TolerationOperator = "Equal"
    value: str | None = None
    effect: TaintEffect | None = None
    toleration_seconds: int | None = None


@frozen(kw_only=True)
class SyncWindow:
    kind: WindowKind
    schedule: str
    duration: str
    manual_sync: bool = False


@frozen(kw_only=True)
class Retry:
    limit: int | None = None
    backoff: str | None = None
    factor: int | None = None
    max_duration: str | None = None


@frozen(kw_only=True)
class ResourceSide:
    cpu: str | None = None
    memory: str | None = None


@frozen(kw_only=True)
class Resources:
    requests: ResourceSide | None = None
    limits: ResourceSide | None = None


@frozen(kw_only=True)
class Environment:
    cluster: str
    auto_sync: bool = False
    replicas: int = 1
    create_namespace: bool = False
    promote_from: str | None = None
    approvers: tuple[str, ...] = ()
    required_approvals: int = 1
    sync_roles: tuple[str, ...] | None = None
    tolerations: tuple[Toleration, ...] = ()
    resources: Resources | None = None
    sync_windows: tuple[SyncWindow, ...] = ()
    retry: Retry | None = None


@frozen(kw_only=True)
class Team:
    owners: tuple[str, ...]


@frozen(kw_only=True)
class Hpa:
    min: int | None = None
    max: int | None = None
    cpu_utilization: int | None = None


@frozen(kw_only=True)
class Pdb:
    min_available: int | str | None = None
    max_unavailable: int | str | None = None


@frozen(kw_only=True)
class CanaryStep:
    weight: int
    pause: str | None = None


@frozen(kw_only=True)
class Canary:
    traffic: Traffic = "replicas"
    steps: tuple[CanaryStep, ...] = ()
    analysis: bool = False
    manual_gate: bool = False
    host: str | None = None


@frozen(kw_only=True)
class Analysis:
    success_rate: float | None = None
    latency_p99_ms: int | None = None
    error_logs: int | None = None
    interval: str = "60s"
    count: int = 5
    failure_limit: int = 1


@frozen(kw_only=True)
class ServiceEnv:
    """`[services.<name>.envs.<env>]`: the most specific layer."""

    tag: str | None = None
    # The image digest the tag named when it was recorded (`sha256:<64 hex>`): overlays deploy
    # it, so re-pushing the tag cannot change what runs.
    digest: str | None = None
    # The service is leaving this environment: its Application stays and deploys nothing, so a
    # sync within the environment's own rules prunes what it ran; then the entry can go.
    retired: bool = False
    replicas: int | None = None
    resources: Resources | None = None
    hpa: Hpa | None = None
    env: dict[str, str] = field(factory=dict)
    config: dict[str, str] = field(factory=dict)
    tolerations: tuple[Toleration, ...] | None = None


@frozen(kw_only=True)
class Service:
    team: str
    namespace: str | None = None
    repo: str | None = None
    image: str | None = None
    port: int = 8080
    liveness: str = "/healthz"
    readiness: str = "/ready"
    replicas: int | None = None
    resources: Resources | None = None
    env: dict[str, str] = field(factory=dict)
    config: dict[str, str] = field(factory=dict)
    # `config` keys whose values a rendered diff never shows (the PR comment, job summary).
    sensitive: tuple[str, ...] = ()
    hpa: Hpa | None = None
    pdb: Pdb | None = None
    tolerations: tuple[Toleration, ...] | None = None
    test_command: str | None = None
    dockerfile: str = "Dockerfile"
    canary: Canary | None = None
    analysis: Analysis | None = None
    envs: dict[str, ServiceEnv] = field(factory=dict)


@frozen(kw_only=True)
class Spec:
    gitops: Gitops
    cloud: Cloud
    platform: Platform
    environments: dict[str, Environment]
    teams: dict[str, Team] = field(factory=dict)
    services: dict[str, Service] = field(factory=dict)
