"""Lab 03, first half: the execution role trusts Lambda, grants the table (only) and the logs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from workshop.checks.lookups import ResourceLookups
from workshop.checks.policies import (
    REQUIRED_TABLE_ACTIONS,
    allows_logs,
    policy_document,
    table_policy_problems,
    trusts_lambda,
)
from workshop.checks.result import CheckResult, catch_up, lab_hint

BASIC_EXECUTION_POLICY = "service-role/AWSLambdaBasicExecutionRole"


class RoleChecks(ResourceLookups):
    def _role_checks(self) -> Iterator[CheckResult]:
        iam = self.clients("iam")
        name = self.names.role
        role = self.role()
        if role is None:
            yield CheckResult("03", f"role {name} exists", False, "not found",
                              lab_hint("03", "create the execution role." + catch_up("03")),
                              missing=True)
            return
        yield CheckResult("03", f"role {name} exists", True)
        trust = policy_document(role.get("AssumeRolePolicyDocument"))
        ok = trusts_lambda(trust)
        yield CheckResult("03", "role trusts lambda.amazonaws.com (sts:AssumeRole)", ok,
                          json.dumps(trust), lab_hint("03", "set the trust policy so Lambda can "
                                                      "assume the role"))
        documents = self._role_documents(iam, name)
        problems = table_policy_problems(documents, self.table_arn())
        yield CheckResult(
            "03", "role grants the table's actions on this table only", not problems,
            "; ".join(problems),
            lab_hint("03", f"in the inline policy {self.names.role_policy}, allow "
                     f"{', '.join('dynamodb:' + a for a in REQUIRED_TABLE_ACTIONS)} with Resource "
                     "set to the table's ARN (least privilege: no '*', no dynamodb:*)"))
        attached = [p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName=name).get(
            "AttachedPolicies", [])]
        ok = any(arn.endswith(BASIC_EXECUTION_POLICY) for arn in attached) or allows_logs(documents)
        yield CheckResult("03", "role lets the function write CloudWatch Logs", ok,
                          f"attached {attached}",
                          lab_hint("03", "attach AWSLambdaBasicExecutionRole (or allow "
                                   "logs:CreateLogStream and logs:PutLogEvents)"))
        tags = {t["Key"]: t["Value"] for t in iam.list_role_tags(RoleName=name).get("Tags", [])}
        yield self._tag_check("03", "role", tags)

    def _role_documents(self, iam: Any, role: str) -> list[dict]:
        """The inline policies and the customer managed policies attached to the role."""
        documents = []
        for page in iam.get_paginator("list_role_policies").paginate(RoleName=role):
            for policy in page.get("PolicyNames", []):
                document = iam.get_role_policy(RoleName=role, PolicyName=policy)["PolicyDocument"]
                documents.append(policy_document(document))
        for policy in iam.list_attached_role_policies(RoleName=role).get("AttachedPolicies", []):
            arn = policy["PolicyArn"]
            if ":aws:policy/" in arn:
                continue  # AWS managed policies are read-only; their DynamoDB scope is not ours
            version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
            document = iam.get_policy_version(PolicyArn=arn, VersionId=version)
            documents.append(policy_document(document["PolicyVersion"]["Document"]))
        return documents
