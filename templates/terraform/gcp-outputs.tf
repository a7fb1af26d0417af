output "workload_identity_provider" {
  description = "The provider CI authenticates through (cloud.workload_identity_provider)."
  value       = google_iam_workload_identity_pool_provider.github.name
}

output "service_account_email" {
  description = "The service account CI impersonates (cloud.service_account)."
  value       = local.ci_service_account_email
}
