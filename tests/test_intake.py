"""`gitopsgen intake`: every refusal, with a fake gh printing what `gh attestation verify` would."""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from generator.cli import main
from generator.commands import intake
from tests.conftest import SPECS

COMMIT = "c0ffee" + "0" * 34  # CI tags an image with the commit it built
NEW = "sha256:" + "1" * 64
OLD = "sha256:" + "0" * 64
IMAGE = "111111111111.dkr.ecr.me-south-1.amazonaws.com/payments-api"
SIGNER = "https://github.com/bank-org/gitops-repo/.github/workflows/service-ci.yml@refs/heads/main"

FAKE_GH = """\
import json, os, sys
args = sys.argv[1:]
with open(os.environ["FAKE_GH_LOG"], "a", encoding="utf-8") as log:
    log.write(json.dumps(args) + "\\n")
digest = args[2].rsplit("@", 1)[1]
results = json.load(open(os.environ["FAKE_GH_RESULTS"], encoding="utf-8"))
if digest not in results:
    print("Error: no attestations found for " + digest, file=sys.stderr)
    sys.exit(1)
print(json.dumps(results[digest]))
"""


def attestation(
    digest: str, *, run: int = 2000, commit: str = COMMIT, cert: dict[str, str] | None = None
) -> Any:
    """One result as `gh attestation verify --format json` prints it (sigstore-go's JSON)."""
    certificate = {
        "runInvocationURI": f"https://github.com/bank-org/payments-api/actions/runs/{run}/attempts/1",
        "sourceRepositoryDigest": commit,
        "issuer": "https://token.actions.githubusercontent.com",
        "buildSignerURI": SIGNER,
        "sourceRepositoryURI": "https://github.com/bank-org/payments-api",
        "sourceRepositoryRef": "refs/heads/main",
        "runnerEnvironment": "github-hosted",
        **(cert or {}),
    }
    return {
        "attestation": {"bundle": {}},
        "verificationResult": {
            "statement": {
                "_type": "https://in-toto.io/Statement/v1",
                "subject": [{"name": IMAGE, "digest": {"sha256": digest.removeprefix("sha256:")}}],
                "predicateType": "https://slsa.dev/provenance/v1",
            },
            "signature": {"certificate": certificate},
            "verifiedTimestamps": [
                {
                    "type": "TimestampAuthority",
                    "uri": "https://timestamp.githubapp.com",
                    "timestamp": "2026-12-01T10:00:00Z",
                }
            ],
        },
    }


@pytest.fixture
def gh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """A fake gh on PATH; tests fill the returned dict (digest -> results) before running."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "gh"
    script.write_text(f"#!{sys.executable}\n{FAKE_GH}", encoding="utf-8")
    script.chmod(0o755)
    results: dict[str, Any] = {}
    results_file = tmp_path / "gh-results.json"
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_GH_RESULTS", str(results_file))
    monkeypatch.setenv("FAKE_GH_LOG", str(tmp_path / "gh-calls.log"))
    original = intake.verify

    def verify(
        expected: intake.Expected, digest: str, *, commit: str | None = None
    ) -> intake.Build:
        results_file.write_text(json.dumps(results), encoding="utf-8")
        return original(expected, digest, commit=commit)

    monkeypatch.setattr(intake, "verify", verify)
    return results


def config_with_dev_digest(tmp_path: Path, digest: str | None) -> Path:
    text = (SPECS / "reference.toml").read_text(encoding="utf-8")
    head, dev, rest = text.partition("[services.payments-api.envs.dev]")
    recorded = re.compile(r'digest = "sha256:[0-9a-f]{64}".*\n')
    assert dev
    assert recorded.search(rest.split("\n[", 1)[0])  # the file records one there
    rest = recorded.sub("" if digest is None else f'digest = "{digest}"\n', rest, count=1)
    text = head + dev + rest
    config = tmp_path / "services.toml"
    config.write_text(text, encoding="utf-8")
    return config


def run(config: Path, *args: str) -> int:
    return main(["intake", "payments-api", "--tag", COMMIT, *args, "-c", str(config)])


def test_a_newer_build_from_the_right_repository_and_workflow_is_accepted(
    tmp_path: Path, gh: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    config = config_with_dev_digest(tmp_path, OLD)
    gh[NEW] = [attestation(NEW, run=2000)]
    gh[OLD] = [attestation(OLD, run=1000, commit="b" * 40)]
    assert run(config, "--digest", NEW) == 0
    assert capsys.readouterr().out == (
        f"payments-api: {NEW} verified, built after the recorded {OLD}\n"
    )
    calls = [json.loads(line) for line in (tmp_path / "gh-calls.log").read_text().splitlines()]
    assert calls[0] == [
        "attestation",
        "verify",
        f"oci://{IMAGE}@{NEW}",
        "--bundle-from-oci",
        "--repo",
        "bank-org/payments-api",
        "--cert-identity",
        SIGNER,
        "--cert-oidc-issuer",
        "https://token.actions.githubusercontent.com",
        "--source-ref",
        "refs/heads/main",
        "--predicate-type",
        "https://slsa.dev/provenance/v1",
        "--deny-self-hosted-runners",
        "--format",
        "json",
    ]
    assert calls[1][2] == f"oci://{IMAGE}@{OLD}"


def test_the_first_digest_needs_no_comparison(
    tmp_path: Path, gh: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    gh[NEW] = [attestation(NEW)]
    assert run(config_with_dev_digest(tmp_path, None), "--digest", NEW) == 0
    assert capsys.readouterr().out == f"payments-api: {NEW} verified; dev records no digest yet\n"


@pytest.mark.usefixtures("gh")
def test_the_recorded_digest_again_is_nothing_to_do(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(config_with_dev_digest(tmp_path, NEW), "--digest", NEW) == 0
    assert (
        capsys.readouterr().out
        == f"payments-api: {NEW} is already recorded in dev: nothing to do\n"
    )
    assert not (tmp_path / "gh-calls.log").exists()


def test_an_older_build_is_refused(
    tmp_path: Path, gh: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    config = config_with_dev_digest(tmp_path, OLD)
    # An old CI run re-run today: signed now, but its run id is still the old one.
    gh[NEW] = [attestation(NEW, run=1000)]
    gh[OLD] = [attestation(OLD, run=2000, commit="b" * 40)]
    assert run(config, "--digest", NEW) == 2
    assert capsys.readouterr().err == (
        f"payments-api: {NEW} was built by workflow run 1000, older than run 2000 that built"
        f" the {OLD} recorded in dev: an older build never replaces a newer one\n"
    )


def test_a_recorded_digest_without_attestation_leaves_it_to_a_reviewed_change(
    tmp_path: Path, gh: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    gh[NEW] = [attestation(NEW)]
    assert run(config_with_dev_digest(tmp_path, OLD), "--digest", NEW) == 2
    assert capsys.readouterr().err == (
        f"payments-api: the {OLD} recorded in dev cannot be verified ({OLD}: gh attestation"
        f" verify refused it: Error: no attestations found for {OLD}), so the build order cannot"
        f" be checked: record {NEW} by a reviewed pull request (gitopsgen set-image --digest)\n"
    )


@pytest.mark.usefixtures("gh")
def test_an_image_gh_cannot_verify_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(config_with_dev_digest(tmp_path, None), "--digest", NEW) == 2
    assert capsys.readouterr().err == (
        f"{NEW}: gh attestation verify refused it: Error: no attestations found for {NEW}\n"
    )


@pytest.mark.parametrize(
    ("cert", "said"),
    [
        (
            {"sourceRepositoryURI": "https://github.com/bank-org/orders-api"},
            "built from 'https://github.com/bank-org/orders-api', not"
            " 'https://github.com/bank-org/payments-api'",
        ),
        (
            {"buildSignerURI": SIGNER.replace("service-ci.yml", "evil.yml")},
            f"signed by {SIGNER.replace('service-ci.yml', 'evil.yml')!r}, not {SIGNER!r}",
        ),
        (
            {"buildSignerURI": SIGNER.replace("heads/main", "heads/feature")},
            f"signed by {SIGNER.replace('heads/main', 'heads/feature')!r}, not {SIGNER!r}",
        ),
        (
            {"sourceRepositoryRef": "refs/heads/feature"},
            "at the ref 'refs/heads/feature', not 'refs/heads/main'",
        ),
        (
            {"runnerEnvironment": "self-hosted"},
            "on a runner 'self-hosted', not 'github-hosted'",
        ),
        (
            {"sourceRepositoryDigest": "d" * 40},
            f"built from the commit {'d' * 40!r}, not {COMMIT!r}",
        ),
    ],
    ids=[
        "wrong-repository",
        "wrong-signer-workflow",
        "signer-on-another-branch",
        "wrong-ref",
        "self-hosted",
        "another-commit",
    ],
)
def test_an_attestation_with_the_wrong_identity_is_refused(
    tmp_path: Path,
    gh: dict[str, Any],
    capsys: pytest.CaptureFixture[str],
    cert: dict[str, str],
    said: str,
) -> None:
    """Checked again after gh: a gh that ignored a flag still records nothing."""
    gh[NEW] = [attestation(NEW, cert=cert)]
    assert run(config_with_dev_digest(tmp_path, None), "--digest", NEW) == 2
    assert capsys.readouterr().err == f"{NEW}: the attestation says it was {said}\n"


def test_an_attestation_about_another_image_is_refused(
    tmp_path: Path, gh: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    gh[NEW] = [attestation(OLD)]
    assert run(config_with_dev_digest(tmp_path, None), "--digest", NEW) == 2
    assert (
        capsys.readouterr().err == f"{NEW}: the attestation is about ['{OLD}'], not this digest\n"
    )


def test_repository_names_compare_without_case(tmp_path: Path, gh: dict[str, Any]) -> None:
    gh[NEW] = [
        attestation(NEW, cert={"sourceRepositoryURI": "https://github.com/Bank-Org/Payments-API"})
    ]
    assert run(config_with_dev_digest(tmp_path, None), "--digest", NEW) == 0


@pytest.mark.usefixtures("gh")
def test_an_unknown_service_and_a_malformed_digest_are_refused_together(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = config_with_dev_digest(tmp_path, None)
    argv = [
        "intake",
        "payments-apu",
        "--tag",
        "latest",
        "--digest",
        "sha256:ABC",
        "-c",
        str(config),
    ]
    assert main(argv) == 2
    assert capsys.readouterr().err == (
        "unknown service 'payments-apu' (did you mean 'payments-api'?)\n"
        "'sha256:ABC' is not an image digest: write sha256:<64 lowercase hex>\n"
        "tag: 'latest' is not allowed: pin the tag of one build so every deploy is repeatable\n"
    )
    assert not (tmp_path / "gh-calls.log").exists()


@pytest.mark.usefixtures("gh")
def test_a_service_no_ci_builds_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = config_with_dev_digest(tmp_path, None).read_text(encoding="utf-8")
    config = tmp_path / "services.toml"
    config.write_text(text.replace('repo = "bank-org/payments-api"', ""), encoding="utf-8")
    assert run(config, "--digest", NEW) == 2
    assert capsys.readouterr().err == (
        "service 'payments-api' has no repo in services.toml: no CI builds it\n"
    )


def test_no_gh_on_path_is_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = config_with_dev_digest(tmp_path, None)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(shutil, "which", lambda _: None)
    assert run(config, "--digest", NEW) == 2
    assert capsys.readouterr().err == (
        "gh (GitHub CLI) is not on PATH: GitHub's runners have it; elsewhere install it\n"
    )


def test_an_attestation_without_its_workflow_run_is_refused(
    tmp_path: Path, gh: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    gh[NEW] = [attestation(NEW, cert={"runInvocationURI": ""})]
    assert run(config_with_dev_digest(tmp_path, None), "--digest", NEW) == 2
    assert capsys.readouterr().err == f"{NEW}: the attestation names no workflow run\n"


def test_intake_writes_what_it_checked_against_for_the_record_job(
    tmp_path: Path, gh: dict[str, Any]
) -> None:
    config = config_with_dev_digest(tmp_path, OLD)
    gh[NEW] = [attestation(NEW, run=2000)]
    gh[OLD] = [attestation(OLD, run=1000, commit="b" * 40)]
    output = tmp_path / "github_output"
    assert run(config, "--digest", NEW, "--github-output", str(output)) == 0
    assert output.read_text(encoding="utf-8") == f"recorded={OLD}\n"


@pytest.mark.parametrize(("recorded", "expected"), [(OLD, ""), (None, OLD), (NEW, OLD)])
def test_set_image_writes_nothing_when_the_entry_moved_since_the_verification(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], recorded: str | None, expected: str
) -> None:
    """A re-run of an old intake's record job alone must not roll dev back."""
    config = config_with_dev_digest(tmp_path, recorded)
    before = config.read_bytes()
    argv = ["set-image", "payments-api", "dev", COMMIT, "--digest", "sha256:" + "2" * 64]
    assert main([*argv, "--expect-digest", expected, "-c", str(config)]) == 2
    assert config.read_bytes() == before
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"set-image: payments-api in dev records {recorded or 'no digest'} now, not"
        f" {expected or 'no digest'} as expected: it changed since the image was verified;"
        " run the whole intake again"
    )


def test_set_image_writes_when_the_entry_is_as_verified(tmp_path: Path) -> None:
    config = config_with_dev_digest(tmp_path, OLD)
    argv = ["set-image", "payments-api", "dev", COMMIT, "--digest", NEW]
    assert main([*argv, "--expect-digest", OLD, "-c", str(config)]) == 0
    assert f'digest = "{NEW}"' in config.read_text(encoding="utf-8")


def test_the_image_a_promotion_would_copy_is_verified(
    tmp_path: Path, gh: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    config = config_with_dev_digest(tmp_path, NEW)
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace('tag = "abc123def"', f'tag = "{COMMIT}"', 1), encoding="utf-8")
    gh[NEW] = [attestation(NEW)]
    output = tmp_path / "github_output"
    argv = ["verify-image", "payments-api", "--promote-to", "staging", "-c", str(config)]
    assert main([*argv, "--github-output", str(output)]) == 0
    assert capsys.readouterr().out == (
        f"payments-api: {NEW} in dev verified: built from {COMMIT} by bank-org/payments-api\n"
    )
    assert output.read_text(encoding="utf-8") == f"recorded={NEW}\n"


def test_a_hand_edited_digest_is_not_promoted(
    tmp_path: Path, gh: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    """Dev needs no approval, so a digest written there by hand must not travel on."""
    argv = ["verify-image", "payments-api", "--promote-to", "staging"]
    assert main([*argv, "-c", str(config_with_dev_digest(tmp_path, NEW))]) == 2
    assert capsys.readouterr().err == (
        f"{NEW}: gh attestation verify refused it: Error: no attestations found for {NEW}\n"
    )
    gh[NEW] = [attestation(NEW, commit="e" * 40)]  # attested, but not the commit the tag names
    assert main([*argv, "-c", str(config_with_dev_digest(tmp_path, NEW))]) == 2
    assert capsys.readouterr().err == (
        f"{NEW}: the attestation says it was built from the commit {'e' * 40!r}, not 'abc123def'\n"
    )


@pytest.mark.usefixtures("gh")
@pytest.mark.parametrize(
    ("target", "message"),
    [
        (
            "staging",
            "payments-api in dev records no digest: only an image recorded with its"
            " digest (by the intake) can be promoted",
        ),
        ("dev", "environment 'dev' has no promote_from: nothing is promoted to it"),
        ("stagin", "unknown environment 'stagin' (did you mean 'staging'?)"),
    ],
)
def test_verify_image_refusals(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], target: str, message: str
) -> None:
    config = config_with_dev_digest(tmp_path, None)
    argv = ["verify-image", "payments-api", "--promote-to", target, "-c", str(config)]
    assert main(argv) == 2
    assert capsys.readouterr().err == message + "\n"


def test_promote_copies_nothing_but_the_verified_digest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = config_with_dev_digest(tmp_path, NEW)
    before = config.read_bytes()
    argv = ["promote", "payments-api", "--to", "staging", "--expect-digest", OLD]
    assert main([*argv, "-c", str(config)]) == 2
    assert config.read_bytes() == before
    assert capsys.readouterr().err == (
        f"promote: payments-api in dev records {NEW} now, not the verified {OLD}: start the"
        " promotion again\n"
    )
