"""Lab 08's TOKEN authorizer (solutions/authorizer/lambda_function.py), called as API Gateway does.

The event is {"type": "TOKEN", "authorizationToken": ..., "methodArn": ...}; raising
Exception("Unauthorized") is how a Lambda authorizer makes API Gateway answer 401, and the policy
it returns is cached per token, so it must allow every method of the stage.
"""

from __future__ import annotations

import importlib.util

import pytest

from workshop.protection import AUTHORIZER_DIR, issue_token

SECRET = "s3cret-for-tests-only"
METHOD_ARN = "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/POST/product/stock"


@pytest.fixture(scope="module")
def authorizer():
    spec = importlib.util.spec_from_file_location("lab08_authorizer", AUTHORIZER_DIR / "lambda_function.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True)
def environment(monkeypatch):
    monkeypatch.setenv("TOKEN_SECRET", SECRET)
    monkeypatch.setenv("READ_ONLY_CLERKS", "auditor, viewer")


def call(authorizer, header: str, arn: str = METHOD_ARN):
    return authorizer.lambda_handler({"type": "TOKEN", "authorizationToken": header, "methodArn": arn}, None)


def test_a_signed_token_is_allowed_on_every_method_of_the_stage(authorizer):
    answer = call(authorizer, f"Bearer {issue_token('clerk', SECRET)}")
    assert answer == {
        "principalId": "clerk",
        "policyDocument": {"Version": "2012-10-17", "Statement": [
            {"Action": "execute-api:Invoke", "Effect": "Allow",
             "Resource": "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/*"}]},
        "context": {"clerk": "clerk"},
    }


@pytest.mark.parametrize("clerk", ["auditor", "viewer"])
def test_a_read_only_clerk_gets_an_explicit_deny(authorizer, clerk):
    answer = call(authorizer, f"Bearer {issue_token(clerk, SECRET)}")
    assert answer["principalId"] == clerk
    assert answer["policyDocument"]["Statement"][0]["Effect"] == "Deny"


@pytest.mark.parametrize(
    "header",
    [
        "",
        "Bearer",
        "clerk.abc",
        f"bearer {issue_token('clerk', SECRET)}",
        f"Bearer {issue_token('clerk', 'another-secret')}",
        f"Bearer {issue_token('clerk', SECRET)}x",
        f"Bearer {issue_token('clerk', SECRET)[:-1]}",
        f"Bearer {issue_token('auditor', SECRET).replace('auditor', 'clerk')}",
        f"Bearer  {issue_token('clerk', SECRET)}",
        "Bearer " + "a" * 65 + "." + "A" * 43,
    ],
)
def test_anything_else_is_unauthorized(authorizer, header):
    with pytest.raises(Exception, match="^Unauthorized$"):
        call(authorizer, header)


def test_without_a_secret_nothing_is_authorized(authorizer, monkeypatch):
    monkeypatch.delenv("TOKEN_SECRET")
    with pytest.raises(Exception, match="^Unauthorized$"):
        call(authorizer, f"Bearer {issue_token('clerk', '')}")


def test_the_workshop_issues_tokens_the_function_accepts(authorizer):
    token = issue_token("clerk-7", SECRET)
    assert token.split(".", 1)[1] == authorizer.sign("clerk-7", SECRET)
