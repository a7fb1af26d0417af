"""Every rule of DESIGN section 1: a bad input, the exact message and its FILE:LINE:COL."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator.cli import main
from generator.render import render_tree
from generator.resolve import resolve
from generator.spec import checks
from generator.spec.errors import InputError
from generator.spec.load import load_text
from generator.spec.model import Service

GENERATOR = (
    'generator = "gitopsgen @ git+https://github.com/bank-org/gitopsgen@'
    'fd0cbc4f9db151ed07109a4340d6145c805f7f00"'
)
PIN_FORMS = (
    "'gitopsgen @ git+https://github.com/OWNER/gitopsgen@<full 40-hex commit>' or"
    " 'gitopsgen==X.Y.Z --hash=sha256:<64 hex>'"
)

# A small valid services file; each case edits one spot of it. Line numbers matter.
BASE = """\
[gitops]
repo = "acme/gitops"
generator = "gitopsgen @ git+https://github.com/bank-org/gitopsgen@fd0cbc4f9db151ed07109a4340d6145c805f7f00"
[cloud]
provider = "aws"
region = "eu-west-1"
account = "222222222222"

[platform]
owners = ["@acme/platform"]
timezone = "Europe/Berlin"

[environments.dev]
cluster = "https://dev.example.com"
auto_sync = true

[environments.prod]
cluster = "https://prod.example.com"
promote_from = "dev"
approvers = ["@acme/leads"]

[teams.web]
owners = ["@acme/web"]

[services.hello]
team = "web"
repo = "acme/hello"

[services.hello.envs.dev]
tag = "1.0.0"
digest = "sha256:483e04f17eae5234764124df21bfa43ebb5cb925cbd5a1b833bfe758d7fb2463"
"""

GCP = (
    'provider = "gcp"\n'
    'region = "europe-west1"\n'
    'account = "my-project"\n'
    'registry_repository = "apps"\n'
    'workload_identity_provider = "projects/123/locations/global/workloadIdentityPools/gh-pool'
    '/providers/gh-provider"\n'
    "# no service_account: terraform/ gives each service's CI its own\n"
)
# The key gitopsgen no longer uses (a warning), still checked so a typo is not silent.
GCP_SA = GCP.replace(
    "# no service_account: terraform/ gives each service's CI its own\n",
    'service_account = "ci-bot@my-project.iam.gserviceaccount.com"\n',
)

SERVICE = 'repo = "acme/hello"'  # line 27: a service-level key goes on line 28
PROD = 'approvers = ["@acme/leads"]'  # line 20: an environment-level key goes on line 21
DEV = "auto_sync = true"  # line 15: a dev key goes on line 16
TAG = 'tag = "1.0.0"'  # line 30
HEX = "483e04f17eae5234764124df21bfa43ebb5cb925cbd5a1b833bfe758d7fb2463"
DIGEST = f'digest = "sha256:{HEX}"'  # line 31


def edit(old: str, new: str, text: str = BASE) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


def problems_of(text: str) -> list[str]:
    with pytest.raises(InputError) as caught:
        load_text(text, "s.toml")
    return [str(problem) for problem in caught.value.problems]


def test_base_is_valid() -> None:
    assert load_text(BASE, "s.toml").warnings == ()
    cloud = 'provider = "aws"\nregion = "eu-west-1"\naccount = "222222222222"\n'
    assert load_text(edit(cloud, GCP), "s.toml").warnings == ()


GCP_BAD = """\
provider = "gcp"
region = "europe-west1"
account = "My_Project"
registry_repository = "Apps"
workload_identity_provider = "github-pool/github-provider"
service_account = "ci-at-my-project"
"""


def another_service(name: str, body: str = 'team = "web"') -> tuple[str, str]:
    """An edit (old, new) adding a service on line 25, before hello."""
    return "[services.hello]\nteam", f"[services.{name}]\n{body}\n[services.hello]\nteam"


def gcp_with(line: str) -> tuple[str, str]:
    """An edit turning BASE into the GCP file with one more cloud key (on line 11)."""
    return 'provider = "aws"\nregion = "eu-west-1"\naccount = "222222222222"\n', GCP + line + "\n"


# Service names at the edge of what the names derived from them allow.
ROLE_EDGE = "r" * 54  # github-ci-<54> is 64 characters: IAM's limit
ROUTED_EDGE = "s" * 56  # <56>-stable and <56>-canary are 63 characters: a DNS label's limit
ALB_EDGE = "b" * 55  # alb.ingress.kubernetes.io/actions.<55>: 63 characters after the '/'
ISTIO = 'canary = { traffic = "istio", steps = [{ weight = 10 }] }'
ALB = 'canary = { traffic = "alb", steps = [{ weight = 10 }] }'

# (id, old, new, expected lines without the "s.toml:" prefix)
CASES: list[tuple[str, str, str, list[str]]] = [
    # --- structure: keys and types ------------------------------------------------------------
    (
        "unknown-key-did-you-mean",
        SERVICE,
        SERVICE + "\nprot = 80",
        ["28:1: services.hello.prot: unknown key (did you mean 'port'?)"],
    ),
    (
        "unknown-key-lists-the-keys",
        'account = "222222222222"',
        'account = "222222222222"\nzone = "a"',
        [
            "8:1: cloud.zone: unknown key; the keys here are account, provider, region,"
            " registry, registry_repository, service_account, workload_identity_provider"
        ],
    ),
    (
        "unknown-top-level-table",
        "[teams.web]",
        "[team.web]",
        [
            "22:2: team: unknown key (did you mean 'teams'?)",
            "26:1: services.hello.team: team 'web' does not exist; none is defined",
        ],
    ),
    (
        "integer-given-a-string",
        SERVICE,
        SERVICE + '\nport = "80"',
        ["28:1: services.hello.port: expected an integer, got the string '80'"],
    ),
    (
        "boolean-given-an-integer",
        DEV,
        "auto_sync = 1",
        ["15:1: environments.dev.auto_sync: expected a boolean, got the number 1"],
    ),
    (
        "string-given-a-date",
        SERVICE,
        "repo = 2024-01-31",
        ["27:1: services.hello.repo: expected a string, got the date 2024-01-31"],
    ),
    (
        "table-where-a-value-is-expected",
        SERVICE,
        SERVICE + "\n[services.hello.port]\nnumber = 80",
        ["28:17: services.hello.port: expected an integer, got a table"],
    ),
    (
        "value-where-a-table-is-expected",
        "[services.hello.envs.dev]\n" + TAG + "\n" + DIGEST,
        'envs = "dev"',
        ["29:1: services.hello.envs: expected a table, got the string 'dev'"],
    ),
    (
        "string-where-an-array-is-expected",
        'owners = ["@acme/web"]',
        'owners = "@acme/web"',
        ["23:1: teams.web.owners: expected an array, got the string '@acme/web'"],
    ),
    (
        "array-element-of-the-wrong-type",
        'owners = ["@acme/web"]',
        'owners = ["@acme/web", 7]',
        ["23:24: teams.web.owners[1]: expected a string, got the number 7"],
    ),
    (
        "env-value-not-a-string",
        SERVICE,
        SERVICE + "\nenv = { PORT = 8080 }",
        ["28:9: services.hello.env.PORT: expected a string, got the number 8080"],
    ),
    (
        "unknown-choice",
        'provider = "aws"',
        'provider = "azure"',
        ["5:1: cloud.provider: must be one of 'aws' or 'gcp', got 'azure'"],
    ),
    (
        "unknown-choice-did-you-mean",
        SERVICE,
        SERVICE + '\ncanary = { traffic = "isito", steps = [{ weight = 10 }] }',
        [
            "28:12: services.hello.canary.traffic: must be one of 'alb', 'istio' or"
            " 'replicas', got 'isito' (did you mean 'istio'?)"
        ],
    ),
    (
        "missing-required-key",
        'team = "web"\n',
        "",
        ["25:11: services.hello.team: missing required key"],
    ),
    (
        "missing-top-level-table",
        '[gitops]\nrepo = "acme/gitops"\n' + GENERATOR + "\n",
        "",
        ["1:1: gitops: missing required table [gitops]"],
    ),
    # --- names ----------------------------------------------------------------------------
    (
        "service-name-not-a-label",
        "[services.hello]\nteam",
        '[services.Hello_World]\nteam = "web"\n[services.hello]\nteam',
        [
            "25:11: services.Hello_World: service name 'Hello_World' is not a DNS-1123 label:"
            " it contains 'H', 'W', '_'; only lowercase letters, digits and '-' are allowed"
        ],
    ),
    (
        "service-name-path-traversal",
        "[services.hello]\nteam",
        '[services."../../etc"]\nteam = "web"\n[services.hello]\nteam',
        [
            "25:11: services.\"../../etc\": service name '../../etc' is not a DNS-1123 label:"
            " it contains '.', '/'; only lowercase letters, digits and '-' are allowed"
        ],
    ),
    (
        "service-name-starting-with-a-digit",
        "[services.hello]\nteam",
        '[services.1api]\nteam = "web"\n[services.hello]\nteam',
        [
            "25:11: services.1api: service name '1api' must start with a letter: its Kubernetes"
            " Service is named after it"
        ],
    ),
    (
        "canary-host",
        SERVICE,
        SERVICE + '\ncanary = { traffic = "alb", host = "https://api.example.com",'
        " steps = [{ weight = 10 }] }",
        [
            "28:29: services.hello.canary.host: 'https://api.example.com' is not a host name"
            " (lowercase DNS labels joined by '.', optionally starting with '*.')"
        ],
    ),
    (
        "environment-name-not-a-label",
        DEV,
        DEV + "\n[environments.-qa]\ncluster = 'https://qa.example.com'",
        [
            "16:15: environments.-qa: environment name '-qa' is not a DNS-1123 label:"
            " it must start and end with a lowercase letter or digit"
        ],
    ),
    (
        "team-name-too-long",
        'owners = ["@acme/web"]',
        'owners = ["@acme/web"]\n[teams.' + "t" * 64 + "]\nowners = ['@acme/t']",
        [
            f"24:8: teams.{'t' * 64}: team name '{'t' * 64}' is not a DNS-1123 label:"
            " it has 64 characters, at most 63 are allowed"
        ],
    ),
    (
        "team-named-platform",
        'owners = ["@acme/web"]',
        'owners = ["@acme/web"]\n[teams.platform]\nowners = ["@acme/platform"]',
        [
            "24:8: teams.platform: team name 'platform' is reserved: it is the platform"
            " owners' role in every Argo CD project and in sync_roles"
        ],
    ),
    (
        "environment-named-like-the-guard-project",
        DEV,
        DEV + "\n[environments.platform-policies]\ncluster = 'https://p.example.com'",
        [
            "16:15: environments.platform-policies: environment name 'platform-policies' is"
            " reserved: it is the Argo CD project of the Kyverno guard's Applications"
        ],
    ),
    (
        "environment-named-like-argo-cd-default-project",
        DEV,
        DEV + "\n[environments.default]\ncluster = 'https://p.example.com'",
        [
            "16:15: environments.default: environment name 'default' is reserved: it is"
            " Argo CD's built-in project, which argocd/root.yaml uses"
        ],
    ),
    (
        "namespace-not-a-label",
        SERVICE,
        SERVICE + '\nnamespace = "Payments"',
        [
            "28:1: services.hello.namespace: namespace 'Payments' is not a DNS-1123 label:"
            " it contains 'P'; only lowercase letters, digits and '-' are allowed"
        ],
    ),
    # --- references ---------------------------------------------------------------------------
    (
        "team-does-not-exist",
        'team = "web"',
        'team = "wbe"',
        ["26:1: services.hello.team: team 'wbe' does not exist (did you mean 'web'?)"],
    ),
    (
        "team-does-not-exist-no-suggestion",
        'team = "web"',
        'team = "payments"',
        ["26:1: services.hello.team: team 'payments' does not exist; defined: web"],
    ),
    (
        "service-env-names-no-environment",
        "[services.hello.envs.dev]",
        "[services.hello.envs.dve]",
        ["29:22: services.hello.envs.dve: environment 'dve' does not exist (did you mean 'dev'?)"],
    ),
    (
        "promote-from-unknown",
        'promote_from = "dev"',
        'promote_from = "dve"',
        [
            "19:1: environments.prod.promote_from: environment 'dve' does not exist"
            " (did you mean 'dev'?)"
        ],
    ),
    (
        "promote-from-cycle",
        DEV,
        DEV + '\npromote_from = "prod"',
        ["16:1: environments.dev.promote_from: promote_from forms a cycle: dev -> prod -> dev"],
    ),
    (
        "promote-from-itself",
        'promote_from = "dev"',
        'promote_from = "prod"',
        ["19:1: environments.prod.promote_from: promote_from forms a cycle: prod -> prod"],
    ),
    (
        "sync-role-unknown",
        PROD,
        PROD + '\nsync_roles = ["platfrom", "web", "wbe"]',
        [
            "21:15: environments.prod.sync_roles[0]: sync role 'platfrom' is neither a team"
            " nor 'platform' (did you mean 'platform'?)",
            "21:34: environments.prod.sync_roles[2]: sync role 'wbe' is neither a team"
            " nor 'platform' (did you mean 'web'?)",
        ],
    ),
    # --- quantities, ports, replicas ------------------------------------------------------
    (
        "quantity-invalid",
        SERVICE,
        SERVICE + '\nresources = { requests = { cpu = "1.5 cores", memory = "1GB" } }',
        [
            "28:28: services.hello.resources.requests.cpu: '1.5 cores' is not a Kubernetes"
            " quantity (e.g. '250m', '1' or '1.5')",
            "28:47: services.hello.resources.requests.memory: '1GB' is not a Kubernetes"
            " quantity (e.g. '512Mi', '1Gi' or '1e9')",
        ],
    ),
    (
        "quantity-negative",
        DEV,
        DEV + '\nresources = { limits = { cpu = "-1" } }',
        ["16:26: environments.dev.resources.limits.cpu: '-1' must not be negative"],
    ),
    (
        "memory-in-millibytes",
        SERVICE,
        SERVICE + '\nresources = { limits = { memory = "512m" } }',
        [
            "28:26: services.hello.resources.limits.memory: '512m' means 0.512 bytes"
            " ('m' is milli); did you mean '512Mi'?"
        ],
    ),
    (
        "request-above-limit",
        TAG,
        TAG + '\nresources = { limits = { memory = "64Mi" } }',
        [
            "31:1: services.hello.envs.dev.resources: in 'dev' the memory request '128Mi' is"
            " above the limit '64Mi'; Kubernetes rejects such a pod"
        ],
    ),
    (
        "port-out-of-range",
        SERVICE,
        SERVICE + "\nport = 65536",
        ["28:1: services.hello.port: must be between 1 and 65535, or 0 for no port; got 65536"],
    ),
    (
        "replicas-negative",
        TAG,
        TAG + "\nreplicas = -1",
        ["31:1: services.hello.envs.dev.replicas: must be at least 0, got -1"],
    ),
    (
        "environment-replicas-negative",
        DEV,
        DEV + "\nreplicas = -2",
        ["16:1: environments.dev.replicas: must be at least 0, got -2"],
    ),
    # --- tags and images ------------------------------------------------------------------
    (
        "tag-latest",
        TAG,
        'tag = "latest"',
        [
            "30:1: services.hello.envs.dev.tag: 'latest' is not allowed: pin the tag of one"
            " build so every deploy is repeatable"
        ],
    ),
    (
        "tag-empty",
        TAG,
        'tag = ""',
        [
            "30:1: services.hello.envs.dev.tag: must not be empty (leave tag out to not deploy"
            " to this environment)"
        ],
    ),
    (
        "tag-invalid",
        TAG,
        'tag = "v1/2"',
        [
            "30:1: services.hello.envs.dev.tag: 'v1/2' is not an image tag (at most 128"
            " letters, digits, '_', '.' and '-', not starting with '.' or '-')"
        ],
    ),
    (
        "digest-wrong-algorithm",
        DIGEST,
        f'digest = "sha512:{HEX}"',
        [
            f"31:1: services.hello.envs.dev.digest: 'sha512:{HEX}' is not an image digest: the"
            " algorithm is 'sha512', not 'sha256'; write 'sha256:' and 64 lowercase hex digits"
        ],
    ),
    (
        "digest-too-short",
        DIGEST,
        f'digest = "sha256:{HEX[:-1]}"',
        [
            f"31:1: services.hello.envs.dev.digest: 'sha256:{HEX[:-1]}' is not an image digest:"
            " it has 63 hex digits after the ':', not 64; write 'sha256:' and 64 lowercase hex"
            " digits"
        ],
    ),
    (
        "digest-too-long",
        DIGEST,
        f'digest = "sha256:{HEX}0"',
        [
            f"31:1: services.hello.envs.dev.digest: 'sha256:{HEX}0' is not an image digest:"
            " it has 65 hex digits after the ':', not 64; write 'sha256:' and 64 lowercase hex"
            " digits"
        ],
    ),
    (
        "digest-uppercase",
        DIGEST,
        f'digest = "sha256:{HEX.upper()}"',
        [
            f"31:1: services.hello.envs.dev.digest: 'sha256:{HEX.upper()}' is not an image"
            " digest: it contains uppercase letters; write 'sha256:' and 64 lowercase hex digits"
        ],
    ),
    (
        "digest-not-hex",
        DIGEST,
        f'digest = "sha256:{HEX[:-2]}zg"',
        [
            f"31:1: services.hello.envs.dev.digest: 'sha256:{HEX[:-2]}zg' is not an image"
            " digest: it contains 'g', 'z' (hex digits are 0-9 and a-f); write 'sha256:' and 64"
            " lowercase hex digits"
        ],
    ),
    (
        "digest-without-prefix",
        DIGEST,
        f'digest = "{HEX}"',
        [
            f"31:1: services.hello.envs.dev.digest: '{HEX}' is not an image digest: it does not"
            " start with 'sha256:'; write 'sha256:' and 64 lowercase hex digits"
        ],
    ),
    (
        "digest-empty",
        DIGEST,
        'digest = ""',
        [
            "31:1: services.hello.envs.dev.digest: '' is not an image digest: it is empty;"
            " write 'sha256:' and 64 lowercase hex digits"
        ],
    ),
    (
        "digest-without-a-tag",
        TAG + "\n",
        "",
        [
            "30:1: services.hello.envs.dev.digest: has no tag beside it: record both with"
            " gitopsgen set-image hello dev TAG --digest sha256:..., or remove the digest to"
            " not deploy to this environment"
        ],
    ),
    (
        "digest-not-a-string",
        DIGEST,
        "digest = 1",
        ["31:1: services.hello.envs.dev.digest: expected a string, got the number 1"],
    ),
    (
        "image-name-invalid",
        SERVICE,
        SERVICE + '\nimage = "Hello"',
        [
            "28:1: services.hello.image: 'Hello' is not an image repository name (lowercase"
            " letters, digits, '.', '_', '-' and '/')"
        ],
    ),
    (
        "image-name-too-long",
        SERVICE,
        SERVICE + f'\nimage = "team/{"i" * 206}"',
        [
            "28:1: services.hello.image: makes the image repository name"
            f" '222222222222.dkr.ecr.eu-west-1.amazonaws.com/team/{'i' * 206}' 256 characters"
            " long; image references allow 255"
        ],
    ),
    # --- hpa and pdb ---------------------------------------------------------------------------
    (
        "hpa-bounds",
        SERVICE,
        SERVICE + "\nhpa = { min = 0, max = 5, cpu_utilization = 101 }",
        [
            "28:9: services.hello.hpa.min: must be at least 1, got 0",
            "28:27: services.hello.hpa.cpu_utilization: must be between 1 and 100, got 101",
        ],
    ),
    (
        "hpa-max-below-min",
        SERVICE,
        SERVICE + "\nhpa = { min = 5, max = 2 }",
        ["28:18: services.hello.hpa.max: max (2) must be at least min (5)"],
    ),
    (
        "hpa-env-max-below-service-min",
        SERVICE + "\n\n[services.hello.envs.dev]\n" + TAG,
        SERVICE
        + "\nhpa = { min = 2 }\n\n[services.hello.envs.dev]\n"
        + TAG
        + "\nhpa = { max = 1 }",
        ["32:9: services.hello.envs.dev.hpa.max: max (1) must be at least min (2)"],
    ),
    (
        "hpa-in-environment-without-service-hpa",
        TAG,
        TAG + "\nhpa = { min = 5 }",
        [
            "31:1: services.hello.envs.dev.hpa: there is no HPA to adjust: declare hpa in"
            " [services.hello] first"
        ],
    ),
    (
        "pdb-both",
        SERVICE,
        SERVICE + '\npdb = { min_available = "50%", max_unavailable = 1 }',
        ["28:1: services.hello.pdb: set exactly one of min_available and max_unavailable"],
    ),
    (
        "pdb-neither",
        SERVICE,
        SERVICE + "\npdb = {}",
        ["28:1: services.hello.pdb: set exactly one of min_available and max_unavailable"],
    ),
    (
        "pdb-not-a-percentage",
        SERVICE,
        SERVICE + '\npdb = { min_available = "50" }',
        [
            "28:9: services.hello.pdb.min_available: must be an integer of at least 0 or a"
            " percentage such as '50%', got '50'"
        ],
    ),
    (
        "pdb-over-100-percent",
        SERVICE,
        SERVICE + '\npdb = { max_unavailable = "150%" }',
        [
            "28:9: services.hello.pdb.max_unavailable: must be an integer of at least 0 or a"
            " percentage such as '50%', got '150%'"
        ],
    ),
    (
        "pdb-negative",
        SERVICE,
        SERVICE + "\npdb = { max_unavailable = -1 }",
        ["28:9: services.hello.pdb.max_unavailable: must be at least 0, got -1"],
    ),
    (
        "pdb-wrong-type",
        SERVICE,
        SERVICE + "\npdb = { max_unavailable = 0.5 }",
        [
            "28:9: services.hello.pdb.max_unavailable: expected an integer or a string,"
            " got the number 0.5"
        ],
    ),
    # --- tolerations ----------------------------------------------------------------------
    (
        "toleration-exists-with-value",
        DEV,
        DEV + '\ntolerations = [{ key = "gpu", operator = "Exists", value = "yes" }]',
        ["16:52: environments.dev.tolerations[0].value: must not be set when operator is 'Exists'"],
    ),
    (
        "toleration-without-key-must-exist",
        DEV,
        DEV + '\ntolerations = [{ operator = "Equal", value = "x" }]',
        [
            "16:18: environments.dev.tolerations[0].operator: must be 'Exists' when the"
            " toleration has no key"
        ],
    ),
    (
        "toleration-seconds-without-noexecute",
        SERVICE,
        SERVICE + '\ntolerations = [{ key = "k", effect = "NoSchedule", toleration_seconds = 30 }]',
        [
            "28:52: services.hello.tolerations[0].toleration_seconds: is only allowed with"
            " effect = 'NoExecute'"
        ],
    ),
    (
        "toleration-effect-unknown",
        DEV,
        DEV + '\ntolerations = [{ key = "k", effect = "NoExecut" }]',
        [
            "16:29: environments.dev.tolerations[0].effect: must be one of 'NoSchedule',"
            " 'PreferNoSchedule' or 'NoExecute', got 'NoExecut' (did you mean 'NoExecute'?)"
        ],
    ),
    # --- names derived from a service name, and clashes between services ----------------
    (
        "iam-role-name-too-long",
        *another_service("r" * 55, 'team = "web"\nrepo = "acme/r"'),
        [
            f"25:11: services.{'r' * 55}: service name '{'r' * 55}' makes the IAM role"
            f" 'github-ci-{'r' * 55}' 65 characters long; IAM allows 64"
        ],
    ),
    (
        "routed-canary-service-names-too-long",
        *another_service("s" * 57, f'team = "web"\n{ISTIO}'),
        [
            f"25:11: services.{'s' * 57}: service name '{'s' * 57}' makes the Services"
            f" '{'s' * 57}-stable' and '{'s' * 57}-canary' 64 characters long; Kubernetes"
            " allows 63"
        ],
    ),
    (
        "alb-action-annotation-too-long",
        *another_service("b" * 56, f'team = "web"\n{ALB}'),
        [
            f"25:11: services.{'b' * 56}: service name '{'b' * 56}' makes the Ingress"
            f" annotation 'alb.ingress.kubernetes.io/actions.{'b' * 56}' that Argo Rollouts"
            " writes 64 characters long after the '/'; Kubernetes allows 63"
        ],
    ),
    (
        "service-collides-with-a-stable-service",
        SERVICE + "\n\n[services.hello.envs.dev]\n" + TAG + "\n" + DIGEST,
        SERVICE
        + f'\nnamespace = "shop"\n{ISTIO}\n\n[services.hello.envs.dev]\n'
        + TAG
        + "\n"
        + DIGEST
        + '\n[services.hello-stable]\nteam = "web"\nnamespace = "shop"',
        [
            "34:11: services.hello-stable: its Service and the stable Service of service"
            " 'hello' are both the Service 'hello-stable' in namespace 'shop': rename a"
            " service or move one to another namespace"
        ],
    ),
    (
        "canary-service-collides-with-a-service",
        *another_service(
            "api-canary",
            f'team = "web"\nnamespace = "shop"\n[services.api]\nteam = "web"\nnamespace = "shop"'
            f"\n{ALB}",
        ),
        [
            "28:11: services.api: its canary Service and the Service of service 'api-canary'"
            " are both the Service 'api-canary' in namespace 'shop': rename a service or"
            " move one to another namespace"
        ],
    ),
    (
        "application-names-collide",
        DIGEST,
        DIGEST + '\n[environments.eu-prod]\ncluster = "https://eu.example.com"'
        '\n[services.hello-eu]\nteam = "web"',
        [
            "34:11: services.hello-eu: its Argo CD Application for environment 'prod' and"
            " that of service 'hello' for environment 'eu-prod' are both named"
            " 'hello-eu-prod'; an ApplicationSet refuses duplicate names: rename a service"
            " or an environment"
        ],
    ),
    (
        "application-takes-the-guard-application-name",
        *another_service("policies"),
        [
            "25:11: services.policies: its Argo CD Application for environment 'dev' would be"
            " named 'policies-dev', the name reserved for the Kyverno guard's Application of"
            " environment 'dev': rename the service"
        ],
    ),
    (
        "application-takes-the-guard-application-name-of-another-environment",
        DIGEST,
        DIGEST + '\n[environments.eu-prod]\ncluster = "https://eu.example.com"'
        '\n[services.policies-eu]\nteam = "web"',
        [
            "34:11: services.policies-eu: its Argo CD Application for environment 'prod' would"
            " be named 'policies-eu-prod', the name reserved for the Kyverno guard's Application"
            " of environment 'eu-prod': rename the service"
        ],
    ),
    # --- variables ------------------------------------------------------------------------
    (
        "env-variable-name",
        SERVICE,
        SERVICE + '\nenv = { "1ST" = "x", OK = "y" }',
        [
            "28:9: services.hello.env.1ST: '1ST' is not a valid variable name (letters,"
            " digits and '_', not starting with a digit)"
        ],
    ),
    (
        "config-variable-name",
        TAG,
        TAG + '\nconfig = { "db-host" = "x" }',
        [
            "31:12: services.hello.envs.dev.config.db-host: 'db-host' is not a valid"
            " variable name (letters, digits and '_', not starting with a digit)"
        ],
    ),
    (
        "env-variable-name-with-equals",
        SERVICE,
        SERVICE + '\nenv = { "A=B" = "x" }',
        [
            "28:9: services.hello.env.\"A=B\": 'A=B' is not a valid variable name (letters,"
            " digits and '_', not starting with a digit)"
        ],
    ),
    (
        "env-variable-name-per-environment",
        TAG,
        TAG + '\nenv = { "my.var" = "x" }',
        [
            "31:9: services.hello.envs.dev.env.\"my.var\": 'my.var' is not a valid variable"
            " name (letters, digits and '_', not starting with a digit)"
        ],
    ),
    (
        "config-key-with-equals",
        SERVICE,
        SERVICE + '\nconfig = { "LOG=LEVEL" = "debug" }',
        [
            "28:12: services.hello.config.\"LOG=LEVEL\": 'LOG=LEVEL' is not a valid variable"
            " name (letters, digits and '_', not starting with a digit)"
        ],
    ),
    (
        "config-key-too-long-for-a-configmap",
        TAG,
        TAG + f'\nconfig = {{ {"K" * 254} = "x" }}',
        [
            f"31:12: services.hello.envs.dev.config.{'K' * 254}: '{'K' * 254}' is too long"
            " for a ConfigMap key: it has 254 characters, at most 253 are allowed"
        ],
    ),
    # --- GitHub ---------------------------------------------------------------------------------
    (
        "owner-format",
        'owners = ["@acme/web"]',
        'owners = ["acme/web"]',
        [
            "23:11: teams.web.owners[0]: 'acme/web' is not a GitHub owner: write '@org/team'"
            " or '@user'"
        ],
    ),
    (
        "approver-format",
        PROD,
        'approvers = ["@acme/leads", "@-x"]',
        [
            "20:29: environments.prod.approvers[1]: '@-x' is not a GitHub owner: write"
            " '@org/team' or '@user'"
        ],
    ),
    (
        "owners-empty",
        'owners = ["@acme/platform"]',
        "owners = []",
        ["10:1: platform.owners: needs at least one owner"],
    ),
    (
        "approver-is-a-user",
        PROD,
        'approvers = ["@acme/leads", "@alice"]',
        [
            "20:29: environments.prod.approvers[1]: '@alice' is a user, but the ruleset of the"
            " gitops branch requires the approval of the prod overlays from teams only: write"
            " a team '@acme/<team>'"
        ],
    ),
    (
        "approver-team-of-another-org",
        PROD,
        'approvers = ["@other/leads"]',
        [
            "20:14: environments.prod.approvers[0]: team '@other/leads' is not a team of"
            " 'acme', the gitops repository's owner: only its teams can be required"
            " reviewers there"
        ],
    ),
    (
        "platform-owner-is-a-user",
        'owners = ["@acme/platform"]',
        'owners = ["@acme/platform", "@bob"]',
        [
            "10:29: platform.owners[1]: '@bob' is a user, but the ruleset of the gitops branch"
            " requires the approval of the platform's paths from teams only: write a team"
            " '@acme/<team>'"
        ],
    ),
    (
        "required-approvals-above-the-ruleset-limit",
        PROD,
        PROD + "\nrequired_approvals = 11",
        [
            "21:1: environments.prod.required_approvals: must be at most 10, the most a"
            " ruleset's required reviewers can demand; got 11"
        ],
    ),
    (
        "app-repo-of-another-owner",
        'repo = "acme/hello"',
        'repo = "other/hello"',
        [
            "27:1: services.hello.repo: 'other/hello' is not a repository of 'acme', the"
            " gitops repository's owner: terraform/github.tf sets each app repository's OIDC"
            " subject through the one GitHub provider of that owner"
        ],
    ),
    (
        "app-repo-is-the-gitops-repo",
        'repo = "acme/hello"',
        'repo = "acme/gitops"',
        [
            "27:1: services.hello.repo: 'acme/gitops' is the gitops repository, whose OIDC"
            " subject is the intake's: build the service in a repository of its own"
        ],
    ),
    (
        "repo-format",
        SERVICE,
        'repo = "hello"',
        ["27:1: services.hello.repo: 'hello' is not a GitHub repository: write 'owner/name'"],
    ),
    (
        "gitops-repo-format",
        'repo = "acme/gitops"',
        'repo = "https://github.com/acme/gitops"',
        [
            "2:1: gitops.repo: 'https://github.com/acme/gitops' is not a GitHub repository:"
            " write 'owner/name'"
        ],
    ),
    (
        "gitops-generator-empty",
        GENERATOR,
        'generator = ""',
        [f"3:1: gitops.generator: '' is not pinned: write {PIN_FORMS}"],
    ),
    (
        "gitops-generator-missing",
        GENERATOR + "\n",
        "",
        [
            "1:2: gitops: 'generator' is required: pin the gitopsgen the workflows install,"
            f" {PIN_FORMS}"
        ],
    ),
    (
        "gitops-generator-version-without-hash",
        GENERATOR,
        'generator = "gitopsgen==1.2.3"',
        [f"3:1: gitops.generator: 'gitopsgen==1.2.3' is not pinned: write {PIN_FORMS}"],
    ),
    (
        "gitops-generator-range",
        GENERATOR,
        'generator = "gitopsgen>=1.2 --hash=sha256:' + "a" * 64 + '"',
        [
            "3:1: gitops.generator: 'gitopsgen>=1.2 --hash=sha256:" + "a" * 64 + "' is not"
            f" pinned: write {PIN_FORMS}"
        ],
    ),
    (
        "gitops-generator-short-commit",
        GENERATOR,
        'generator = "gitopsgen @ git+https://github.com/acme/gitopsgen@fd0cbc4"',
        [
            "3:1: gitops.generator: 'gitopsgen @ git+https://github.com/acme/gitopsgen@fd0cbc4'"
            f" is not pinned: write {PIN_FORMS}"
        ],
    ),
    (
        "gitops-generator-branch",
        GENERATOR,
        'generator = "gitopsgen @ git+https://github.com/acme/gitopsgen@main"',
        [
            "3:1: gitops.generator: 'gitopsgen @ git+https://github.com/acme/gitopsgen@main'"
            f" is not pinned: write {PIN_FORMS}"
        ],
    ),
    (
        "gitops-generator-pip-option",
        GENERATOR,
        'generator = "--index-url=https://evil.example/simple gitopsgen"',
        [
            "3:1: gitops.generator: '--index-url=https://evil.example/simple gitopsgen' is not"
            f" pinned: write {PIN_FORMS}"
        ],
    ),
    (
        "gitops-generator-with-extra",
        GENERATOR,
        'generator = "gitopsgen[validate]==1.2.3 --hash=sha256:' + "a" * 64 + '"',
        [
            "3:1: gitops.generator: 'gitopsgen[validate]==1.2.3 --hash=sha256:"
            + "a" * 64
            + "' names an extra: leave it out (the workflows add [validate] where they run the"
            f" validators); pin it as {PIN_FORMS}"
        ],
    ),
    (
        "required-approvals",
        PROD,
        PROD + "\nrequired_approvals = 0",
        ["21:1: environments.prod.required_approvals: must be at least 1, got 0"],
    ),
    # --- cloud ----------------------------------------------------------------------------
    (
        "aws-account",
        'account = "222222222222"',
        'account = "2222-2222-2222"',
        ["7:1: cloud.account: must be a 12-digit AWS account id, got '2222-2222-2222'"],
    ),
    (
        "aws-region",
        'region = "eu-west-1"',
        'region = "Europe"',
        ["6:1: cloud.region: 'Europe' is not an AWS region such as 'eu-west-1'"],
    ),
    (
        "aws-with-gcp-key",
        'account = "222222222222"',
        'account = "222222222222"\nregistry_repository = "apps"',
        ["8:1: cloud.registry_repository: is only used with provider = 'gcp'"],
    ),
    (
        "registry-with-scheme",
        'account = "222222222222"',
        'account = "222222222222"\nregistry = "https://registry.example.com"',
        [
            "8:1: cloud.registry: 'https://registry.example.com' is not a registry: write a"
            " host name with an optional path, without a scheme (e.g."
            " 'registry.example.com/team')"
        ],
    ),
    (
        "gcp-needs-its-keys",
        'provider = "aws"\nregion = "eu-west-1"\naccount = "222222222222"',
        'provider = "gcp"\nregion = "europe-west1"\naccount = "my-project"',
        [
            "4:2: cloud.registry_repository: missing required key: provider = 'gcp' needs it",
            "4:2: cloud.workload_identity_provider: missing required key: provider = 'gcp'"
            " needs it",
        ],
    ),
    (
        "gcp-formats",
        'provider = "aws"\nregion = "eu-west-1"\naccount = "222222222222"\n',
        GCP_BAD,
        [
            "7:1: cloud.account: 'My_Project' is not a GCP project id (6 to 30 lowercase"
            " letters, digits and '-', starting with a letter)",
            "8:1: cloud.registry_repository: 'Apps' is not an Artifact Registry repository"
            " id (lowercase letters, digits and '-', starting with a letter)",
            "9:1: cloud.workload_identity_provider: 'github-pool/github-provider' is not a"
            " workload identity provider's full resource name: write 'projects/<project"
            " number>/locations/global/workloadIdentityPools/<pool>/providers/<provider>'",
            "10:1: cloud.service_account: 'ci-at-my-project' is not a user-managed service"
            " account email: write '<account id>@<project id>.iam.gserviceaccount.com'",
        ],
    ),
    (
        "gcp-service-account-id-too-short",
        'provider = "aws"\nregion = "eu-west-1"\naccount = "222222222222"\n',
        GCP_SA.replace("ci-bot@", "ci@"),
        [
            "10:1: cloud.service_account: the account id 'ci' of service account"
            " 'ci@my-project.iam.gserviceaccount.com' must be 6 to 30 lowercase letters,"
            " digits and '-', starting with a letter and ending with a letter or digit"
        ],
    ),
    (
        "gcp-service-account-project",
        'provider = "aws"\nregion = "eu-west-1"\naccount = "222222222222"\n',
        GCP_SA.replace("ci-bot@my-project", "ci-bot@proj"),
        [
            "10:1: cloud.service_account: the project 'proj' of service account"
            " 'ci-bot@proj.iam.gserviceaccount.com' is not a GCP project id (6 to 30"
            " lowercase letters, digits and '-', starting with a letter)"
        ],
    ),
    (
        "gcp-service-account-google-managed",
        'provider = "aws"\nregion = "eu-west-1"\naccount = "222222222222"\n',
        GCP_SA.replace("ci-bot@my-project.iam", "123-compute@developer"),
        [
            "10:1: cloud.service_account: '123-compute@developer.gserviceaccount.com' is not a"
            " user-managed service account email: write"
            " '<account id>@<project id>.iam.gserviceaccount.com'"
        ],
    ),
    (
        "gcp-registry-not-artifact-registry",
        *gcp_with('registry = "ghcr.io/acme"'),
        [
            "11:1: cloud.registry: 'ghcr.io/acme' is not an Artifact Registry Docker"
            " repository: write '<location>-docker.pkg.dev/<project id>/<repository id>'"
            " (e.g. 'europe-west1-docker.pkg.dev/my-project/apps')"
        ],
    ),
    (
        "gcp-registry-location",
        *gcp_with('registry = "eu-docker.pkg.dev/my-project/apps"'),
        [
            "11:1: cloud.registry: the location 'eu' of 'eu-docker.pkg.dev/my-project/apps' is"
            " not a GCP region such as 'europe-west1' or one of the multi-regions asia,"
            " europe, us"
        ],
    ),
    (
        "gcp-registry-project",
        *gcp_with('registry = "europe-docker.pkg.dev/proj/apps"'),
        [
            "11:1: cloud.registry: the project 'proj' of 'europe-docker.pkg.dev/proj/apps' is"
            " not a GCP project id (6 to 30 lowercase letters, digits and '-', starting with"
            " a letter)"
        ],
    ),
    (
        "gcp-registry-repository",
        *gcp_with('registry = "europe-docker.pkg.dev/my-project/my_apps"'),
        [
            "11:1: cloud.registry: the repository 'my_apps' of"
            " 'europe-docker.pkg.dev/my-project/my_apps' is not an Artifact Registry"
            " repository id (lowercase letters, digits and '-', starting with a letter)"
        ],
    ),
    # --- time -------------------------------------------------------------------------------
    (
        "timezone-unknown",
        'timezone = "Europe/Berlin"',
        'timezone = "Europe/Berln"',
        [
            "11:1: platform.timezone: unknown time zone 'Europe/Berln'"
            " (did you mean 'Europe/Berlin'?)"
        ],
    ),
    (
        "cron-six-fields",
        PROD,
        PROD + '\nsync_windows = [{ kind = "allow", schedule = "0 0 10 * * 1", duration = "1h" }]',
        [
            "21:35: environments.prod.sync_windows[0].schedule: '0 0 10 * * 1' is not a"
            " schedule Argo CD accepts: expected exactly 5 fields, found 6: [0 0 10 * * 1]"
            " (Argo CD schedules have no seconds field: minute hour day-of-month month"
            " day-of-week)"
        ],
    ),
    (
        "cron-out-of-range",
        PROD,
        PROD + '\nsync_windows = [{ kind = "allow", schedule = "0 25 * * *", duration = "1h" }]',
        [
            "21:35: environments.prod.sync_windows[0].schedule: '0 25 * * *' is not a"
            " schedule Argo CD accepts: end of range (25) above maximum (23): 25"
        ],
    ),
    (
        "window-duration-in-days",
        PROD,
        PROD + '\nsync_windows = [{ kind = "allow", schedule = "0 10 * * *", duration = "1d" }]',
        [
            "21:60: environments.prod.sync_windows[0].duration: not a Go duration: '1d'"
            " (unknown unit 'd'; units are ns, us, ms, s, m, h; 24h is a day)"
        ],
    ),
    (
        "window-duration-zero",
        PROD,
        PROD + '\nsync_windows = [{ kind = "allow", schedule = "0 10 * * *", duration = "0s" }]',
        ["21:60: environments.prod.sync_windows[0].duration: duration '0s' must be positive"],
    ),
    (
        "window-kind-unknown",
        PROD,
        PROD + '\nsync_windows = [{ kind = "block", schedule = "0 10 * * *", duration = "1h" }]',
        [
            "21:19: environments.prod.sync_windows[0].kind: must be one of 'allow' or 'deny',"
            " got 'block'"
        ],
    ),
    (
        "sync-windows-forbid-syncing-for-ever",
        PROD,
        PROD + '\nsync_windows = [{ kind = "deny", schedule = "0 0 * * *", duration = "24h" }]',
        [
            "21:1: environments.prod.sync_windows: these sync windows forbid every sync for"
            " ever: sync_windows[0] (deny '0 0 * * *' for 24h) denies, it is active at every"
            " moment, and it does not set manual_sync; shorten it, make it fire less often, or"
            " set manual_sync = true"
        ],
    ),
    (
        "retry-values",
        PROD,
        PROD + '\nretry = { limit = -2, factor = 0, backoff = "5x", max_duration = "1d" }',
        [
            "21:11: environments.prod.retry.limit: must be -1 (retry for ever) or more, got -2",
            "21:23: environments.prod.retry.factor: must be at least 1, got 0",
            "21:35: environments.prod.retry.backoff: not a Go duration: '5x' (unknown unit"
            " 'x'; units are ns, us, ms, s, m, h; 24h is a day)",
            "21:51: environments.prod.retry.max_duration: not a Go duration: '1d' (unknown"
            " unit 'd'; units are ns, us, ms, s, m, h; 24h is a day)",
        ],
    ),
    # --- canary and analysis --------------------------------------------------------------------
    (
        "canary-no-steps",
        SERVICE,
        SERVICE + "\ncanary = { steps = [] }",
        ["28:12: services.hello.canary.steps: a canary needs at least one step"],
    ),
    (
        "canary-weights",
        SERVICE,
        SERVICE + "\ncanary = { steps = [{ weight = 0 }, { weight = 50 }, { weight = 40 },"
        " { weight = 100 }] }",
        [
            "28:23: services.hello.canary.steps[0].weight: must be between 1 and 99, got 0",
            "28:56: services.hello.canary.steps[2].weight: weights must increase from step"
            " to step: 40 follows 50",
            "28:73: services.hello.canary.steps[3].weight: must be between 1 and 99, got 100",
        ],
    ),
    (
        "canary-pause",
        SERVICE,
        SERVICE + '\ncanary = { steps = [{ weight = 10, pause = "1d" },'
        ' { weight = 20, pause = "500ms" }] }',
        [
            "28:36: services.hello.canary.steps[0].pause: not a Go duration: '1d' (unknown"
            " unit 'd'; units are ns, us, ms, s, m, h; 24h is a day)",
            "28:67: services.hello.canary.steps[1].pause: pause '500ms' is shorter than 1s,"
            " the shortest pause Argo Rollouts waits",
        ],
    ),
    (
        "canary-traffic-without-port",
        SERVICE,
        SERVICE + '\nport = 0\ncanary = { traffic = "alb", steps = [{ weight = 10 }] }',
        [
            "29:12: services.hello.canary.traffic: traffic 'alb' routes requests to the"
            " service's port, but port is 0"
        ],
    ),
    (
        "canary-analysis-without-metric",
        SERVICE,
        SERVICE + "\ncanary = { steps = [{ weight = 10 }], analysis = true }"
        '\nanalysis = { interval = "1m" }',
        [
            "28:39: services.hello.canary.analysis: analysis = true needs at least one"
            " metric: set success_rate, latency_p99_ms or error_logs in"
            " [services.hello.analysis]"
        ],
    ),
    (
        "canary-analysis-without-table",
        SERVICE,
        SERVICE + "\ncanary = { steps = [{ weight = 10 }], analysis = true }",
        [
            "28:39: services.hello.canary.analysis: analysis = true needs at least one"
            " metric: set success_rate, latency_p99_ms or error_logs in"
            " [services.hello.analysis]"
        ],
    ),
    (
        "analysis-values",
        SERVICE,
        SERVICE + "\ncanary = { steps = [{ weight = 10 }], analysis = true }\n"
        "[services.hello.analysis]\nsuccess_rate = 1.5\nlatency_p99_ms = 0\nerror_logs = 0\n"
        'interval = "1 m"\ncount = 0\nfailure_limit = -1',
        [
            "30:1: services.hello.analysis.success_rate: must be greater than 0 and at most 1,"
            " got 1.5",
            "31:1: services.hello.analysis.latency_p99_ms: must be at least 1, got 0",
            "32:1: services.hello.analysis.error_logs: must be at least 1, got 0",
            "33:1: services.hello.analysis.interval: not a Go duration: '1 m' (unknown unit"
            " ' m'; units are ns, us, ms, s, m, h; 24h is a day)",
            "34:1: services.hello.analysis.count: must be at least 1, got 0",
            "35:1: services.hello.analysis.failure_limit: must be at least 0, got -1",
        ],
    ),
    (
        # Argo Rollouts' ValidateMetric: count >= failureLimit + consecutiveSuccessLimit.
        "analysis-failure-limit-above-count",
        SERVICE,
        SERVICE + "\ncanary = { steps = [{ weight = 10 }], analysis = true }\n"
        "[services.hello.analysis]\nsuccess_rate = 0.99\ncount = 2\nfailure_limit = 3",
        [
            "32:1: services.hello.analysis.failure_limit: must be at most count (2), got 3:"
            " Argo Rollouts refuses the metric (count (2) must be >= failureLimit +"
            " consecutiveSuccessLimit (3 + 0)), so every analysis run ends in Error and aborts"
            " the canary"
        ],
    ),
    (
        "team-of-users-only",
        'owners = ["@acme/web"]',
        'owners = ["@alice", "@bob"]',
        [
            "23:1: teams.web.owners: has users only ('@alice', '@bob'), but the team's Argo CD"
            " roles grant SSO groups, which are GitHub teams ('@org/team' is the group"
            " 'org:team'): nobody could get or sync web's Applications; add a team"
            " '@acme/<team>'"
        ],
    ),
    (
        "pdb-min-available-at-the-replica-count",
        SERVICE,
        SERVICE + "\npdb = { min_available = 1 }",
        [
            "28:9: services.hello.pdb.min_available: min_available = 1 allows no disruption in"
            " dev (1 replica): every node drain (a cluster upgrade, the autoscaler's"
            " scale-down) would wait on these pods for ever; lower it below the replica count,"
            " or use max_unavailable"
        ],
    ),
    (
        "pdb-min-available-all-pods",
        SERVICE,
        SERVICE + '\nreplicas = 3\npdb = { min_available = "100%" }',
        [
            "29:9: services.hello.pdb.min_available: min_available = '100%' allows no"
            " disruption in dev (3 replicas): every node drain (a cluster upgrade, the"
            " autoscaler's scale-down) would wait on these pods for ever; lower it below the"
            " replica count, or use max_unavailable"
        ],
    ),
    (
        "pdb-max-unavailable-zero",
        SERVICE,
        SERVICE + "\npdb = { max_unavailable = 0 }",
        [
            "28:9: services.hello.pdb.max_unavailable: max_unavailable = 0 allows no disruption"
            " in dev (1 replica): every node drain (a cluster upgrade, the autoscaler's"
            " scale-down) would wait on these pods for ever; allow at least 1"
        ],
    ),
    (
        "pdb-min-available-at-the-hpa-max",
        SERVICE,
        SERVICE + "\nhpa = { min = 2, max = 4 }\npdb = { min_available = 4 }",
        [
            "29:9: services.hello.pdb.min_available: min_available = 4 allows no disruption in"
            " dev (HPA max 4): every node drain (a cluster upgrade, the autoscaler's"
            " scale-down) would wait on these pods for ever; lower it below the replica count,"
            " or use max_unavailable"
        ],
    ),
    (
        "argocd-version-without-whitelist-names",
        'timezone = "Europe/Berlin"',
        'timezone = "Europe/Berlin"\nargocd_version = "3.2.9"',
        [
            "12:1: platform.argocd_version: Argo CD 3.2.9 has no clusterResourceWhitelist[].name"
            " (added in 3.3.0), by which the AppProjects permit only the guard's policy and the"
            " Namespaces Argo CD creates; an older AppProject CRD refuses or drops the field,"
            " and an entry without it permits every object of its kind: use 3.3.0 or later"
        ],
    ),
    (
        "kyverno-version-without-rule-failure-action",
        'timezone = "Europe/Berlin"',
        'timezone = "Europe/Berlin"\nkyverno_version = "1.12.3"',
        [
            "12:1: platform.kyverno_version: Kyverno 1.12.3 has no per-rule"
            " validate.failureAction (added in 1.13.0), which the guard's ClusterPolicy uses:"
            " use 1.13.0 or later"
        ],
    ),
    (
        "versions-that-are-not-releases",
        'timezone = "Europe/Berlin"',
        'timezone = "Europe/Berlin"\nargocd_version = "latest"\nkyverno_version = "v1.19.0-rc.1"',
        [
            "12:1: platform.argocd_version: 'latest' is not a release version: write X.Y or"
            " X.Y.Z, such as '3.5.1'",
            "13:1: platform.kyverno_version: 'v1.19.0-rc.1' is not a release version: write X.Y"
            " or X.Y.Z, such as '1.19.0'",
        ],
    ),
    (
        "analysis-success-rate-zero",
        SERVICE,
        SERVICE + "\nanalysis = { success_rate = 0.0 }",
        [
            "28:14: services.hello.analysis.success_rate: must be greater than 0 and at most 1,"
            " got 0.0"
        ],
    ),
    # --- URLs -----------------------------------------------------------------------------
    (
        "cluster-not-a-url",
        'cluster = "https://dev.example.com"',
        'cluster = "dev.example.com"',
        [
            "14:1: environments.dev.cluster: 'dev.example.com' is not the https:// URL of an"
            " API server (https://host[:port][/path], no query, fragment or braces)"
        ],
    ),
    (
        "cluster-url-with-a-fragment",
        'cluster = "https://dev.example.com"',
        'cluster = "https://dev.example.com/#x"',
        [
            "14:1: environments.dev.cluster: 'https://dev.example.com/#x' is not the https://"
            " URL of an API server (https://host[:port][/path], no query, fragment or braces)"
        ],
    ),
    (
        "cluster-url-with-braces",
        'cluster = "https://dev.example.com"',
        'cluster = "https://dev.example.com/{{.env}}"',
        [
            "14:1: environments.dev.cluster: 'https://dev.example.com/{{.env}}' is not the"
            " https:// URL of an API server (https://host[:port][/path], no query, fragment or"
            " braces)"
        ],
    ),
    (
        "aws-registry-not-the-accounts-ecr",
        'account = "222222222222"',
        'account = "222222222222"\nregistry = "ghcr.io/acme"',
        [
            "8:1: cloud.registry: 'ghcr.io/acme' is not this account's ECR registry: write"
            " '222222222222.dkr.ecr.eu-west-1.amazonaws.com', optionally with a path"
            " ('222222222222.dkr.ecr.eu-west-1.amazonaws.com/team'); CI logs in to, and"
            " terraform/ grants push on, that registry only"
        ],
    ),
    (
        "expression-in-test-command",
        SERVICE,
        SERVICE + '\ntest_command = "make test ARGS=${{ github.token }}"',
        [
            "28:1: services.hello.test_command: must not contain '${{': GitHub Actions would"
            " evaluate it as an expression"
        ],
    ),
    (
        "dockerfile-outside-the-repository",
        SERVICE,
        SERVICE + '\ndockerfile = "../Dockerfile"',
        [
            "28:1: services.hello.dockerfile: '../Dockerfile' leaves the app repository"
            " (it contains '..')"
        ],
    ),
    (
        "expression-in-generator",
        GENERATOR,
        'generator = "gitopsgen${{ github.ref }}"',
        [
            "3:1: gitops.generator: 'gitopsgen${{ github.ref }}' is not pinned:"
            f" write {PIN_FORMS}"
        ],
    ),
    (
        "gcp-pool-with-a-reserved-prefix",
        'provider = "aws"\nregion = "eu-west-1"\naccount = "222222222222"\n',
        GCP.replace("gh-pool", "gcp-pool"),
        [
            "9:1: cloud.workload_identity_provider: pool id 'gcp-pool' may not start with"
            " 'gcp-' (reserved by Google)"
        ],
    ),
    (
        "probe-path",
        SERVICE,
        SERVICE + '\nliveness = "healthz"',
        ["28:1: services.hello.liveness: 'healthz' is not an HTTP path starting with '/'"],
    ),
    # --- a service's life: foreign files, retiring, shared clusters -------------------------
    (
        "allow-foreign-patterns",
        GENERATOR,
        GENERATOR
        + '\nallow_foreign = ["apps/legacy/**", "terraform/x", "/apps/a", "apps/[ab]", ""]',
        [
            "4:36: gitops.allow_foreign[1]: 'terraform/x' is not under apps/, argocd/ or"
            " policies/: only those folders are checked for foreign files",
            "4:51: gitops.allow_foreign[2]: '/apps/a' is not a relative path pattern: write it"
            " relative to the output directory, folders separated by single '/'"
            " (e.g. 'apps/legacy/**')",
            "4:62: gitops.allow_foreign[3]: 'apps/[ab]': only '*' (within a folder), '?' and"
            " '**' (as a whole folder name: any folders) are supported",
            "4:75: gitops.allow_foreign[4]: an empty pattern matches nothing",
        ],
    ),
    (
        "allow-foreign-under-argocd",
        GENERATOR,
        GENERATOR + '\nallow_foreign = ["argocd/extra.yaml"]',
        [
            "4:18: gitops.allow_foreign[0]: 'argocd/extra.yaml' is under argocd/, which the root"
            " app deploys whole: no foreign file may live there"
        ],
    ),
    (
        "allow-foreign-bad-segments",
        GENERATOR,
        GENERATOR + '\nallow_foreign = ["apps/../x", "apps/a**"]',
        [
            "4:18: gitops.allow_foreign[0]: 'apps/../x' is not a relative path pattern: write"
            " it relative to the output directory, folders separated by single '/'"
            " (e.g. 'apps/legacy/**')",
            "4:31: gitops.allow_foreign[1]: 'apps/a**': only '*' (within a folder), '?' and"
            " '**' (as a whole folder name: any folders) are supported",
        ],
    ),
    (
        "retired-not-a-boolean",
        TAG,
        TAG + '\nretired = "yes"',
        ["31:1: services.hello.envs.dev.retired: expected a boolean, got the string 'yes'"],
    ),
    (
        "branch-with-an-expression",
        'repo = "acme/gitops"',
        'repo = "acme/gitops"\nbranch = "${{ secrets.GITOPS_APP_PRIVATE_KEY }}"',
        [
            "3:1: gitops.branch: '${{ secrets.GITOPS_APP_PRIVATE_KEY }}' is not a branch name"
            " gitopsgen accepts: ASCII letters, digits, '.', '_', '/' and '-', starting with a"
            " letter or digit"
        ],
    ),
    (
        "branch-git-refuses",
        'repo = "acme/gitops"',
        'repo = "acme/gitops"\nbranch = "release/.next"',
        [
            "3:1: gitops.branch: 'release/.next' is not a git branch name (git check-ref-format:"
            " no '..', no empty part or part starting with '.', none ending in '.lock' or '.')"
        ],
    ),
    (
        "integer-past-64-bits",
        SERVICE,
        SERVICE + "\nport = 18446744073709551616",
        [
            "28:1: services.hello.port: 18446744073709551616 is outside the 64-bit integers"
            " (-9223372036854775808 to 9223372036854775807)"
        ],
    ),
    (
        "replicas-past-int32",
        SERVICE,
        SERVICE + "\nreplicas = 2147483648",
        [
            "28:1: services.hello.replicas: 2147483648 is outside the 32-bit integers"
            " (-2147483648 to 2147483647)"
        ],
    ),
    (
        "quantity-absurd-exponent",
        SERVICE,
        SERVICE + '\nresources = { requests = { cpu = "1e99999999" } }',
        [
            "28:28: services.hello.resources.requests.cpu: '1e99999999' is too large:"
            " Kubernetes quantities must be below 2^63"
        ],
    ),
    (
        "memory-fraction-of-a-byte",
        SERVICE,
        SERVICE + '\nresources = { requests = { memory = "0.25" } }',
        [
            "28:28: services.hello.resources.requests.memory: '0.25' is a fraction of a byte:"
            " memory is a whole number of bytes"
        ],
    ),
    (
        "nested-too-deep",
        SERVICE,
        SERVICE + "\nenv = " + "[" * 40 + "]" * 40,
        ["28:39: nested more than 32 levels deep"],
    ),
    (
        "key-of-too-many-parts",
        SERVICE,
        SERVICE + "\n" + ".".join(["a"] * 40) + " = 1",
        ["28:1: a key of more than 32 dotted parts"],
    ),
    (
        "config-value-with-nel",
        SERVICE,
        SERVICE + '\nconfig = { X = "a\\u0085b" }',
        [
            "28:12: services.hello.config.X: holds U+0085, a control or line-separator character"
            " that Kubernetes' YAML readers refuse or change: write the value without it"
        ],
    ),
    (
        "env-value-with-a-tab-line",
        SERVICE,
        SERVICE + '\nenv = { X = "a\\n\\tb" }',
        [
            "28:9: services.hello.env.X: a line of the value starts with a tab, which YAML"
            " cannot carry in a block"
        ],
    ),
    (
        "output-outside",
        'repo = "acme/gitops"',
        'repo = "acme/gitops"\noutput = "../elsewhere"',
        [
            "3:1: gitops.output: '../elsewhere' must be a folder inside the services file's"
            " folder, such as 'out' or '.'"
        ],
    ),
    (
        "output-option-like",
        'repo = "acme/gitops"',
        'repo = "acme/gitops"\noutput = "-rf"',
        [
            "3:1: gitops.output: '-rf' is not a folder name a workflow and a shell step can"
            " pass safely (letters, digits, '.', '_', '-' and '/')"
        ],
    ),
    (
        "output-an-expression",
        'repo = "acme/gitops"',
        'repo = "acme/gitops"\noutput = "${{ secrets.GITOPS_APP_PRIVATE_KEY }}"',
        [
            "3:1: gitops.output: '${{ secrets.GITOPS_APP_PRIVATE_KEY }}' is not a folder name"
            " a workflow and a shell step can pass safely (letters, digits, '.', '_', '-' and"
            " '/')"
        ],
    ),
    (
        "prometheus-with-credentials",
        'timezone = "Europe/Berlin"',
        'timezone = "Europe/Berlin"\nprometheus = "https://bot:s3cret@prometheus.example.com"',
        [
            "12:1: platform.prometheus: 'https://bot:s3cret@prometheus.example.com' carries"
            " credentials or a fragment: the analysis queries the server's address alone"
            " (credentials would sit in git)"
        ],
    ),
    (
        "key-with-a-line-separator",
        SERVICE,
        SERVICE + '\nconfig = { "A\\u2028B" = "x", "C\\u007f" = "y" }',
        [
            "28:12: services.hello.config.\"A\\u2028B\": 'A\\u2028B' is not a valid variable"
            " name (letters, digits and '_', not starting with a digit)",
            "28:30: services.hello.config.\"C\\u007f\": 'C\\x7f' is not a valid variable name"
            " (letters, digits and '_', not starting with a digit)",
        ],
    ),
    (
        "sensitive-not-a-config-key",
        SERVICE,
        SERVICE + '\nconfig = { DB_PASSWORD = "x" }\nsensitive = ["DB_PASWORD"]',
        [
            "29:14: services.hello.sensitive[0]: config or env key 'DB_PASWORD' does not exist"
            " (did you mean 'DB_PASSWORD'?)"
        ],
    ),
]


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [pytest.param(old, new, expected, id=name) for name, old, new, expected in CASES],
)
def test_rule(old: str, new: str, expected: list[str]) -> None:
    assert problems_of(edit(old, new)) == [f"s.toml:{line}" for line in expected]


def test_two_environments_of_one_cluster_may_not_run_a_service_in_one_namespace() -> None:
    shared = edit('cluster = "https://prod.example.com"', 'cluster = "https://dev.example.com"')
    text = shared + f'\n[services.hello.envs.prod]\nretired = true\n{DIGEST}\ntag = "1.0.0"\n'
    assert problems_of(text) == [
        "s.toml:33:22: services.hello.envs.prod: environments 'dev' and 'prod' share the"
        " cluster 'https://dev.example.com' and would both run 'hello' in namespace 'hello':"
        " their Applications 'hello-dev' and 'hello-prod' would own the same objects; deploy"
        " the service to one of them only, or give the environments different clusters"
    ]
    # a retired entry still has its Application; without any entry there the file is fine
    assert load_text(shared, "s.toml").spec.environments["prod"].cluster.startswith("https://dev")


def test_the_configmap_name_limit_is_checked_even_where_no_label_reaches_it() -> None:
    # A service name is a label (at most 63 characters), so `<name>-config-<hash>` always
    # fits 253 today; the rule still holds should names ever be allowed to grow.
    name = "c" * 236
    assert list(checks.derived_name_problems(name, Service(team="web"), "gcp")) == [
        f"service name '{name}' makes the generated ConfigMap '{name}-config-<hash>'"
        " 254 characters long; Kubernetes allows 253"
    ]
    assert list(checks.derived_name_problems("c" * 235, Service(team="web"), "gcp")) == []


# --- what passes the loader renders ------------------------------------------------------------

TAGGED = '\nenvs.dev.tag = "1.0.0"'
# (id, old, new, a path the tree must hold): valid files, many at the edge of a rule.
VALID: list[tuple[str, str, str, str]] = [
    ("base", TAG, TAG, "apps/hello/overlays/dev/kustomization.yaml"),
    (
        "the-oldest-argocd-and-kyverno-accepted",
        'timezone = "Europe/Berlin"',
        'timezone = "Europe/Berlin"\nargocd_version = "3.3"\nkyverno_version = "v1.13.0"',
        "policies/require-argocd-managed-by.yaml",
    ),
    (
        "gcp",
        'provider = "aws"\nregion = "eu-west-1"\naccount = "222222222222"\n',
        GCP,
        "terraform/main.tf",
    ),
    (
        "gcp-registry-in-another-project",
        *gcp_with('registry = "europe-docker.pkg.dev/other-project/images"'),
        "terraform/main.tf",
    ),
    (
        "iam-role-at-the-limit",
        *another_service(ROLE_EDGE, 'team = "web"\nrepo = "acme/r"' + TAGGED),
        f"ci/{ROLE_EDGE}.yaml",
    ),
    (
        "long-name-without-ci-has-no-role",
        *another_service("n" * 63, 'team = "web"' + TAGGED),
        f"apps/{'n' * 63}/overlays/dev/kustomization.yaml",
    ),
    (
        "long-name-on-gcp-has-no-role",
        'provider = "aws"\nregion = "eu-west-1"\naccount = "222222222222"\n',
        # `apps-<service>`, the service's Artifact Registry repository, at its 63 characters
        GCP + f'[services.{"g" * 58}]\nteam = "web"\nrepo = "acme/g"' + TAGGED + "\n",
        f"ci/{'g' * 58}.yaml",
    ),
    (
        "routed-canary-at-the-limit",
        *another_service(ROUTED_EDGE, f'team = "web"\n{ISTIO}' + TAGGED),
        f"apps/{ROUTED_EDGE}/base/service-{ROUTED_EDGE}-stable.yaml",
    ),
    (
        "alb-canary-at-the-limit",
        *another_service(
            ALB_EDGE, f'team = "web"\n{ALB[:-2]}, host = "api.example.com" }}' + TAGGED
        ),
        f"apps/{ALB_EDGE}/base/ingress.yaml",
    ),
    (
        "same-object-names-in-other-namespaces",
        *another_service("hello-stable", 'team = "web"' + TAGGED),
        "apps/hello-stable/base/service.yaml",
    ),
    (
        "canary-and-plain-service-in-one-namespace",
        SERVICE,
        SERVICE + f'\nnamespace = "shop"\n{ALB}\n[services.shop]\nteam = "web"\nnamespace = "shop"',
        "apps/hello/base/service-hello-canary.yaml",
    ),
    (
        "image-name-at-the-limit",
        SERVICE,
        SERVICE + f'\nimage = "team/{"i" * 205}"',
        "apps/hello/base/deployment.yaml",
    ),
    (
        "configmap-key-at-the-limit",
        TAG,
        TAG + f'\nconfig = {{ {"K" * 253} = "x" }}',
        "apps/hello/overlays/dev/kustomization.yaml",
    ),
    (
        "names-that-only-resemble-the-guard-names",
        DIGEST,
        DIGEST + '\n[environments.policies]\ncluster = "https://p.example.com"'
        '\n[services.platform-policies]\nteam = "web"\nenvs.policies.tag = "1.0.0"'
        '\n[services.policy]\nteam = "web"' + TAGGED,
        "argocd/policies/policies-policies.yaml",
    ),
    (
        "istio-canary-with-an-ignored-host",
        SERVICE,
        SERVICE + '\ncanary = { traffic = "istio", host = "api.example.com",'
        " steps = [{ weight = 10 }] }",
        "apps/hello/base/virtualservice.yaml",
    ),
    (
        "a-retired-environment-renders-an-empty-overlay",
        TAG,
        TAG + "\nretired = true",
        "apps/hello/overlays/dev/kustomization.yaml",
    ),
]


@pytest.mark.parametrize(
    ("old", "new", "holds"),
    [pytest.param(old, new, holds, id=name) for name, old, new, holds in VALID],
)
def test_a_valid_file_renders(old: str, new: str, holds: str) -> None:
    tree = render_tree(resolve(load_text(edit(old, new), "s.toml").spec))
    assert holds in tree


# (id, old, new, expected warnings without the "s.toml:" prefix)
WARNING_CASES: list[tuple[str, str, str, list[str]]] = [
    (
        "tag-without-a-digest",
        "\n" + DIGEST,
        "",
        [
            "30:1: services.hello.envs.dev.tag: has no digest: the tag is mutable, so the image"
            " it names can change under it; record the digest with gitopsgen set-image hello"
            " dev 1.0.0 --digest sha256:..."
        ],
    ),
    (
        "tag-without-a-digest-in-a-dotted-table",
        "[services.hello.envs.dev]\n" + TAG + "\n" + DIGEST,
        'envs.prod.tag = "0.9.0"',
        [
            "29:11: services.hello.envs.prod.tag: has no digest: the tag is mutable, so the"
            " image it names can change under it; record the digest with gitopsgen set-image"
            " hello prod 0.9.0 --digest sha256:..."
        ],
    ),
    (
        "canary-host-with-istio",
        SERVICE,
        SERVICE + '\ncanary = { traffic = "istio", host = "api.example.com",'
        " steps = [{ weight = 10 }] }",
        ["28:31: services.hello.canary.host: is ignored: it is only used with traffic = 'alb'"],
    ),
    (
        "canary-host-with-replicas",
        SERVICE,
        SERVICE + '\ncanary = { host = "api.example.com", steps = [{ weight = 10 }] }',
        ["28:12: services.hello.canary.host: is ignored: it is only used with traffic = 'alb'"],
    ),
    (
        "pdb-min-available-at-the-hpa-min",
        SERVICE,
        SERVICE + "\nhpa = { min = 2, max = 4 }\npdb = { min_available = 2 }",
        [
            "29:9: services.hello.pdb.min_available: min_available = 2 allows no disruption"
            " while the HPA runs at its minimum, in dev (HPA min 2; it needs 3 replicas): node"
            " drains wait until the HPA scales up"
        ],
    ),
    (
        "pdb-that-leaves-a-pod-to-evict",
        SERVICE,
        SERVICE + '\nreplicas = 2\npdb = { min_available = "50%" }',
        [],
    ),
    (
        "a-user-beside-a-team-is-fine",
        'owners = ["@acme/web"]',
        'owners = ["@alice", "@acme/web"]',
        [],
    ),
    (
        "canary-host-with-alb",
        SERVICE,
        SERVICE + '\ncanary = { traffic = "alb", host = "api.example.com",'
        " steps = [{ weight = 10 }] }",
        [],
    ),
]


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [pytest.param(old, new, expected, id=name) for name, old, new, expected in WARNING_CASES],
)
def test_warning(old: str, new: str, expected: list[str]) -> None:
    warnings = load_text(edit(old, new), "s.toml").warnings
    assert [str(w) for w in warnings] == [f"s.toml:{line}" for line in expected]


def test_empty_environments() -> None:
    text = edit(
        BASE[BASE.index("[environments.dev]") : BASE.index("[teams.web]")], "[environments]\n\n"
    )
    assert problems_of(text) == [
        "s.toml:13:2: environments: at least one environment is required",
        "s.toml:22:22: services.hello.envs.dev: environment 'dev' does not exist; none is defined",
    ]


def test_many_problems_are_reported_in_one_run_sorted_by_location() -> None:
    text = edit('provider = "aws"', 'provider = "azure"')
    text = edit("auto_sync = true", 'auto_sync = "yes"', text)
    text = edit('team = "web"', 'team = "wbe"', text)
    text = edit(TAG, 'tag = "latest"\nreplicas = "2"', text)
    text = edit(SERVICE, SERVICE + "\nport = 0\nprot = 80", text)
    assert problems_of(text) == [
        "s.toml:5:1: cloud.provider: must be one of 'aws' or 'gcp', got 'azure'",
        "s.toml:15:1: environments.dev.auto_sync: expected a boolean, got the string 'yes'",
        "s.toml:26:1: services.hello.team: team 'wbe' does not exist (did you mean 'web'?)",
        "s.toml:29:1: services.hello.prot: unknown key (did you mean 'port'?)",
        "s.toml:32:1: services.hello.envs.dev.tag: 'latest' is not allowed: pin the tag of"
        " one build so every deploy is repeatable",
        "s.toml:33:1: services.hello.envs.dev.replicas: expected an integer, got the string '2'",
    ]


def test_placeholders_for_broken_values_are_not_reported_again() -> None:
    # The team table is broken; the service that names it must not also say it is missing.
    text = edit('owners = ["@acme/web"]', 'owners = "@acme/web"')
    assert problems_of(text) == [
        "s.toml:23:1: teams.web.owners: expected an array, got the string '@acme/web'"
    ]


def test_warning_for_manual_sync_allow_window_in_a_manual_environment() -> None:
    text = edit(
        PROD,
        PROD + '\nsync_windows = [{ kind = "allow", schedule = "0 10 * * *", duration = "6h",'
        " manual_sync = true }]",
    )
    assert [str(w) for w in load_text(text, "s.toml").warnings] == [
        "s.toml:21:77: environments.prod.sync_windows[0].manual_sync: this allow window never"
        " restricts anything: the environment syncs only manually (auto_sync = false) and"
        " manual_sync = true lets manual syncs through outside it"
    ]


def test_warning_for_manual_sync_that_argo_cd_ignores() -> None:
    text = edit(
        PROD,
        PROD + '\nsync_windows = [{ kind = "allow", schedule = "0 10 * * *", duration = "1h",'
        ' manual_sync = true },\n  { kind = "allow", schedule = "0 12 * * *", duration = "1h" }]',
    )
    assert [str(w) for w in load_text(text, "s.toml").warnings] == [
        "s.toml:21:77: environments.prod.sync_windows[0].manual_sync: manual_sync = true has no"
        " effect: Argo CD lets manual syncs through outside allow windows only when every allow"
        " window sets it, and sync_windows[1] does not"
    ]


def test_warning_for_auto_sync_that_windows_never_let_through() -> None:
    text = edit(
        DEV,
        DEV + '\nsync_windows = [{ kind = "deny", schedule = "0 0 * * *", duration = "24h",'
        " manual_sync = true }]",
    )
    assert [str(w) for w in load_text(text, "s.toml").warnings] == [
        "s.toml:15:1: environments.dev.auto_sync: automated syncs can never happen under these"
        " sync windows (only manual syncs pass): auto_sync = true has no effect here"
    ]


def test_no_warning_for_manual_sync_window_where_syncs_are_automatic() -> None:
    text = edit(
        DEV,
        DEV + '\nsync_windows = [{ kind = "allow", schedule = "0 10 * * *", duration = "6h",'
        " manual_sync = true }]",
    )
    assert load_text(text, "s.toml").warnings == ()


# --- the command line -------------------------------------------------------------------------


def test_cli_reports_problems_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "services.toml"
    config.write_text(edit('team = "web"', 'team = "wbe"'), encoding="utf-8")
    out = tmp_path / "out"
    assert main(["build", "-c", str(config), "-o", str(out)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        f"{config}:26:1: services.hello.team: team 'wbe' does not exist (did you mean 'web'?)\n"
    )
    assert not out.exists()


def test_cli_syntax_error_exits_2_without_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "services.toml"
    config.write_text("[gitops\n", encoding="utf-8")
    assert main(["check", "-c", str(config), "-o", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err == (
        f"{config}:1:8: TOML syntax error: Expected ']' at the end of a table declaration\n"
    )


def test_cli_missing_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "missing.toml"
    assert main(["build", "-c", str(config), "-o", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err == (
        f"{config}: cannot read the services file: No such file or directory\n"
    )


def test_cli_not_utf8_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "services.toml"
    config.write_bytes(b"\xff\xfe[gitops]\n")
    assert main(["build", "-c", str(config), "-o", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err == (
        f"{config}:1:1: not UTF-8 text (TOML must be UTF-8): byte 0xff is invalid\n"
    )


def test_cli_prints_warnings_on_stderr_and_exits_0(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "services.toml"
    window = (
        '\nsync_windows = [{ kind = "allow", schedule = "0 10 * * *", duration = "6h",'
        " manual_sync = true }]"
    )
    config.write_text(edit(PROD, PROD + window), encoding="utf-8")
    assert main(["build", "-c", str(config), "-o", str(tmp_path / "out")]) == 0
    warnings = [line for line in capsys.readouterr().err.splitlines() if "warning" in line]
    assert warnings == [
        f"{config}:21:77: environments.prod.sync_windows[0].manual_sync: this allow window never"
        " restricts anything: the environment syncs only manually (auto_sync = false) and"
        " manual_sync = true lets manual syncs through outside it (warning)"
    ]


def test_a_tag_without_a_digest_warns_and_check_still_passes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Files from before digests keep building (and CI's check passing) while they migrate."""
    config = tmp_path / "services.toml"
    config.write_text(edit("\n" + DIGEST, ""), encoding="utf-8")
    out = tmp_path / "out"
    warning = (
        f"{config}:30:1: services.hello.envs.dev.tag: has no digest: the tag is mutable, so the"
        " image it names can change under it; record the digest with gitopsgen set-image hello"
        " dev 1.0.0 --digest sha256:... (warning)\n"
    )
    assert main(["build", "-c", str(config), "-o", str(out)]) == 0
    assert capsys.readouterr().err == warning
    assert main(["check", "-c", str(config), "-o", str(out)]) == 0
    assert capsys.readouterr().err == warning
    kustomization = (out / "apps/hello/overlays/dev/kustomization.yaml").read_text("utf-8")
    assert "    newTag: 1.0.0\nconfigMapGenerator:\n" in kustomization  # no digest line


def test_warnings_for_settings_that_do_nothing() -> None:
    text = edit(
        SERVICE,
        SERVICE + "\nreplicas = 2\nhpa = { min = 2, max = 4 }\n"
        "analysis = { success_rate = 0.99, count = 3, failure_limit = 3 }",
    )
    text = edit(TAG, TAG + "\nreplicas = 3", text)
    assert [str(w) for w in load_text(text, "s.toml").warnings] == [
        "s.toml:28:1: services.hello.replicas: is ignored: the HPA owns the replica count",
        "s.toml:30:1: services.hello.analysis: is never used: it runs only with"
        " canary.analysis = true",
        "s.toml:30:46: services.hello.analysis.failure_limit: the analysis can never fail:"
        " failure_limit (3) equals count (3), and only more failures than the limit fail it",
        "s.toml:34:1: services.hello.envs.dev.replicas: is ignored: the HPA owns the replica count",
    ]


AWS_CLOUD = 'provider = "aws"\nregion = "eu-west-1"\naccount = "222222222222"\n'


def test_a_gcp_service_whose_artifact_repository_id_is_too_long() -> None:
    # Each service's images live in the Artifact Registry repository `apps-<service>`.
    name = "g" * 59
    text = edit(AWS_CLOUD, GCP, edit(*another_service(name, 'team = "web"')))
    assert problems_of(text) == [
        f"s.toml:28:11: services.{name}: service name '{name}' makes its Artifact Registry"
        f" repository 'apps-{name}' 64 characters long; Artifact Registry allows 63"
    ]


def test_a_gcp_gitops_branch_too_long_for_the_google_subject() -> None:
    text = edit(
        AWS_CLOUD, GCP, edit('repo = "acme/gitops"', f'repo = "acme/gitops"\nbranch = "{"b" * 78}"')
    )
    assert problems_of(text) == [
        "s.toml:3:1: gitops.branch: is 78 bytes long; on Google Cloud the intake's"
        " google.subject 'repository_id:<id>:ref:refs/heads/<branch>' must fit in 127 bytes,"
        " which leaves the branch 77"
    ]
    assert load_text(text.replace("b" * 78, "b" * 77), "s.toml").warnings == ()


def test_the_shared_gcp_service_account_is_no_longer_used() -> None:
    text = edit(AWS_CLOUD, GCP_SA)
    assert [str(w) for w in load_text(text, "s.toml").warnings] == [
        "s.toml:10:1: cloud.service_account: is no longer used: each service's CI has its own"
        " service account (github-ci-<service>) and the intake has gitops-intake, which"
        " terraform/ creates; remove this key"
    ]
