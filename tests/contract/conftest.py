"""A stack of its own for the property-based tests: their generated products never reach the
stack the rest of the suite shares (whose product counts other tests rely on).

It is built through lab 08 (``deploy(through=8)``, the lab's own build cells): ``POST
/product/stock`` exists, and the write methods need the authorizer's token and the usage plan's
API key, as api/openapi.yaml's ``security`` says. The stack's ``credentials`` are the headers a
client sends for them (``workshop.protection.api_credentials``).

One change to what the lab builds: the usage plan's limits are raised (the lab's 50 requests/s,
bursts of 100, would throttle the generated requests to 429 now and then, and the tests that
expect the function's answer would flake). The 429 answers are checked on a plan of their own
(``test_openapi_live.py``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

CONTRACT_OWNER = "contract"
# Lab 08's build: /product/stock, the authorizer, the API key and the usage plan.
CONTRACT_THROUGH_LAB = 8
# API Gateway's account-level defaults: 10,000 requests/s, bursts of 5,000 (the most a usage
# plan may allow); and a quota no run comes near.
UNTHROTTLED = [
    {"op": "replace", "path": "/throttle/rateLimit", "value": "10000"},
    {"op": "replace", "path": "/throttle/burstLimit", "value": "5000"},
    {"op": "replace", "path": "/quota/limit", "value": "1000000"},
]


@pytest.fixture(scope="session")
def contract_stack(local_cloud) -> Iterator[dict]:
    """The reference stack through lab 08, built for the owner ``contract`` on the shared local
    cloud, with ``credentials`` (``x-api-key`` and ``Authorization``) for its write methods.

    The owner is switched only while the stack is built: the rest of the session keeps its own.
    """
    import boto3

    from workshop.deploy import deploy
    from workshop.naming import resource_names
    from workshop.protection import api_credentials, find_usage_plan, protection_names

    saved = os.environ.get("WORKSHOP_OWNER")
    os.environ["WORKSHOP_OWNER"] = CONTRACT_OWNER
    try:
        stack = deploy(through=CONTRACT_THROUGH_LAB, quiet=True)
    finally:
        if saved is None:
            os.environ.pop("WORKSHOP_OWNER", None)
        else:
            os.environ["WORKSHOP_OWNER"] = saved
    apigateway = boto3.client("apigateway")
    plan = find_usage_plan(apigateway, protection_names(resource_names(CONTRACT_OWNER)))
    assert plan is not None, "lab 08's build left no usage plan"
    apigateway.update_usage_plan(usagePlanId=plan["id"], patchOperations=UNTHROTTLED)
    credentials = api_credentials(resource_names(CONTRACT_OWNER))
    assert set(credentials) == {"x-api-key", "Authorization"}, (
        f"lab 08's build left no API key or token secret: {sorted(credentials)}"
    )
    stack["credentials"] = credentials
    yield stack
