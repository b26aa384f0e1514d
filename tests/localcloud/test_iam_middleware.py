"""The AWS endpoint's IAM gate as a WSGI wrapper, with a stand-in for moto's app.

What it must guarantee besides the decisions themselves: the root's requests pass untouched
(body not even read), allowed requests reach moto with their body intact (also a chunked one),
refusals never reach moto, and odd requests (unsigned, presigned, malformed headers) are handled.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
from moto import mock_aws

from workshop.localcloud.iam import IamEnforcer
from workshop.localcloud.iam.middleware import signing_scope

ACCOUNT = "123456789012"


class RecordingApp:
    """Stands in for moto: records what reached it."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        stream = environ["wsgi.input"]
        self.bodies.append(stream.read(length) if length else stream.read())
        start_response("200 OK", [("Content-Type", "application/json")])
        return [b"{}"]


class CountingStream(io.BytesIO):
    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.reads = 0

    def read(self, *args: Any) -> bytes:
        self.reads += 1
        return super().read(*args)


def environ_for(key: str, service: str, *, body: bytes = b"{}", target: str = "", token: str | None = None,
                method: str = "POST", path: str = "/", query: str = "") -> dict[str, Any]:
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        "HTTP_AUTHORIZATION": (
            f"AWS4-HMAC-SHA256 Credential={key}/20261130/us-east-1/{service}/aws4_request, "
            "SignedHeaders=host;x-amz-date, Signature=abc"
        ),
    }
    if target:
        environ["HTTP_X_AMZ_TARGET"] = target
    if token:
        environ["HTTP_X_AMZ_SECURITY_TOKEN"] = token
    return environ


def call(app: IamEnforcer, environ: dict[str, Any]) -> tuple[str, dict[str, str], bytes]:
    answer: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        answer["status"], answer["headers"] = status, dict(headers)

    body = b"".join(app(environ, start_response))
    return answer["status"], answer["headers"], body


@pytest.fixture
def user_key() -> Iterator[str]:
    """An IAM user allowed dynamodb:GetItem on table ``allowed`` only; yields its key id."""
    with mock_aws():
        from moto.iam.models import iam_backends

        backend = iam_backends[ACCOUNT]["aws"]
        backend.create_user(region_name="us-east-1", user_name="gate-user")
        backend.put_user_policy("gate-user", "p", json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "dynamodb:GetItem",
             "Resource": f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/allowed"}]}))
        yield backend.create_access_key("gate-user").access_key_id


def test_the_roots_requests_pass_without_their_body_being_read():
    seen: list[Any] = []

    def moto(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen.append(environ["wsgi.input"])
        start_response("200 OK", [])
        return [b""]

    stream = CountingStream(b"{}")
    environ = environ_for("testing", "dynamodb", target="DynamoDB_20120810.DeleteTable")
    environ["wsgi.input"] = stream

    status, _, _ = call(IamEnforcer(moto), environ)

    assert status == "200 OK"
    assert seen == [stream] and stream.reads == 0


def test_unsigned_requests_pass_to_moto():
    moto = RecordingApp()
    environ = environ_for("x", "dynamodb")
    del environ["HTTP_AUTHORIZATION"]

    status, _, _ = call(IamEnforcer(moto), environ)

    assert status == "200 OK" and moto.bodies == [b"{}"]


def test_an_allowed_request_reaches_moto_with_its_body(user_key: str):
    moto = RecordingApp()
    body = json.dumps({"TableName": "allowed", "Key": {"productId": {"S": "1"}}}).encode()

    status, _, _ = call(IamEnforcer(moto), environ_for(user_key, "dynamodb", body=body,
                                                        target="DynamoDB_20120810.GetItem"))

    assert status == "200 OK" and moto.bodies == [body]


def test_a_chunked_body_reaches_moto_too(user_key: str):
    moto = RecordingApp()
    body = json.dumps({"TableName": "allowed", "Key": {"productId": {"S": "1"}}}).encode()
    environ = environ_for(user_key, "dynamodb", body=body, target="DynamoDB_20120810.GetItem")
    del environ["CONTENT_LENGTH"]
    environ["wsgi.input_terminated"] = True

    status, _, _ = call(IamEnforcer(moto), environ)

    assert status == "200 OK" and moto.bodies == [body]


def test_a_refused_request_never_reaches_moto(user_key: str):
    moto = RecordingApp()
    body = json.dumps({"TableName": "other", "Key": {"productId": {"S": "1"}}}).encode()

    status, headers, answer = call(IamEnforcer(moto), environ_for(user_key, "dynamodb", body=body,
                                                                  target="DynamoDB_20120810.GetItem"))

    assert status == "400 Bad Request" and moto.bodies == []
    assert json.loads(answer) == {
        "__type": "com.amazon.coral.service#AccessDeniedException",
        "Message": f"User: arn:aws:iam::{ACCOUNT}:user/gate-user is not authorized to perform: dynamodb:GetItem "
                   f"on resource: arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/other because no identity-based "
                   "policy allows the dynamodb:GetItem action",
    }
    assert headers["x-amzn-RequestId"]


def test_a_long_term_key_with_a_session_token_is_refused(user_key: str):
    status, _, answer = call(IamEnforcer(RecordingApp()), environ_for(
        user_key, "dynamodb", target="DynamoDB_20120810.ListTables", token="token"))

    assert status == "400 Bad Request"
    assert json.loads(answer)["__type"] == "UnrecognizedClientException"


def test_an_unknown_key_in_a_presigned_url_is_refused_in_the_query_protocols_shape():
    with mock_aws():
        unknown_key = "AKIA" + "A" * 16  # AWS's format, known to no one (built, not a literal)
        environ = environ_for("x", "iam", method="GET", body=b"", query=(
            f"Action=ListRoles&X-Amz-Credential={unknown_key}%2F20261130%2Fus-east-1%2Fiam%2Faws4_request"))
        del environ["HTTP_AUTHORIZATION"]

        status, _, answer = call(IamEnforcer(RecordingApp()), environ)

    assert status == "403 Forbidden"
    assert b"<Code>InvalidClientTokenId</Code>" in answer
    assert b"The security token included in the request is invalid." in answer


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/20261130/eu-west-1/logs/aws4_request, SignedHeaders=host",
         ("AKIAEXAMPLE", "eu-west-1", "logs")),
        ("AWS4-HMAC-SHA256 SignedHeaders=host, Signature=x", None),
        ("Bearer abc", None),
        ("", None),
    ],
)
def test_signing_scope(header: str, expected: tuple[str, str, str] | None):
    assert signing_scope({"HTTP_AUTHORIZATION": header}) == expected


def test_sessions_are_found_after_moto_starts_its_list_again():
    from workshop.localcloud.iam.principals import PrincipalDirectory

    with mock_aws():
        from moto.sts.models import sts_backends

        backend = sts_backends[ACCOUNT]["aws"]
        directory = PrincipalDirectory(ACCOUNT)
        role = f"arn:aws:iam::{ACCOUNT}:role/r"
        for name in ("a", "b", "c"):
            first = backend.assume_role("us-east-1", name, role, None, 900, None)
            assert directory.identify(first.access_key_id, first.session_token).session_name == name
        backend.assumed_roles = []  # what a moto reset does
        fresh = backend.assume_role("us-east-1", "fresh", role, None, 900, None)

        assert directory.identify(fresh.access_key_id, fresh.session_token).arn == (
            f"arn:aws:sts::{ACCOUNT}:assumed-role/r/fresh")
