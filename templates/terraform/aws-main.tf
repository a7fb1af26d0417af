locals {
  github_oidc_url      = {= oidc_url | hcl =}
  github_oidc_audience = {= audience | hcl =}
  github_oidc_provider_arn = one(concat(
    aws_iam_openid_connect_provider.github[*].arn,
    data.aws_iam_openid_connect_provider.github[*].arn,
  ))

  # One role per service whose app repository builds its image: the role name is the one the
  # service's CI workflow assumes; its subject (github.tf) admits that repository's main
  # branch running the gitops repository's service CI workflow only.
{% if roles %}
  ci_roles = {
{% for role in roles %}
    {= role.service | hcl =} = {
      role_name      = {= role.role_name | hcl =}
      description    = {= role.description | hcl =}
      repository     = {= role.repository | hcl =}
      repository_arn = {= role.repository_arn | hcl =}
    }
{% endfor %}
  }
{% else %}
  ci_roles = {}
{% endif %}
}

# AWS validates GitHub's certificate against its own trusted CAs, so no thumbprint is set.
resource "aws_iam_openid_connect_provider" "github" {
  count = var.create_oidc_provider ? 1 : 0

  url            = local.github_oidc_url
  client_id_list = [local.github_oidc_audience]
}

data "aws_iam_openid_connect_provider" "github" {
  count = var.create_oidc_provider ? 0 : 1

  url = local.github_oidc_url
}

data "aws_iam_policy_document" "ci_trust" {
  for_each = local.ci_roles

  statement {
    sid     = "GitHubActionsMainBranch"
    effect  = "Allow"
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [local.github_oidc_provider_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "token.actions.githubusercontent.com:aud"
      values   = [local.github_oidc_audience]
    }

    condition {
      test     = "StringEquals"
      variable = "token.actions.githubusercontent.com:sub"
      values   = [local.ci_subjects[each.value.repository]]
    }
  }
}

data "aws_iam_policy_document" "ci_push" {
  for_each = local.ci_roles

  statement {
    sid       = "PushThisServiceImage"
    effect    = "Allow"
    resources = [each.value.repository_arn]
    actions = [
{% for action in push_actions %}
      {= action | hcl =},
{% endfor %}
    ]
  }

  # The registry login: this one action takes no resource narrower than all (*).
  statement {
    sid       = "RegistryLogin"
    effect    = "Allow"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }
}

resource "aws_iam_role" "ci" {
  for_each = local.ci_roles

  name                 = each.value.role_name
  description          = each.value.description
  assume_role_policy   = data.aws_iam_policy_document.ci_trust[each.key].json
  permissions_boundary = var.permissions_boundary_arn
}

resource "aws_iam_role_policy" "ci_push" {
  for_each = local.ci_roles

  name   = "ecr-push"
  role   = aws_iam_role.ci[each.key].id
  policy = data.aws_iam_policy_document.ci_push[each.key].json
}
{% if intake.repository_arns %}

# The intake workflow of the gitops repository: reads every service's images and their
# attestations (OCI referrers) to verify them; pushes nothing.
data "aws_iam_policy_document" "intake_trust" {
  statement {
    sid     = "GitHubActionsIntake"
    effect  = "Allow"
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [local.github_oidc_provider_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "token.actions.githubusercontent.com:aud"
      values   = [local.github_oidc_audience]
    }

    condition {
      test     = "StringEquals"
      variable = "token.actions.githubusercontent.com:sub"
      values   = local.intake_subjects
    }
  }
}

data "aws_iam_policy_document" "intake_read" {
  statement {
    sid    = "ReadServiceImages"
    effect = "Allow"
    resources = [
{% for arn in intake.repository_arns %}
      {= arn | hcl =},
{% endfor %}
    ]
    actions = [
{% for action in read_actions %}
      {= action | hcl =},
{% endfor %}
    ]
  }

  statement {
    sid       = "RegistryLogin"
    effect    = "Allow"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }
}

resource "aws_iam_role" "intake" {
  name                 = {= intake.role_name | hcl =}
  description          = {= intake.description | hcl =}
  assume_role_policy   = data.aws_iam_policy_document.intake_trust.json
  permissions_boundary = var.permissions_boundary_arn
}

resource "aws_iam_role_policy" "intake_read" {
  name   = "ecr-read"
  role   = aws_iam_role.intake.id
  policy = data.aws_iam_policy_document.intake_read.json
}
{% endif %}
