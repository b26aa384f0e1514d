"""A deployment package sent in the request (``ZipFile``) is refused above Lambda's request size.

Lambda quotas: "Deployment package (.zip file archive) size: 50 MB (zipped, when uploading
through the API or SDKs)". What Lambda checks is the request: a larger package is refused with
413 ``RequestEntityTooLargeException`` "Request must be smaller than 70167211 bytes for the
CreateFunction operation" (``UpdateFunctionCode`` likewise), the answer recorded in many public
deployment logs. moto 5.2 accepted a 70 MB package, so a learner who zips a heavy dependency
passed locally and failed on AWS.

GIVEN the local cloud (in this process, so the limit can be lowered to keep the test light),
WHEN CreateFunction or UpdateFunctionCode carries a request over the limit, THEN 413 with AWS's
code and message, and nothing is created or changed; a request within it is accepted.
"""

from __future__ import annotations

import os

import pytest
from botocore.exceptions import ClientError
from localcloud_support import make_zip, unique

from workshop.localcloud.rules import awslambda

pytestmark = pytest.mark.localcloud

SMALL_LIMIT = 200_000
HANDLER = "def handler(event, context):\n    return 1\n"


def test_the_limit_is_lambdas():
    assert awslambda.MAX_CODE_REQUEST_BYTES == 70_167_211


def _package(size: int) -> bytes:
    return make_zip({"app.py": HANDLER, "blob.txt": os.urandom(size).hex()})


@pytest.fixture
def small_limit(monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(awslambda, "MAX_CODE_REQUEST_BYTES", SMALL_LIMIT)
    return SMALL_LIMIT


def _create(cloud, name: str, package: bytes) -> dict:
    return cloud.client("lambda").create_function(
        FunctionName=name, Runtime="python3.11", Role=cloud.role_arn, Handler="app.handler",
        Code={"ZipFile": package})


def test_create_function_over_the_limit_is_refused_and_creates_nothing(cloud, small_limit):
    name = unique("too-big")
    with pytest.raises(ClientError) as refused:
        _create(cloud, name, _package(small_limit))  # hex doubles it; base64 adds a third

    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 413
    error = refused.value.response["Error"]
    assert error["Code"] == "RequestEntityTooLargeException"
    assert error["Message"] == (
        f"Request must be smaller than {small_limit} bytes for the CreateFunction operation")
    with pytest.raises(ClientError):
        cloud.client("lambda").get_function(FunctionName=name)


def test_update_function_code_over_the_limit_is_refused_and_keeps_the_code(cloud, small_limit):
    name = unique("grows")
    created = _create(cloud, name, _package(1_000))
    with pytest.raises(ClientError) as refused:
        cloud.client("lambda").update_function_code(FunctionName=name, ZipFile=_package(small_limit))

    error = refused.value.response["Error"]
    assert error["Code"] == "RequestEntityTooLargeException"
    assert error["Message"] == (
        f"Request must be smaller than {small_limit} bytes for the UpdateFunctionCode operation")
    kept = cloud.client("lambda").get_function_configuration(FunctionName=name)
    assert kept["CodeSha256"] == created["CodeSha256"]


def test_a_package_within_the_limit_is_accepted(cloud, small_limit):
    name = unique("fits")
    _create(cloud, name, _package(small_limit // 8))
    assert cloud.client("lambda").get_function(FunctionName=name)["Configuration"]["FunctionName"] == name
