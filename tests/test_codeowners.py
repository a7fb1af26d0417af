"""CODEOWNERS, resolved the way GitHub resolves it, gives every path exactly its intended owners."""

from __future__ import annotations

import re

import pytest
from attrs import frozen

from generator.render.github import CODEOWNERS_PATH
from generator.resolve import Model
from generator.tree.write import MANIFEST
from tests.conftest import model_of, tree_of


@frozen(kw_only=True)
class Rule:
    pattern: str
    owners: tuple[str, ...]
    regex: re.Pattern[str]


def compile_pattern(pattern: str) -> re.Pattern[str]:
    """A CODEOWNERS pattern as GitHub documents it: gitignore rules, without `!`, `[ ]`, `\\#`.

    A leading or inner `/` anchors the pattern at the repository root, otherwise it matches at
    any depth; `*` and `?` stay within one path segment, `**` spans segments; a pattern that
    matches a directory owns everything below it (but a last segment with `*` owns only the
    files it names), and a trailing `/` matches directories only.
    """
    if pattern.startswith("!") or "[" in pattern or "\\" in pattern:
        raise ValueError(f"GitHub does not support {pattern!r} in CODEOWNERS")
    directory_only = pattern.endswith("/")
    body = pattern.strip("/")
    anchored = pattern.startswith("/") or "/" in body
    regex = ""
    i = 0
    while i < len(body):
        if body.startswith("**/", i):
            regex += "(?:.*/)?"
            i += 3
        elif body.startswith("/**", i) and i + 3 == len(body):
            regex += "/.*"
            i += 3
        elif body.startswith("**", i):
            regex += ".*"
            i += 2
        elif body[i] == "*":
            regex += "[^/]*"
            i += 1
        elif body[i] == "?":
            regex += "[^/]"
            i += 1
        else:
            regex += re.escape(body[i])
            i += 1
    prefix = "" if anchored else "(?:.*/)?"
    # A directory pattern matches only what lies below it; otherwise the name itself too,
    # except that GitHub's `docs/*` owns the files directly in docs/, not nested ones.
    last = body.rsplit("/", 1)[-1]
    if directory_only:
        suffix = "/.*"
    elif "*" in last and "**" not in last:
        suffix = ""
    else:
        suffix = "(?:/.*)?"
    return re.compile(f"{prefix}{regex}{suffix}")


def parse(text: str) -> list[Rule]:
    rules = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        pattern, *owners = stripped.split()
        rules.append(Rule(pattern=pattern, owners=tuple(owners), regex=compile_pattern(pattern)))
    return rules


def owners_of(rules: list[Rule], path: str) -> tuple[str, ...] | None:
    """The owners of the last rule matching the path; None when no rule matches."""
    found = None
    for rule in rules:
        if rule.regex.fullmatch(path):
            found = rule.owners
    return found


# GitHub's documented examples (docs.github.com, "About code owners"), to trust the matcher.
GITHUB_EXAMPLE = """\
*       @global-owner1 @global-owner2
*.js    @js-owner
/build/logs/ @doctocat
docs/*  docs@example.com
apps/ @octocat
/docs/ @doctocat
**/logs @octocat
/scripts/ @doctocat @octocat
/apps/ @octocat
/apps/github
"""


@pytest.mark.parametrize(
    ("path", "owners"),
    [
        ("README.md", ("@global-owner1", "@global-owner2")),
        ("src/app.js", ("@js-owner",)),
        ("app.js", ("@js-owner",)),
        ("build/logs/today.txt", ("@octocat",)),  # **/logs comes later and matches too
        ("src/build/logs/x.txt", ("@octocat",)),
        ("docs/getting-started.md", ("@doctocat",)),
        ("scripts/deploy.sh", ("@doctocat", "@octocat")),
        ("deeply/nested/logs/x", ("@octocat",)),
        ("apps/main/index.ts", ("@octocat",)),
        ("apps/github/index.ts", ()),  # matched, but the rule names nobody
        ("nested/apps/x.ts", ("@octocat",)),  # `apps/` matches at any depth
    ],
)
def test_matcher_follows_githubs_documented_examples(path: str, owners: tuple[str, ...]) -> None:
    assert owners_of(parse(GITHUB_EXAMPLE), path) == owners


def test_matcher_keeps_single_star_within_a_segment() -> None:
    rules = parse("docs/* @a\n")
    assert owners_of(rules, "docs/getting-started.md") == ("@a",)
    assert owners_of(rules, "docs/build-app/troubleshooting.md") is None
    assert owners_of(rules, "other/docs/x.md") is None  # an inner slash anchors at the root


def test_matcher_rejects_what_github_does_not_support() -> None:
    for pattern in ("!secret.txt", "*.[ch]", "\\#file"):
        with pytest.raises(ValueError, match="does not support"):
            compile_pattern(pattern)


def intended_owners(model: Model, path: str) -> tuple[str, ...]:
    """DESIGN section 2: a service's base and its team-gated overlays to its team, the overlays
    of an environment with approvers to those approvers only, everything else to platform."""
    parts = path.split("/")
    services = {service.name: service for service in model.services}
    if len(parts) > 3 and parts[0] == "apps" and parts[1] in services:
        team = model.spec.teams[services[parts[1]].team].owners
        if parts[2] == "base":
            return team
        if parts[2] == "overlays" and len(parts) > 4:
            env = model.environment(parts[3])
            return env.approvers or team
    return model.spec.platform.owners


def test_every_rendered_path_has_exactly_its_intended_owners(spec_name: str) -> None:
    model = model_of(spec_name)
    tree = tree_of(spec_name)
    rules = parse(tree[CODEOWNERS_PATH])
    # Beside the rendered files: the hand-written ones, and overlay files a later build adds.
    paths = [*tree, "services.toml", "README.md", MANIFEST]
    for service in model.services:
        for env in model.environments:
            paths.append(f"apps/{service.name}/overlays/{env.name}/patches/extra.yaml")
    wrong = {
        path: (owners_of(rules, path), intended_owners(model, path))
        for path in paths
        if owners_of(rules, path) != intended_owners(model, path)
    }
    assert wrong == {}


def test_reference_gates_are_the_ones_the_design_names() -> None:
    rules = parse(tree_of("reference")[CODEOWNERS_PATH])
    platform = ("@bank-org/platform-team",)
    assert owners_of(rules, "apps/payments-api/overlays/prod/kustomization.yaml") == platform
    assert owners_of(rules, "apps/payments-api/overlays/staging/kustomization.yaml") == (
        "@bank-org/team-leads",
    )
    assert owners_of(rules, "apps/payments-api/overlays/dev/kustomization.yaml") == (
        "@bank-org/team-payments",
    )
    assert owners_of(rules, "apps/trading-engine/base/rollout.yaml") == ("@bank-org/team-trading",)
    for path in ("services.toml", "argocd/applicationset.yaml", "policies/x.yaml", "ci/x.yaml"):
        assert owners_of(rules, path) == platform
    assert owners_of(rules, "terraform/main.tf") == platform
    assert owners_of(rules, ".github/workflows/promote.yml") == platform


def test_patterns_are_anchored_and_use_only_supported_syntax(spec_name: str) -> None:
    for rule in parse(tree_of(spec_name)[CODEOWNERS_PATH]):
        assert rule.pattern == "*" or rule.pattern.startswith("/"), rule.pattern
        assert rule.owners, f"{rule.pattern} names no owner"
        for owner in rule.owners:
            assert re.fullmatch(r"@[A-Za-z0-9-]+(/[A-Za-z0-9_.-]+)?|[^@\s]+@[^@\s]+", owner)


def test_environment_gates_come_after_every_team_rule() -> None:
    patterns = [rule.pattern for rule in parse(tree_of("reference")[CODEOWNERS_PATH])]
    last_team_rule = max(i for i, p in enumerate(patterns) if "/base/" in p or "/dev/" in p)
    assert patterns[-2:] == ["/apps/*/overlays/staging/", "/apps/*/overlays/prod/"]
    assert last_team_rule < len(patterns) - 2
