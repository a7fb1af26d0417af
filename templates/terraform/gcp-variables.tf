variable "labels" {
  description = "Labels added to every Artifact Registry repository this configuration creates."
  type        = map(string)
  default     = {}
}
