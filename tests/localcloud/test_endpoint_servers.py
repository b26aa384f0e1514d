"""The AWS endpoint's two HTTP servers (workshop/localcloud/http_servers.py) behave alike.

Every behaviour the endpoint had on werkzeug's server is checked on both, around a recording
WSGI app behind the endpoint's own guard (``EndpointGuard``): "never reaches moto" is then
checked directly, since the app would record the request. The thread-starvation case is also
run end to end: concurrent direct invokes whose functions call DynamoDB on the same endpoint.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from localcloud_support import serving_endpoint
from hardening_support import raw_http, request, status_line

from workshop.localcloud import config
from workshop.localcloud.http_servers import (
    WAITRESS_MIN_THREADS,
    endpoint_server_name,
    make_endpoint_server,
)

pytestmark = pytest.mark.localcloud

KINDS = list(config.ENDPOINT_SERVERS)
#: Short, so the timeout tests take seconds (the local cloud uses ENDPOINT_SOCKET_TIMEOUT_S).
SOCKET_TIMEOUT_S = 1.0


class RecordingApp:
    """Answers 200 with what it saw; ``/hold`` waits until a ``/release`` request arrives."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.released = threading.Event()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))  # as WSGI asks
        path = environ["PATH_INFO"]
        self.requests.append({"path": path, "body": body})
        if path == "/hold":
            held = self.released.wait(10)
            body = b"released" if held else b"starved"
        elif path == "/release":
            self.released.set()
        seen = {
            "bodyLength": len(body),
            "headers": {k: v for k, v in environ.items() if k.startswith("HTTP_")},
            "preserved": environ.get("moto.preserved_header_names"),
        }
        answer = body if path == "/hold" else json.dumps(seen).encode()
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(answer)))])
        return [answer]


@pytest.fixture(params=KINDS)
def served(request: pytest.FixtureRequest) -> Iterator[tuple[int, RecordingApp, str]]:
    app = RecordingApp()
    try:
        with serving_endpoint(app, request.param, SOCKET_TIMEOUT_S) as port:
            yield port, app, request.param
    finally:
        app.released.set()


def _body(answer: bytes) -> bytes:
    return answer.split(b"\r\n\r\n", 1)[1]


def _one_response(connection: socket.socket) -> bytes:
    """One whole response with a Content-Length from a kept-alive connection (b"" on close)."""
    answer = b""
    while b"\r\n\r\n" not in answer:
        chunk = connection.recv(65536)
        if not chunk:
            return answer
        answer += chunk
    head = answer.split(b"\r\n\r\n", 1)[0].lower()
    length = int(head.split(b"content-length:", 1)[1].split(b"\r\n", 1)[0])
    while len(_body(answer)) < length:
        answer += connection.recv(65536)
    return answer


# -- choosing the server ----------------------------------------------------------------------


def test_the_setting_names_the_server_and_defaults_to_the_faster_one():
    assert endpoint_server_name({}) == config.DEFAULT_ENDPOINT_SERVER == "waitress"
    assert endpoint_server_name({config.ENDPOINT_SERVER_ENV: " Werkzeug "}) == "werkzeug"
    assert endpoint_server_name({config.ENDPOINT_SERVER_ENV: ""}) == config.DEFAULT_ENDPOINT_SERVER


@pytest.mark.parametrize("name", ["gunicorn", "waitres", "werkzeug,waitress"])
def test_an_unknown_server_name_is_an_error_naming_the_choices(name):
    with pytest.raises(ValueError, match="waitress, werkzeug"):
        endpoint_server_name({config.ENDPOINT_SERVER_ENV: name})
    with pytest.raises(ValueError):
        make_endpoint_server("127.0.0.1", 0, RecordingApp(), socket_timeout=1, kind=name)


@pytest.mark.parametrize("kind", KINDS)
def test_a_taken_port_is_an_os_error_for_both_servers(kind):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(OSError):
            make_endpoint_server("127.0.0.1", taken.getsockname()[1], RecordingApp(), socket_timeout=1, kind=kind)


# -- requests that arrive whole ---------------------------------------------------------------


def test_a_request_and_its_body_arrive_whole(served):
    port, app, _ = served
    body = json.dumps({"pad": "x" * 100_000}).encode()  # above waitress' in-memory buffer
    answer = raw_http(port, request("POST", "/put", f"127.0.0.1:{port}", f"Content-Length: {len(body)}", body=body))
    assert status_line(answer).startswith(b"HTTP/1.1 200")
    assert json.loads(_body(answer))["bodyLength"] == len(body)
    assert app.requests[-1]["body"] == body


def test_chunked_bodies_and_repeated_equal_lengths_are_accepted(served):
    port, app, _ = served
    chunked = b"2\r\n{}\r\n0\r\n\r\n"
    for framing, payload in (("Transfer-Encoding: chunked", chunked), ("Content-Length: 2\r\nContent-Length: 2", b"{}")):
        answer = raw_http(port, request("POST", "/put", f"127.0.0.1:{port}", framing, body=payload))
        assert status_line(answer).startswith(b"HTTP/1.1 200"), answer[:200]
    assert [r["body"] for r in app.requests] == [b"{}", b"{}"]


def test_keep_alive_serves_several_requests_on_one_connection_under_waitress(served):
    # werkzeug's development server answers "Connection: close" every time (a new connection
    # per boto3 call, part of why it is slower); waitress keeps the connection
    port, app, kind = served
    one = f"GET /a HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()
    with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
        for _ in range(1 if kind == "werkzeug" else 3):
            connection.sendall(one)
            answer = _one_response(connection)
            assert answer.startswith(b"HTTP/1.1 200")
            assert (b"connection: close" in answer.lower()) == (kind == "werkzeug")
    assert len(app.requests) == (1 if kind == "werkzeug" else 3)


def test_the_guard_still_refuses_a_foreign_host(served):
    port, app, _ = served
    answer = raw_http(port, request("GET", "/", f"evil.example:{port}"))
    assert status_line(answer).startswith(b"HTTP/1.1 403")
    assert app.requests == []


# -- what never reaches the app ---------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        b"GARBAGE\r\n\r\n",
        b"GET /\r\n\r\n",
        b"GET / HTTP/1.1 extra\r\nHost: x\r\n\r\n",
        b"GET  / HTTP/1.1\r\n\r\n",
        b"G(T / HTTP/1.1\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n",
    ],
)
def test_a_malformed_request_line_is_an_http_1_1_400_and_the_connection_closes(served, data):
    port, app, _ = served
    with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
        connection.sendall(data)  # no half-close: the server must close by itself
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    assert status_line(answer).startswith(b"HTTP/1.1 400")
    assert app.requests == []


@pytest.mark.parametrize(
    "framing",
    [
        "Content-Length: abc",
        "Content-Length: -1",
        "Content-Length: +5",
        "Content-Length: 0x10",
        "Content-Length: 2\r\nContent-Length: 3",
        "Transfer-Encoding: chunked, gzip",
        "Transfer-Encoding: chunked\r\nContent-Length: 2",
    ],
)
def test_an_ambiguous_body_length_is_a_400(served, framing):
    port, app, _ = served
    answer = raw_http(port, request("POST", "/put", f"127.0.0.1:{port}", framing, body=b"{}"))
    assert status_line(answer).startswith(b"HTTP/1.1 400"), answer[:200]
    assert app.requests == []


@pytest.mark.parametrize("framing, payload", [("Content-Length: 50", b"{}"), ("Transfer-Encoding: chunked", b"ff\r\n{}")])
def test_a_body_cut_short_by_the_client_is_a_400(served, framing, payload):
    port, app, _ = served
    answer = raw_http(port, request("POST", "/put", f"127.0.0.1:{port}", framing, body=payload))
    assert status_line(answer).startswith(b"HTTP/1.1 400"), answer[:200]
    assert app.requests == []


def test_a_blank_line_after_the_last_request_is_no_request(served):
    port, app, _ = served
    answer = raw_http(port, f"GET /a HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n\r\n".encode())
    assert answer.startswith(b"HTTP/1.1 200")
    assert answer.count(b"HTTP/1.") == 1
    assert len(app.requests) == 1


def test_a_body_that_stalls_is_answered_400_after_the_socket_timeout(served):
    port, app, _ = served
    started = time.monotonic()
    answer = raw_http(port, request("POST", "/put", f"127.0.0.1:{port}", "Content-Length: 50", body=b"{}"),
                      half_close=False, timeout=10)
    assert status_line(answer).startswith(b"HTTP/1.1 400")
    assert SOCKET_TIMEOUT_S * 0.9 <= time.monotonic() - started < SOCKET_TIMEOUT_S + 4
    assert app.requests == []


def test_an_idle_keep_alive_connection_is_closed_after_the_socket_timeout(served):
    port, _, _ = served
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(f"GET /a HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
        assert _one_response(connection).startswith(b"HTTP/1.1 200")
        started = time.monotonic()
        assert connection.recv(65536) == b""  # the server closed it
    assert time.monotonic() - started < SOCKET_TIMEOUT_S + 4


def test_underscore_headers_are_dropped_except_s3_metadata_which_keeps_its_spelling(served):
    port, _, _ = served
    answer = raw_http(port, request("GET", "/h", f"127.0.0.1:{port}", "X_Spoof: 1", "X-Amz-Meta-My_Key: v",
                                    "X-Amz-Meta-Other: w"))
    seen = json.loads(_body(answer))
    assert "HTTP_X_SPOOF" not in seen["headers"]
    assert seen["headers"]["HTTP_X_AMZ_META_MY_KEY"] == "v"
    assert seen["preserved"] == {"HTTP_X_AMZ_META_MY_KEY": "X-Amz-Meta-My_Key"}
    assert seen["headers"]["HTTP_X_AMZ_META_OTHER"] == "w"


def test_an_underscore_header_cannot_pose_as_its_dashed_twin(served):
    port, _, _ = served
    answer = raw_http(port, request("GET", "/h", f"127.0.0.1:{port}", "X-Amz-Meta-A-B: real", "X-Amz-Meta-A_B: fake"))
    assert json.loads(_body(answer))["headers"]["HTTP_X_AMZ_META_A_B"] == "real"


# -- capacity -----------------------------------------------------------------------------------


def test_requests_waiting_on_another_request_of_the_same_server_do_not_starve_it(served):
    # GIVEN twice waitress' default thread count of requests that each wait for a later one (as a
    # direct invoke waits for its function's DynamoDB calls on the same endpoint)
    port, app, _ = served
    held = 2 * WAITRESS_MIN_THREADS
    with ThreadPoolExecutor(held) as pool:
        holds = [pool.submit(raw_http, port, request("GET", "/hold", f"127.0.0.1:{port}"), timeout=15)
                 for _ in range(held)]
        deadline = time.monotonic() + 5
        while sum(r["path"] == "/hold" for r in app.requests) < held and time.monotonic() < deadline:
            time.sleep(0.02)
        # WHEN the request they wait for arrives THEN it is served at once, and so are they
        started = time.monotonic()
        release = raw_http(port, request("GET", "/release", f"127.0.0.1:{port}"), timeout=15)
        assert status_line(release).startswith(b"HTTP/1.1 200")
        assert time.monotonic() - started < 3
        assert [_body(f.result()) for f in holds] == [b"released"] * held


def test_a_burst_of_64_connections_waits_in_the_listen_backlog(served):
    port, _, _ = served
    connections = [socket.create_connection(("127.0.0.1", port), timeout=2) for _ in range(64)]
    try:
        for connection in connections:
            connection.sendall(f"GET /a HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n".encode())
        answers = [_one_response(connection) for connection in connections]
    finally:
        for connection in connections:
            connection.close()
    assert all(answer.startswith(b"HTTP/1.1 200") for answer in answers)


@pytest.mark.parametrize("kind", KINDS)
def test_shutdown_returns_promptly_with_idle_keep_alive_connections_open(kind):
    server = make_endpoint_server("127.0.0.1", 0, RecordingApp(), socket_timeout=60, kind=kind)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    port = server.server_port
    idle = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(5)]
    for connection in idle:
        connection.sendall(f"GET /a HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
        assert _one_response(connection).startswith(b"HTTP/1.1 200")
    try:
        started = time.monotonic()
        server.shutdown()
        server.server_close()
        assert time.monotonic() - started < 2
        thread.join(timeout=2)
        assert not thread.is_alive()
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
    finally:
        for connection in idle:
            connection.close()


# -- end to end: concurrent invokes calling DynamoDB on the same endpoint ----------------------

READ_BACK = r'''
import os, boto3

def handler(event, context):
    table = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])
    table.put_item(Item={"id": event["id"]})
    return table.get_item(Key={"id": event["id"]})["Item"]
'''


def test_more_concurrent_invokes_than_waitress_default_threads_all_answer_quickly(cloud):
    # GIVEN a function that calls DynamoDB back on the endpoint that invoked it
    concurrent = 2 * WAITRESS_MIN_THREADS
    table = f"starve-{time.time_ns()}"
    cloud.client("dynamodb").create_table(
        TableName=table, BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}])
    name = cloud.deploy({"app.py": READ_BACK}, environment={"TABLE_NAME": table}, timeout=60)
    assert cloud.server.describe()["endpoint_server"] == endpoint_server_name()
    # WHEN more direct invokes than a fixed pool has threads run at once (cold environments)
    started = time.monotonic()
    with ThreadPoolExecutor(concurrent) as pool:
        results = list(pool.map(lambda n: cloud.invoke(name, {"id": f"i-{n}"})[1], range(concurrent)))
    # THEN every one answers with its item, long before the function timeout a deadlock would hit
    assert results == [{"id": f"i-{n}"} for n in range(concurrent)]
    assert time.monotonic() - started < 40


# -- make bench: the comparison, and its clouds stopped whatever happens -------------------------


def _bench():  # noqa: ANN202 - the scripts/bench.py module
    import importlib
    import sys

    from workshop.paths import REPO_ROOT

    sys.path.insert(0, str(REPO_ROOT / "scripts"))
    try:
        return importlib.import_module("bench")
    finally:
        sys.path.remove(str(REPO_ROOT / "scripts"))


@pytest.fixture
def bench_clouds(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, list[Any]]]:
    """The bench module, and the local clouds its comparison starts (recorded as they start)."""
    bench = _bench()
    started: list[Any] = []
    real_start = bench.lifecycle.start

    def recording_start(**kwargs: Any) -> Any:
        started.append(real_start(**kwargs))
        return started[-1]

    monkeypatch.setattr(bench.lifecycle, "start", recording_start)
    monkeypatch.delenv(config.ENDPOINT_SERVER_ENV, raising=False)
    yield bench, started
    for info in started:  # a failed test must not leave them running
        bench.lifecycle.stop(info.state_dir)


def _all_gone(started: list[Any]) -> bool:
    from hardening_support import pid_alive, wait_until

    return wait_until(lambda: not any(pid_alive(info.pid) for info in started), timeout=10) and not any(
        os.path.exists(info.state_dir) for info in started)


def test_the_bench_compares_both_servers_in_one_row_and_stops_its_clouds(bench_clouds):
    import re

    bench, started = bench_clouds
    [(label, value)] = bench.endpoint_server_comparison(20)
    assert "get_item p50" in label
    found = re.fullmatch(
        r"waitress (\d+\.\d+) ms / werkzeug (\d+\.\d+) ms = (\d+\.\d+)x   "
        r"\(faster server is the default \(waitress\): (met|NOT met)\)", value)
    assert found, value
    waitress_ms, werkzeug_ms, ratio = (float(found[n]) for n in (1, 2, 3))
    assert ratio == pytest.approx(waitress_ms / werkzeug_ms, abs=0.01)
    assert (found[4] == "met") == (waitress_ms < werkzeug_ms) or waitress_ms == werkzeug_ms
    assert len(started) == 2 and _all_gone(started)
    assert config.ENDPOINT_SERVER_ENV not in os.environ


def test_the_bench_stops_both_clouds_when_the_measurement_fails(bench_clouds, monkeypatch):
    bench, started = bench_clouds

    def interrupted(*args: Any, **kwargs: Any) -> None:
        raise KeyboardInterrupt  # what SIGTERM becomes in the bench

    monkeypatch.setattr(bench, "interleaved", interrupted)
    with pytest.raises(KeyboardInterrupt):
        bench.endpoint_server_comparison(20)
    assert len(started) == 2 and _all_gone(started)
