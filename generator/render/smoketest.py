"""The smoke test of a service in one environment: an Argo CD PostSync hook Job.

`smoke_test_job` is a pure function of plain values, so that any kind of service can carry
the same Job: a Kustomize overlay lists the file in its resources (render/kustomize.py), and
a service rendered otherwise can put the same text in a plain directory its Application reads
(give `namespace` there, or let the Application's destination namespace apply).

Argo CD hooks: `argocd.argoproj.io/hook: PostSync` runs the Job after the sync once every
resource is Healthy; a failed hook fails the sync operation (docs:
https://argo-cd.readthedocs.io/en/stable/user-guide/resource_hooks/). The pod follows the
Pod Security Standards' `restricted` profile (runAsNonRoot, no privilege escalation, every
capability dropped, seccomp RuntimeDefault) and runs on a read-only root filesystem.
"""

from __future__ import annotations

from generator.render.templating import render as render_template
from generator.smoketest import FILE_NAME, RESOURCES, ResolvedSmokeTest, job_name

# An unprivileged uid (distroless' `nonroot`): runAsNonRoot alone refuses an image whose USER
# is root or a name, so the Job names a numeric one.
SMOKE_TEST_UID = 65532
COMPONENT = "smoke-test"
SMOKE_TEST_RESOURCES = RESOURCES


def smoke_test_labels(*, service: str, team: str, env: str) -> dict[str, str]:
    """The Job's and its pod's labels: the guard's `managed-by`, the service's team and
    environment, and a name of its own (never the service's: its selectors would match)."""
    return {
        "app.kubernetes.io/name": job_name(service),
        "app.kubernetes.io/component": COMPONENT,
        "app.kubernetes.io/part-of": team,
        "app.kubernetes.io/managed-by": "argocd",
        "app.kubernetes.io/environment": env,
    }


def service_url(service: str, namespace: str, port: int) -> str | None:
    """The service's in-cluster URL (its Service listens on port 80), or None without one."""
    return f"http://{service}.{namespace}.svc" if port else None


def smoke_test_job(
    *,
    service: str,
    team: str,
    env: str,
    namespace: str,
    service_account: str,
    port: int,
    test: ResolvedSmokeTest,
    set_namespace: bool = False,
) -> str:
    """The Job's YAML. `set_namespace`: write `metadata.namespace` (a Kustomize overlay sets
    it itself)."""
    url = service_url(service, namespace, port)
    return render_template(
        "smoketest/job.yaml",
        name=job_name(service),
        namespace=namespace if set_namespace else None,
        labels=smoke_test_labels(service=service, team=team, env=env),
        service_account=service_account,
        uid=SMOKE_TEST_UID,
        test=test,
        env=[{"name": "SERVICE_URL", "value": url}] if url else [],
        resources=SMOKE_TEST_RESOURCES,
    )


__all__ = ["FILE_NAME", "smoke_test_job", "smoke_test_labels"]
