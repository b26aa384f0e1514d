"""Request lines the endpoint's two servers must read alike: absolute-form targets and versions.

GIVEN the AWS endpoint behind its guard (``EndpointGuard``) on waitress or werkzeug, WHEN a
request names its target in absolute form (``GET http://host:port/path HTTP/1.1``, what a client
sends to a proxy) or claims an HTTP version other than 1.x, THEN both servers answer the same:

- RFC 9112 section 3.2.2: for an absolute-form target "the origin server MUST ignore the received
  Host header field (if any) and instead use the host information of the request-target", so
  the Host check (DNS-rebinding protection) judges the target's authority, not the Host header;
- RFC 9112 section 2.3 / RFC 9110 section 15.6.6: a major version the server does not speak is
  refused (werkzeug's server answers 505), never served as if it were HTTP/1.0.

Never reaching moto is checked on the recording app: a refused request is not recorded.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from localcloud_support import serving_endpoint
from hardening_support import raw_http, status_line

from workshop.localcloud import config

pytestmark = pytest.mark.localcloud


class RecordingApp:
    """Answers 200 with the Host and path it saw, and records every request it gets."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen = {"path": environ["PATH_INFO"], "host": environ.get("HTTP_HOST")}
        self.requests.append(seen)
        answer = json.dumps(seen).encode()
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(answer)))])
        return [answer]


@pytest.fixture(params=list(config.ENDPOINT_SERVERS))
def served(request: pytest.FixtureRequest) -> Iterator[tuple[int, RecordingApp]]:
    app = RecordingApp()
    with serving_endpoint(app, request.param, 1.0) as port:
        yield port, app


def _request_line(target: str, host: str, version: str = "HTTP/1.1") -> bytes:
    return f"GET {target} {version}\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode()


@pytest.mark.parametrize("authority", ["evil.example", "evil.example:{port}", "127.0.0.1.nip.io:{port}"])
def test_an_absolute_target_naming_another_host_is_refused_whatever_the_host_header(served, authority):
    port, app = served
    target = f"http://{authority.format(port=port)}/"

    answer = raw_http(port, _request_line(target, f"127.0.0.1:{port}"))

    assert b" 403 " in status_line(answer)
    assert b"ForeignHost" in answer
    assert app.requests == []


def test_an_absolute_target_naming_this_server_is_served_with_its_path(served):
    port, app = served

    answer = raw_http(port, _request_line(f"http://127.0.0.1:{port}/x?y=1", f"127.0.0.1:{port}"))

    assert b" 200 " in status_line(answer)
    assert app.requests == [{"path": "/x", "host": f"127.0.0.1:{port}"}]


@pytest.mark.parametrize("version", ["HTTP/2.0", "HTTP/3.0", "HTTP/0.9"])
def test_a_version_other_than_http_1_is_refused_and_never_reaches_moto(served, version):
    port, app = served

    answer = raw_http(port, _request_line("/", f"127.0.0.1:{port}", version))

    code = int(status_line(answer).split()[1])
    assert code in (400, 505), answer[:200]
    assert f"{version} is not supported".encode() in answer or code == 505
    assert app.requests == []
