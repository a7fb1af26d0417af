# The identifiers below are parsed from cloud.workload_identity_provider and
# cloud.service_account in services.toml: the CI workflows authenticate with exactly those
# strings, so Terraform creates exactly those objects.
locals {
  project              = {= project | hcl =}
  project_number       = {= project_number | hcl =}
  pool_id              = {= pool_id | hcl =}
  provider_id          = {= provider_id | hcl =}
  service_account_id   = {= service_account_id | hcl =}
  service_account_project = {= service_account_project | hcl =}

  # Each app repository may impersonate the CI service account; the provider's
  # attribute_condition already limits every token to the organisation's main branches.
{% if bindings %}
  ci_repositories = {
{% for binding in bindings %}
    {= binding.service | hcl =} = {
      repository    = {= binding.repository | hcl =}
      principal_set = {= binding.principal_set | hcl =}
    }
{% endfor %}
  }
{% else %}
  ci_repositories = {}
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

resource "google_iam_workload_identity_pool_provider" "github" {
  project                            = local.project
  workload_identity_pool_id          = google_iam_workload_identity_pool.github.workload_identity_pool_id
  workload_identity_pool_provider_id = local.provider_id
  display_name                       = "GitHub Actions OIDC"
  description                        = "GitHub Actions tokens from the organisation's main branches."

  attribute_mapping = {
    "google.subject"             = "assertion.sub"
    "attribute.actor"            = "assertion.actor"
    "attribute.repository"       = "assertion.repository"
    "attribute.repository_owner" = "assertion.repository_owner"
    "attribute.ref"              = "assertion.ref"
  }
  attribute_condition = {= attribute_condition | hcl =}

  oidc {
    issuer_uri = {= issuer | hcl =}
  }
}

resource "google_service_account" "ci" {
  count = var.create_service_account ? 1 : 0

  project      = local.service_account_project
  account_id   = local.service_account_id
  display_name = "GitHub Actions CI"
  description  = {= service_account_description | hcl =}
}

data "google_service_account" "ci" {
  count = var.create_service_account ? 0 : 1

  project    = local.service_account_project
  account_id = local.service_account_id
}

locals {
  ci_service_account_name = one(concat(
    google_service_account.ci[*].name,
    data.google_service_account.ci[*].name,
  ))
  ci_service_account_email = one(concat(
    google_service_account.ci[*].email,
    data.google_service_account.ci[*].email,
  ))
}

resource "google_service_account_iam_member" "ci_workload_identity_user" {
  for_each = local.ci_repositories

  service_account_id = local.ci_service_account_name
  role               = "roles/iam.workloadIdentityUser"
  member             = each.value.principal_set

  # The principal set names the pool, which must exist before it can be granted anything.
  depends_on = [google_iam_workload_identity_pool_provider.github]
}

# Push access to the one Artifact Registry repository the images live in, not the project.
resource "google_artifact_registry_repository_iam_member" "ci_writer" {
  project    = {= registry.project | hcl =}
  location   = {= registry.location | hcl =}
  repository = {= registry.repository | hcl =}
  role       = "roles/artifactregistry.writer"
  member     = "serviceAccount:${local.ci_service_account_email}"
}
