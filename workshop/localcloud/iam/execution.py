"""What Lambda does with a function's execution role, locally as on AWS.

- **Credentials.** Lambda assumes the role and hands each execution environment temporary
  credentials in ``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY`` / ``AWS_SESSION_TOKEN``
  (Lambda Developer Guide, "Defined runtime environment variables"); the handler's calls then act
  as ``arn:aws:sts::ACCOUNT:assumed-role/ROLE/FUNCTION_NAME``. Here the session is created in
  moto's STS backend, so the keys are real keys the endpoint recognises.
- **Logs.** Lambda writes the function's logs with the role's permissions ("Lambda execution
  role", and AWSLambdaBasicExecutionRole): without ``logs:CreateLogGroup`` (when the group does
  not exist yet), ``logs:CreateLogStream`` and ``logs:PutLogEvents`` the function still runs but
  nothing reaches CloudWatch Logs.
"""

from __future__ import annotations

import functools
import logging

from workshop.localcloud import config
from workshop.localcloud.iam.actions import Check, log_group_resource
from workshop.localcloud.iam.authorizer import authorize_check, role_trusts_service
from workshop.localcloud.iam.principals import ASSUMED_ROLE, PARTITION, Principal

log = logging.getLogger("workshop.localcloud.iam")

#: How long the credentials of an execution environment are valid (AssumeRole's maximum; the
#: local cloud does not expire sessions, this is only what moto records).
SESSION_SECONDS = 12 * 3600


def execution_role_credentials(
    role_arn: str,
    function_name: str,
    *,
    account_id: str = config.ACCOUNT_ID,
    region: str = config.REGION,
) -> dict[str, str]:
    """Temporary credentials of ``role_arn`` for one execution environment of ``function_name``,
    as the three environment variables Lambda sets."""
    from moto.sts.models import sts_backends

    session = sts_backends[account_id][PARTITION].assume_role(
        region_name=region,
        role_session_name=function_name,
        role_arn=role_arn,
        policy=None,
        duration=SESSION_SECONDS,
        external_id=None,
    )
    return {
        "AWS_ACCESS_KEY_ID": session.access_key_id,
        "AWS_SECRET_ACCESS_KEY": session.secret_access_key,
        "AWS_SESSION_TOKEN": session.session_token,
    }


def function_principal(role_arn: str, function_name: str, account_id: str = config.ACCOUNT_ID) -> Principal:
    """The principal a function's code (and Lambda on its behalf) acts as."""
    role_name = role_arn.rsplit("/", 1)[-1]
    return Principal(
        kind=ASSUMED_ROLE,
        arn=f"arn:{PARTITION}:sts::{account_id}:assumed-role/{role_name}/{function_name}",
        account_id=account_id,
        name=role_name,
        session_name=function_name,
        role_arn=role_arn,
    )


def function_may_write_logs(
    role_arn: str,
    function_name: str,
    group: str,
    stream: str,
    *,
    group_exists: bool,
    stream_exists: bool,
    account_id: str = config.ACCOUNT_ID,
    region: str = config.REGION,
) -> bool:
    """May Lambda write the function's log events, with its role's permissions?

    The role must exist and trust lambda.amazonaws.com (otherwise Lambda cannot act as it), and
    allow every call a write needs: ``logs:CreateLogGroup`` when the group is missing,
    ``logs:CreateLogStream`` when the stream is, and ``logs:PutLogEvents``.
    """
    if not role_trusts_service(role_arn, "lambda.amazonaws.com", account_id=account_id):
        _log_no_logs(function_name, f"the role {role_arn} is missing or does not trust lambda.amazonaws.com")
        return False
    principal = function_principal(role_arn, function_name, account_id)
    needed = []
    if not group_exists:
        needed.append(Check("logs:CreateLogGroup", log_group_resource(region, account_id, group)))
    if not stream_exists:
        needed.append(Check("logs:CreateLogStream", log_group_resource(region, account_id, group, stream)))
    needed.append(Check("logs:PutLogEvents", log_group_resource(region, account_id, group, stream)))
    for check in needed:
        decision = authorize_check(principal, check, region, log_denial=False)
        if not decision.allowed:
            _log_no_logs(function_name, decision.message)
            return False
    return True


@functools.lru_cache(maxsize=256)
def _log_no_logs(function_name: str, reason: str) -> None:
    # Once per function and reason: Lambda drops the logs silently on AWS; the local cloud's
    # own log says why, so "where are my logs?" has an answer.
    log.warning("Lambda cannot write the logs of %s with its execution role: %s", function_name, reason)
