"""Idle keep-alive connections never lock a new client out of the AWS endpoint.

waitress keeps a connection open after answering (werkzeug's server closed it every time) and
stops accepting at ``WAITRESS_CONNECTION_LIMIT`` open connections. A notebook that keeps many
boto3 clients (each holds its idle connection), or functions' environments that each keep one,
could then fill the limit: the next call hung without a word until the idle ones timed out
(60 s). GIVEN the limit is reached by idle connections, WHEN another client calls, THEN it is
answered promptly: the longest-idle connections are closed, as HTTP lets a server do with an
idle persistent connection (RFC 9112 section 9.5), and their clients reconnect on next use.
A request still arriving is not an idle connection and is never closed for this.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
from localcloud_support import serving_endpoint
from hardening_support import status_line

from workshop.localcloud import config, http_servers

pytestmark = pytest.mark.localcloud

LIMIT = 8


def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]


@pytest.fixture(params=list(config.ENDPOINT_SERVERS))
def port(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    monkeypatch.setattr(http_servers, "WAITRESS_CONNECTION_LIMIT", LIMIT)
    with serving_endpoint(app, request.param, 60.0) as port:
        yield port


def _request(port: int) -> bytes:
    return f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()


def _answered(connection: socket.socket) -> bytes:
    answer = b""
    while not answer.endswith(b"ok"):
        chunk = connection.recv(65536)
        if not chunk:
            break
        answer += chunk
    return answer


def test_a_new_client_is_answered_when_idle_connections_fill_the_limit(port):
    idle = []
    try:
        for _ in range(LIMIT + 2):  # each answered once, then left open (keep-alive)
            connection = socket.create_connection(("127.0.0.1", port), timeout=10)
            connection.sendall(_request(port))
            assert b" 200 " in status_line(_answered(connection))
            idle.append(connection)
            time.sleep(0.01)
        started = time.monotonic()
        with socket.create_connection(("127.0.0.1", port), timeout=10) as newcomer:
            newcomer.sendall(_request(port))
            answer = _answered(newcomer)
        assert b" 200 " in status_line(answer)
        assert time.monotonic() - started < 2
    finally:
        for connection in idle:
            connection.close()


def test_a_request_still_arriving_is_not_closed_to_make_room(port):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as slow:
        slow.sendall(f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n".encode())  # headers unfinished
        time.sleep(0.2)
        others = []
        try:
            for _ in range(LIMIT + 2):
                connection = socket.create_connection(("127.0.0.1", port), timeout=10)
                connection.sendall(_request(port))
                assert b" 200 " in status_line(_answered(connection))
                others.append(connection)
            slow.sendall(b"\r\n")
            assert b" 200 " in status_line(_answered(slow))
        finally:
            for connection in others:
                connection.close()
