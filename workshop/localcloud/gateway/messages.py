"""The plain request and response the gateway core speaks, free of any HTTP server code.

The HTTP front turns a socket request into a :class:`GatewayRequest` and writes a
:class:`GatewayResponse` back; tests build them directly and never open a socket.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

Headers = list[tuple[str, str]]


@dataclass(frozen=True)
class GatewayRequest:
    """One HTTP request as it reached the gateway.

    ``path`` is the raw (still percent-encoded) path without the query string, including the
    ``/{api_id}/{stage}`` prefix the local URL shape carries. ``headers`` and ``query`` keep order,
    repeats and, for header names, the caller's spelling: API Gateway passes all of them on.
    """

    method: str
    path: str
    headers: Headers = field(default_factory=list)
    query: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    source_ip: str = "127.0.0.1"
    protocol: str = "HTTP/1.1"

    @classmethod
    def from_target(
        cls,
        method: str,
        target: str,
        *,
        headers: Headers | None = None,
        body: bytes = b"",
        source_ip: str = "127.0.0.1",
        protocol: str = "HTTP/1.1",
    ) -> GatewayRequest:
        """Build a request from a request target such as ``/abc/prod/product?productId=1``."""
        path, _, query_string = target.partition("?")
        return cls(
            method=method.upper(),
            path=path or "/",
            headers=list(headers or []),
            query=parse_query_string(query_string),
            body=body,
            source_ip=source_ip,
            protocol=protocol,
        )

    def header(self, name: str) -> str | None:
        """The last value of header ``name`` (names are case-insensitive), or None."""
        return last_header(self.headers, name)


@dataclass(frozen=True)
class GatewayResponse:
    """What the gateway answers: status, headers (repeats allowed) and body bytes."""

    status: int
    headers: Headers
    body: bytes = b""

    def header(self, name: str) -> str | None:
        """The last value of header ``name`` (case-insensitive), or None."""
        return last_header(self.headers, name)

    def header_values(self, name: str) -> list[str]:
        """Every value of header ``name`` (case-insensitive), in order."""
        wanted = name.lower()
        return [value for key, value in self.headers if key.lower() == wanted]

    def json(self) -> Any:
        return json.loads(self.body)


def parse_query_string(query_string: str) -> list[tuple[str, str]]:
    """Decode a query string into ordered (name, value) pairs, keeping blanks and repeats.

    API Gateway hands REST proxy functions decoded query names and values; ``?flag`` arrives as
    ``{"flag": ""}``.
    """
    if not query_string:
        return []
    return parse_qsl(query_string, keep_blank_values=True)


def last_header(headers: Headers, name: str) -> str | None:
    wanted = name.lower()
    found = None
    for key, value in headers:
        if key.lower() == wanted:
            found = value
    return found
