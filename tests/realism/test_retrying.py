"""workshop.retrying: one throttling policy for AWS and the local cloud (labs, scripts, cleanup)."""

from __future__ import annotations

import io

import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from workshop.retrying import (
    STANDARD_RETRIES,
    backoff_seconds,
    is_throttled,
    retry_after,
    throttle_wait,
    use_standard_retries,
)


def client_error(code: str, status: int, headers: dict[str, str] | None = None) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": "m"},
         "ResponseMetadata": {"HTTPStatusCode": status, "HTTPHeaders": headers or {}}},
        "DeleteRestApi",
    )


def test_connect_style_defaults_fill_only_what_is_unset():
    environ: dict[str, str] = {}
    use_standard_retries(environ)
    assert environ == STANDARD_RETRIES == {"AWS_RETRY_MODE": "standard", "AWS_MAX_ATTEMPTS": "10"}
    mine = {"AWS_RETRY_MODE": "adaptive", "AWS_MAX_ATTEMPTS": "3"}
    use_standard_retries(mine)
    assert mine == {"AWS_RETRY_MODE": "adaptive", "AWS_MAX_ATTEMPTS": "3"}


def test_connect_sets_standard_retries_for_the_clients_made_after_it(monkeypatch, local_cloud):
    import boto3

    from workshop.target import connect

    monkeypatch.delenv("AWS_RETRY_MODE", raising=False)
    monkeypatch.delenv("AWS_MAX_ATTEMPTS", raising=False)
    connect(quiet=True)
    client = boto3.client("apigateway")
    assert client.meta.config.retries["mode"] == "standard"
    assert client.meta.config.retries["total_max_attempts"] == 10


@pytest.mark.parametrize(("code", "status", "expected"), [
    ("TooManyRequestsException", 429, True),
    ("ThrottlingException", 400, True),
    ("Throttling", 400, True),
    ("SomethingNew", 429, True),
    ("ResourceConflictException", 409, False),
    ("NotFoundException", 404, False),
])
def test_is_throttled(code, status, expected):
    assert is_throttled(client_error(code, status)) is expected


def test_is_throttled_is_false_for_errors_without_a_response():
    assert not is_throttled(ValueError("x"))
    assert retry_after(ValueError("x")) is None


@pytest.mark.parametrize(("headers", "expected"), [
    ({"retry-after": "30"}, 30.0),
    ({"Retry-After": "1.5"}, 1.5),
    ({}, None),
    ({"retry-after": "Wed, 21 Oct 2026 07:28:00 GMT"}, None),
    ({"retry-after": "-3"}, None),
])
def test_retry_after_reads_the_header(headers, expected):
    assert retry_after(client_error("TooManyRequestsException", 429, headers)) == expected


def test_backoff_doubles_up_to_the_cap_and_counts_from_one():
    assert [backoff_seconds(n, cap=8) for n in range(1, 7)] == [1, 2, 4, 8, 8, 8]
    assert backoff_seconds(3, base=0.5) == 2.0
    with pytest.raises(ValueError):
        backoff_seconds(0)


def test_throttle_wait_prefers_retry_after_then_fallback_then_backoff():
    assert throttle_wait(client_error("TooManyRequestsException", 429, {"retry-after": "7"}), 1, fallback=30) == 7.0
    assert throttle_wait(client_error("TooManyRequestsException", 429), 1, fallback=30) == 30
    assert throttle_wait(client_error("TooManyRequestsException", 429), 3) == 4.0


def test_throttle_wait_never_lets_a_loop_fall_through():
    last = client_error("TooManyRequestsException", 429)
    with pytest.raises(ClientError) as caught:
        throttle_wait(last, 10, max_attempts=10)
    assert caught.value is last
    other = client_error("NotFoundException", 404)
    with pytest.raises(ClientError) as caught:
        throttle_wait(other, 1)
    assert caught.value is other


def test_the_cleanup_waits_as_long_as_api_gateway_asks():
    from workshop.cleanup import KIND_REST_API, Cleaner, Clients, Resource

    waits: list[float] = []
    clients = Clients(region="us-east-1")
    cleaner = Cleaner(clients, out=io.StringIO(), sleep=waits.append)
    api = Resource(KIND_REST_API, "inventory-tester-api", "tester", "a1b2c3d4e5")
    with Stubber(clients.single_try("apigateway")) as stub:
        stub.add_client_error("delete_rest_api", "TooManyRequestsException", http_status_code=429,
                              response_meta={"HTTPHeaders": {"retry-after": "2"}})
        stub.add_response("delete_rest_api", {}, {"restApiId": "a1b2c3d4e5"})
        outcome = cleaner.delete(api)
    assert outcome.status == "deleted"
    assert waits == [2.0]
