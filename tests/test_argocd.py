"""Argo CD layer: the ApplicationSet's expansion, AppProjects, the root app, against the spec."""

from __future__ import annotations

from typing import Any

import pytest
from ruamel.yaml import YAML

from generator import naming
from generator.argo.appset import expand_tree, summary
from generator.commands.validate import validate_custom, validate_objects
from generator.render import render_tree
from generator.render.argocd import planned_apps, removal_is_gated, sso_group
from generator.resolve import Model, resolve
from generator.spec.load import load_text
from tests.conftest import SPEC_NAMES, SPECS, model_of, tree_of

# No PruneLast: its prune wave waits for every resource to be Healthy, and a Rollout is not
# Healthy until its canary is promoted (the sync would stay open a whole canary long).
SYNC_OPTIONS = [
    "PrunePropagationPolicy=foreground",
    "RespectIgnoreDifferences=true",
]
WORKLOAD_GROUP = {"Deployment": "apps", "Rollout": "argoproj.io"}


def load(text: str) -> Any:
    return YAML(typ="safe", pure=True).load(text)


def generated(name: str) -> list[dict[str, Any]]:
    model = model_of(name)
    repo = f"https://github.com/{model.spec.gitops.repo}.git"
    return expand_tree(tree_of(name), repo, model.spec.gitops.branch)


def expected_summaries(model: Model) -> list[dict[str, Any]]:
    """What the services file says, computed without the renderer."""
    out = []
    for env in model.environments:
        for service in model.services:
            placed = any(p.env == env.name and p.tag for p in service.placements)
            if not placed and env.name not in service.retired:
                continue
            # A chart's Application is listed by its chart; a retired one deploys its empty
            # overlay, like any retired service.
            chart = service.chart if placed else None
            out.append(
                {
                    # the name the loader checks for clashes (tests/test_errors.py)
                    "name": naming.application_name(service.name, env.name),
                    "project": env.name,
                    "cluster": env.cluster,
                    "namespace": service.namespace,
                    "path": (
                        f"{chart.name}@{chart.version}"
                        if chart
                        else f"apps/{service.name}/overlays/{env.name}"
                    ),
                    "auto_sync": env.auto_sync,
                    "revision": chart.version if chart else model.spec.gitops.branch,
                    "repo": chart.repo_url
                    if chart
                    else f"https://github.com/{model.spec.gitops.repo}.git",
                    # deleting it deletes what it runs only where a sync could do so any time
                    "cascade": env.auto_sync and not env.sync_windows,
                }
            )
    return out


def test_expansion_is_what_the_services_file_says(spec_name: str) -> None:
    assert [summary(app) for app in generated(spec_name)] == expected_summaries(model_of(spec_name))


def test_no_application_where_there_is_no_tag() -> None:
    names = {app["metadata"]["name"] for app in generated("reference")}
    assert "trading-engine-prod" not in names
    assert "ledger-worker-staging" not in names
    assert "ledger-worker-prod" not in names
    assert len(names) == 9


def test_reference_namespace_differs_from_service_name() -> None:
    apps = {app["metadata"]["name"]: app for app in generated("reference")}
    assert apps["ledger-worker-dev"]["spec"]["destination"]["namespace"] == "payments"
    assert apps["payments-api-prod"]["spec"]["destination"]["namespace"] == "payments"


def test_sync_policy_per_environment(spec_name: str) -> None:
    model = model_of(spec_name)
    for app in generated(spec_name):
        env = model.environment(app["spec"]["project"])
        policy = app["spec"]["syncPolicy"]
        if env.auto_sync:
            assert policy["automated"] == {"prune": True, "selfHeal": True}
        else:
            assert "automated" not in policy
        create = ["CreateNamespace=true"] if env.create_namespace else []
        assert policy["syncOptions"] == create + SYNC_OPTIONS
        # the platform Application owns the Namespace and its labels (test_namespaces.py)
        assert "managedNamespaceMetadata" not in policy
        assert policy["retry"] == {
            "limit": env.retry.limit,
            "backoff": {
                "duration": env.retry.backoff,
                "factor": env.retry.factor,
                "maxDuration": env.retry.max_duration,
            },
        }
        assert app["metadata"]["namespace"] == "argocd"  # finalizers: see below


def test_retry_defaults_in_the_reference() -> None:
    retries = {
        app["spec"]["project"]: app["spec"]["syncPolicy"]["retry"] for app in generated("reference")
    }
    assert retries["dev"]["limit"] == 3
    assert retries["dev"]["backoff"]["duration"] == "5s"
    assert retries["staging"]["limit"] == retries["prod"]["limit"] == 5
    assert retries["prod"]["backoff"] == {"duration": "10s", "factor": 2, "maxDuration": "3m"}


def istio_virtual_service(tree: dict[str, str], service: str) -> str:
    """The VirtualService the service's Rollout names, checked to exist in its base."""
    rollout = load(tree[f"apps/{service}/base/rollout.yaml"])
    name: str = rollout["spec"]["strategy"]["canary"]["trafficRouting"]["istio"]["virtualService"][
        "name"
    ]
    virtual_service = load(tree[f"apps/{service}/base/virtualservice.yaml"])
    assert (virtual_service["kind"], virtual_service["metadata"]["name"]) == (
        "VirtualService",
        name,
    )
    return name


@pytest.mark.parametrize("name", [*SPEC_NAMES, "canary-variants"])
def test_ignore_differences_are_exactly_what_other_controllers_own(name: str) -> None:
    model = model_of(name)
    tree = tree_of(name)
    services = {s.name: s for s in model.services}
    for app in generated(name):
        service = services[app["metadata"]["name"].rsplit("-", 1)[0]]
        placement = next((p for p in service.placements if p.env == app["spec"]["project"]), None)
        expected: list[dict[str, Any]] = []
        if placement is None or service.chart is not None:  # retired; a chart: none owned
            assert "ignoreDifferences" not in app["spec"], app["metadata"]["name"]
            continue
        if placement.hpa is not None:
            expected.append(
                {
                    "group": WORKLOAD_GROUP[service.workload_kind],
                    "kind": service.workload_kind,
                    "name": service.name,
                    "jsonPointers": ["/spec/replicas"],
                }
            )
        if service.canary is not None and service.canary.traffic == "istio":
            expected.append(
                {
                    "group": "networking.istio.io",
                    "kind": "VirtualService",
                    "name": istio_virtual_service(tree, service.name),
                    "jqPathExpressions": [".spec.http[].route[].weight"],
                }
            )
        assert app["spec"].get("ignoreDifferences", []) == expected, app["metadata"]["name"]
        assert "ignoreDifferences" not in app["spec"] or expected
        # the sync keeps the ignored live values (Rollouts' weights, the HPA's replicas)
        assert "RespectIgnoreDifferences=true" in app["spec"]["syncPolicy"]["syncOptions"]
        assert validate_custom(app) == []


def test_trading_engine_canary_weights_are_ignored_where_it_runs() -> None:
    apps = {app["metadata"]["name"]: app for app in generated("reference")}
    weights = {
        "group": "networking.istio.io",
        "kind": "VirtualService",
        "name": "trading-engine",
        "jqPathExpressions": [".spec.http[].route[].weight"],
    }
    for env in ("dev", "staging"):
        app = apps[f"trading-engine-{env}"]
        assert app["spec"]["ignoreDifferences"] == [weights]
        assert app["spec"]["syncPolicy"]["automated"] == {"prune": True, "selfHeal": True}
        assert validate_custom(app) == []
    for name, app in apps.items():
        if not name.startswith("trading-engine-"):
            kinds = [entry["kind"] for entry in app["spec"].get("ignoreDifferences", [])]
            assert "VirtualService" not in kinds, name
    # the ALB canary: Argo Rollouts only adds annotations to the Ingress, which a diff ignores
    assert [e["kind"] for e in apps["payments-api-dev"]["spec"]["ignoreDifferences"]] == ["Rollout"]


def test_no_application_manages_its_namespace_metadata(spec_name: str) -> None:
    # The platform Application owns every Namespace, labels included; managedNamespaceMetadata
    # would apply the Application's labels to the same object on every sync.
    for app in generated(spec_name):
        assert "managedNamespaceMetadata" not in app["spec"]["syncPolicy"]
        assert validate_custom(app) == []


def test_payments_api_replicas_are_ignored_everywhere() -> None:
    apps = {app["metadata"]["name"]: app for app in generated("reference")}
    for env in ("dev", "staging", "prod"):
        assert apps[f"payments-api-{env}"]["spec"]["ignoreDifferences"][0]["jsonPointers"] == [
            "/spec/replicas"
        ]
    assert "ignoreDifferences" not in apps["orders-api-prod"]["spec"]


def test_every_generated_application_is_valid(spec_name: str) -> None:
    for app in generated(spec_name):
        assert validate_custom(app) == []


def test_argocd_objects_are_valid(spec_name: str) -> None:
    tree = tree_of(spec_name)
    paths = [p for p in tree if p.startswith("argocd/")]
    assert "argocd/applicationset.yaml" in paths
    assert "argocd/root.yaml" in paths
    for path in paths:
        # Argo CD's own objects, and the ConfigMap of Argo CD Notifications (a built-in kind)
        assert validate_objects([load(tree[path])]) == [], path


def test_applicationset_settings() -> None:
    appset = load(tree_of("reference")["argocd/applicationset.yaml"])
    spec = appset["spec"]
    assert appset["metadata"]["namespace"] == "argocd"
    assert spec["goTemplate"] is True
    assert spec["goTemplateOptions"] == ["missingkey=error"]
    # deleting an Application never cascades by itself; the patch adds the finalizer per app
    assert spec["syncPolicy"] == {"applicationsSync": "sync", "preserveResourcesOnDeletion": True}
    assert "finalizers" not in spec["template"]["metadata"]
    (generator,) = spec["generators"]
    assert list(generator) == ["list"]  # decided at compile time: no git generator
    elements = generator["list"]["elements"]
    assert [e["name"] for e in elements] == [a.name for a in planned_apps(model_of("reference"))]
    assert spec["template"]["spec"]["source"] == {
        "repoURL": "https://github.com/bank-org/gitops-repo.git",
        "targetRevision": "main",
        "path": "{{ .path }}",
    }


def test_a_broken_applicationset_shows_up_in_the_expansion() -> None:
    tree = dict(tree_of("minimal"))
    text = tree["argocd/applicationset.yaml"]
    tree["argocd/applicationset.yaml"] = text.replace("{{ .namespace }}", "{{ .namespaces }}")
    with pytest.raises(ValueError, match="namespaces"):
        expand_tree(tree, "https://github.com/acme/gitops.git", "main")
    tree["argocd/applicationset.yaml"] = text.replace(
        "{{- if .autoSync }}", "{{- if .createNamespace }}"
    )
    (app,) = expand_tree(tree, "https://github.com/acme/gitops.git", "main")
    assert summary(app)["auto_sync"] is False


def test_no_parameter_files_beside_the_overlays(spec_name: str) -> None:
    """The list generator carries every parameter: an overlay holds Kustomize inputs only."""
    tree = tree_of(spec_name)
    overlays = [p for p in tree if "/overlays/" in p]
    assert overlays
    assert all(p.endswith(".yaml") for p in overlays)


def test_only_ungated_environments_cascade(spec_name: str) -> None:
    model = model_of(spec_name)
    for app in generated(spec_name):
        env = model.environment(app["spec"]["project"])
        finalizers = app["metadata"].get("finalizers", [])
        cascade = ["resources-finalizer.argocd.argoproj.io"]
        assert finalizers == ([] if removal_is_gated(env) else cascade)


# ---------------------------------------------------------------------------------------------
# AppProjects


def project(spec_name: str, env: str) -> dict[str, Any]:
    doc: dict[str, Any] = load(tree_of(spec_name)[f"argocd/projects/{env}.yaml"])
    return doc


def test_one_project_per_environment(spec_name: str) -> None:
    model = model_of(spec_name)
    paths = sorted(p for p in tree_of(spec_name) if p.startswith("argocd/projects/"))
    # and the Kyverno guard's own project (tests/test_policies.py)
    expected = [f"argocd/projects/{env.name}.yaml" for env in model.environments]
    assert paths == sorted([*expected, "argocd/projects/platform-policies.yaml"])


def test_project_destinations_are_exactly_the_applications(spec_name: str) -> None:
    model = model_of(spec_name)
    apps = generated(spec_name)
    for env in model.environments:
        proj = project(spec_name, env.name)
        pairs = {
            (a["spec"]["destination"]["server"], a["spec"]["destination"]["namespace"])
            for a in apps
            if a["spec"]["project"] == env.name
        }
        assert proj["metadata"]["name"] == env.name
        assert [(d["server"], d["namespace"]) for d in proj["spec"]["destinations"]] == sorted(
            pairs
        )
        # the gitops repository, then exactly the chart repositories its Applications read
        charts = sorted(
            {
                s["repoURL"]
                for a in apps
                if a["spec"]["project"] == env.name
                for s in a["spec"].get("sources", ())[:1]
            }
        )
        assert proj["spec"]["sourceRepos"] == [
            f"https://github.com/{model.spec.gitops.repo}.git",
            *charts,
        ]
        assert not any(
            "*" in d["namespace"] or "*" in d["server"] for d in proj["spec"]["destinations"]
        )


def test_namespace_is_the_only_cluster_resource_and_only_where_created(spec_name: str) -> None:
    model = model_of(spec_name)
    for env in model.environments:
        proj = project(spec_name, env.name)
        whitelist = proj["spec"]["clusterResourceWhitelist"]
        if not env.create_namespace:
            assert whitelist == []
            continue
        namespaces = sorted({d["namespace"] for d in proj["spec"]["destinations"]})
        assert whitelist == [{"group": "", "kind": "Namespace", "name": ns} for ns in namespaces]


def test_reference_prod_rbac_is_exact() -> None:
    roles = {r["name"]: r for r in project("reference", "prod")["spec"]["roles"]}
    assert list(roles) == ["orders", "payments", "platform"]
    assert roles["payments"]["groups"] == ["bank-org:team-payments"]
    assert roles["payments"]["policies"] == [
        "p, proj:prod:payments, applications, get, prod/payments-api-prod, allow"
    ]
    assert roles["orders"]["policies"] == [
        "p, proj:prod:orders, applications, get, prod/orders-api-prod, allow"
    ]
    assert roles["platform"]["groups"] == ["bank-org:platform-team"]
    # sync_roles = ["platform"]; payments-api is a canary: its Rollout's actions (resume at
    # the manual gate, promote-full, abort, retry) go with the right to sync
    assert roles["platform"]["policies"] == [
        "p, proj:prod:platform, applications, get, prod/*, allow",
        "p, proj:prod:platform, applications, sync, prod/*, allow",
        "p, proj:prod:platform, applications, action/argoproj.io/Rollout/*, prod/*, allow",
    ]


def test_reference_dev_teams_may_sync_their_own() -> None:
    roles = {r["name"]: r for r in project("reference", "dev")["spec"]["roles"]}
    assert list(roles) == ["orders", "payments", "trading", "platform"]
    assert roles["payments"]["policies"] == [
        "p, proj:dev:payments, applications, get, dev/ledger-worker-dev, allow",
        "p, proj:dev:payments, applications, sync, dev/ledger-worker-dev, allow",
        "p, proj:dev:payments, applications, get, dev/payments-api-dev, allow",
        "p, proj:dev:payments, applications, sync, dev/payments-api-dev, allow",
        "p, proj:dev:payments, applications, action/argoproj.io/Rollout/*,"
        " dev/payments-api-dev, allow",
    ]
    assert roles["orders"]["policies"] == [  # a Deployment: no Rollout actions
        "p, proj:dev:orders, applications, get, dev/orders-api-dev, allow",
        "p, proj:dev:orders, applications, sync, dev/orders-api-dev, allow",
    ]
    assert roles["trading"]["groups"] == ["bank-org:team-trading"]
    assert roles["payments"]["description"] == (
        "Team payments: get, sync and run the Rollout actions (resume, promote, abort, retry)"
        " of its own Applications"
    )


def roles_with(sync_roles: str) -> dict[str, dict[str, Any]]:
    """The reference prod project's roles with another `sync_roles` line."""
    text = (SPECS / "reference.toml").read_text(encoding="utf-8")
    line = next(line for line in text.splitlines() if line.startswith("sync_roles = "))
    text = text.replace(line, sync_roles)
    tree = render_tree(resolve(load_text(text, "reference.toml").spec))
    return {r["name"]: r for r in load(tree["argocd/projects/prod.yaml"])["spec"]["roles"]}


def test_sync_roles_without_platform_leave_the_platform_get_only() -> None:
    # The README: only the roles sync_roles names may sync, `platform` being one of them.
    roles = roles_with('sync_roles = ["payments"]')
    assert roles["platform"]["policies"] == [
        "p, proj:prod:platform, applications, get, prod/*, allow"
    ]
    assert roles["payments"]["policies"] == [
        "p, proj:prod:payments, applications, get, prod/payments-api-prod, allow",
        "p, proj:prod:payments, applications, sync, prod/payments-api-prod, allow",
        "p, proj:prod:payments, applications, action/argoproj.io/Rollout/*,"
        " prod/payments-api-prod, allow",
    ]
    assert roles["orders"]["policies"] == [
        "p, proj:prod:orders, applications, get, prod/orders-api-prod, allow"
    ]


def test_without_sync_roles_every_team_and_the_platform_sync() -> None:
    roles = roles_with("")
    assert [line.split(", ")[3] for line in roles["platform"]["policies"]] == [
        "get",
        "sync",
        "action/argoproj.io/Rollout/*",
    ]
    assert [line.split(", ")[3] for line in roles["orders"]["policies"]] == ["get", "sync"]


def test_every_team_policy_names_an_application_of_its_project(spec_name: str) -> None:
    apps = {(a["spec"]["project"], a["metadata"]["name"]) for a in generated(spec_name)}
    canaries = {s.name for s in model_of(spec_name).services if s.canary is not None}
    for env in model_of(spec_name).environments:
        for role in project(spec_name, env.name)["spec"]["roles"]:
            for line in role["policies"]:
                p, subject, resource, action, obj, effect = (f.strip() for f in line.split(","))
                assert (p, resource, effect) == ("p", "applications", "allow")
                assert subject == f"proj:{env.name}:{role['name']}"
                assert action in ("get", "sync", "action/argoproj.io/Rollout/*")
                proj, _, name = obj.partition("/")
                assert proj == env.name
                assert name == "*" or (env.name, name) in apps
                if action.startswith("action/"):  # only with sync, only on a Rollout's app
                    assert line.replace(action, "sync") in role["policies"]
                    assert name == "*" or name.removesuffix(f"-{env.name}") in canaries


def test_sync_windows_carry_the_platform_time_zone() -> None:
    windows = project("reference", "prod")["spec"]["syncWindows"]
    assert windows == [
        {
            "kind": "allow",
            "schedule": "0 10 * * 0-4",
            "duration": "6h",
            "applications": ["*"],
            "manualSync": False,
            "timeZone": "Asia/Dubai",
        }
    ]
    assert project("gcp", "prod")["spec"]["syncWindows"][0]["timeZone"] == "Europe/Berlin"
    assert "syncWindows" not in project("reference", "dev")["spec"]


def test_root_app_deploys_argocd_itself() -> None:
    root = load(tree_of("reference")["argocd/root.yaml"])
    assert root["kind"] == "Application"
    assert root["metadata"]["namespace"] == "argocd"
    assert root["spec"]["project"] == "default"
    assert root["spec"]["source"] == {
        "repoURL": "https://github.com/bank-org/gitops-repo.git",
        "targetRevision": "main",
        "path": "argocd",
        "directory": {"recurse": True},
    }
    assert root["spec"]["destination"]["namespace"] == "argocd"
    assert root["spec"]["syncPolicy"]["automated"] == {"prune": True, "selfHeal": True}


@pytest.mark.parametrize(
    ("handle", "group"),
    [
        ("@bank-org/platform-team", "bank-org:platform-team"),
        ("@acme/web", "acme:web"),
        ("@alice", None),
        ("@acme/", None),
    ],
)
def test_sso_group(handle: str, group: str | None) -> None:
    assert sso_group(handle) == group
