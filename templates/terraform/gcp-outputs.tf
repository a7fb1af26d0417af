output "workload_identity_provider" {
  description = "The provider CI authenticates through (cloud.workload_identity_provider)."
  value       = google_iam_workload_identity_pool_provider.github.name
}

output "ci_service_account_emails" {
  description = "The service account each service's CI impersonates, by service name."
  value       = { for service, account in google_service_account.ci : service => account.email }
}

output "intake_service_account_email" {
  description = "The service account the gitops repository's intake workflow impersonates."
  value       = google_service_account.intake.email
}

output "ci_subjects" {
  description = "The OIDC subject each app repository's CI token carries, by repository."
  value       = local.ci_subjects
}

output "intake_subjects" {
  description = "The OIDC subjects of the intake and promote workflows' verify jobs."
  value       = local.intake_subjects
}
