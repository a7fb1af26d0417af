"""The Kyverno guard: its shape, its namespaces, and every workload the tree deploys passes it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs
import pytest
from ruamel.yaml import YAML

from generator import validate
from generator.render import policies
from generator.render.policies import POLICY_PATH
from tests.conftest import model_of, tree_of

WORKLOAD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "Rollout"}


def policy(spec_name: str) -> dict[str, Any]:
    doc: dict[str, Any] = YAML(typ="safe", pure=True).load(tree_of(spec_name)[POLICY_PATH])
    return doc


def deployed_namespaces(spec_name: str) -> list[str]:
    return sorted({s.namespace for s in model_of(spec_name).services if s.placements})


def test_policy_is_valid(spec_name: str) -> None:
    assert validate.validate_custom(policy(spec_name)) == []


def test_policy_enforces_the_label_in_exactly_the_managed_namespaces(spec_name: str) -> None:
    doc = policy(spec_name)
    assert doc["apiVersion"] == "kyverno.io/v1"
    assert doc["kind"] == "ClusterPolicy"
    # `subjects` in exclude is refused by Kyverno for background policies
    assert doc["spec"]["background"] is False
    assert "validationFailureAction" not in doc["spec"]  # deprecated: per-rule failureAction
    (rule,) = doc["spec"]["rules"]
    (match,) = rule["match"]["any"]
    assert match["resources"]["namespaces"] == deployed_namespaces(spec_name)
    assert match["resources"]["kinds"] == [
        "apps/v1/Deployment",
        "apps/v1/StatefulSet",
        "apps/v1/DaemonSet",
        "argoproj.io/v1alpha1/Rollout",
    ]
    assert rule["exclude"] == {
        "any": [
            {
                "subjects": [
                    {
                        "kind": "ServiceAccount",
                        "name": "argocd-application-controller",
                        "namespace": "argocd",
                    }
                ]
            }
        ]
    }
    assert rule["validate"]["failureAction"] == "Enforce"
    assert rule["validate"]["pattern"] == {
        "metadata": {"labels": {"app.kubernetes.io/managed-by": "argocd"}}
    }


def test_reference_namespaces() -> None:
    assert deployed_namespaces("reference") == ["orders", "payments", "trading"]
    (rule,) = policy("reference")["spec"]["rules"]
    assert rule["match"]["any"][0]["resources"]["namespaces"] == ["orders", "payments", "trading"]


def test_no_policy_when_nothing_is_deployed() -> None:
    model = model_of("minimal")
    idle = attrs.evolve(
        model, services=tuple(attrs.evolve(s, placements=()) for s in model.services)
    )
    # an empty `namespaces` would match every namespace in the cluster
    assert policies.render(idle) == {}


@pytest.mark.tools
def test_every_deployed_workload_passes_the_policy(spec_name: str, tmp_path: Path) -> None:
    tree = tree_of(spec_name)
    for path, text in tree.items():
        target = tmp_path / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    (rule,) = policy(spec_name)["spec"]["rules"]
    namespaces = rule["match"]["any"][0]["resources"]["namespaces"]
    label = rule["validate"]["pattern"]["metadata"]["labels"]
    model = model_of(spec_name)
    kinds_seen = set()
    for service in model.services:
        for placement in service.placements:
            docs, _ = validate.kustomize_build(
                tmp_path / f"apps/{service.name}/overlays/{placement.env}"
            )
            workloads = [d for d in docs if d["kind"] in WORKLOAD_KINDS]
            assert [d["kind"] for d in workloads] == [service.workload_kind]
            for doc in workloads:
                kinds_seen.add(doc["kind"])
                assert doc["metadata"]["namespace"] in namespaces
                assert doc["metadata"]["labels"].items() >= label.items()
    expected = {s.workload_kind for s in model.services if s.placements}
    assert kinds_seen == expected
