"""Which consumers each key of the services file reaches, and so which rules it must pass.

Every key of the model is listed (tests/test_consumers.py fails for one that is not): a new
key cannot be added without deciding where its value goes. A consumer is anything that would
read a value as more than data: GitHub's `${{ }}` expressions in a workflow, the Go template
of the ApplicationSet, a shell or pip argument, a git ref, a CODEOWNERS line, Terraform, a URL
that Argo CD or Helm fetches, a Kubernetes field with its own grammar. YAML and JSON are
reached only through the serializers (render/yamlout.py), which quote what needs quoting;
a string that reaches YAML still passes `value_problem` (control and line-separator
characters, which YAML readers refuse or change). The tests inject what each consumer would
interpret into every key that reaches it, and expect a located error there.
"""

from __future__ import annotations

import enum


class Consumer(enum.Enum):
    YAML = "YAML, through the serializer"
    KUBERNETES = "a Kubernetes field with its own grammar (names, labels, quantities, ranges)"
    WORKFLOW = "GitHub Actions workflow text, where ${{ }} is evaluated"
    SHELL = "a shell command's argument (passed through an environment variable)"
    PIP = "a pip requirement argument"
    GIT_REF = "a git ref or revision"
    GO_TEMPLATE = "the text of the ApplicationSet's Go template"
    CODEOWNERS = "a CODEOWNERS line"
    HCL = "Terraform, through the HCL serializer"
    URL = "a URL Argo CD, Helm or the analysis fetches or matches"
    PATH = "a path in the tree or a repository"
    INTERNAL = "read by gitopsgen only (choices, numbers, switches)"


Y, K, W, S, P, G, T, C, H, U, F, N = (
    Consumer.YAML,
    Consumer.KUBERNETES,
    Consumer.WORKFLOW,
    Consumer.SHELL,
    Consumer.PIP,
    Consumer.GIT_REF,
    Consumer.GO_TEMPLATE,
    Consumer.CODEOWNERS,
    Consumer.HCL,
    Consumer.URL,
    Consumer.PATH,
    Consumer.INTERNAL,
)

# "Class.key" -> what its value reaches (render/ and templates/ are the evidence).
CONSUMERS: dict[str, frozenset[Consumer]] = {
    key: frozenset(consumers)
    for key, consumers in {
        # the gitops repository: every workflow, the trust policies, Argo CD's sources
        "Gitops.repo": (Y, W, H, U, C),
        "Gitops.branch": (Y, W, H, G, T),  # the template's targetRevision is template text
        "Gitops.generator": (W, P, S),
        "Gitops.allow_foreign": (N,),
        "Gitops.output": (W, F),  # render-check's --previous path
        "Cloud.provider": (N,),
        "Cloud.region": (Y, W, H),
        "Cloud.account": (Y, W, H),
        "Cloud.registry": (Y, W, H),
        "Cloud.registry_repository": (Y, W, H),
        "Cloud.workload_identity_provider": (W, H),
        "Cloud.service_account": (N,),
        "Platform.owners": (Y, H, C),
        "Platform.timezone": (Y,),
        "Platform.prometheus": (Y, U),
        "Platform.argocd_version": (N,),
        "Platform.kyverno_version": (N,),
        "Platform.kubernetes_version": (N,),
        "Platform.kubernetes_group": (Y,),  # the teams' RoleBinding subjects (namespaces.py)
        "Environment.cluster": (Y, U),
        "Environment.auto_sync": (N,),
        "Environment.replicas": (Y, K),
        "Environment.create_namespace": (N,),
        "Environment.promote_from": (Y, W),
        "Environment.approvers": (H, C),
        "Environment.required_approvals": (H,),
        "Environment.sync_roles": (Y,),
        "Environment.tolerations": (Y, K),
        "Environment.resources": (Y, K),
        "Environment.sync_windows": (Y,),
        "Environment.retry": (Y,),
        "Environment.namespaces": (Y, K),  # namespace names: each one a service uses
        "NamespaceSettings.quota": (Y, K),
        "NamespaceSettings.limit_range": (Y, K),
        "Quota.requests": (Y, K),
        "Quota.limits": (Y, K),
        "Quota.pods": (Y, K),
        "LimitRange.default_request": (Y, K),
        "LimitRange.default": (Y, K),
        "LimitRange.min": (Y, K),
        "LimitRange.max": (Y, K),
        "Environment.auto_propose": (N,),  # which triggers argocd-notifications-cm holds
        "SyncWindow.kind": (Y,),
        "SyncWindow.schedule": (Y,),
        "SyncWindow.duration": (Y,),
        "SyncWindow.manual_sync": (Y,),
        "Retry.limit": (Y,),
        "Retry.backoff": (Y,),
        "Retry.factor": (Y,),
        "Retry.max_duration": (Y,),
        "Toleration.key": (Y, K),
        "Toleration.operator": (Y,),
        "Toleration.value": (Y, K),
        "Toleration.effect": (Y,),
        "Toleration.toleration_seconds": (Y, K),
        "Resources.requests": (Y, K),
        "Resources.limits": (Y, K),
        "ResourceSide.cpu": (Y, K),
        "ResourceSide.memory": (Y, K),
        "Team.owners": (Y, H, C),
        "Service.team": (Y, K),
        "Service.namespace": (Y, K),
        "Service.repo": (Y, W, H),
        "Service.image": (Y, W, H),
        "Service.port": (Y, K),
        "Service.liveness": (Y,),
        "Service.readiness": (Y,),
        "Service.replicas": (Y, K),
        "Service.resources": (Y, K),
        "Service.env": (Y, K),
        "Service.config": (Y, K),
        "Service.sensitive": (N,),
        "Service.hpa": (Y, K),
        "Service.pdb": (Y, K),
        "Service.tolerations": (Y, K),
        # The caller's `with:`, then the reusable's env: a shell script by design (the app's).
        "Service.test_command": (W,),
        "Service.dockerfile": (W, F),
        "Service.canary": (Y,),
        "Service.analysis": (Y,),
        "Service.smoke_test": (Y,),
        "Service.chart": (Y, U),
        "Service.values": (Y,),
        "Service.envs": (Y,),
        "ServiceEnv.tag": (Y, W),  # the promotion pull request's title and body
        "ServiceEnv.digest": (Y, W),
        "ServiceEnv.retired": (N,),
        "ServiceEnv.replicas": (Y, K),
        "ServiceEnv.resources": (Y, K),
        "ServiceEnv.hpa": (Y, K),
        "ServiceEnv.env": (Y, K),
        "ServiceEnv.config": (Y, K),
        "ServiceEnv.tolerations": (Y, K),
        "ServiceEnv.values": (Y,),
        "ServiceEnv.chart_version": (Y, U),
        "ServiceEnv.smoke_test": (Y,),
        # the PostSync hook Job (render/smoketest.py)
        "SmokeTest.image": (Y, K),  # pinned by digest, a reference grammar of its own
        "SmokeTest.command": (Y,),  # an argument list, no shell
        "SmokeTest.deadline": (Y, K),  # activeDeadlineSeconds
        "SmokeTest.retries": (Y, K),  # backoffLimit
        "SmokeTest.enabled": (N,),
        "Hpa.min": (Y, K),
        "Hpa.max": (Y, K),
        "Hpa.cpu_utilization": (Y, K),
        "Pdb.min_available": (Y, K),
        "Pdb.max_unavailable": (Y, K),
        "Canary.traffic": (N,),
        "Canary.steps": (Y,),
        "Canary.analysis": (N,),
        "Canary.manual_gate": (N,),
        "Canary.host": (Y, K),
        "CanaryStep.weight": (Y,),
        "CanaryStep.pause": (Y,),
        "Analysis.success_rate": (Y,),
        "Analysis.latency_p99_ms": (Y,),
        "Analysis.error_logs": (Y,),
        "Analysis.interval": (Y,),
        "Analysis.count": (Y,),
        "Analysis.failure_limit": (Y,),
        "Chart.repository": (Y, U),
        "Chart.name": (Y, U),
        "Chart.version": (Y, U),
        "Chart.tag_key": (Y,),
        "Chart.digest_key": (Y,),
        "Chart.repository_key": (Y,),
        "Spec.gitops": (N,),
        "Spec.cloud": (N,),
        "Spec.platform": (N,),
        "Spec.environments": (N,),
        "Spec.teams": (N,),
        "Spec.services": (N,),
    }.items()
}

# What a consumer would interpret, for the tests to inject: each must be refused at the key.
INTERPRETED: dict[Consumer, tuple[str, ...]] = {
    Consumer.WORKFLOW: ("${{ github.token }}",),
    Consumer.GO_TEMPLATE: ("{{ .cluster }}",),
    Consumer.SHELL: ("a\nb",),
    Consumer.CODEOWNERS: ("@org/team # comment", "@org/team\n* @evil"),
    Consumer.GIT_REF: ("a..b", "-x"),
    Consumer.PIP: ("-r /etc/passwd",),
    Consumer.URL: ("https://x.example.com/#frag", "https://u:p@x.example.com/"),
    Consumer.YAML: ("a\u0085b", "a\u2028b", "a\x7fb"),
}


def consumers_of(cls: type, key: str) -> frozenset[Consumer]:
    return CONSUMERS[f"{cls.__name__}.{key}"]
