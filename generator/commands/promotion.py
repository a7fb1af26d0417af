"""The promotion pull request: its title, branch, body and reviewers, for the promote workflow.

`gitopsgen promote SERVICE --to ENV --github-output FILE --body-file FILE` copies the tag,
then writes what the workflow's pull-request step needs as step outputs
(https://docs.github.com/en/actions/reference/workflows-and-actions/workflow-commands#setting-an-output-parameter).
"""

from __future__ import annotations

from pathlib import Path

from attrs import frozen

from generator import naming
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


def pull_request(change: Change) -> PullRequest:
    """Describe the promotion `change` (a `promote` edit) as a pull request."""
    model = resolve(change.spec)
    target = change.target
    env = next(e for e in model.environments if e.name == target.env)
    owners = env.approvers or model.spec.teams[model.spec.services[target.service].team].owners
    handles = [owner.removeprefix("@") for owner in owners]
    return PullRequest(
        title=f"promote({target.service}): {target.env} <- {target.tag}",
        branch=f"promote/{target.service}/{target.env}",
        body=body(model, change, owners),
        labels=("promotion", f"env:{target.env}"),
        reviewers=tuple(h for h in handles if "/" not in h),
        team_reviewers=tuple(h.split("/", 1)[1] for h in handles if "/" in h),
    )


def body(model: Model, change: Change, owners: tuple[str, ...]) -> str:
    target = change.target
    service, env_name = target.service, target.env
    env = next(e for e in model.environments if e.name == env_name)
    source = env.promote_from or ""
    before = change.old
    sync = "automatically" if env.auto_sync else "by hand in Argo CD"
    replaces = f", replacing `{before}`." if before else " (first deploy there)."
    source_app = naming.application_name(service, source)
    target_app = naming.application_name(service, env_name)
    # Reviewers approve an image, not a name: the digest is what Argo CD will deploy.
    pinned = (
        f" (`{target.digest}`)" if target.digest else " (no digest recorded: the tag is mutable)"
    )
    lines = [
        f"Promotes **{service}** to **{env_name}**: `{target.tag}`{pinned} from {source}{replaces}",
        "",
        f"- [ ] The tag runs healthy in {source} (Argo CD: `{source_app}` Synced and Healthy)",
        f"- [ ] The diff changes only `services.toml` and `apps/{service}/overlays/{env_name}/`",
        "- [ ] The release notes between the two tags are read; migrations and flags are ready",
        f"- [ ] {env.required_approvals} approval(s) from {', '.join(owners)} (CODEOWNERS)",
        f"- [ ] After merge, Argo CD syncs `{target_app}` {sync}, within its sync windows",
    ]
    return "\n".join(lines) + "\n"


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
    outputs = github_outputs(pr, body_file)
    try:
        body_file.write_text(pr.body, encoding="utf-8")
        with github_output.open("a", encoding="utf-8") as file:
            file.writelines(f"{key}={value}\n" for key, value in outputs.items())
    except OSError as exc:
        raise InputError([f"{exc.filename}: cannot write: {exc.strerror}"]) from None
