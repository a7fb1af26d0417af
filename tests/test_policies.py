"""The Kyverno guard: its shape, its namespaces, and every workload the tree deploys passes it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import attrs
import pytest
from ruamel.yaml import YAML

from generator import cli, naming
from generator.commands import validate
from generator.render import argocd, policies, render_tree
from generator.render.policies import POLICY_PATH
from tests.conftest import SPECS, model_of, tree_of

WORKLOAD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "Rollout"}


def policy(spec_name: str) -> dict[str, Any]:
    doc: dict[str, Any] = YAML(typ="safe", pure=True).load(tree_of(spec_name)[POLICY_PATH])
    return doc


def deployed_namespaces(spec_name: str) -> list[str]:
    return sorted({s.namespace for s in model_of(spec_name).services if s.placements})


def test_policy_is_valid(spec_name: str) -> None:
    assert validate.validate_custom(policy(spec_name)) == []


ARGOCD_USERS = [
    "system:serviceaccount:argocd:argocd-application-controller",
    "system:serviceaccount:kube-system:argocd-manager",
]
LABEL = {"app.kubernetes.io/managed-by": "argocd"}
KIND_OF_RESOURCE = {
    "deployments": "Deployment",
    "statefulsets": "StatefulSet",
    "daemonsets": "DaemonSet",
    "rollouts": "Rollout",
}


def is_validating_policy(doc: dict[str, Any]) -> bool:
    return bool(doc["apiVersion"] == "policies.kyverno.io/v1")


def matched_kinds(doc: dict[str, Any]) -> list[str]:
    """`group/version/Kind` of every workload the guard checks, whichever its kind."""
    if not is_validating_policy(doc):
        (rule,) = doc["spec"]["rules"]
        kinds: list[str] = rule["match"]["any"][0]["resources"]["kinds"]
        return kinds
    return [
        f"{group}/{version}/{KIND_OF_RESOURCE[resource]}"
        for rule in doc["spec"]["matchConstraints"]["resourceRules"]
        for group in rule["apiGroups"]
        for version in rule["apiVersions"]
        for resource in rule["resources"]
    ]


def matched_namespaces(doc: dict[str, Any]) -> list[str]:
    if not is_validating_policy(doc):
        (rule,) = doc["spec"]["rules"]
        namespaces: list[str] = rule["match"]["any"][0]["resources"]["namespaces"]
        return namespaces
    (expression,) = doc["spec"]["matchConstraints"]["namespaceSelector"]["matchExpressions"]
    assert (expression["key"], expression["operator"]) == ("kubernetes.io/metadata.name", "In")
    values: list[str] = expression["values"]
    return values


def test_policy_kind_follows_the_kyverno_version(spec_name: str) -> None:
    # ValidatingPolicy is stable, and ClusterPolicy deprecated, from Kyverno 1.17 on.
    doc = policy(spec_name)
    version = model_of(spec_name).spec.platform.kyverno_version
    if version == "1.16.4":  # gcp.toml
        assert (doc["apiVersion"], doc["kind"]) == ("kyverno.io/v1", "ClusterPolicy")
    else:
        assert version == "1.19.0"  # the default
        assert (doc["apiVersion"], doc["kind"]) == ("policies.kyverno.io/v1", "ValidatingPolicy")


def test_policy_enforces_the_label_in_exactly_the_managed_namespaces(spec_name: str) -> None:
    doc = policy(spec_name)
    assert matched_namespaces(doc) == deployed_namespaces(spec_name)
    rollouts = ["argoproj.io/v1alpha1/Rollout"] if deploys_rollouts(spec_name) else []
    assert matched_kinds(doc) == [
        "apps/v1/Deployment",
        "apps/v1/StatefulSet",
        "apps/v1/DaemonSet",
        *rollouts,
    ]
    if is_validating_policy(doc):
        spec = doc["spec"]
        assert spec["validationActions"] == ["Deny"]
        # exempting a user needs the admission request: no background scan
        assert spec["evaluation"] == {"background": {"enabled": False}}
        for rule in spec["matchConstraints"]["resourceRules"]:
            assert rule["operations"] == ["CREATE", "UPDATE"]
            assert not any("/" in resource for resource in rule["resources"])  # no subresource
        users = ", ".join(f"'{user}'" for user in ARGOCD_USERS)
        assert spec["matchConditions"] == [
            {"name": "not-argocd", "expression": f"!(request.userInfo.username in [{users}])"}
        ]
        (validation,) = spec["validations"]
        assert validation["expression"] == (
            "has(object.metadata.labels) && 'app.kubernetes.io/managed-by' in"
            " object.metadata.labels && object.metadata.labels['app.kubernetes.io/managed-by']"
            " == 'argocd'"
        )
        return
    assert doc["apiVersion"] == "kyverno.io/v1"
    assert doc["kind"] == "ClusterPolicy"
    # `subjects` in exclude is refused by Kyverno for background policies
    assert doc["spec"]["background"] is False
    assert "validationFailureAction" not in doc["spec"]  # deprecated: per-rule failureAction
    (rule,) = doc["spec"]["rules"]
    assert rule["exclude"] == {
        "any": [
            {
                "subjects": [
                    {
                        "kind": "ServiceAccount",
                        "name": "argocd-application-controller",
                        "namespace": "argocd",
                    },
                    {
                        "kind": "ServiceAccount",
                        "name": "argocd-manager",
                        "namespace": "kube-system",
                    },
                ]
            }
        ]
    }
    assert rule["validate"]["failureAction"] == "Enforce"
    assert rule["validate"]["pattern"] == {"metadata": {"labels": LABEL}}


def deploys_rollouts(spec_name: str) -> bool:
    return any(s.placements and s.workload_kind == "Rollout" for s in model_of(spec_name).services)


def test_rollout_kind_is_matched_only_where_the_tree_deploys_rollouts() -> None:
    # Kyverno resolves every matched kind on admission: without the Argo Rollouts CRD a policy
    # naming Rollout is refused (before 1.14) or Ready=False, which Argo CD shows as Degraded.
    assert deploys_rollouts("reference")
    assert not deploys_rollouts("gcp")
    for spec_name, kind in (("reference", "Rollout"), ("gcp", None)):
        doc = policy(spec_name)
        kinds = matched_kinds(doc)
        subject = doc["metadata"]["annotations"]["policies.kyverno.io/subject"]
        assert ("argoproj.io/v1alpha1/Rollout" in kinds) is (kind is not None)
        assert subject.split(", ") == [k.rpartition("/")[2] for k in kinds]


def test_reference_namespaces() -> None:
    assert deployed_namespaces("reference") == ["orders", "payments", "trading"]
    assert matched_namespaces(policy("reference")) == ["orders", "payments", "trading"]


def test_no_policy_when_nothing_is_deployed() -> None:
    model = model_of("minimal")
    idle = attrs.evolve(
        model, services=tuple(attrs.evolve(s, placements=()) for s in model.services)
    )
    # an empty `namespaces` would match every namespace in the cluster
    assert policies.render(idle) == {}


@pytest.mark.tools
def test_every_deployed_workload_passes_the_policy(spec_name: str, tmp_path: Path) -> None:
    tree = tree_of(spec_name)
    for path, text in tree.items():
        target = tmp_path / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    namespaces = matched_namespaces(policy(spec_name))
    label = LABEL
    model = model_of(spec_name)
    kinds_seen = set()
    for service in model.services:
        if service.chart is not None:  # what a chart renders: tests/test_charts.py
            continue
        for placement in service.placements:
            docs, _ = validate.kustomize_build(
                tmp_path / f"apps/{service.name}/overlays/{placement.env}"
            )
            workloads = [d for d in docs if d["kind"] in WORKLOAD_KINDS]
            assert [d["kind"] for d in workloads] == [service.workload_kind]
            for doc in workloads:
                kinds_seen.add(doc["kind"])
                assert doc["metadata"]["namespace"] in namespaces
                assert doc["metadata"]["labels"].items() >= label.items()
    expected = {s.workload_kind for s in model.services if s.placements and s.chart is None}
    assert kinds_seen == expected


# ---------------------------------------------------------------------------------------------
# Delivery: Argo CD deploys the guard to every environment's cluster (CI never runs kubectl)

POLICY_PROJECT_PATH = "argocd/projects/platform-policies.yaml"


def load(text: str) -> Any:
    return YAML(typ="safe", pure=True).load(text)


def guard_apps(tree: dict[str, str]) -> list[dict[str, Any]]:
    return [load(text) for path, text in tree.items() if path.startswith("argocd/policies/")]


def objects_read_by(app: dict[str, Any], tree: dict[str, str]) -> list[dict[str, Any]]:
    """What Argo CD deploys for a directory source with one `include`: that file of `path`."""
    source = app["spec"]["source"]
    assert set(source["directory"]) == {"include"}
    assert not any(ch in source["directory"]["include"] for ch in "*?[{")
    path = f"{source['path']}/{source['directory']['include']}"
    return [doc for doc in YAML(typ="safe", pure=True).load_all(tree[path]) if doc]


def test_one_guard_application_per_environment_cluster(spec_name: str) -> None:
    model = model_of(spec_name)
    tree = tree_of(spec_name)
    apps = {app["metadata"]["name"]: app for app in guard_apps(tree)}
    names = [naming.policy_application_name(env.name) for env in model.environments]
    assert sorted(apps) == sorted(names)
    for env in model.environments:
        app = apps[naming.policy_application_name(env.name)]
        assert app["kind"] == "Application"
        assert app["metadata"]["namespace"] == "argocd"
        assert app["spec"]["project"] == "platform-policies"
        assert app["spec"]["source"] == {
            "repoURL": f"https://github.com/{model.spec.gitops.repo}.git",
            "targetRevision": model.spec.gitops.branch,
            "path": "policies",
            "directory": {"include": "require-argocd-managed-by.yaml"},
        }
        assert app["spec"]["destination"] == {"server": env.cluster, "namespace": "kyverno"}
        assert app["spec"]["info"] == [{"name": "Environments", "value": env.name}]
        # self-healing everywhere, prod included: no sync window applies to this project
        sync = app["spec"]["syncPolicy"]
        assert sync["automated"] == {"prune": True, "selfHeal": True}
        assert sync["syncOptions"] == ["ServerSideApply=true"]
        assert sync["retry"]["limit"] == env.retry.limit
        annotations = app["metadata"]["annotations"]
        assert annotations["argocd.argoproj.io/compare-options"] == (
            "ServerSideDiff=true,IncludeMutationWebhook=true"
        )
        # deleting the Application must not delete the guard
        assert "finalizers" not in app["metadata"]
        assert validate.validate_custom(app) == []
        assert objects_read_by(app, tree) == [policy(spec_name)]


def test_reference_guard_reaches_prod_automatically() -> None:
    prod = load(tree_of("reference")["argocd/policies/policies-prod.yaml"])
    assert prod["spec"]["destination"]["server"] == "https://prod-eks.me-south-1.eks.amazonaws.com"
    assert prod["spec"]["syncPolicy"]["automated"] == {"prune": True, "selfHeal": True}
    project = load(tree_of("reference")[POLICY_PROJECT_PATH])
    assert "syncWindows" not in project["spec"]


def permitted(project: dict[str, Any], app: dict[str, Any], objects: list[dict[str, Any]]) -> bool:
    """Argo CD's checks (AppProject.IsSourcePermitted, IsDestinationPermitted,
    IsGroupKindPermitted, the cluster whitelist's `name`), for exact entries without globs."""
    spec = project["spec"]
    destination = app["spec"]["destination"]
    if app["spec"]["source"]["repoURL"] not in spec["sourceRepos"]:
        return False
    if {"server": destination["server"], "namespace": destination["namespace"]} not in spec[
        "destinations"
    ]:
        return False
    for obj in objects:
        group = obj["apiVersion"].rpartition("/")[0]
        if "namespace" in obj["metadata"]:
            whitelist = spec.get("namespaceResourceWhitelist")
            if whitelist is not None and not any(
                (w["group"], w["kind"]) == (group, obj["kind"]) for w in whitelist
            ):
                return False
        elif not any(
            (w["group"], w["kind"], w.get("name", obj["metadata"]["name"]))
            == (group, obj["kind"], obj["metadata"]["name"])
            for w in spec["clusterResourceWhitelist"]
        ):
            return False
    return True


def test_guard_project_permits_exactly_what_its_applications_use(spec_name: str) -> None:
    model = model_of(spec_name)
    tree = tree_of(spec_name)
    project = load(tree[POLICY_PROJECT_PATH])
    assert validate.validate_custom(project) == []
    assert project["metadata"] == {
        "name": "platform-policies",
        "namespace": "argocd",
        "annotations": {"argocd.argoproj.io/sync-wave": "-1"},
        "finalizers": ["resources-finalizer.argocd.argoproj.io"],
    }
    apps = guard_apps(tree)
    spec = project["spec"]
    assert spec["sourceRepos"] == sorted({a["spec"]["source"]["repoURL"] for a in apps})
    used = sorted(
        (a["spec"]["destination"]["server"], a["spec"]["destination"]["namespace"]) for a in apps
    )
    assert [(d["server"], d["namespace"]) for d in spec["destinations"]] == used
    deployed = [obj for app in apps for obj in objects_read_by(app, tree)]
    assert all("namespace" not in obj["metadata"] for obj in deployed)  # all cluster-scoped
    kinds = {
        (obj["apiVersion"].rpartition("/")[0], obj["kind"], obj["metadata"]["name"])
        for obj in deployed
    }
    assert [(w["group"], w["kind"], w["name"]) for w in spec["clusterResourceWhitelist"]] == sorted(
        kinds
    )
    group, kind = policy(spec_name)["apiVersion"].rpartition("/")[0], policy(spec_name)["kind"]
    assert spec["clusterResourceWhitelist"] == [
        {"group": group, "kind": kind, "name": "require-argocd-managed-by"}
    ]
    assert (group, kind) in {
        ("kyverno.io", "ClusterPolicy"),
        ("policies.kyverno.io", "ValidatingPolicy"),
    }
    # empty, not absent: Argo CD permits every namespaced kind when the whitelist is absent
    assert spec["namespaceResourceWhitelist"] == []
    assert not any("*" in str(value) for d in spec["destinations"] for value in d.values())
    for app in apps:
        assert permitted(project, app, objects_read_by(app, tree))
    # only the platform owners: no team role, no other action
    (role,) = spec["roles"]
    owners = sorted(h.removeprefix("@").replace("/", ":") for h in model.spec.platform.owners)
    assert role["name"] == "platform"
    assert role["groups"] == owners
    assert role["policies"] == [
        "p, proj:platform-policies:platform, applications, get, platform-policies/*, allow",
        "p, proj:platform-policies:platform, applications, sync, platform-policies/*, allow",
    ]


def test_guard_project_refuses_what_it_does_not_use() -> None:
    tree = tree_of("reference")
    project = load(tree[POLICY_PROJECT_PATH])
    (app, *_) = guard_apps(tree)
    objects = objects_read_by(app, tree)
    other_policy = {**objects[0], "metadata": {"name": "something-else"}}
    namespaced = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "x", "namespace": "kyverno"},
    }
    elsewhere = {
        **app,
        "spec": {**app["spec"], "destination": {"server": "https://other", "namespace": "kyverno"}},
    }
    assert permitted(project, app, objects)
    assert not permitted(project, app, [other_policy])
    assert not permitted(project, app, [namespaced])
    assert not permitted(project, elsewhere, objects)


def test_environment_projects_stay_limited_to_the_services(spec_name: str) -> None:
    tree = tree_of(spec_name)
    for env in model_of(spec_name).environments:
        spec = load(tree[f"argocd/projects/{env.name}.yaml"])["spec"]
        assert {w["kind"] for w in spec["clusterResourceWhitelist"]} <= {"Namespace"}
        assert all(d["namespace"] != "kyverno" for d in spec["destinations"])


def test_the_root_app_deploys_the_guard_applications(spec_name: str) -> None:
    tree = tree_of(spec_name)
    root = load(tree["argocd/root.yaml"])["spec"]["source"]
    assert (root["path"], root["directory"]) == ("argocd", {"recurse": True})
    # the root reads every .yaml below argocd/: the project first (wave -1), then the guards
    project = load(tree[POLICY_PROJECT_PATH])
    assert project["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"] == "-1"
    guards = [p for p in tree if p.startswith("argocd/policies/")]
    assert guards
    for path in guards:
        assert path.endswith(".yaml")
        assert "argocd.argoproj.io/sync-wave" not in load(tree[path])["metadata"]["annotations"]


def test_environments_sharing_a_cluster_share_one_guard_application() -> None:
    model = model_of("reference")
    dev, staging, prod = model.environments
    shared = attrs.evolve(
        model, environments=(dev, attrs.evolve(staging, cluster=dev.cluster), prod)
    )
    tree = render_tree(shared)
    apps = {app["metadata"]["name"]: app for app in guard_apps(tree)}
    assert sorted(apps) == ["policies-dev", "policies-prod"]
    assert apps["policies-dev"]["spec"]["info"] == [
        {"name": "Environments", "value": "dev, staging"}
    ]
    project = load(tree[POLICY_PROJECT_PATH])
    assert [d["server"] for d in project["spec"]["destinations"]] == sorted(
        [dev.cluster, prod.cluster]
    )


def test_no_guard_applications_when_there_is_no_guard() -> None:
    model = model_of("minimal")
    idle = attrs.evolve(
        model, services=tuple(attrs.evolve(s, placements=()) for s in model.services)
    )
    tree = render_tree(idle)
    # an Application whose path does not exist would never become healthy
    assert not any(p.startswith(("argocd/policies/", "policies/")) for p in tree)
    assert POLICY_PROJECT_PATH not in tree


def test_guard_names_that_would_collide_are_refused() -> None:
    model = model_of("minimal")
    (service,) = model.services
    clash = attrs.evolve(model, services=(attrs.evolve(service, name="policies"),))
    with pytest.raises(ValueError, match="policies-dev"):
        argocd.render(clash)
    (env,) = model.environments
    named = attrs.evolve(model, environments=(attrs.evolve(env, name="platform-policies"),))
    with pytest.raises(ValueError, match="platform-policies"):
        argocd.render(named)


def test_apps_lists_only_the_service_applications(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["apps", "-c", str(SPECS / "reference.toml"), "--json"]) == 0
    apps = json.loads(capsys.readouterr().out)
    assert not any(a["name"].startswith("policies-") for a in apps)
    assert all(a["project"] != "platform-policies" for a in apps)
