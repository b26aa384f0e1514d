"""The Postman collection and the OpenAPI description tell the same story.

GIVEN every request in postman/inventory.postman_collection.json, with its expected status read
from its test script (`pm.response.to.have.status(N)`)
THEN
- a path the description does not define is only ever expected to get API Gateway's 403;
- on a defined path, the method is defined and the expected status is one the operation lists;
- every query parameter it sends is one the operation declares;
- a request expected to succeed (2xx) sends a body valid against the operation's request schema,
  and one expected to be refused (400) sends a body that is not JSON or not valid against it, or
  leaves out something the description requires;
- the collection sends the API key and the token (lab 08) on exactly the methods the description
  protects with ``security``, and a request that expects API Gateway's 401 or 403 on a protected
  operation takes away the token or the key it would otherwise send.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import jsonschema
import pytest

from contract_support import load_openapi, protected_operations
from workshop.paths import REPO_ROOT

COLLECTION_PATH = REPO_ROOT / "postman" / "inventory.postman_collection.json"
# Sample values for the collection's variables when a body is checked against a schema.
VARIABLE_SAMPLES = {
    "productId": "postman-sample-1",
    "stockProductId": "postman-stock-sample-1",
    "nextToken": "eyJwcm9kdWN0SWQiOiJwLTEifQ",
}


@dataclass(frozen=True)
class PostmanRequest:
    name: str
    method: str
    path: str
    query: dict[str, str]
    body: str | None
    expected_status: int
    prerequest: str


def postman_requests() -> Iterator[PostmanRequest]:
    collection = json.loads(COLLECTION_PATH.read_text(encoding="utf-8"))

    def walk(items: list[dict]) -> Iterator[PostmanRequest]:
        for item in items:
            if "item" in item:
                yield from walk(item["item"])
                continue
            request = item["request"]
            raw_url = request["url"]["raw"]
            path_and_query = raw_url.removeprefix("{{baseUrl}}")
            path, _, query = path_and_query.partition("?")
            tests = "\n".join(
                line
                for event in item.get("event", [])
                if event["listen"] == "test"
                for line in event["script"]["exec"]
            )
            prerequest = "\n".join(
                line
                for event in item.get("event", [])
                if event["listen"] == "prerequest"
                for line in event["script"]["exec"]
            )
            statuses = re.findall(r"to\.have\.status\((\d{3})\)", tests)
            assert len(statuses) == 1, f"{item['name']!r} should check exactly one status"
            body = (request.get("body") or {}).get("raw")
            yield PostmanRequest(
                item["name"], request["method"], path, dict(parse_qsl(query)), body, int(statuses[0]),
                prerequest,
            )

    yield from walk(collection["item"])


REQUESTS = list(postman_requests())
OPENAPI = load_openapi()
PROTECTED = protected_operations(OPENAPI)
COLLECTION_PREREQUEST = "\n".join(
    line
    for event in json.loads(COLLECTION_PATH.read_text(encoding="utf-8")).get("event", [])
    if event["listen"] == "prerequest"
    for line in event["script"]["exec"]
)


def substitute(text: str) -> str:
    return re.sub(r"\{\{(\w+)\}\}", lambda match: VARIABLE_SAMPLES.get(match[1], match[1]), text)


def parameters(operation: dict) -> list[dict]:
    """The operation's parameters, with `$ref`s to components/parameters resolved."""
    resolved = []
    for parameter in operation.get("parameters", []):
        if "$ref" in parameter:
            parameter = OPENAPI["components"]["parameters"][parameter["$ref"].rsplit("/", 1)[-1]]
        resolved.append(parameter)
    return resolved


def request_schema(operation: dict) -> dict | None:
    body = operation.get("requestBody")
    if body is None:
        return None
    return body["content"]["application/json"]["schema"]


def resolve(schema: dict) -> dict:
    """The schema with components available to $ref, for jsonschema."""
    return {**schema, "components": OPENAPI["components"]}


def is_valid(instance: Any, schema: dict) -> bool:
    return jsonschema.Draft4Validator(resolve(schema)).is_valid(instance)


def test_the_collection_has_requests_for_every_operation_of_the_description():
    sent = {(request.method.lower(), request.path) for request in REQUESTS}
    succeeding = {(r.method.lower(), r.path) for r in REQUESTS if 200 <= r.expected_status < 300}
    for path, item in OPENAPI["paths"].items():
        for method in item:
            if method == "options":
                continue  # browsers send the preflight, not Postman users
            assert (method, path) in sent, f"no Postman request for {method.upper()} {path}"
            # A request that only shows a refusal (400, 401, 403) does not show the operation.
            assert (method, path) in succeeding, (
                f"no Postman request expects {method.upper()} {path} to succeed"
            )


def test_the_collection_sends_key_and_token_on_exactly_the_protected_methods():
    # The collection's pre-request script adds x-api-key and Authorization to every request whose
    # method is not GET; that must be the set of operations the description protects.
    assert 'pm.request.method !== "GET"' in COLLECTION_PREREQUEST
    assert 'key: "x-api-key"' in COLLECTION_PREREQUEST
    assert 'key: "Authorization", value: "Bearer "' in COLLECTION_PREREQUEST
    operations = {
        (method.upper(), path)
        for path, item in OPENAPI["paths"].items()
        for method in item
        if method != "options"
    }
    assert PROTECTED, "the description protects no operation"
    assert {(method, path) for method, path in operations if method != "GET"} == set(PROTECTED)


def removes_header(request_: PostmanRequest, name: str) -> bool:
    return f'pm.request.headers.remove("{name}")' in request_.prerequest


@pytest.mark.parametrize("request_", REQUESTS, ids=lambda request: request.name)
def test_each_request_agrees_with_the_description(request_: PostmanRequest):
    item = OPENAPI["paths"].get(request_.path)
    if item is None or request_.method.lower() not in item:
        assert request_.expected_status == 403, (
            f"{request_.method} {request_.path} is not in api/openapi.yaml, so API Gateway "
            "answers 403 Missing Authentication Token"
        )
        return
    operation = item[request_.method.lower()]
    if (request_.method.upper(), request_.path) in PROTECTED:
        # API Gateway checks the token first, then the key.
        if request_.expected_status == 401:
            assert removes_header(request_, "Authorization"), request_.name
        elif request_.expected_status == 403:
            assert removes_header(request_, "x-api-key") and not removes_header(
                request_, "Authorization"), request_.name
        else:
            assert not (removes_header(request_, "Authorization") or removes_header(
                request_, "x-api-key")), f"{request_.name}: sends no credentials, expects no refusal"
    assert str(request_.expected_status) in operation["responses"], (
        f"{request_.name}: {request_.expected_status} is not a documented answer of "
        f"{request_.method} {request_.path}"
    )
    declared = {parameter["name"] for parameter in parameters(operation)}
    assert set(request_.query) <= declared, f"{request_.name}: undeclared query parameters"

    schema = request_schema(operation)
    if schema is None:
        assert request_.body is None, f"{request_.name}: the operation takes no body"
        required = [p["name"] for p in parameters(operation) if p.get("required")]
        missing = [name for name in required if name not in request_.query]
        if request_.expected_status < 300:
            assert not missing, f"{request_.name}: leaves out {missing}"
        elif request_.expected_status == 400:
            assert missing or _bad_query(operation, request_.query), request_.name
        return
    try:
        body = json.loads(substitute(request_.body or ""))
    except ValueError:
        assert request_.expected_status == 400, f"{request_.name}: sends a body that is not JSON"
        return
    valid = is_valid(body, schema)
    if request_.expected_status < 300 or request_.expected_status in (404, 409):
        assert valid, f"{request_.name}: its body does not match the description's schema"
    elif request_.expected_status == 400:
        assert not valid, f"{request_.name}: expected 400 for a body the description allows"


def _bad_query(operation: dict, query: dict[str, str]) -> bool:
    """True when some query value breaks its parameter's schema (integers only, here)."""
    for parameter in parameters(operation):
        value = query.get(parameter["name"])
        if value is None:
            continue
        schema = parameter["schema"]
        if schema.get("type") == "integer":
            if not value.isdigit():
                return True
            number = int(value)
            if number < schema.get("minimum", number) or number > schema.get("maximum", number):
                return True
        elif parameter["name"] == "nextToken":
            return True  # a token the API never issued: the description says "unchanged"
    return False
