"""`gitopsgen intake`: decide whether an image may be recorded for a service, from its provenance.

The intake workflow runs this on the gitops branch with the values an app repository's CI
dispatched, none of them trusted. It asks `gh attestation verify` to check the image's
Sigstore-signed SLSA provenance against exactly the identity gitopsgen expects, then checks
the verified certificate again itself (so the rule is tested here, not only in gh's flags):

- signed by the gitops repository's reusable workflow at the gitops branch (`buildSignerURI`),
- built from the service's own repository (`sourceRepositoryURI`) at its CI branch,
- on a GitHub-hosted runner, with the digest as the statement's subject,
- from the commit the tag names (CI tags an image with its commit),
- by a workflow run no older than the one that built the image recorded now. Run ids grow
  with time and a re-run keeps its run's id (`runInvocationURI` .../runs/<id>/attempts/<n>),
  so re-running an old build never makes it "newer" (its signing time would).

Certificate fields: https://github.com/sigstore/fulcio/blob/main/docs/oid-info.md;
the JSON is sigstore-go's VerificationResult, as `gh attestation verify --format json` prints it.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from attrs import frozen

from generator import naming
from generator.commands import stepoutput
from generator.resolve import Model, ResolvedService, resolve
from generator.spec import checks
from generator.spec.errors import InputError, did_you_mean
from generator.spec.load import load_file

DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
GITHUB_OIDC_ISSUER = "https://token.actions.githubusercontent.com"
SLSA_PROVENANCE = "https://slsa.dev/provenance/v1"


class Refused(InputError):
    """The request is not recorded: each line says why."""


@frozen(kw_only=True)
class Expected:
    """The identity an image of the service must have been built and signed with."""

    image: str
    source_repository: str  # https://github.com/<owner>/<name>
    source_ref: str
    signer: str  # https://github.com/<gitops>/.github/workflows/service-ci.yml@refs/heads/<b>


@frozen(kw_only=True)
class Build:
    """One verified attestation: the workflow run that built the image (builds' order)."""

    run_id: int


@frozen(kw_only=True)
class Verdict:
    """An accepted request: what to print, and the digest recorded when it was checked."""

    message: str
    recorded: str | None


def run(config: Path, service: str, *, tag: str, digest: str) -> Verdict:
    """Verify the request, or raise Refused."""
    model = resolve(load_file(config).spec)
    message = decide(model, service, tag=tag, digest=digest)  # refuses an unknown service
    recorded = target_digest(model, service, model.environments[0].name)
    return Verdict(message=message, recorded=recorded)


def write_output(path: Path, verdict: Verdict) -> None:
    """`recorded=<digest>` for the next job's `--expect-digest`."""
    stepoutput.append(path, {"recorded": verdict.recorded or ""})


def decide(model: Model, service: str, *, tag: str, digest: str) -> str:
    """The message for an accepted request, or Refused."""
    target = checked_request(model, service, tag=tag, digest=digest)
    expected = expected_identity(model, target)
    env = model.environments[0].name
    current = target_digest(model, service, env)
    if current == digest:
        return f"{service}: {digest} is already recorded in {env}: nothing to do"
    candidate = verify(expected, digest, commit=tag)
    if current is None:
        return f"{service}: {digest} verified; {env} records no digest yet"
    try:
        recorded = verify(expected, current)
    except Refused as exc:
        raise Refused(
            [
                f"{service}: the {current} recorded in {env} cannot be verified"
                f" ({exc.problems[0]}), so the build order cannot be checked: record {digest}"
                " by a reviewed pull request (gitopsgen set-image --digest)"
            ]
        ) from None
    if candidate.run_id < recorded.run_id:
        raise Refused(
            [
                f"{service}: {digest} was built by workflow run {candidate.run_id}, older than"
                f" run {recorded.run_id} that built the {current} recorded in {env}: an older"
                " build never replaces a newer one"
            ]
        )
    return f"{service}: {digest} verified, built after the recorded {current}"


def verify_promotion(config: Path, service: str, target: str) -> Verdict:
    """`gitopsgen verify-image SERVICE --promote-to ENV`: the image a promotion would copy
    must pass the same checks as at intake, so no digest edited into an environment by hand
    travels on to the next one."""
    model = resolve(load_file(config).spec)
    environments = [env.name for env in model.environments]
    if target not in environments:
        raise Refused([f"unknown environment {target!r}{did_you_mean(target, environments)}"])
    source = model.environment(target).promote_from
    if source is None:
        raise Refused([f"environment {target!r} has no promote_from: nothing is promoted to it"])
    entry = (
        model.spec.services[service].envs.get(source) if service in model.spec.services else None
    )
    tag, digest = (entry.tag, entry.digest) if entry is not None else (None, None)
    if service in model.spec.services and (tag is None or digest is None):
        raise Refused(
            [
                f"{service} in {source} records no {'tag' if tag is None else 'digest'}: only an"
                " image recorded with its digest (by the intake) can be promoted"
            ]
        )
    found = checked_request(model, service, tag=tag or "", digest=digest or "")
    verify(expected_identity(model, found), digest or "", commit=tag)
    message = f"{service}: {digest} in {source} verified: built from {tag} by {found.repo}"
    return Verdict(message=message, recorded=digest)


def checked_request(model: Model, service: str, *, tag: str, digest: str) -> ResolvedService:
    problems = []
    found = next((s for s in model.services if s.name == service), None)
    if found is None:
        problems.append(
            f"unknown service {service!r}{did_you_mean(service, [s.name for s in model.services])}"
        )
    elif found.repo is None:
        problems.append(f"service {service!r} has no repo in services.toml: no CI builds it")
    if not DIGEST.fullmatch(digest):
        problems.append(f"{digest!r} is not an image digest: write sha256:<64 lowercase hex>")
    if (problem := checks.tag_problem(tag)) is not None:
        problems.append(f"tag: {problem}")
    if problems:
        raise Refused(problems)
    assert found is not None
    return found


def expected_identity(model: Model, service: ResolvedService) -> Expected:
    gitops = model.spec.gitops
    signer = naming.workflow_ref(gitops.repo, naming.SERVICE_CI_WORKFLOW, gitops.branch)
    return Expected(
        image=service.image,
        source_repository=f"https://github.com/{service.repo}",
        source_ref=f"refs/heads/{naming.APP_CI_BRANCH}",
        signer=f"https://github.com/{signer}",
    )


def target_digest(model: Model, service: str, env: str) -> str | None:
    placement = model.spec.services[service].envs.get(env)
    return placement.digest if placement is not None else None


def gh_command(expected: Expected, digest: str) -> list[str]:
    """`gh attestation verify` with every identity rule gitopsgen expects, as gh's flags."""
    return [
        "attestation",
        "verify",
        f"oci://{expected.image}@{digest}",
        "--bundle-from-oci",  # from the registry beside the image: no cross-repository token
        "--repo",
        expected.source_repository.removeprefix("https://github.com/"),
        "--cert-identity",
        expected.signer,
        "--cert-oidc-issuer",
        GITHUB_OIDC_ISSUER,
        "--source-ref",
        expected.source_ref,
        "--predicate-type",
        SLSA_PROVENANCE,
        "--deny-self-hosted-runners",
        "--format",
        "json",
    ]


def verify(expected: Expected, digest: str, *, commit: str | None = None) -> Build:
    """Run gh, then check what it verified; the Build, or Refused with the reason.

    With `commit`, the image must have been built from that commit of the source repository.
    """
    gh = shutil.which("gh")
    if gh is None:
        raise InputError(
            ["gh (GitHub CLI) is not on PATH: GitHub's runners have it; elsewhere install it"]
        )
    result = subprocess.run(
        [gh, *gh_command(expected, digest)], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        reason = result.stderr.strip().splitlines()[-1:] or ["no output"]
        raise Refused([f"{digest}: gh attestation verify refused it: {reason[0]}"])
    try:
        results = json.loads(result.stdout)
    except json.JSONDecodeError:
        raise Refused([f"{digest}: gh attestation verify printed no JSON"]) from None
    return checked_build(expected, digest, results, commit=commit)


def checked_build(
    expected: Expected, digest: str, results: Any, *, commit: str | None = None
) -> Build:
    """The first result that matches every rule, as a Build; or Refused with every mismatch."""
    if not isinstance(results, list) or not results:
        raise Refused([f"{digest}: no verified attestation"])
    problems: list[str] = []
    for result in results:
        found = mismatches(expected, digest, result, commit=commit)
        run_id = run_id_of(result)
        if run_id is None:
            found.append(f"{digest}: the attestation names no workflow run")
        if not found and run_id is not None:
            return Build(run_id=run_id)
        problems.extend(found)
    raise Refused(sorted(set(problems)))


def run_id_of(result: Any) -> int | None:
    """The run id in the certificate's runInvocationURI: .../actions/runs/<id>/attempts/<n>."""
    uri = _field(result, "verificationResult", "signature", "certificate", "runInvocationURI")
    found = re.search(r"/actions/runs/([0-9]+)(?:/attempts/[0-9]+)?$", uri or "")
    return int(found[1]) if found else None


def mismatches(
    expected: Expected, digest: str, result: Any, *, commit: str | None = None
) -> list[str]:
    """What in one verified attestation differs from what gitopsgen expects."""
    verified = _field(result, "verificationResult")
    cert = _field(verified, "signature", "certificate")
    statement = _field(verified, "statement")
    subjects = _field(statement, "subject") or []
    digests = {"sha256:" + str(_field(s, "digest", "sha256")) for s in subjects}
    checks: Sequence[tuple[str, object, object]] = (
        (
            "built from",
            _casefold(_field(cert, "sourceRepositoryURI")),
            _casefold(expected.source_repository),
        ),
        ("at the ref", _field(cert, "sourceRepositoryRef"), expected.source_ref),
        ("signed by", _field(cert, "buildSignerURI"), expected.signer),
        ("with the OIDC issuer", _field(cert, "issuer"), GITHUB_OIDC_ISSUER),
        ("on a runner", _field(cert, "runnerEnvironment"), "github-hosted"),
        ("with the predicate", _field(statement, "predicateType"), SLSA_PROVENANCE),
    )
    if commit is not None:
        checks = (
            *checks,
            ("built from the commit", _field(cert, "sourceRepositoryDigest"), commit),
        )
    found = [
        f"{digest}: the attestation says it was {what} {got!r}, not {want!r}"
        for what, got, want in checks
        if got != want
    ]
    if digest not in digests:
        found.append(f"{digest}: the attestation is about {sorted(digests)}, not this digest")
    return found


def _field(value: Any, *path: str) -> Any:
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def _casefold(value: object) -> object:
    """GitHub owner and repository names are case-insensitive."""
    return value.casefold() if isinstance(value, str) else value
