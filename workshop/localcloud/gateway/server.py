"""The HTTP front of the local execute-api gateway: a threaded HTTP/1.1 server on 127.0.0.1.

URL shape: ``http://127.0.0.1:PORT/{api_id}/{stage}/{resource path}``, so the base URL of a
deployed stage ends with the stage and ``base + "/health"`` works as on AWS.

Built on the standard library's ``ThreadingHTTPServer`` rather than werkzeug's development
server because werkzeug 3 closes every connection after one response; here connections stay
open (keep-alive) and Nagle's algorithm is off, so a ``requests.Session`` pays no connect or
delayed-ACK cost per call. Each response is written with a single ``sendall``.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from email.utils import formatdate
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from workshop.localcloud.gateway.core import DEFAULT_ACCOUNT_ID, DEFAULT_REGION, ExecuteApiGateway
from workshop.localcloud.gateway.messages import GatewayRequest, GatewayResponse, parse_query_string
from workshop.localcloud.gateway.responses import MAX_REQUEST_BODY_BYTES
from workshop.localcloud.http_guard import StrictRequestLine, host_allowed, host_refusal
from workshop.localcloud.memory_release import note_request

if TYPE_CHECKING:
    from workshop.localcloud.invoke import FunctionInvoker

log = logging.getLogger("workshop.localcloud.gateway.http")

#: An idle keep-alive connection is closed after this many seconds.
IDLE_CONNECTION_TIMEOUT_S = 120
#: Connections waiting to be accepted; a classroom burst (64 clients at once) must not be reset.
LISTEN_BACKLOG = 1024


_HEX = re.compile(rb"[0-9A-Fa-f]{1,16}")


class BadRequestBody(ValueError):
    pass


class GatewayRequestHandler(StrictRequestLine, BaseHTTPRequestHandler):
    """Reads one request, hands it to the gateway core, writes the answer back.

    Requests with a foreign Host, a malformed request line or an incomplete body are answered
    here and never reach a function (see :mod:`workshop.localcloud.http_guard`).
    """

    protocol_version = "HTTP/1.1"  # keep-alive
    disable_nagle_algorithm = True
    timeout = IDLE_CONNECTION_TIMEOUT_S
    #: A request body that stalls this long is refused (400) rather than waited for.
    body_timeout: float = 30.0
    server: GatewayHTTPServer

    def handle_one_request(self) -> None:
        # Dispatch every method to one place (BaseHTTPRequestHandler looks for do_<METHOD>).
        try:
            super().handle_one_request()
        except (ConnectionResetError, BrokenPipeError):
            self.close_connection = True

    def __getattr__(self, name: str):  # noqa: ANN204 - do_GET, do_POST, do_PATCH, ...
        if name.startswith("do_"):
            return self._serve
        raise AttributeError(name)

    def _serve(self) -> None:
        hosts = self.headers.get_all("Host") or []
        # Two Host headers are a 400 in HTTP/1.1 (RFC 9112 section 3.2); here, refused like a
        # foreign Host, so a second name can never slip past the check of the first.
        host = hosts[0] if len(hosts) == 1 else ", ".join(hosts) or None
        if not host_allowed(host, self.server.server_port):
            self.close_connection = True
            self._write(
                GatewayResponse(
                    403,
                    [("Content-Type", "application/json")],
                    json.dumps({"message": host_refusal(host, self.server.server_port)}).encode(),
                )
            )
            return
        try:
            body = self._read_body()
        except BadRequestBody as error:
            self.close_connection = True  # what is left on the socket is not a request
            self._write_plain(400, str(error))
            return
        target = self.path
        if not target.startswith("/"):  # absolute-form request target
            parts = urlsplit(target)
            target = parts.path + ("?" + parts.query if parts.query else "")
        path, _, query_string = target.partition("?")
        request = GatewayRequest(
            method=self.command.upper(),
            path=path or "/",
            headers=list(self.headers.items()),
            query=parse_query_string(query_string),
            body=body,
            source_ip=self.client_address[0],
            protocol=self.request_version,
        )
        response = self.server.gateway.handle(request)
        self._write(response, head_only=request.method == "HEAD")
        # A large event or answer leaves large garbage behind (memory_release).
        note_request(max(len(body), len(response.body)))

    def _read_body(self) -> bytes:
        """Read the request body (Content-Length or chunked), at most 10 MB + 1 byte.

        A longer body is not read at all: the core answers 413 from the first 10 MB + 1 byte,
        and the connection is closed because the rest is still on the socket.

        The framing headers were checked by :class:`StrictRequestLine`. A body that ends
        before its announced length (the client closed, or sent nothing for
        ``body_timeout`` seconds) or broken chunked encoding raises BadRequestBody.
        """
        limit = MAX_REQUEST_BODY_BYTES + 1
        self.connection.settimeout(self.body_timeout)
        try:
            if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
                return self._read_chunked(limit)
            length_header = self.headers.get("Content-Length")
            if not length_header:
                return b""
            length = int(length_header)
            if length >= limit:
                self.close_connection = True
            body = self._read_exactly(min(length, limit))
        except TimeoutError:
            raise BadRequestBody(
                f"the request body did not arrive within {self.body_timeout:g} s"
            ) from None
        finally:
            self.connection.settimeout(self.timeout)
        if len(body) < min(length, limit):
            raise BadRequestBody(
                f"the request body ended after {len(body)} of the {length} bytes its "
                "Content-Length announced"
            )
        return body

    def _read_exactly(self, size: int) -> bytes:
        parts: list[bytes] = []
        remaining = size
        while remaining > 0:
            part = self.rfile.read(remaining)
            if not part:
                break
            parts.append(part)
            remaining -= len(part)
        return b"".join(parts)

    def _read_chunked(self, limit: int) -> bytes:
        """RFC 9112 section 7.1: hex size [; extensions] CRLF, data, CRLF; ..., 0 CRLF,
        trailers, CRLF. Anything else (a bad size, data shorter than its size, a missing
        CRLF, the stream ending early) is a malformed body."""
        chunks: list[bytes] = []
        size_read = 0
        while True:
            line = self.rfile.readline(4097)
            size_text = line.split(b";", 1)[0].strip()
            if not line.endswith(b"\n") or not _HEX.fullmatch(size_text):
                raise BadRequestBody("malformed chunked body (bad chunk size line)")
            size = int(size_text, 16)
            if size == 0:
                for _ in range(100):  # trailers, then the empty line
                    trailer = self.rfile.readline(65537)
                    if trailer in (b"\r\n", b"\n"):
                        return b"".join(chunks)
                    if not trailer.endswith(b"\n"):
                        break
                raise BadRequestBody("malformed chunked body (no end after the last chunk)")
            if size_read + size > limit:
                self.close_connection = True
                chunks.append(self.rfile.read(limit - size_read))
                return b"".join(chunks)
            data = self._read_exactly(size)
            if len(data) < size:
                raise BadRequestBody("malformed chunked body (a chunk ended early)")
            chunks.append(data)
            size_read += size
            if self.rfile.readline(3) not in (b"\r\n", b"\n"):
                raise BadRequestBody("malformed chunked body (no CRLF after a chunk)")

    def _write(self, response: GatewayResponse, *, head_only: bool = False) -> None:
        try:
            reason = HTTPStatus(response.status).phrase
        except ValueError:
            reason = ""
        lines = [f"{self.protocol_version} {response.status} {reason}"]
        lines.extend(f"{name}: {value}" for name, value in response.headers)
        lines.append(f"Content-Length: {len(response.body)}")
        lines.append(f"Date: {formatdate(usegmt=True)}")
        if self.close_connection:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace")
        self.wfile.write(head if head_only else head + response.body)
        self.log_request(response.status, len(response.body))

    def _write_plain(self, status: int, message: str) -> None:
        body = message.encode()
        self._write(GatewayResponse(status, [("Content-Type", "text/plain")], body))

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # Called once per response: build the line only when someone reads it.
        if log.isEnabledFor(logging.DEBUG):
            super().log_request(code, size)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        log.debug("%s - %s", self.client_address[0], format % args)


class GatewayHTTPServer(ThreadingHTTPServer):
    """A threaded HTTP server bound to one :class:`ExecuteApiGateway`.

    Use like any ``socketserver`` server: ``serve_forever()`` in a thread, ``shutdown()`` from
    another, then ``server_close()``. ``server_port`` is the bound port (useful with port 0).
    """

    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = LISTEN_BACKLOG  # socketserver's default is 5

    def __init__(self, address: tuple[str, int], gateway: ExecuteApiGateway) -> None:
        self.gateway = gateway
        super().__init__(address, GatewayRequestHandler)

    @property
    def url(self) -> str:
        """The gateway's root URL, e.g. ``http://127.0.0.1:4567`` (append ``/{api_id}/{stage}``)."""
        return f"http://{self.server_address[0]}:{self.server_port}"

    def serve_in_background(self, poll_interval: float = 0.05) -> threading.Thread:
        """Start ``serve_forever()`` on a daemon thread and return the thread.

        ``shutdown()`` waits up to ``poll_interval`` seconds for the loop to notice.
        """
        thread = threading.Thread(
            target=self.serve_forever, args=(poll_interval,), name="execute-api-gateway", daemon=True
        )
        thread.start()
        return thread

    def server_close(self) -> None:
        super().server_close()
        self.gateway.close()


def make_gateway_server(
    host: str = "127.0.0.1",
    port: int = 0,
    invoker: FunctionInvoker | None = None,
    *,
    account_id: str = DEFAULT_ACCOUNT_ID,
    region: str = DEFAULT_REGION,
    gateway: ExecuteApiGateway | None = None,
) -> GatewayHTTPServer:
    """Create (and bind, not start) the local execute-api gateway server.

    It must run in the process that hosts moto: routes and Lambda permissions are read from
    moto's in-process backends for ``account_id`` / ``region``, and functions are run through
    ``invoker``. ``port=0`` picks a free port (read ``server.server_port``). Pass a prebuilt
    ``gateway`` instead of ``invoker`` to share one core. Only loopback hosts are accepted: the
    local cloud never listens on a network interface.
    """
    if host not in ("127.0.0.1", "localhost"):
        raise ValueError(f"the local gateway binds to 127.0.0.1 only, not {host!r}")
    if gateway is None:
        if invoker is None:
            raise TypeError("make_gateway_server needs an invoker (or a gateway)")
        gateway = ExecuteApiGateway(invoker, account_id=account_id, region=region)
    return GatewayHTTPServer((host, port), gateway)
