"""Property-based tests: the live API on the local cloud answers as api/openapi.yaml says.

schemathesis generates requests from the description (valid ones and, for the bodies, invalid
ones) and sends them through the execute-api gateway to the reference Lambda and DynamoDB. For
every request:

- no 5xx: whatever a caller sends, the API answers it (design.md: bad input gets a clear 4xx);
- the status is one the description lists for that operation, the body matches its schema, and
  the documented headers (Content-Type, Access-Control-Allow-Origin) are present.

The contract stack is built through lab 08 (conftest.py), so the operations the description
marks with ``security`` get the stack's valid token and API key: generated bodies reach the
function, not only API Gateway's refusal. Half of the generated ``POST /product/stock`` bodies
name a product that exists, so its 200 and 409 answers are checked too, not only 400 and 404.
The refusals themselves (no token 401, no key 403, an explicit Deny 403 with ``Message``) are
checked against the description by the tests after the property-based one.

The number of examples per operation is kept small (the suite runs on 2 cores); hypothesis'
database is off, so every run draws afresh.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from contract_support import load_openapi, protected_operations

pytestmark = pytest.mark.localcloud

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]

OPENAPI = load_openapi()
PROTECTED = protected_operations(OPENAPI)
# Products that exist while the property-based test runs, with a quantity to take from.
STOCKED_PRODUCTS = ("contract-stock-a", "contract-stock-b")
STARTING_QUANTITY = 10

# Loaded at import (one test per operation); the live API's URL is only known once the stack
# is built, so each call is given it as its base URL.
schema = schemathesis.openapi.from_dict(OPENAPI)


@schema.hook("flatmap_body").apply_to(method="POST", path="/product/stock")
def name_stocked_products(context: Any, body: Any) -> Any:
    """A generated stock change names, half of the time, a product that exists (a random
    productId never does, so only 404 would be seen)."""
    if not isinstance(body, dict) or not isinstance(body.get("productId"), str):
        return st.just(body)
    stocked = st.sampled_from(STOCKED_PRODUCTS).map(lambda name: {**body, "productId": name})
    return st.one_of(st.just(body), stocked)


def credentials_for(case: Any, stack: dict) -> dict[str, str]:
    """The stack's token and API key for an operation the description protects, else none."""
    if (case.operation.method.upper(), case.operation.path) in PROTECTED:
        return dict(stack["credentials"])
    return {}


@pytest.fixture(scope="module")
def stocked_products(contract_stack: dict) -> Iterator[tuple[str, ...]]:
    url = f"{contract_stack['api_url']}/product"
    headers = contract_stack["credentials"]
    for product_id in STOCKED_PRODUCTS:
        requests.delete(url, json={"productId": product_id}, headers=headers, timeout=30)
        created = requests.post(
            url, json={"productId": product_id, "quantity": STARTING_QUANTITY}, headers=headers,
            timeout=30,
        )
        assert created.status_code == 201, created.text
    yield STOCKED_PRODUCTS
    for product_id in STOCKED_PRODUCTS:
        requests.delete(url, json={"productId": product_id}, headers=headers, timeout=30)


@schema.parametrize()
@settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_answer_matches_the_description(case, contract_stack, stocked_products):
    case.call_and_validate(
        base_url=contract_stack["api_url"], headers=credentials_for(case, contract_stack),
        checks=CHECKS, timeout=30,
    )


# -- lab 08's refusals and stock answers, each seen and checked against the description -------


def test_the_description_protects_exactly_what_lab_08_protects():
    from workshop.protection import PROTECTED_METHODS

    lab = {(method, path) for path, methods in PROTECTED_METHODS.items() for method in methods}
    assert set(PROTECTED) == lab
    schemes = OPENAPI["components"]["securitySchemes"]
    assert (schemes["apiKey"]["in"], schemes["apiKey"]["name"]) == ("header", "x-api-key")
    assert (schemes["tokenAuthorizer"]["in"], schemes["tokenAuthorizer"]["name"]) == (
        "header", "Authorization")


def test_the_token_scheme_is_the_authorizer_lab_08_builds(contract_stack):
    import boto3

    from workshop.naming import resource_names
    from workshop.protection import protection_names

    described = OPENAPI["components"]["securitySchemes"]["tokenAuthorizer"]
    name = protection_names(resource_names(contract_stack["owner"])).authorizer
    built = next(item for item in boto3.client("apigateway").get_authorizers(
        restApiId=contract_stack["api_id"])["items"] if item["name"] == name)
    assert built["type"] == described["x-amazon-apigateway-authorizer"]["type"].upper()
    assert built["identitySource"] == f"method.request.header.{described['name']}"
    assert built["identityValidationExpression"] == (
        described["x-amazon-apigateway-authorizer"]["identityValidationExpression"])
    assert built["authorizerResultTtlInSeconds"] == (
        described["x-amazon-apigateway-authorizer"]["authorizerResultTtlInSeconds"])


def sample_body(path: str, product_id: str) -> dict[str, Any]:
    """A body each protected operation accepts (so only the credentials decide the answer)."""
    if path == "/product/stock":
        return {"productId": product_id, "change": 1}
    return {"productId": product_id}


def send(stack: dict, method: str, path: str, body: Any, headers: dict[str, str]) -> tuple[Any, Any]:
    """Send one request built by schemathesis for ``method path`` and validate the answer
    against the description (every check in CHECKS); returns (case, response)."""
    case = schema[path][method].Case(body=body, media_type="application/json")
    response = case.call(base_url=stack["api_url"], headers=headers, timeout=30)
    case.validate_response(response, checks=CHECKS)
    return case, response


@pytest.mark.parametrize(("method", "path"), PROTECTED)
@pytest.mark.parametrize(
    ("leave_out", "status", "body"),
    [
        pytest.param(("Authorization",), 401, {"message": "Unauthorized"}, id="no-token"),
        pytest.param(("x-api-key",), 403, {"message": "Forbidden"}, id="no-key"),
        pytest.param(("Authorization", "x-api-key"), 401, {"message": "Unauthorized"}, id="neither"),
    ],
)
def test_a_write_without_token_or_key_is_refused_as_described(
    contract_stack, method, path, leave_out, status, body
):
    headers = {k: v for k, v in contract_stack["credentials"].items() if k not in leave_out}
    product_id = f"contract-refused-{uuid.uuid4().hex[:8]}"
    _, response = send(contract_stack, method, path, sample_body(path, product_id), headers)
    assert (response.status_code, response.json()) == (status, body)


def test_a_token_the_authorizer_denies_gets_403_with_capital_message(contract_stack):
    from workshop.naming import resource_names
    from workshop.protection import READ_ONLY_CLERK, api_credentials

    auditor = api_credentials(resource_names(contract_stack["owner"]), clerk=READ_ONLY_CLERK)
    _, response = send(contract_stack, "POST", "/product/stock",
                       sample_body("/product/stock", "contract-denied"), auditor)
    assert response.status_code == 403
    assert response.json() == {
        "Message": "User is not authorized to access this resource with an explicit deny"}


def test_every_answer_of_a_stock_change_matches_the_description(contract_stack):
    credentials = contract_stack["credentials"]
    product_id = f"contract-stock-{uuid.uuid4().hex[:8]}"
    created = requests.post(f"{contract_stack['api_url']}/product",
                            json={"productId": product_id, "quantity": 5}, headers=credentials,
                            timeout=30)
    assert created.status_code == 201, created.text
    try:
        seen = []
        for body, status in [
            ({"productId": product_id, "change": -3}, 200),
            ({"productId": product_id, "change": -3}, 409),  # 2 left
            ({"productId": product_id, "change": 4.0}, 200),  # a whole number written as 4.0
            ({"productId": product_id, "change": 0}, 400),
            ({"productId": product_id, "change": "3"}, 400),
            ({"productId": f"{product_id}-unknown", "change": 1}, 404),
        ]:
            _, response = send(contract_stack, "POST", "/product/stock", body, credentials)
            seen.append((response.status_code, response.json()))
            assert response.status_code == status, seen
        assert seen[0][1]["quantity"] == 2 and seen[2][1]["quantity"] == 6
    finally:
        requests.delete(f"{contract_stack['api_url']}/product", json={"productId": product_id},
                        headers=credentials, timeout=30)


@pytest.fixture
def spent_key(contract_stack: dict) -> Iterator[str]:
    """An API key of a second usage plan on the contract stage whose quota (1 a day) is spent
    once it has been used; deleted afterwards, so the stack's own key and plan stay as built."""
    import boto3

    from workshop.naming import workshop_tags

    apigateway = boto3.client("apigateway")
    suffix = uuid.uuid4().hex[:8]
    plan = apigateway.create_usage_plan(
        name=f"contract-quota-{suffix}", quota={"limit": 1, "period": "DAY"},
        apiStages=[{"apiId": contract_stack["api_id"], "stage": stage_of(contract_stack)}],
        tags=workshop_tags(contract_stack["owner"]),
    )
    key = apigateway.create_api_key(name=f"contract-quota-{suffix}", enabled=True,
                                    tags=workshop_tags(contract_stack["owner"]))
    try:
        apigateway.create_usage_plan_key(usagePlanId=plan["id"], keyId=key["id"], keyType="API_KEY")
        yield key["value"]
    finally:
        apigateway.delete_usage_plan_key(usagePlanId=plan["id"], keyId=key["id"])
        apigateway.delete_api_key(apiKey=key["id"])
        apigateway.delete_usage_plan(usagePlanId=plan["id"])


def stage_of(stack: dict) -> str:
    """The stage name: the last part of the invoke URL."""
    return stack["api_url"].rstrip("/").rsplit("/", 1)[-1]


def test_a_write_over_the_usage_plan_quota_gets_429_as_described(contract_stack, spent_key):
    headers = {**contract_stack["credentials"], "x-api-key": spent_key}
    body = {"productId": f"contract-quota-{uuid.uuid4().hex[:8]}", "change": 1}
    _, first = send(contract_stack, "POST", "/product/stock", body, headers)
    assert first.status_code == 404  # within the quota: the function answers
    _, second = send(contract_stack, "POST", "/product/stock", body, headers)
    assert (second.status_code, second.json()) == (429, {"message": "Limit Exceeded"})
    # schemathesis keeps headers lower-cased, each with its list of values.
    assert second.headers["x-amzn-errortype"] == ["LimitExceededException"]
