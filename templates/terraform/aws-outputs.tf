output "github_oidc_provider_arn" {
  description = "The GitHub Actions OIDC provider the CI roles trust."
  value       = local.github_oidc_provider_arn
}

output "ci_role_arns" {
  description = "The IAM role each service's CI assumes, by service name."
  value       = { for service, role in aws_iam_role.ci : service => role.arn }
}
{% if roles %}

output "intake_role_arn" {
  description = "The IAM role the gitops repository's intake workflow assumes."
  value       = aws_iam_role.intake.arn
}
{% endif %}

output "ci_subjects" {
  description = "The OIDC subject each app repository's CI token carries, by repository."
  value       = local.ci_subjects
}

output "intake_subjects" {
  description = "The OIDC subjects of the intake and promote workflows' verify jobs."
  value       = local.intake_subjects
}
