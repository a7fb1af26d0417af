"""`gitopsgen validate`: the real validators find nothing in a good tree and every planted fault."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
from ruamel.yaml import YAML

import generator.commands
from generator import tools
from generator.cli import main
from generator.commands import validate
from generator.resolve import Model, resolve
from generator.spec.load import load_text
from tests.conftest import DATA, SPECS, model_of, tree_of, warnings_of

pytestmark = pytest.mark.tools

EXAMPLES = DATA / "schema-examples"


def documents(name: str) -> list[dict[str, Any]]:
    return validate.load_documents((EXAMPLES / name).read_text(encoding="utf-8"))


def write_tree(tree: dict[str, str], root: Path) -> Path:
    for path, text in tree.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def reference_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tree(tree_of("reference"), tmp_path_factory.mktemp("reference"))


@pytest.fixture
def tree(reference_tree: Path, tmp_path: Path) -> Path:
    """A private copy of the reference tree to break."""
    return Path(shutil.copytree(reference_tree, tmp_path / "out"))


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


# ---------------------------------------------------------------------------------------------
# The whole tree


def test_reference_tree_is_clean(reference_tree: Path) -> None:
    assert validate.validate_tree(model_of("reference"), reference_tree) == []


def test_cli_validate_exit_codes(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = str(SPECS / "reference.toml")
    assert main(["validate", "-c", config, "-o", str(tree)]) == 0
    assert (
        capsys.readouterr().out == f"{tree}: no findings (Kustomize, schemas, workflow linters)\n"
    )
    edit(
        tree / "apps/orders-api/base/serviceaccount.yaml",
        "automountServiceAccountToken",
        "automount",
    )
    capsys.readouterr()
    assert main(["validate", "-c", config, "-o", str(tree)]) == 1
    result = capsys.readouterr()
    assert "ServiceAccount/orders-api: (root): Additional properties" in result.out
    # the base, in 3 overlays; after the services file's warnings, as every command prints them
    assert result.err == warnings_of(Path(config)) + f"gitopsgen: 3 finding(s) in {tree}\n"


def test_misspelled_deployment_field_is_located(tree: Path) -> None:
    edit(
        tree / "apps/orders-api/base/deployment.yaml",
        "revisionHistoryLimit:",
        "revisionHistoryLimits:",
    )
    findings = validate.validate_tree(model_of("reference"), tree)
    assert findings == [
        f"apps/orders-api/overlays/{env}: Deployment/orders-api: spec: Additional properties "
        "are not allowed ('revisionHistoryLimits' was unexpected)"
        for env in ("dev", "prod", "staging")
    ]


def test_kustomize_warning_is_a_finding(tree: Path) -> None:
    overlay = tree / "apps/orders-api/overlays/dev/kustomization.yaml"
    overlay.write_text(overlay.read_text() + "commonLabels:\n  extra: x\n", encoding="utf-8")
    findings = validate.validate_tree(model_of("reference"), tree)
    assert findings
    assert all(f.startswith("apps/orders-api/overlays/dev: kustomize: ") for f in findings)
    assert any("commonLabels" in f and "deprecated" in f for f in findings)


def test_kustomize_failure_and_missing_overlay_are_findings(tree: Path) -> None:
    edit(tree / "apps/orders-api/overlays/dev/kustomization.yaml", "../../base", "../../nowhere")
    shutil.rmtree(tree / "apps/orders-api/overlays/prod")
    findings = validate.validate_tree(model_of("reference"), tree)
    assert len(findings) == 2
    assert findings[0].startswith("apps/orders-api/overlays/dev: kustomize: ")
    assert "nowhere" in findings[0]
    assert findings[1] == (
        "apps/orders-api/overlays/prod: kustomization.yaml missing: run gitopsgen build"
    )


def test_generated_applications_are_validated(tree: Path) -> None:
    """A field that is only wrong once the ApplicationSet is expanded is still found."""
    appset = tree / "argocd/applicationset.yaml"
    text = appset.read_text(encoding="utf-8")
    appset.write_text(text.replace("jsonPointers:", "pointers:", 1), encoding="utf-8")
    assert validate.validate_tree(model_of("reference"), tree) == [
        "argocd/applicationset.yaml: generated Application/payments-api-dev:"
        " spec.ignoreDifferences[0]: Additional properties are not allowed"
        " ('pointers' was unexpected)"
    ]


def test_an_applicationset_that_does_not_expand_is_a_finding(tree: Path) -> None:
    edit(tree / "argocd/applicationset.yaml", "{{ .cluster }}", "{{ .clustr }}")
    findings = validate.validate_tree(model_of("reference"), tree)
    assert len(findings) == 1
    assert findings[0].startswith("argocd/applicationset.yaml: does not expand: ")
    assert "clustr" in findings[0]


def test_bad_custom_resources_in_argocd_and_policies(tree: Path) -> None:
    (tree / "argocd").mkdir(exist_ok=True)
    (tree / "argocd/bad.yaml").write_text(
        """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: bad
  lables: {team: x}
spec:
  projet: dev
  destination: {server: "https://kubernetes.default.svc", namespace: x}
  source: {repoURL: "https://github.com/acme/gitops.git", path: x}
""",
        encoding="utf-8",
    )
    (tree / "policies").mkdir(exist_ok=True)
    (tree / "policies/bad.yaml").write_text(
        """\
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: guard
spce: {}
spec:
  rules: []
  validationFailureAction: Block
""",
        encoding="utf-8",
    )
    findings = validate.validate_tree(model_of("reference"), tree)
    assert findings == [
        "argocd/bad.yaml: Application/bad: metadata: Additional properties are not allowed "
        "('lables' was unexpected)",
        "argocd/bad.yaml: Application/bad: spec: 'project' is a required property",
        "argocd/bad.yaml: Application/bad: spec: Additional properties are not allowed "
        "('projet' was unexpected)",
        "policies/bad.yaml: ClusterPolicy/guard: spce: unknown top-level field "
        "(expected one of apiVersion, kind, metadata, spec, status)",
        "policies/bad.yaml: ClusterPolicy/guard: spec.validationFailureAction: 'Block' is not "
        "one of ['audit', 'enforce', 'Audit', 'Enforce']",
        f"argocd/bad.yaml: {FOREIGN}",
        f"policies/bad.yaml: {FOREIGN}",
    ]


def test_a_bad_validating_policy_is_reported_against_its_crd_schema(tree: Path) -> None:
    # policies.kyverno.io/v1 ValidatingPolicy: the schema made from Kyverno 1.19.0's CRD.
    (tree / "policies").mkdir(exist_ok=True)
    (tree / "policies/require-argocd-managed-by.yaml").write_text(
        """\
apiVersion: policies.kyverno.io/v1
kind: ValidatingPolicy
metadata:
  name: guard
spec:
  validationActons: [Deny]
  evaluation:
    background:
      enabled: "no"
  validations:
    - message: no expression
""",
        encoding="utf-8",
    )
    where = "policies/require-argocd-managed-by.yaml: ValidatingPolicy/guard"
    assert validate.validate_tree(model_of("reference"), tree) == [
        f"{where}: spec.evaluation.background.enabled: 'no' is not of type 'boolean'",
        f"{where}: spec.validations[0]: 'expression' is a required property",
        f"{where}: spec: Additional properties are not allowed ('validationActons' was unexpected)",
    ]


def test_kustomization_beside_manifests_is_not_an_object(tree: Path) -> None:
    (tree / "argocd").mkdir(exist_ok=True)
    (tree / "argocd/kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: []\n",
        encoding="utf-8",
    )
    # not an object to validate; a file gitopsgen did not write, though
    assert validate.validate_tree(model_of("reference"), tree) == [
        f"argocd/kustomization.yaml: {FOREIGN}"
    ]


FOREIGN = (
    "not generated by gitopsgen, in a folder it owns: remove it, or allow it in"
    " [gitops] allow_foreign"
)


def with_allow_foreign(patterns: str) -> Model:
    text = (SPECS / "reference.toml").read_text(encoding="utf-8")
    text = text.replace('branch = "main"', f'branch = "main"\nallow_foreign = {patterns}', 1)
    return resolve(load_text(text, "services.toml").spec)


def test_a_hand_made_overlay_is_a_foreign_finding_unless_allowed(tree: Path) -> None:
    """An overlay and a stray Application services.toml does not name are reported by path."""
    evil = tree / "apps/evil/overlays/staging"
    evil.mkdir(parents=True)
    (evil / "kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: []\n",
        encoding="utf-8",
    )
    (tree / "apps/orders-api/NOTES.md").write_text("mine\n", encoding="utf-8")
    assert validate.validate_tree(model_of("reference"), tree) == [
        f"apps/evil/overlays/staging/kustomization.yaml: {FOREIGN}",
        f"apps/orders-api/NOTES.md: {FOREIGN}",
    ]
    model = with_allow_foreign('["apps/evil/**", "apps/*/NOTES.md"]')
    assert validate.validate_tree(model, tree) == []
    model = with_allow_foreign('["apps/*/NOTES.md"]')
    assert validate.validate_tree(model, tree) == [
        f"apps/evil/overlays/staging/kustomization.yaml: {FOREIGN}"
    ]


def test_bad_workflow_is_reported_by_all_three_linters(tree: Path) -> None:
    workflows = tree / ".github/workflows"
    (workflows / "render-check.yml").write_text(
        """\
on: pull_request_target
jobs:
  build:
    runs-on: ubuntu-latest
    stepz: []
    steps:
      - uses: actions/checkout@v4
      - run: echo "${{ github.event.pull_request.title }}"
""",
        encoding="utf-8",
    )
    findings = validate.validate_tree(model_of("reference"), tree)
    assert findings
    assert all(f.startswith(".github/workflows/render-check.yml:") for f in findings)
    assert any(": schema: $.jobs.build: " in f and "'stepz' was unexpected" in f for f in findings)
    assert any(": actionlint: " in f and '"stepz"' in f for f in findings)
    assert any(": zizmor: template-injection: " in f for f in findings)


def test_workflows_under_ci_are_linted(tree: Path) -> None:
    (tree / "ci").mkdir(exist_ok=True)
    (tree / "ci/orders-api.yaml").write_text("on: push\njobs: {}\n", encoding="utf-8")
    findings = validate.validate_tree(model_of("reference"), tree)
    assert findings
    assert all(f.startswith("ci/orders-api.yaml:") for f in findings)


# ---------------------------------------------------------------------------------------------
# Objects


def test_valid_builtin_examples_pass() -> None:
    assert validate.validate_builtin(documents("k8s-valid.yaml")) == []


def test_invalid_builtin_examples_fail_like_kubernetes_validate() -> None:
    for doc in documents("k8s-invalid.yaml"):
        findings = validate.validate_builtin([doc])
        assert findings, doc["metadata"]["name"]
        assert all(f.startswith(f"{doc['kind']}/{doc['metadata']['name']}: ") for f in findings)
        with pytest.raises(kubernetes_validate.ValidationError):
            kubernetes_validate.validate(doc, validate.KUBERNETES_VERSION, strict=True)


def test_builtin_reports_every_error_and_unknown_kinds() -> None:
    doc = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web", "lables": {}},
        "spec": {"ports": [{"port": "eighty"}], "selectr": {}},
    }
    assert validate.validate_builtin([doc]) == [
        "Service/web: metadata: Additional properties are not allowed ('lables' was unexpected)",
        "Service/web: spec.ports[0].port: 'eighty' is not of type 'integer'",
        "Service/web: spec: Additional properties are not allowed ('selectr' was unexpected)",
    ]
    unknown = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
    assert validate.validate_builtin([unknown]) == [
        "Widget/w: no schema for apiVersion example.com/v1 kind Widget in Kubernetes 1.37"
    ]
    assert validate.validate_builtin([{"kind": "Service", "metadata": {}}]) == [
        "Service/<no name>: apiVersion: missing or not a string",
        "Service/<no name>: metadata.name: missing",
    ]


def test_valid_custom_examples_pass() -> None:
    for doc in documents("crs-valid.yaml"):
        assert validate.validate_custom(doc) == [], doc["kind"]


def test_invalid_custom_examples_fail() -> None:
    for doc in documents("crs-invalid.yaml"):
        findings = validate.validate_custom(doc)
        assert findings, doc["metadata"]["name"]


def test_custom_metadata_is_strict() -> None:
    (doc, *_) = documents("crs-valid.yaml")
    doc["metadata"]["lables"] = {"a": "b"}
    assert validate.validate_custom(doc) == [
        f"{doc['kind']}/{doc['metadata']['name']}: metadata: Additional properties are not "
        "allowed ('lables' was unexpected)"
    ]


def test_custom_kind_without_schema_is_reported() -> None:
    doc = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "metadata": {"name": "w"}}
    assert validate.validate_custom(doc) == [
        "Workflow/w: no CRD schema for apiVersion argoproj.io/v1alpha1 kind Workflow"
    ]


# ---------------------------------------------------------------------------------------------
# Tools


def test_missing_tool_fails_clearly(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    tools.kubectl.cache_clear()
    monkeypatch.setattr(shutil, "which", lambda _name: None)
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))
    with pytest.raises(tools.ToolMissingError, match="kubectl not found"):
        validate.kustomize_build(tmp_path)


def test_kustomize_build_returns_documents(reference_tree: Path) -> None:
    docs, stderr = validate.kustomize_build(reference_tree / "apps/orders-api/overlays/dev")
    assert stderr == ""
    assert {doc["kind"] for doc in docs} >= {"Deployment", "ConfigMap", "Service"}


def test_lint_workflows_of_nothing_is_nothing() -> None:
    assert validate.lint_workflows([]) == []


def test_load_documents_skips_empty_documents() -> None:
    yaml_text = "---\n---\na: 1\n---\n"
    assert validate.load_documents(yaml_text) == [{"a": 1}]
    assert YAML(typ="safe").load("a: 1") == {"a": 1}


def test_a_workflow_gitopsgen_did_not_write_is_not_linted(tree: Path) -> None:
    """The repository's own CI is its owners' business, not a finding of the render check."""
    (tree / ".github/workflows/ci.yml").write_text("on: push\njobs: {}\n", encoding="utf-8")
    assert validate.validate_tree(model_of("reference"), tree) == []


def fake_kubectl(folder: Path, version_json: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "kubectl"
    # printf is a builtin of sh: the tests below leave PATH without coreutils.
    script.write_text(f"#!/bin/sh\nprintf '%s\\n' '{version_json}'\n", encoding="utf-8")
    script.chmod(0o755)
    return script


def test_a_foreign_kubectl_is_refused_by_its_kustomize(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    old = fake_kubectl(
        tmp_path / "bin",
        '{"clientVersion": {"gitVersion": "v1.20.0"}, "kustomizeVersion": "v2.0.3"}',
    )
    tools.kubectl.cache_clear()
    monkeypatch.setattr(sys, "executable", str(tmp_path / "bin" / "python"))
    try:
        with pytest.raises(tools.ToolMissingError) as caught:
            tools.kubectl()
    finally:
        tools.kubectl.cache_clear()
    assert caught.value.problems == (
        f"{old} is not a kubectl with Kustomize 5 (it reports kubectl v1.20.0, Kustomize"
        " v2.0.3): install gitopsgen's own with `pip install 'gitopsgen[validate]'`, or put"
        " such a kubectl first on PATH",
    )


def test_its_own_kubectl_comes_before_the_one_on_path(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    own = fake_kubectl(tmp_path / "venv", '{"kustomizeVersion": "v5.8.1"}')
    fake_kubectl(tmp_path / "path", '{"kustomizeVersion": "v5.8.1"}')
    monkeypatch.setenv("PATH", str(tmp_path / "path"))
    monkeypatch.setattr(sys, "executable", str(tmp_path / "venv" / "python"))
    tools.kubectl.cache_clear()
    try:
        assert tools.kubectl() == str(own)
    finally:
        tools.kubectl.cache_clear()


def test_a_kubernetes_version_without_schemas_is_exit_2(
    reference_tree: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config = tmp_path / "services.toml"
    text = (SPECS / "reference.toml").read_text(encoding="utf-8")
    config.write_text(
        text.replace("[platform]\n", '[platform]\nkubernetes_version = "1.99"\n', 1),
        encoding="utf-8",
    )
    assert main(["validate", "-c", str(config), "-o", str(reference_tree)]) == 2
    have = validate.bundled_kubernetes_versions()
    assert capsys.readouterr().err.endswith(
        "the installed kubernetes-validate has no schemas for Kubernetes 1.99 (it has"
        f" {have[0]} to {have[-1]}): set [platform] kubernetes_version to one of them, or"
        " upgrade it with `pip install --upgrade 'gitopsgen[validate]'`\n"
    )


def test_validate_without_the_extra_is_exit_2(
    reference_tree: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "jsonschema", None)  # as if it were not installed
    monkeypatch.delitem(sys.modules, "generator.commands.validate")
    monkeypatch.delattr(generator.commands, "validate")
    config = SPECS / "reference.toml"
    assert main(["validate", "-c", str(config), "-o", str(reference_tree)]) == 2
    assert capsys.readouterr().err.endswith(
        "validate needs the validators (jsonschema is not installed): install them with"
        " `pip install 'gitopsgen[validate]'`\n"
    )
