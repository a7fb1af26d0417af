"""Smoke tests: a service's `smoke_test` layered with an environment's, and the Job's names.

Plain values in and out, shared by resolve (the layers), the checks (what they may say) and
the renderers (render/smoketest.py: the PostSync hook Job; render/notifications.py: the
trigger that proposes a promotion once that hook passed).
"""

from __future__ import annotations

from attrs import frozen

from generator.argo import timespec
from generator.spec.model import SmokeTest

DEFAULT_DEADLINE = "5m"
DEFAULT_RETRIES = 0
MIN_DEADLINE_SECONDS = 10
MAX_DEADLINE_SECONDS = 3600  # the hook holds the sync operation open while it runs
MAX_RETRIES = 10
JOB_SUFFIX = "-smoke-test"
FILE_NAME = "smoke-test.yaml"  # in the overlay (or any directory an Application reads)
# The Job controller labels every pod with the Job's name (`batch.kubernetes.io/job-name`),
# and label values have at most 63 characters: a longer Job name creates no pod.
MAX_JOB_NAME = 63
# The Job's container: small and fixed, both sides stated (a namespace with a ResourceQuota
# admits only pods that state both; a LimitRange's min and max are checked against them).
RESOURCES = {
    "requests": {"cpu": "50m", "memory": "64Mi"},
    "limits": {"cpu": "500m", "memory": "256Mi"},
}


@frozen(kw_only=True)
class ResolvedSmokeTest:
    """One environment's smoke test, every value set."""

    image: str  # pinned by digest
    command: tuple[str, ...]
    deadline_seconds: int  # the Job's activeDeadlineSeconds
    retries: int  # the Job's backoffLimit


def job_name(service: str) -> str:
    return f"{service}{JOB_SUFFIX}"


def merged(service: SmokeTest | None, override: SmokeTest | None) -> SmokeTest | None:
    """The environment's entry over the service's, key by key; None: no test there."""
    if service is None and override is None:
        return None
    base = service or SmokeTest()
    top = override or SmokeTest()
    enabled = top.enabled if top.enabled is not None else base.enabled
    if enabled is False:
        return None
    return SmokeTest(
        image=top.image if top.image is not None else base.image,
        command=top.command if top.command is not None else base.command,
        deadline=top.deadline if top.deadline is not None else base.deadline,
        retries=top.retries if top.retries is not None else base.retries,
        enabled=True,
    )


def deadline_seconds(text: str) -> int:
    """A checked Go duration in whole seconds."""
    return int(timespec.parse_duration(text).total_seconds())


def resolve_smoke_test(
    service: SmokeTest | None, override: SmokeTest | None
) -> ResolvedSmokeTest | None:
    """The smoke test an environment runs (the checks have refused an incomplete one)."""
    test = merged(service, override)
    if test is None:
        return None
    if test.image is None or not test.command:
        raise ValueError("an incomplete smoke test passed the checks")
    return ResolvedSmokeTest(
        image=test.image,
        command=tuple(test.command),
        deadline_seconds=deadline_seconds(test.deadline or DEFAULT_DEADLINE),
        retries=DEFAULT_RETRIES if test.retries is None else test.retries,
    )
