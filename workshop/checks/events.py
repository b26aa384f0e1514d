"""The API Gateway event the checks send to a handler, locally (lab 02) or deployed (lab 03)."""

from __future__ import annotations

import uuid


def proxy_event(method: str, path: str, *, query: dict | None = None,
                body: str | None = None) -> dict:
    """A minimal API Gateway REST (v1) proxy event, as the console's test event would send."""
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": {"Accept": "application/json"},
        "multiValueHeaders": {"Accept": ["application/json"]},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {"resourcePath": path, "httpMethod": method, "stage": "check",
                           "requestId": str(uuid.uuid4()), "identity": {"sourceIp": "127.0.0.1"}},
        "body": body,
        "isBase64Encoded": False,
    }
