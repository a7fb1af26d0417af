"""Argo CD: the ApplicationSet, one AppProject per environment, the app-of-apps root.

Beside each overlay goes a small parameters file (PARAMS_FILE) that the ApplicationSet's git
files generator reads: the service's namespace and workload. Kustomize never reads it (it is
not listed in kustomization.yaml) and Argo CD's Kustomize source ignores it.
"""

from __future__ import annotations

import json
from typing import Any

from attrs import frozen

from generator.naming import gitops_repo_url
from generator.render.kustomize import WORKLOAD_API
from generator.resolve import Model, ResolvedEnv, ResolvedService
from generator.templating import render as render_template

APPLICATIONSET_NAME = "services"
ROOT_NAME = "root"
PARAMS_FILE = "argocd-app.json"
PLATFORM_ROLE = "platform"
APPLICATIONSET_PATH = "argocd/applicationset.yaml"
ROOT_PATH = "argocd/root.yaml"


@frozen(kw_only=True)
class PlannedApp:
    """One Application the ApplicationSet must generate, as the services file says."""

    name: str
    project: str
    service: ResolvedService
    env: ResolvedEnv

    @property
    def path(self) -> str:
        return overlay_path(self.service.name, self.env.name)

    @property
    def destination(self) -> tuple[str, str]:
        return (self.env.cluster, self.service.namespace)


def render(model: Model) -> dict[str, str]:
    files = {
        APPLICATIONSET_PATH: render_applicationset(model),
        ROOT_PATH: render_root(model),
    }
    for env in model.environments:
        files[f"argocd/projects/{env.name}.yaml"] = render_project(model, env)
    for app in planned_apps(model):
        files[f"{app.path}/{PARAMS_FILE}"] = render_params(app.service, app.env)
    return files


def overlay_path(service: str, env: str) -> str:
    return f"apps/{service}/overlays/{env}"


def app_name(service: str, env: str) -> str:
    return f"{service}-{env}"


def planned_apps(model: Model) -> list[PlannedApp]:
    """Every (service, environment) with a tag, environments in promotion order."""
    return [
        PlannedApp(
            name=app_name(service.name, env.name), project=env.name, service=service, env=env
        )
        for env in model.environments
        for service in model.services
        if any(p.env == env.name for p in service.placements)
    ]


def apps_in(model: Model, env: ResolvedEnv) -> list[PlannedApp]:
    return [app for app in planned_apps(model) if app.env.name == env.name]


# ---------------------------------------------------------------------------------------------
# ApplicationSet


def environment_element(env: ResolvedEnv) -> dict[str, Any]:
    """The list generator's parameters for one environment (read by the template and patch)."""
    return {
        "env": env.name,
        "cluster": env.cluster,
        "autoSync": env.auto_sync,
        "createNamespace": env.create_namespace,
        "retry": {
            "limit": env.retry.limit,
            "backoff": {
                "duration": env.retry.backoff,
                "factor": env.retry.factor,
                "maxDuration": env.retry.max_duration,
            },
        },
    }


def render_applicationset(model: Model) -> str:
    return render_template(
        "argocd/applicationset.yaml",
        name=APPLICATIONSET_NAME,
        elements=[environment_element(env) for env in model.environments],
        repo_url=gitops_repo_url(model),
        branch=model.spec.gitops.branch,
        params_file=PARAMS_FILE,
        params_glob=f"apps/*/overlays/{{{{ .env }}}}/{PARAMS_FILE}",
    )


def render_params(service: ResolvedService, env: ResolvedEnv) -> str:
    """The git files generator's parameters for one overlay, as deterministic JSON."""
    placement = next(p for p in service.placements if p.env == env.name)
    kind = service.workload_kind
    group = WORKLOAD_API[kind].rpartition("/")[0]
    params = {
        "namespace": service.namespace,
        "workload": {"group": group, "kind": kind, "name": service.name},
        "hpa": placement.hpa is not None,
    }
    return json.dumps(params, indent=2, sort_keys=True) + "\n"


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
    """Without `sync_roles` every team syncs its own Applications; with it, only those named."""
    return env.sync_roles is None or role in env.sync_roles


def team_roles(model: Model, env: ResolvedEnv) -> list[dict[str, Any]]:
    apps = apps_in(model, env)
    roles = []
    for team in sorted({app.service.team for app in apps}):
        owned = sorted(app.name for app in apps if app.service.team == team)
        actions = ["get", "sync"] if may_sync(env, team) else ["get"]
        roles.append(
            {
                "name": team,
                "description": f"Team {team}: {' and '.join(actions)} its own Applications",
                "groups": sso_groups(model.spec.teams[team].owners),
                "policies": [policy(env.name, team, a, name) for name in owned for a in actions],
            }
        )
    return roles


def platform_role(model: Model, env: ResolvedEnv) -> dict[str, Any]:
    return {
        "name": PLATFORM_ROLE,
        "description": "The platform owners: get and sync every Application of the project",
        "groups": sso_groups(model.spec.platform.owners),
        "policies": [policy(env.name, PLATFORM_ROLE, a, "*") for a in ("get", "sync")],
    }


def project_roles(model: Model, env: ResolvedEnv) -> list[dict[str, Any]]:
    teams = team_roles(model, env)
    if any(role["name"] == PLATFORM_ROLE for role in teams):
        raise ValueError(f"a team may not be named {PLATFORM_ROLE!r}: that is the platform role")
    return [*teams, platform_role(model, env)]


def destinations(model: Model, env: ResolvedEnv) -> list[dict[str, str]]:
    pairs = sorted({app.destination for app in apps_in(model, env)})
    return [{"server": server, "namespace": namespace} for server, namespace in pairs]


def cluster_resources(model: Model, env: ResolvedEnv) -> list[dict[str, str]]:
    """Namespace, by name, only for the namespaces Argo CD creates (CreateNamespace=true)."""
    if not env.create_namespace:
        return []
    namespaces = sorted({app.service.namespace for app in apps_in(model, env)})
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


def render_project(model: Model, env: ResolvedEnv) -> str:
    sync = "automatically" if env.auto_sync else "by hand"
    return render_template(
        "argocd/appproject.yaml",
        env=env,
        description=f"The {env.name} environment: services sync {sync}",
        repo_url=gitops_repo_url(model),
        destinations=destinations(model, env),
        cluster_resources=cluster_resources(model, env),
        roles=project_roles(model, env),
        windows=sync_windows(model, env),
    )


# ---------------------------------------------------------------------------------------------
# Root


def render_root(model: Model) -> str:
    return render_template(
        "argocd/root.yaml",
        name=ROOT_NAME,
        repo_url=gitops_repo_url(model),
        branch=model.spec.gitops.branch,
    )
