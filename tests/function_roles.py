"""Roles for test functions, now that the local cloud enforces IAM.

A function runs as its execution role, so a role with no permissions gives a function that writes
no CloudWatch logs and is refused by DynamoDB, as on AWS. Tests whose functions must log (or use
DynamoDB) give their role this inline policy; tests of the refusals leave it out.
"""

from __future__ import annotations

import json
from typing import Any

POLICY_NAME = "test-function-basics"

#: What the test functions use: their logs and DynamoDB (any table: tests make their own).
FUNCTION_BASICS_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": "*",
        },
        {"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"},
    ],
}


def allow_function_basics(iam: Any, role_name: str) -> None:
    """Let functions running as ``role_name`` write their logs and use DynamoDB."""
    iam.put_role_policy(
        RoleName=role_name, PolicyName=POLICY_NAME, PolicyDocument=json.dumps(FUNCTION_BASICS_POLICY)
    )


def delete_role(iam: Any, role_name: str) -> None:
    """Delete a test role and its inline policy (IAM refuses to delete a role that has one)."""
    iam.delete_role_policy(RoleName=role_name, PolicyName=POLICY_NAME)
    iam.delete_role(RoleName=role_name)
