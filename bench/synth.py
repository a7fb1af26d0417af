"""A synthetic services file: N services x 3 environments, a realistic mix of features."""

from __future__ import annotations

import argparse
import hashlib
import sys

HEADER = """\
[gitops]
repo = "bench-org/gitops"
generator = "gitopsgen @ git+https://github.com/bank-org/gitopsgen@fd0cbc4f9db151ed07109a4340d6145c805f7f00"
[cloud]
provider = "aws"
region = "eu-west-1"
account = "123456789012"

[platform]
owners = ["@bench-org/platform"]
timezone = "Europe/London"

[environments.dev]
cluster = "https://dev.example.com"
auto_sync = true
create_namespace = true

[environments.staging]
cluster = "https://staging.example.com"
auto_sync = true
replicas = 2
promote_from = "dev"
approvers = ["@bench-org/leads"]

[environments.prod]
cluster = "https://prod.example.com"
replicas = 3
promote_from = "staging"
approvers = ["@bench-org/platform"]
tolerations = [{ key = "dedicated", operator = "Equal", value = "prod", effect = "NoSchedule" }]

[[environments.prod.sync_windows]]
kind = "allow"
schedule = "0 10 * * 1-5"
duration = "6h"
"""

TEAMS = 10


def service(index: int) -> str:
    """One service entry; every feature appears in a fixed share of the services."""
    name = f"svc-{index:05d}"
    lines = [
        f"[services.{name}]",
        f'team = "team-{index % TEAMS}"',
        f'namespace = "ns-{index % 50}"',
        f'repo = "bench-org/{name}"',
        "port = 0" if index % 10 == 9 else f"port = {8000 + index % 1000}",
        'env = { LOG_FORMAT = "json", SERVICE = "' + name + '" }',
        'resources = { requests = { cpu = "100m", memory = "128Mi" }, '
        'limits = { cpu = "500m", memory = "512Mi" } }',
    ]
    if index % 3 == 0:
        lines.append("hpa = { min = 2, max = 10, cpu_utilization = 70 }")
    if index % 5 == 0 and index % 10 != 9:
        lines += [
            "",
            f"[services.{name}.canary]",
            'traffic = "replicas"',
            'steps = [{ weight = 20, pause = "5m" }, { weight = 50, pause = "5m" }]',
        ]
    for env, tag in (("dev", "sha-1111111"), ("staging", "sha-1111111"), ("prod", "v1.2.3")):
        # Every image recorded by digest, as the intake writes it (a tag alone is a warning).
        digest = hashlib.sha256(f"{name}:{tag}".encode()).hexdigest()
        lines += ["", f"[services.{name}.envs.{env}]", f'tag = "{tag}"']
        lines.append(f'digest = "sha256:{digest}"')
        if index % 2 == 0:
            lines.append(
                f'config = {{ DATABASE_HOST = "{name}-db.{env}.internal", FEATURE_X = "true" }}'
            )
        if env == "prod" and index % 4 == 0 and index % 3 != 0:  # no HPA: replicas count
            lines.append("replicas = 5")
    return "\n".join(lines) + "\n"


def services_file(count: int) -> str:
    teams = "".join(f'\n[teams.team-{i}]\nowners = ["@bench-org/team-{i}"]\n' for i in range(TEAMS))
    return HEADER + teams + "".join("\n" + service(i) for i in range(count))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("count", type=int, help="number of services")
    args = parser.parse_args(argv)
    sys.stdout.write(services_file(args.count))
    return 0


if __name__ == "__main__":
    sys.exit(main())
