"""The services file as frozen attrs classes: exactly what the user wrote, before layering.

A field that is `None` was not written; `resolve` fills it from the layers below. Field names
are the TOML keys (cattrs maps them one to one), so a key path in an error message is the
attribute path here.

Each field's metadata holds its meaning (`about`), as README's key tables give it: the JSON
Schema that editors complete and check the file with (`gitopsgen schema`, spec/schema.py) is
generated from these classes, descriptions included. A class's docstring describes its table.
"""

from __future__ import annotations

from typing import Any, Literal

from attrs import field, frozen

from generator.spec.versions import DEFAULT_KUBERNETES

Provider = Literal["aws", "gcp"]
WindowKind = Literal["allow", "deny"]
Traffic = Literal["alb", "istio", "replicas"]
TolerationOperator = Literal["Equal", "Exists"]
TaintEffect = Literal["NoSchedule", "PreferNoSchedule", "NoExecute"]

DESCRIPTION = "description"


def about(description: str) -> dict[str, str]:
    """A field's metadata: what the key means (README's key tables say the same)."""
    return {DESCRIPTION: description}


@frozen(kw_only=True)
class Gitops:
    """`[gitops]`: the gitops repository that the rendered tree is the root of."""

    repo: str = field(
        metadata=about(
            "GitHub `owner/name` of the gitops repository; Argo CD reads"
            " `https://github.com/<repo>.git`."
        )
    )
    branch: str = field(
        default="main",
        metadata=about("The revision Argo CD tracks and pull requests merge into."),
    )
    # The gitopsgen the workflows install, pinned (spec/pin.py): required, no default, since
    # generated files never carry a version and an unpinned install runs whatever is served.
    generator: str | None = field(
        default=None,
        metadata=about(
            "Required. The gitopsgen the workflows install, pinned:"
            " `gitopsgen @ git+https://...@<40-hex commit>` or"
            " `gitopsgen==X.Y.Z --hash=sha256:<64 hex>` (no extra: the render check adds"
            " `[validate]`)."
        ),
    )
    # Paths under apps/, argocd/ and policies/ that gitopsgen did not write but may stay there
    # (globs: `*` within a folder, `**` any folders): `check` and `validate` report the others.
    allow_foreign: tuple[str, ...] = field(
        default=(),
        metadata=about(
            "Files under `apps/`, `argocd/` and `policies/` that gitopsgen did not write but"
            " may stay there: globs relative to the output directory, `*` and `?` within a"
            " folder, `**` as a whole folder name for any folders"
            ' (`["apps/legacy/**", "argocd/*-notes.md"]`).'
        ),
    )
    # Where the rendered tree goes, relative to the services file: what `-o` defaults to, for
    # a local build and the generated workflows alike. A gitops repository's tree is its root.
    output: str = field(
        default=".",
        metadata=about(
            "Where the tree goes, relative to the services file: what `-o` defaults to, and"
            " what the generated workflows use (they pass no `-o`). A gitops repository's"
            " tree is its root."
        ),
    )


@frozen(kw_only=True)
class Cloud:
    """`[cloud]`: where images live and how CI authenticates (no static credentials)."""

    provider: Provider = field(
        metadata=about(
            '`"aws"` (ECR, EKS, IAM OIDC) or `"gcp"` (Artifact Registry, GKE, Workload'
            " Identity Federation)."
        )
    )
    region: str = field(metadata=about("AWS region or GCP location."))
    account: str = field(metadata=about("AWS account id (12 digits) or GCP project id."))
    registry: str | None = field(
        default=None,
        metadata=about(
            "Where images live. Default: aws `<account>.dkr.ecr.<region>.amazonaws.com`;"
            " gcp `<region>-docker.pkg.dev/<account>/<registry_repository>`. On gcp each"
            " service's images live in `<registry>-<service>/<image>`."
        ),
    )
    registry_repository: str | None = field(
        default=None,
        metadata=about(
            "gcp: required. The prefix of the Artifact Registry repositories: service `S`"
            " pushes to `<registry_repository>-S`, which `terraform/` creates."
        ),
    )
    workload_identity_provider: str | None = field(
        default=None,
        metadata=about(
            "gcp: required. `projects/<number>/locations/global/workloadIdentityPools/"
            "<pool>/providers/<provider>`."
        ),
    )
    service_account: str | None = field(
        default=None,
        metadata=about(
            "No longer used (a warning): `terraform/` gives each service's CI its own account"
            " `github-ci-<service>@<account>.iam.gserviceaccount.com` and the intake"
            " `gitops-intake@<account>...`."
        ),
    )


@frozen(kw_only=True)
class Platform:
    """`[platform]`: the platform team and the releases its clusters run."""

    owners: tuple[str, ...] = field(
        metadata=about(
            "GitHub teams (`@org/team`, of the gitops repository's owner) owning"
            " `services.toml`, `argocd/`, `policies/`, `terraform/`, `.github/`, `ci/`; the"
            " ruleset requires one approval of each."
        )
    )
    timezone: str = field(
        default="UTC", metadata=about("IANA zone the sync windows are written in.")
    )
    prometheus: str = field(
        default="http://prometheus.monitoring.svc:9090",
        metadata=about("What the canary analysis queries."),
    )
    # The releases the clusters run (the rendered objects depend on them; spec/versions.py).
    argocd_version: str = field(
        default="3.5.1",
        metadata=about(
            "The Argo CD release the platform runs (`X.Y` or `X.Y.Z`): at least 3.3, whose"
            " AppProjects permit cluster-scoped objects by `name` (the guard's policy, the"
            " Namespaces Argo CD creates); an older one is refused."
        ),
    )
    kyverno_version: str = field(
        default="1.19.0",
        metadata=about(
            "The Kyverno release on every cluster: 1.17 or later renders the guard as a"
            " `policies.kyverno.io/v1` ValidatingPolicy, 1.13 to 1.16 as a `kyverno.io/v1`"
            " ClusterPolicy; below 1.13 is refused."
        ),
    )
    # The Kubernetes minor they run: `validate` checks built-in kinds against its schemas.
    kubernetes_version: str = field(
        default=DEFAULT_KUBERNETES,
        metadata=about(
            "The Kubernetes minor the clusters run: `validate` checks built-in kinds against"
            " its schemas (those `kubernetes-validate` ships)."
        ),
    )
    # How the clusters' OIDC or IAM mapping names a GitHub team as a Kubernetes group: the
    # subject of the teams' RoleBindings (render/namespaces.py).
    kubernetes_group: str = field(
        default="{org}:{team}",
        metadata=about(
            "The Kubernetes RBAC group of a GitHub team `@org/team`, as the clusters' OIDC or"
            " IAM mapping names it: `{org}` and `{team}` are replaced by the team's"
            " organisation and slug (the default `{org}:{team}` is what Dex's GitHub"
            ' connector sends; `"oidc:{org}:{team}"` for a groups prefix `oidc:`). The'
            " subject of each team's RoleBindings."
        ),
    )


@frozen(kw_only=True)
class Toleration:
    """A Kubernetes toleration, for every pod where it applies."""

    key: str | None = field(
        default=None,
        metadata=about("The taint key (a label key); none: every taint, with `Exists`."),
    )
    operator: TolerationOperator = field(
        default="Equal",
        metadata=about('`"Equal"` (the taint\'s value is `value`) or `"Exists"` (any value).'),
    )
    value: str | None = field(
        default=None,
        metadata=about("The taint value (a label value); not with `Exists`."),
    )
    effect: TaintEffect | None = field(
        default=None,
        metadata=about("The taint effect it tolerates; none: every effect."),
    )
    toleration_seconds: int | None = field(
        default=None,
        metadata=about(
            "How long the pod stays bound to a node with the taint; only with"
            ' `effect = "NoExecute"`.'
        ),
    )


@frozen(kw_only=True)
class SyncWindow:
    """`[[environments.<env>.sync_windows]]`: an Argo CD sync window."""

    kind: WindowKind = field(
        metadata=about('`"allow"` or `"deny"`: an active deny window beats everything.')
    )
    schedule: str = field(
        metadata=about(
            "5-field cron as Argo CD reads it (`minute hour day-of-month month day-of-week`,"
            " Sunday is 0), in `platform.timezone`."
        )
    )
    duration: str = field(
        metadata=about("Go duration: `30m`, `6h`, `1h30m` (`1d` is invalid: write `24h`).")
    )
    manual_sync: bool = field(
        default=False,
        metadata=about("Manual syncs pass the window (every active one must say so)."),
    )


@frozen(kw_only=True)
class Retry:
    """Argo CD's sync retry for an environment's Applications."""

    limit: int | None = field(
        default=None,
        metadata=about(
            "Retries of a failed sync (`-1`: for ever). Default: 3 in the first environment,"
            " 5 in later ones."
        ),
    )
    backoff: str | None = field(
        default=None,
        metadata=about(
            "The first wait (Go duration, or a number of seconds). Default: `5s` in the"
            " first environment, `10s` in later ones."
        ),
    )
    factor: int | None = field(
        default=None,
        metadata=about("What each wait is multiplied by. Default: 2."),
    )
    max_duration: str | None = field(
        default=None,
        metadata=about("The longest wait (Go duration, or seconds). Default: `3m`."),
    )


@frozen(kw_only=True)
class ResourceSide:
    """Kubernetes quantities of one side (`requests` or `limits`)."""

    cpu: str | None = field(default=None, metadata=about("CPU quantity: `250m`, `1`, `1.5`."))
    memory: str | None = field(
        default=None, metadata=about("Memory quantity: `512Mi`, `1Gi` (`m` is milli: refused).")
    )


@frozen(kw_only=True)
class Resources:
    """`{ requests = { cpu, memory }, limits = { cpu, memory } }`; each side replaces the
    layer below as a whole."""

    requests: ResourceSide | None = field(
        default=None,
        metadata=about("What the pod is scheduled by. Default: `100m` CPU, `128Mi` memory."),
    )
    limits: ResourceSide | None = field(
        default=None,
        metadata=about("The most the container may use. Default: `500m` CPU, `256Mi` memory."),
    )


@frozen(kw_only=True)
class Quota:
    """`quota`: the namespace's ResourceQuota, the most all its pods together may request
    and use (each key optional, at least one)."""

    requests: ResourceSide | None = field(
        default=None,
        metadata=about(
            "The most the pods' requests may add up to (`requests.cpu`, `requests.memory`)."
        ),
    )
    limits: ResourceSide | None = field(
        default=None,
        metadata=about("The most the pods' limits may add up to (`limits.cpu`, `limits.memory`)."),
    )
    pods: int | None = field(
        default=None, metadata=about("The most pods the namespace may hold (at least 1).")
    )


@frozen(kw_only=True)
class LimitRange:
    """`limit_range`: the namespace's LimitRange for containers (each key optional, at least
    one): a container outside `min`..`max` is refused at admission."""

    default_request: ResourceSide | None = field(
        default=None,
        metadata=about(
            "The request of a container that sets none (gitopsgen's containers always set"
            " theirs: this reaches injected sidecars and pods made by hand)."
        ),
    )
    default: ResourceSide | None = field(
        default=None, metadata=about("The limit of a container that sets none.")
    )
    min: ResourceSide | None = field(
        default=None, metadata=about("The least a container may request.")
    )
    max: ResourceSide | None = field(
        default=None, metadata=about("The most a container may have as its limit.")
    )


@frozen(kw_only=True)
class NamespaceSettings:
    """`[environments.<env>.namespaces.<namespace>]`: what the platform Application adds to
    one namespace that services use in this environment."""

    quota: Quota | None = field(
        default=None,
        metadata=about(
            "`{ requests = { cpu, memory }, limits = { cpu, memory }, pods }`: a ResourceQuota."
            " Default: none."
        ),
    )
    limit_range: LimitRange | None = field(
        default=None,
        metadata=about(
            "`{ default_request, default, min, max }`, each `{ cpu, memory }`: a LimitRange"
            " for containers. Default: none."
        ),
    )


@frozen(kw_only=True)
class Environment:
    """`[environments.<env>]`, in promotion order: one Argo CD AppProject, one overlay per
    service. The table name is the environment's name (a DNS-1123 label)."""

    cluster: str = field(metadata=about("The API server URL Argo CD deploys to."))
    auto_sync: bool = field(
        default=False, metadata=about("Argo CD automated sync with prune and selfHeal.")
    )
    replicas: int = field(default=1, metadata=about("Default replica count for services here."))
    create_namespace: bool = field(
        default=False,
        metadata=about("Argo CD creates namespaces (and the AppProject permits Namespace)."),
    )
    promote_from: str | None = field(
        default=None,
        metadata=about(
            "The environment whose tag `gitopsgen promote` copies; no cycles. Default: none."
        ),
    )
    approvers: tuple[str, ...] = field(
        default=(),
        metadata=about(
            "CODEOWNERS of every overlay of this environment, and its required reviewers in"
            " the gitops branch's ruleset (`terraform/github.tf`): teams of the gitops"
            " repository's owner only; none: each service's team (not required)."
        ),
    )
    required_approvals: int = field(
        default=1,
        metadata=about(
            "Approvals each approver team must give (1-10, the ruleset's limit); stated in"
            " the promotion pull request."
        ),
    )
    sync_roles: tuple[str, ...] | None = field(
        default=None,
        metadata=about(
            "Who may sync here (team names or `platform`), and run the Rollout actions"
            " (resume, promote, abort, retry) on canaries; only those named; none: every team"
            " syncs its own and the platform all."
        ),
    )
    tolerations: tuple[Toleration, ...] = field(
        default=(),
        metadata=about(
            '`[{ key, operator = "Equal"|"Exists", value, effect, toleration_seconds }]`'
            " for every pod here."
        ),
    )
    resources: Resources | None = field(
        default=None,
        metadata=about("Default `requests`/`limits` for services here."),
    )
    sync_windows: tuple[SyncWindow, ...] = field(
        default=(),
        metadata=about(
            'Argo CD sync windows: `kind = "allow"|"deny"`, `schedule` (5-field cron),'
            " `duration` (Go duration), `manual_sync = false`."
        ),
    )
    namespaces: dict[str, NamespaceSettings] = field(
        factory=dict,
        metadata=about(
            "Per namespace that services use here: its `quota` (a ResourceQuota) and"
            " `limit_range` (a LimitRange), deployed with the namespace by the platform"
            " Application. Default: none."
        ),
    )
    retry: Retry | None = field(
        default=None,
        metadata=about(
            'Argo CD sync retry. Default: first environment `{ limit = 3, backoff = "5s" }`,'
            ' later ones `{ limit = 5, backoff = "10s" }`; `factor = 2`,'
            ' `max_duration = "3m"`.'
        ),
    )
    # Promotion after automated tests: Argo CD Notifications dispatches the promote workflow
    # into this environment once a service's smoke test passed in `promote_from`.
    auto_propose: bool | None = field(
        default=None,
        metadata=about(
            "With `promote_from`: once a service's smoke test has passed in `promote_from`"
            " (its Application Synced and Healthy, its PostSync hook succeeded), Argo CD"
            " Notifications dispatches the promote workflow, which opens the promotion pull"
            " request here; `false`: promotions here are started by hand only. Default: true"
            " where `promote_from` is set (the first environment has nothing promoting into"
            " it: a warning)."
        ),
    )


@frozen(kw_only=True)
class Team:
    """`[teams.<team>]`: a team owning services. The table name is the team's name (a
    DNS-1123 label)."""

    owners: tuple[str, ...] = field(
        metadata=about(
            "GitHub teams of the team: CODEOWNERS of its bases and dev overlays, SSO groups of"
            " its Argo CD roles (a user may stand beside a team, for CODEOWNERS; a team of"
            " users only is refused)."
        )
    )


@frozen(kw_only=True)
class Hpa:
    """`{ min = 1, max, cpu_utilization = 80 }`: an HPA owns the replica count; an
    environment's entry merges key by key over the service's."""

    min: int | None = field(default=None, metadata=about("Fewest replicas. Default: 1."))
    max: int | None = field(default=None, metadata=about("Most replicas. Default: `min`."))
    cpu_utilization: int | None = field(
        default=None,
        metadata=about("Target average CPU utilization, in percent of the request. Default: 80."),
    )


@frozen(kw_only=True)
class Pdb:
    """`{ min_available }` or `{ max_unavailable }`: the service's PodDisruptionBudget."""

    min_available: int | str | None = field(
        default=None,
        metadata=about('Pods that must stay available: an integer or a percentage (`"50%"`).'),
    )
    max_unavailable: int | str | None = field(
        default=None,
        metadata=about('Pods that may be unavailable: an integer or a percentage (`"25%"`).'),
    )


@frozen(kw_only=True)
class CanaryStep:
    """One canary step: the canary's traffic weight, then a pause."""

    weight: int = field(
        metadata=about("The canary's share of traffic, 1-99, increasing from step to step.")
    )
    pause: str | None = field(
        default=None,
        metadata=about("How long to wait at this weight (a duration of at least `1s`)."),
    )


@frozen(kw_only=True)
class Canary:
    """`[services.<name>.canary]`: an Argo Rollout replaces the Deployment."""

    traffic: Traffic = field(
        default="replicas",
        metadata=about(
            '`"alb"` (the AWS load balancer), `"istio"`, or `"replicas"` (no router: canary'
            " and stable replica counts approximate the weight)."
        ),
    )
    steps: tuple[CanaryStep, ...] = field(
        default=(),
        metadata=about(
            "At least one `{ weight, pause }`: each renders as setWeight, then the pause,"
            " then the analysis."
        ),
    )
    analysis: bool = field(
        default=False,
        metadata=about("Run the AnalysisTemplate (`[services.<name>.analysis]`) after each step."),
    )
    manual_gate: bool = field(
        default=False,
        metadata=about(
            "Wait for `kubectl argo rollouts promote <service>` (or the Argo CD action)"
            " before 100%."
        ),
    )
    host: str | None = field(
        default=None,
        metadata=about("alb only, optional: the Ingress rule's host. Default: any host."),
    )


@frozen(kw_only=True)
class Analysis:
    """`[services.<name>.analysis]`: the canary's AnalysisTemplate; each metric is optional,
    and `canary.analysis = true` needs at least one."""

    success_rate: float | None = field(
        default=None,
        metadata=about("Share of 2xx responses (above 0, at most 1): passes at or above."),
    )
    latency_p99_ms: int | None = field(
        default=None, metadata=about("p99 latency in milliseconds: passes below.")
    )
    error_logs: int | None = field(
        default=None, metadata=about("Error log lines over 5 minutes: passes below.")
    )
    interval: str = field(default="60s", metadata=about("Time between measurements."))
    count: int = field(default=5, metadata=about("Measurements per analysis step."))
    failure_limit: int = field(
        default=1,
        metadata=about(
            "Failed measurements tolerated: one more fails the analysis; at most `count`."
        ),
    )


@frozen(kw_only=True)
class SmokeTest:
    """`smoke_test = { image, command, deadline, retries }`: a test that runs after every sync
    of the service's Application, as an Argo CD PostSync hook Job; an environment's entry
    merges key by key over the service's."""

    image: str | None = field(
        default=None,
        metadata=about(
            "The test's image, pinned by digest: `<repository>@sha256:<64 hex>` or"
            " `<repository>:<tag>@sha256:<64 hex>`. Required (here or in the service's"
            " entry)."
        ),
    )
    command: tuple[str, ...] | None = field(
        default=None,
        metadata=about(
            "The command the test runs, as an argument list (no shell):"
            ' `["/smoke", "--url", "http://orders-api"]`. Required. It runs as a non-root'
            " user, on a read-only root filesystem with a writable `/tmp`, with `SERVICE_URL`"
            " set to the service's in-cluster URL when it has a port."
        ),
    )
    deadline: str | None = field(
        default=None,
        metadata=about(
            "How long the test may run in all, retries included (Go duration, whole seconds,"
            " at least `10s`): the Job's `activeDeadlineSeconds`. Default: `5m`."
        ),
    )
    retries: int | None = field(
        default=None,
        metadata=about(
            "How many times a failed test is run again (0-10): the Job's `backoffLimit`."
            " Default: 0."
        ),
    )
    enabled: bool | None = field(
        default=None,
        metadata=about("`false` in an environment's entry: no smoke test there. Default: true."),
    )


@frozen(kw_only=True)
class Chart:
    """`[services.<name>.chart]`: the service is a Helm chart, deployed by an Argo CD
    Application with two sources: the chart, and the gitops repository (`ref: values`) whose
    `values.yaml` and `values-<env>.yaml` it reads. No Kustomize base or overlay."""

    repository: str = field(
        metadata=about(
            "The chart repository: `https://...` (a Helm repository with an `index.yaml`) or"
            " `oci://<registry>/<path>` (the chart is `<path>/<name>` there)."
        )
    )
    name: str = field(metadata=about("The chart's name in that repository."))
    version: str = field(
        metadata=about(
            "The exact chart version (`X.Y.Z`, SemVer): never a range, `latest` or empty."
        )
    )
    tag_key: str = field(
        default="image.tag",
        metadata=about("The values key (dotted path) that receives the environment's `tag`."),
    )
    digest_key: str = field(
        default="image.digest",
        metadata=about(
            'The values key that receives the environment\'s `digest`; `""`: the chart has'
            " none, and `tag_key` receives `<tag>@<digest>`."
        ),
    )
    repository_key: str | None = field(
        default=None,
        metadata=about(
            'The values key that receives the image repository `<registry>/<image>`; `""`:'
            " none (the chart's own image). Default: `image.repository` when the service has a"
            " `repo` (CI builds its image), none otherwise."
        ),
    )


@frozen(kw_only=True)
class ServiceEnv:
    """`[services.<name>.envs.<env>]`: the most specific layer."""

    tag: str | None = field(
        default=None,
        metadata=about(
            "The image tag deployed there; no tag: not deployed there (no overlay, no"
            " Application); never `latest` or empty."
        ),
    )
    # The image digest the tag named when it was recorded (`sha256:<64 hex>`): overlays deploy
    # it, so re-pushing the tag cannot change what runs.
    digest: str | None = field(
        default=None,
        metadata=about(
            "The image digest the tag named when it was pushed,"
            ' `"sha256:<64 lowercase hex digits>"`; the overlay deploys'
            " `<image>:<tag>@<digest>`. Needs `tag`. Without it the tag alone is deployed,"
            " with a warning (record it with"
            " `gitopsgen set-image SERVICE ENV TAG --digest sha256:...`)."
        ),
    )
    # The service is leaving this environment: its Application stays and deploys nothing, so a
    # sync within the environment's own rules prunes what it ran; then the entry can go.
    retired: bool = field(
        default=False,
        metadata=about(
            "`true`: the service is leaving this environment. Its Application stays, its"
            " overlay is empty, so a sync there prunes what it ran; then remove the entry."
        ),
    )
    replicas: int | None = field(
        default=None,
        metadata=about("Replica count here (ignored where an HPA owns replicas)."),
    )
    resources: Resources | None = field(
        default=None,
        metadata=about("Resources here: each side replaces the service's."),
    )
    hpa: Hpa | None = field(
        default=None,
        metadata=about("Merges key by key over the service's `hpa`, which must exist."),
    )
    env: dict[str, str] = field(
        factory=dict,
        metadata=about("Plain environment variables here, merged over the service's."),
    )
    config: dict[str, str] = field(
        factory=dict,
        metadata=about("ConfigMap variables here, merged over the service's (and win over `env`)."),
    )
    tolerations: tuple[Toleration, ...] | None = field(
        default=None,
        metadata=about("Tolerations here, replacing the service's and the environment's."),
    )
    smoke_test: SmokeTest | None = field(
        default=None,
        metadata=about(
            "The smoke test here: merges key by key over the service's `smoke_test`"
            " (`{ enabled = false }`: none here)."
        ),
    )
    values: dict[str, Any] = field(
        factory=dict,
        metadata=about(
            "Helm values here (`chart` only): `values-<env>.yaml`, merged key by key over the"
            " service's `values` (tables merge, anything else replaces)."
        ),
    )
    chart_version: str | None = field(
        default=None,
        metadata=about(
            "The chart version here (`chart` only; exact, like `chart.version`, which it"
            " replaces in this environment): a chart upgrade rolled out environment by"
            " environment."
        ),
    )


@frozen(kw_only=True)
class Service:
    """`[services.<name>]`: the table name is the service's name (a DNS-1123 label): the
    folder `apps/<name>/`, the workload, its Service and ServiceAccount, the Applications
    `<name>-<env>`."""

    team: str = field(metadata=about("A team under `[teams]`."))
    namespace: str | None = field(
        default=None, metadata=about("Kubernetes namespace. Default: the service's name.")
    )
    repo: str | None = field(
        default=None,
        metadata=about(
            "App repository (`owner/name`, same owner as the gitops repository, not the gitops"
            " repository) whose CI builds the image: gets `ci/<name>.yaml` and a CI identity."
        ),
    )
    image: str | None = field(
        default=None,
        metadata=about("Registry repository name. Default: the service's name."),
    )
    port: int = field(
        default=8080,
        metadata=about(
            "Container port; a Service on port 80 targets it; `0`: no port, no Service, no probes."
        ),
    )
    liveness: str = field(default="/healthz", metadata=about("HTTP liveness probe path."))
    readiness: str = field(default="/ready", metadata=about("HTTP readiness probe path."))
    replicas: int | None = field(
        default=None,
        metadata=about(
            "Replica count (ignored where an HPA owns replicas). Default: the environment's."
        ),
    )
    resources: Resources | None = field(
        default=None,
        metadata=about(
            "`{ requests = { cpu, memory }, limits = { cpu, memory } }`. Default: requests"
            " `100m`/`128Mi`, limits `500m`/`256Mi`."
        ),
    )
    env: dict[str, str] = field(factory=dict, metadata=about("Plain environment variables."))
    config: dict[str, str] = field(
        factory=dict,
        metadata=about(
            "Variables delivered through a generated, hashed ConfigMap (`envFrom`); a change"
            " rolls the pods."
        ),
    )
    # `config` or `env` keys whose values a rendered diff never shows (the PR comment, summary).
    sensitive: tuple[str, ...] = field(
        default=(),
        metadata=about(
            "`config` or `env` keys (of any layer) whose values a rendered diff never shows"
            " (nor those the base's services file marked): the PR comment, job summary and"
            " terminal say only that the value changed."
        ),
    )
    hpa: Hpa | None = field(
        default=None,
        metadata=about("`{ min = 1, max, cpu_utilization = 80 }`: an HPA owns the replica count."),
    )
    pdb: Pdb | None = field(
        default=None,
        metadata=about(
            "`{ min_available }` or `{ max_unavailable }`, an integer or a percentage; one"
            " that allows no disruption at an environment's replica count (or the HPA's"
            " `max`) is refused. Default: `{ max_unavailable = 1 }`."
        ),
    )
    tolerations: tuple[Toleration, ...] | None = field(
        default=None,
        metadata=about("As for environments. Default: the environment's."),
    )
    test_command: str | None = field(
        default=None, metadata=about("What the app's CI runs before building.")
    )
    dockerfile: str = field(default="Dockerfile", metadata=about("The Dockerfile CI builds."))
    canary: Canary | None = field(
        default=None,
        metadata=about("An Argo Rollout replaces the Deployment: see README, *Canary releases*."),
    )
    smoke_test: SmokeTest | None = field(
        default=None,
        metadata=about(
            "`{ image, command, deadline, retries }`: a test run after every sync of each"
            " Application as an Argo CD PostSync hook Job; its success lets Argo CD"
            " Notifications propose the promotion to the next environment (see README,"
            " *Promotion after automated tests*)."
        ),
    )
    analysis: Analysis | None = field(
        default=None,
        metadata=about("The canary's AnalysisTemplate: see README, *Canary releases*."),
    )
    chart: Chart | None = field(
        default=None,
        metadata=about(
            "A Helm chart instead of a Kustomize base: see README, *Helm charts*. Its"
            " workload keys (port, probes, replicas, resources, env, config, hpa, pdb,"
            " tolerations, canary) are refused: the chart's values set them."
        ),
    )
    values: dict[str, Any] = field(
        factory=dict,
        metadata=about(
            "Helm values of every environment (`chart` only), rendered as"
            " `apps/<name>/base/values.yaml`."
        ),
    )
    envs: dict[str, ServiceEnv] = field(
        factory=dict,
        metadata=about(
            "Per environment: the tag deployed there (and its digest), and overrides of the"
            " service's values."
        ),
    )


@frozen(kw_only=True)
class Spec:
    """A gitopsgen services file: one declarative file that compiles into the whole GitOps
    repository Argo CD deploys from."""

    gitops: Gitops = field(metadata=about("The gitops repository."))
    cloud: Cloud = field(metadata=about("Where images live and how CI authenticates."))
    platform: Platform = field(metadata=about("The platform team and the releases it runs."))
    environments: dict[str, Environment] = field(
        metadata=about(
            "Environments, in promotion order: at least one. Values resolve in layers:"
            " built-in defaults, then the environment, then the service, then the service's"
            " entry for the environment."
        )
    )
    teams: dict[str, Team] = field(
        factory=dict, metadata=about("Teams own services (`[services.<name>] team`).")
    )
    services: dict[str, Service] = field(
        factory=dict,
        metadata=about("Services: one table each; everything not written has a default."),
    )
