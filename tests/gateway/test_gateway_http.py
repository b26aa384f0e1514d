"""The HTTP front over a real socket on 127.0.0.1 (free port), always shut down."""

from __future__ import annotations

import http.client
import json
import socket
from collections.abc import Iterator

import pytest
import requests

from gateway_support import ACCOUNT, REGION, Apis, FakeInvoker
from workshop.localcloud.gateway import GatewayHTTPServer, make_gateway_server
from workshop.localcloud.gateway.responses import MAX_REQUEST_BODY_BYTES


@pytest.fixture
def server(apis: Apis) -> Iterator[GatewayHTTPServer]:
    gateway_server = make_gateway_server("127.0.0.1", 0, FakeInvoker(), account_id=ACCOUNT, region=REGION)
    thread = gateway_server.serve_in_background()
    try:
        yield gateway_server
    finally:
        gateway_server.shutdown()
        gateway_server.server_close()
        thread.join(5)
    assert not thread.is_alive()


def test_base_url_plus_health_over_http(server: GatewayHTTPServer, apis: Apis) -> None:
    # GIVEN the printed base URL of a deployed stage (ends with the stage)
    base = f"{server.url}/{apis.shop}/prod"
    assert server.url == f"http://127.0.0.1:{server.server_port}"
    with requests.Session() as session:
        # WHEN /health is appended and called
        response = session.get(base + "/health?x=1&x=2", headers={"X-Multi": "a"})
        # THEN the function's answer comes back with the gateway's request id
        assert response.status_code == 200
        event = response.json()
        assert event["path"] == "/health"
        assert event["requestContext"]["path"] == "/prod/health"
        assert event["multiValueQueryStringParameters"] == {"x": ["1", "2"]}
        assert event["headers"]["Host"] == f"127.0.0.1:{server.server_port}"
        assert event["requestContext"]["identity"]["sourceIp"] == "127.0.0.1"
        assert event["requestContext"]["identity"]["userAgent"].startswith("python-requests/")
        assert response.headers["x-amzn-RequestId"] == event["requestContext"]["requestId"]

        posted = session.post(base + "/product", json={"productId": "p1"})
        assert posted.json()["body"] == '{"productId": "p1"}'

        missing = session.get(base + "/nope")
        assert missing.status_code == 403
        assert missing.json() == {"message": "Missing Authentication Token"}
        assert missing.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"

        preflight = session.options(base + "/product", headers={"Origin": "http://localhost:8000"})
        assert preflight.status_code == 200
        assert preflight.headers["Access-Control-Allow-Origin"] == "*"
        assert preflight.content == b""


def test_connection_is_kept_alive(server: GatewayHTTPServer, apis: Apis) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=5)
    try:
        statuses = []
        sockets = []
        for method, path in [("GET", "/health"), ("PATCH", "/product"), ("HEAD", "/product"), ("HEAD", "/health")]:
            connection.request(method, f"/{apis.shop}/prod{path}", body=b"{}" if method == "PATCH" else None)
            response = connection.getresponse()
            body = response.read()
            statuses.append(response.status)
            sockets.append(connection.sock)
            if method == "HEAD":
                assert body == b""  # headers only, the connection stays usable
            assert response.headers.get("Connection") != "close"
        assert statuses == [200, 200, 200, 403]  # HEAD /health: GET only, no ANY
        assert all(sock is sockets[0] and sock is not None for sock in sockets)  # one TCP connection
    finally:
        connection.close()


def test_chunked_request_body(server: GatewayHTTPServer, apis: Apis) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"productId": '
        yield b'"chunked"}'

    response = requests.post(f"{server.url}/{apis.shop}/prod/product", data=chunks())
    assert response.status_code == 200
    assert response.json()["body"] == '{"productId": "chunked"}'


def test_oversized_body_is_413_and_connection_closes(server: GatewayHTTPServer, apis: Apis) -> None:
    response = requests.post(f"{server.url}/{apis.shop}/prod/product", data=b"x" * (MAX_REQUEST_BODY_BYTES + 1))
    assert response.status_code == 413
    assert response.json() == {"message": "Request Too Long"}
    assert response.headers["Connection"] == "close"
    assert "x-amzn-RequestId" in response.headers


def test_bad_content_length_is_400(server: GatewayHTTPServer, apis: Apis) -> None:
    with socket.create_connection(("127.0.0.1", server.server_port), timeout=5) as sock:
        sock.sendall(f"POST /{apis.shop}/prod/product HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n".encode())
        reply = sock.recv(4096)
    assert reply.startswith(b"HTTP/1.1 400 ")


def test_only_loopback_binding_is_allowed() -> None:
    with pytest.raises(ValueError, match="127.0.0.1 only"):
        make_gateway_server("0.0.0.0", 0, FakeInvoker())
    with pytest.raises(TypeError):
        make_gateway_server("127.0.0.1", 0)


def test_server_reports_its_bound_port(server: GatewayHTTPServer) -> None:
    assert server.server_address[0] == "127.0.0.1"
    assert server.server_port > 0
    assert json.loads(requests.get(f"{server.url}/").content) == {"message": "Missing Authentication Token"}
