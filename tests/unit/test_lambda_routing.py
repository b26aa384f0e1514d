"""Routing, the proxy event shapes API Gateway and the console send, and the response contract."""

from __future__ import annotations

import json

import pytest

from lambda_test_support import check_proxy_response, proxy_event


def test_seed_console_test_event_answers_api_is_working(api):
    # GIVEN the console test event from the original write-up (no context object either)
    event = {"httpMethod": "GET", "path": "/", "queryStringParameters": None, "body": None}
    # WHEN the handler runs
    reply = api.invoke(event, None)
    # THEN it is 200 with the working message
    assert reply.status == 200
    assert reply.json == {"message": "API is working"}


def test_root_needs_no_table(api_without_table):
    assert api_without_table.request("GET", "/").json == {"message": "API is working"}


def test_health_is_200_json_without_touching_dynamodb(api_without_table):
    # GIVEN a table that does not exist
    # WHEN /health is called
    reply = api_without_table.request("GET", "/health")
    # THEN the function still reports itself healthy
    assert reply.status == 200
    assert reply.json == {"status": "healthy"}


def test_minimal_event_without_headers_query_or_body_keys(api):
    # GIVEN an event with only the two keys routing needs
    reply = api.invoke({"httpMethod": "GET", "path": "/health"})
    # THEN it is answered normally
    assert (reply.status, reply.json) == (200, {"status": "healthy"})


def test_events_without_query_or_body_keys_reach_every_route(api):
    # GIVEN hand-written test events that leave out queryStringParameters and body entirely
    def call(method, path):
        return api.invoke({"httpMethod": method, "path": path})

    # WHEN / THEN each route answers as it would for null values
    assert (call("GET", "/products").status, call("GET", "/products").json) == (
        200,
        {"products": [], "count": 0},
    )
    assert call("GET", "/product").json == {
        "message": "productId is missing: add it to the query string (?productId=...)."
    }
    assert call("POST", "/product").status == 400
    assert call("PATCH", "/product").status == 400
    assert call("DELETE", "/product").status == 400


def test_null_headers_and_query_maps(api):
    # GIVEN a real proxy event whose header and query maps are null
    event = proxy_event("GET", "/products", headers=None, query=None)
    event["multiValueHeaders"] = None
    # WHEN / THEN it is answered normally
    reply = api.invoke(event)
    assert (reply.status, reply.json) == (200, {"products": [], "count": 0})


@pytest.mark.parametrize("path", ["/nope", "/product/p-1", "/productz", "/PRODUCTS", "/health/x"])
def test_unknown_path_is_404_json(api, path):
    # GIVEN a path the API does not serve
    reply = api.request("GET", path)
    # THEN 404 with a message naming the paths that exist
    assert reply.status == 404
    assert set(reply.json) == {"message"}
    assert "/products" in reply.json["message"]


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("POST", "/", "GET, OPTIONS"),
        ("DELETE", "/health", "GET, OPTIONS"),
        ("PUT", "/product", "DELETE, GET, OPTIONS, PATCH, POST"),
        ("HEAD", "/product", "DELETE, GET, OPTIONS, PATCH, POST"),
        ("POST", "/products", "GET, OPTIONS"),
        ("DELETE", "/products", "GET, OPTIONS"),
    ],
)
def test_known_path_with_wrong_method_is_405_with_allow(api, method, path, allow):
    reply = api.request(method, path)
    assert reply.status == 405
    assert reply.headers["Allow"] == allow
    assert reply.json == {"message": f"{method} is not allowed on {path}. Use one of: {allow}."}


@pytest.mark.parametrize("path", ["/", "/health", "/product", "/products"])
def test_options_preflight_on_known_paths(api, path):
    # GIVEN a browser's CORS preflight
    reply = api.request("OPTIONS", path)
    # THEN 200 with the CORS headers (checked for every reply) and the allowed methods
    assert reply.status == 200
    assert reply.json == {}
    assert "OPTIONS" in reply.headers["Allow"]
    assert reply.headers["Access-Control-Allow-Methods"] == "DELETE,GET,OPTIONS,PATCH,POST"


def test_options_on_unknown_path_is_404(api):
    assert api.request("OPTIONS", "/nope").status == 404


def test_trailing_slash_and_lower_case_method_are_tolerated(api):
    assert api.request("get", "/health/").json == {"status": "healthy"}
    assert api.request("GET", "/products/").json == {"products": [], "count": 0}


@pytest.mark.parametrize(
    "event",
    [
        {},
        {"path": "/"},
        {"httpMethod": "GET"},
        {"httpMethod": None, "path": None},
        {"httpMethod": 1, "path": ["/"]},
        [],
        "GET /",
        None,
    ],
)
def test_event_that_is_not_a_proxy_event_is_400(api, event):
    # GIVEN a console test event without httpMethod/path (a classic first mistake)
    reply = api.invoke(event)
    # THEN 400 says what the function expects
    assert reply.status == 400
    assert "httpMethod" in reply.json["message"] and "path" in reply.json["message"]


def test_every_response_is_a_valid_proxy_response_with_cors(api, lambda_function):
    # GIVEN a mix of successes and failures
    events = [
        proxy_event("GET", "/"),
        proxy_event("POST", "/product", body='{"productId": "p-1", "price": 1.5}'),
        proxy_event("POST", "/product", body="{not json"),
        proxy_event("GET", "/product", query={"productId": "missing"}),
        proxy_event("PATCH", "/product", body='{"productId": "p-1", "updateKey": "productId", "updateValue": 1}'),
        proxy_event("GET", "/products", query={"limit": "0"}),
        proxy_event("PUT", "/product"),
        proxy_event("GET", "/nope"),
    ]
    # WHEN each is handled
    statuses = [check_proxy_response(lambda_function.lambda_handler(e, None)).status for e in events]
    # THEN each passed check_proxy_response (int status, str JSON body, CORS and JSON headers)
    assert statuses == [200, 201, 400, 404, 400, 400, 405, 404]


def test_response_body_is_the_json_text_of_the_answer(api):
    # The proxy response's body is a string: API Gateway sends it as the HTTP body unchanged.
    reply = api.request("GET", "/")
    assert reply.raw["body"] == json.dumps({"message": "API is working"})
    assert reply.raw["statusCode"] == 200
