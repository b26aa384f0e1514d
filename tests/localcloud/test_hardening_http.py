"""Fault injection at the HTTP fronts: foreign Host, web pages, malformed requests, broken bodies.

The AWS endpoint is the session's real local cloud (a separate process); the gateway's HTTP front
is also driven in-process around a recording stand-in for the gateway core, so "never reaches
the function" is checked directly: the stand-in would record the request.
"""

from __future__ import annotations

import json
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import boto3
import pytest
import requests
from hardening_support import header, raw_http, request, status_line

from workshop.localcloud.gateway import GatewayResponse, make_gateway_server
from workshop.localcloud.gateway.server import GatewayRequestHandler
from workshop.localcloud.http_guard import framing_error, host_allowed

pytestmark = pytest.mark.localcloud

EVIL_ORIGIN = "http://evil.example"

MALFORMED_REQUEST_LINES = [
    b"GARBAGE\r\n\r\n",
    b"GET /\r\n\r\n",  # HTTP/0.9: the standard library would answer without a status line
    b"POST /\r\n\r\n",
    b"GET / HTTP/1.1 extra\r\nHost: 127.0.0.1\r\n\r\n",
    b"GET  / HTTP/1.1\r\n\r\n",
    b"GET / HTTX/1.1\r\n\r\n",
    b"GET / HTTP/1\r\n\r\n",
    b"G(T / HTTP/1.1\r\n\r\n",
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n",  # a TLS hello sent to http://
]

BAD_CONTENT_LENGTHS = ["abc", "-1", "+5", "1_0", "0x10", "5 5", ""]


# -- the rules on their own -----------------------------------------------------------------


@pytest.mark.parametrize(
    "host, port, allowed",
    [
        ("127.0.0.1:4566", 4566, True),
        ("localhost:4566", 4566, True),
        ("LOCALHOST:4566", 4566, True),
        ("[::1]:4566", 4566, True),
        ("127.0.0.1:4567", 4566, False),  # another port: another server
        ("127.0.0.1", 4566, False),
        ("evil.example:4566", 4566, False),
        ("127.0.0.1.evil.example:4566", 4566, False),
        ("localhost.:4566", 4566, False),
        ("0.0.0.0:4566", 4566, False),
        ("", 4566, False),
        (None, 4566, False),
        ("localhost", 80, True),  # the default port may be left out
    ],
)
def test_only_loopback_names_with_the_servers_own_port_are_answered(host, port, allowed):
    assert host_allowed(host, port) is allowed


@dataclass
class _Headers:
    values: dict[str, list[str]] = field(default_factory=dict)

    def get_all(self, name: str) -> list[str] | None:
        return self.values.get(name)


@pytest.mark.parametrize(
    "headers, problem",
    [
        ({"Content-Length": ["12"]}, None),
        ({"Content-Length": ["12", "12"]}, None),
        ({"Transfer-Encoding": ["chunked"]}, None),
        ({"Transfer-Encoding": ["gzip, chunked"]}, None),
        ({"Content-Length": ["12", "13"]}, "conflicting"),
        ({"Content-Length": ["1e3"]}, "decimal"),
        ({"Transfer-Encoding": ["chunked, gzip"]}, "end with chunked"),
        ({"Transfer-Encoding": ["chunked"], "Content-Length": ["3"]}, "both"),
    ],
)
def test_framing_headers_are_accepted_only_when_the_body_length_is_unambiguous(headers, problem):
    found = framing_error(_Headers(headers))
    if problem is None:
        assert found is None
    else:
        assert found is not None and problem in found


# -- the AWS endpoint (real local cloud) -----------------------------------------------------


def test_the_endpoint_grants_no_cors_preflight_to_a_web_page(local_cloud):
    answer = raw_http(
        local_cloud.endpoint_port,
        request(
            "OPTIONS",
            "/2015-03-31/functions",
            f"127.0.0.1:{local_cloud.endpoint_port}",
            f"Origin: {EVIL_ORIGIN}",
            "Access-Control-Request-Method: POST",
            "Access-Control-Request-Headers: content-type,authorization",
        ),
    )
    assert status_line(answer).startswith(b"HTTP/1.1 403")
    assert b"access-control-" not in answer.lower()


def test_a_cross_origin_create_function_is_refused_and_creates_nothing(local_cloud):
    # GIVEN the request a page can send without a preflight (text/plain, no custom header)
    name = f"from-a-web-page-{uuid.uuid4().hex[:6]}"
    body = json.dumps({"FunctionName": name, "Runtime": "python3.11", "Handler": "a.b",
                       "Role": "arn:aws:iam::123456789012:role/x", "Code": {"ZipFile": "UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA=="}})
    answer = raw_http(
        local_cloud.endpoint_port,
        request(
            "POST",
            "/2015-03-31/functions",
            f"127.0.0.1:{local_cloud.endpoint_port}",
            f"Origin: {EVIL_ORIGIN}",
            "Content-Type: text/plain",
            f"Content-Length: {len(body)}",
            body=body.encode(),
        ),
    )
    assert status_line(answer).startswith(b"HTTP/1.1 403")
    assert header(answer, "Access-Control-Allow-Origin") is None
    names = [f["FunctionName"] for f in boto3.client("lambda").list_functions()["Functions"]]
    assert name not in names


@pytest.mark.parametrize("site, refused", [("cross-site", True), ("same-site", True), ("none", False)])
def test_the_endpoint_refuses_what_a_page_sends_without_an_origin_but_not_a_typed_url(local_cloud, site, refused):
    # an <img src=...> or a link on another site carries Sec-Fetch-Site but no Origin
    port = local_cloud.endpoint_port
    answer = raw_http(port, request("GET", "/_localcloud/health", f"127.0.0.1:{port}",
                                    f"Sec-Fetch-Site: {site}", "Sec-Fetch-Mode: no-cors"))
    assert status_line(answer).startswith(b"HTTP/1.1 403" if refused else b"HTTP/1.1 200")


@pytest.mark.parametrize("host", ["evil.example:{port}", "127.0.0.1:1", "attacker.test", None])
def test_the_endpoint_refuses_a_foreign_host_as_dns_rebinding_would_send(local_cloud, host):
    port = local_cloud.endpoint_port
    host_line = [f"Host: {host.format(port=port)}"] if host else []
    lines = ["POST / HTTP/1.1", *host_line, "Connection: close",
             "X-Amz-Target: DynamoDB_20120810.ListTables", "Content-Type: application/x-amz-json-1.0",
             "Authorization: AWS4-HMAC-SHA256 Credential=testing/20261130/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0",
             "Content-Length: 2"]
    answer = raw_http(port, ("\r\n".join(lines) + "\r\n\r\n{}").encode())
    assert status_line(answer).startswith(b"HTTP/1.1 403")
    assert b"TableNames" not in answer


@pytest.mark.parametrize("name", ["127.0.0.1", "localhost", "[::1]"])
def test_the_endpoint_answers_its_loopback_names(local_cloud, name):
    port = local_cloud.endpoint_port
    answer = raw_http(port, request("GET", "/_localcloud/health", f"{name}:{port}"))
    assert status_line(answer).startswith(b"HTTP/1.1 200")
    assert json.loads(answer.split(b"\r\n\r\n", 1)[1])["pid"] == local_cloud.pid


def test_boto3_still_works_against_the_guarded_endpoint(local_cloud):
    assert "TableNames" in boto3.client("dynamodb").list_tables()


@pytest.mark.parametrize("line", MALFORMED_REQUEST_LINES)
def test_the_endpoint_answers_a_malformed_request_line_with_an_http_1_1_400(local_cloud, line):
    assert status_line(raw_http(local_cloud.endpoint_port, line)).startswith(b"HTTP/1.1 400")


@pytest.mark.parametrize("value", BAD_CONTENT_LENGTHS)
def test_the_endpoint_answers_a_bad_content_length_with_400_not_a_500_page(local_cloud, value):
    port = local_cloud.endpoint_port
    answer = raw_http(
        port, request("POST", "/", f"127.0.0.1:{port}", f"Content-Length: {value}", body=b"{}")
    )
    assert status_line(answer).startswith(b"HTTP/1.1 400"), answer[:200]


def test_the_endpoint_refuses_two_different_content_lengths(local_cloud):
    port = local_cloud.endpoint_port
    answer = raw_http(
        port,
        request("POST", "/", f"127.0.0.1:{port}", "Content-Length: 2", "Content-Length: 3", body=b"{}"),
    )
    assert status_line(answer).startswith(b"HTTP/1.1 400")


def _create_table_body(name: str) -> bytes:
    return json.dumps({
        "TableName": name,
        "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
        "BillingMode": "PAY_PER_REQUEST",
    }).encode()


def _dynamodb_headers(port: int) -> list[str]:
    return [
        "X-Amz-Target: DynamoDB_20120810.CreateTable",
        "Content-Type: application/x-amz-json-1.0",
        "Authorization: AWS4-HMAC-SHA256 Credential=testing/20261130/us-east-1/dynamodb/aws4_request, "
        "SignedHeaders=host, Signature=0",
    ]


def test_a_body_shorter_than_its_content_length_never_reaches_moto(local_cloud):
    port = local_cloud.endpoint_port
    name = f"truncated-{uuid.uuid4().hex[:6]}"
    body = _create_table_body(name)
    answer = raw_http(
        port,
        request("POST", "/", f"127.0.0.1:{port}", *_dynamodb_headers(port),
                f"Content-Length: {len(body) + 40}", body=body),
    )
    assert status_line(answer).startswith(b"HTTP/1.1 400")
    assert name not in boto3.client("dynamodb").list_tables()["TableNames"]


@pytest.mark.parametrize("chunks", [b"zz\r\n{}\r\n0\r\n\r\n", b"-5\r\n{}\r\n0\r\n\r\n", b"ff\r\n{}", b"2\r\n{}XX0\r\n\r\n"])
def test_broken_chunked_encoding_on_the_endpoint_is_a_400(local_cloud, chunks):
    port = local_cloud.endpoint_port
    answer = raw_http(
        port,
        request("POST", "/", f"127.0.0.1:{port}", *_dynamodb_headers(port),
                "Transfer-Encoding: chunked", body=chunks),
    )
    assert status_line(answer).startswith(b"HTTP/1.1 400"), answer[:200]


def test_a_well_formed_chunked_request_still_reaches_moto(local_cloud):
    port = local_cloud.endpoint_port
    name = f"chunked-{uuid.uuid4().hex[:6]}"
    body = _create_table_body(name)
    chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
    answer = raw_http(
        port,
        request("POST", "/", f"127.0.0.1:{port}", *_dynamodb_headers(port),
                "Transfer-Encoding: chunked", body=chunked),
    )
    try:
        assert status_line(answer).startswith(b"HTTP/1.1 200"), answer[:300]
        assert name in boto3.client("dynamodb").list_tables()["TableNames"]
    finally:
        if name in boto3.client("dynamodb").list_tables()["TableNames"]:
            boto3.client("dynamodb").delete_table(TableName=name)


# -- the gateway's HTTP front, in-process around a recording core ---------------------------


class RecordingCore:
    """Stands in for the gateway core: every request that gets through is recorded."""

    def __init__(self) -> None:
        self.requests: list = []

    def handle(self, gateway_request):  # noqa: ANN001, ANN201 - the core's signature
        self.requests.append(gateway_request)
        body = json.dumps({"bodyLength": len(gateway_request.body)}).encode()
        return GatewayResponse(200, [("Content-Type", "application/json"),
                                     ("Access-Control-Allow-Origin", "*")], body)

    def close(self) -> None:
        pass


@pytest.fixture
def front() -> Iterator[tuple[int, RecordingCore]]:
    core = RecordingCore()
    server = make_gateway_server("127.0.0.1", 0, gateway=core)  # type: ignore[arg-type]
    thread = server.serve_in_background()
    saved = GatewayRequestHandler.body_timeout
    GatewayRequestHandler.body_timeout = 1.0
    try:
        yield server.server_port, core
    finally:
        GatewayRequestHandler.body_timeout = saved
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_the_gateway_listen_backlog_holds_a_classroom_burst():
    # GIVEN a gateway that is bound but busy (not accepting): only the kernel's listen queue
    # holds new connections, as during a burst of 64 clients
    server = make_gateway_server("127.0.0.1", 0, gateway=RecordingCore())  # type: ignore[arg-type]
    connections: list[socket.socket] = []
    try:
        # WHEN 64 clients connect at once THEN every handshake completes (a backlog of 5
        # leaves the 7th waiting for a SYN retry, and the connect times out)
        for _ in range(64):
            connections.append(socket.create_connection(("127.0.0.1", server.server_port), timeout=0.5))
    finally:
        for connection in connections:
            connection.close()
        server.server_close()
    assert len(connections) == 64


@pytest.mark.parametrize("host", ["evil.example:{port}", "127.0.0.1:1", "localhost", None])
def test_the_gateway_refuses_a_foreign_host_before_any_function_runs(front, host):
    port, core = front
    host_line = [f"Host: {host.format(port=port)}"] if host else []
    lines = ["GET /api/prod/health HTTP/1.1", *host_line, "Connection: close"]
    answer = raw_http(port, ("\r\n".join(lines) + "\r\n\r\n").encode())
    assert status_line(answer).startswith(b"HTTP/1.1 403")
    assert core.requests == []


@pytest.mark.parametrize("second", ["evil.example:{port}", "127.0.0.1:{port}"])
def test_the_gateway_refuses_two_host_headers_whatever_the_second_says(front, second):
    port, core = front
    lines = ["GET /api/prod/health HTTP/1.1", f"Host: 127.0.0.1:{port}",
             f"Host: {second.format(port=port)}", "Connection: close"]
    answer = raw_http(port, ("\r\n".join(lines) + "\r\n\r\n").encode())
    assert status_line(answer).startswith(b"HTTP/1.1 403")
    assert core.requests == []


@pytest.mark.parametrize("name", ["127.0.0.1", "localhost", "[::1]"])
def test_the_gateway_answers_its_loopback_names_and_keeps_the_apis_cors(front, name):
    port, core = front
    answer = raw_http(port, request("GET", "/api/prod/health", f"{name}:{port}", f"Origin: {EVIL_ORIGIN}"))
    assert status_line(answer).startswith(b"HTTP/1.1 200")
    assert header(answer, "Access-Control-Allow-Origin") == "*"
    assert len(core.requests) == 1


@pytest.mark.parametrize("line", MALFORMED_REQUEST_LINES)
def test_the_gateway_answers_a_malformed_request_line_with_an_http_1_1_400(front, line):
    port, core = front
    assert status_line(raw_http(port, line)).startswith(b"HTTP/1.1 400")
    assert core.requests == []


@pytest.mark.parametrize("value", BAD_CONTENT_LENGTHS)
def test_the_gateway_answers_a_bad_content_length_with_400(front, value):
    port, core = front
    answer = raw_http(port, request("POST", "/api/prod/product", f"127.0.0.1:{port}",
                                    f"Content-Length: {value}", body=b"{}"))
    assert status_line(answer).startswith(b"HTTP/1.1 400")
    assert core.requests == []


def test_a_truncated_post_never_reaches_the_function(front):
    port, core = front
    body = b'{"productId": "truncated", "name": "half a chair"}'
    answer = raw_http(port, request("POST", "/api/prod/product", f"127.0.0.1:{port}",
                                    f"Content-Length: {len(body) + 10}", body=body))
    assert status_line(answer).startswith(b"HTTP/1.1 400")
    assert core.requests == []


def test_a_body_that_stalls_is_refused_instead_of_waited_for(front):
    # GIVEN a client that sends half its body and then nothing, without closing
    port, core = front
    body = b'{"productId": "stalled"}'
    answer = raw_http(port, request("POST", "/api/prod/product", f"127.0.0.1:{port}",
                                    f"Content-Length: {len(body) + 10}", body=body),
                      half_close=False, timeout=10)
    assert status_line(answer).startswith(b"HTTP/1.1 400")
    assert core.requests == []


@pytest.mark.parametrize(
    "chunks",
    [
        b"zz\r\n{}\r\n0\r\n\r\n",  # size is not hex
        b"-2\r\n{}\r\n0\r\n\r\n",  # negative size
        b"0x2\r\n{}\r\n0\r\n\r\n",
        b"ff\r\n{}",  # data shorter than its size, then the end
        b"2\r\n{}XX0\r\n\r\n",  # no CRLF after the data
        b"2\r\n{}\r\n",  # no last chunk
        b"2\r\n{}\r\n0\r\n",  # no empty line after the last chunk
    ],
)
def test_broken_chunked_encoding_never_reaches_the_function(front, chunks):
    port, core = front
    answer = raw_http(port, request("POST", "/api/prod/product", f"127.0.0.1:{port}",
                                    "Transfer-Encoding: chunked", body=chunks))
    assert status_line(answer).startswith(b"HTTP/1.1 400"), answer[:200]
    assert core.requests == []


def test_well_formed_bodies_still_arrive_whole(front):
    port, core = front
    body = json.dumps({"productId": "whole", "pad": "x" * 5000}).encode()
    chunked = b"".join(b"%x;ext=1\r\n%s\r\n" % (len(part), part) for part in (body[:100], body[100:]))
    for framing, payload in (
        (f"Content-Length: {len(body)}", body),
        ("Transfer-Encoding: chunked", chunked + b"0\r\nX-Trailer: 1\r\n\r\n"),
    ):
        answer = raw_http(port, request("POST", "/api/prod/product", f"127.0.0.1:{port}", framing, body=payload))
        assert status_line(answer).startswith(b"HTTP/1.1 200")
    assert [r.body for r in core.requests] == [body, body]


def test_the_live_gateway_refuses_a_foreign_host_and_keeps_working_for_the_real_one(local_cloud):
    port = local_cloud.gateway_port
    answer = raw_http(port, request("GET", "/nope/prod/health", f"rebound.example:{port}"))
    assert status_line(answer).startswith(b"HTTP/1.1 403")
    assert b"DNS rebinding" in answer
    # the real URL gets the gateway's own answer (no such API: Missing Authentication Token)
    response = requests.get(f"{local_cloud.gateway}/nope/prod/health", timeout=10)
    assert response.status_code == 403
    assert response.json() == {"message": "Missing Authentication Token"}
