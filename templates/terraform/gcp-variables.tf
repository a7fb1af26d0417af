variable "create_service_account" {
  description = "Create the service account CI impersonates (cloud.service_account in services.toml). Set to false when it already exists and is managed elsewhere; it is then looked up, and only the bindings below are added to it."
  type        = bool
  default     = true
}
