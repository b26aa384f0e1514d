"""The plumbing the rule modules share: read a WSGI request, answer an AWS error, replay moto.

Each service speaks its own wire protocol, so each answers its errors in that protocol's shape:

- JSON 1.0 (DynamoDB): ``{"__type": "com.amazonaws.dynamodb.v20120810#Code", "message": ...}``;
- REST-JSON (Lambda, API Gateway): header ``x-amzn-ErrorType: Code`` and a JSON body;
- Query / XML (IAM): ``<ErrorResponse><Error><Type>Sender</Type><Code>...``.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

_REASONS = {
    200: "OK", 201: "Created", 202: "Accepted", 204: "No Content", 400: "Bad Request",
    403: "Forbidden", 404: "Not Found", 409: "Conflict", 413: "Request Entity Too Large",
    500: "Internal Server Error",
}


@dataclass
class Answer:
    """A complete HTTP answer (status, headers, body), produced by a rule or captured from moto."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        for key, value in self.headers:
            if key.lower() == wanted:
                return value
        return None

    def json(self) -> Any:
        try:
            return json.loads(self.body or b"null")
        except ValueError:
            return None

    def with_body(self, body: bytes) -> Answer:
        headers = [(k, v) for k, v in self.headers if k.lower() != "content-length"]
        headers.append(("Content-Length", str(len(body))))
        return Answer(self.status, headers, body)

    def send(self, start_response: Callable[..., Any]) -> list[bytes]:
        headers = [(k, v) for k, v in self.headers if k.lower() != "content-length"]
        headers.append(("Content-Length", str(len(self.body))))
        start_response(f"{self.status} {_REASONS.get(self.status, 'Unknown')}", headers)
        return [self.body]


def read_body(environ: dict[str, Any]) -> bytes:
    """Read the request body and put it back, so moto can read it again."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    body = environ["wsgi.input"].read(length) if length > 0 else b""
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    return body


def call(app: WsgiApp, environ: dict[str, Any]) -> Answer:
    """Run ``app`` and capture its whole answer (moto's answers are small and complete)."""
    captured: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        captured["status"] = int(status.split(" ", 1)[0])
        captured["headers"] = list(headers)
        return lambda data: None

    chunks = app(environ, start_response)
    try:
        body = b"".join(chunks)
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
    return Answer(captured.get("status", 500), captured.get("headers", []), body)


def json10_error(code: str, message: str, status: int = 400, *, prefix: str) -> Answer:
    body = json.dumps({"__type": f"{prefix}{code}", "message": message}).encode()
    return Answer(status, [("Content-Type", "application/x-amz-json-1.0")], body)


def rest_json_error(
    code: str, message: str, status: int, *, message_key: str = "message", **extra: Any
) -> Answer:
    """A REST-JSON error; ``extra`` adds keys such as Lambda's ``Type: User``."""
    document = dict(extra)
    document[message_key] = message
    body = json.dumps(document).encode()
    return Answer(
        status, [("Content-Type", "application/json"), ("x-amzn-ErrorType", code)], body
    )


def query_xml_error(code: str, message: str, status: int, *, error_type: str = "Sender") -> Answer:
    body = (
        '<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error>'
        f"<Type>{error_type}</Type><Code>{escape(code)}</Code><Message>{escape(message)}</Message>"
        "</Error><RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>"
    ).encode()
    return Answer(status, [("Content-Type", "text/xml")], body)


def target_of(environ: dict[str, Any]) -> str:
    return str(environ.get("HTTP_X_AMZ_TARGET") or "")


def service_of(environ: dict[str, Any]) -> str:
    """The signing name of the request (``dynamodb``, ``lambda``...), from the SigV4 scope."""
    authorization = str(environ.get("HTTP_AUTHORIZATION") or "")
    marker = "Credential="
    at = authorization.find(marker)
    if at < 0:
        return ""
    scope = authorization[at + len(marker):].split(",", 1)[0].split("/")
    return scope[3] if len(scope) > 3 else ""
