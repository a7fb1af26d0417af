"""Layering (DESIGN section 1): defaults < environment < service < service.envs.<env>."""

from __future__ import annotations

import pytest

from generator.resolve import (
    DEFAULT_LIMITS,
    DEFAULT_REQUESTS,
    Model,
    Placement,
    ResolvedHpa,
    resolve,
)
from generator.spec.load import load_text

HEAD = """
[gitops]
repo = "acme/gitops"
generator = "gitopsgen @ git+https://github.com/bank-org/gitopsgen@fd0cbc4f9db151ed07109a4340d6145c805f7f00"
[cloud]
provider = "aws"
region = "eu-west-1"
account = "222222222222"

[platform]
owners = ["@acme/platform"]

[teams.web]
owners = ["@acme/web"]
"""

ENVIRONMENTS = """
[environments.dev]
cluster = "https://dev.example.com"

[environments.prod]
cluster = "https://prod.example.com"
promote_from = "dev"
replicas = 3
tolerations = [{ key = "dedicated", operator = "Equal", value = "prod", effect = "NoSchedule" }]
resources = { requests = { cpu = "1", memory = "1Gi" }, limits = { cpu = "2", memory = "2Gi" } }
"""


def model(services: str, environments: str = ENVIRONMENTS) -> Model:
    return resolve(load_text(HEAD + environments + services, "s.toml").spec)


def placement(m: Model, service: str, env: str) -> Placement:
    resolved = next(s for s in m.services if s.name == service)
    return next(p for p in resolved.placements if p.env == env)


def test_replicas_come_from_the_most_specific_layer() -> None:
    m = model(
        """
[services.plain]
team = "web"
envs.dev.tag = "1"
envs.prod.tag = "1"

[services.own]
team = "web"
replicas = 5
envs.dev.tag = "1"
envs.prod.tag = "1"

[services.override]
team = "web"
replicas = 5
envs.dev.tag = "1"
envs.prod = { tag = "1", replicas = 7 }
"""
    )
    assert placement(m, "plain", "dev").replicas == 1  # built-in default
    assert placement(m, "plain", "prod").replicas == 3  # [environments.prod]
    assert placement(m, "own", "prod").replicas == 5  # [services.own]
    assert placement(m, "override", "dev").replicas == 5
    assert placement(m, "override", "prod").replicas == 7  # [services.override.envs.prod]


def test_tolerations_replace_layer_by_layer() -> None:
    m = model(
        """
[services.plain]
team = "web"
envs.dev.tag = "1"
envs.prod.tag = "1"

[services.own]
team = "web"
tolerations = [{ key = "gpu", operator = "Exists" }]
envs.prod.tag = "1"

[services.none]
team = "web"
envs.prod = { tag = "1", tolerations = [] }
"""
    )
    assert placement(m, "plain", "dev").tolerations == ()
    assert [t.key for t in placement(m, "plain", "prod").tolerations] == ["dedicated"]
    assert [t.key for t in placement(m, "own", "prod").tolerations] == ["gpu"]
    assert placement(m, "none", "prod").tolerations == ()


def test_resources_replace_per_side() -> None:
    m = model(
        """
[services.plain]
team = "web"
envs.dev.tag = "1"
envs.prod.tag = "1"

[services.api]
team = "web"
resources = { limits = { cpu = "4", memory = "4Gi" } }
envs.dev.tag = "1"
envs.prod = { tag = "1", resources = { requests = { cpu = "3" } } }
"""
    )
    dev = placement(m, "plain", "dev").resources
    assert (dev.requests, dev.limits) == (DEFAULT_REQUESTS, DEFAULT_LIMITS)
    prod = placement(m, "plain", "prod").resources
    assert prod.requests == {"cpu": "1", "memory": "1Gi"}
    assert prod.limits == {"cpu": "2", "memory": "2Gi"}
    # The service replaces limits only; the environment's requests stay ...
    api_dev = placement(m, "api", "dev").resources
    assert api_dev.requests == DEFAULT_REQUESTS
    assert api_dev.limits == {"cpu": "4", "memory": "4Gi"}
    # ... and a per-environment `requests` replaces the whole side: no memory request left.
    api_prod = placement(m, "api", "prod").resources
    assert api_prod.requests == {"cpu": "3"}
    assert api_prod.limits == {"cpu": "4", "memory": "4Gi"}


def test_hpa_merges_key_by_key() -> None:
    m = model(
        """
[services.api]
team = "web"
hpa = { min = 2, max = 10, cpu_utilization = 70 }
envs.dev.tag = "1"
envs.prod = { tag = "1", hpa = { min = 6 } }

[services.fixed]
team = "web"
envs.dev.tag = "1"
"""
    )
    assert placement(m, "api", "dev").hpa == ResolvedHpa(min=2, max=10, cpu_utilization=70)
    assert placement(m, "api", "prod").hpa == ResolvedHpa(min=6, max=10, cpu_utilization=70)
    assert placement(m, "fixed", "dev").hpa is None


def test_env_and_config_merge_key_by_key() -> None:
    m = model(
        """
[services.api]
team = "web"
env = { A = "service", B = "service" }
config = { C = "service", D = "service" }
envs.dev = { tag = "1", env = { B = "dev" }, config = { D = "dev", E = "dev" } }
envs.prod.tag = "1"
"""
    )
    dev = placement(m, "api", "dev")
    assert dict(dev.env_vars) == {"A": "service", "B": "dev"}
    assert dict(dev.config) == {"C": "service", "D": "dev", "E": "dev"}
    prod = placement(m, "api", "prod")
    assert dict(prod.env_vars) == {"A": "service", "B": "service"}
    assert dict(prod.config) == {"C": "service", "D": "service"}


def test_per_environment_config_beats_service_wide_env() -> None:
    m = model(
        """
[services.api]
team = "web"
env = { LOG_LEVEL = "info", QUEUE = "q" }
envs.dev = { tag = "1", config = { LOG_LEVEL = "debug" } }
envs.prod.tag = "1"
"""
    )
    dev = placement(m, "api", "dev")
    # One name, one place: a plain env var would beat the ConfigMap in the pod (env > envFrom).
    assert dict(dev.config) == {"LOG_LEVEL": "debug"}
    assert dict(dev.env_vars) == {"QUEUE": "q"}
    prod = placement(m, "api", "prod")
    assert dict(prod.env_vars) == {"LOG_LEVEL": "info", "QUEUE": "q"}
    assert prod.config == ()


def test_no_tag_means_no_placement() -> None:
    m = model(
        """
[services.api]
team = "web"
envs.dev.tag = "1"
envs.prod.replicas = 2

[services.nowhere]
team = "web"
"""
    )
    assert [p.env for p in next(s for s in m.services if s.name == "api").placements] == ["dev"]
    assert next(s for s in m.services if s.name == "nowhere").placements == ()


def test_environments_and_placements_follow_promotion_order() -> None:
    environments = """
[environments.prod]
cluster = "https://prod.example.com"
promote_from = "staging"

[environments.qa]
cluster = "https://qa.example.com"
promote_from = "dev"

[environments.staging]
cluster = "https://staging.example.com"
promote_from = "dev"

[environments.dev]
cluster = "https://dev.example.com"
"""
    m = model(
        """
[services.api]
team = "web"
envs.prod.tag = "1"
envs.dev.tag = "1"
envs.staging.tag = "1"
""",
        environments,
    )
    order = [e.name for e in m.environments]
    assert order.index("dev") < order.index("staging") < order.index("prod")
    assert order.index("dev") < order.index("qa")
    assert order == ["dev", "qa", "staging", "prod"]  # ties keep the file's order
    assert [p.env for p in m.services[0].placements] == ["dev", "staging", "prod"]


def test_services_are_sorted_and_defaults_fill_the_rest() -> None:
    m = model(
        """
[services.zeta]
team = "web"
envs.dev.tag = "1"

[services.alpha]
team = "web"
image = "custom"
namespace = "shared"
envs.dev.tag = "1"
"""
    )
    assert [s.name for s in m.services] == ["alpha", "zeta"]
    alpha, zeta = m.services
    assert (alpha.namespace, alpha.image_name) == ("shared", "custom")
    assert (zeta.namespace, zeta.image_name) == ("zeta", "zeta")
    assert zeta.image == "222222222222.dkr.ecr.eu-west-1.amazonaws.com/zeta"
    assert (zeta.port, zeta.liveness, zeta.readiness) == (8080, "/healthz", "/ready")


@pytest.mark.parametrize(
    ("region", "registry"),
    [
        ("eu-west-1", "222222222222.dkr.ecr.eu-west-1.amazonaws.com"),
        ("cn-north-1", "222222222222.dkr.ecr.cn-north-1.amazonaws.com.cn"),
    ],
)
def test_the_default_aws_registry_is_the_accounts_ecr_in_its_partition(
    region: str, registry: str
) -> None:
    text = (HEAD + ENVIRONMENTS).replace('region = "eu-west-1"', f'region = "{region}"')
    assert resolve(load_text(text, "s.toml").spec).registry == registry
