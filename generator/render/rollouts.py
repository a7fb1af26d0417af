"""Argo Rollouts: the canary Rollout, its Services, router objects and AnalysisTemplate.

Called by the Kustomize renderer for services with a `[canary]` table.
"""

from __future__ import annotations

from typing import Any

from generator.resolve import ResolvedService
from generator.templating import render as render_template


def base_objects(service: ResolvedService, context: dict[str, Any]) -> dict[str, str]:
    """The workload and the objects only canaries have: base file name -> text."""
    # Until the Rollouts renderer lands, a canary service renders as a Deployment.
    return {"deployment.yaml": render_template("kustomize/deployment.yaml", **context)}


def base_support_files(service: ResolvedService) -> dict[str, str]:
    """Kustomize configuration files the base needs (listed under `configurations`)."""
    return {}


def overlay_support_files(service: ResolvedService) -> dict[str, str]:
    """Kustomize configuration files each overlay needs (listed under `configurations`)."""
    return {}
