"""Failures, logging and configuration: 500s without internals, one JSON log line per request,
no secrets in the log, TABLE_NAME from the environment, one boto3 resource per container."""

from __future__ import annotations

import importlib.util
import json
import logging
import sys

import pytest

from lambda_test_support import lambda_context, proxy_event

SECRETS = {
    "Authorization": "Bearer sk-live-SECRET-TOKEN-123",
    "Cookie": "session=COOKIE-SECRET-456",
    "X-Api-Key": "APIKEY-SECRET-789",
}
LOGGER = "inventory-api"


@pytest.fixture
def log(caplog):
    caplog.set_level(logging.INFO, logger=LOGGER)
    return caplog


def request_lines(caplog):
    """The structured per-request log lines, parsed."""
    lines = []
    for record in caplog.records:
        if record.name == LOGGER and record.levelno == logging.INFO:
            data = json.loads(record.getMessage())
            if data.get("message") == "request":
                lines.append(data)
    return lines


# --- unexpected failures -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [
        ("GET", "/products", {}),
        ("GET", "/product", {"query": {"productId": "p-1"}}),
        ("POST", "/product", {"json_body": {"productId": "p-1"}}),
        ("PATCH", "/product", {"json_body": {"productId": "p-1", "updateKey": "a", "updateValue": 1}}),
        ("DELETE", "/product", {"json_body": {"productId": "p-1"}}),
    ],
)
def test_missing_table_is_500_without_internals_and_traceback_in_log(
    api_without_table, lambda_function, log, method, path, kwargs
):
    # GIVEN TABLE_NAME names a table that does not exist
    table_name = lambda_function.os.environ["TABLE_NAME"]
    # WHEN a request needs the table
    reply = api_without_table.request(method, path, **kwargs)
    # THEN the caller gets a generic 500 with nothing internal in it
    assert (reply.status, reply.json) == (500, {"message": "Internal server error"})
    assert table_name not in reply.raw["body"] and "Traceback" not in reply.raw["body"]
    # AND the log has the full traceback with the real cause
    errors = [r for r in log.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert errors[0].exc_info is not None
    assert "Traceback (most recent call last)" in log.text
    assert "ResourceNotFoundException" in log.text
    # AND the request line records the 500
    assert request_lines(log)[-1]["status"] == 500


def test_table_name_not_set_is_500_and_the_log_says_why(api, monkeypatch, log):
    # GIVEN a function deployed without its TABLE_NAME variable
    monkeypatch.delenv("TABLE_NAME")
    # WHEN a request needs the table
    reply = api.request("GET", "/product", query={"productId": "p-1"})
    # THEN 500 for the caller, the fix for the reader of the log
    assert (reply.status, reply.json) == (500, {"message": "Internal server error"})
    assert "TABLE_NAME is not set" in log.text


def test_unexpected_exception_is_500(api, lambda_function, monkeypatch, log):
    # GIVEN a bug somewhere below the handler
    def broken(event):
        raise KeyError("internal-detail-xyz")

    monkeypatch.setitem(lambda_function.ROUTES["/products"], "GET", broken)
    # WHEN / THEN the caller sees a generic 500, the log the detail
    reply = api.request("GET", "/products")
    assert (reply.status, reply.json) == (500, {"message": "Internal server error"})
    assert "internal-detail-xyz" not in reply.raw["body"]
    assert "internal-detail-xyz" in log.text


def test_routes_do_not_need_the_table_for_health_or_root_even_without_table_name(api, monkeypatch):
    monkeypatch.delenv("TABLE_NAME")
    assert api.request("GET", "/health").status == 200
    assert api.request("GET", "/").status == 200


# --- the per-request log line --------------------------------------------------------------------


def test_one_structured_log_line_per_request(api, lambda_function, log):
    # GIVEN a request from API Gateway, with its request ids
    event = proxy_event("GET", "/health", request_id="api-req-42")
    # WHEN it is handled
    api.invoke(event, lambda_context("lambda-req-42"))
    # THEN exactly one JSON line describes it
    lines = request_lines(log)
    assert len(lines) == 1
    line = lines[0]
    duration = line.pop("durationMs")
    assert isinstance(duration, (int, float)) and 0 <= duration < 10_000
    assert line == {
        "message": "request",
        "method": "GET",
        "path": "/health",
        "status": 200,
        "requestId": "lambda-req-42",
        "apiRequestId": "api-req-42",
    }


def test_log_line_for_errors_and_unknown_paths(api, log):
    api.request("GET", "/nope")
    api.request("POST", "/product", body="{bad")
    api.invoke({"httpMethod": "GET", "path": "/"})
    lines = request_lines(log)
    assert [(line["method"], line["path"], line["status"]) for line in lines] == [
        ("GET", "/nope", 404),
        ("POST", "/product", 400),
        ("GET", "/", 200),
    ]
    # No context and no requestContext: the ids are null, not a crash.
    assert lines[-1]["requestId"] is None and lines[-1]["apiRequestId"] is None


def test_secrets_never_reach_the_log(api, monkeypatch, log, capsys):
    # GIVEN requests that carry an Authorization header, a cookie, an API key and a password
    # in the body, succeeding and failing in every way
    body = {"productId": "p-1", "password": "BODY-SECRET-000"}
    api.request("POST", "/product", json_body=body, headers=SECRETS)  # 201
    api.request("POST", "/product", json_body=body, headers=SECRETS)  # 409
    api.request("POST", "/product", body='{"password": "BODY-SECRET-000"', headers=SECRETS)  # 400
    api.request("GET", "/nope", headers=SECRETS)  # 404
    monkeypatch.setenv("TABLE_NAME", "no-such-table")
    api.request("POST", "/product", json_body=body, headers=SECRETS)  # 500 with a traceback
    # THEN none of the secret values appear in any log output
    assert len(request_lines(log)) == 5
    assert [line["status"] for line in request_lines(log)] == [201, 409, 400, 404, 500]
    captured = capsys.readouterr()
    for output in (log.text, captured.out, captured.err):
        for secret in [*SECRETS.values(), "BODY-SECRET-000"]:
            assert secret not in output


# --- configuration and the boto3 resource cache --------------------------------------------------


def test_module_imports_without_table_name_and_creates_nothing(lambda_modules, monkeypatch):
    # GIVEN no TABLE_NAME in the environment
    monkeypatch.delenv("TABLE_NAME", raising=False)
    monkeypatch.setitem(sys.modules, "custom_encoder", lambda_modules.encoder)
    spec = importlib.util.spec_from_file_location("lambda_function_fresh", lambda_modules.function.__file__)
    module = importlib.util.module_from_spec(spec)
    # WHEN the module is imported (a Lambda cold start)
    spec.loader.exec_module(module)
    # THEN it worked and no boto3 resource exists yet
    assert module._dynamodb is None


def test_boto3_resource_is_created_once_per_container(api, lambda_function, monkeypatch):
    # GIVEN a counting wrapper around boto3.resource
    calls = []
    real_resource = lambda_function.boto3.resource

    def counting_resource(*args, **kwargs):
        calls.append(args)
        return real_resource(*args, **kwargs)

    monkeypatch.setattr(lambda_function.boto3, "resource", counting_resource)
    assert lambda_function._dynamodb is None
    # WHEN several requests use the table
    api.create({"productId": "p-1"})
    api.request("GET", "/product", query={"productId": "p-1"})
    api.request("GET", "/products")
    # THEN one resource served them all
    assert calls == [("dynamodb",)]
    assert lambda_function._dynamodb is not None


def test_table_name_comes_from_the_environment(api, lambda_function, aws, monkeypatch):
    # GIVEN a second table, named by TABLE_NAME
    aws.create_table(
        TableName="other-table",
        KeySchema=[{"AttributeName": "productId", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "productId", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    try:
        monkeypatch.setenv("TABLE_NAME", "other-table")
        # WHEN a product is saved
        api.create({"productId": "elsewhere"})
        # THEN it went to that table
        item = aws.get_item(TableName="other-table", Key={"productId": {"S": "elsewhere"}})["Item"]
        assert item == {"productId": {"S": "elsewhere"}}
    finally:
        aws.delete_table(TableName="other-table")
