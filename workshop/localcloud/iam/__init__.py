"""Permissions of the local cloud: IAM enforced as AWS enforces it, in one place.

The AWS endpoint (:class:`IamEnforcer` wraps moto's WSGI app), the Lambda runtime (execution
role credentials, logs written with the role's permissions) and the execute-api gateway
(integration credentials) all ask this package.

Public API::

    from workshop.localcloud import iam

    caller = iam.identify("AKIA...", session_token=None)     # Principal (root for fake keys)
    decision = iam.authorize(caller, "dynamodb:GetItem",
                             "arn:aws:dynamodb:us-east-1:123456789012:table/t")
    decision.allowed, decision.explicit_deny, decision.message  # AWS's denial message

    iam.function_principal(role_arn, "fn")                   # the role session a function acts as
    iam.execution_role_credentials(role_arn, "fn")           # AWS_ACCESS_KEY_ID/..._SECRET.../SESSION_TOKEN
    iam.role_trusts_service(role_arn, "lambda.amazonaws.com")
    iam.may_assume(caller, role_arn)                         # sts:AssumeRole incl. the trust policy

Who is who: a key in AWS's format (``AKIA``/``ASIA`` + 16) must be an active IAM user key or an
assumed-role session (else ``InvalidClientTokenId`` / ``UnrecognizedClientException``); any other
key (the notebooks' ``testing``) is the account root, unrestricted.
"""

from __future__ import annotations

from workshop.localcloud import config
from workshop.localcloud.iam.actions import ApiCall, Check
from workshop.localcloud.iam.authorizer import (
    Decision,
    authorize,
    authorize_check,
    may_assume,
    role_trusts_service,
)
from workshop.localcloud.iam.execution import (
    execution_role_credentials,
    function_may_write_logs,
    function_principal,
)
from workshop.localcloud.iam.middleware import IamEnforcer
from workshop.localcloud.iam.principals import (
    InvalidCredentials,
    Principal,
    PrincipalDirectory,
    root_principal,
)

_directories: dict[str, PrincipalDirectory] = {}


def identify(access_key_id: str, session_token: str | None = None, *, account_id: str = config.ACCOUNT_ID) -> Principal:
    """The principal an access key (and session token) acts as; raises InvalidCredentials."""
    directory = _directories.get(account_id)
    if directory is None:
        directory = _directories[account_id] = PrincipalDirectory(account_id)
    return directory.identify(access_key_id, session_token)


__all__ = [
    "ApiCall",
    "Check",
    "Decision",
    "IamEnforcer",
    "InvalidCredentials",
    "Principal",
    "authorize",
    "authorize_check",
    "execution_role_credentials",
    "function_may_write_logs",
    "function_principal",
    "identify",
    "may_assume",
    "role_trusts_service",
    "root_principal",
]
