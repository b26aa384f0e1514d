"""The IAM policy evaluator of the local cloud, without a server.

Oracle: the IAM User Guide — "Policy evaluation logic" (explicit Deny > Allow > implicit deny),
"IAM JSON policy elements: Action / NotAction / Resource / NotResource" (wildcards; actions
case-insensitive, resources case-sensitive), "Condition operators" (String*, Arn*, Bool, Null,
...IfExists, ForAllValues/ForAnyValue) and "IAM policy elements: Variables and tags".
"""

from __future__ import annotations

import json
import logging

import pytest

from workshop.localcloud.iam.conditions import Condition, UnsupportedCondition
from workshop.localcloud.iam.policy import (
    MalformedPolicy,
    Outcome,
    compile_any,
    compile_policy,
    evaluate,
    trust_allows,
)

TABLE = "arn:aws:dynamodb:us-east-1:123456789012:table/inventory-ada"
OTHER_TABLE = "arn:aws:dynamodb:us-east-1:123456789012:table/billing"


def policy(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def decide(documents: list[str], action: str, resource: str, keys: dict | None = None) -> Outcome:
    keys = {k.lower(): v for k, v in (keys or {}).items()}
    compiled = [compile_policy(d) for d in documents]
    return evaluate(compiled, action, resource, lambda key: keys.get(key))


# -- Allow / Deny / implicit deny ----------------------------------------------------------------


def test_no_policy_is_an_implicit_deny():
    assert decide([], "dynamodb:GetItem", TABLE) is Outcome.IMPLICIT_DENY


def test_an_allow_on_the_resource_allows_only_that_resource():
    doc = policy({"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": TABLE})

    assert decide([doc], "dynamodb:GetItem", TABLE) is Outcome.ALLOW
    assert decide([doc], "dynamodb:GetItem", OTHER_TABLE) is Outcome.IMPLICIT_DENY
    assert decide([doc], "dynamodb:PutItem", TABLE) is Outcome.IMPLICIT_DENY


def test_an_explicit_deny_in_any_policy_wins_over_allows_in_others():
    allow_all = policy({"Effect": "Allow", "Action": "*", "Resource": "*"})
    deny = policy({"Effect": "Deny", "Action": "dynamodb:DeleteItem", "Resource": TABLE})

    assert decide([allow_all, deny], "dynamodb:DeleteItem", TABLE) is Outcome.EXPLICIT_DENY
    assert decide([deny, allow_all], "dynamodb:DeleteItem", TABLE) is Outcome.EXPLICIT_DENY
    assert decide([allow_all, deny], "dynamodb:GetItem", TABLE) is Outcome.ALLOW


def test_actions_match_case_insensitively_and_resources_case_sensitively():
    doc = policy({"Effect": "Allow", "Action": "DynamoDB:getitem", "Resource": TABLE})

    assert decide([doc], "dynamodb:GetItem", TABLE) is Outcome.ALLOW
    assert decide([doc], "dynamodb:GetItem", TABLE.replace("inventory", "Inventory")) is Outcome.IMPLICIT_DENY


@pytest.mark.parametrize(
    ("pattern", "resource", "expected"),
    [
        ("arn:aws:dynamodb:*:123456789012:table/inventory-*", TABLE, True),
        ("arn:aws:dynamodb:*:123456789012:table/inventory-*", OTHER_TABLE, False),
        # * crosses "/" and ":" (an index of the table is matched by table/inventory-*)
        ("arn:aws:dynamodb:*:123456789012:table/inventory-*", TABLE + "/index/byName", True),
        ("arn:aws:dynamodb:us-east-1:123456789012:table/inventory-ad?", TABLE, True),
        ("arn:aws:dynamodb:us-east-1:123456789012:table/inventory-a?", TABLE, False),
        ("arn:aws:logs:*:*:log-group:/aws/lambda/inventory-*",
         "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/inventory-ada:log-stream:", True),
    ],
)
def test_resource_wildcards(pattern: str, resource: str, expected: bool):
    doc = policy({"Effect": "Allow", "Action": "*", "Resource": pattern})

    assert (decide([doc], "dynamodb:GetItem", resource) is Outcome.ALLOW) is expected


def test_action_wildcards():
    doc = policy({"Effect": "Allow", "Action": ["dynamodb:Get*", "logs:*"], "Resource": "*"})

    assert decide([doc], "dynamodb:GetItem", TABLE) is Outcome.ALLOW
    assert decide([doc], "logs:PutLogEvents", "*") is Outcome.ALLOW
    assert decide([doc], "dynamodb:PutItem", TABLE) is Outcome.IMPLICIT_DENY
    assert decide([doc], "lambda:GetFunction", "*") is Outcome.IMPLICIT_DENY


def test_not_action_allows_everything_but_the_listed_actions():
    doc = policy({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})

    assert decide([doc], "dynamodb:DeleteTable", TABLE) is Outcome.ALLOW
    assert decide([doc], "iam:CreateUser", "*") is Outcome.IMPLICIT_DENY


def test_deny_with_not_resource_denies_everywhere_else():
    allow_all = policy({"Effect": "Allow", "Action": "*", "Resource": "*"})
    fence = policy({"Effect": "Deny", "Action": "dynamodb:*", "NotResource": TABLE})

    assert decide([allow_all, fence], "dynamodb:Scan", TABLE) is Outcome.ALLOW
    assert decide([allow_all, fence], "dynamodb:Scan", OTHER_TABLE) is Outcome.EXPLICIT_DENY


def test_policy_variables_in_resources():
    doc = policy({"Effect": "Allow", "Action": "dynamodb:*",
                  "Resource": "arn:aws:dynamodb:*:*:table/inventory-${aws:username}"})

    assert decide([doc], "dynamodb:GetItem", TABLE, {"aws:username": ["ada"]}) is Outcome.ALLOW
    assert decide([doc], "dynamodb:GetItem", TABLE, {"aws:username": ["bob"]}) is Outcome.IMPLICIT_DENY
    # No value for the variable (a role session has no aws:username): the resource does not match.
    assert decide([doc], "dynamodb:GetItem", TABLE) is Outcome.IMPLICIT_DENY


# -- conditions -----------------------------------------------------------------------------------


def test_string_equals_on_passed_to_service():
    doc = policy({"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*",
                  "Condition": {"StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}}})
    role = "arn:aws:iam::123456789012:role/inventory-ada-role"

    assert decide([doc], "iam:PassRole", role, {"iam:PassedToService": ["lambda.amazonaws.com"]}) is Outcome.ALLOW
    assert decide([doc], "iam:PassRole", role, {"iam:PassedToService": ["ec2.amazonaws.com"]}) is Outcome.IMPLICIT_DENY
    assert decide([doc], "iam:PassRole", role) is Outcome.IMPLICIT_DENY  # key absent


def test_resource_tag_condition_with_string_like_and_not_equals():
    doc = policy(
        {"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*",
         "Condition": {"StringLike": {"aws:ResourceTag/owner": "ada*"}}},
        {"Effect": "Deny", "Action": "dynamodb:DeleteTable", "Resource": "*",
         "Condition": {"StringNotEquals": {"aws:ResourceTag/stage": "dev"}}},
    )

    tags = {"aws:resourcetag/owner": ["ada-lovelace"], "aws:resourcetag/stage": ["dev"]}
    assert decide([doc], "dynamodb:DeleteTable", TABLE, tags) is Outcome.ALLOW
    tags["aws:resourcetag/stage"] = ["prod"]
    assert decide([doc], "dynamodb:DeleteTable", TABLE, tags) is Outcome.EXPLICIT_DENY
    assert decide([doc], "dynamodb:GetItem", TABLE, {"aws:resourcetag/owner": ["bob"]}) is Outcome.IMPLICIT_DENY


def test_for_all_values_and_for_any_value_on_tag_keys():
    only_known = Condition("ForAllValues:StringEquals", "aws:TagKeys", ["owner", "workshop"])
    any_owner = Condition("ForAnyValue:StringEquals", "aws:TagKeys", ["owner"])

    assert only_known.holds(["owner", "workshop"])
    assert not only_known.holds(["owner", "cost-centre"])
    assert only_known.holds(None)  # vacuously true without tags (IAM User Guide)
    assert any_owner.holds(["workshop", "owner"])
    assert not any_owner.holds(["workshop"])
    assert not any_owner.holds(None)


@pytest.mark.parametrize(
    ("operator", "expected", "actual", "holds"),
    [
        ("ArnLike", ["arn:aws:iam::*:role/inventory-*"], ["arn:aws:iam::123456789012:role/inventory-x"], True),
        ("ArnLike", ["arn:aws:iam::*:role/inventory-*"], ["arn:aws:iam::123456789012:user/inventory-x"], False),
        ("ArnEquals", ["arn:aws:iam::123456789012:role/a"], ["arn:aws:iam::123456789012:role/a"], True),
        ("ArnNotLike", ["arn:aws:iam::*:role/inventory-*"], ["arn:aws:iam::123456789012:role/other"], True),
        ("Bool", ["true"], ["true"], True),
        ("Bool", ["true"], ["false"], False),
        ("StringEqualsIgnoreCase", ["ADA"], ["ada"], True),
        ("StringNotLike", ["ada*"], ["bob"], True),
        ("StringNotLike", ["ada*"], ["adam"], False),
        ("NumericLessThan", ["10"], ["3"], True),
        ("NumericLessThan", ["10"], ["30"], False),
        ("IpAddress", ["127.0.0.0/8"], ["127.0.0.1"], True),
        ("DateGreaterThan", ["2020-01-01T00:00:00Z"], ["2026-11-30T00:00:00Z"], True),
    ],
)
def test_condition_operators(operator: str, expected: list, actual: list, holds: bool):
    assert Condition(operator, "k", expected).holds(actual) is holds


def test_if_exists_and_null():
    assert Condition("StringEqualsIfExists", "k", ["a"]).holds(None)
    assert not Condition("StringEqualsIfExists", "k", ["a"]).holds(["b"])
    assert Condition("Null", "k", ["true"]).holds(None)
    assert not Condition("Null", "k", ["true"]).holds(["x"])
    assert Condition("Null", "k", ["false"]).holds(["x"])
    assert not Condition("StringEquals", "k", ["a"]).holds(None)


def test_an_unknown_operator_is_refused_at_parse_time():
    with pytest.raises(UnsupportedCondition):
        Condition("StringSoundsLike", "k", ["a"])
    with pytest.raises(UnsupportedCondition):
        Condition("ForSomeValues:StringEquals", "k", ["a"])


def test_an_unsupported_condition_never_allows_and_is_logged(caplog: pytest.LogCaptureFixture):
    allow = policy({"Sid": "Odd", "Effect": "Allow", "Action": "*", "Resource": "*",
                    "Condition": {"StringSoundsLike": {"aws:username": "ada"}}})

    with caplog.at_level(logging.WARNING, logger="workshop.localcloud.iam"):
        outcome = decide([allow], "dynamodb:GetItem", TABLE, {"aws:username": ["ada"]})

    assert outcome is Outcome.IMPLICIT_DENY
    assert "StringSoundsLike" in caplog.text and "Odd" in caplog.text


def test_a_deny_with_an_unsupported_condition_still_denies():
    allow = policy({"Effect": "Allow", "Action": "*", "Resource": "*"})
    deny = policy({"Sid": "OddDeny", "Effect": "Deny", "Action": "*", "Resource": "*",
                   "Condition": {"StringSoundsLike": {"aws:username": "ada"}}})

    assert decide([allow, deny], "dynamodb:GetItem", TABLE) is Outcome.EXPLICIT_DENY


def test_an_unknown_condition_key_is_logged_and_never_allows(caplog: pytest.LogCaptureFixture):
    allow = policy({"Sid": "LeadingKeys", "Effect": "Allow", "Action": "*", "Resource": "*",
                    "Condition": {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["ada"]}}})

    def lookup(key: str):
        raise UnsupportedCondition(f"condition key {key!r}")

    with caplog.at_level(logging.WARNING, logger="workshop.localcloud.iam"):
        outcome = evaluate([compile_policy(allow)], "dynamodb:GetItem", TABLE, lookup)

    assert outcome is Outcome.IMPLICIT_DENY
    assert "dynamodb:leadingkeys" in caplog.text


# -- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "document",
    ["not json", "[]", json.dumps({"Version": "2012-10-17"}),
     json.dumps({"Statement": [{"Effect": "Maybe", "Action": "*", "Resource": "*"}]})],
)
def test_malformed_documents_are_rejected(document: str):
    with pytest.raises(MalformedPolicy):
        compile_policy(document)
    assert compile_any(document) is None  # the tolerant form: logged, allows nothing


def test_url_encoded_documents_as_moto_may_store_them():
    from urllib.parse import quote

    doc = quote(policy({"Effect": "Allow", "Action": "s3:*", "Resource": "*"}))

    assert decide([doc], "s3:GetObject", "*") is Outcome.ALLOW


# -- trust policies ---------------------------------------------------------------------------

LAMBDA_TRUST = policy({"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                       "Action": "sts:AssumeRole"})


def test_trust_policy_names_the_service():
    assert trust_allows(LAMBDA_TRUST, "sts:AssumeRole", service="lambda.amazonaws.com")
    assert not trust_allows(LAMBDA_TRUST, "sts:AssumeRole", service="ec2.amazonaws.com")
    assert not trust_allows(policy(), "sts:AssumeRole", service="lambda.amazonaws.com")


def test_trust_policy_names_an_aws_principal():
    doc = policy({"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:user/ada"},
                  "Action": "sts:AssumeRole"})

    assert trust_allows(doc, "sts:AssumeRole", arns=("arn:aws:iam::123456789012:user/ada",))
    assert not trust_allows(doc, "sts:AssumeRole", arns=("arn:aws:iam::123456789012:user/bob",))
    assert not trust_allows(doc, "sts:AssumeRole", service="lambda.amazonaws.com")
