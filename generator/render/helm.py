"""Helm chart services: their values files under apps/<service>/, and the Application sources.

A chart service has no Kustomize base or overlay. Its Applications read the chart from its
repository and two values files from the gitops repository (Argo CD multi-source, a `ref:
values` source): `apps/<service>/base/values.yaml` for every environment, then
`apps/<service>/overlays/<env>/values-<env>.yaml`, which also carries the environment's image
(tag and digest, at the chart's keys). The files sit where a Kustomize service's base and
overlays sit, so CODEOWNERS, the ruleset's required reviewers, `check` and the lifecycle rules
treat them alike: a prod tag is changed in a prod overlay folder, approved by prod's approvers.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from generator.naming import gitops_repo_url
from generator.render import smoketest
from generator.render.templating import render as render_template
from generator.resolve import Model, Placement, ResolvedChart, ResolvedService

VALUES_REF = "values"  # the gitops source's `ref`, which `$values/...` names
REPOSITORIES_DIR = "argocd/repositories"


def repository_secret_name(url: str) -> str:
    """A Secret name for an OCI repository: readable, and unique by a hash of the URL (two
    URLs that read alike once '/' becomes '-' stay apart). A DNS-1123 subdomain."""
    readable = re.sub(r"[^a-z0-9.-]+", "-", url.lower()).strip("-.")[:200].rstrip("-.")
    digest = hashlib.sha256(url.encode()).hexdigest()[:8]
    return f"helm-{readable}-{digest}"


def base_values_path(service: str) -> str:
    return f"apps/{service}/base/values.yaml"


def env_values_path(service: str, env: str) -> str:
    return f"apps/{service}/overlays/{env}/values-{env}.yaml"


def hooks_path(service: str, env: str) -> str:
    """The folder of a chart's PostSync hook Job: a plain directory source of its own, so
    that nothing else of the overlay folder (the values file) is read as a manifest."""
    return f"apps/{service}/overlays/{env}/hooks"


# A chart names its own ServiceAccount (unknown here): the smoke test runs as the namespace's
# `default` one, which the Job does not mount a token of.
CHART_SMOKE_TEST_ACCOUNT = "default"


def render(model: Model) -> dict[str, str]:
    files: dict[str, str] = {}
    oci = sorted(
        {s.chart.repo_url for s in model.services if s.chart and s.chart.is_oci and s.placements}
    )
    for url in oci:
        name = repository_secret_name(url)
        files[f"{REPOSITORIES_DIR}/{name}.yaml"] = render_template(
            "helm/repository.yaml", name=name, url=url
        )
    for service in model.services:
        if service.chart is None:
            continue
        files[base_values_path(service.name)] = render_template(
            "helm/values.yaml",
            about=(
                f"{service.name}: Helm values of chart {service.chart.name}"
                f" in every environment"
                f" ([services.{service.name}] values)."
            ),
            values=service.values,
        )
        for placement in service.placements:
            chart = placement.chart
            assert chart is not None
            files[env_values_path(service.name, placement.env)] = render_template(
                "helm/values.yaml",
                about=(
                    f"{service.name} in {placement.env}: read after ../../base/values.yaml"
                    f" ([services.{service.name}.envs.{placement.env}] values, and its image)."
                    # The chart this environment runs, named in its own folder: a change of
                    # chart or version changes this file, so the ruleset asks this
                    # environment's approvers (the Application itself sits in argocd/).
                    f"\n# Chart: {chart.repo_url} {chart.name} {chart.version}"
                ),
                values=placement.values,
            )
            if placement.smoke_test is not None:
                files[f"{hooks_path(service.name, placement.env)}/{smoketest.FILE_NAME}"] = (
                    smoketest.smoke_test_job(
                        service=service.name,
                        team=service.team,
                        env=placement.env,
                        namespace=service.namespace,
                        service_account=CHART_SMOKE_TEST_ACCOUNT,
                        port=0,  # the chart's Services are its own: no SERVICE_URL
                        test=placement.smoke_test,
                        set_namespace=True,
                    )
                )
    return files


def sources(model: Model, service: ResolvedService, placement: Placement) -> list[dict[str, Any]]:
    """The Application's `sources`: the chart, with the values files; then the gitops
    repository, only as the `$values` reference (Argo CD docs, user-guide/multiple_sources.md,
    "Helm value files from external Git repository": a source with `ref` and no `path`
    deploys nothing of its own)."""
    chart: ResolvedChart | None = placement.chart
    assert chart is not None
    return [
        {
            "repoURL": chart.repo_url,
            "chart": chart.name,
            "targetRevision": chart.version,
            "helm": {
                # The release name, which charts build object names from: the service's, in
                # every environment (Argo CD's default would be the Application's name).
                "releaseName": service.name,
                "valueFiles": [
                    f"${VALUES_REF}/{base_values_path(service.name)}",
                    f"${VALUES_REF}/{env_values_path(service.name, placement.env)}",
                ],
            },
        },
        {
            "repoURL": gitops_repo_url(model.spec.gitops.repo),
            "targetRevision": model.spec.gitops.branch,
            "ref": VALUES_REF,
        },
        *(
            [
                {
                    # the smoke test's PostSync hook Job, a plain directory of its own
                    "repoURL": gitops_repo_url(model.spec.gitops.repo),
                    "targetRevision": model.spec.gitops.branch,
                    "path": hooks_path(service.name, placement.env),
                }
            ]
            if placement.smoke_test is not None
            else []
        ),
    ]
