"""What the local cloud's two HTTP fronts refuse before a request reaches moto or a function.

The local cloud has no authentication: anything that can send it an HTTP request can create and
run code on the learner's machine. Binding to 127.0.0.1 keeps other machines out; this module
keeps *web pages* out, and refuses requests whose framing is broken:

- **Host check** (both fronts). A page on ``http://evil.example`` whose DNS name is re-bound to
  127.0.0.1 ("DNS rebinding") sends requests the browser considers same-origin, but with
  ``Host: evil.example:4566``. Only ``127.0.0.1``, ``localhost`` and ``[::1]`` with the server's
  own port are answered (:func:`host_allowed`); boto3, the CLI, requests, Postman and browsers
  on the real URL all send one of those.
- **No CORS on the AWS endpoint** (:class:`EndpointGuard`). moto's server grants every origin
  (flask-cors echoes it); then any page could CreateFunction + Invoke. boto3 and the CLI never
  send ``Origin``, browsers always do on cross-origin and unsafe requests, so a request with an
  ``Origin`` header, a preflight, or a ``Sec-Fetch-Site`` naming another site is refused, and
  no ``Access-Control-*`` header ever leaves the endpoint. The execute-api gateway keeps the API's own CORS, as API Gateway has it.
- **Message framing** (:class:`StrictRequestLine`, both fronts). A malformed request line, a
  ``Content-Length`` that is not one decimal number, two different lengths, or a
  ``Transfer-Encoding`` whose last coding is not ``chunked`` is answered ``HTTP/1.1 400`` and
  the connection closed (RFC 9112 sections 3, 6.1 and 6.3). A body shorter than its
  ``Content-Length`` or broken chunked encoding never reaches moto or a function.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any

from workshop.localcloud.memory_release import note_request

#: The names the local cloud answers to. It listens on 127.0.0.1 only; ``localhost`` and
#: ``[::1]`` are what a learner may type, and resolve to the same machine.
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")

#: method SP request-target SP HTTP-version (RFC 9112 section 3); the method is a token.
_REQUEST_LINE = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+ [^\s]+ HTTP/[0-9]\.[0-9]")
_DECIMAL = re.compile(r"[0-9]+")


def request_line_error(line: str) -> str | None:
    """Why a request line is refused (answered 400 by both fronts), or None.

    Beyond the syntax (RFC 9112 section 3), only HTTP/1.x is spoken: a line claiming another
    major version (``HTTP/2.0``, ``HTTP/0.9``) would otherwise be served as if it were
    HTTP/1.0 by one server and answered without a status line by the other."""
    if not _REQUEST_LINE.fullmatch(line):
        return "Malformed request line"
    version = line.rsplit(" ", 1)[1]
    if not version.startswith("HTTP/1."):
        return f"{version} is not supported here: send HTTP/1.1"
    return None


def host_allowed(host_header: str | None, port: int) -> bool:
    """Whether a request's ``Host`` names this server: a loopback name with its own port.

    The port may be left out only when it is HTTP's default (80), as clients do then. A
    missing Host is refused: every HTTP/1.1 client sends one (RFC 9112 section 3.2).
    """
    if not host_header:
        return False
    host = host_header.strip().lower()
    allowed = {f"{name}:{port}" for name in LOOPBACK_NAMES}
    if port == 80:
        allowed.update(LOOPBACK_NAMES)
    return host in allowed


def host_refusal(host_header: str | None, port: int) -> str:
    """The message of a refused Host: what was sent and what is answered."""
    names = ", ".join(f"{name}:{port}" for name in LOOPBACK_NAMES)
    return (
        f"Host {host_header!r} is not served here: the local cloud answers only requests "
        f"addressed to {names} (protection against DNS rebinding)."
    )


def framing_error(headers: Any) -> str | None:
    """Why the body's length cannot be trusted (RFC 9112 section 6), or None when it can.

    ``headers`` is an ``email.message.Message`` (``BaseHTTPRequestHandler.headers``).
    """
    lengths = [value.strip() for value in headers.get_all("Content-Length") or []]
    encodings = headers.get_all("Transfer-Encoding") or []
    if lengths:
        if any(not _DECIMAL.fullmatch(value) for value in lengths):
            return f"Content-Length must be a decimal number of bytes, not {lengths[0]!r}"
        if len(set(int(value) for value in lengths)) > 1:
            return "conflicting Content-Length headers"
    if encodings:
        codings = [part.strip().lower() for value in encodings for part in value.split(",")]
        if codings[-1] != "chunked":
            return "Transfer-Encoding must end with chunked"
        if lengths:
            return "a request may not carry both Content-Length and Transfer-Encoding"
    return None


class StrictRequestLine:
    """Mixin for ``BaseHTTPRequestHandler`` subclasses: bad request lines and bad framing get
    ``HTTP/1.1 400`` (the standard library answers some of them with no status line at all,
    as HTTP/0.9 would) and the connection is closed."""

    # The version the standard library assumes until the request line is parsed; with
    # "HTTP/0.9" its error answers carry no status line.
    default_request_version = "HTTP/1.1"

    def parse_request(self) -> bool:
        line = str(self.raw_requestline, "iso-8859-1").rstrip("\r\n")  # type: ignore[attr-defined]
        problem = request_line_error(line) if line.strip() else None
        if problem is not None:
            self.requestline = line
            self.command = None
            self.request_version = "HTTP/1.1"
            self.close_connection = True
            self.send_error(HTTPStatus.BAD_REQUEST, problem)  # type: ignore[attr-defined]
            return False
        if not super().parse_request():  # type: ignore[misc]
            return False
        problem = framing_error(self.headers)  # type: ignore[attr-defined]
        if problem is not None:
            self.close_connection = True
            self.send_error(HTTPStatus.BAD_REQUEST, problem)  # type: ignore[attr-defined]
            return False
        return True


class EndpointGuard:
    """WSGI middleware in front of moto: Host check, no CORS, a complete body or a 400.

    ``app`` is the WSGI application it protects. The request body is read here in full (moto
    reads it whole anyway), so a short or broken body is answered 400 before moto sees it.
    """

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        port = int(environ.get("SERVER_PORT") or 0)
        host = environ.get("HTTP_HOST")
        if not host_allowed(host, port):
            return _answer(start_response, 403, "ForeignHost", host_refusal(host, port))
        if _from_a_web_page(environ):
            return _answer(
                start_response,
                403,
                "BrowserRequestRefused",
                "The local cloud's AWS endpoint does not answer web pages (no CORS): call it "
                "with boto3 or the AWS CLI. A browser page calls your API through the gateway.",
            )
        try:
            _buffer_body(environ)
        except _BadBody as error:
            return _answer(start_response, 400, "BadRequest", str(error), close=True)

        def start_without_cors(status: str, headers: list[tuple[str, str]], *args: Any) -> Any:
            kept = [(k, v) for k, v in headers if not k.lower().startswith("access-control-")]
            return start_response(status, kept, *args)

        answer = self.app(environ, start_without_cors)
        # A large body leaves large garbage behind: have it collected soon (memory_release).
        size = int(environ.get("CONTENT_LENGTH") or 0)
        if isinstance(answer, list):
            size = max(size, sum(len(part) for part in answer))
        note_request(size)
        return answer


class _BadBody(ValueError):
    pass


def _from_a_web_page(environ: dict[str, Any]) -> bool:
    """Whether a browser sent this on behalf of a page: an ``Origin`` (every cross-origin and
    every unsafe request), a CORS preflight, or ``Sec-Fetch-Site`` naming another site (the
    request of an ``<img>`` or a link). A URL typed into the address bar (``none``) is let
    through, so a learner can open the health URL."""
    if "HTTP_ORIGIN" in environ:
        return True
    if environ.get("REQUEST_METHOD") == "OPTIONS" and "HTTP_ACCESS_CONTROL_REQUEST_METHOD" in environ:
        return True
    return environ.get("HTTP_SEC_FETCH_SITE", "none").strip().lower() not in ("none", "same-origin")


def _buffer_body(environ: dict[str, Any]) -> None:
    """Replace ``wsgi.input`` by the whole body, or raise _BadBody when it is incomplete."""
    stream = environ.get("wsgi.input")
    if stream is None:
        return
    if environ.get("wsgi.input_terminated"):  # chunked: the server de-chunks while we read
        try:
            body = stream.read()
        except (OSError, ValueError) as error:
            raise _BadBody(f"malformed chunked body ({error})") from None
    else:
        raw = (environ.get("CONTENT_LENGTH") or "").strip()
        if not raw:
            return
        if not _DECIMAL.fullmatch(raw):
            raise _BadBody(f"Content-Length must be a decimal number of bytes, not {raw!r}")
        length = int(raw)
        try:
            body = _read_exactly(stream, length)
        except OSError as error:  # a socket timeout while the client holds back the rest
            raise _BadBody(f"the body did not arrive ({error})") from None
        if len(body) < length:
            raise _BadBody(
                f"the body ended after {len(body)} of the {length} bytes Content-Length announced"
            )
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    environ.pop("wsgi.input_terminated", None)
    environ.pop("HTTP_TRANSFER_ENCODING", None)


def _read_exactly(stream: Any, length: int) -> bytes:
    parts: list[bytes] = []
    remaining = length
    while remaining > 0:
        part = stream.read(min(remaining, 1 << 20))
        if not part:
            break
        parts.append(part)
        remaining -= len(part)
    return b"".join(parts)


def _answer(
    start_response: Callable[..., Any], status: int, code: str, message: str, *, close: bool = False
) -> list[bytes]:
    body = json.dumps({"__type": code, "message": message}).encode()
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    if close:
        headers.append(("Connection", "close"))
    start_response(f"{status} {HTTPStatus(status).phrase}", headers)
    return [body]
