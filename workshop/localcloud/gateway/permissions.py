"""Does the function's resource policy let API Gateway invoke it?

On AWS, API Gateway calls Lambda as the service principal ``apigateway.amazonaws.com``; unless the
function's resource-based policy (``lambda add-permission``) allows that, the call is refused and
the client gets 500 ``{"message": "Internal server error"}`` (the execution log says "Invalid
permissions on Lambda function"). Learners who build the API with boto3 instead of the console
meet this, so the local gateway checks the policy moto stores (``LambdaFunction.policy``).

The evaluation covers what ``add_permission`` writes: Effect, Principal, Action and the
``AWS:SourceArn`` / ``AWS:SourceAccount`` conditions with the String and Arn operators.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

API_GATEWAY_PRINCIPAL = "apigateway.amazonaws.com"
_INVOKE_ACTIONS = {"lambda:invokefunction", "lambda:*", "*"}


@dataclass(frozen=True)
class InvokeSource:
    """Who is calling: the values of the condition keys API Gateway's call carries.

    ``source_arns`` lists the execute-api ARNs the call may be described by
    (``arn:aws:execute-api:{region}:{account}:{api}/{stage}/{METHOD}{resourcePath}``). Both the
    resource template and the concrete request path are listed, so a policy written for either
    form is honoured.
    """

    source_arns: tuple[str, ...]
    source_account: str


def execute_api_arns(
    *,
    region: str,
    account_id: str,
    api_id: str,
    stage: str,
    http_method: str,
    resource_path: str,
    request_path: str,
) -> tuple[str, ...]:
    """The execute-api ARNs of one call; the root resource gives ``.../prod/GET/``."""
    prefix = f"arn:aws:execute-api:{region}:{account_id}:{api_id}/{stage}/{http_method.upper()}"
    arns = [prefix + resource_path]
    if request_path != resource_path:
        arns.append(prefix + request_path)
    return tuple(arns)


def allows_invoke(policy_statements: Iterable[dict[str, Any]], source: InvokeSource) -> bool:
    """True when an Allow statement matches API Gateway's call and no Deny statement does.

    IAM evaluation: an explicit Deny wins, otherwise an explicit Allow is needed.
    """
    allowed = False
    for statement in policy_statements:
        if not _applies(statement, source):
            continue
        effect = str(statement.get("Effect", "Allow"))
        if effect == "Deny":
            return False
        if effect == "Allow":
            allowed = True
    return allowed


def _applies(statement: dict[str, Any], source: InvokeSource) -> bool:
    return (
        _principal_matches(statement.get("Principal"))
        and _action_matches(statement.get("Action"))
        and _conditions_hold(statement.get("Condition") or {}, source)
    )


def _principal_matches(principal: Any) -> bool:
    if principal == "*":
        return True
    if isinstance(principal, str):
        return principal == API_GATEWAY_PRINCIPAL
    if isinstance(principal, dict):
        services = _as_list(principal.get("Service"))
        anyone = _as_list(principal.get("AWS"))
        return API_GATEWAY_PRINCIPAL in services or "*" in anyone
    return False


def _action_matches(action: Any) -> bool:
    return any(str(item).lower() in _INVOKE_ACTIONS for item in _as_list(action))


def _conditions_hold(conditions: dict[str, Any], source: InvokeSource) -> bool:
    """Every operator block must hold (IAM ANDs them); within a key, any listed value may match."""
    context = {
        "aws:sourcearn": list(source.source_arns),
        "aws:sourceaccount": [source.source_account],
    }
    for operator, block in conditions.items():
        if not isinstance(block, dict):
            return False
        base = operator[:-len("IfExists")] if operator.endswith("IfExists") else operator
        for key, expected in block.items():
            actual = context.get(key.lower())
            if actual is None:
                # A key the call does not carry fails the condition, unless "...IfExists".
                if base == operator:
                    return False
                continue
            if not _operator_holds(base, _as_list(expected), actual):
                return False
    return True


def _operator_holds(operator: str, expected: list[Any], actual: list[str]) -> bool:
    negated = "Not" in operator
    positive = operator.replace("Not", "")
    if positive == "StringEquals":
        hit = any(str(want) == value for want in expected for value in actual)
    elif positive == "StringEqualsIgnoreCase":
        hit = any(str(want).lower() == value.lower() for want in expected for value in actual)
    elif positive == "StringLike":
        hit = any(_glob(str(want), value) for want in expected for value in actual)
    elif positive in ("ArnLike", "ArnEquals"):
        hit = any(_arn_like(str(want), value) for want in expected for value in actual)
    else:
        # An operator this check does not model: do not refuse a call AWS might allow.
        return True
    return not hit if negated else hit


def _glob(pattern: str, value: str) -> bool:
    """IAM wildcards: ``*`` any run of characters, ``?`` one character."""
    return _glob_regex(pattern).fullmatch(value) is not None


@functools.lru_cache(maxsize=1024)
def _glob_regex(pattern: str) -> re.Pattern[str]:
    # Every request through the gateway checks the same few policy patterns: translate each
    # once, not on every call.
    return re.compile(re.escape(pattern).replace(r"\*", ".*").replace(r"\?", "."), re.DOTALL)


def _arn_like(pattern: str, value: str) -> bool:
    """ArnLike compares the six colon-separated ARN parts one by one, each with wildcards."""
    pattern_parts = pattern.split(":", 5)
    value_parts = value.split(":", 5)
    if len(pattern_parts) != 6 or len(value_parts) != 6:
        return False
    return all(_glob(p, v) for p, v in zip(pattern_parts, value_parts))


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]
