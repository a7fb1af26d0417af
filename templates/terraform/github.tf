# GitHub: the OIDC subject templates the cloud trust (main.tf) matches, and the gates of the
# gitops repository. The provider acts in the gitops repository's owner, which owns every app
# repository (the loader refuses others). Its token (GITHUB_TOKEN, or `gh auth login`) needs
# admin on the gitops repository and on every app repository, and read access to the teams.
provider "github" {
  owner = {= owner | hcl =}
}

locals {
  github_owner      = {= owner | hcl =}
  gitops_repository = {= gitops_repository | hcl =}
  app_repositories  = {= app_repositories | hcl =}

  # Every subject is `key:value` pairs in the order of include_claim_keys
  # (https://docs.github.com/en/actions/reference/security/oidc, "Customizing the subject
  # claims"), built only from immutable IDs and exact refs: renaming or transferring a
  # repository or its owner changes nothing, and the subject does not depend on GitHub's
  # default format, name-based or the immutable `repo:OWNER@ID/REPO@ID` default of
  # repositories created after 15 July 2026 (same page, "Immutable subject claims").
  ci_subject_claim_keys     = {= ci_claim_keys | hcl =}
  intake_subject_claim_keys = {= intake_claim_keys | hcl =}

  github_owner_id = data.github_organization.owner.id

  # App CI: a push to the app repository's main branch, in a job of the gitops repository's
  # reusable service CI workflow at the gitops branch.
  ci_subject_claims = {
    for name, repository in data.github_repository.app : name => {
      repository_owner_id = local.github_owner_id
      repository_id       = tostring(repository.repo_id)
      ref                 = {= ci_ref | hcl =}
      job_workflow_ref    = {= ci_job_workflow_ref | hcl =}
    }
  }
  # The verify jobs of the gitops repository's intake and promote workflows at the gitops
  # branch, in jobs without a GitHub environment (`context` is then `ref:<ref>`). A top-level
  # job may carry no job_workflow_ref, so the workflow is bound through workflow_ref.
  intake_subject_claims = [
    for workflow_ref in {= intake_workflow_refs | hcl =} : {
      repository_owner_id = local.github_owner_id
      repository_id       = tostring(data.github_repository.gitops.repo_id)
      context             = {= intake_context | hcl =}
      workflow_ref        = workflow_ref
    }
  ]

  # GitHub writes `context` without its key: its value is `ref:...` or `environment:...`.
  ci_subjects = {
    for name, claims in local.ci_subject_claims : name => join(":", flatten([
      for key in local.ci_subject_claim_keys : key == "context" ? [claims[key]] : [key, claims[key]]
    ]))
  }
  intake_subjects = [
    for claims in local.intake_subject_claims : join(":", flatten([
      for key in local.intake_subject_claim_keys : key == "context" ? [claims[key]] : [key, claims[key]]
    ]))
  ]
}

# The id is the organisation's numeric id (the provider sets it from the REST API's `id`).
data "github_organization" "owner" {
  name         = local.github_owner
  summary_only = true
}

data "github_repository" "gitops" {
  full_name = {= gitops_repo | hcl =}

  # The provider answers a missing repository with an empty one (repo_id 0), not an error.
  lifecycle {
    postcondition {
      condition     = self.repo_id > 0
      error_message = {= missing_repository.format(gitops_repo) | hcl =}
    }
  }
}

data "github_repository" "app" {
  for_each = toset(local.app_repositories)

  full_name = "${local.github_owner}/${each.key}"

  lifecycle {
    postcondition {
      condition     = self.repo_id > 0
      error_message = "GitHub has no repository ${each.key} that the provider's token can read: the OIDC subjects would name repository id 0."
    }
  }
}

resource "github_actions_repository_oidc_subject_claim_customization_template" "app" {
  for_each = toset(local.app_repositories)

  repository         = each.key
  use_default        = false
  include_claim_keys = local.ci_subject_claim_keys
}

resource "github_actions_repository_oidc_subject_claim_customization_template" "gitops" {
  repository         = local.gitops_repository
  use_default        = false
  include_claim_keys = local.intake_subject_claim_keys
}

# The gitops branch changes only through pull requests that pass the render check. Dev tags
# (overlays of environments without approvers) need no approval, so the intake's pull
# requests merge on their own; every other path needs the reviewers below. CODEOWNERS stays
# informational: it requests the reviews. No actor may bypass any of it.
{% if teams %}
data "github_team" "reviewer" {
  for_each = toset({= teams | hcl =})

  slug         = each.key
  summary_only = true
}

{% endif %}
resource "github_repository_ruleset" "gitops_branch" {
  name        = "gitops-branch"
  repository  = local.gitops_repository
  target      = "branch"
  enforcement = "active"

  conditions {
    ref_name {
      include = {= [branch_ref] | hcl =}
      exclude = []
    }
  }

  rules {
    deletion         = true
    non_fast_forward = true

    pull_request {
      required_approving_review_count = 0
      dismiss_stale_reviews_on_push   = true
      require_last_push_approval      = true
      require_code_owner_review       = false
{% for reviewer in reviewers %}

      # {= reviewer.comment =}
      required_reviewers {
        minimum_approvals = {= reviewer.minimum_approvals | hcl =}
        file_patterns     = {= reviewer.file_patterns | hcl =}

        reviewer {
          id   = data.github_team.reviewer[{= reviewer.team | hcl =}].team_id
          type = "Team"
        }
      }
{% endfor %}
    }

    required_status_checks {
      # Not strict: every intake opens a pull request, and a strict check would leave all but
      # the first of two concurrent ones waiting for an update that nothing makes. Tag changes
      # merge textually into what rendering both would give (disjoint lines), the render check
      # runs again on every push to the branch, and the approvals above are decided per pull
      # request, so a combination can never carry a prod path nobody approved.
      strict_required_status_checks_policy = false

      required_check {
        context        = {= render_check | hcl =}
        integration_id = {= actions_app_id | hcl =}
      }
    }
  }
}

# The environment holding the gitops App's key: jobs of the gitops branch only, no bypass.
resource "github_repository_environment" "writer" {
  repository        = local.gitops_repository
  environment       = {= writer_environment | hcl =}
  can_admins_bypass = false

  deployment_branch_policy {
    protected_branches     = false
    custom_branch_policies = true
  }
}

resource "github_repository_environment_deployment_policy" "writer" {
  repository     = local.gitops_repository
  environment    = github_repository_environment.writer.environment
  branch_pattern = {= gitops_branch | hcl =}
}

# The labels promotion pull requests carry (they must exist before promote.yml adds them).
resource "github_issue_label" "promotion" {
  for_each = {
{% for name, description in labels.items() %}
    {= name | hcl =} = {= description | hcl =}
{% endfor %}
  }

  repository  = local.gitops_repository
  name        = each.key
  description = each.value
  color       = {= label_color | hcl =}
}
