"""Promotion after automated tests: the smoke test Job, the Notifications triggers that
propose the next promotion, and the promote workflow's refusal of an untested tag."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from generator import smoketest
from generator.argo import gotemplate
from generator.cli import main
from generator.commands import promotion, tags
from generator.commands.validate import CRD_SCHEMAS, validate_objects
from generator.render import notifications
from generator.render.github import PROMOTE_PATH
from generator.render.smoketest import smoke_test_job
from generator.smoketest import ResolvedSmokeTest
from generator.spec.load import load_text
from generator.tools import run_tool
from tests.conftest import SPECS, model_of, tree_of
from tests.test_errors import BASE, HEX, edit, problems_of
from tests.test_github import git, parsed, run_bash, script_of

SMOKE = "smoke"
DIGEST = f"sha256:{HEX}"
IMAGE = f"ghcr.io/acme/smoke@{DIGEST}"


def load(text: str) -> Any:
    return YAML(typ="safe").load(text)


def load_all(text: str) -> list[Any]:
    return list(YAML(typ="safe").load_all(text))


# --- the Job -----------------------------------------------------------------------------------


def test_the_job_is_a_pure_function_of_plain_values() -> None:
    test = ResolvedSmokeTest(image=IMAGE, command=("/smoke", "-v"), deadline_seconds=120, retries=1)
    text = smoke_test_job(
        service="api",
        team="web",
        env="dev",
        namespace="shop",
        service_account="api",
        port=8080,
        test=test,
        set_namespace=True,
    )
    job = load(text)
    assert job["metadata"]["name"] == "api-smoke-test"
    assert job["metadata"]["namespace"] == "shop"
    assert job["metadata"]["annotations"] == {
        "argocd.argoproj.io/hook": "PostSync",
        "argocd.argoproj.io/hook-delete-policy": "BeforeHookCreation",
    }
    assert job["spec"]["activeDeadlineSeconds"] == 120
    assert job["spec"]["backoffLimit"] == 1
    pod = job["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "api"
    assert pod["automountServiceAccountToken"] is False
    assert pod["restartPolicy"] == "Never"
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    (container,) = pod["containers"]
    assert container["image"] == IMAGE
    assert container["command"] == ["/smoke", "-v"]
    assert container["env"] == [{"name": "SERVICE_URL", "value": "http://api.shop.svc"}]
    assert container["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    assert {"requests", "limits"} <= set(container["resources"])
    # Never the service's own name label: its Service, PDB, HPA and NetworkPolicy select it.
    labels = job["spec"]["template"]["metadata"]["labels"]
    assert labels["app.kubernetes.io/name"] == "api-smoke-test"
    assert labels["app.kubernetes.io/managed-by"] == "argocd"
    assert labels == job["metadata"]["labels"]
    assert validate_objects([job]) == []
    # The same values give the same bytes; without set_namespace the overlay sets it.
    assert text == smoke_test_job(
        service="api",
        team="web",
        env="dev",
        namespace="shop",
        service_account="api",
        port=8080,
        test=test,
        set_namespace=True,
    )
    bare = load(
        smoke_test_job(
            service="api",
            team="web",
            env="dev",
            namespace="shop",
            service_account="api",
            port=0,
            test=test,
        )
    )
    assert "namespace" not in bare["metadata"]
    assert "env" not in bare["spec"]["template"]["spec"]["containers"][0]


def test_the_job_is_in_each_tested_overlay_and_nowhere_else() -> None:
    tree = tree_of(SMOKE)
    jobs = sorted(p for p in tree if p.endswith(f"/{smoketest.FILE_NAME}"))
    assert jobs == [
        "apps/hello/overlays/dev/smoke-test.yaml",
        "apps/hello/overlays/staging/smoke-test.yaml",
        "apps/worker/overlays/dev/smoke-test.yaml",
    ]  # prod: `enabled = false`
    for path in jobs:
        overlay = path.rsplit("/", 1)[0]
        kustomization = load(tree[f"{overlay}/kustomization.yaml"])
        assert kustomization["resources"] == ["../../base", smoketest.FILE_NAME]
    prod = load(tree["apps/hello/overlays/prod/kustomization.yaml"])
    assert prod["resources"] == ["../../base"]
    staging = load(tree["apps/hello/overlays/staging/smoke-test.yaml"])
    # the environment's entry, key by key over the service's
    container = staging["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == ["/bin/integration", "--all"]
    assert container["image"].startswith("ghcr.io/acme/hello-smoke:2.1@sha256:")
    assert staging["spec"]["activeDeadlineSeconds"] == 900
    assert staging["spec"]["backoffLimit"] == 2
    worker = load(tree["apps/worker/overlays/dev/smoke-test.yaml"])
    assert worker["spec"]["activeDeadlineSeconds"] == 90
    assert "env" not in worker["spec"]["template"]["spec"]["containers"][0]  # port = 0


@pytest.mark.tools
def test_kubectl_kustomize_renders_the_overlay_with_the_job(tmp_path: Path) -> None:
    for path, text in tree_of(SMOKE).items():
        target = tmp_path / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    result = run_tool(["kubectl", "kustomize", str(tmp_path / "apps/hello/overlays/staging")])
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # no warning
    objects = load_all(result.stdout)
    (job,) = [o for o in objects if o["kind"] == "Job"]
    assert job["metadata"]["namespace"] == "hello"  # the overlay's namespace
    assert job["metadata"]["annotations"]["argocd.argoproj.io/hook"] == "PostSync"
    pod_labels = job["spec"]["template"]["metadata"]["labels"]
    assert pod_labels["app.kubernetes.io/environment"] == "staging"
    assert pod_labels["app.kubernetes.io/name"] == "hello-smoke-test"
    # the overlay's images entry rewrites the service's image only
    (deployment,) = [o for o in objects if o["kind"] == "Deployment"]
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"].endswith(
        ":1.0.0@sha256:483e04f17eae5234764124df21bfa43ebb5cb925cbd5a1b833bfe758d7fb2463"
    )
    assert job["spec"]["template"]["spec"]["containers"][0]["image"].startswith(
        "ghcr.io/acme/hello-smoke:2.1@"
    )
    # nothing of the service selects the test's pod
    for obj in objects:
        selector = (obj.get("spec") or {}).get("selector")
        if isinstance(selector, dict):
            wanted = selector.get("matchLabels", selector)
            assert not set(wanted.items()) <= set(pod_labels.items()), obj["kind"]
    assert validate_objects(objects) == []


# --- the Notifications ConfigMap ---------------------------------------------------------------

# The fields of an Application that a trigger may read: those of the Application CRD
# (argo-cd manifests/crds/application-crd.yaml, schemas/crds/ here: `status.operationState`,
# `status.health`, `status.sync`, ...), and the ObjectMeta fields Kubernetes documents. Argo CD's
# own triggers read the same ones (docs/operator-manual/notifications/triggers.md;
# notifications_catalog/triggers/on-deployed.yaml: `app.status.operationState.phase`,
# `app.status.health.status`, oncePer `app.status.operationState?.syncResult?.revision`).
APPLICATION = json.loads(
    (CRD_SCHEMAS / "argoproj.io" / "application_v1alpha1.json").read_text(encoding="utf-8")
)
OBJECT_META = {"name", "namespace", "labels", "annotations", "uid"}
# The values those fields take (gitops-engine pkg/sync/common/types.go: OperationPhase and
# HookType; pkg/health/health.go: HealthStatusCode), so a misspelt literal fails here.
DOCUMENTED_VALUES = {
    "status.operationState.phase": {"Running", "Terminating", "Failed", "Error", "Succeeded"},
    "status.operationState.syncResult.resources[].hookPhase": {
        "Running",
        "Terminating",
        "Failed",
        "Error",
        "Succeeded",
    },
    "status.operationState.syncResult.resources[].hookType": {
        "PreSync",
        "Sync",
        "PostSync",
        "Skip",
        "SyncFail",
    },
    "status.health.status": {
        "Unknown",
        "Progressing",
        "Healthy",
        "Suspended",
        "Degraded",
        "Missing",
    },
}

_TOKEN = re.compile(
    r"\s*(?:(?P<string>'[^']*')|(?P<op>==|!=|[\[\](){},])"
    r"|(?P<field>\.[A-Za-z_]\w*)|(?P<path>[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*))"
)


class Expr:
    """The subset of expr-lang (https://expr-lang.org/docs/language-definition) the triggers
    use: `and`, `or`, `==`, `!=`, `in`, `endsWith`, `nil`, string and list literals, member
    paths and `any(array, {predicate})` whose `.field` is the element's. Parsed into a tree
    (for the field references) that it also evaluates (for the behaviour)."""

    def __init__(self, text: str) -> None:
        self.tokens: list[tuple[str, str]] = []
        position = 0
        while position < len(text.rstrip()):
            match = _TOKEN.match(text, position)
            assert match is not None, f"cannot read {text[position:]!r}"
            assert match.lastgroup is not None
            self.tokens.append((match.lastgroup, match[match.lastgroup]))
            position = match.end()
        self.at = 0
        self.tree = self.disjunction()
        assert self.at == len(self.tokens), f"left over: {self.tokens[self.at :]}"

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self, value: str | None = None) -> tuple[str, str]:
        token = self.tokens[self.at]
        assert value is None or token[1] == value, (token, value)
        self.at += 1
        return token

    def disjunction(self) -> Any:
        node = self.conjunction()
        while self.peek() == ("path", "or"):
            self.take()
            node = ("or", node, self.conjunction())
        return node

    def conjunction(self) -> Any:
        node = self.comparison()
        while self.peek() == ("path", "and"):
            self.take()
            node = ("and", node, self.comparison())
        return node

    def comparison(self) -> Any:
        left = self.operand()
        token = self.peek()
        if token in (("op", "=="), ("op", "!="), ("path", "in"), ("path", "endsWith")):
            self.take()
            return (token[1], left, self.operand())
        return left

    def operand(self) -> Any:
        kind, value = self.take()
        if kind == "string":
            return ("literal", value[1:-1])
        if value == "nil":
            return ("literal", None)
        if value == "[":
            items = []
            while self.peek() != ("op", "]"):
                items.append(self.operand())
                if self.peek() == ("op", ","):
                    self.take()
            self.take("]")
            return ("list", items)
        if value == "any":
            self.take("(")
            array = self.operand()
            self.take(",")
            self.take("{")
            predicate = self.disjunction()
            self.take("}")
            self.take(")")
            return ("any", array, predicate)
        if kind == "field":
            return ("field", value[1:].split("."))
        assert kind == "path", value
        return ("path", value.split("."))

    def references(self) -> Iterator[str]:
        """Each field read, as a path below `app`; an element's as `<array>[].<field>`."""

        def walk(node: Any, element: str | None) -> Iterator[str]:
            if node[0] == "path":
                assert node[1][0] == "app", node
                yield ".".join(node[1][1:])
            elif node[0] == "field":
                assert element is not None
                yield f"{element}[].{'.'.join(node[1])}"
            elif node[0] == "any":
                array = list(walk(node[1], element))
                yield from array
                yield from walk(node[2], array[0])
            elif node[0] == "list":
                for item in node[1]:
                    yield from walk(item, element)
            elif node[0] != "literal":
                for child in node[1:]:
                    yield from walk(child, element)

        return walk(self.tree, None)

    def comparisons(self) -> Iterator[tuple[str, str]]:
        """(field, literal) of each `field == 'literal'`."""

        def walk(node: Any, element: str | None) -> Iterator[tuple[str, str]]:
            if node[0] in ("==", "!=") and node[2][0] == "literal" and node[2][1] is not None:
                (field,) = Expr.refs_of(node[1], element)
                yield field, node[2][1]
            elif node[0] == "any":
                (array,) = Expr.refs_of(node[1], element)
                yield from walk(node[2], array)
            elif node[0] in ("and", "or"):
                yield from walk(node[1], element)
                yield from walk(node[2], element)

        return walk(self.tree, None)

    @staticmethod
    def refs_of(node: Any, element: str | None) -> list[str]:
        if node[0] == "path":
            return [".".join(node[1][1:])]
        assert node[0] == "field"
        assert element is not None
        return [f"{element}[].{'.'.join(node[1])}"]

    def evaluate(self, app: dict[str, Any]) -> Any:
        def get(value: Any, keys: list[str]) -> Any:
            for key in keys:
                if value is None:
                    raise ValueError(f"cannot fetch {key} from nil")  # as expr-lang does
                value = value.get(key)
            return value

        def run(node: Any, element: Any) -> Any:
            kind = node[0]
            if kind == "literal":
                return node[1]
            if kind == "list":
                return [run(item, element) for item in node[1]]
            if kind == "path":
                return get({"app": app}, node[1])
            if kind == "field":
                return get(element, node[1])
            if kind == "and":
                return run(node[1], element) and run(node[2], element)
            if kind == "or":
                return run(node[1], element) or run(node[2], element)
            if kind == "any":
                return any(run(node[2], item) for item in run(node[1], element) or [])
            left, right = run(node[1], element), run(node[2], element)
            if kind == "==":
                return left == right
            if kind == "!=":
                return left != right
            if kind == "in":
                return left in right
            assert kind == "endsWith"
            return isinstance(left, str) and left.endswith(right)

        return run(self.tree, None)


def documented(reference: str) -> bool:
    """Whether `reference` (below `app`) is a field of the Application CRD's schema."""
    parts = reference.split(".")
    if parts[0] == "metadata":
        return len(parts) == 2 and parts[1] in OBJECT_META
    node: dict[str, Any] = APPLICATION
    for part in parts:
        is_array = part.endswith("[]")
        properties = node.get("properties", {})
        if part.removesuffix("[]") not in properties:
            return False
        node = properties[part.removesuffix("[]")]
        if is_array:
            if node.get("type") != "array":
                return False
            node = node["items"]
    return True


def notifications_cm(spec_name: str = SMOKE) -> dict[str, Any]:
    data: dict[str, Any] = load(tree_of(spec_name)[notifications.PATH])
    return data


def triggers(spec_name: str = SMOKE) -> dict[str, list[dict[str, Any]]]:
    data = notifications_cm(spec_name)["data"]
    return {
        k.removeprefix("trigger."): load(v) for k, v in data.items() if k.startswith("trigger.")
    }


def test_the_checker_knows_a_wrong_field_and_a_wrong_value() -> None:
    assert documented("status.operationState.syncResult.revision")
    assert documented("status.operationState.syncResult.resources[].hookPhase")
    assert not documented("status.operationState.syncResult.resources[].hookStatus")
    assert not documented("status.healthStatus")
    assert not documented("status.operationState[].phase")
    typo = Expr("app.status.operationState.phase == 'Succeded'")
    ((field, value),) = typo.comparisons()
    assert value not in DOCUMENTED_VALUES[field]


def test_every_field_a_trigger_reads_is_a_documented_application_field() -> None:
    found = triggers()
    assert sorted(found) == ["propose-prod", "propose-staging"]  # qa: auto_propose = false
    for name, conditions in found.items():
        (condition,) = conditions
        assert set(condition) == {"description", "when", "oncePer", "send"}
        assert condition["send"] == [name]
        when = Expr(condition["when"])
        references = sorted(set(when.references()))
        assert references == [
            "metadata.name",
            "metadata.namespace",
            "spec.project",
            "status.health.status",
            "status.operationState",
            "status.operationState.phase",
            "status.operationState.syncResult.resources",
            "status.operationState.syncResult.resources[].hookPhase",
            "status.operationState.syncResult.resources[].hookType",
            "status.operationState.syncResult.resources[].kind",
            "status.operationState.syncResult.resources[].name",
        ]
        assert [r for r in references if not documented(r)] == []
        for field, value in when.comparisons():
            if field in DOCUMENTED_VALUES:
                assert value in DOCUMENTED_VALUES[field], (field, value)
        once = Expr(condition["oncePer"])
        assert list(once.references()) == ["status.operationState.syncResult.revision"]
        assert all(documented(r) for r in once.references())


def application(**changes: Any) -> dict[str, Any]:
    """An Application of dev as Argo CD reports it after a sync whose PostSync hook passed."""
    app: dict[str, Any] = {
        "metadata": {"name": "hello-dev", "namespace": "argocd"},
        "spec": {"project": "dev"},
        "status": {
            "health": {"status": "Healthy"},
            "sync": {"status": "Synced", "revision": "f" * 40},
            "operationState": {
                "phase": "Succeeded",
                "syncResult": {
                    "revision": "a" * 40,
                    "resources": [
                        {"kind": "Deployment", "name": "hello", "status": "Synced"},
                        {
                            "kind": "Job",
                            "name": "hello-smoke-test",
                            "hookType": "PostSync",
                            "hookPhase": "Succeeded",
                        },
                    ],
                },
            },
        },
    }
    for path, value in changes.items():
        *parents, last = path.split("__")
        node = app
        for key in parents:
            node = node[key]
        if value is None:
            node.pop(last)
        else:
            node[last] = value
    return app


def hook(phase: str) -> list[dict[str, str]]:
    return [{"kind": "Job", "name": "hello-smoke-test", "hookType": "PostSync", "hookPhase": phase}]


@pytest.mark.parametrize(
    ("changes", "fires"),
    [
        pytest.param({}, True, id="synced-healthy-hook-passed"),
        pytest.param(
            {"status__operationState__syncResult__resources": hook("Failed")}, False, id="failed"
        ),
        pytest.param({"status__operationState__phase": "Failed"}, False, id="sync-failed"),
        pytest.param({"status__operationState__phase": "Running"}, False, id="still-running"),
        pytest.param({"status__health__status": "Degraded"}, False, id="degraded"),
        pytest.param({"status__operationState": None}, False, id="no-operation"),
        pytest.param(
            {"status__operationState__syncResult__resources": []}, False, id="no-hook-ran"
        ),
        pytest.param({"spec__project": "staging"}, False, id="another-environment"),
        pytest.param({"metadata__name": "other-dev"}, False, id="a-service-not-in-staging"),
    ],
)
def test_the_staging_trigger_fires_only_when_the_smoke_test_passed(
    changes: dict[str, Any], fires: bool
) -> None:
    (condition,) = triggers()["propose-staging"]
    assert Expr(condition["when"]).evaluate(application(**changes)) is fires


def test_one_dispatch_per_revision_the_application_synced() -> None:
    (condition,) = triggers()["propose-staging"]
    app = application()
    assert Expr(condition["oncePer"]).evaluate(app) == "a" * 40
    app["status"]["sync"]["revision"] = "b" * 40  # a commit that did not touch the Application
    assert Expr(condition["oncePer"]).evaluate(app) == "a" * 40


def test_the_template_dispatches_the_promote_workflow_with_its_inputs() -> None:
    cm = notifications_cm()
    data = cm["data"]
    assert cm["metadata"] == {
        "name": "argocd-notifications-cm",
        "namespace": "argocd",
        "labels": {
            "app.kubernetes.io/name": "argocd-notifications-cm",
            "app.kubernetes.io/part-of": "argocd",
        },
    }
    service = load(data["service.webhook.gitops-promote"])
    assert service["url"] == "https://api.github.com"
    headers = {h["name"]: h["value"] for h in service["headers"]}
    assert headers["Authorization"] == "Bearer $gitops-promote-token"
    assert load(data["subscriptions"]) == [
        {"recipients": ["gitops-promote"], "triggers": ["propose-staging", "propose-prod"]}
    ]
    workflow = parsed(tree_of(SMOKE)[PROMOTE_PATH])
    inputs = workflow["on"]["workflow_dispatch"]["inputs"]
    for target, app in (("staging", application()), ("prod", application())):
        template = load(data[f"template.propose-{target}"])
        request = template["webhook"]["gitops-promote"]
        assert request["method"] == "POST"
        assert request["path"] == "/repos/acme/gitops/actions/workflows/promote.yml/dispatches"
        source = "dev" if target == "staging" else "staging"
        app["metadata"]["name"] = f"hello-{source}"
        body = json.loads(gotemplate.render(request["body"], {"app": app}))
        assert body == {
            "ref": "main",
            "inputs": {"service": "hello", "environment": target, "revision": "a" * 40},
        }
        assert set(body["inputs"]) <= set(inputs)
        assert body["inputs"]["service"] in inputs["service"]["options"]
        assert body["inputs"]["environment"] in inputs["environment"]["options"]
        for name in re.findall(r"\.app((?:\.\w+)+)", request["body"]):
            assert documented(name[1:]), name
    assert validate_objects([cm]) == []


def test_no_notifications_without_a_smoke_test_to_wait_for() -> None:
    for spec_name in ("reference", "gcp", "minimal"):
        assert notifications.PATH not in tree_of(spec_name)
    # qa is fed by dev but does not auto_propose; worker is tested in dev but runs nowhere
    # else (a first deploy is started by a person)
    found = notifications.proposals(model_of(SMOKE))
    assert [(p.source, p.target, p.applications) for p in found] == [
        ("dev", "staging", ("hello-dev",)),
        ("staging", "prod", ("hello-staging",)),
    ]


# --- the services file's rules -----------------------------------------------------------------

SERVICE = 'repo = "acme/hello"'  # line 27: a service-level key goes on line 28
PROD = 'approvers = ["@acme/leads"]'  # line 20
DEV = "auto_sync = true"  # line 15
TAG = f'digest = "sha256:{HEX}"'  # line 31: a dev key goes on line 32
GOOD = f'smoke_test = {{ image = "{IMAGE}", command = ["/smoke"] }}'

RULES = [
    (
        "image-not-pinned",
        SERVICE,
        SERVICE + '\nsmoke_test = { image = "ghcr.io/acme/smoke:1.2", command = ["/smoke"] }',
        [
            "28:16: services.hello.smoke_test.image: 'ghcr.io/acme/smoke:1.2' is not pinned by"
            " digest: write '<repository>@sha256:<64 hex digits>' (or"
            " '<repository>:<tag>@sha256:...'); a tag can be pushed again, and the test that"
            " decides the promotion would change unseen"
        ],
    ),
    (
        "image-bad-digest",
        SERVICE,
        SERVICE + '\nsmoke_test = { image = "ghcr.io/acme/smoke@sha256:abc", command = ["/s"] }',
        [
            "28:16: services.hello.smoke_test.image: 'sha256:abc' is not an image digest: it"
            " has 3 hex digits after the ':', not 64; write 'sha256:' and 64 lowercase hex"
            " digits"
        ],
    ),
    (
        "image-not-a-reference",
        SERVICE,
        SERVICE + f'\nsmoke_test = {{ image = "Ghcr.io/Acme/Smoke@{DIGEST}", command = ["/s"] }}',
        [
            f"28:16: services.hello.smoke_test.image: 'Ghcr.io/Acme/Smoke@{DIGEST}' is not an"
            " image reference: '<repository>[:<tag>]@sha256:<64 hex digits>', the repository"
            " in lowercase letters, digits, '.', '_', '-' and '/'"
        ],
    ),
    (
        "image-is-the-service-own",
        SERVICE,
        SERVICE
        + "\nsmoke_test = { image ="
        + f' "222222222222.dkr.ecr.eu-west-1.amazonaws.com/hello@{DIGEST}", command = ["/s"] }}',
        [
            "28:16: services.hello.smoke_test.image: is the service's own image repository:"
            " the overlay's images entry would replace its digest with the one dev deploys;"
            " give the test an image of its own"
        ],
    ),
    (
        "command-empty",
        SERVICE,
        SERVICE + f'\nsmoke_test = {{ image = "{IMAGE}", command = [] }}',
        [
            "28:118: services.hello.smoke_test.command: must not be empty: the program and its"
            " arguments"
        ],
    ),
    (
        "command-empty-argument",
        SERVICE,
        SERVICE + f'\nsmoke_test = {{ image = "{IMAGE}", command = ["/smoke", ""] }}',
        ["28:139: services.hello.smoke_test.command[1]: must not be empty"],
    ),
    (
        "command-line-separator",
        SERVICE,
        SERVICE + f'\nsmoke_test = {{ image = "{IMAGE}", command = ["/s", "a\\u2028b"] }}',
        [
            "28:135: services.hello.smoke_test.command[1]: holds U+2028, a control or"
            " line-separator character that Kubernetes' YAML readers refuse or change: write"
            " the value without it"
        ],
    ),
    (
        "deadline-not-go",
        SERVICE,
        SERVICE + f'\nsmoke_test = {{ image = "{IMAGE}", command = ["/s"], deadline = "1d" }}',
        [
            "28:136: services.hello.smoke_test.deadline: not a Go duration: '1d' (unknown unit"
            " 'd'; units are ns, us, ms, s, m, h; 24h is a day)"
        ],
    ),
    (
        "deadline-too-long",
        SERVICE,
        SERVICE + f'\nsmoke_test = {{ image = "{IMAGE}", command = ["/s"], deadline = "2h" }}',
        [
            "28:136: services.hello.smoke_test.deadline: must be between 10s and 1h (the hook"
            " holds the sync open while it runs), got '2h'"
        ],
    ),
    (
        "deadline-fraction",
        SERVICE,
        SERVICE + f'\nsmoke_test = {{ image = "{IMAGE}", command = ["/s"], deadline = "90.5s" }}',
        ["28:136: services.hello.smoke_test.deadline: '90.5s' is not a whole number of seconds"],
    ),
    (
        "retries-out-of-range",
        SERVICE,
        SERVICE + f'\nsmoke_test = {{ image = "{IMAGE}", command = ["/s"], retries = 11 }}',
        ["28:136: services.hello.smoke_test.retries: must be between 0 and 10, got 11"],
    ),
    (
        "incomplete-in-an-environment",
        TAG,
        TAG + '\nsmoke_test = { deadline = "1m" }',
        [
            "32:1: services.hello.envs.dev.smoke_test: has no image and command for dev: a"
            " smoke test needs an image and a command, here or in [services.hello] smoke_test"
        ],
    ),
    (
        "incomplete-for-the-service",
        SERVICE,
        SERVICE + '\nsmoke_test = { command = ["/s"] }',
        [
            "28:1: services.hello.smoke_test: has no image for dev: a smoke test needs an"
            " image and a command, here or in [services.hello] smoke_test"
        ],
    ),
    (
        "unknown-key",
        SERVICE,
        SERVICE + f'\nsmoke_test = {{ image = "{IMAGE}", command = ["/s"], timeout = "1m" }}',
        [
            "28:136: services.hello.smoke_test.timeout: unknown key; the keys here are command,"
            " deadline, enabled, image, retries"
        ],
    ),
    (
        "command-a-string",
        SERVICE,
        SERVICE + f'\nsmoke_test = {{ image = "{IMAGE}", command = "/smoke --fast" }}',
        [
            "28:118: services.hello.smoke_test.command: expected an array, got the string"
            " '/smoke --fast'"
        ],
    ),
]


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [pytest.param(old, new, expected, id=name) for name, old, new, expected in RULES],
)
def test_rule(old: str, new: str, expected: list[str]) -> None:
    assert problems_of(edit(old, new)) == [f"s.toml:{line}" for line in expected]


def test_a_job_name_too_long_for_its_pods_label() -> None:
    name = "hello-" + "x" * 47  # 53 characters: its Job would be 64
    text = BASE + f'\n[services.{name}]\nteam = "web"\n{GOOD}\n[services.{name}.envs.dev]\n'
    text += 'tag = "1.0.0"\n' + TAG + "\n"
    assert problems_of(text) == [
        f"s.toml:35:1: services.{name}.smoke_test: service name {name!r} makes the smoke"
        f" test's Job '{name}-smoke-test' 64 characters long; the Job controller labels its"
        " pods with that name, and label values allow 63 (service name <= 52)"
    ]


def test_a_valid_smoke_test_loads_and_renders() -> None:
    loaded = problems_free(edit(SERVICE, SERVICE + "\n" + GOOD))
    assert loaded == []


def problems_free(text: str) -> list[str]:
    return [str(w) for w in load_text(text, "s.toml").warnings]


WARNINGS = [
    (
        "smoke-test-on-a-canary",
        SERVICE,
        SERVICE + "\n" + GOOD + "\ncanary = { steps = [{ weight = 10 }] }",
        [
            "28:1: services.hello.smoke_test: runs only after the canary has reached 100%:"
            " Argo CD starts a PostSync hook once every resource is Healthy, and a Rollout"
            " paused at a step is Suspended, so each sync stays running for the whole canary"
            " (auto-sync and selfHeal wait with it)"
        ],
    ),
    (
        "auto-propose-without-promote-from",
        DEV,
        DEV + "\nauto_propose = false",
        [
            "16:1: environments.dev.auto_propose: does nothing: dev has no promote_from, so"
            " nothing is promoted into it"
        ],
    ),
    ("auto-propose-with-promote-from", PROD, PROD + "\nauto_propose = false", []),
]


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [pytest.param(old, new, expected, id=name) for name, old, new, expected in WARNINGS],
)
def test_warning(old: str, new: str, expected: list[str]) -> None:
    assert problems_free(edit(old, new)) == [f"s.toml:{line}" for line in expected]


# --- the promote workflow's refusal ------------------------------------------------------------


@pytest.fixture
def gitops(tmp_path: Path) -> tuple[Path, list[str]]:
    """A gitops checkout of smoke.toml: revision 0 records hello 1.0.0 in dev, revision 1
    (HEAD of main) 1.1.0, and a side branch a change main never received."""
    repo = tmp_path / "gitops"
    repo.mkdir()
    shutil.copy(SPECS / "smoke.toml", repo / "services.toml")
    git(repo, "init", "--quiet", "--initial-branch=main")
    git(repo, "add", "--all")
    git(repo, "commit", "--quiet", "-m", "seed")
    first = git(repo, "rev-parse", "HEAD")
    git(repo, "switch", "--quiet", "-c", "side")
    (repo / "services.toml").write_text(
        (SPECS / "smoke.toml").read_text(encoding="utf-8") + "# side\n", encoding="utf-8"
    )
    git(repo, "commit", "--quiet", "-am", "side")
    side = git(repo, "rev-parse", "HEAD")
    git(repo, "switch", "--quiet", "main")
    assert (
        main(
            [
                "set-image",
                "hello",
                "dev",
                "1.1.0",
                "--digest",
                DIGEST,
                "-c",
                str(repo / "services.toml"),
            ]
        )
        == 0
    )
    git(repo, "commit", "--quiet", "-am", "hello 1.1.0")
    return repo, [first, git(repo, "rev-parse", "HEAD"), side]


def verify_promotion(
    repo: Path, revision: str, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(
        [
            "verify-promotion",
            "hello",
            "--to",
            "staging",
            "--revision",
            revision,
            "-c",
            str(repo / "services.toml"),
        ]
    )
    out, err = capsys.readouterr()
    return code, out, err


def test_the_tested_revision_may_be_promoted(
    gitops: tuple[Path, list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    repo, (_, head, _) = gitops
    code, out, _ = verify_promotion(repo, head, capsys)
    assert code == 0
    assert out == (
        f"services.hello.envs.dev: '1.1.0' ({DIGEST}) is what revision {head[:12]} of"
        " main deployed, and it is still recorded: it may be proposed for staging\n"
    )


def test_a_tag_recorded_after_the_tested_revision_is_refused(
    gitops: tuple[Path, list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    repo, (first, _, _) = gitops
    code, out, err = verify_promotion(repo, first, capsys)
    assert (code, out) == (2, "")
    assert err.splitlines()[-1] == (
        "verify-promotion: refused: services.hello.envs.dev is"
        f" '1.1.0' ({DIGEST}) now, but revision {first[:12]}, the one Argo CD synced and tested"
        " in dev, deployed '1.0.0'"
        " (sha256:483e04f17eae5234764124df21bfa43ebb5cb925cbd5a1b833bfe758d7fb2463): only the"
        " tested tag may be proposed for staging; the newer one will be, once its own sync and"
        " smoke test have passed"
    )


@pytest.mark.parametrize(
    ("which", "expected"),
    [
        pytest.param(
            2,
            "verify-promotion: refused: revision {short} is not on main: Argo CD"
            " deploys main only, so no Application of dev synced it",
            id="not-on-the-branch",
        ),
        pytest.param(
            "0" * 40,
            "verify-promotion: refused: revision {short} is not a commit of this repository"
            " (check out main with its history: fetch-depth: 0)",
            id="unknown-commit",
        ),
        pytest.param(
            "HEAD",
            "verify-promotion: refused: 'HEAD' is not a full commit id (40 lowercase hex"
            " digits), which is what Argo CD reports as the revision it synced",
            id="not-a-commit-id",
        ),
    ],
)
def test_a_revision_argo_cd_cannot_have_synced_is_refused(
    gitops: tuple[Path, list[str]],
    capsys: pytest.CaptureFixture[str],
    which: int | str,
    expected: str,
) -> None:
    repo, revisions = gitops
    revision = revisions[which] if isinstance(which, int) else which
    code, _, err = verify_promotion(repo, revision, capsys)
    assert code == 2
    assert err.splitlines()[-1] == expected.format(short=revision[:12])


@pytest.mark.tools
def test_the_workflow_step_runs_the_check_with_its_inputs_from_env(
    gitops: tuple[Path, list[str]],
) -> None:
    repo, (first, head, _) = gitops
    text = tree_of(SMOKE)[PROMOTE_PATH]
    script, env = script_of(text, "verify", "gitopsgen verify-promotion")
    assert "${{" not in script  # inputs reach the step through env only
    assert env == {
        "SERVICE": "${{ inputs.service }}",
        "TARGET": "${{ inputs.environment }}",
        "REVISION": "${{ inputs.revision }}",
    }
    step = next(
        s
        for s in parsed(text)["jobs"]["verify"]["steps"]
        if "gitopsgen verify-promotion" in s.get("run", "")
    )
    assert step["if"] == "inputs.revision != ''"
    ok = run_bash(script, repo, {"SERVICE": "hello", "TARGET": "staging", "REVISION": head})
    assert ok.returncode == 0, ok.stderr
    refused = run_bash(script, repo, {"SERVICE": "hello", "TARGET": "staging", "REVISION": first})
    assert refused.returncode == 2
    assert "verify-promotion: refused: services.hello.envs.dev is '1.1.0'" in refused.stderr
    checkout = next(
        s for s in parsed(text)["jobs"]["verify"]["steps"] if "checkout" in s.get("uses", "")
    )
    assert checkout["with"]["fetch-depth"] == 0


def test_an_automatic_proposal_says_what_sent_it_and_what_was_checked(tmp_path: Path) -> None:
    config = tmp_path / "services.toml"
    shutil.copy(SPECS / "smoke.toml", config)
    change = tags.promote(config, "hello", "prod")
    revision = "a" * 40
    body = promotion.pull_request(change, tested_revision=revision, started_by="gitops-bot").body
    # who sent it, and that GitHub cannot tell it was Argo CD: no more is claimed
    assert body.splitlines()[2] == (
        f"Dispatched by @gitops-bot for revision `{revision}` of `main`. Argo CD Notifications"
        " sends such a dispatch, with the token of its machine account, once `hello-staging`"
        " has synced that revision, is Healthy and its smoke test (the PostSync hook) passed;"
        " GitHub cannot verify that it did: check that the sender is that account."
        " `gitopsgen verify-promotion` checked that the revision is on `main` and deployed the"
        " tag copied here."
    )
    manual = promotion.pull_request(change, tested_revision="", started_by="gitops-bot").body
    assert "Proposed automatically" not in manual
    assert body.replace(body.splitlines()[2] + "\n\n", "") == manual


def test_a_chart_service_runs_its_smoke_test_from_a_directory_of_its_own() -> None:
    tree = tree_of("charts")
    job = load(tree["apps/cache/overlays/dev/hooks/smoke-test.yaml"])
    assert job["metadata"]["annotations"]["argocd.argoproj.io/hook"] == "PostSync"
    assert job["metadata"]["namespace"] == "hello"
    assert job["spec"]["template"]["spec"]["serviceAccountName"] == "default"
    assert validate_objects([job]) == []
    appset = load(tree["argocd/applicationset.yaml"])
    elements = {e["name"]: e for e in appset["spec"]["generators"][0]["list"]["elements"]}
    assert elements["cache-dev"]["sources"][2] == {
        "repoURL": "https://github.com/acme/gitops.git",
        "targetRevision": "main",
        "path": "apps/cache/overlays/dev/hooks",
    }
    assert len(elements["cache-prod"]["sources"]) == 2  # no test there


def test_a_charts_trigger_reads_the_revision_of_its_hooks_source() -> None:
    """A chart's Application has several sources: Argo CD records `syncResult.revisions`, one
    per source, and no `revision`; the third source is the hooks folder of the gitops
    repository (render/helm.py), whose revision is the commit the smoke test ran at."""
    found = triggers("charts")
    assert sorted(found) == ["propose-prod-charts"]
    (condition,) = found["propose-prod-charts"]
    assert condition["oncePer"] == "app.status.operationState.syncResult.revisions[2]"
    assert documented("status.operationState.syncResult.revisions")
    assert "'cache-dev'" in condition["when"]
    data = notifications_cm("charts")["data"]
    request = load(data["template.propose-prod-charts"])["webhook"]["gitops-promote"]
    app = application()
    app["metadata"]["name"] = "cache-dev"
    del app["status"]["operationState"]["syncResult"]["revision"]
    app["status"]["operationState"]["syncResult"]["revisions"] = ["1.2.3", "b" * 40, "c" * 40]
    body = json.loads(gotemplate.render(request["body"], {"app": app}))
    assert body["inputs"] == {"service": "cache", "environment": "prod", "revision": "c" * 40}
