"""Namespaces and their RBAC (render/namespaces.py): what the platform Application deploys
beside the guard, the rules of their keys, and how they meet the rest of the tree."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs
import pytest
from ruamel.yaml import YAML

from generator import naming
from generator.commands import validate
from generator.render import namespaces, render_tree
from generator.resolve import Model, resolve
from generator.spec.load import load_text
from tests.conftest import SPEC_NAMES, SPECS, model_of, tree_of
from tests.test_errors import BASE, DIGEST, edit, problems_of
from tests.test_policies import guard_apps, matched_namespaces, objects_read_by, policy

PSA = "pod-security.kubernetes.io"


def documents(text: str) -> list[dict[str, Any]]:
    return [doc for doc in YAML(typ="safe", pure=True).load_all(text) if doc]


def files_of(tree: dict[str, str]) -> dict[str, list[dict[str, Any]]]:
    return {
        path: documents(text)
        for path, text in tree.items()
        if path.startswith("policies/namespaces-")
    }


def of_kind(docs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [doc for doc in docs if doc["kind"] == kind]


def clusters(model: Model) -> dict[str, list[str]]:
    """Each cluster's environments, promotion order."""
    found: dict[str, list[str]] = {}
    for env in model.environments:
        found.setdefault(env.cluster, []).append(env.name)
    return found


def used_on(model: Model, envs: list[str]) -> list[str]:
    return sorted({s.namespace for s in model.services if s.application_envs & set(envs)})


# ---------------------------------------------------------------------------------------------
# The Namespaces


def test_each_cluster_gets_the_namespaces_its_services_use(spec_name: str) -> None:
    model = model_of(spec_name)
    files = files_of(tree_of(spec_name))
    expected = {}
    for envs in clusters(model).values():
        if used_on(model, envs):
            expected[f"policies/namespaces-{envs[0]}.yaml"] = used_on(model, envs)
    assert {
        path: [d["metadata"]["name"] for d in of_kind(docs, "Namespace")]
        for path, docs in files.items()
    } == expected


def test_the_guard_names_exactly_the_namespaces_rendered(spec_name: str) -> None:
    names = {
        d["metadata"]["name"]
        for docs in files_of(tree_of(spec_name)).values()
        for d in of_kind(docs, "Namespace")
    }
    assert sorted(names) == matched_namespaces(policy(spec_name))


def test_namespace_labels_and_annotations(spec_name: str) -> None:
    model = model_of(spec_name)
    version = f"v{model.spec.platform.kubernetes_version}"
    for path, docs in files_of(tree_of(spec_name)).items():
        envs = next(e for e in clusters(model).values() if path.endswith(f"-{e[0]}.yaml"))
        for doc in of_kind(docs, "Namespace"):
            name = doc["metadata"]["name"]
            meshed = any(
                s.namespace == name
                and s.canary is not None
                and s.canary.traffic == "istio"
                and s.application_envs & set(envs)
                for s in model.services
            )
            labels = {
                "app.kubernetes.io/managed-by": "argocd",
                f"{PSA}/enforce": "restricted",
                f"{PSA}/enforce-version": version,
                f"{PSA}/audit": "restricted",
                f"{PSA}/audit-version": version,
                f"{PSA}/warn": "restricted",
                f"{PSA}/warn-version": version,
            }
            if meshed:
                labels["istio-injection"] = "enabled"
            assert doc["metadata"]["labels"] == labels
            # never pruned nor deleted: deleting a namespace deletes all it holds
            assert doc["metadata"]["annotations"] == {
                "argocd.argoproj.io/sync-options": "Prune=false,Delete=false",
                "argocd.argoproj.io/compare-options": "IgnoreExtraneous",
            }


def test_istio_canary_namespaces_get_sidecar_injection_in_every_environment() -> None:
    files = files_of(tree_of("reference"))
    labels = {
        (path, d["metadata"]["name"]): d["metadata"]["labels"].get("istio-injection")
        for path, docs in files.items()
        for d in of_kind(docs, "Namespace")
    }
    # trading-engine (Istio) runs in dev and staging, not yet in prod; prod's namespaces
    # pre-exist all the same (create_namespace = false), made by the platform Application
    assert labels[("policies/namespaces-dev.yaml", "trading")] == "enabled"
    assert labels[("policies/namespaces-staging.yaml", "trading")] == "enabled"
    assert ("policies/namespaces-prod.yaml", "trading") not in labels
    assert labels[("policies/namespaces-prod.yaml", "payments")] is None
    assert labels[("policies/namespaces-dev.yaml", "orders")] is None


def test_a_namespace_shared_with_an_istio_canary_is_meshed_once() -> None:
    # orders-api moved into trading-engine's namespace: one Namespace, one label, in one file
    model = model_of("reference")
    moved = attrs.evolve(
        model,
        services=tuple(
            attrs.evolve(s, namespace="trading") if s.name == "orders-api" else s
            for s in model.services
        ),
    )
    docs = files_of(render_tree(moved))["policies/namespaces-dev.yaml"]
    (trading,) = [d for d in of_kind(docs, "Namespace") if d["metadata"]["name"] == "trading"]
    assert trading["metadata"]["labels"]["istio-injection"] == "enabled"
    bindings = [d for d in of_kind(docs, "RoleBinding") if d["metadata"]["namespace"] == "trading"]
    assert [b["metadata"]["name"] for b in bindings] == ["team-orders-view", "team-trading-view"]


# ---------------------------------------------------------------------------------------------
# RBAC: the teams read, nothing more, never cluster-wide


def test_each_team_may_view_its_namespaces_and_nothing_more(spec_name: str) -> None:
    model = model_of(spec_name)
    group_format = model.spec.platform.kubernetes_group
    tree = tree_of(spec_name)
    for path, docs in files_of(tree).items():
        envs = next(e for e in clusters(model).values() if path.endswith(f"-{e[0]}.yaml"))
        expected = sorted(
            (s.namespace, naming.team_view_binding_name(s.team))
            for s in model.services
            if s.application_envs & set(envs)
        )
        bindings = of_kind(docs, "RoleBinding")
        assert sorted({(b["metadata"]["namespace"], b["metadata"]["name"]) for b in bindings}) == (
            sorted(set(expected))
        )
        for binding in bindings:
            team = binding["metadata"]["labels"]["app.kubernetes.io/part-of"]
            assert binding["roleRef"] == {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": "view",
            }
            groups = sorted(
                {
                    g
                    for h in model.spec.teams[team].owners
                    if (g := naming.kubernetes_group(group_format, h)) is not None
                }
            )
            assert binding["subjects"] == [
                {"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": g}
                for g in groups
            ]
    # no cluster-wide grant, no Role or ClusterRole of our own, anywhere in the tree
    kinds = {
        doc["kind"]
        for path, text in tree.items()
        if path.endswith(".yaml")
        for doc in documents(text)
        if isinstance(doc, dict) and "kind" in doc
    }
    assert not kinds & {"ClusterRoleBinding", "ClusterRole", "Role"}


def test_the_group_of_a_team_follows_kubernetes_group() -> None:
    # gcp.toml: GKE's Google Groups for RBAC, a team's group named by its email
    docs = files_of(tree_of("gcp"))["policies/namespaces-dev.yaml"]
    (binding,) = of_kind(docs, "RoleBinding")
    assert [s["name"] for s in binding["subjects"]] == ["checkout@shop-co.example"]
    # the default, Dex's GitHub connector: org:team, as the Argo CD roles name them
    docs = files_of(tree_of("reference"))["policies/namespaces-prod.yaml"]
    names = {b["metadata"]["namespace"]: b["subjects"] for b in of_kind(docs, "RoleBinding")}
    assert names["payments"] == [
        {"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "bank-org:team-payments"}
    ]


def test_users_among_a_teams_owners_get_no_binding() -> None:
    assert naming.kubernetes_group("{org}:{team}", "@alice") is None
    assert naming.kubernetes_group("oidc:{org}:{team}", "@acme/web") == "oidc:acme:web"


# ---------------------------------------------------------------------------------------------
# Quotas and limit ranges


def test_quota_and_limit_range_where_the_environment_sets_them() -> None:
    files = files_of(tree_of("gcp"))
    prod = files["policies/namespaces-prod.yaml"]
    (quota,) = of_kind(prod, "ResourceQuota")
    assert quota["metadata"] == {
        "name": "namespace-quota",
        "namespace": "cart",
        "labels": {"app.kubernetes.io/managed-by": "argocd"},
    }
    assert quota["spec"] == {"hard": {"requests.cpu": "4", "requests.memory": "8Gi", "pods": "20"}}
    (limits,) = of_kind(prod, "LimitRange")
    assert limits["metadata"]["namespace"] == "cart"
    assert limits["spec"] == {
        "limits": [
            {
                "type": "Container",
                "default": {"memory": "256Mi"},
                "defaultRequest": {"cpu": "100m", "memory": "128Mi"},
                "max": {"cpu": "2", "memory": "4Gi"},
                "min": {"cpu": "10m"},
            }
        ]
    }
    # dev sets none
    dev = files["policies/namespaces-dev.yaml"]
    assert not of_kind(dev, "ResourceQuota")
    assert not of_kind(dev, "LimitRange")


# ---------------------------------------------------------------------------------------------
# Delivery: the platform Application reads the file, its project permits it


def test_the_platform_application_of_each_cluster_deploys_its_file(spec_name: str) -> None:
    tree = tree_of(spec_name)
    files = files_of(tree)
    for app in guard_apps(tree):
        env = app["metadata"]["name"].removeprefix("policies-")
        deployed = objects_read_by(app, tree)
        assert deployed[1:] == files.get(f"policies/namespaces-{env}.yaml", [])
        # Namespaces before what lives in them is Argo CD's own order; the file agrees
        assert all(
            any(
                n["kind"] == "Namespace" and n["metadata"]["name"] == d["metadata"]["namespace"]
                for n in deployed[1 : 1 + i + 1]
            )
            for i, d in enumerate(deployed[1:])
            if "namespace" in d["metadata"]
        )


def test_two_environments_on_one_cluster_share_one_file() -> None:
    model = model_of("reference")
    dev, staging, prod = model.environments
    shared = attrs.evolve(
        model, environments=(dev, attrs.evolve(staging, cluster=dev.cluster), prod)
    )
    files = files_of(render_tree(shared))
    assert sorted(files) == ["policies/namespaces-dev.yaml", "policies/namespaces-prod.yaml"]
    names = [
        d["metadata"]["name"] for d in of_kind(files["policies/namespaces-dev.yaml"], "Namespace")
    ]
    assert names == ["orders", "payments", "trading"]  # each once


def test_service_applications_create_a_namespace_only_where_create_namespace(
    spec_name: str,
) -> None:
    # create_namespace keeps its meaning for the services' Applications: Argo CD may create a
    # namespace that does not exist yet (untracked, unlabelled, never changed afterwards);
    # the project permits that Namespace by name; nowhere else.
    model = model_of(spec_name)
    tree = tree_of(spec_name)
    for env in model.environments:
        project = documents(tree[f"argocd/projects/{env.name}.yaml"])[0]["spec"]
        names = sorted({s.namespace for s in model.services if env.name in s.application_envs})
        expected = [{"group": "", "kind": "Namespace", "name": n} for n in names]
        assert project["clusterResourceWhitelist"] == (expected if env.create_namespace else [])


def test_no_namespaces_without_a_deployed_service() -> None:
    model = model_of("minimal")
    idle = attrs.evolve(
        model, services=tuple(attrs.evolve(s, placements=()) for s in model.services)
    )
    assert namespaces.render(idle) == {}


# ---------------------------------------------------------------------------------------------
# The real schemas, and the pods the namespaces admit


@pytest.mark.tools
@pytest.mark.parametrize("spec_name", SPEC_NAMES)
def test_every_new_object_is_valid_against_the_kubernetes_schemas(spec_name: str) -> None:
    model = model_of(spec_name)
    version = model.spec.platform.kubernetes_version
    for path, docs in files_of(tree_of(spec_name)).items():
        assert docs, path
        assert validate.validate_objects(docs, version) == [], path
    project = documents(tree_of(spec_name)["argocd/projects/platform-policies.yaml"])[0]
    assert validate.validate_custom(project, version) == []
    for app in guard_apps(tree_of(spec_name)):
        assert validate.validate_custom(app, version) == []


@pytest.mark.tools
def test_a_wrong_field_in_a_new_object_is_a_finding() -> None:
    (doc, *_) = files_of(tree_of("gcp"))["policies/namespaces-prod.yaml"]
    quota = next(
        d
        for d in files_of(tree_of("gcp"))["policies/namespaces-prod.yaml"]
        if d["kind"] == "ResourceQuota"
    )
    broken = {**quota, "spec": {"hrad": quota["spec"]["hard"]}}
    assert validate.validate_objects([doc, broken]) != []


def restricted_problems(pod: dict[str, Any]) -> list[str]:
    """What Pod Security's `restricted` profile refuses in a pod spec (the checks that apply
    to what gitopsgen renders: kubernetes.io/docs/concepts/security/pod-security-standards)."""
    found = []
    security = pod.get("securityContext", {})
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        if pod.get(key):
            found.append(key)
    if any("hostPath" in volume for volume in pod.get("volumes", [])):
        found.append("hostPath")
    for container in pod.get("initContainers", []) + pod["containers"]:
        context = container.get("securityContext", {})
        name = container["name"]
        if context.get("privileged"):
            found.append(f"{name}: privileged")
        if context.get("allowPrivilegeEscalation") is not False:
            found.append(f"{name}: allowPrivilegeEscalation")
        if context.get("capabilities", {}).get("drop") != ["ALL"]:
            found.append(f"{name}: capabilities.drop")
        if set(context.get("capabilities", {}).get("add", [])) - {"NET_BIND_SERVICE"}:
            found.append(f"{name}: capabilities.add")
        if not (context.get("runAsNonRoot") or security.get("runAsNonRoot")):
            found.append(f"{name}: runAsNonRoot")
        if context.get("runAsUser") == 0 or security.get("runAsUser") == 0:
            found.append(f"{name}: runAsUser")
        seccomp = context.get("seccompProfile") or security.get("seccompProfile") or {}
        if seccomp.get("type") not in ("RuntimeDefault", "Localhost"):
            found.append(f"{name}: seccompProfile")
        if any(port.get("hostPort") for port in container.get("ports", [])):
            found.append(f"{name}: hostPort")
    return found


@pytest.mark.tools
def test_every_pod_the_tree_deploys_passes_pod_security_restricted(
    spec_name: str, tmp_path: Path
) -> None:
    tree = tree_of(spec_name)
    for path, text in tree.items():
        target = tmp_path / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    model = model_of(spec_name)
    seen = 0
    for service in model.services:
        if service.chart is not None:
            continue  # a Helm chart's pods are the chart's (README: Namespaces and team access)
        for placement in service.placements:
            docs, _ = validate.kustomize_build(
                tmp_path / f"apps/{service.name}/overlays/{placement.env}"
            )
            for doc in docs:
                if doc["kind"] in ("Deployment", "Rollout"):
                    seen += 1
                    assert restricted_problems(doc["spec"]["template"]["spec"]) == [], (
                        service.name,
                        placement.env,
                    )
    assert seen


def test_restricted_problems_finds_what_the_profile_refuses() -> None:
    pod = {
        "containers": [{"name": "c", "securityContext": {"capabilities": {"add": ["NET_ADMIN"]}}}]
    }
    assert restricted_problems(pod) == [
        "c: allowPrivilegeEscalation",
        "c: capabilities.drop",
        "c: capabilities.add",
        "c: runAsNonRoot",
        "c: seccompProfile",
    ]


# ---------------------------------------------------------------------------------------------
# The services file: located errors and warnings, each with its exact message

KUBERNETES_GROUP = 'owners = ["@acme/platform"]'  # line 10: the key goes on line 11
PLACEHOLDERS = "only {org} and {team} are replaced (by a GitHub team's organisation and slug)"
ORDER = "Kubernetes refuses a LimitRange unless min <= default_request <= default <= max"
DEV_HELLO = "\n[environments.dev.namespaces.hello]\n"  # the table on line 33, its keys from 34


def group(value: str) -> str:
    return edit(KUBERNETES_GROUP, f'{KUBERNETES_GROUP}\nkubernetes_group = "{value}"')


CASES = [
    (
        "group-unknown-placeholder",
        group("{org}:{slug}"),
        [
            "11:1: platform.kubernetes_group: '{org}:{slug}' has '{slug}', which is not a"
            f" placeholder: {PLACEHOLDERS}"
        ],
    ),
    (
        "group-unclosed-placeholder",
        group("oidc:{team"),
        [
            "11:1: platform.kubernetes_group: 'oidc:{team' has '{team', which is not a"
            f" placeholder: {PLACEHOLDERS}"
        ],
    ),
    (
        "group-stray-brace",
        group("team}:{team}"),
        [
            "11:1: platform.kubernetes_group: 'team}:{team}' has '}', which is not a"
            f" placeholder: {PLACEHOLDERS}"
        ],
    ),
    (
        "group-without-team",
        group("{org}"),
        [
            "11:1: platform.kubernetes_group: '{org}' has no {team}: every team would be the"
            " same Kubernetes group, so each team's RoleBindings would grant every other team"
            " too"
        ],
    ),
    (
        "namespace-no-service-uses",
        BASE + "\n[environments.dev.namespaces.helo]\nquota = { pods = 5 }\n",
        [
            "33:30: environments.dev.namespaces.helo: no service uses the namespace 'helo'"
            " (did you mean 'hello'?)"
        ],
    ),
    (
        "namespace-no-service-uses-listed",
        BASE + "\n[environments.dev.namespaces.payments]\nquota = { pods = 5 }\n",
        [
            "33:30: environments.dev.namespaces.payments: no service uses the namespace"
            " 'payments'; services use hello"
        ],
    ),
    (
        "namespace-sets-nothing",
        BASE + DEV_HELLO,
        [
            "33:30: environments.dev.namespaces.hello: sets neither quota nor limit_range:"
            " write one, or remove the table"
        ],
    ),
    (
        "quota-sets-nothing",
        BASE + DEV_HELLO + "quota = {}\n",
        [
            "34:1: environments.dev.namespaces.hello.quota: sets no limit: write requests,"
            " limits or pods"
        ],
    ),
    (
        "quota-values",
        BASE
        + DEV_HELLO
        + 'quota = { requests = { cpu = "lots" }, limits = { memory = "1g" }, pods = 0 }\n',
        [
            "34:24: environments.dev.namespaces.hello.quota.requests.cpu: 'lots' is not a"
            " Kubernetes quantity (e.g. '250m', '1' or '1.5')",
            "34:51: environments.dev.namespaces.hello.quota.limits.memory: '1g' is not a"
            " Kubernetes quantity (e.g. '512Mi', '1Gi' or '1e9')",
            "34:68: environments.dev.namespaces.hello.quota.pods: must be at least 1, got 0",
        ],
    ),
    (
        "limit-range-sets-nothing",
        BASE + DEV_HELLO + "limit_range = {}\n",
        [
            "34:1: environments.dev.namespaces.hello.limit_range: sets no limit: write"
            " default_request, default, min or max"
        ],
    ),
    (
        "limit-range-quantity",
        BASE + DEV_HELLO + 'limit_range = { max = { memory = "512m" } }\n',
        [
            "34:25: environments.dev.namespaces.hello.limit_range.max.memory: '512m' means"
            " 0.512 bytes ('m' is milli); did you mean '512Mi'?"
        ],
    ),
    (
        "limit-range-order",
        BASE
        + DEV_HELLO
        + 'limit_range = { min = { cpu = "200m" }, default_request = { cpu = "100m" },'
        ' default = { memory = "2Gi" }, max = { memory = "1Gi" } }\n',
        [
            "34:61: environments.dev.namespaces.hello.limit_range.default_request.cpu: '100m'"
            f" is below min.cpu '200m': {ORDER}",
            "34:115: environments.dev.namespaces.hello.limit_range.max.memory: '1Gi' is below"
            f" default.memory '2Gi': {ORDER}",
        ],
    ),
    (
        "limit-range-refuses-a-service",
        BASE + DEV_HELLO + 'limit_range = { max = { cpu = "250m" }, min = { memory = "256Mi" } }\n',
        [
            "34:25: environments.dev.namespaces.hello.limit_range.max.cpu: service 'hello'"
            " runs in 'dev' with the cpu limit '500m', above this max '250m': Kubernetes would"
            " refuse its pods",
            "34:49: environments.dev.namespaces.hello.limit_range.min.memory: service 'hello'"
            " runs in 'dev' with the memory request '128Mi', below this min '256Mi':"
            " Kubernetes would refuse its pods",
        ],
    ),
    (
        "a-system-namespace",
        edit('repo = "acme/hello"', 'repo = "acme/hello"\nnamespace = "kube-system"'),
        [
            "28:1: services.hello.namespace: namespace 'kube-system' is a system namespace"
            " (Kubernetes reserves the prefix 'kube-'): the platform Application would own it,"
            " enforce Pod Security restricted on all it runs, and the guard would refuse its"
            " other workloads; give the service a namespace of its own"
        ],
    ),
    (
        "a-service-named-after-a-system-namespace",
        edit("[services.hello]", "[services.argocd]").replace(
            "[services.hello.envs.dev]", "[services.argocd.envs.dev]"
        ),
        [
            "25:11: services.argocd: namespace 'argocd' is Argo CD's namespace: the platform"
            " Application would own it, enforce Pod Security restricted on all it runs, and the"
            " guard would refuse its other workloads; give the service a namespace of its own"
        ],
    ),
    (
        "one-cluster-one-namespace-settings",
        edit('cluster = "https://prod.example.com"', 'cluster = "https://dev.example.com"')
        + '\n[services.other]\nteam = "web"\nnamespace = "hello"\n\n[services.other.envs.prod]'
        + f'\ntag = "1.0.0"\n{DIGEST}\n'
        + DEV_HELLO
        + "quota = { pods = 5 }\n\n[environments.prod.namespaces.hello]\nquota = { pods = 5 }\n",
        [
            "44:31: environments.prod.namespaces.hello: environments 'dev' and 'prod' share the"
            " cluster 'https://dev.example.com', which has one namespace 'hello': both set its"
            " quota or limit range; set them in one of the two environments only"
        ],
    ),
]


@pytest.mark.parametrize(
    ("text", "expected"), [pytest.param(text, expected, id=name) for name, text, expected in CASES]
)
def test_rule(text: str, expected: list[str]) -> None:
    assert problems_of(text) == [f"s.toml:{line}" for line in expected]


WARNING_CASES = [
    (
        "nothing-runs-there-yet",
        BASE + "\n[environments.prod.namespaces.hello]\nquota = { pods = 5 }\n",
        [
            "33:31: environments.prod.namespaces.hello: nothing runs in namespace 'hello' in"
            " 'prod' yet, so it has no quota or limit range there until a service does"
        ],
    ),
    (
        "quota-requests-above-limits",
        BASE + DEV_HELLO + 'quota = { requests = { cpu = "4" }, limits = { cpu = "2" } }\n',
        [
            "34:24: environments.dev.namespaces.hello.quota.requests.cpu: '4' is above"
            " limits.cpu '2': every pod's request is at most its limit, so the requests can"
            " never reach this"
        ],
    ),
    ("a-valid-quota", BASE + DEV_HELLO + 'quota = { requests = { cpu = "4" }, pods = 9 }\n', []),
    (
        "quota-below-what-the-services-need",
        edit("auto_sync = true", "auto_sync = true\nreplicas = 2")
        + "\n[environments.dev.namespaces.hello]\n"
        + 'quota = { requests = { cpu = "150m", memory = "64Mi" }, limits = { memory = "1Gi" },'
        " pods = 1 }\n",
        [
            "35:24: environments.dev.namespaces.hello.quota.requests.cpu: '150m' is below the"
            " 0.2 CPU the services in 'hello' need in 'dev' at their most replicas: Kubernetes"
            " refuses the pods past it (scale-ups, rollouts)",
            "35:38: environments.dev.namespaces.hello.quota.requests.memory: '64Mi' is below"
            " the 256Mi memory the services in 'hello' need in 'dev' at their most replicas:"
            " Kubernetes refuses the pods past it (scale-ups, rollouts)",
            "35:86: environments.dev.namespaces.hello.quota.pods: 1 is below the 2 pods the"
            " services in 'hello' run in 'dev' at their most replicas: Kubernetes refuses the"
            " pods past it (scale-ups, and the extra pods of a rollout)",
        ],
    ),
    (
        "quota-below-the-hpa-max",
        edit('repo = "acme/hello"', 'repo = "acme/hello"\nhpa = { min = 1, max = 4 }')
        + "\n[environments.dev.namespaces.hello]\n"
        + 'quota = { limits = { cpu = "1500m", memory = "1Gi" } }\n',
        [
            "35:22: environments.dev.namespaces.hello.quota.limits.cpu: '1500m' is below the 2"
            " CPU the services in 'hello' need in 'dev' at their most replicas: Kubernetes"
            " refuses the pods past it (scale-ups, rollouts)",
        ],
    ),
]


@pytest.mark.parametrize(
    ("text", "expected"),
    [pytest.param(text, expected, id=name) for name, text, expected in WARNING_CASES],
)
def test_warning(text: str, expected: list[str]) -> None:
    warnings = load_text(text, "s.toml").warnings
    assert [str(w) for w in warnings] == [f"s.toml:{line}" for line in expected]


def test_a_valid_file_with_namespace_settings_renders_them() -> None:
    text = (
        group("oidc:{org}:{team}")
        + DEV_HELLO
        + (
            'quota = { limits = { cpu = "8", memory = "8Gi" } }\n'
            'limit_range = { default = { cpu = "500m", memory = "256Mi" } }\n'
        )
    )
    tree = render_tree(resolve(load_text(text, "s.toml").spec))
    docs = documents(tree["policies/namespaces-dev.yaml"])
    assert [d["kind"] for d in docs] == ["Namespace", "LimitRange", "ResourceQuota", "RoleBinding"]
    assert docs[2]["spec"]["hard"] == {"limits.cpu": "8", "limits.memory": "8Gi"}
    assert docs[3]["subjects"][0]["name"] == "oidc:acme:web"
    project = documents(tree["argocd/projects/platform-policies.yaml"])[0]["spec"]
    assert project["namespaceResourceWhitelist"] == [
        {"group": "", "kind": "LimitRange"},
        {"group": "", "kind": "ResourceQuota"},
        {"group": "rbac.authorization.k8s.io", "kind": "RoleBinding"},
    ]


def test_a_charts_containers_are_not_judged_by_the_services_file() -> None:
    # cache and billing are Helm charts in namespace hello: their values, not the services
    # file, set their resources and replicas; only the Kustomize service hello is judged.
    text = (SPECS / "charts.toml").read_text(encoding="utf-8") + (
        "\n[environments.dev.namespaces.hello]\n"
        'limit_range = { max = { cpu = "250m" } }\nquota = { pods = 1 }\n'
    )
    # (cache's smoke test is a Job of fixed resources, which the limit range judges too)
    found = problems_of(text)
    assert len(found) == 2
    assert any(
        "the smoke test of 'cache' runs in 'dev' with the cpu limit '500m'" in p for p in found
    )
    assert any("service 'hello' runs in 'dev' with the cpu limit '500m'" in p for p in found)
    fixed = text.replace('max = { cpu = "250m" }', 'max = { cpu = "1" }')
    assert [str(w) for w in load_text(fixed, "s.toml").warnings] == []
