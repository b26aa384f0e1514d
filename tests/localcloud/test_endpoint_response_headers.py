"""Response header names leave the AWS endpoint spelt as moto wrote them, on both servers.

GIVEN moto answers with header names in its own spelling (S3 writes user metadata as
``x-amz-meta-<key>`` in lower case, as AWS does: "Amazon S3 stores user-defined metadata keys in
lowercase", S3 user guide, "Working with object metadata"), WHEN the endpoint's server sends the
response, THEN the names are unchanged: botocore keeps the text after ``x-amz-meta-`` as the
metadata key, so a server that re-capitalises names (waitress writes ``X-Amz-Meta-Lower``) turns
``{"lower": ...}`` into ``{"Lower": ...}`` for the learner. Nor does the server add a header
naming itself (``Via: waitress``): AWS names no server software.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from localcloud_support import serving_endpoint
from hardening_support import raw_http, status_line

from workshop.localcloud import config

pytestmark = pytest.mark.localcloud

SENT = [
    ("Content-Type", "application/xml"),
    ("x-amz-meta-lower", "z"),
    ("x-amz-meta-my_key", "v"),
    ("X-Custom-MiXed", "m"),
    ("x-amzn-RequestId", "r"),
    ("Server", "amazon.com"),
]


def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [*SENT, ("Content-Length", "2")])
    return [b"ok"]


@pytest.fixture(params=list(config.ENDPOINT_SERVERS))
def port(request: pytest.FixtureRequest) -> Iterator[int]:
    with serving_endpoint(app, request.param, 1.0) as port:
        yield port


def _header_names(answer: bytes) -> list[str]:
    head = answer.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    return [line.split(":", 1)[0] for line in head.split("\r\n")[1:]]


@pytest.mark.parametrize("version", ["HTTP/1.1", "HTTP/1.0"])
def test_header_names_are_sent_as_the_app_wrote_them(port, version):
    answer = raw_http(port, f"GET / {version}\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n".encode())

    assert b" 200 " in status_line(answer)
    names = _header_names(answer)
    for name, _value in SENT:
        assert name in names, (name, names)
    assert "Via" not in names and "via" not in names


def test_s3_metadata_keys_come_back_as_they_were_stored(cloud):
    s3 = cloud.client("s3")
    s3.create_bucket(Bucket="metadata-case")
    metadata = {"lower": "z", "my_key": "v", "two-words": "w"}
    s3.put_object(Bucket="metadata-case", Key="k", Body=b"x", Metadata=metadata)

    assert s3.head_object(Bucket="metadata-case", Key="k")["Metadata"] == metadata
    assert s3.get_object(Bucket="metadata-case", Key="k")["Metadata"] == metadata
