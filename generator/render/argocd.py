"""Argo CD: the ApplicationSet, AppProjects, the Kyverno guard's Applications, the root app.

The ApplicationSet's list generator holds one element per Application services.toml names,
with every parameter its template reads: the set of Applications is decided here, when the
tree is compiled, and nothing placed in the repository by hand can add one.

The guard (policies/) is deployed by plain Applications, one per environment cluster, in
their own project (POLICY_PROJECT): the environment projects stay limited to what the
services' Applications use, and `gitopsgen apps` lists the ApplicationSet's Applications only.
"""

from __future__ import annotations

from typing import Any

from attrs import frozen

from generator import naming
from generator.naming import gitops_repo_url
from generator.render import helm, policies
from generator.render.kustomize import WORKLOAD_API
from generator.render.rollouts import traffic_routing
from generator.render.templating import render as render_template
from generator.resolve import Model, ResolvedEnv, ResolvedService
from generator.spec.model import Canary

APPLICATIONSET_NAME = "services"
ROOT_NAME = "root"
PLATFORM_ROLE = naming.PLATFORM_ROLE_NAME
APPLICATIONSET_PATH = "argocd/applicationset.yaml"
ROOT_PATH = "argocd/root.yaml"
# What Argo Rollouts modifies in a VirtualService it manages ("spec.http[].route[].weight").
ISTIO_WEIGHTS = ".spec.http[].route[].weight"
POLICY_PROJECT = naming.POLICY_PROJECT_NAME
# Every resource action Argo CD defines for Rollouts (resume, promote-full, abort, retry,
# pause, restart, skip-current-step): RBAC's `action/<group>/<kind>/<action>`, globbed
# (Argo CD docs, operator-manual/rbac.md, "The action action").
ROLLOUT_ACTIONS = "action/argoproj.io/Rollout/*"
# Istio's namespace label for automatic sidecar injection.
ISTIO_NAMESPACE_LABELS = {"istio-injection": "enabled"}
ROLLOUT_ACTIONS_WORDS = "run the Rollout actions (resume, promote, abort, retry) of"
# Argo CD matches an Application's destination namespace against its project even when the
# Application deploys only cluster-scoped objects, and an empty one matches no destination
# (argo-cd#11510). The project forbids every namespaced kind, so nothing is deployed into it:
# it is the namespace of the engine that enforces the guard, for the reader.
POLICY_DESTINATION_NAMESPACE = "kyverno"


@frozen(kw_only=True)
class PlannedApp:
    """One Application the ApplicationSet must generate, as the services file says."""

    name: str
    project: str
    service: ResolvedService
    env: ResolvedEnv
    retired: bool  # its overlay is empty: a sync prunes what it ran

    @property
    def path(self) -> str:
        return overlay_path(self.service.name, self.env.name)

    @property
    def destination(self) -> tuple[str, str]:
        return (self.env.cluster, self.service.namespace)


@frozen(kw_only=True)
class PolicyApp:
    """One Application deploying the Kyverno guard to one cluster."""

    name: str
    cluster: str
    environments: tuple[ResolvedEnv, ...]  # those on this cluster, in promotion order


def render(model: Model) -> dict[str, str]:
    files = {
        APPLICATIONSET_PATH: render_applicationset(model),
        ROOT_PATH: render_root(model),
    }
    apps = planned_apps(model)
    for env in model.environments:
        files[f"argocd/projects/{env.name}.yaml"] = render_project(model, env, apps)
    guard_apps = policy_apps(model, apps)
    if guard_apps:
        files[f"argocd/projects/{POLICY_PROJECT}.yaml"] = render_policy_project(model, guard_apps)
    for guard in guard_apps:
        files[f"argocd/policies/{guard.name}.yaml"] = render_policy_app(model, guard)
    return files


def overlay_path(service: str, env: str) -> str:
    return f"apps/{service}/overlays/{env}"


def planned_apps(model: Model) -> list[PlannedApp]:
    """Every (service, environment) with a tag or retiring, environments in promotion order."""
    placed = [(service, service.application_envs) for service in model.services]
    return [
        PlannedApp(
            name=naming.application_name(service.name, env.name),
            project=env.name,
            service=service,
            env=env,
            retired=env.name in service.retired,
        )
        for env in model.environments
        for service, envs in placed
        if env.name in envs
    ]


def removal_is_gated(env: ResolvedEnv) -> bool:
    """Whether only a sync that a person starts, or one inside a window, may change the
    environment: deleting an Application there must never touch the cluster."""
    return not env.auto_sync or bool(env.sync_windows)


def apps_in(apps: list[PlannedApp], env: ResolvedEnv) -> list[PlannedApp]:
    return [app for app in apps if app.env.name == env.name]


# ---------------------------------------------------------------------------------------------
# ApplicationSet


def retry_of(env: ResolvedEnv) -> dict[str, Any]:
    """Argo CD's sync retry for the environment's Applications."""
    return {
        "limit": env.retry.limit,
        "backoff": {
            "duration": env.retry.backoff,
            "factor": env.retry.factor,
            "maxDuration": env.retry.max_duration,
        },
    }


def application_element(
    model: Model, app: PlannedApp, meshed: set[tuple[str, str]]
) -> dict[str, Any]:
    """The list generator's parameters for one Application (read by the template and patch);
    `meshed`: istio_namespaces."""
    env = app.env
    return {
        "name": app.name,
        "env": env.name,
        "cluster": env.cluster,
        "namespace": app.service.namespace,
        "path": app.path,
        "autoSync": env.auto_sync,
        "createNamespace": env.create_namespace,
        "retry": retry_of(env),
        "retired": app.retired,
        "cascade": not removal_is_gated(env),
        "ignoreDifferences": [] if app.retired else ignore_differences(app.service, env),
        "managedNamespaceMetadata": namespace_metadata(app.service, env, meshed),
        # A chart's Application: the chart and the gitops repository's values files, in place
        # of the template's single source (a retired one keeps that: its empty overlay).
        "sources": chart_sources(model, app),
    }


def chart_sources(model: Model, app: PlannedApp) -> list[dict[str, Any]]:
    """The multi-source `sources` of a chart service's Application, or [] for the template's
    `source` (a Kustomize overlay, or a retired chart's empty one)."""
    if app.service.chart is None or app.retired:
        return []
    placement = next(p for p in app.service.placements if p.env == app.env.name)
    return helm.sources(model, app.service, placement)


def render_applicationset(model: Model) -> str:
    apps = planned_apps(model)
    meshed = istio_namespaces(apps)
    return render_template(
        "argocd/applicationset.yaml",
        name=APPLICATIONSET_NAME,
        elements=[application_element(model, app, meshed) for app in apps],
        repo_url=gitops_repo_url(model.spec.gitops.repo),
        branch=model.spec.gitops.branch,
    )


def is_istio_canary(service: ResolvedService) -> bool:
    return service.canary is not None and service.canary.traffic == "istio"


def istio_namespaces(apps: list[PlannedApp]) -> set[tuple[str, str]]:
    """(environment, namespace) pairs where an Istio canary runs."""
    return {(app.env.name, app.service.namespace) for app in apps if is_istio_canary(app.service)}


def namespace_metadata(
    service: ResolvedService, env: ResolvedEnv, meshed: set[tuple[str, str]]
) -> dict[str, Any]:
    """The Application's `syncPolicy.managedNamespaceMetadata`, or {} for none.

    Where Argo CD creates the namespace (CreateNamespace=true) and an Istio canary runs in it,
    the namespace gets Istio's sidecar injection label: the canary is routed by the mesh and
    measured by its sidecars. Every Application of that namespace in the environment sets the
    same labels, so none of them undoes another's (Argo CD applies them only together with
    CreateNamespace=true: user-guide/sync-options.md, "Namespace Metadata").
    """
    if not env.create_namespace or (env.name, service.namespace) not in meshed:
        return {}
    return {"labels": dict(ISTIO_NAMESPACE_LABELS)}


def ignore_differences(service: ResolvedService, env: ResolvedEnv) -> list[dict[str, Any]]:
    """The Application's `ignoreDifferences`: the fields another controller owns in the cluster.

    RespectIgnoreDifferences=true (set for every Application) makes a sync keep these live
    values too, so an automated sync or selfHeal never reverts them.
    """
    if service.chart is not None:  # what a chart deploys is the chart's
        return []
    placement = next(p for p in service.placements if p.env == env.name)
    ignored = []
    if placement.hpa is not None:
        ignored.append(hpa_replicas(service))
    if service.canary is not None and is_istio_canary(service):
        ignored.append(istio_canary_weights(service, service.canary))
    return ignored


def hpa_replicas(service: ResolvedService) -> dict[str, Any]:
    """The HPA sets the workload's replicas."""
    kind = service.workload_kind
    return {
        "group": WORKLOAD_API[kind].rpartition("/")[0],
        "kind": kind,
        "name": service.name,
        "jsonPointers": ["/spec/replicas"],
    }


def istio_canary_weights(service: ResolvedService, canary: Canary) -> dict[str, Any]:
    """Argo Rollouts rewrites the route weights of the VirtualService it manages (100/0 in git).

    Only the weights: the Rollouts docs' `/spec/http/0` would also hide every other change to
    the route from the diff. The name is the one the Rollout itself references. Known Argo CD
    limit (argo-cd#17694): with RespectIgnoreDifferences a sync keeps a custom resource's
    array that holds an ignored field from the live object whole, so a change to `http` in git
    shows as OutOfSync but is not applied; these routes depend on the service's name only.
    """
    routing = traffic_routing(service, canary)["istio"]["virtualService"]
    return {
        "group": "networking.istio.io",
        "kind": "VirtualService",
        "name": routing["name"],
        "jqPathExpressions": [ISTIO_WEIGHTS],
    }


# ---------------------------------------------------------------------------------------------
# AppProjects


def sso_group(handle: str) -> str | None:
    """`@org/team` is the group `org:team` in Argo CD's GitHub connector (Dex); a user is none."""
    org, slash, team = handle.removeprefix("@").partition("/")
    return f"{org}:{team}" if slash and org and team else None


def sso_groups(handles: tuple[str, ...]) -> list[str]:
    return sorted({group for handle in handles if (group := sso_group(handle)) is not None})


def policy(project: str, role: str, action: str, obj: str) -> str:
    """One Casbin line of a project role, in Argo CD's RBAC syntax."""
    return f"p, proj:{project}:{role}, applications, {action}, {project}/{obj}, allow"


def may_sync(env: ResolvedEnv, role: str) -> bool:
    """Without `sync_roles` every team syncs its own Applications (and the platform all); with
    it, only the roles it names (`platform` among them, or not)."""
    return env.sync_roles is None or role in env.sync_roles


def role_actions(may: bool, rollouts: bool) -> list[str]:
    """What a role may do to an Application: get; sync if it may sync; and then, where the
    Application deploys a Rollout, the Rollout's resource actions (resume, promote-full,
    abort, retry, ...: Argo CD's built-in actions for argoproj.io/Rollout), without which a
    canary paused at its manual gate, aborted or waiting on an inconclusive analysis cannot be
    moved on through Argo CD."""
    if not may:
        return ["get"]
    return ["get", "sync", ROLLOUT_ACTIONS] if rollouts else ["get", "sync"]


def describe(whom: str, actions: list[str], what: str) -> str:
    verbs = [ROLLOUT_ACTIONS_WORDS if a == ROLLOUT_ACTIONS else a for a in actions]
    listed = ", ".join(verbs[:-1]) + " and " + verbs[-1] if len(verbs) > 1 else verbs[0]
    return f"{whom}: {listed} {what}"


def team_roles(model: Model, env: ResolvedEnv, apps: list[PlannedApp]) -> list[dict[str, Any]]:
    """One role per team with Applications in the environment (`apps`: its Applications)."""
    by_team: dict[str, list[PlannedApp]] = {}
    for app in apps:
        by_team.setdefault(app.service.team, []).append(app)
    roles = []
    for team in sorted(by_team):
        owned = sorted(by_team[team], key=lambda app: app.name)
        may = may_sync(env, team)
        rollouts = any(app.service.workload_kind == "Rollout" for app in owned)
        lines = [
            policy(env.name, team, action, app.name)
            for app in owned
            for action in role_actions(may, app.service.workload_kind == "Rollout")
        ]
        roles.append(
            {
                "name": team,
                "description": describe(
                    f"Team {team}", role_actions(may, rollouts), "its own Applications"
                ),
                "groups": sso_groups(model.spec.teams[team].owners),
                "policies": lines,
            }
        )
    return roles


def platform_role(
    model: Model, project: str, *, may: bool = True, rollouts: bool = False
) -> dict[str, Any]:
    actions = role_actions(may, rollouts)
    return {
        "name": PLATFORM_ROLE,
        "description": describe("The platform owners", actions, "every Application of the project"),
        "groups": sso_groups(model.spec.platform.owners),
        "policies": [policy(project, PLATFORM_ROLE, a, "*") for a in actions],
    }


def project_roles(model: Model, env: ResolvedEnv, apps: list[PlannedApp]) -> list[dict[str, Any]]:
    teams = team_roles(model, env, apps)
    if any(role["name"] == PLATFORM_ROLE for role in teams):
        raise ValueError(f"a team may not be named {PLATFORM_ROLE!r}: that is the platform role")
    rollouts = any(app.service.workload_kind == "Rollout" for app in apps)
    platform = platform_role(model, env.name, may=may_sync(env, PLATFORM_ROLE), rollouts=rollouts)
    return [*teams, platform]


def source_repos(model: Model, apps: list[PlannedApp]) -> list[str]:
    """The gitops repository, then the chart repositories the environment's charts come from
    (each `repoURL` exactly as its Applications write it): nothing else may be a source."""
    charts = sorted(
        {app.service.chart.repo_url for app in apps if app.service.chart and not app.retired}
    )
    return [gitops_repo_url(model.spec.gitops.repo), *charts]


def destinations(apps: list[PlannedApp]) -> list[dict[str, str]]:
    pairs = sorted({app.destination for app in apps})
    return [{"server": server, "namespace": namespace} for server, namespace in pairs]


def cluster_resources(env: ResolvedEnv, apps: list[PlannedApp]) -> list[dict[str, str]]:
    """Namespace, by name, only for the namespaces Argo CD creates (CreateNamespace=true)."""
    if not env.create_namespace:
        return []
    namespaces = sorted({app.service.namespace for app in apps})
    return [{"group": "", "kind": "Namespace", "name": name} for name in namespaces]


def sync_windows(model: Model, env: ResolvedEnv) -> list[dict[str, Any]]:
    """The environment's windows, applying to every Application of its project, in its zone."""
    return [
        {
            "kind": window.kind,
            "schedule": window.schedule,
            "duration": window.duration,
            "applications": ["*"],
            "manualSync": window.manual_sync,
            "timeZone": model.spec.platform.timezone,
        }
        for window in env.sync_windows
    ]


def render_project(model: Model, env: ResolvedEnv, apps: list[PlannedApp]) -> str:
    """The environment's AppProject (`apps`: every planned Application)."""
    sync = "automatically" if env.auto_sync else "by hand"
    apps = apps_in(apps, env)
    return render_template(
        "argocd/appproject.yaml",
        env=env,
        description=f"The {env.name} environment: services sync {sync}",
        source_repos=source_repos(model, apps),
        destinations=destinations(apps),
        cluster_resources=cluster_resources(env, apps),
        roles=project_roles(model, env, apps),
        windows=sync_windows(model, env),
    )


# ---------------------------------------------------------------------------------------------
# Root


def render_root(model: Model) -> str:
    return render_template(
        "argocd/root.yaml",
        name=ROOT_NAME,
        project=naming.ARGOCD_DEFAULT_PROJECT,
        repo_url=gitops_repo_url(model.spec.gitops.repo),
        branch=model.spec.gitops.branch,
    )


# ---------------------------------------------------------------------------------------------
# The Kyverno guard (policies/), deployed by Argo CD to every environment's cluster


def policy_apps(model: Model, apps: list[PlannedApp]) -> list[PolicyApp]:
    """One Application per cluster, named after the first environment (in promotion order) on
    it: environments may share a cluster, and two Applications owning the same ClusterPolicy
    would fight over it. None when there is no guard to deploy. `apps`: the services'
    Applications (planned_apps), whose names the guard's must not take."""
    if not policies.is_rendered(model):
        return []
    # The loader refuses both clashes below (checks.py); they hold for any Model all the same.
    if any(env.name == POLICY_PROJECT for env in model.environments):
        raise ValueError(
            f"an environment may not be named {POLICY_PROJECT!r}: that is the guard's project"
        )
    by_cluster: dict[str, list[ResolvedEnv]] = {}
    for env in model.environments:
        by_cluster.setdefault(env.cluster, []).append(env)
    guards = [
        PolicyApp(
            name=naming.policy_application_name(envs[0].name),
            cluster=cluster,
            environments=tuple(envs),
        )
        for cluster, envs in by_cluster.items()
    ]
    taken = {app.name for app in apps} & {guard.name for guard in guards}
    if taken:
        # Both would be Applications of that name in the argocd namespace.
        raise ValueError(
            f"service Applications {', '.join(sorted(taken))} would take the name of a "
            f"policy Application ({naming.policy_application_name('<environment>')})"
        )
    return guards


def render_policy_app(model: Model, guard: PolicyApp) -> str:
    first = guard.environments[0]
    return render_template(
        "argocd/policy-application.yaml",
        name=guard.name,
        project=POLICY_PROJECT,
        info=[{"name": "Environments", "value": ", ".join(e.name for e in guard.environments)}],
        repo_url=gitops_repo_url(model.spec.gitops.repo),
        branch=model.spec.gitops.branch,
        path=policies.POLICY_DIR,
        # Exactly the rendered guard, not whatever else is placed in policies/ by hand.
        include=policies.POLICY_FILE,
        cluster=guard.cluster,
        namespace=POLICY_DESTINATION_NAMESPACE,
        retry=retry_of(first),
    )


def render_policy_project(model: Model, guards: list[PolicyApp]) -> str:
    return render_template(
        "argocd/policy-project.yaml",
        name=POLICY_PROJECT,
        description=(
            "The Kyverno guard: one Application per environment cluster, synced automatically; "
            "only the platform owners may sync"
        ),
        repo_url=gitops_repo_url(model.spec.gitops.repo),
        destinations=[
            {"server": cluster, "namespace": POLICY_DESTINATION_NAMESPACE}
            for cluster in sorted({guard.cluster for guard in guards})
        ],
        cluster_resources=[
            {
                "group": policies.policy_kind(model)[0],
                "kind": policies.policy_kind(model)[1],
                "name": policies.POLICY_NAME,
            }
        ],
        roles=[platform_role(model, POLICY_PROJECT)],
    )
