"""terraform/: the CI identity on AWS and GCP, least privilege, agreement with CI, layout."""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import hcl2
import pytest

from generator import naming
from generator.render import hclout, terraform
from generator.resolve import Model, resolve
from generator.spec.load import load_text
from tests.conftest import SPECS, model_of, tree_of

AWS_SPECS = ("reference", "minimal", "charts", "smoke")
TERRAFORM = shutil.which("terraform")
NO_COMMENTS = hcl2.SerializationOptions(with_comments=False)
needs_terraform = pytest.mark.skipif(TERRAFORM is None, reason="no terraform binary on PATH")


# --- reading the rendered HCL back -----------------------------------------------------------


def tf_files(name: str) -> dict[str, str]:
    return {p: t for p, t in tree_of(name).items() if p.startswith("terraform/")}


def hcl_string(raw: str) -> str:
    """Decode one quoted HCL string literal (written independently of the serializer)."""
    assert raw.startswith('"'), raw
    assert raw.endswith('"'), raw
    body, out, i = raw[1:-1], [], 0
    simple = {"\\": "\\", '"': '"', "n": "\n", "r": "\r", "t": "\t"}
    while i < len(body):
        if body[i] == "\\":
            if body[i + 1] == "u":
                out.append(chr(int(body[i + 2 : i + 6], 16)))
                i += 6
            else:
                out.append(simple[body[i + 1]])
                i += 2
        elif body.startswith(("$${", "%%{"), i):
            out.append(body[i + 1 : i + 3])
            i += 3
        else:
            out.append(body[i])
            i += 1
    return "".join(out)


def plain(value: Any) -> Any:
    """The parse tree with block markers dropped and string literals decoded; expressions
    stay as python-hcl2 writes them, `${...}`."""
    if isinstance(value, dict):
        return {plain(k): plain(v) for k, v in value.items() if k != "__is_block__"}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return hcl_string(value)
    return value


def parsed(name: str) -> dict[str, Any]:
    """All of terraform/ as one document: block type -> list of blocks."""
    merged: dict[str, list[Any]] = {}
    for text in tf_files(name).values():
        for block_type, blocks in plain(
            hcl2.loads(text, serialization_options=NO_COMMENTS)
        ).items():
            merged.setdefault(block_type, []).extend(blocks)
    return merged


def block(doc: dict[str, Any], kind: str, type_: str, label: str) -> dict[str, Any]:
    found = [b[type_][label] for b in doc[kind] if type_ in b and label in b[type_]]
    assert len(found) == 1, (kind, type_, label, found)
    body: dict[str, Any] = found[0]
    return body


def provider_block(doc: dict[str, Any], name: str) -> dict[str, Any]:
    (found,) = [b[name] for b in doc["provider"] if name in b]
    body: dict[str, Any] = found
    return body


def locals_of(doc: dict[str, Any]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for group in doc["locals"]:
        merged |= group
    return merged


def statements(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        statement
        for data in doc.get("data", [])
        for policy in data.get("aws_iam_policy_document", {}).values()
        for statement in policy["statement"]
    ]


def ci_services(model: Model) -> list[Any]:
    return [s for s in model.services if s.repo]


# --- every spec ------------------------------------------------------------------------------


def test_renders_the_files_of_its_cloud(spec_name: str) -> None:
    assert sorted(tf_files(spec_name)) == [
        "terraform/github.tf",
        "terraform/main.tf",
        "terraform/outputs.tf",
        "terraform/providers.tf",
        "terraform/variables.tf",
        "terraform/versions.tf",
    ]
    provider = "aws" if spec_name in AWS_SPECS else "google"
    assert sorted(next(iter(p)) for p in parsed(spec_name)["provider"]) == sorted(
        [provider, "github"]
    )


def test_every_file_parses_as_hcl(spec_name: str) -> None:
    for path, text in tf_files(spec_name).items():
        assert hcl2.loads(text), path


def test_required_providers_are_pinned(spec_name: str) -> None:
    (settings,) = parsed(spec_name)["terraform"]
    assert settings["required_version"] == ">= 1.5.0"
    requirements = settings["required_providers"][0]
    cloud = "aws" if spec_name in AWS_SPECS else "google"
    assert sorted(requirements) == sorted([cloud, "github"])
    assert requirements[cloud]["source"] == f"hashicorp/{cloud}"
    assert requirements[cloud]["version"] in {"~> 6.0", ">= 6.0, < 8.0"}
    # required_reviewers in github_repository_ruleset came with 6.11.0
    assert requirements["github"] == {"source": "integrations/github", "version": "~> 6.11"}


def test_every_variable_has_a_description_and_a_type(spec_name: str) -> None:
    variables = parsed(spec_name)["variable"]
    assert variables
    for variable in variables:
        ((name, body),) = variable.items()
        assert body["description"].strip(), name
        assert body["description"].endswith("."), name
        assert body["type"] in {"bool", "string", "${map(string)}", "map(string)"}, name


def test_every_output_has_a_description(spec_name: str) -> None:
    for output in parsed(spec_name)["output"]:
        ((name, body),) = output.items()
        assert body["description"].strip(), name


def test_the_header_marks_files_as_generated(spec_name: str) -> None:
    for text in tf_files(spec_name).values():
        assert text.startswith("# Generated by gitopsgen")


def test_no_cluster_permissions(spec_name: str) -> None:
    text = "\n".join(tf_files(spec_name).values())
    for forbidden in ("eks:", "roles/container", "container.", "google_project_iam"):
        assert forbidden not in text


# --- AWS -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", AWS_SPECS)
def test_each_repository_arn_appears_once_per_role(name: str) -> None:
    model = model_of(name)
    text = "\n".join(tf_files(name).values())
    assert ci_services(model)
    for service in ci_services(model):
        cloud = model.spec.cloud
        arn = f"arn:aws:ecr:{cloud.region}:{cloud.account}:repository/{service.image_name}"
        # the service's role pushes there; the intake role reads there
        assert text.count(f'"{arn}"') == 2, arn
    assert '"repo:' not in text  # no name-based subject anywhere


def test_reference_roles_exactly() -> None:
    roles = locals_of(parsed("reference"))["ci_roles"]
    assert roles["payments-api"] == {
        "role_name": "github-ci-payments-api",
        "description": "GitHub Actions CI of bank-org/payments-api (main branch): pushes the "
        "payments-api image.",
        "repository": "payments-api",
        "repository_arn": "arn:aws:ecr:me-south-1:111111111111:repository/payments-api",
    }
    assert sorted(roles) == ["ledger-worker", "orders-api", "payments-api", "trading-engine"]


@pytest.mark.parametrize("name", AWS_SPECS)
def test_roles_are_the_ones_the_workflows_assume(name: str) -> None:
    model = model_of(name)
    doc = parsed(name)
    (account,) = provider_block(doc, "aws")["allowed_account_ids"]
    roles = locals_of(doc)["ci_roles"]
    role_arns = {
        f"arn:aws:iam::{account}:role/{role['role_name']}": service
        for service, role in roles.items()
    }
    expected = {
        naming.ci_role_arn(model.spec.cloud.account, model.spec.cloud.region, s.name): s.name
        for s in ci_services(model)
    }
    assert role_arns == expected
    assert block(doc, "resource", "aws_iam_role", "ci")["name"] == "${each.value.role_name}"
    assert block(doc, "resource", "aws_iam_role", "ci")["for_each"] == "${local.ci_roles}"


@pytest.mark.parametrize("name", AWS_SPECS)
def test_rendered_workflows_assume_the_terraform_roles(name: str) -> None:
    model = model_of(name)
    workflows = {
        p: t for p, t in tree_of(name).items() if p.startswith((".github/workflows/", "ci/"))
    }
    if not workflows:
        pytest.skip("the GitHub workflows are not rendered (yet)")
    everything = "\n".join(workflows.values())
    for service in ci_services(model):
        assert (
            naming.ci_role_arn(model.spec.cloud.account, model.spec.cloud.region, service.name)
            in everything
        ), service.name
    cloud = model.spec.cloud
    roles = {naming.ci_role_arn(cloud.account, cloud.region, s.name) for s in ci_services(model)}
    roles.add(naming.intake_role_arn(cloud.account, cloud.region))  # the intake's read-only role
    assert naming.intake_role_arn(cloud.account, cloud.region) in everything
    for arn in re.findall(r"arn:aws:iam::\d+:role/[A-Za-z0-9+=,.@_-]+", everything):
        assert arn in roles, arn


@pytest.mark.parametrize("name", AWS_SPECS)
def test_trust_policy_requires_audience_and_exact_subject(name: str) -> None:
    doc = parsed(name)
    trust = block(doc, "data", "aws_iam_policy_document", "ci_trust")
    (statement,) = trust["statement"]
    assert statement["effect"] == "Allow"
    assert statement["actions"] == ["sts:AssumeRoleWithWebIdentity"]
    (principal,) = statement["principals"]
    assert principal == {"type": "Federated", "identifiers": ["${local.github_oidc_provider_arn}"]}
    conditions = {c["variable"]: c for c in statement["condition"]}
    assert set(conditions) == {
        "token.actions.githubusercontent.com:aud",
        "token.actions.githubusercontent.com:sub",
    }
    assert all(c["test"] == "StringEquals" for c in conditions.values())
    assert conditions["token.actions.githubusercontent.com:sub"]["values"] == [
        "${local.ci_subjects[each.value.repository]}"
    ]
    assert conditions["token.actions.githubusercontent.com:aud"]["values"] == [
        "${local.github_oidc_audience}"
    ]
    assert locals_of(doc)["github_oidc_audience"] == "sts.amazonaws.com"
    model = model_of(name)
    assert {role["repository"] for role in locals_of(doc)["ci_roles"].values()} == {
        (s.repo or "").split("/")[1] for s in ci_services(model)
    }


@pytest.mark.parametrize("name", AWS_SPECS)
def test_oidc_provider_is_github_with_the_sts_audience(name: str) -> None:
    doc = parsed(name)
    created = block(doc, "resource", "aws_iam_openid_connect_provider", "github")
    looked_up = block(doc, "data", "aws_iam_openid_connect_provider", "github")
    assert locals_of(doc)["github_oidc_url"] == "https://token.actions.githubusercontent.com"
    assert created["url"] == looked_up["url"] == "${local.github_oidc_url}"
    assert created["client_id_list"] == ["${local.github_oidc_audience}"]
    assert created["count"] == "${var.create_oidc_provider ? 1 : 0}"
    assert looked_up["count"] == "${var.create_oidc_provider ? 0 : 1}"


@pytest.mark.parametrize("name", AWS_SPECS)
def test_push_policy_is_scoped_to_the_service_repository(name: str) -> None:
    doc = parsed(name)
    push = block(doc, "data", "aws_iam_policy_document", "ci_push")
    by_sid = {s["sid"]: s for s in push["statement"]}
    assert by_sid["PushThisServiceImage"] == {
        "sid": "PushThisServiceImage",
        "effect": "Allow",
        "resources": ["${each.value.repository_arn}"],
        "actions": [
            "ecr:BatchCheckLayerAvailability",
            "ecr:BatchGetImage",
            "ecr:CompleteLayerUpload",
            "ecr:GetDownloadUrlForLayer",
            "ecr:InitiateLayerUpload",
            "ecr:PutImage",
            "ecr:UploadLayerPart",
        ],
    }
    assert by_sid["RegistryLogin"] == {
        "sid": "RegistryLogin",
        "effect": "Allow",
        "actions": ["ecr:GetAuthorizationToken"],
        "resources": ["*"],
    }
    policy = block(doc, "resource", "aws_iam_role_policy", "ci_push")
    assert policy["role"] == "${aws_iam_role.ci[each.key].id}"
    assert policy["policy"] == "${data.aws_iam_policy_document.ci_push[each.key].json}"


@pytest.mark.parametrize("name", AWS_SPECS)
def test_no_wildcard_actions_and_the_only_star_resource_is_the_login(name: str) -> None:
    doc = parsed(name)
    for statement in statements(doc):
        assert statement["effect"] == "Allow"
        for action in statement["actions"]:
            assert "*" not in action, action
            assert "?" not in action, action
        for resource in statement.get("resources", []):
            if "*" in resource:
                assert resource == "*"
                assert statement["actions"] == ["ecr:GetAuthorizationToken"]
        assert "not_actions" not in statement
        assert "not_resources" not in statement
        for condition in statement.get("condition", []):
            assert condition["test"] == "StringEquals"
    text = "\n".join(tf_files(name).values())
    assert "StringLike" not in text
    assert text.count('"*"') == 2  # the registry login of the CI roles and of the intake


def test_a_spec_without_app_repositories_has_no_roles() -> None:
    source = (SPECS / "minimal.toml").read_text(encoding="utf-8")
    source = source.replace('repo = "acme/hello"\n', "")
    model = resolve(load_text(source, "minimal.toml").spec)
    main = terraform.render(model)["terraform/main.tf"]
    assert "  ci_roles = {}\n" in main
    assert locals_of(plain(hcl2.loads(main)))["ci_roles"] == {}
    assert "intake" not in main  # nothing to read: no intake role


def test_arns_use_the_partition_of_the_region() -> None:
    source = (SPECS / "minimal.toml").read_text(encoding="utf-8")
    model = resolve(load_text(source.replace("eu-west-1", "cn-north-1"), "m.toml").spec)
    (service,) = model.services
    assert (
        naming.ci_role_arn(model.spec.cloud.account, model.spec.cloud.region, service.name)
        == "arn:aws-cn:iam::222222222222:role/github-ci-hello"
    )
    assert terraform.ecr_repository_arn(model, service) == (
        "arn:aws-cn:ecr:cn-north-1:222222222222:repository/hello"
    )


def test_a_registry_path_is_part_of_the_ecr_repository_name() -> None:
    # The image `<host>/team/hello` lives in ECR repository `team/hello`: a policy naming
    # `repository/hello` would deny the push.
    source = (SPECS / "minimal.toml").read_text(encoding="utf-8")
    registry = "222222222222.dkr.ecr.eu-west-1.amazonaws.com/team"
    source = source.replace(
        'account = "222222222222"\n', f'account = "222222222222"\nregistry = "{registry}"\n'
    )
    model = resolve(load_text(source, "m.toml").spec)
    (service,) = model.services
    assert service.image == f"{registry}/hello"
    arn = "arn:aws:ecr:eu-west-1:222222222222:repository/team/hello"
    assert terraform.ecr_repository_arn(model, service) == arn
    main = terraform.render(model)["terraform/main.tf"]
    assert locals_of(plain(hcl2.loads(main)))["ci_roles"]["hello"]["repository_arn"] == arn


# --- GitHub: the subjects the cloud trusts, evaluated by Terraform ---------------------------

OWNER_ID, GITOPS_ID = "65", "99"


def fake_repo_ids(model: Model) -> dict[str, int]:
    """Repository ids standing in for GitHub's: app repositories 101, 102, ... by name."""
    names = sorted({(s.repo or "").split("/")[1] for s in ci_services(model)})
    return {name: 101 + i for i, name in enumerate(names)}


def offline_locals(name: str) -> str:
    """github.tf's locals with the GitHub data sources replaced by fixed ids: what Terraform
    evaluates without a provider."""
    text = tf_files(name)["terraform/github.tf"]
    start = text.index("locals {")
    body = text[start : text.index("\n}\n", start) + 3]
    ids = fake_repo_ids(model_of(name))
    app = "{ " + ", ".join(f'"{k}" = {{ repo_id = {v} }}' for k, v in ids.items()) + " }"
    body = body.replace("data.github_organization.owner.id", f'"{OWNER_ID}"')
    body = body.replace("data.github_repository.gitops.repo_id", GITOPS_ID)
    body = body.replace("data.github_repository.app", "local.fake_app")
    assert "data." not in body
    return body + f"\nlocals {{\n  fake_app = {app}\n}}\n"


def terraform_console(tmp_path: Path, config: str, expression: str) -> Any:
    (tmp_path / "main.tf").write_text(config, encoding="utf-8")
    result = subprocess.run(
        [str(TERRAFORM), "console"],
        input=f"jsonencode({expression})\n",
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"TF_CLI_CONFIG_FILE": "/dev/null", "CHECKPOINT_DISABLE": "1", "PATH": ""},
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(json.loads(result.stdout.strip()))


@pytest.mark.tools
@needs_terraform
def test_terraform_builds_the_exact_subjects(spec_name: str, tmp_path: Path) -> None:
    model = model_of(spec_name)
    gitops = model.spec.gitops
    subjects = terraform_console(
        tmp_path, offline_locals(spec_name), "[local.ci_subjects, local.intake_subjects]"
    )
    ids = fake_repo_ids(model)
    assert subjects[0] == {
        name: f"repository_owner_id:65:repository_id:{repo_id}:ref:refs/heads/main"
        f":job_workflow_ref:{gitops.repo}/.github/workflows/service-ci.yml@refs/heads/main"
        for name, repo_id in ids.items()
    }
    assert subjects[1] == [
        f"repository_owner_id:65:repository_id:99:ref:refs/heads/{gitops.branch}"
        f":workflow_ref:{gitops.repo}/.github/workflows/{workflow}.yml@refs/heads/{gitops.branch}"
        for workflow in ("intake", "promote")
    ]
    # the names the workflows use agree with what Terraform builds
    for name, repo_id in ids.items():
        assert subjects[0][name] == naming.ci_subject("65", str(repo_id), gitops.repo, "main")
    assert subjects[1] == [
        naming.intake_subject("65", "99", gitops.repo, gitops.branch, workflow)
        for workflow in naming.VERIFYING_WORKFLOWS
    ]


def test_subject_templates_are_customised_with_the_claims_the_subjects_use(
    spec_name: str,
) -> None:
    doc = parsed(spec_name)
    local = locals_of(doc)
    app = block(
        doc,
        "resource",
        "github_actions_repository_oidc_subject_claim_customization_template",
        "app",
    )
    gitops = block(
        doc,
        "resource",
        "github_actions_repository_oidc_subject_claim_customization_template",
        "gitops",
    )
    assert app == {
        "for_each": "${toset(local.app_repositories)}",
        "repository": "${each.key}",
        "use_default": False,
        "include_claim_keys": "${local.ci_subject_claim_keys}",
    }
    assert gitops == {
        "repository": "${local.gitops_repository}",
        "use_default": False,
        "include_claim_keys": "${local.intake_subject_claim_keys}",
    }
    assert local["ci_subject_claim_keys"] == [
        "repository_owner_id",
        "repository_id",
        "ref",
        "job_workflow_ref",
    ]
    assert local["intake_subject_claim_keys"] == [
        "repository_owner_id",
        "repository_id",
        "context",
        "workflow_ref",
    ]
    model = model_of(spec_name)
    assert local["gitops_repository"] == model.spec.gitops.repo.split("/")[1]
    assert local["app_repositories"] == sorted(
        {(s.repo or "").split("/")[1] for s in ci_services(model)}
    )
    assert provider_block(doc, "github") == {"owner": model.spec.gitops.repo.split("/")[0]}


def test_ids_come_from_github_and_a_missing_repository_fails(spec_name: str) -> None:
    doc = parsed(spec_name)
    owner = block(doc, "data", "github_organization", "owner")
    assert owner == {"name": "${local.github_owner}", "summary_only": True}
    assert locals_of(doc)["github_owner_id"] == "${data.github_organization.owner.id}"
    for label in ("gitops", "app"):
        repository = block(doc, "data", "github_repository", label)
        (postcondition,) = repository["lifecycle"][0]["postcondition"]
        assert postcondition["condition"] == "${self.repo_id > 0}"


# --- GitHub: the gates of the gitops branch --------------------------------------------------


def ruleset(name: str) -> dict[str, Any]:
    return block(parsed(name), "resource", "github_repository_ruleset", "gitops_branch")


def reviewers_of(name: str) -> list[tuple[str, int, list[str]]]:
    (rules,) = ruleset(name)["rules"]
    (pull_request,) = rules["pull_request"]
    found = []
    for entry in pull_request.get("required_reviewers", []):
        (reviewer,) = entry["reviewer"]
        assert reviewer["type"] == "Team"
        team = re.fullmatch(r'\$\{data\.github_team\.reviewer\["(.+)"\]\.team_id\}', reviewer["id"])
        assert team, reviewer
        found.append((team[1], entry["minimum_approvals"], entry["file_patterns"]))
    return found


PLATFORM = ["argocd/**", "policies/**", "terraform/**", ".github/**", "ci/**"]


def test_the_ruleset_of_the_reference_exactly() -> None:
    body = ruleset("reference")
    (rules,) = body["rules"]
    (pull_request,) = rules["pull_request"]
    assert {k: v for k, v in body.items() if k != "rules"} == {
        "name": "gitops-branch",
        "repository": "${local.gitops_repository}",
        "target": "branch",
        "enforcement": "active",
        "conditions": [{"ref_name": [{"include": ["refs/heads/main"], "exclude": []}]}],
    }
    assert "bypass_actors" not in body
    assert rules["deletion"] is True
    assert rules["non_fast_forward"] is True
    assert {k: v for k, v in pull_request.items() if k != "required_reviewers"} == {
        "required_approving_review_count": 0,
        "dismiss_stale_reviews_on_push": True,
        "require_last_push_approval": True,
        "require_code_owner_review": False,
    }
    assert rules["required_status_checks"] == [
        {
            "strict_required_status_checks_policy": False,
            "required_check": [{"context": "render-check", "integration_id": 15368}],
        }
    ]
    assert reviewers_of("reference") == [
        ("team-leads", 1, ["apps/*/overlays/staging/**", "apps/*/base/**"]),
        ("platform-team", 2, ["apps/*/overlays/prod/**", "apps/*/base/**"]),
        ("platform-team", 1, PLATFORM),
    ]
    teams = block(parsed("reference"), "data", "github_team", "reviewer")
    assert teams == {
        "for_each": '${toset(["platform-team", "team-leads"])}',
        "slug": "${each.key}",
        "summary_only": True,
    }


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("minimal", [("platform", 1, PLATFORM)]),
        (
            "gcp",
            [("sre", 1, ["apps/*/overlays/prod/**", "apps/*/base/**"]), ("sre", 1, PLATFORM)],
        ),
    ],
)
def test_the_required_reviewers_of_each_fixture(
    name: str, expected: list[tuple[str, int, list[str]]]
) -> None:
    assert reviewers_of(name) == expected


def test_every_approver_team_of_an_environment_is_required() -> None:
    source = (SPECS / "gcp.toml").read_text(encoding="utf-8")
    source = source.replace(
        'approvers = ["@shop-co/sre"]',
        'approvers = ["@shop-co/sre", "@shop-co/leads"]\nrequired_approvals = 3',
    )
    model = resolve(load_text(source, "gcp.toml").spec)
    assert [(r.team, r.minimum_approvals) for r in terraform.required_reviewers(model)] == [
        ("sre", 3),
        ("leads", 3),
        ("sre", 1),
    ]


def test_the_render_check_is_the_one_the_workflow_reports() -> None:
    workflow = tree_of("reference").get(".github/workflows/render-check.yml")
    if workflow is None:
        pytest.skip("the render check workflow is not rendered (yet)")
    assert f"    name: {naming.RENDER_CHECK_CONTEXT}\n" in workflow


def test_the_writer_environment_admits_the_gitops_branch_only(spec_name: str) -> None:
    doc = parsed(spec_name)
    environment = block(doc, "resource", "github_repository_environment", "writer")
    policy = block(doc, "resource", "github_repository_environment_deployment_policy", "writer")
    assert environment == {
        "repository": "${local.gitops_repository}",
        "environment": "gitops-writer",
        "can_admins_bypass": False,
        "deployment_branch_policy": [{"protected_branches": False, "custom_branch_policies": True}],
    }
    assert policy == {
        "repository": "${local.gitops_repository}",
        "environment": "${github_repository_environment.writer.environment}",
        "branch_pattern": model_of(spec_name).spec.gitops.branch,
    }
    assert environment["environment"] == naming.WRITER_ENVIRONMENT


def test_the_promotion_labels_exist(spec_name: str) -> None:
    label = block(parsed(spec_name), "resource", "github_issue_label", "promotion")
    model = model_of(spec_name)
    targets = [env.name for env in model.environments if env.promote_from]
    assert list(label["for_each"]) == ["promotion", *(f"env:{env}" for env in targets)]
    assert label["name"] == "${each.key}"
    assert label["repository"] == "${local.gitops_repository}"


# --- AWS: the intake role --------------------------------------------------------------------


def test_the_intake_role_reads_every_service_repository_and_trusts_the_intake_only() -> None:
    model = model_of("reference")
    doc = parsed("reference")
    role = block(doc, "resource", "aws_iam_role", "intake")
    assert role["name"] == naming.INTAKE_IDENTITY_NAME
    assert naming.intake_role_arn(model.spec.cloud.account, model.spec.cloud.region) == (
        "arn:aws:iam::111111111111:role/gitops-intake"
    )
    (statement,) = block(doc, "data", "aws_iam_policy_document", "intake_trust")["statement"]
    conditions = {c["variable"]: (c["test"], c["values"]) for c in statement["condition"]}
    assert conditions == {
        "token.actions.githubusercontent.com:aud": (
            "StringEquals",
            ["${local.github_oidc_audience}"],
        ),
        "token.actions.githubusercontent.com:sub": ("StringEquals", "${local.intake_subjects}"),
    }
    read = {
        s["sid"]: s
        for s in block(doc, "data", "aws_iam_policy_document", "intake_read")["statement"]
    }
    assert read["ReadServiceImages"]["actions"] == [
        "ecr:BatchGetImage",
        "ecr:GetDownloadUrlForLayer",
    ]
    assert read["ReadServiceImages"]["resources"] == sorted(
        f"arn:aws:ecr:me-south-1:111111111111:repository/{s.image_name}" for s in ci_services(model)
    )
    assert read["RegistryLogin"]["actions"] == ["ecr:GetAuthorizationToken"]
    policy = block(doc, "resource", "aws_iam_role_policy", "intake_read")
    assert policy["role"] == "${aws_iam_role.intake.id}"


# --- GCP -------------------------------------------------------------------------------------

GCP_PROVIDER = (
    "projects/123456789/locations/global/workloadIdentityPools/github-pool"
    "/providers/github-provider"
)


def test_gcp_pool_and_provider_are_the_ones_the_workflows_name() -> None:
    model = model_of("gcp")
    doc = parsed("gcp")
    local = locals_of(doc)
    pool = block(doc, "resource", "google_iam_workload_identity_pool", "github")
    provider = block(doc, "resource", "google_iam_workload_identity_pool_provider", "github")
    assert pool["workload_identity_pool_id"] == "${local.pool_id}"
    assert provider["workload_identity_pool_provider_id"] == "${local.provider_id}"
    rebuilt = (
        f"projects/{local['project_number']}/locations/global/workloadIdentityPools/"
        f"{local['pool_id']}/providers/{local['provider_id']}"
    )
    assert rebuilt == model.spec.cloud.workload_identity_provider == GCP_PROVIDER
    (precondition,) = pool["lifecycle"][0]["precondition"]
    assert precondition["condition"] == "${data.google_project.this.number == local.project_number}"
    assert local["project"] == model.spec.cloud.account


def test_gcp_each_service_has_its_own_repository_and_account() -> None:
    model = model_of("gcp")
    local = locals_of(parsed("gcp"))
    assert local["service_repositories"] == {
        "cart": {"repository_id": "payments-cart", "description": "Images of the service cart."}
    }
    (cart,) = model.services
    assert cart.image == "me-central1-docker.pkg.dev/bank-prod-cicd/payments-cart/cart"
    assert local["ci_accounts"]["cart"]["account_id"] == "github-ci-cart"
    assert local["ci_accounts"]["cart"]["repository"] == "cart"
    assert naming.ci_service_account_email("bank-prod-cicd", "cart") == (
        "github-ci-cart@bank-prod-cicd.iam.gserviceaccount.com"
    )
    assert naming.intake_service_account_email("bank-prod-cicd") == (
        "gitops-intake@bank-prod-cicd.iam.gserviceaccount.com"
    )


def test_gcp_account_ids_fit_google_rules() -> None:
    for service in ("a", "cart", "x" * 20, "x" * 21, "payments-reconciliation-worker", "a" * 63):
        account = naming.ci_service_account_id(service)
        assert naming.GCP_SERVICE_ACCOUNT_ID.fullmatch(account), account
    assert naming.ci_service_account_id("x" * 20) == "github-ci-" + "x" * 20
    assert naming.ci_service_account_id("a" * 21) != naming.ci_service_account_id("a" * 22)


def test_gcp_bindings_are_per_repository_not_per_project() -> None:
    doc = parsed("gcp")
    writer = block(doc, "resource", "google_artifact_registry_repository_iam_member", "ci_writer")
    assert writer == {
        "for_each": "${local.ci_accounts}",
        "project": "${local.project}",
        "location": "${local.location}",
        "repository": "${google_artifact_registry_repository.service[each.key].repository_id}",
        "role": "roles/artifactregistry.writer",
        "member": "serviceAccount:${google_service_account.ci[each.key].email}",
    }
    reader = block(
        doc, "resource", "google_artifact_registry_repository_iam_member", "intake_reader"
    )
    assert reader["role"] == "roles/artifactregistry.reader"
    assert reader["member"] == "serviceAccount:${google_service_account.intake.email}"
    assert reader["for_each"] == "${local.service_repositories}"
    user = block(doc, "resource", "google_service_account_iam_member", "ci_workload_identity_user")
    assert user["member"] == (
        "${local.repository_principal_set}/"
        "${data.github_repository.app[each.value.repository].repo_id}"
    )
    intake = block(
        doc, "resource", "google_service_account_iam_member", "intake_workload_identity_user"
    )
    assert intake["member"] == (
        "${local.repository_principal_set}/${data.github_repository.gitops.repo_id}"
    )
    assert locals_of(doc)["repository_principal_set"] == (
        "principalSet://iam.googleapis.com/projects/123456789/locations/global/"
        "workloadIdentityPools/github-pool/attribute.repository_id"
    )
    repository = block(doc, "resource", "google_artifact_registry_repository", "service")
    assert repository["format"] == "DOCKER"
    assert repository["lifecycle"] == [{"prevent_destroy": True}]
    roles = re.findall(r'role\s+= "([^"]+)"', "\n".join(tf_files("gcp").values()))
    assert sorted(set(roles)) == [
        "roles/artifactregistry.reader",
        "roles/artifactregistry.writer",
        "roles/iam.workloadIdentityUser",
    ]


def test_gcp_attribute_mapping_and_the_subject_limit() -> None:
    provider = block(
        parsed("gcp"), "resource", "google_iam_workload_identity_pool_provider", "github"
    )
    assert provider["oidc"] == [{"issuer_uri": "https://token.actions.githubusercontent.com"}]
    assert provider["attribute_mapping"] == {
        "google.subject": '"repository_id:" + assertion.repository_id + ":ref:" + assertion.ref',
        "attribute.repository_owner_id": "assertion.repository_owner_id",
        "attribute.repository_id": "assertion.repository_id",
        "attribute.ref": "assertion.ref",
        "attribute.event_name": "assertion.event_name",
        "attribute.job_workflow_ref": (
            'has(assertion.job_workflow_ref) ? assertion.job_workflow_ref : ""'
        ),
        "attribute.workflow_ref": "assertion.workflow_ref",
    }
    # the longest subject an admitted token maps to: 20-digit id, the longest branch allowed
    branch = "b" * 77
    longest = f"repository_id:{'9' * 20}:ref:refs/heads/{branch}"
    assert len(longest.encode()) == 127


GCP_CONDITION = (
    '(assertion.event_name == "push" && assertion.repository_owner_id == "65"'
    ' && assertion.repository_id != "99" && assertion.ref == "refs/heads/main"'
    " && assertion.job_workflow_ref =="
    ' "shop-co/deploy/.github/workflows/service-ci.yml@refs/heads/main")'
    ' || (assertion.event_name == "workflow_dispatch" && assertion.repository_owner_id == "65"'
    ' && assertion.repository_id == "99" && assertion.ref == "refs/heads/main"'
    ' && assertion.workflow_ref in ["shop-co/deploy/.github/workflows/intake.yml@refs/heads/main",'
    ' "shop-co/deploy/.github/workflows/promote.yml@refs/heads/main"])'
)


def test_gcp_condition_exactly() -> None:
    model = model_of("gcp")
    assert terraform.attribute_condition(model, '"65"', '"99"') == GCP_CONDITION


@pytest.mark.tools
@needs_terraform
def test_terraform_builds_the_exact_gcp_condition(tmp_path: Path) -> None:
    main = tf_files("gcp")["terraform/main.tf"]
    start = main.index("  attribute_condition = format(")
    expression = main[start : main.index("\n  )\n", start) + 4].split("=", 1)[1]
    expression = expression.replace(
        "jsonencode(local.github_owner_id)", f'jsonencode("{OWNER_ID}")'
    ).replace(
        "jsonencode(tostring(data.github_repository.gitops.repo_id))",
        f"jsonencode(tostring({GITOPS_ID}))",
    )
    config = f"locals {{\n  condition = {expression.strip()}\n}}\n"
    assert terraform_console(tmp_path, config, "local.condition") == GCP_CONDITION


@pytest.mark.parametrize(
    "bad",
    [
        "projects/123/locations/global/workloadIdentityPools/github-pool",
        "projects/abc/locations/global/workloadIdentityPools/github-pool/providers/github",
        "projects/1/locations/europe/workloadIdentityPools/github-pool/providers/github",
    ],
)
def test_a_malformed_provider_name_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="workload identity provider"):
        naming.parse_workload_identity_provider(bad)


def test_provider_and_account_names_parse() -> None:
    assert naming.parse_workload_identity_provider(GCP_PROVIDER) == (
        naming.WorkloadIdentityProvider(
            project_number="123456789", pool_id="github-pool", provider_id="github-provider"
        )
    )
    assert naming.parse_service_account("ci-bot@my-project.iam.gserviceaccount.com") == (
        naming.ServiceAccount(account_id="ci-bot", project="my-project")
    )
    with pytest.raises(ValueError, match="service account"):
        naming.parse_service_account("123-compute@developer.gserviceaccount.com")


# --- the serializer --------------------------------------------------------------------------

AWKWARD = [
    "plain",
    "",
    'a "quoted" word',
    "back\\slash\\",
    "line\nbreak\ttab\rreturn",
    "${var.secret}",
    "%{ if true }x%{ endif }",
    "$${already} %%{escaped}",
    "$$${three}",
    "$ { not a sequence } % {",
    "bell\x07 and del\x7f",
    "ünïcødé → ✓",
]


@pytest.mark.parametrize("value", AWKWARD)
def test_strings_read_back_as_written(value: str) -> None:
    written = hclout.literal(value)
    tree = hcl2.loads(f"x = {written}\n")
    assert hcl_string(tree["x"]) == value


def test_literal_escapes_exactly() -> None:
    assert hclout.literal('say "${hi}" 100%{x}\n') == '"say \\"$${hi}\\" 100%%{x}\\n"'
    assert hclout.literal(["a", 1, True, None]) == '["a", 1, true, null]'
    with pytest.raises(TypeError):
        hclout.literal({"a": 1})


@pytest.mark.tools
@needs_terraform
def test_terraform_evaluates_literals_to_the_original_strings(tmp_path: Path) -> None:
    # base64 so that console's own display of the string cannot blur the comparison
    expression = "base64encode(jsonencode([" + ", ".join(map(hclout.literal, AWKWARD)) + "]))"
    result = subprocess.run(
        [str(TERRAFORM), "console"],
        input=expression + "\n",
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"TF_CLI_CONFIG_FILE": "/dev/null", "CHECKPOINT_DISABLE": "1", "PATH": ""},
        check=True,
        timeout=120,
    )
    encoded = result.stdout.strip().strip('"')
    assert json.loads(base64.b64decode(encoded)) == AWKWARD


# --- the layout (terraform fmt) --------------------------------------------------------------

FMT_CASES = {
    "aligns consecutive attributes, a blank line starts a new group": (
        'resource "a" "b" {\nname = "x"\nlonger_name = 1\n\nz = true\n}\n',
        'resource "a" "b" {\n  name        = "x"\n  longer_name = 1\n\n  z = true\n}\n',
    ),
    "a comment line and a nested block end a group": (
        "locals {\na = 1\n# note\nbbb = 2\ncc = 3\ninner {\nq = 1\n}\nd = 4\n}\n",
        "locals {\n  a = 1\n  # note\n  bbb = 2\n  cc  = 3\n  inner {\n    q = 1\n  }\n"
        "  d = 4\n}\n",
    ),
    "an assignment opening brackets is not aligned, its contents are": (
        'x {\nlong_key = 1\nk = [\n"a",\n]\nm = {\n"p" = 1\n"qqq" = 2\n}\n}\n',
        'x {\n  long_key = 1\n  k = [\n    "a",\n  ]\n'
        '  m = {\n    "p"   = 1\n    "qqq" = 2\n  }\n}\n',
    ),
    "== and <= are not assignments; strings hide brackets and =": (
        'x {\ncondition = a == b\nv = "{ [ = ${x} $${y}"\nlong = c <= d\n}\n',
        'x {\n  condition = a == b\n  v         = "{ [ = ${x} $${y}"\n  long      = c <= d\n}\n',
    ),
    "several brackets opened on one line indent once": (
        "a = one(concat(\nb,\n))\nz = 1\n",
        "a = one(concat(\n  b,\n))\nz = 1\n",
    ),
}


@pytest.mark.parametrize("case", sorted(FMT_CASES))
def test_fmt_follows_terraform_fmt_rules(case: str) -> None:
    given, expected = FMT_CASES[case]
    assert hclout.fmt(given) == expected


@pytest.mark.tools
@needs_terraform
@pytest.mark.parametrize("case", sorted(FMT_CASES))
def test_fmt_golden_cases_agree_with_terraform_fmt(case: str, tmp_path: Path) -> None:
    given, expected = FMT_CASES[case]
    path = tmp_path / "case.tf"
    path.write_text(given, encoding="utf-8")
    terraform_fmt(path)
    assert path.read_text(encoding="utf-8") == expected


def test_fmt_refuses_what_it_cannot_lay_out() -> None:
    with pytest.raises(ValueError, match="heredoc"):
        hclout.fmt("x = <<EOT\nhi\nEOT\n")
    with pytest.raises(ValueError, match="trailing comment"):
        hclout.fmt("x = 1 # why\n")
    assert hclout.fmt('x = "<<EOT /* # //"\n') == 'x = "<<EOT /* # //"\n'


def scrambled(text: str) -> str:
    """The text with indentation and alignment removed."""
    lines = [line.strip() for line in text.splitlines()]
    return "\n".join(re.sub(r"^([\w\"\-.]+)\s+= ", r"\1 = ", line) for line in lines) + "\n"


def test_rendered_files_are_a_fixed_point_of_fmt(spec_name: str) -> None:
    for path, text in tf_files(spec_name).items():
        assert hclout.fmt(text) == text, path
        assert hclout.fmt(scrambled(text)) == text, path
        assert "\t" not in text, path
        assert not re.search(r" +$", text, re.MULTILINE), path
        assert text.endswith("}\n"), path
        assert "\n\n\n" not in text, path


@pytest.mark.tools
@needs_terraform
def test_terraform_fmt_leaves_rendered_files_unchanged(spec_name: str, tmp_path: Path) -> None:
    for path, text in tf_files(spec_name).items():
        (tmp_path / Path(path).name).write_text(text, encoding="utf-8")
    result = subprocess.run(
        [str(TERRAFORM), "fmt", "-check", "-diff", "-no-color", str(tmp_path)],
        capture_output=True,
        text=True,
        env={"TF_CLI_CONFIG_FILE": "/dev/null", "CHECKPOINT_DISABLE": "1", "PATH": ""},
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def terraform_fmt(path: Path) -> None:
    subprocess.run(
        [str(TERRAFORM), "fmt", "-no-color", str(path)],
        capture_output=True,
        env={"TF_CLI_CONFIG_FILE": "/dev/null", "CHECKPOINT_DISABLE": "1", "PATH": ""},
        check=True,
        timeout=120,
    )
