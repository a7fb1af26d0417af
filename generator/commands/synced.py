"""verify-promotion: refuse an automatic promotion of a tag that is not the one tested.

Argo CD Notifications dispatches the promote workflow with the gitops revision an
Application of the source environment synced, when that sync succeeded, the Application was
Healthy and its smoke test passed (render/notifications.py). GitHub cannot ask Argo CD; what
the workflow can check from the repository itself is that the dispatch names a revision that
is on the gitops branch, and that services.toml at that revision and now give the service the
same tag and digest in the source environment: so the tag promoted is the one that revision
deployed, and a tag recorded since, which has not been tested there, is never proposed.
"""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path
from typing import Any

from attrs import frozen

from generator.resolve import Model
from generator.spec.errors import InputError

_COMMIT = re.compile(r"[0-9a-f]{40}")


@frozen(kw_only=True)
class Recorded:
    tag: str | None
    digest: str | None

    def describe(self) -> str:
        if self.tag is None:
            return "no tag"
        pinned = f" ({self.digest})" if self.digest else " (no digest)"
        return f"{self.tag!r}{pinned}"


def git(top: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(["git", "-C", str(top), *args], capture_output=True, check=False)
    except OSError:
        raise InputError(["verify-promotion: needs git on PATH"]) from None


def repository_of(config: Path) -> tuple[Path, str]:
    """The repository's top folder and the services file's path in it."""
    folder = config.resolve().parent
    top = git(folder, "rev-parse", "--show-toplevel")
    if top.returncode != 0:
        raise InputError([f"verify-promotion: {config} is not inside a git repository"])
    root = Path(top.stdout.decode().strip())
    return root, config.resolve().relative_to(root.resolve()).as_posix()


def recorded_in(data: dict[str, Any], service: str, env: str) -> Recorded:
    """A service's tag and digest in one environment, from the parsed TOML alone."""
    services = data.get("services")
    entry = services.get(service) if isinstance(services, dict) else None
    envs = entry.get("envs") if isinstance(entry, dict) else None
    table = envs.get(env) if isinstance(envs, dict) else None
    if not isinstance(table, dict) or table.get("retired") is True:
        return Recorded(tag=None, digest=None)
    tag, digest = table.get("tag"), table.get("digest")
    return Recorded(
        tag=tag if isinstance(tag, str) else None,
        digest=digest if isinstance(digest, str) else None,
    )


def verify(config: Path, model: Model, service: str, target: str, revision: str) -> str:
    """The line to print when the dispatch may go on; an InputError (exit 2) when not."""
    if service not in model.spec.services:
        raise InputError([f"verify-promotion: service {service!r} does not exist"])
    if target not in model.spec.environments:
        raise InputError([f"verify-promotion: environment {target!r} does not exist"])
    source = model.spec.environments[target].promote_from
    if source is None:
        raise InputError([f"verify-promotion: {target} has no promote_from: nothing to promote"])
    if not _COMMIT.fullmatch(revision):
        raise InputError(
            [
                f"verify-promotion: refused: {revision!r} is not a full commit id (40 lowercase"
                " hex digits), which is what Argo CD reports as the revision it synced"
            ]
        )
    branch = model.spec.gitops.branch
    short = revision[:12]
    top, path = repository_of(config)
    if git(top, "cat-file", "-e", f"{revision}^{{commit}}").returncode != 0:
        raise InputError(
            [
                f"verify-promotion: refused: revision {short} is not a commit of this"
                f" repository (check out {branch} with its history: fetch-depth: 0)"
            ]
        )
    if git(top, "merge-base", "--is-ancestor", revision, "HEAD").returncode != 0:
        raise InputError(
            [
                f"verify-promotion: refused: revision {short} is not on {branch}: Argo CD"
                f" deploys {branch} only, so no Application of {source} synced it"
            ]
        )
    shown = git(top, "show", f"{revision}:{path}")
    try:
        then_data = tomllib.loads(shown.stdout.decode("utf-8")) if shown.returncode == 0 else {}
    except (tomllib.TOMLDecodeError, UnicodeDecodeError):
        then_data = {}
    then = recorded_in(then_data, service, source)
    now = recorded_in(tomllib.loads(config.read_text(encoding="utf-8")), service, source)
    where = f"services.{service}.envs.{source}"
    if then.tag is None:
        raise InputError(
            [
                f"verify-promotion: refused: {where} has no tag at revision {short}: that"
                f" revision deployed nothing of {service} in {source}"
            ]
        )
    if then != now:
        raise InputError(
            [
                f"verify-promotion: refused: {where} is {now.describe()} now, but revision"
                f" {short}, the one Argo CD synced and tested in {source}, deployed"
                f" {then.describe()}: only the tested tag may be proposed for {target}; the"
                " newer one will be, once its own sync and smoke test have passed"
            ]
        )
    return (
        f"{where}: {now.describe()} is what revision {short} of {branch} deployed, and it is"
        f" still recorded: it may be proposed for {target}"
    )
