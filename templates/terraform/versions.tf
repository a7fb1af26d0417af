terraform {
  required_version = {= terraform_version | hcl =}

  required_providers {
{% for provider in providers %}
    {= provider.name =} = {
      source  = {= provider.source | hcl =}
      version = {= provider.version | hcl =}
    }
{% endfor %}
  }
}
