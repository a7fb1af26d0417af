"""The promotion pull request: its title, branch, body and reviewers, for the promote workflow.

`gitopsgen promote SERVICE --to ENV --github-output FILE --body-file FILE` copies the tag,
then writes what the workflow's pull-request step needs as step outputs
(https://docs.github.com/en/actions/reference/workflows-and-actions/workflow-commands#setting-an-output-parameter).
"""

from __future__ import annotations

from pathlib import Path

from attrs import frozen

from generator import naming
from generator.commands import stepoutput
from generator.commands.tags import Change
from generator.resolve import Model, resolve
from generator.spec.errors import InputError


@frozen(kw_only=True)
class PullRequest:
    """What the promotion workflow opens (or updates, on the same branch)."""

    title: str
    branch: str
    body: str
    labels: tuple[str, ...]
    reviewers: tuple[str, ...]  # users, without '@'
    team_reviewers: tuple[str, ...]  # team slugs, without the organisation


def pull_request(
    change: Change, *, started_by: str | None = None, tested_revision: str | None = None
) -> PullRequest:
    """Describe the promotion `change` (a `promote` edit) as a pull request."""
    model = resolve(change.spec)
    target = change.target
    env = model.environment(target.env)
    owners = env.approvers or model.spec.teams[model.spec.services[target.service].team].owners
    handles = [owner.removeprefix("@") for owner in owners]
    return PullRequest(
        title=f"promote({target.service}): {target.env} <- {target.tag}",
        branch=f"promote/{target.service}/{target.env}",
        body=body(model, change, owners, started_by, tested_revision),
        labels=(naming.PROMOTION_LABEL, naming.promotion_env_label(target.env)),
        reviewers=tuple(h for h in handles if "/" not in h),
        team_reviewers=tuple(h.split("/", 1)[1] for h in handles if "/" in h),
    )


def body(
    model: Model,
    change: Change,
    owners: tuple[str, ...],
    started_by: str | None,
    tested_revision: str | None = None,
) -> str:
    target = change.target
    service, env_name = target.service, target.env
    env = model.environment(env_name)
    source = env.promote_from or ""
    replaces = f", replacing `{change.old}`." if change.old else " (first deploy there)."
    source_app = naming.application_name(service, source)
    target_app = naming.application_name(service, env_name)
    sync = "automatically" if env.auto_sync else "by hand in Argo CD"
    # Reviewers approve an image, not a name: the digest is what Argo CD will deploy.
    pinned = (
        f" (`{target.digest}`)" if target.digest else " (no digest recorded: the tag is mutable)"
    )
    lines = [
        f"Promotes **{service}** to **{env_name}**: `{target.tag}`{pinned} from {source}{replaces}",
        "",
        *tested(model, source_app, tested_revision, started_by),
        *enforced(model, env_name, owners, started_by),
        "",
        "For the reviewers:",
        f"- [ ] The tag runs healthy in {source} (Argo CD: `{source_app}` Synced and Healthy)",
        f"- [ ] The diff changes only `services.toml` and `apps/{service}/overlays/{env_name}/`",
        "- [ ] The release notes between the two tags are read; migrations and flags are ready",
        f"- [ ] After merge, Argo CD syncs `{target_app}` {sync}, within its sync windows",
    ]
    return "\n".join(lines) + "\n"


def tested(
    model: Model, source_app: str, revision: str | None, started_by: str | None
) -> list[str]:
    """A proposal that names a tested revision: who sent it, what Argo CD Notifications
    would have waited for, and what the workflow could check (no more: GitHub cannot tell
    that the dispatch came from Argo CD, only which account sent it)."""
    if not revision:
        return []
    branch = model.spec.gitops.branch
    sender = f"@{started_by}" if started_by else "an unknown account"
    return [
        f"Dispatched by {sender} for revision `{revision}` of `{branch}`. Argo CD"
        f" Notifications sends such a dispatch, with the token of its machine account, once"
        f" `{source_app}` has synced that revision, is Healthy and its smoke test (the"
        " PostSync hook) passed; GitHub cannot verify that it did: check that the sender is"
        f" that account. `gitopsgen verify-promotion` checked that the revision is on"
        f" `{branch}` and deployed the tag copied here.",
        "",
    ]


def enforced(
    model: Model, env_name: str, owners: tuple[str, ...], started_by: str | None
) -> list[str]:
    """What GitHub enforces before the pull request merges, and what it does not: no more."""
    env = model.environment(env_name)
    branch = model.spec.gitops.branch
    lines = [
        f"Required before this merges (the ruleset on `{branch}`, `terraform/github.tf`):",
        "- the render check passes, reported by GitHub Actions",
    ]
    if env.approvers and env.required_approvals:
        lines += [
            f"- {env.required_approvals} approval(s) from {', '.join(owners)}, for the changes"
            f" under `apps/*/overlays/{env_name}/`",
            "- approvals are dismissed by a new push, and the last push must be approved by"
            " someone other than its pusher",
        ]
        if started_by:
            lines += [
                "",
                f"Not enforced: @{started_by} started this promotion and may approve it; that"
                " approval counts.",
            ]
    else:
        lines.append(
            f"- no approval: services.toml names no approvers for {env_name}; CODEOWNERS asks"
            f" {', '.join(owners)} to review"
        )
    return lines


def github_outputs(pr: PullRequest, body_path: Path) -> dict[str, str]:
    """The step outputs the pull-request step reads (single-line values only)."""
    return {
        "title": pr.title,
        "branch": pr.branch,
        "body_path": str(body_path),
        "labels": ",".join(pr.labels),
        "reviewers": ",".join(pr.reviewers),
        "team_reviewers": ",".join(pr.team_reviewers),
    }


def write_for_workflow(pr: PullRequest, *, github_output: Path, body_file: Path) -> None:
    """Write the body file and append the outputs to the step's `$GITHUB_OUTPUT` file."""
    try:
        body_file.write_text(pr.body, encoding="utf-8")
    except OSError as exc:
        raise InputError([f"{body_file}: cannot write: {exc.strerror}"]) from None
    stepoutput.append(github_output, github_outputs(pr, body_file))
