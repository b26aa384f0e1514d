"""IAM answers as AWS answers: each test is one fact and names its source.

Sources:
- CREATE_ROLE: https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html (Errors:
  MalformedPolicyDocument, 400). AWS's texts, as AWS returns them to the CLI and Terraform:
  "This policy contains invalid Json" (not JSON), "Missing required field Principal" (a trust
  policy statement without one), "Has prohibited field Resource" (a trust policy names no
  resource).
- ATTACH: https://docs.aws.amazon.com/IAM/latest/APIReference/API_AttachRolePolicy.html
  (PolicyArn must be an ARN; errors: InvalidInput / ValidationError 400). AWS answers a name
  instead of an ARN with ValidationError "ARN NAME is not valid.".
- DELETE_POLICY: https://docs.aws.amazon.com/IAM/latest/APIReference/API_DeletePolicy.html
  ("you must detach the policy from all users, groups, and roles"; DeleteConflict, 409:
  "Cannot delete a policy attached to entities.").
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from localcloud_support import TRUST_POLICY

pytestmark = pytest.mark.localcloud

LOGS_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "logs:CreateLogGroup", "Resource": "*"}],
}


@pytest.fixture(scope="module")
def iam(local_cloud) -> Any:
    return boto3.client("iam")


@pytest.fixture
def role(iam) -> Iterator[str]:
    name = f"conformance-{uuid.uuid4().hex[:8]}"
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST_POLICY))
    yield name
    for attached in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]:
        iam.detach_role_policy(RoleName=name, PolicyArn=attached["PolicyArn"])
    iam.delete_role(RoleName=name)


def refused(call: Any, **kwargs: Any) -> dict[str, Any]:
    with pytest.raises(ClientError) as error:
        call(**kwargs)
    return error.value.response


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("{not json", "This policy contains invalid Json"),
        ('"a string"', "This policy contains invalid Json"),
        (json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole"}]}),
         "Missing required field Principal"),
        (json.dumps({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole",
            "Resource": "*"}]}),
         "Has prohibited field Resource"),
    ],
)
def test_a_malformed_trust_policy_is_refused(iam, document, message):
    name = f"conformance-bad-{uuid.uuid4().hex[:6]}"
    response = refused(iam.create_role, RoleName=name, AssumeRolePolicyDocument=document)
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert (response["Error"]["Code"], response["Error"]["Message"]) == ("MalformedPolicyDocument", message)
    assert not any(r["RoleName"] == name for r in iam.list_roles()["Roles"])


def test_update_assume_role_policy_checks_the_document_too(iam, role):
    response = refused(iam.update_assume_role_policy, RoleName=role, PolicyDocument="{")
    assert response["Error"]["Code"] == "MalformedPolicyDocument"


@pytest.mark.parametrize("policy_arn", ["AWSLambdaBasicExecutionRole", "service-role/AWSLambdaBasicExecutionRole"])
def test_attaching_a_policy_by_name_instead_of_arn_is_a_validation_error(iam, role, policy_arn):
    response = refused(iam.attach_role_policy, RoleName=role, PolicyArn=policy_arn)
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert (response["Error"]["Code"], response["Error"]["Message"]) == (
        "ValidationError", f"ARN {policy_arn} is not valid."
    )


def test_deleting_a_policy_still_attached_is_a_conflict(iam, role):
    arn = iam.create_policy(
        PolicyName=f"conformance-{uuid.uuid4().hex[:8]}", PolicyDocument=json.dumps(LOGS_POLICY)
    )["Policy"]["Arn"]
    iam.attach_role_policy(RoleName=role, PolicyArn=arn)
    response = refused(iam.delete_policy, PolicyArn=arn)
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 409
    assert (response["Error"]["Code"], response["Error"]["Message"]) == (
        "DeleteConflict", "Cannot delete a policy attached to entities."
    )
    # once detached, it can be deleted
    iam.detach_role_policy(RoleName=role, PolicyArn=arn)
    iam.delete_policy(PolicyArn=arn)
