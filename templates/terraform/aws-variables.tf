variable "create_oidc_provider" {
  description = "Create the GitHub Actions OIDC provider (https://token.actions.githubusercontent.com). Set to false when the account already has one, which is then looked up instead: an account can hold only one provider per URL. An existing provider must list sts.amazonaws.com among its audiences."
  type        = bool
  default     = true
}

variable "permissions_boundary_arn" {
  description = "ARN of a managed policy to set as the permissions boundary of every CI role, where the organisation requires one; null for none."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags added to every resource this configuration creates."
  type        = map(string)
  default     = {}
}
