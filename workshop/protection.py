"""Lab 08's protected API: resource names, and the credentials a client sends.

After lab 08 the write methods (POST, PATCH, DELETE /product and POST /product/stock) need two
things: an API key in ``x-api-key`` (it identifies and meters the caller through a usage plan)
and a bearer token the Lambda authorizer accepts (``Authorization: Bearer <clerk>.<signature>``).
The notebook, the catch-up build, the scripts (Postman environment, browser page) and the tests
all get them from :func:`api_credentials`, so none keeps a copy of a secret.

The authorizer (``solutions/authorizer/lambda_function.py``) checks the token's HMAC-SHA256
signature with the secret in its own environment (``TOKEN_SECRET``); whoever can read the
function's configuration can issue tokens, which is what the learner does here.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

from workshop.naming import NAME_PREFIX, OWNER_TAG_KEY, ResourceNames, resource_names
from workshop.paths import SOLUTIONS_DIR

AUTHORIZER_DIR = SOLUTIONS_DIR / "authorizer"
DEFAULT_CLERK = "clerk"
READ_ONLY_CLERK = "auditor"
#: The methods lab 08 protects with the authorizer and the API key.
PROTECTED_METHODS = {"/product": ["POST", "PATCH", "DELETE"], "/product/stock": ["POST"]}


@dataclass(frozen=True)
class ProtectionNames:
    """The names of what lab 08 adds to one learner's stack."""

    owner: str
    authorizer_function: str
    authorizer_role: str
    authorizer_role_policy: str
    authorizer_log_group: str
    authorizer: str  # the API Gateway authorizer
    usage_plan: str
    api_key: str


def protection_names(names: ResourceNames | None = None) -> ProtectionNames:
    names = names or resource_names()
    base = f"{NAME_PREFIX}-{names.owner}"
    function = f"{base}-authorizer"
    return ProtectionNames(
        owner=names.owner,
        authorizer_function=function,
        authorizer_role=f"{function}-role",
        authorizer_role_policy=f"{function}-logs",
        authorizer_log_group=f"/aws/lambda/{function}",
        authorizer=f"{base}-tokens",
        usage_plan=f"{base}-plan",
        api_key=f"{base}-key",
    )


def issue_token(clerk: str, secret: str) -> str:
    """A bearer token for ``clerk``: ``<clerk>.<base64url HMAC-SHA256 of clerk>`` (as the authorizer checks)."""
    digest = hmac.new(secret.encode("utf-8"), clerk.encode("utf-8"), hashlib.sha256).digest()
    return f"{clerk}." + base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def find_api_key(apigateway: Any, names: ProtectionNames) -> dict | None:
    """The owner's API key (with its value), found by name and owner tag, or None."""
    for page in apigateway.get_paginator("get_api_keys").paginate(nameQuery=names.api_key, includeValues=True):
        for key in page["items"]:
            if key.get("name") == names.api_key and key.get("tags", {}).get(OWNER_TAG_KEY) == names.owner:
                return key
    return None


def find_usage_plan(apigateway: Any, names: ProtectionNames) -> dict | None:
    for page in apigateway.get_paginator("get_usage_plans").paginate():
        for plan in page["items"]:
            if plan.get("name") == names.usage_plan and plan.get("tags", {}).get(OWNER_TAG_KEY) == names.owner:
                return plan
    return None


def token_secret(lambda_client: Any, names: ProtectionNames) -> str | None:
    try:
        config = lambda_client.get_function_configuration(FunctionName=names.authorizer_function)
    except lambda_client.exceptions.ResourceNotFoundException:
        return None
    return config.get("Environment", {}).get("Variables", {}).get("TOKEN_SECRET")


def api_credentials(names: ResourceNames | None = None, clerk: str = DEFAULT_CLERK) -> dict[str, str]:
    """The headers a client sends to the write methods once lab 08 is built; {} before that."""
    import boto3

    protection = protection_names(names)
    headers: dict[str, str] = {}
    key = find_api_key(boto3.client("apigateway"), protection)
    if key is not None and key.get("value"):
        headers["x-api-key"] = key["value"]
    secret = token_secret(boto3.client("lambda"), protection)
    if secret:
        headers["Authorization"] = f"Bearer {issue_token(clerk, secret)}"
    return headers
