# Region and account come from services.toml; the provider refuses to run against any other
# account, so the role ARNs the CI workflows assume are the roles this creates.
provider "aws" {
  region              = {= region | hcl =}
  allowed_account_ids = {= [account] | hcl =}

  default_tags {
    tags = var.tags
  }
}
