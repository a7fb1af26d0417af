output "github_oidc_provider_arn" {
  description = "The GitHub Actions OIDC provider the CI roles trust."
  value       = local.github_oidc_provider_arn
}

output "ci_role_arns" {
  description = "The IAM role each service's CI assumes, by service name."
  value       = { for service, role in aws_iam_role.ci : service => role.arn }
}
