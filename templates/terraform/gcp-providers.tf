provider "google" {
  project = {= project | hcl =}
  region  = {= region | hcl =}
}
