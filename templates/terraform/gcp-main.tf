# The pool and provider are the ones cloud.workload_identity_provider in services.toml names:
# the CI workflows authenticate with exactly that string, so Terraform creates exactly those.
locals {
  project        = {= project | hcl =}
  project_number = {= project_number | hcl =}
  pool_id        = {= pool_id | hcl =}
  provider_id    = {= provider_id | hcl =}
  location       = {= registry.location | hcl =}

  # Every identity the pool maps from one GitHub repository id: append "/<id>".
  repository_principal_set = {= repository_principal_set | hcl =}

  # One Artifact Registry repository per service: Artifact Registry grants access per
  # repository only, so a service's CI can push to its own repository and no other.
{% if repositories %}
  service_repositories = {
{% for repository in repositories %}
    {= repository.service | hcl =} = {
      repository_id = {= repository.repository_id | hcl =}
      description   = {= repository.description | hcl =}
    }
{% endfor %}
  }
{% else %}
  service_repositories = {}
{% endif %}

  # One service account per service whose app repository builds its image, impersonated
  # only by tokens of that repository (by id; the provider's condition does the rest).
{% if accounts %}
  ci_accounts = {
{% for account in accounts %}
    {= account.service | hcl =} = {
      account_id  = {= account.account_id | hcl =}
      repository  = {= account.repository | hcl =}
      description = {= account.description | hcl =}
    }
{% endfor %}
  }
{% else %}
  ci_accounts = {}
{% endif %}
}

data "google_project" "this" {
  project_id = local.project
}

resource "google_iam_workload_identity_pool" "github" {
  project                   = local.project
  workload_identity_pool_id = local.pool_id
  display_name              = "GitHub Actions"
  description               = "Identities of GitHub Actions workflows, for CI."

  lifecycle {
    precondition {
      condition     = data.google_project.this.number == local.project_number
      error_message = {= number_mismatch | hcl =}
    }
  }
}

# The condition admits two kinds of token, every value exact (ids from GitHub, github.tf):
# app CI (a push to main in a repository of the owner, running the gitops repository's
# service CI workflow at the gitops branch) and the intake (a dispatch of the gitops
# repository's intake workflow at the gitops branch). google.subject stays within the
# 127 bytes Google allows: `repository_id:<id>:ref:<ref>`.
resource "google_iam_workload_identity_pool_provider" "github" {
  project                            = local.project
  workload_identity_pool_id          = google_iam_workload_identity_pool.github.workload_identity_pool_id
  workload_identity_pool_provider_id = local.provider_id
  display_name                       = "GitHub Actions OIDC"
  description                        = "GitHub Actions tokens of the services' CI and the gitops intake."

  attribute_mapping = {
{% for key, expression in attribute_mapping.items() %}
    {= key | hcl =} = {= expression | hcl =}
{% endfor %}
  }
  attribute_condition = format(
    {= condition_format | hcl =},
{% for argument in condition_arguments %}
    {= argument =},
{% endfor %}
  )

  oidc {
    issuer_uri = {= issuer | hcl =}
  }
}

# Images are production artifacts: Terraform refuses to delete a repository. To drop a
# removed service's repository, delete it by hand and `terraform state rm` it.
resource "google_artifact_registry_repository" "service" {
  for_each = local.service_repositories

  project       = local.project
  location      = local.location
  repository_id = each.value.repository_id
  description   = each.value.description
  format        = "DOCKER"
  labels        = var.labels

  lifecycle {
    prevent_destroy = true
  }
}

resource "google_service_account" "ci" {
  for_each = local.ci_accounts

  project      = local.project
  account_id   = each.value.account_id
  display_name = "GitHub Actions CI of ${each.key}"
  description  = each.value.description
}

resource "google_service_account_iam_member" "ci_workload_identity_user" {
  for_each = local.ci_accounts

  service_account_id = google_service_account.ci[each.key].name
  role               = "roles/iam.workloadIdentityUser"
  member             = "${local.repository_principal_set}/${data.github_repository.app[each.value.repository].repo_id}"

  # The principal set names the pool, which must exist before it can be granted anything.
  depends_on = [google_iam_workload_identity_pool_provider.github]
}

# Push access to the service's own repository, not the project.
resource "google_artifact_registry_repository_iam_member" "ci_writer" {
  for_each = local.ci_accounts

  project    = local.project
  location   = local.location
  repository = google_artifact_registry_repository.service[each.key].repository_id
  role       = "roles/artifactregistry.writer"
  member     = "serviceAccount:${google_service_account.ci[each.key].email}"
}

# The intake workflow of the gitops repository reads every service's images and their
# attestations to verify them; it writes nothing.
resource "google_service_account" "intake" {
  project      = local.project
  account_id   = {= intake_account_id | hcl =}
  display_name = "GitHub Actions gitops intake"
  description  = {= intake_description | hcl =}
}

resource "google_service_account_iam_member" "intake_workload_identity_user" {
  service_account_id = google_service_account.intake.name
  role               = "roles/iam.workloadIdentityUser"
  member             = "${local.repository_principal_set}/${data.github_repository.gitops.repo_id}"

  depends_on = [google_iam_workload_identity_pool_provider.github]
}

resource "google_artifact_registry_repository_iam_member" "intake_reader" {
  for_each = local.service_repositories

  project    = local.project
  location   = local.location
  repository = google_artifact_registry_repository.service[each.key].repository_id
  role       = "roles/artifactregistry.reader"
  member     = "serviceAccount:${google_service_account.intake.email}"
}
