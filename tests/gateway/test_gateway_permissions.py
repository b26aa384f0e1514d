"""The Lambda resource-policy check API Gateway's call has to pass (else 500)."""

from __future__ import annotations

from typing import Any

import pytest

from workshop.localcloud.gateway.permissions import InvokeSource, allows_invoke, execute_api_arns

ARNS = execute_api_arns(
    region="us-east-1", account_id="123456789012", api_id="abc123", stage="prod",
    http_method="get", resource_path="/product/{productId}", request_path="/product/7",
)
SOURCE = InvokeSource(source_arns=ARNS, source_account="123456789012")


def statement(**overrides: Any) -> dict[str, Any]:
    """A statement as moto stores what add_permission sent."""
    base = {
        "Sid": "apigw",
        "Effect": "Allow",
        "Principal": {"Service": "apigateway.amazonaws.com"},
        "Action": "lambda:InvokeFunction",
        "Resource": "arn:aws:lambda:us-east-1:123456789012:function:fn",
    }
    base.update(overrides)
    return base


def arn_like(pattern: str) -> dict[str, Any]:
    return {"ArnLike": {"AWS:SourceArn": pattern}}


def test_source_arns_name_template_and_concrete_path() -> None:
    assert ARNS == (
        "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/product/{productId}",
        "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/product/7",
    )
    root = execute_api_arns(region="r", account_id="1", api_id="a", stage="s", http_method="GET",
                            resource_path="/", request_path="/")
    assert root == ("arn:aws:execute-api:r:1:a/s/GET/",)


@pytest.mark.parametrize(
    "allowed",
    [
        statement(),  # no condition
        statement(Condition=arn_like("arn:aws:execute-api:us-east-1:123456789012:abc123/*")),
        statement(Condition=arn_like("arn:aws:execute-api:us-east-1:123456789012:abc123/*/GET/product/*")),
        statement(Condition=arn_like("arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/product/{productId}")),
        statement(Condition=arn_like("arn:aws:execute-api:*:*:abc123/*/*/*")),
        statement(Condition={"ArnLike": {"aws:sourcearn": ["arn:aws:execute-api:x:y:z/*", "arn:aws:execute-api:us-east-1:123456789012:abc123/*"]}}),
        statement(Condition={"StringEquals": {"AWS:SourceAccount": "123456789012"}}),
        statement(Principal="*"),
        statement(Principal={"AWS": "*"}),
        statement(Action=["lambda:GetFunction", "lambda:*"]),
        statement(Condition={"StringEqualsIfExists": {"aws:PrincipalOrgID": "o-123"}}),
    ],
)
def test_allowed(allowed: dict[str, Any]) -> None:
    assert allows_invoke([allowed], SOURCE)


@pytest.mark.parametrize(
    "refused",
    [
        [],  # no policy at all
        [statement(Principal={"Service": "events.amazonaws.com"})],
        [statement(Principal={"AWS": "arn:aws:iam::123456789012:root"})],
        [statement(Action="lambda:GetFunction")],
        [statement(Effect="Deny")],
        [statement(Condition=arn_like("arn:aws:execute-api:us-east-1:123456789012:other/*"))],
        [statement(Condition=arn_like("arn:aws:execute-api:us-east-1:123456789012:abc123/*/POST/*"))],
        [statement(Condition=arn_like("arn:aws:execute-api:us-east-1:123456789012:abc123/dev/*"))],
        [statement(Condition=arn_like("arn:aws:execute-api:eu-west-1:123456789012:abc123/*"))],
        [statement(Condition={"StringEquals": {"AWS:SourceAccount": "999999999999"}})],
        [statement(Condition={"StringEquals": {"aws:PrincipalOrgID": "o-123"}})],  # key not in the call
        [statement(Condition={"ArnNotLike": {"AWS:SourceArn": "arn:aws:execute-api:*:*:abc123/*"}})],
        [statement(), statement(Effect="Deny", Sid="deny")],  # an explicit Deny wins
    ],
)
def test_refused(refused: list[dict[str, Any]]) -> None:
    assert not allows_invoke(refused, SOURCE)


def test_arn_wildcard_does_not_cross_arn_parts() -> None:
    # ArnLike matches part by part: "*" in the region part does not swallow the account.
    assert not allows_invoke(
        [statement(Condition=arn_like("arn:aws:execute-api:*:abc123/*"))], SOURCE
    )
