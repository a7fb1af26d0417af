"""The GitHub workflows: the real linters, the security rules, the values, and their scripts run."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from generator import naming
from generator.cli import main
from generator.commands.validate import lint_workflows
from generator.render.github import (
    BASE_CHECKOUT,
    INTAKE_PATH,
    PROMOTE_PATH,
    RENDER_CHECK_PATH,
    SERVICE_CI_PATH,
    caller_path,
    pins,
)
from tests.conftest import SPECS, model_of, tree_of

FULL_SHA_PIN = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")
EXPRESSION = re.compile(r"\$\{\{")


def workflows(spec_name: str) -> dict[str, str]:
    return {
        path: text
        for path, text in tree_of(spec_name).items()
        if path.startswith((".github/workflows/", "ci/"))
    }


def parsed(text: str) -> dict[str, Any]:
    data: dict[str, Any] = YAML(typ="safe").load(text)
    return data


def write_tree(files: dict[str, str], root: Path) -> list[Path]:
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text, encoding="utf-8")
    return sorted(Path(path) for path in files)


def steps_of(workflow: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (job_id, step) for job_id, job in workflow["jobs"].items() for step in job.get("steps", [])
    ]


# --- the real linters ---------------------------------------------------------------------


@pytest.mark.tools
def test_workflows_pass_schema_actionlint_and_zizmor(spec_name: str, tmp_path: Path) -> None:
    paths = write_tree(workflows(spec_name), tmp_path)
    assert lint_workflows(paths, cwd=tmp_path) == []


@pytest.mark.tools
def test_zizmor_audits_every_file_it_is_given(spec_name: str, tmp_path: Path) -> None:
    # Without --strict-collection zizmor skips, with a warning, a file it cannot parse.
    paths = write_tree(workflows(spec_name), tmp_path)
    zizmor = Path(sys.executable).parent / "zizmor"
    result = subprocess.run(
        [str(zizmor), "--offline", "--strict-collection", "--no-progress", *map(str, paths)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings to report" in result.stdout


@pytest.mark.tools
def test_zizmor_pedantic_finds_only_what_the_templates_justify(
    spec_name: str, tmp_path: Path
) -> None:
    """The pedantic persona too: each finding it ignores is justified beside its line."""
    paths = write_tree(workflows(spec_name), tmp_path)
    zizmor = Path(sys.executable).parent / "zizmor"
    argv = [str(zizmor), "--offline", "--persona", "pedantic", "--format", "json"]
    result = subprocess.run(
        [*argv, "--no-progress", *map(str, paths)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    findings = json.loads(result.stdout)
    assert [f["ident"] for f in findings if not f.get("ignored")] == []
    justified = {f["ident"] for f in findings if f.get("ignored")}
    assert justified <= {"superfluous-actions"}


# --- security rules -----------------------------------------------------------------------


def test_every_action_is_pinned_to_a_full_commit_sha_with_its_version(spec_name: str) -> None:
    for path, text in workflows(spec_name).items():
        for line in text.splitlines():
            match = re.match(r"^\s*(?:- )?uses: (\S+)(.*)$", line)
            if match is None or path.startswith("ci/"):
                continue
            assert FULL_SHA_PIN.match(match[1]), f"{path}: {line}"
            # The version, then maybe a zizmor finding justified in the template.
            version = r" # v\d+\.\d+\.\d+(?: # zizmor: ignore\[superfluous-actions\])?"
            assert re.fullmatch(version, match[2]), f"{path}: {line}"
    assert all(re.fullmatch(r"[0-9a-f]{40}", pin.sha) for pin in pins().values())


def test_no_expression_is_interpolated_into_a_script(spec_name: str) -> None:
    for path, text in workflows(spec_name).items():
        for job_id, step in steps_of(parsed(text)):
            assert not EXPRESSION.search(step.get("run", "")), f"{path}: {job_id}: {step}"


def test_no_pull_request_target_and_no_write_all(spec_name: str) -> None:
    for path, text in workflows(spec_name).items():
        assert "pull_request_target" not in text, path
        assert "write-all" not in text, path
        assert parsed(text)["permissions"] == {}, path


def test_every_job_states_least_privilege_permissions(spec_name: str) -> None:
    allowed = {
        SERVICE_CI_PATH: {
            "lint": {"contents": "read"},
            "test": {"contents": "read"},
            "build-push": {"contents": "read", "id-token": "write", "attestations": "write"},
            "scan": {"id-token": "write"},
            "request-intake": {},
        },
        INTAKE_PATH: {"verify": {"contents": "read", "id-token": "write"}, "record": {}},
        RENDER_CHECK_PATH: {
            "render-check": {"contents": "read"},
            "rendered-diff": {"contents": "read"},
            "comment": {"pull-requests": "write"},
        },
        PROMOTE_PATH: {"verify": {"contents": "read", "id-token": "write"}, "promote": {}},
    }
    for path, text in workflows(spec_name).items():
        jobs = parsed(text)["jobs"]
        if path.startswith("ci/"):
            assert jobs["service-ci"]["permissions"] == {
                "contents": "read",
                "id-token": "write",
                "attestations": "write",
            }
        else:
            assert {job: spec["permissions"] for job, spec in jobs.items()} == allowed[path]


def test_checkouts_keep_no_credentials(spec_name: str) -> None:
    for path, text in workflows(spec_name).items():
        for job_id, step in steps_of(parsed(text)):
            if step.get("uses", "").startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False, f"{path}: {job_id}"


def test_gcp_auth_writes_no_key_file_into_the_build_context() -> None:
    workflow = parsed(tree_of("gcp")[SERVICE_CI_PATH])
    auth = [
        s for _, s in steps_of(workflow) if s.get("uses", "").startswith(pins()["gcp_auth"].ref)
    ]
    assert len(auth) == 2  # build-push and scan
    for step in auth:
        assert step["with"]["create_credentials_file"] is False
        assert step["with"]["token_format"] == "access_token"


# --- the reusable service CI ----------------------------------------------------------------


def test_service_ci_builds_attests_scans_and_requests_the_intake_in_order() -> None:
    workflow = parsed(tree_of("reference")[SERVICE_CI_PATH])
    jobs = workflow["jobs"]
    assert jobs["build-push"]["needs"] == ["lint", "test"]
    assert jobs["scan"]["needs"] == "build-push"
    assert jobs["request-intake"]["needs"] == ["build-push", "scan"]
    assert jobs["request-intake"]["if"] == "inputs.push && github.event_name == 'push'"
    attest = next(
        s for s in jobs["build-push"]["steps"] if s.get("uses", "").startswith(pins()["attest"].ref)
    )
    assert attest["with"] == {
        "subject-name": "${{ inputs.image }}",
        "subject-digest": "${{ steps.push.outputs.digest }}",
        "push-to-registry": True,
        "create-storage-record": False,
    }
    push = next(s for s in jobs["build-push"]["steps"] if s.get("id") == "push")
    assert push["with"]["cache-from"] == "type=registry,ref=${{ inputs.image }}:buildcache"
    assert push["with"]["cache-to"].startswith("type=registry,ref=${{ inputs.image }}:buildcache")
    assert "role-to-assume" in str(jobs["build-push"]["steps"])
    trivy = next(
        s for s in jobs["scan"]["steps"] if s.get("uses", "").startswith(pins()["trivy"].ref)
    )
    assert trivy["with"] == {
        "image-ref": "${{ inputs.image }}@${{ needs.build-push.outputs.digest }}",
        "version": "v0.69.3",
        "severity": "HIGH,CRITICAL",
        "ignore-unfixed": True,
        "vuln-type": "os,library",
        "format": "table",
        "exit-code": "1",
    }
    token, dispatch = jobs["request-intake"]["steps"]
    # The only GitHub credential an app repository holds may dispatch workflows, no more.
    assert token["with"] == {
        "client-id": "${{ secrets.GITOPS_DISPATCH_CLIENT_ID }}",
        "private-key": "${{ secrets.GITOPS_DISPATCH_PRIVATE_KEY }}",
        "owner": "bank-org",
        "repositories": "gitops-repo",
        "permission-actions": "write",
    }
    assert dispatch["run"] == (
        'gh workflow run intake.yml --repo "$GITOPS_REPO" --ref "$GITOPS_BRANCH"'
        ' -f service="$SERVICE" -f tag="$TAG" -f digest="$DIGEST"'
    )
    assert dispatch["env"]["DIGEST"] == "${{ needs.build-push.outputs.digest }}"


def test_callers_pass_the_services_values(spec_name: str) -> None:
    model = model_of(spec_name)
    tree = tree_of(spec_name)
    reusable = parsed(tree[SERVICE_CI_PATH])["on"]["workflow_call"]
    for service in model.services:
        if not service.repo:
            assert caller_path(service) not in tree
            continue
        caller = parsed(tree[caller_path(service)])
        assert caller["on"] == {"push": {"branches": ["main"]}, "pull_request": None}
        job = caller["jobs"]["service-ci"]
        gitops = model.spec.gitops
        assert job["uses"] == f"{gitops.repo}/.github/workflows/service-ci.yml@{gitops.branch}"
        expected = {
            "service": service.name,
            "image": service.image,
            "dockerfile": service.dockerfile,
            "test_command": service.test_command or "",
            "push": "${{ github.event_name == 'push' }}",
        }
        if model.spec.cloud.provider == "aws":
            expected["aws_role_arn"] = naming.ci_role_arn(
                model.spec.cloud.account, model.spec.cloud.region, service.name
            )
        else:
            expected["gcp_service_account"] = naming.ci_service_account_email(
                model.spec.cloud.account, service.name
            )
        assert job["with"] == expected
        required = {k for k, v in reusable["inputs"].items() if v.get("required")}
        assert required <= set(job["with"]) <= set(reusable["inputs"])
        assert set(job["secrets"]) == set(reusable["secrets"])


def test_the_reference_caller_reads_as_a_team_would_install_it() -> None:
    with_values = parsed(tree_of("reference")["ci/payments-api.yaml"])["jobs"]["service-ci"]["with"]
    assert with_values["test_command"] == "go test ./... -v -race -coverprofile=coverage.out"
    assert with_values["image"] == "111111111111.dkr.ecr.me-south-1.amazonaws.com/payments-api"
    assert with_values["aws_role_arn"] == "arn:aws:iam::111111111111:role/github-ci-payments-api"


# --- promotion and the render check -----------------------------------------------------------


def test_promotion_choices_are_the_real_services_and_targets() -> None:
    inputs = parsed(tree_of("reference")[PROMOTE_PATH])["on"]["workflow_dispatch"]["inputs"]
    assert inputs["service"]["type"] == "choice"
    assert inputs["service"]["options"] == [
        "ledger-worker",
        "orders-api",
        "payments-api",
        "trading-engine",
    ]
    assert inputs["environment"]["options"] == ["staging", "prod"]
    assert parsed(tree_of("gcp")[PROMOTE_PATH])["on"]["workflow_dispatch"]["inputs"]["environment"][
        "options"
    ] == ["prod"]


def test_no_promotion_workflow_without_an_environment_to_promote_to() -> None:
    assert PROMOTE_PATH not in tree_of("minimal")


def test_render_check_runs_check_validate_and_summarises_the_diff(spec_name: str) -> None:
    workflow = parsed(tree_of(spec_name)[RENDER_CHECK_PATH])
    assert set(workflow["on"]) == {"pull_request", "push", "merge_group"}
    runs = [step.get("run", "") for _, step in steps_of(workflow)]
    assert "gitopsgen check -c services.toml" in runs
    assert "gitopsgen validate -c services.toml" in runs
    summary = next(run for run in runs if "gitopsgen diff" in run)
    assert '--summary "$GITHUB_STEP_SUMMARY"' in summary
    install = next(s for _, s in steps_of(workflow) if s["name"].startswith("Install gitopsgen"))
    model = model_of(spec_name)
    # Helm's SDK only where the services file has charts for validate to render
    charts = any(service.chart for service in model.services)
    extras = "[validate,helm]" if charts else "[validate]"
    assert install["env"] == {"GITOPSGEN": model.generator.requirement(validate=True, helm=charts)}
    assert install["env"]["GITOPSGEN"].startswith(f"gitopsgen{extras}")


@pytest.mark.tools
@pytest.mark.parametrize("drift", [False, True])
def test_render_check_summary_step_runs_for_real(tmp_path: Path, *, drift: bool) -> None:
    """The summary is written whether or not the tree matches; only bad input fails the step."""
    repo = tmp_path / "gitops"
    repo.mkdir()
    shutil.copy(SPECS / "minimal.toml", repo / "services.toml")
    assert main(["build", "-c", str(repo / "services.toml"), "-o", str(repo)]) == 0
    if drift:
        (repo / "argocd" / "root.yaml").unlink()
    script, env = script_of(tree_of("minimal")[RENDER_CHECK_PATH], "render-check", "gitopsgen diff")
    summary = tmp_path / "summary.md"
    runner_temp = tmp_path / "runner-temp"
    runner_temp.mkdir()
    env |= {"GITHUB_STEP_SUMMARY": str(summary), "RUNNER_TEMP": str(runner_temp)}
    result = run_bash(script, repo, env)
    assert result.returncode == 0, result.stderr
    text = summary.read_text(encoding="utf-8")
    if drift:
        assert "The tree does not match services.toml" in text
        assert "+++ b/argocd/root.yaml" in text
    else:
        assert text == "## Rendered diff\nThe tree matches services.toml.\n"


def test_render_check_summary_step_fails_on_bad_input(tmp_path: Path) -> None:
    repo = tmp_path / "gitops"
    repo.mkdir()
    (repo / "services.toml").write_text("[gitops\n", encoding="utf-8")
    script, env = script_of(tree_of("minimal")[RENDER_CHECK_PATH], "render-check", "gitopsgen diff")
    runner_temp = tmp_path / "runner-temp"
    runner_temp.mkdir()
    env |= {"GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"), "RUNNER_TEMP": str(runner_temp)}
    assert run_bash(script, repo, env).returncode == 2


INSTALL_BY_COMMIT = 'python -P -m pip install --disable-pip-version-check "$GITOPSGEN"'
INSTALL_BY_HASH = (
    'printf \'%s\\n\' "$GITOPSGEN" > "$RUNNER_TEMP/gitopsgen.txt"\n'
    "python -P -m pip install --disable-pip-version-check --no-deps --require-hashes"
    ' -r "$RUNNER_TEMP/gitopsgen.txt"\n'
    'python -P -m pip install --disable-pip-version-check "${GITOPSGEN%% *}"\n'
)


@pytest.mark.parametrize(
    ("spec_name", "validate", "requirement", "run"),
    [
        (
            "reference",
            True,
            "gitopsgen[validate] @ git+https://github.com/bank-org/gitopsgen@"
            "fd0cbc4f9db151ed07109a4340d6145c805f7f00",
            INSTALL_BY_COMMIT,
        ),
        (
            "gcp",
            True,
            "gitopsgen[validate]==0.1.0 --hash=sha256:"
            "8f434346648f6b96df89dda901c5176b10a6d83961dd3c1ac88b59b2dc327aa4",
            INSTALL_BY_HASH,
        ),
    ],
)
def test_each_job_installs_the_pinned_generator(
    spec_name: str, *, validate: bool, requirement: str, run: str
) -> None:
    """The validators' extra only where the validators run; never an unpinned requirement."""
    tree = tree_of(spec_name)
    for path in (RENDER_CHECK_PATH, INTAKE_PATH, PROMOTE_PATH):
        for job_id, step in steps_of(parsed(tree[path])):
            if not step.get("name", "").startswith("Install gitopsgen"):
                continue
            extra = path == RENDER_CHECK_PATH
            want = requirement if extra == validate else requirement.replace("[validate]", "")
            assert step["env"] == {"GITOPSGEN": want}, f"{path}: {job_id}"
            assert step["run"] == run, f"{path}: {job_id}"


# --- the scripts, run for real --------------------------------------------------------------


def script_of(workflow_text: str, job: str, marker: str) -> tuple[str, dict[str, str]]:
    """The run: script of the job's step containing `marker`, and the env it is given."""
    job_spec = parsed(workflow_text)["jobs"][job]
    step = next(s for s in job_spec["steps"] if marker in s.get("run", ""))
    env = {**job_spec.get("env", {}), **step.get("env", {})}
    return step["run"], {k: str(v) for k, v in env.items()}


def run_bash(script: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """As GitHub's runner runs a `run:` step: bash --noprofile --norc -eo pipefail."""
    path = cwd.parent / f"{cwd.name}-step.sh"
    path.write_text(script, encoding="utf-8")
    full_env = {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "HOME": str(cwd.parent),
        "GIT_CONFIG_NOSYSTEM": "1",
        **env,
    }
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(path)],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        check=False,
    )


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def gitopsgen(cwd: Path, *args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "generator", *args, "-c", "services.toml"],
        cwd=cwd,
        capture_output=True,
        check=True,
    )


@pytest.fixture
def gitops_origin(tmp_path: Path) -> Path:
    """A bare gitops repository whose main holds the reference services file and its tree."""
    seed = tmp_path / "seed"
    seed.mkdir()
    shutil.copy(SPECS / "reference.toml", seed / "services.toml")
    gitopsgen(seed, "build", "-o", ".")
    git(seed, "init", "--quiet", "--initial-branch=main")
    git(seed, "add", "--all")
    git(seed, "commit", "--quiet", "-m", "seed")
    origin = tmp_path / "origin.git"
    git(tmp_path, "clone", "--quiet", "--bare", str(seed), str(origin))
    return origin


def verified_digest(service: str, target: str) -> str:
    """What the promote workflow's verify job hands on: the source's digest."""
    spec = model_of("reference").spec
    entry = spec.services[service].envs.get(str(spec.environments[target].promote_from))
    return (entry.digest if entry is not None else None) or ""


def run_promote_step(
    origin: Path, tmp_path: Path, service: str, target: str
) -> tuple[subprocess.CompletedProcess[str], dict[str, str], Path]:
    work = tmp_path / "promote"
    git(tmp_path, "clone", "--quiet", str(origin), str(work))
    script, env = script_of(tree_of("reference")[PROMOTE_PATH], "promote", "gitopsgen promote")
    outputs = tmp_path / "github_output"
    outputs.write_text("", encoding="utf-8")
    env |= {
        "SERVICE": service,
        "TARGET": target,
        "RUNNER_TEMP": str(tmp_path),
        "GITHUB_OUTPUT": str(outputs),
        "ACTOR": "octocat",
        "VERIFIED": verified_digest(service, target),
    }
    result = run_bash(script, work, env)
    values = dict(line.split("=", 1) for line in outputs.read_text(encoding="utf-8").splitlines())
    return result, values, work


@pytest.mark.tools
def test_promote_step_prepares_the_pull_request(gitops_origin: Path, tmp_path: Path) -> None:
    result, outputs, work = run_promote_step(gitops_origin, tmp_path, "payments-api", "prod")
    assert result.returncode == 0, result.stdout + result.stderr
    assert outputs == {
        "title": "promote(payments-api): prod <- abc123def",
        "branch": "promote/payments-api/prod",
        "body_path": str(tmp_path / "promotion.md"),
        "labels": "promotion,env:prod",
        "reviewers": "",
        "team_reviewers": "platform-team",
    }
    body = (tmp_path / "promotion.md").read_text(encoding="utf-8")
    assert body.startswith(
        "Promotes **payments-api** to **prod**: `abc123def`"
        " (`sha256:fe94675c9e5ec0ef44093f527b03392133eba16c2186482e81d314028d185db3`)"
        " from staging, replacing `def456abc`."
    )
    assert "- 2 approval(s) from @bank-org/platform-team, for the changes under" in body
    assert "Not enforced: @octocat started this promotion and may approve it" in body
    assert body.count("- [ ] ") == 4
    assert git(work, "diff", "--name-only").splitlines() == [
        ".gitopsgen-manifest",
        "apps/payments-api/overlays/prod/kustomization.yaml",
        "services.toml",
    ]


@pytest.mark.tools
def test_promote_step_stops_when_the_source_has_no_tag(gitops_origin: Path, tmp_path: Path) -> None:
    result, outputs, _ = run_promote_step(gitops_origin, tmp_path, "ledger-worker", "prod")
    assert result.returncode == 2
    assert "cannot promote 'ledger-worker' to 'prod': it has no tag in 'staging'" in result.stderr
    assert outputs == {}


@pytest.mark.tools
def test_the_intake_record_step_changes_only_the_dev_entry_and_overlay(
    gitops_origin: Path, tmp_path: Path
) -> None:
    work = tmp_path / "record"
    git(tmp_path, "clone", "--quiet", str(gitops_origin), str(work))
    script, env = script_of(tree_of("reference")[INTAKE_PATH], "record", "gitopsgen set-image")
    digest = "sha256:" + "7" * 64
    recorded = model_of("reference").spec.services["payments-api"].envs["dev"].digest
    assert recorded is not None
    env |= {"SERVICE": "payments-api", "TAG": "sha-7777777", "DIGEST": digest, "RECORDED": recorded}
    assert env["ENVIRONMENT"] == "dev"
    result = run_bash(script, work, env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert git(work, "diff", "--name-only").splitlines() == [
        ".gitopsgen-manifest",
        "apps/payments-api/overlays/dev/kustomization.yaml",
        "services.toml",
    ]
    overlay = (work / "apps/payments-api/overlays/dev/kustomization.yaml").read_text()
    assert "newTag: sha-7777777" in overlay
    assert f'digest: "{digest}"' in overlay


@pytest.mark.tools
@pytest.mark.parametrize("spec_name", ["reference", "gcp"])
def test_the_install_step_runs_pip_with_the_pin(spec_name: str, tmp_path: Path) -> None:
    """Run under bash with a `python` that logs its arguments instead of installing."""
    step = next(
        s
        for _, s in steps_of(parsed(tree_of(spec_name)[RENDER_CHECK_PATH]))
        if s.get("name", "").startswith("Install gitopsgen")
    )
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "calls"
    fake = bin_dir / "python"
    fake.write_text(f'#!/bin/sh\nprintf "%s|" "$@" >> {log}\necho >> {log}\n', encoding="utf-8")
    fake.chmod(0o755)
    runner_temp = tmp_path / "runner-temp"
    runner_temp.mkdir()
    env = {**step["env"], "RUNNER_TEMP": str(runner_temp), "PATH": f"{bin_dir}:/usr/bin:/bin"}
    result = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    calls = log.read_text(encoding="utf-8").splitlines()
    pin = env["GITOPSGEN"]
    if spec_name == "reference":
        assert calls == [f"-P|-m|pip|install|--disable-pip-version-check|{pin}|"]
        return
    requirements = runner_temp / "gitopsgen.txt"
    assert requirements.read_text(encoding="utf-8") == pin + "\n"
    assert calls == [
        f"-P|-m|pip|install|--disable-pip-version-check|--no-deps|--require-hashes|-r|{requirements}|",
        "-P|-m|pip|install|--disable-pip-version-check|gitopsgen[validate]==0.1.0|",
    ]


def test_gitopsgen_is_installed_before_the_repository_is_checked_out(spec_name: str) -> None:
    """No file of the checkout can stand in for pip (`python -P` too: no cwd on sys.path)."""
    for path, text in workflows(spec_name).items():
        for job_id, job in parsed(text)["jobs"].items():
            names = [step.get("name", "") for step in job.get("steps", [])]
            installs = [i for i, n in enumerate(names) if n.startswith("Install gitopsgen")]
            checkouts = [i for i, n in enumerate(names) if n.startswith("Check out")]
            if installs and checkouts:
                assert max(installs) < min(checkouts), f"{path}: {job_id}: {names}"


@pytest.mark.parametrize("spec_name", ["reference", "gcp"])
def test_the_scan_job_can_only_pull(spec_name: str) -> None:
    """Trivy is downloaded code: its job's credentials may read the registry, not write it."""
    scan = parsed(tree_of(spec_name)[SERVICE_CI_PATH])["jobs"]["scan"]
    login = scan["steps"][0]["with"]
    if spec_name == "reference":
        policy = json.loads(login["inline-session-policy"])
        assert policy["Statement"] == [
            {
                "Sid": "PullOnly",
                "Effect": "Allow",
                "Action": [
                    "ecr:GetAuthorizationToken",
                    "ecr:BatchCheckLayerAvailability",
                    "ecr:BatchGetImage",
                    "ecr:GetDownloadUrlForLayer",
                ],
                "Resource": "*",
            }
        ]
    else:
        assert login["access_token_scopes"] == (
            "https://www.googleapis.com/auth/cloud-platform.read-only"
        )
    build = parsed(tree_of(spec_name)[SERVICE_CI_PATH])["jobs"]["build-push"]
    assert all("inline-session-policy" not in s.get("with", {}) for s in build["steps"])


# --- the rendered diff of a pull request, and its one comment ---------------------------------

MARKER = "<!-- gitopsgen:rendered-diff -->"
BOT = "github-actions[bot]"
SAME_REPO_PULL_REQUEST = (
    "github.event_name == 'pull_request'"
    " && github.event.pull_request.head.repo.full_name == github.repository"
)
RENDERED_DIFF_RUN = (
    'mkdir -p "$RUNNER_TEMP/rendered-diff"\n'
    'gitopsgen diff --rendered -c services.toml --previous "$BASE" \\\n'
    '  --summary "$GITHUB_STEP_SUMMARY" \\\n'
    '  --comment "$RUNNER_TEMP/rendered-diff/comment.md" \\\n'
    '  --full "$RUNNER_TEMP/rendered-diff/rendered.diff" \\\n'
    '  || { status=$?; [ "$status" -eq 1 ] || exit "$status"; }\n'
)
ARTIFACT_PATH = "${{ runner.temp }}/rendered-diff"


def test_the_rendered_diff_job_diffs_against_the_base_and_keeps_the_artifact(
    spec_name: str,
) -> None:
    """Pull requests only; read-only; independent of render-check, so validators failing there
    never stop the comment, and a fault of the diff never fails the required status."""
    workflow = parsed(tree_of(spec_name)[RENDER_CHECK_PATH])
    job = workflow["jobs"]["rendered-diff"]
    assert job["if"] == "github.event_name == 'pull_request'"
    assert job["permissions"] == {"contents": "read"}
    assert "needs" not in job
    assert "secrets." not in json.dumps(job)
    steps = job["steps"]
    base = next(i for i, s in enumerate(steps) if s.get("with", {}).get("path") == BASE_CHECKOUT)
    assert steps[base]["uses"] == pins()["checkout"].ref
    assert steps[base]["with"] == {
        "ref": "${{ github.event.pull_request.base.sha }}",
        "path": BASE_CHECKOUT,
        "persist-credentials": False,
    }
    diff, upload = steps[base + 1 :]
    assert diff["env"] == {"BASE": BASE_CHECKOUT}
    assert diff["run"] == RENDERED_DIFF_RUN
    assert upload["uses"] == pins()["upload_artifact"].ref
    assert upload["with"] == {
        "name": "rendered-diff",
        "path": ARTIFACT_PATH,
        "if-no-files-found": "error",
        "retention-days": 7,
        "overwrite": True,
    }
    # The render check itself is as it was: its steps never see the new flags.
    render_check = workflow["jobs"]["render-check"]
    assert render_check["permissions"] == {"contents": "read"}
    assert "--rendered" not in json.dumps(render_check)


def test_the_comment_job_only_comments_and_never_for_a_fork(spec_name: str) -> None:
    jobs = parsed(tree_of(spec_name)[RENDER_CHECK_PATH])["jobs"]
    comment = jobs["comment"]
    assert comment["needs"] == "rendered-diff"
    # No status function: the implicit success() of rendered-diff, which has uploaded the
    # artifact; not always(), which would also run in a run a newer push cancelled.
    assert comment["if"] == SAME_REPO_PULL_REQUEST
    assert comment["permissions"] == {"pull-requests": "write"}
    assert "secrets." not in json.dumps(comment)
    download, upsert = comment["steps"]
    assert download["uses"] == pins()["download_artifact"].ref
    assert download["with"] == {"name": "rendered-diff", "path": ARTIFACT_PATH}
    assert "gh api" in upsert["run"]
    # Nothing of the pull request is checked out, installed or run with the write token.
    assert not any("checkout" in s.get("uses", "") for s in comment["steps"])
    assert not any("setup-python" in s.get("uses", "") for s in comment["steps"])
    # The comment job reads the very file the diff step writes.
    diff = next(s for s in jobs["rendered-diff"]["steps"] if "--rendered" in s.get("run", ""))
    assert '--comment "$RUNNER_TEMP/rendered-diff/comment.md"' in diff["run"]
    assert 'body="$RUNNER_TEMP/rendered-diff/comment.md"' in upsert["run"]


# A `gh` that serves the pull request's comments from a JSON state file, a page at a time
# (--paginate; --jq evaluated on each page by the real jq, as gh does with gojq), edits or
# adds comments as the GitHub API would, and logs every argument vector it is given.
FAKE_GH = """\
import json, os, subprocess, sys

args = sys.argv[1:]
with open(os.environ["FAKE_GH_CALLS"], "a", encoding="utf-8") as log:
    log.write(json.dumps(args) + "\\n")
if not os.environ.get("GH_TOKEN"):
    sys.exit(4)
state_path = os.environ["FAKE_GH_STATE"]
with open(state_path, encoding="utf-8") as file:
    state = json.load(file)
method, paginate, jq, silent, fields, endpoint = "GET", False, None, False, {}, None
words = iter(args[1:])
for word in words:
    if word == "--method":
        method = next(words)
    elif word == "--paginate":
        paginate = True
    elif word == "--jq":
        jq = next(words)
    elif word == "--silent":
        silent = True
    elif word == "-F":
        key, _, value = next(words).partition("=")
        if not value.startswith("@"):
            sys.exit("fake gh: -F without @file")
        with open(value[1:], encoding="utf-8") as file:
            fields[key] = file.read()
    elif word.startswith("-") or endpoint is not None:
        sys.exit(f"fake gh: unexpected {word!r}")
    else:
        endpoint = word
if args[:1] != ["api"] or endpoint is None:
    sys.exit("fake gh: not an api call")
comments = state["comments"]
issue = f"repos/{state['repo']}/issues/{state['pr']}/comments"
prefix = f"repos/{state['repo']}/issues/comments/"
if method == "GET" and endpoint == issue and not fields:
    if state.get("fail"):
        print("gh: Server Error (HTTP 500)", file=sys.stderr)
        sys.exit(1)
    size = state["page_size"]
    pages = [comments[i : i + size] for i in range(0, len(comments), size)] or [[]]
    for page in pages if paginate else pages[:1]:
        if jq is None:
            print(json.dumps(page))
            continue
        done = subprocess.run(
            [os.environ["FAKE_GH_JQ"], "-r", jq], input=json.dumps(page),
            capture_output=True, text=True, check=False,
        )
        if done.returncode:
            sys.exit(f"fake gh: jq: {done.stderr}")
        sys.stdout.write(done.stdout)
    sys.exit(0)
if method == "POST" and endpoint == issue and set(fields) == {"body"}:
    reply = {"id": state["next_id"], "user": {"login": "github-actions[bot]"}, **fields}
    state["next_id"] += 1
    comments.append(reply)
elif method == "PATCH" and endpoint.startswith(prefix) and set(fields) == {"body"}:
    found = [c for c in comments if str(c["id"]) == endpoint[len(prefix) :]]
    if not found:
        print("gh: Not Found (HTTP 404)", file=sys.stderr)
        sys.exit(1)
    if found[0]["user"]["login"] != "github-actions[bot]":
        print("gh: Forbidden (HTTP 403)", file=sys.stderr)
        sys.exit(1)
    found[0]["body"] = fields["body"]
    reply = found[0]
else:
    sys.exit(f"fake gh: no such call: {method} {endpoint}")
with open(state_path, "w", encoding="utf-8") as file:
    json.dump(state, file)
if not silent:
    print(json.dumps(reply))
"""

COMMENTS_API = "repos/bank-org/gitops-repo/issues/7/comments"
LIST_FILTER = (
    '.[] | select(.user.login == "github-actions[bot]"'
    ' and ((.body // "") | startswith(env.MARKER))) | .id'
)
LIST = ["api", "--paginate", COMMENTS_API, "--jq", LIST_FILTER]


def comment(comment_id: int, login: str, body: str) -> dict[str, Any]:
    return {"id": comment_id, "user": {"login": login}, "body": body}


class FakeGitHub:
    """The comment step's world: its runner temp with the downloaded artifact, and the pull
    request's comments behind a fake `gh`."""

    def __init__(self, tmp_path: Path, comments: list[dict[str, Any]], page_size: int) -> None:
        jq = shutil.which("jq")
        assert jq is not None, "jq is needed to evaluate the step's --jq filter as gh would"
        self.bin = tmp_path / "bin"
        self.bin.mkdir()
        gh = self.bin / "gh"
        gh.write_text(f"#!{sys.executable}\n{FAKE_GH}", encoding="utf-8")
        gh.chmod(0o755)
        self.state = tmp_path / "state.json"
        self.calls = tmp_path / "calls.jsonl"
        self.jq = jq
        next_id = max((c["id"] for c in comments), default=100) + 1
        self.state.write_text(
            json.dumps(
                {
                    "repo": "bank-org/gitops-repo",
                    "pr": 7,
                    "page_size": page_size,
                    "next_id": next_id,
                    "comments": comments,
                }
            ),
            encoding="utf-8",
        )
        self.runner_temp = tmp_path / "runner-temp"
        self.body = self.runner_temp / "rendered-diff" / "comment.md"
        self.body.parent.mkdir(parents=True)
        self.work = tmp_path / "work"
        self.work.mkdir()

    def comments(self) -> list[dict[str, Any]]:
        data: list[dict[str, Any]] = json.loads(self.state.read_text(encoding="utf-8"))["comments"]
        return data

    def fail_listing(self) -> None:
        data = json.loads(self.state.read_text(encoding="utf-8"))
        self.state.write_text(json.dumps({**data, "fail": True}), encoding="utf-8")

    def run(self, body: str) -> tuple[subprocess.CompletedProcess[str], list[list[str]]]:
        """The step as the runner runs it, with the env it declares; the calls it made."""
        self.body.write_text(body, encoding="utf-8")
        self.calls.write_text("", encoding="utf-8")
        tree = tree_of("reference")[RENDER_CHECK_PATH]
        script, env = script_of(tree, "comment", "gh api")
        assert env == {
            "GH_TOKEN": "${{ github.token }}",
            "REPO": "${{ github.repository }}",
            "PR": "${{ github.event.pull_request.number }}",
            "MARKER": MARKER,
        }
        env |= {
            "GH_TOKEN": "ghs_test",
            "REPO": "bank-org/gitops-repo",
            "PR": "7",
            "RUNNER_TEMP": str(self.runner_temp),
            "PATH": f"{self.bin}{os.pathsep}{os.environ['PATH']}",
            "FAKE_GH_STATE": str(self.state),
            "FAKE_GH_CALLS": str(self.calls),
            "FAKE_GH_JQ": self.jq,
        }
        result = run_bash(script, self.work, env)
        lines = self.calls.read_text(encoding="utf-8").splitlines()
        return result, [json.loads(line) for line in lines]

    def post(self) -> list[str]:
        return ["api", "--method", "POST", COMMENTS_API, "-F", f"body=@{self.body}", "--silent"]

    def patch(self, comment_id: int) -> list[str]:
        endpoint = f"repos/bank-org/gitops-repo/issues/comments/{comment_id}"
        return ["api", "--method", "PATCH", endpoint, "-F", f"body=@{self.body}", "--silent"]


@pytest.mark.tools
def test_the_comment_step_posts_one_comment_then_edits_it(tmp_path: Path) -> None:
    """Another user's comment with the marker, and the bot's without it, are never touched."""
    others = [
        comment(101, "octocat", f"{MARKER}\nquoted from the bot's comment"),
        comment(102, BOT, "## Some other check\nall good"),
        comment(103, "hubot", "lgtm"),
    ]
    github = FakeGitHub(tmp_path, [dict(c) for c in others], page_size=2)
    first = f"{MARKER}\n## Rendered diff\n1 Application changes\n"
    result, calls = github.run(first)
    assert result.returncode == 0, result.stdout + result.stderr
    assert calls == [LIST, github.post()]
    assert github.comments() == [*others, comment(104, BOT, first)]

    # The next push: the same comment, now on the second page, is edited; nothing is added.
    second = f"{MARKER}\n## Rendered diff\nNo Application changes.\n"
    result, calls = github.run(second)
    assert result.returncode == 0, result.stdout + result.stderr
    assert calls == [LIST, github.patch(104)]
    assert github.comments() == [*others, comment(104, BOT, second)]

    result, calls = github.run(second)
    assert result.returncode == 0, result.stdout + result.stderr
    assert calls == [LIST, github.patch(104)]
    assert len(github.comments()) == 4


@pytest.mark.tools
def test_the_comment_step_edits_the_oldest_of_its_comments_across_pages(tmp_path: Path) -> None:
    """gh --paginate --jq prints the matches of each page: ids on several lines."""
    comments = [
        comment(201, "octocat", "first"),
        comment(202, "github-actions", f"{MARKER}\nnot the bot: a user named like it"),
        comment(203, BOT, f"see {MARKER}, not at the start"),
        comment(204, "octocat", "ping"),
        comment(205, BOT, f"{MARKER}\nold"),
        comment(206, "octocat", "pong"),
        comment(207, BOT, f"{MARKER}\na duplicate from before"),
    ]
    github = FakeGitHub(tmp_path, [dict(c) for c in comments], page_size=2)
    body = f"{MARKER}\nnew\n"
    result, calls = github.run(body)
    assert result.returncode == 0, result.stdout + result.stderr
    assert calls == [LIST, github.patch(205)]
    assert github.comments() == [*comments[:4], comment(205, BOT, body), *comments[5:]]


@pytest.mark.tools
def test_the_comment_step_posts_nothing_when_it_cannot_list_the_comments(tmp_path: Path) -> None:
    """A failed listing must not read as "no comment yet": that would add one per push."""
    existing = [comment(301, BOT, f"{MARKER}\nold")]
    github = FakeGitHub(tmp_path, [dict(c) for c in existing], page_size=2)
    github.fail_listing()
    result, calls = github.run(f"{MARKER}\nnew\n")
    assert result.returncode == 1
    assert calls == [LIST]
    assert github.comments() == existing


@pytest.mark.tools
def test_the_comment_step_refuses_a_body_without_the_marker(tmp_path: Path) -> None:
    """Such a comment could never be found again, so every push would add another."""
    github = FakeGitHub(tmp_path, [], page_size=2)
    result, calls = github.run("## Rendered diff\n" + MARKER + "\n")
    assert result.returncode == 1
    assert calls == []
    assert "does not start with <!-- gitopsgen:rendered-diff -->" in result.stdout
    assert github.comments() == []
