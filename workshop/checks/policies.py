"""Reading IAM and Lambda resource policies: what a role may do, and who may invoke a function.

Pure functions on the policy documents (tested on their own, no cloud needed), because the
rules (least privilege on the table, logs allowed, API Gateway allowed to invoke) are where
learners most often go wrong.
"""

from __future__ import annotations

import fnmatch
import json
from typing import Any

# The actions the reference Lambda calls on its table: GET/POST/PATCH/DELETE /product and the
# Scan behind GET /products.
REQUIRED_TABLE_ACTIONS = ("GetItem", "PutItem", "UpdateItem", "DeleteItem", "Scan")
LOG_ACTIONS = ("logs:CreateLogStream", "logs:PutLogEvents")


def policy_document(document: Any) -> dict:
    """IAM returns documents URL-decoded and parsed by boto3; tolerate a raw JSON string too."""
    if isinstance(document, str):
        from urllib.parse import unquote

        try:
            return json.loads(document)
        except ValueError:
            return json.loads(unquote(document))
    return document or {}


def _as_list(value: Any) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _statements(document: dict) -> list[dict]:
    return [s for s in _as_list(document.get("Statement")) if isinstance(s, dict)]


def trusts_lambda(document: dict) -> bool:
    """Whether a role's trust policy lets Lambda assume it."""
    for statement in _statements(document):
        principal = statement.get("Principal", {})
        services = _as_list(principal.get("Service")) if isinstance(principal, dict) else []
        actions = _as_list(statement.get("Action"))
        if (statement.get("Effect") == "Allow" and "lambda.amazonaws.com" in services
                and any(a in ("sts:AssumeRole", "sts:*", "*") for a in actions)):
            return True
    return False


def allows_logs(documents: list[dict]) -> bool:
    """Whether the policies let the function write its log streams (without the managed policy)."""
    granted = set()
    for document in documents:
        for statement in _statements(document):
            if statement.get("Effect") != "Allow":
                continue
            for action in _as_list(statement.get("Action")):
                for wanted in LOG_ACTIONS:
                    if fnmatch.fnmatchcase(wanted.lower(), str(action).lower()):
                        granted.add(wanted)
    return granted == set(LOG_ACTIONS)


def table_policy_problems(documents: list[dict], table_arn: str) -> list[str]:
    """What is wrong with the DynamoDB part of a role's policies, as least privilege sees it.

    Every Allow statement with a DynamoDB action must name this table's ARN (or its indexes),
    never '*' or a pattern that matches other tables; no dynamodb:* or '*' actions; and the
    actions the API needs must be granted on the table.
    """
    problems: list[str] = []
    granted: set[str] = set()
    allowed_resources = {table_arn, f"{table_arn}/index/*"}
    for document in documents:
        for statement in _statements(document):
            if statement.get("Effect") != "Allow":
                continue
            if "NotAction" in statement or "NotResource" in statement:
                problems.append("a statement uses NotAction/NotResource, which grants far more "
                                "than it names")
                continue
            actions = [str(a) for a in _as_list(statement.get("Action"))]
            table_actions = [a for a in actions if a.lower().startswith("dynamodb:") or a == "*"]
            if not table_actions:
                continue
            wildcards = [a for a in table_actions if "*" in a or "?" in a]
            if wildcards:
                problems.append(f"actions {wildcards} grant every matching DynamoDB action")
            resources = [str(r) for r in _as_list(statement.get("Resource"))]
            wide = [r for r in resources if r not in allowed_resources]
            if wide:
                problems.append(f"resource {wide} is not this table ({table_arn})")
            if not wide:
                for action in table_actions:
                    pattern = action.split(":", 1)[-1].lower() if ":" in action else "*"
                    granted.update(a.lower() for a in REQUIRED_TABLE_ACTIONS
                                   if fnmatch.fnmatchcase(a.lower(), pattern))
    missing = [a for a in REQUIRED_TABLE_ACTIONS if a.lower() not in granted]
    if missing:
        problems.append(f"missing {', '.join('dynamodb:' + a for a in missing)} on the table")
    return problems


def permission_allows(policy: dict, source_arn: str) -> tuple[bool, str]:
    """Whether a Lambda resource policy lets API Gateway invoke from ``source_arn``."""
    seen = []
    for statement in _statements(policy):
        principal = statement.get("Principal", {})
        service = principal.get("Service") if isinstance(principal, dict) else principal
        if statement.get("Effect") != "Allow" or "apigateway.amazonaws.com" not in _as_list(service):
            continue
        actions = _as_list(statement.get("Action"))
        if not any(a in ("lambda:InvokeFunction", "lambda:*", "*") for a in actions):
            continue
        condition = statement.get("Condition", {}) or {}
        patterns = []
        for operator in ("ArnLike", "ArnEquals", "StringLike", "StringEquals"):
            for key, value in (condition.get(operator) or {}).items():
                if key.lower() == "aws:sourcearn":
                    patterns += _as_list(value)
        if not patterns:
            return True, "allowed from any API (consider a SourceArn)"
        seen += patterns
        if any(fnmatch.fnmatchcase(source_arn, pattern) for pattern in patterns):
            return True, f"SourceArn {patterns}"
    if seen:
        return False, f"the permission's SourceArn {seen} does not match {source_arn} " \
                      "(was the API re-created?)"
    return False, "no statement allows apigateway.amazonaws.com to invoke the function"
