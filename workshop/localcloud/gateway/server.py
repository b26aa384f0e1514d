"""The HTTP front of the local execute-api gateway: a threaded HTTP/1.1 server on 127.0.0.1.

URL shape: ``http://127.0.0.1:PORT/{api_id}/{stage}/{resource path}``, so the base URL of a
deployed stage ends with the stage and ``base + "/health"`` works as on AWS.

Built on the standard library's ``ThreadingHTTPServer`` rather than werkzeug's development
server because werkzeug 3 closes every connection after one response; here connections stay
open (keep-alive) and Nagle's algorithm is off, so a ``requests.Session`` pays no connect or
delayed-ACK cost per call. Each response is written with a single ``sendall``.
"""

from __future__ import annotations

import logging
import threading
from email.utils import formatdate
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from workshop.localcloud.gateway.core import DEFAULT_ACCOUNT_ID, DEFAULT_REGION, ExecuteApiGateway
from workshop.localcloud.gateway.messages import GatewayRequest, GatewayResponse, parse_query_string
from workshop.localcloud.gateway.responses import MAX_REQUEST_BODY_BYTES

if TYPE_CHECKING:
    from workshop.localcloud.invoke import FunctionInvoker

log = logging.getLogger("workshop.localcloud.gateway.http")

#: An idle keep-alive connection is closed after this many seconds.
IDLE_CONNECTION_TIMEOUT_S = 120


class BadRequestBody(ValueError):
    pass


class GatewayRequestHandler(BaseHTTPRequestHandler):
    """Reads one request, hands it to the gateway core, writes the answer back."""

    protocol_version = "HTTP/1.1"  # keep-alive
    disable_nagle_algorithm = True
    timeout = IDLE_CONNECTION_TIMEOUT_S
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
        try:
            body = self._read_body()
        except BadRequestBody as error:
            self._write_plain(400, str(error))
            self.close_connection = True
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

    def _read_body(self) -> bytes:
        """Read the request body (Content-Length or chunked), at most 10 MB + 1 byte.

        A longer body is not read at all: the core answers 413 from the first 10 MB + 1 byte,
        and the connection is closed because the rest is still on the socket.
        """
        limit = MAX_REQUEST_BODY_BYTES + 1
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._read_chunked(limit)
        length_header = self.headers.get("Content-Length")
        if not length_header:
            return b""
        try:
            length = int(length_header)
        except ValueError:
            raise BadRequestBody("Content-Length is not a number") from None
        if length < 0:
            raise BadRequestBody("Content-Length is negative")
        if length >= limit:
            self.close_connection = True
        return self.rfile.read(min(length, limit))

    def _read_chunked(self, limit: int) -> bytes:
        chunks: list[bytes] = []
        size_read = 0
        while True:
            line = self.rfile.readline(65537)
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise BadRequestBody("malformed chunked body") from None
            if size == 0:
                while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(chunks)
            if size_read + size > limit:
                self.close_connection = True
                chunks.append(self.rfile.read(limit - size_read))
                return b"".join(chunks)
            chunks.append(self.rfile.read(size))
            size_read += size
            self.rfile.readline(3)  # the CRLF after each chunk

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

    def __init__(self, address: tuple[str, int], gateway: ExecuteApiGateway):
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
