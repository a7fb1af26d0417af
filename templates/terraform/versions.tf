terraform {
  required_version = {= terraform_version | hcl =}

  required_providers {
    {= provider.name =} = {
      source  = {= provider.source | hcl =}
      version = {= provider.version | hcl =}
    }
  }
}
