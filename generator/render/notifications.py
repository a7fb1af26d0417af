"""Argo CD Notifications: propose the next promotion once a smoke test passed.

`argocd/notifications/argocd-notifications-cm.yaml` holds one trigger per environment
that `auto_propose`s (it has `promote_from`), over the Applications of the source
environment whose service has a smoke test there and already runs in the target (a first
deploy is a person's decision): when one has synced (`app.status.operationState.phase`
Succeeded), is Healthy, and that sync ran its smoke test, a PostSync hook Job, to success,
Notifications POSTs to GitHub's
workflow_dispatch API for `.github/workflows/promote.yml` with the service, the target and
the gitops revision that sync applied. The promote workflow then refuses the dispatch unless
that revision is on the gitops branch and gave the source the tag it records now
(`gitopsgen verify-promotion`).

Argo CD's documentation this follows (argo-cd v3.5.1, docs/operator-manual/notifications/):
- triggers.md: `when` is an expr-lang condition over the Application (`app`); `oncePer`
  sends once per value of an expression, and for one repository behind many Applications
  "the better approach will be using `oncePer: app.status?.operationState.syncResult.revision`"
  (a notification per Application revision, not per commit of the repository);
- subscriptions.md, "Default Subscriptions": `subscriptions` in this ConfigMap subscribe
  every Application, a webhook by its name in `recipients`;
- services/webhook.md: `service.webhook.<name>` with `url` and `headers` (every `$key` in a
  service's values is replaced by that key of argocd-notifications-secret: notifications-engine
  pkg/api/config.go, replaceStringSecret), a template's `webhook.<name>` gives `method`, `path`
  (appended to `url`) and `body`, Go templates with Sprig's functions (notifications-engine
  pkg/templates/service.go: `sprig.TxtFuncMap()` without `env` and `expandenv`).

Why a webhook and not the `github` service, which authenticates as a GitHub App
(notifications-engine pkg/services/github.go): that service can set commit statuses, check
runs, deployments and pull request comments, or send a `repository_dispatch`; none of these
starts promote.yml by workflow_dispatch, and `repository_dispatch` needs the App's Contents:
write (GitHub's REST API: "Create a repository dispatch event"), which could push branches.
workflow_dispatch needs Actions: write only, and the webhook service is the one that can call
it; it sends fixed headers, so the token is a fine-grained personal access token rather than
an App's installation token (which lasts one hour). See README for the token to create.

The hook's result: gitops-engine records each hook in the sync result with its `hookType`
and `hookPhase` (pkg/sync/sync_context.go, setResourceResult), which Argo CD keeps as
`app.status.operationState.syncResult.resources[]` (the Application CRD's `ResourceResult`).
"""

from __future__ import annotations

import json

from attrs import frozen

from generator import naming, smoketest
from generator.render.templating import render as render_template
from generator.resolve import Model

PATH = "argocd/notifications/argocd-notifications-cm.yaml"
WEBHOOK = "gitops-promote"  # the service's name, and the subscription's recipient
SECRET_KEY = "gitops-promote-token"  # the key in argocd-notifications-secret
API_URL = "https://api.github.com"
API_VERSION = "2022-11-28"  # GitHub's REST API version header
PROMOTE_WORKFLOW_FILE = naming.PROMOTE_WORKFLOW.rsplit("/", 1)[1]
# What the synced revision is, and so what one dispatch is sent per (triggers.md, oncePer).
ONCE_PER = "app.status.operationState.syncResult.revision"
# A multi-source Application (a Helm chart) has no `syncResult.revision`: Argo CD records
# one revision per source in `revisions` (controller/sync.go). Its smoke test is the third
# source, the gitops repository's hooks folder (render/helm.py): its revision is the commit.
CHART_REVISION_INDEX = 2
CHART_ONCE_PER = f"app.status.operationState.syncResult.revisions[{CHART_REVISION_INDEX}]"


@frozen(kw_only=True)
class Proposal:
    """One environment that promotions into are proposed for, from its promote_from."""

    source: str
    target: str
    applications: tuple[str, ...]  # the source's Applications it watches, sorted
    charts: bool = False  # those are Helm charts' multi-source Applications

    @property
    def trigger(self) -> str:
        return f"propose-{self.target}-charts" if self.charts else f"propose-{self.target}"

    @property
    def once_per(self) -> str:
        return CHART_ONCE_PER if self.charts else ONCE_PER

    @property
    def description(self) -> str:
        return (
            f"An Application of {self.source} synced, Healthy, its smoke test passed: propose"
            f" promoting the service to {self.target}"
        )

    @property
    def when(self) -> str:
        return when_condition(self.source, self.applications)

    def body(self, branch: str) -> str:
        return dispatch_body(branch, self.source, self.target, charts=self.charts)


def when_condition(source: str, applications: tuple[str, ...]) -> str:
    """The trigger's expr-lang condition for the Applications of `source` (their project is
    the environment's name) whose service has a smoke test there and already runs in the
    target: a service's first deploy to an environment is started by a person."""
    hook = (
        "{.kind == 'Job' and .name endsWith "
        f"{expr_string(smoketest.JOB_SUFFIX)}"
        " and .hookType == 'PostSync' and .hookPhase == 'Succeeded'}"
    )
    names = ", ".join(expr_string(name) for name in applications)
    return (
        "app.metadata.namespace == 'argocd'"
        f" and app.spec.project == {expr_string(source)}"
        f" and app.metadata.name in [{names}]"
        " and app.status.operationState != nil"
        " and app.status.operationState.phase == 'Succeeded'"
        " and app.status.health.status == 'Healthy'"
        f" and any(app.status.operationState.syncResult.resources, {hook})"
    )


def expr_string(text: str) -> str:
    """An expr-lang string literal (names here are DNS labels: nothing to escape)."""
    if "'" in text or "\\" in text:
        raise ValueError(f"{text!r} cannot be an expr string literal as it is")
    return f"'{text}'"


def dispatch_body(branch: str, source: str, target: str, *, charts: bool = False) -> str:
    """The workflow_dispatch request: JSON, with the Application's values put in by Go
    templates that quote them as JSON (`toJson`). The service is the Application's name
    without `-<source>` (naming.application_name)."""
    fixed = json.dumps({"ref": branch}, separators=(",", ":"))[:-1]
    service = f"{{{{ trimSuffix {json.dumps('-' + source)} .app.metadata.name | toJson }}}}"
    revision = (
        "{{ index .app.status.operationState.syncResult.revisions"
        f" {CHART_REVISION_INDEX} | toJson }}}}"
        if charts
        else "{{ .app.status.operationState.syncResult.revision | toJson }}"
    )
    return (
        f'{fixed},"inputs":{{"service":{service},"environment":{json.dumps(target)},'
        f'"revision":{revision}}}}}'
    )


def proposals(model: Model) -> list[Proposal]:
    """Environments that auto_propose, with the Applications of their source to watch: a
    service with a smoke test in the source that already runs in the target."""
    found = []
    for env in model.environments:
        source = env.promote_from
        if not env.auto_propose or source is None:
            continue
        for charts in (False, True):
            applications = tuple(
                sorted(
                    naming.application_name(service.name, source)
                    for service in model.services
                    if (service.chart is not None) == charts
                    and any(p.env == source and p.smoke_test for p in service.placements)
                    and any(p.env == env.name for p in service.placements)
                )
            )
            if applications:
                found.append(
                    Proposal(
                        source=source, target=env.name, applications=applications, charts=charts
                    )
                )
    return found


def render(model: Model) -> dict[str, str]:
    found = proposals(model)
    if not found:
        return {}
    branch = model.spec.gitops.branch
    return {
        PATH: render_template(
            "argocd/notifications-cm.yaml",
            webhook=WEBHOOK,
            api_url=API_URL,
            api_version=API_VERSION,
            secret_key=SECRET_KEY,
            dispatch_path=(
                f"/repos/{model.spec.gitops.repo}/actions/workflows/"
                f"{PROMOTE_WORKFLOW_FILE}/dispatches"
            ),
            proposals=[
                {
                    "source": p.source,
                    "target": p.target,
                    "trigger": p.trigger,
                    "description": p.description,
                    "when": p.when,
                    "once_per": p.once_per,
                    "body": p.body(branch),
                }
                for p in found
            ],
            triggers=[p.trigger for p in found],
        )
    }
