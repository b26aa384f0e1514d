"""API Gateway invoking a function with an integration role (the integration's ``credentials``).

API Gateway developer guide, "Lambda integrations / Set up Lambda proxy integrations": when the
integration names an IAM role in ``credentials``, API Gateway assumes that role and calls
``lambda:InvokeFunction`` with it — the function's resource-based policy is then not needed.
The role must trust ``apigateway.amazonaws.com`` and allow ``lambda:InvokeFunction`` on the
function. Without ``credentials``, the function's resource policy decides (see
``gateway/permissions.py``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from workshop.localcloud import config
from workshop.localcloud.iam.actions import Check
from workshop.localcloud.iam.authorizer import authorize_check, role_trusts_service
from workshop.localcloud.iam.principals import ASSUMED_ROLE, PARTITION, Principal

API_GATEWAY_PRINCIPAL = "apigateway.amazonaws.com"
_ROLE_ARN = re.compile(r"^arn:aws[\w-]*:iam::\d{12}:role/.+$")


@dataclass(frozen=True)
class IntegrationRoleCheck:
    allowed: bool
    reason: str  # why not, for the gateway's log ("" when allowed)


def integration_role_may_invoke(
    credentials: str, function_arn: str, *, account_id: str = config.ACCOUNT_ID, region: str = config.REGION
) -> IntegrationRoleCheck:
    """May API Gateway invoke ``function_arn`` with the integration role ``credentials``?"""
    if not _ROLE_ARN.match(credentials):
        return IntegrationRoleCheck(
            False,
            f"integration credentials {credentials!r} are not a role ARN (the local gateway does "
            "not pass callers' credentials through)",
        )
    if not role_trusts_service(credentials, API_GATEWAY_PRINCIPAL, account_id=account_id):
        return IntegrationRoleCheck(
            False, f"API Gateway cannot assume the integration role {credentials} (missing, or its "
            "trust policy does not allow apigateway.amazonaws.com)",
        )
    role_name = credentials.rsplit("/", 1)[-1]
    principal = Principal(
        kind=ASSUMED_ROLE,
        arn=f"arn:{PARTITION}:sts::{account_id}:assumed-role/{role_name}/ApiGateway",
        account_id=account_id,
        name=role_name,
        session_name="ApiGateway",
        role_arn=credentials,
    )
    decision = authorize_check(principal, Check("lambda:InvokeFunction", function_arn), region)
    if not decision.allowed:
        return IntegrationRoleCheck(False, decision.message)
    return IntegrationRoleCheck(True, "")
