"""IAM's refusals where moto 5.2 accepts (sources in ``tests/conformance/test_conformance_iam.py``):

- a trust policy (CreateRole, UpdateAssumeRolePolicy) that is not JSON, or whose statements
  lack a Principal or carry a Resource: 400 ``MalformedPolicyDocument``;
- a policy ARN that is not an ARN (a learner passes ``AWSLambdaBasicExecutionRole``): 400
  ``ValidationError`` "ARN NAME is not valid.";
- DeletePolicy of a policy still attached to a user, group or role: 409 ``DeleteConflict``
  "Cannot delete a policy attached to entities.".
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs

from workshop.localcloud.rules.wsgi import Answer, WsgiApp, call, query_xml_error, read_body

INVALID_JSON = "This policy contains invalid Json"
SYNTAX_ERRORS = "Syntax errors in policy."
MISSING_PRINCIPAL = "Missing required field Principal"
PROHIBITED_RESOURCE = "Has prohibited field Resource"
ATTACHED = "Cannot delete a policy attached to entities."

_TRUST_POLICY_PARAMETER = {"CreateRole": "AssumeRolePolicyDocument", "UpdateAssumeRolePolicy": "PolicyDocument"}
_POLICY_ARN_ACTIONS = {
    "AttachRolePolicy", "DetachRolePolicy", "AttachUserPolicy", "DetachUserPolicy",
    "AttachGroupPolicy", "DetachGroupPolicy", "DeletePolicy", "GetPolicy", "GetPolicyVersion",
    "ListEntitiesForPolicy", "CreatePolicyVersion", "DeletePolicyVersion", "ListPolicyVersions",
    "SetDefaultPolicyVersion",
}


def trust_policy_problem(document: str) -> str | None:
    """AWS's MalformedPolicyDocument message for a trust policy, or None when it is well formed."""
    try:
        policy = json.loads(document)
    except ValueError:
        return INVALID_JSON
    if not isinstance(policy, dict):
        return INVALID_JSON
    statements = policy.get("Statement")
    if isinstance(statements, dict):
        statements = [statements]
    if statements is None:
        statements = []
    if not isinstance(statements, list) or not all(isinstance(s, dict) for s in statements):
        return SYNTAX_ERRORS
    # Only refusals whose wording AWS is known to use; other structural mistakes (an empty
    # Statement, an odd Effect) are left to moto, see the README's local-versus-AWS list.
    for statement in statements:
        if "Resource" in statement or "NotResource" in statement:
            return PROHIBITED_RESOURCE
        if "Principal" not in statement and "NotPrincipal" not in statement:
            return MISSING_PRINCIPAL
    return None


def is_arn(text: str) -> bool:
    parts = text.split(":", 5)
    return len(parts) == 6 and parts[0] == "arn" and bool(parts[1]) and bool(parts[2])


def handle(app: WsgiApp, environ: dict[str, Any]) -> Answer:
    body = read_body(environ)
    form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True).items()}
    action = form.get("Action", "")

    parameter = _TRUST_POLICY_PARAMETER.get(action)
    if parameter and parameter in form:
        problem = trust_policy_problem(form[parameter])
        if problem:
            return query_xml_error("MalformedPolicyDocument", problem, 400)
    if action in _POLICY_ARN_ACTIONS and "PolicyArn" in form and not is_arn(form["PolicyArn"]):
        return query_xml_error("ValidationError", f"ARN {form['PolicyArn']} is not valid.", 400)
    if action == "DeletePolicy" and _attached(form.get("PolicyArn", "")):
        return query_xml_error("DeleteConflict", ATTACHED, 409)
    return call(app, environ)


def _attached(policy_arn: str) -> bool:
    from moto.iam.models import iam_backends

    from workshop.localcloud import config

    account = policy_arn.split(":")[4] if policy_arn.count(":") >= 5 else ""
    if not account.isdigit():
        account = config.ACCOUNT_ID
    try:
        backend = iam_backends[account]["global"]
        policy = backend.managed_policies.get(policy_arn)
    except (KeyError, AttributeError):
        return False
    return bool(policy is not None and getattr(policy, "attachment_count", 0) > 0)
