"""design.md's API table, over HTTP, against the stack the notebooks' build cells make.

The ``deployed_stack`` fixture is shared by the whole session, so every test works on its own
products (a uuid in each productId) and none changes the stack's configuration. Assertions are
on exact bodies: the contract is what a learner's client sees through API Gateway.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import boto3
import pytest
import requests

pytestmark = pytest.mark.localcloud

TIMEOUT_S = 30
ORIGIN = "http://localhost:8000"


@pytest.fixture(scope="module")
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


@pytest.fixture(scope="module")
def api(deployed_stack, http):
    """``api(method, path, **requests_kwargs) -> Response`` against the deployed stage."""
    base_url = deployed_stack["api_url"]

    def call(method: str, path: str, **kwargs: Any) -> requests.Response:
        return http.request(method, base_url + path, timeout=TIMEOUT_S, **kwargs)

    return call


def new_id(prefix: str = "contract") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def assert_json_response(response: requests.Response, status: int) -> Any:
    """Every answer of the function: its status, a JSON body, the headers a browser needs."""
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.headers["x-amzn-RequestId"]
    return response.json()


def assert_error(response: requests.Response, status: int) -> str:
    body = assert_json_response(response, status)
    assert list(body) == ["message"] and body["message"], body
    assert "Traceback" not in body["message"]
    return body["message"]


def create(api, item: dict[str, Any]) -> dict[str, Any]:
    response = api("POST", "/product", json=item)
    return assert_json_response(response, 201)


def stored_item(deployed_stack, product_id: str) -> dict[str, Any] | None:
    """The item as DynamoDB holds it (low-level types), read with boto3 past the API."""
    answer = boto3.client("dynamodb").get_item(
        TableName=deployed_stack["table"], Key={"productId": {"S": product_id}}, ConsistentRead=True
    )
    return answer.get("Item")


# ---------------------------------------------------------------------------
# GET /health and POST /product
# ---------------------------------------------------------------------------


def test_health_answers_200_json(api):
    assert assert_json_response(api("GET", "/health"), 200) == {"status": "healthy"}


def test_post_saves_a_product_and_numbers_keep_their_exact_value(api, deployed_stack):
    # GIVEN a body written by hand: 19.99 and 500 exactly as a client sends them
    product_id = new_id()
    body = f'{{"productId": "{product_id}", "price": 19.99, "quantity": 500}}'

    # WHEN it is POSTed
    response = api("POST", "/product", data=body, headers={"Content-Type": "application/json"})

    # THEN 201 with the item, the numbers unchanged in the text and in DynamoDB
    assert assert_json_response(response, 201) == {
        "Operation": "SAVE",
        "Message": "SUCCESS",
        "Item": {"productId": product_id, "price": 19.99, "quantity": 500},
    }
    assert '"price": 19.99' in response.text and '"quantity": 500' in response.text
    assert stored_item(deployed_stack, product_id) == {
        "productId": {"S": product_id}, "price": {"N": "19.99"}, "quantity": {"N": "500"},
    }


def test_post_with_an_existing_product_id_is_409_and_overwrites_nothing(api):
    product_id = new_id()
    create(api, {"productId": product_id, "price": 1})

    message = assert_error(api("POST", "/product", json={"productId": product_id, "price": 2}), 409)

    assert product_id in message
    assert api("GET", "/product", params={"productId": product_id}).json() == {"productId": product_id, "price": 1}


@pytest.mark.parametrize(
    "body",
    [
        pytest.param("{not json", id="invalid-json"),
        pytest.param('{"productId": "x",}', id="trailing-comma"),
        pytest.param('[{"productId": "x"}]', id="array"),
        pytest.param('"p-1"', id="string"),
        pytest.param("42", id="number"),
        pytest.param("null", id="null"),
        pytest.param("{}", id="no-productId"),
        pytest.param('{"price": 1}', id="attributes-without-productId"),
        pytest.param('{"productId": ""}', id="empty-productId"),
        pytest.param('{"productId": "   "}', id="blank-productId"),
        pytest.param('{"productId": 7}', id="number-productId"),
        pytest.param('{"productId": null}', id="null-productId"),
        pytest.param('{"productId": ["a"]}', id="list-productId"),
        pytest.param('{"productId": "' + "x" * 2049 + '"}', id="productId-over-2048-bytes"),
        pytest.param('{"productId": "ok", "": 1}', id="empty-attribute-name"),
        pytest.param('{"productId": "ok", "price": NaN}', id="NaN"),
        pytest.param('{"productId": "ok", "n": 1.23456789012345678901234567890123456789}', id="39-digit-number"),
        pytest.param('{"productId": "ok", "n": 1E+200}', id="number-too-large-for-dynamodb"),
        pytest.param('{"productId": "ok", "deep": ' + "[" * 40 + "]" * 40 + "}", id="nested-40-levels"),
        pytest.param("", id="no-body"),
        pytest.param("   ", id="blank-body"),
    ],
)
def test_post_refuses_bad_bodies_with_400(api, body):
    assert_error(api("POST", "/product", data=body.encode(), headers={"Content-Type": "application/json"}), 400)


def test_a_body_that_is_not_utf8_is_400_not_a_crash(api):
    # GIVEN bytes that are no text at all (the API has no binary media types)
    response = api("POST", "/product", data=b"\xff\xfe{\x00", headers={"Content-Type": "application/octet-stream"})

    # THEN the function explains instead of failing with 500/502
    assert "UTF-8" in assert_error(response, 400)


def test_json_sent_as_octet_stream_is_still_read_as_text(api):
    product_id = new_id()
    response = api(
        "POST", "/product", data=json.dumps({"productId": product_id}).encode(),
        headers={"Content-Type": "application/octet-stream"},
    )
    assert assert_json_response(response, 201)["Item"] == {"productId": product_id}


def test_a_unicode_product_id_round_trips(api):
    product_id = f"prodüct-✓-日本-{uuid.uuid4().hex[:8]}"
    create(api, {"productId": product_id, "name": "Café ☕"})

    fetched = api("GET", "/product", params={"productId": product_id})

    assert assert_json_response(fetched, 200) == {"productId": product_id, "name": "Café ☕"}


def test_nested_attributes_round_trip_exactly(api):
    product_id = new_id()
    item = {
        "productId": product_id,
        "dimensions": {"width": 1.5, "height": 20, "unit": "cm"},
        "tags": ["red", "sale"],
        "variants": [{"sku": "a", "stock": 0}, {"sku": "b", "stock": 3, "discontinued": True}],
        "notes": None,
    }
    create(api, item)

    assert api("GET", "/product", params={"productId": product_id}).json() == item


def test_a_number_with_an_exponent_is_stored_as_its_value(api, deployed_stack):
    # GIVEN 1E+2 and 2.5e-3 as JSON writes them
    product_id = new_id()
    body = f'{{"productId": "{product_id}", "quantity": 1E+2, "weight": 2.5e-3}}'

    created = api("POST", "/product", data=body, headers={"Content-Type": "application/json"})

    # THEN the API answers with plain numbers and DynamoDB holds the same values
    assert assert_json_response(created, 201)["Item"] == {"productId": product_id, "quantity": 100, "weight": 0.0025}
    assert '"quantity": 100,' in created.text or '"quantity": 100}' in created.text
    stored = stored_item(deployed_stack, product_id)
    assert Decimal(stored["quantity"]["N"]) == 100 and Decimal(stored["weight"]["N"]) == Decimal("0.0025")


# ---------------------------------------------------------------------------
# GET /product
# ---------------------------------------------------------------------------


def test_get_without_product_id_is_400(api):
    assert "productId" in assert_error(api("GET", "/product"), 400)


def test_get_of_an_unknown_product_is_404(api):
    product_id = new_id("unknown")
    assert product_id in assert_error(api("GET", "/product", params={"productId": product_id}), 404)


# ---------------------------------------------------------------------------
# PATCH /product
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("attribute", ["price", "name", "status", "size", "count"])
def test_patch_sets_an_attribute_including_reserved_words(api, attribute):
    # GIVEN a product  WHEN one attribute (DynamoDB reserved words included) is set
    product_id = new_id()
    create(api, {"productId": product_id, "price": 10})
    patch = {"productId": product_id, "updateKey": attribute, "updateValue": 24.99}

    response = api("PATCH", "/product", json=patch)

    # THEN 200 with the updated attribute, and GET shows it
    assert assert_json_response(response, 200) == {
        "Operation": "UPDATE", "Message": "SUCCESS", "UpdatedAttributes": {attribute: 24.99},
    }
    assert api("GET", "/product", params={"productId": product_id}).json()[attribute] == 24.99


def test_patch_can_add_a_new_attribute_and_keeps_the_others(api):
    product_id = new_id()
    create(api, {"productId": product_id, "price": 10})

    response = api("PATCH", "/product", json={"productId": product_id, "updateKey": "colour",
                                              "updateValue": {"name": "blue", "hex": "#00f"}})

    assert assert_json_response(response, 200)["UpdatedAttributes"] == {"colour": {"name": "blue", "hex": "#00f"}}
    assert api("GET", "/product", params={"productId": product_id}).json() == {
        "productId": product_id, "price": 10, "colour": {"name": "blue", "hex": "#00f"},
    }


def test_patch_of_an_unknown_product_is_404_and_creates_nothing(api):
    product_id = new_id("ghost")

    response = api("PATCH", "/product", json={"productId": product_id, "updateKey": "price", "updateValue": 1})

    assert_error(response, 404)
    assert_error(api("GET", "/product", params={"productId": product_id}), 404)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"updateKey": "productId", "updateValue": "other"}, id="updateKey-productId"),
        pytest.param({"updateValue": 1}, id="no-updateKey"),
        pytest.param({"updateKey": "", "updateValue": 1}, id="empty-updateKey"),
        pytest.param({"updateKey": 5, "updateValue": 1}, id="number-updateKey"),
        pytest.param({"updateKey": "price"}, id="no-updateValue"),
        pytest.param({"updateKey": "price", "updateValue": 1, "extra": 2}, id="unexpected-field"),
        pytest.param({"productId": None, "updateKey": "price", "updateValue": 1}, id="no-productId"),
    ],
)
def test_patch_refuses_bad_bodies_with_400_and_changes_nothing(api, body):
    product_id = new_id()
    create(api, {"productId": product_id, "price": 10})

    assert_error(api("PATCH", "/product", json={"productId": product_id, **body}), 400)

    assert api("GET", "/product", params={"productId": product_id}).json() == {"productId": product_id, "price": 10}


@pytest.mark.parametrize("body", ["{oops", "[]", ""], ids=["invalid-json", "array", "no-body"])
def test_patch_refuses_a_body_that_is_no_json_object(api, body):
    assert_error(api("PATCH", "/product", data=body, headers={"Content-Type": "application/json"}), 400)


# ---------------------------------------------------------------------------
# DELETE /product
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["body", "query"])
def test_delete_removes_the_product_and_answers_it(api, where):
    product_id = new_id()
    create(api, {"productId": product_id, "price": 3.5})
    kwargs = {"json": {"productId": product_id}} if where == "body" else {"params": {"productId": product_id}}

    response = api("DELETE", "/product", **kwargs)

    assert assert_json_response(response, 200) == {
        "Operation": "DELETE", "Message": "SUCCESS", "deletedItem": {"productId": product_id, "price": 3.5},
    }
    assert_error(api("GET", "/product", params={"productId": product_id}), 404)


def test_delete_twice_is_200_then_404(api):
    product_id = new_id()
    create(api, {"productId": product_id})

    first = api("DELETE", "/product", json={"productId": product_id})
    second = api("DELETE", "/product", json={"productId": product_id})

    assert_json_response(first, 200)
    assert product_id in assert_error(second, 404)


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({}, id="no-productId"),
        pytest.param({"data": "{broken"}, id="invalid-json"),
        pytest.param({"json": {"productId": ""}}, id="empty-productId"),
        pytest.param({"json": {"productId": 9}}, id="number-productId"),
        pytest.param({"json": {"productId": "a"}, "params": {"productId": "b"}}, id="body-and-query-disagree"),
    ],
)
def test_delete_refuses_bad_requests_with_400(api, kwargs):
    assert_error(api("DELETE", "/product", **kwargs), 400)


# ---------------------------------------------------------------------------
# GET /products
# ---------------------------------------------------------------------------


def all_pages(api, limit: int) -> tuple[list[str], int]:
    """Every productId, following nextToken with ``limit`` per page; and the page count."""
    seen: list[str] = []
    params: dict[str, Any] = {"limit": limit}
    for pages in range(1, 10_000):
        body = assert_json_response(api("GET", "/products", params=params), 200)
        assert body["count"] == len(body["products"]) <= limit
        seen += [product["productId"] for product in body["products"]]
        if "nextToken" not in body:
            return seen, pages
        params["nextToken"] = body["nextToken"]
    raise AssertionError("paging never ended")


def test_paging_visits_every_product_exactly_once(api):
    # GIVEN five new products in a table that others share
    ours = {new_id("page") for _ in range(5)}
    for product_id in ours:
        create(api, {"productId": product_id})

    # WHEN every page of two is read, following nextToken
    seen, pages = all_pages(api, limit=2)

    # THEN nothing repeats, ours are all there, and the page count fits the total
    assert len(seen) == len(set(seen))
    assert ours <= set(seen)
    assert pages in ((len(seen) + 1) // 2, (len(seen) + 1) // 2 + 1)


def test_limit_1000_is_the_largest_page_and_returns_everything_here(api):
    product_id = new_id()
    create(api, {"productId": product_id})

    body = assert_json_response(api("GET", "/products", params={"limit": "1000"}), 200)

    assert product_id in {product["productId"] for product in body["products"]}
    assert body["count"] == len(body["products"])
    assert "nextToken" not in body  # the shared table holds far fewer than 1000


@pytest.mark.parametrize("limit", ["0", "1001", "-1", "abc", "1.5", "", " 5", "99999"])
def test_a_bad_limit_is_400(api, limit):
    assert "limit" in assert_error(api("GET", "/products", params={"limit": limit}), 400)


def _token(document: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(document).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "token",
    [
        pytest.param("not a token!", id="not-base64"),
        pytest.param(base64.urlsafe_b64encode(b"\xff\xfe").decode(), id="not-utf8"),
        pytest.param(_token([1, 2]), id="a-list"),
        pytest.param(_token({"other": "key"}), id="wrong-key"),
        pytest.param(_token({"productId": 5}), id="number-key"),
        pytest.param(_token({"productId": "a", "extra": 1}), id="extra-key"),
    ],
)
def test_a_bad_next_token_is_400(api, token):
    assert "nextToken" in assert_error(api("GET", "/products", params={"nextToken": token}), 400)


# ---------------------------------------------------------------------------
# What API Gateway answers itself
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/nowhere"), ("GET", "/product/extra"), ("PUT", "/product"), ("POST", "/health"), ("DELETE", "/products")],
)
def test_a_route_the_api_does_not_have_is_403_missing_authentication_token(api, method, path):
    # API Gateway answers 403 Missing Authentication Token for an unknown resource or method;
    # the function is never called.
    response = api(method, path)

    assert response.status_code == 403
    assert response.json() == {"message": "Missing Authentication Token"}
    assert response.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.headers["x-amzn-RequestId"]


def test_a_body_over_10_mb_is_413_from_api_gateway(api):
    # API Gateway's payload limit is 10 MB; the function is never called.
    response = api("POST", "/product", data=b"x" * (10 * 1024 * 1024 + 1), headers={"Content-Type": "application/json"})

    assert response.status_code == 413
    assert response.json() == {"message": "Request Too Long"}
    assert response.headers["x-amzn-RequestId"]


@pytest.mark.parametrize(
    ("path", "method"), [("/health", "GET"), ("/product", "PATCH"), ("/product", "DELETE"), ("/products", "GET")]
)
def test_a_browser_preflight_is_answered_by_the_mock_integration(api, path, method):
    # GIVEN a browser on another origin about to send a request with a JSON body
    headers = {"Origin": ORIGIN, "Access-Control-Request-Method": method,
               "Access-Control-Request-Headers": "content-type"}

    response = api("OPTIONS", path, headers=headers)

    # THEN the OPTIONS method's MOCK integration response allows it
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert method in response.headers["Access-Control-Allow-Methods"].split(",")
    assert "content-type" in response.headers["Access-Control-Allow-Headers"].lower()
    assert response.headers["x-amzn-RequestId"]


def test_the_request_id_a_client_gets_is_in_the_functions_log_line(api, deployed_stack):
    # GIVEN one request whose x-amzn-RequestId the client keeps
    response = api("GET", "/product", params={"productId": new_id("logged")})
    request_id = response.headers["x-amzn-RequestId"]

    # WHEN the function's log group is searched for it with boto3
    events = boto3.client("logs").filter_log_events(
        logGroupName=f"/aws/lambda/{deployed_stack['function']}", filterPattern=f'"{request_id}"'
    )["events"]

    # THEN the function's structured request line names it, with the status the client got
    lines = [json.loads(e["message"][e["message"].index("{"):]) for e in events if '"message": "request"' in e["message"]]
    assert [(line["apiRequestId"], line["status"], line["method"], line["path"]) for line in lines] == [
        (request_id, 404, "GET", "/product")
    ]
