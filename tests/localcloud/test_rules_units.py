"""The rule modules on their own: boundaries and bad input, no local cloud needed.

The conformance modules (test_conformance_*.py) check the same facts through boto3 and HTTP and
name their AWS sources; these pin the edges (38 vs 39 digits, 1E-130 vs 1E-131, 409,600 vs
409,601 bytes) of the functions that decide them.
"""

from __future__ import annotations

import json

import pytest

from workshop.localcloud.cloudwatch import MAX_LAMBDA_LOG_EVENT_BYTES, split_log_message
from workshop.localcloud.gateway.routes import decode_path_parameter, match_template, split_invoke_path
from workshop.localcloud.rules import apigateway, iam
from workshop.localcloud.rules.dynamodb import (
    MAX_ITEM_BYTES,
    NUMBER_OVERFLOW,
    NUMBER_UNDERFLOW,
    TOO_MANY_DIGITS,
    DynamoDBValidationError,
    attribute_value_size,
    check_number,
    check_request,
    item_size,
)
from workshop.localcloud.runtime import exit_reason

# -- DynamoDB numbers ---------------------------------------------------------------------------

MAX_NUMBER = "9.9999999999999999999999999999999999999E+125"


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("12.50", "12.5"),
        ("1E+2", "100"),
        ("1e2", "100"),
        ("-0.000", "0"),
        ("007", "7"),
        ("+3.0", "3"),
        ("-1.50E-3", "-0.0015"),
        (".5", "0.5"),
        ("1E-130", "0." + "0" * 129 + "1"),
        ("1" * 38, "1" * 38),
        ("1" + "0" * 60, "1" + "0" * 60),  # trailing zeros are not significant digits
        (MAX_NUMBER, "9" * 38 + "0" * 88),
    ],
)
def test_numbers_are_stored_normalised(given: str, stored: str) -> None:
    assert check_number(given) == stored


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("1" * 39, TOO_MANY_DIGITS),
        ("-1.23456789012345678901234567890123456789", TOO_MANY_DIGITS),
        ("1E126", NUMBER_OVERFLOW),
        ("-1E126", NUMBER_OVERFLOW),
        ("10E125", NUMBER_OVERFLOW),
        ("1E-131", NUMBER_UNDERFLOW),
        ("-1E-131", NUMBER_UNDERFLOW),
        ("0.1E-130", NUMBER_UNDERFLOW),
        ("abc", "The parameter cannot be converted to a numeric value: abc"),
        ("1e", "The parameter cannot be converted to a numeric value: 1e"),
        ("NaN", "The parameter cannot be converted to a numeric value: NaN"),
        ("Infinity", "The parameter cannot be converted to a numeric value: Infinity"),
        ("", "The parameter cannot be converted to a numeric value"),
    ],
)
def test_numbers_dynamodb_cannot_store_are_refused(given: str, message: str) -> None:
    with pytest.raises(DynamoDBValidationError) as refused:
        check_number(given)
    assert str(refused.value) == message


def test_the_extreme_numbers_are_accepted() -> None:
    assert check_number("1E-130")
    assert check_number("-" + MAX_NUMBER).startswith("-9999")
    assert check_number("1.0000000000000000000000000000000000000E+125")


def test_every_number_of_a_request_is_checked_and_normalised() -> None:
    request = {
        "TableName": "t",
        "Item": {
            "n": {"N": "1.50"},
            "m": {"M": {"deep": {"L": [{"N": "2E+1"}, {"NS": ["3.0", "4"]}]}}},
        },
        "ExpressionAttributeValues": {":v": {"N": "010"}},
        "Expected": {"a": {"Value": {"N": "5.0"}}},
    }
    assert check_request(request) == {
        "TableName": "t",
        "Item": {"n": {"N": "1.5"}, "m": {"M": {"deep": {"L": [{"N": "20"}, {"NS": ["3", "4"]}]}}}},
        "ExpressionAttributeValues": {":v": {"N": "10"}},
        "Expected": {"a": {"Value": {"N": "5"}}},
    }
    bad_places = [
        {"Item": {"l": {"L": [{"N": "1E126"}]}}},
        {"Item": {"m": {"M": {"x": {"N": "1E-131"}}}}},
        {"Item": {"s": {"NS": ["1", "1" * 39]}}},
        {"ExpressionAttributeValues": {":v": {"N": "1E126"}}},
        {"KeyConditions": {"k": {"AttributeValueList": [{"N": "1E126"}], "ComparisonOperator": "EQ"}}},
        {"RequestItems": {"t": [{"PutRequest": {"Item": {"n": {"N": "1E126"}}}}]}},
        {"TransactItems": [{"Update": {"ExpressionAttributeValues": {":v": {"N": "1E126"}}}}]},
    ]
    for request in bad_places:
        with pytest.raises(DynamoDBValidationError):
            check_request(request)


def test_an_attribute_named_n_is_not_a_number() -> None:
    # {"N": {...}} is an attribute called N holding a value, not a number
    request = {"Item": {"N": {"S": "text"}}, "ExpressionAttributeNames": {"#n": "N"}}
    assert check_request(request) == request


@pytest.mark.parametrize("text", ["\ud800", "ok\udfff", "\udc00x"])
def test_lone_surrogates_are_refused_in_values_and_names(text: str) -> None:
    with pytest.raises(DynamoDBValidationError, match="not valid Unicode"):
        check_request({"Item": {"k": {"S": text}}})
    with pytest.raises(DynamoDBValidationError, match="not valid Unicode"):
        check_request({"Item": {text: {"S": "x"}}})
    assert check_request({"Item": {"k": {"S": "\U0001F600"}}})  # a real astral character is fine


def test_moto_holds_every_number_as_dynamodb_stores_it() -> None:
    from moto.dynamodb.models.dynamo_type import DynamoType

    from workshop.localcloud.rules import dynamodb

    dynamodb.install()
    try:
        assert DynamoType({"N": "13.0"}).value == "13"
        assert DynamoType({"NS": ["1E+2", "0.50"]}).value == ["100", "0.5"]
        nested = DynamoType({"M": {"a": {"L": [{"N": "00.50"}]}}})
        assert nested.value["a"].value[0].value == "0.5"
        assert DynamoType({"N": "1.50"}) == DynamoType({"N": "15E-1"})
    finally:
        dynamodb.uninstall()
    assert DynamoType({"N": "13.0"}).value == "13.0"  # moto's own behaviour once uninstalled


# -- DynamoDB item size -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "size"),
    [
        ({"S": "abc"}, 3),
        ({"S": "é"}, 2),
        ({"N": "12.5"}, 3),  # 3 significant digits: 2 bytes + 1
        ({"N": "1"}, 2),
        ({"N": "100"}, 2),  # trailing zeros are not significant
        ({"B": "AAEC"}, 3),  # base64 of 3 bytes
        ({"BOOL": True}, 1),
        ({"NULL": True}, 1),
        ({"L": []}, 3),
        ({"M": {}}, 3),
        ({"L": [{"S": "ab"}, {"N": "1"}]}, 3 + (1 + 2) + (1 + 2)),
        ({"M": {"ab": {"S": "xyz"}}}, 3 + 1 + 2 + 3),
        ({"SS": ["a", "bc"]}, 3),
        ({"NS": ["1", "22"]}, 4),
    ],
)
def test_attribute_value_sizes_follow_aws_formula(value: dict, size: int) -> None:
    assert attribute_value_size(value) == size


def test_item_size_counts_names_and_values() -> None:
    assert item_size({"productId": {"S": "p-1"}, "tags": {"L": [{"S": "a"}]}}) == 9 + 3 + 4 + 3 + 2


def test_the_size_limit_is_400_kb() -> None:
    assert MAX_ITEM_BYTES == 409_600


# -- API Gateway mapping expressions -----------------------------------------------------------------


@pytest.mark.parametrize("value", ["'*'", "'GET,POST'", "''", "integration.response.header.X-Id",
                                   "integration.response.body", "integration.response.body.a.b",
                                   "stageVariables.origin", "context.requestId"])
def test_integration_response_values_that_api_gateway_takes(value: str) -> None:
    apigateway.check_integration_response({"method.response.header.Access-Control-Allow-Origin": value})


@pytest.mark.parametrize("value", ["*", "GET,POST", "'unterminated", "None", "", "method.request.header.x"])
def test_unquoted_or_unknown_integration_response_values_are_refused(value: str) -> None:
    with pytest.raises(apigateway.MappingExpressionError) as refused:
        apigateway.check_integration_response({"method.response.header.X": value})
    assert str(refused.value) == (
        "Invalid mapping expression specified: Validation Result: warnings : [], errors : "
        f"[Invalid mapping expression specified: {value}]"
    )


@pytest.mark.parametrize(
    ("check", "parameters"),
    [
        (apigateway.check_integration_response, {"Access-Control-Allow-Origin": "'*'"}),
        (apigateway.check_method_response, {"header.X": True}),
        (apigateway.check_method_request, {"querystring.limit": False}),
        (apigateway.check_method_request, {"method.request.cookie.x": False}),
        (apigateway.check_integration_request, {"integration.request.header.X": "*"}),
        (apigateway.check_integration_request, {"integration.request.header.X": "method.request.nowhere.y"}),
        (apigateway.check_integration_request, {"request.header.X": "'a'"}),
        (apigateway.check_gateway_response, {"gatewayresponse.header.Access-Control-Allow-Origin": "*"}),
        (apigateway.check_gateway_response, {"method.response.header.X": "'*'"}),
    ],
)
def test_every_kind_of_mapping_expression_is_checked(check, parameters: dict) -> None:
    with pytest.raises(apigateway.MappingExpressionError, match="Invalid mapping expression"):
        check(parameters)


def test_valid_mappings_of_every_kind_pass() -> None:
    apigateway.check_method_request({"method.request.querystring.limit": False, "method.request.path.id": True})
    apigateway.check_method_response({"method.response.header.Access-Control-Allow-Origin": True})
    apigateway.check_integration_request({
        "integration.request.header.X-Id": "method.request.path.id",
        "integration.request.querystring.q": "'fixed'",
        "integration.request.path.p": "method.request.body.a",
    })
    apigateway.check_integration_response(None)
    apigateway.check_gateway_response({
        "gatewayresponse.header.Access-Control-Allow-Origin": "'*'",
        "gatewayresponse.header.X-Request": "method.request.header.X-Request",
    })


@pytest.mark.parametrize(
    ("current", "operation", "expected"),
    [
        ([], {"op": "add", "path": "/binaryMediaTypes/image~1png"}, ["image/png"]),
        (["image/png"], {"op": "add", "path": "/binaryMediaTypes/image~1png"}, ["image/png"]),
        (["image/png", "*/*"], {"op": "remove", "path": "/binaryMediaTypes/image~1png"}, ["*/*"]),
        (["image/png"], {"op": "replace", "path": "/binaryMediaTypes/image~1png", "value": "image/gif"}, ["image/gif"]),
        ([], {"op": "add", "path": "/binaryMediaTypes", "value": "application~1octet-stream"}, ["application/octet-stream"]),
    ],
)
def test_binary_media_type_patches(current: list, operation: dict, expected: list) -> None:
    assert apigateway.apply_binary_media_type_patch(current, operation) == expected


# -- IAM -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        ("{not json", iam.INVALID_JSON),
        ("[]", iam.INVALID_JSON),
        (json.dumps({"Version": "2012-10-17", "Statement": "sts:AssumeRole"}), iam.SYNTAX_ERRORS),
        (json.dumps({"Version": "2012-10-17", "Statement": []}), None),
        (json.dumps({"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole"}]}), iam.MISSING_PRINCIPAL),
        (json.dumps({"Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                                    "Action": "sts:AssumeRole", "Resource": "*"}]}), iam.PROHIBITED_RESOURCE),
        (json.dumps({"Statement": {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                                   "Action": "sts:AssumeRole"}}), None),
    ],
)
def test_trust_policy_problems(document: str, problem: str | None) -> None:
    assert iam.trust_policy_problem(document) == problem


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole", True),
        ("arn:aws:iam::123456789012:policy/mine", True),
        ("AWSLambdaBasicExecutionRole", False),
        ("arn:aws:iam", False),
        ("", False),
    ],
)
def test_policy_arns(text: str, expected: bool) -> None:
    assert iam.is_arn(text) is expected


# -- gateway and runtime helpers ---------------------------------------------------------------------


def test_path_parameters_keep_percent_2b_encoded() -> None:
    assert decode_path_parameter("a%2Bb%2bc%20d+e") == "a%2Bb%2Bc d+e"


def test_double_slashes_inside_a_greedy_path_are_kept_and_after_the_stage_collapsed() -> None:
    where = split_invoke_path("/api/prod//files//a")
    assert where is not None and where.resource_path == "/files//a"
    assert match_template("/files/{proxy+}", where.resource_path) == ((2, 0), {"proxy": "a"})
    assert match_template("/{proxy+}", "/a//b") == ((0,), {"proxy": "a//b"})


def test_log_lines_over_256_kb_are_split_between_characters() -> None:
    assert split_log_message("short") == ["short"]
    exact = "x" * MAX_LAMBDA_LOG_EVENT_BYTES
    assert split_log_message(exact) == [exact]
    pieces = split_log_message("x" * (MAX_LAMBDA_LOG_EVENT_BYTES + 1))
    assert [len(piece) for piece in pieces] == [MAX_LAMBDA_LOG_EVENT_BYTES, 1]
    text = "é" * MAX_LAMBDA_LOG_EVENT_BYTES  # 2 bytes each: a cut must not split one
    pieces = split_log_message(text)
    assert "".join(pieces) == text
    assert all(len(piece.encode()) <= MAX_LAMBDA_LOG_EVENT_BYTES for piece in pieces)


@pytest.mark.parametrize(
    ("returncode", "reason"),
    [
        (0, "Runtime exited without providing a reason"),
        (3, "Runtime exited with error: exit status 3"),
        (-9, "Runtime exited with error: signal: killed"),
    ],
)
def test_exit_reasons(returncode: int, reason: str) -> None:
    assert exit_reason(returncode) == reason
