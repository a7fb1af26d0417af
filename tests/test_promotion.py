"""The promotion pull request and the render check's job summary, as the workflows get them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from generator.cli import main
from generator.commands import jobsummary, promotion, tags

SPECS = Path(__file__).parent / "data" / "specs"


@pytest.fixture
def reference(tmp_path: Path) -> Path:
    config = tmp_path / "services.toml"
    shutil.copy(SPECS / "reference.toml", config)
    return config


def test_the_pull_request_of_a_promotion_to_prod(reference: Path) -> None:
    change = tags.promote(reference, "payments-api", "prod")
    pr = promotion.pull_request(change, started_by="octocat")
    assert pr == promotion.PullRequest(
        title="promote(payments-api): prod <- abc123def",
        branch="promote/payments-api/prod",
        body=(
            "Promotes **payments-api** to **prod**: `abc123def`"
            " (`sha256:fe94675c9e5ec0ef44093f527b03392133eba16c2186482e81d314028d185db3`)"
            " from staging, replacing `def456abc`.\n"
            "\n"
            "Required before this merges (the ruleset on `main`, `terraform/github.tf`):\n"
            "- the render check passes, reported by GitHub Actions\n"
            "- 2 approval(s) from @bank-org/platform-team, for the changes under"
            " `apps/*/overlays/prod/`\n"
            "- approvals are dismissed by a new push, and the last push must be approved by"
            " someone other than its pusher\n"
            "\n"
            "Not enforced: @octocat started this promotion and may approve it; that approval"
            " counts.\n"
            "\n"
            "For the reviewers:\n"
            "- [ ] The tag runs healthy in staging (Argo CD: `payments-api-staging` Synced and"
            " Healthy)\n"
            "- [ ] The diff changes only `services.toml` and `apps/payments-api/overlays/prod/`\n"
            "- [ ] The release notes between the two tags are read; migrations and flags are"
            " ready\n"
            "- [ ] After merge, Argo CD syncs `payments-api-prod` by hand in Argo CD, within its"
            " sync windows\n"
        ),
        labels=("promotion", "env:prod"),
        reviewers=(),
        team_reviewers=("platform-team",),
    )


def test_a_promotion_without_approvers_asks_the_team(reference: Path) -> None:
    text = reference.read_text(encoding="utf-8")
    approvers = 'approvers = ["@bank-org/team-leads"]'
    # (a user cannot be an approver: the gitops branch's ruleset requires teams; checks.py)
    reference.write_text(text.replace(approvers, ""), encoding="utf-8")
    pr = promotion.pull_request(tags.promote(reference, "orders-api", "staging"))
    assert (pr.reviewers, pr.team_reviewers) == ((), ("team-orders",))
    assert (
        "- no approval: services.toml names no approvers for staging; CODEOWNERS asks"
        " @bank-org/team-orders to review\n"
    ) in pr.body
    assert "Not enforced" not in pr.body


def test_a_promotion_without_a_digest_says_so(reference: Path) -> None:
    pr = promotion.pull_request(tags.promote(reference, "ledger-worker", "staging"))
    assert pr.body.startswith(
        "Promotes **ledger-worker** to **staging**: `sha-0a1b2c3` (no digest recorded: the tag"
        " is mutable) from dev (first deploy there).\n"
    )


def test_promote_writes_the_step_outputs_and_the_body(reference: Path, tmp_path: Path) -> None:
    output, body = tmp_path / "github_output", tmp_path / "promotion.md"
    output.write_text("earlier=1\n", encoding="utf-8")
    args = ["promote", "payments-api", "--to", "prod", "-c", str(reference)]
    assert main([*args, "--github-output", str(output), "--body-file", str(body)]) == 0
    assert output.read_text(encoding="utf-8") == (
        "earlier=1\n"
        "title=promote(payments-api): prod <- abc123def\n"
        "branch=promote/payments-api/prod\n"
        f"body_path={body}\n"
        "labels=promotion,env:prod\n"
        "reviewers=\n"
        "team_reviewers=platform-team\n"
    )
    assert body.read_text(encoding="utf-8").startswith("Promotes **payments-api** to **prod**")


def test_github_output_needs_a_body_file(
    reference: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["promote", "payments-api", "--to", "prod", "-c", str(reference)]
    assert main([*args, "--github-output", str(tmp_path / "o")]) == 2
    assert capsys.readouterr().err == "promote: --github-output and --body-file go together\n"


def test_an_unwritable_output_file_is_exit_2(
    reference: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "no-such-dir" / "promotion.md"
    args = ["promote", "payments-api", "--to", "prod", "-c", str(reference)]
    assert main([*args, "--github-output", str(tmp_path / "o"), "--body-file", str(missing)]) == 2
    assert capsys.readouterr().err.endswith(f"{missing}: cannot write: No such file or directory\n")


def test_the_summary_of_a_matching_tree() -> None:
    assert jobsummary.render("") == "## Rendered diff\nThe tree matches services.toml.\n"


def test_the_summary_of_a_diff() -> None:
    assert jobsummary.render("--- a/x\n+++ b/x\n") == (
        "## Rendered diff\n"
        "The tree does not match services.toml: run `gitopsgen build` and commit the result.\n"
        "\n"
        "````diff\n"
        "--- a/x\n"
        "+++ b/x\n"
        "````\n"
    )


def test_the_summary_cuts_a_long_diff_on_a_character_boundary() -> None:
    diff = "a" * (jobsummary.MAX_DIFF_BYTES - 1) + "é" + "b" * 10
    text = jobsummary.render(diff)
    assert "a" * (jobsummary.MAX_DIFF_BYTES - 1) + "\n````\n" in text
    assert "é" not in text
    assert len(text.encode("utf-8")) < 1024 * 1024
