"""The rules behind the checks, one by one, on plain data (no cloud needed)."""

from __future__ import annotations

import io

import pytest

from workshop.checks import (
    CheckResult,
    cors_problems,
    integration_problems,
    labs_through,
    parse_lab,
    permission_allows,
    print_results,
    table_policy_problems,
)

TABLE = "arn:aws:dynamodb:us-east-1:123456789012:table/inventory-ada-products"
FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:inventory-ada-api"
ACTIONS = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem",
           "dynamodb:Scan"]


def policy(*statements: dict) -> dict:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action, resource) -> dict:
    return {"Effect": "Allow", "Action": action, "Resource": resource}


# --- parse_lab / labs_through ---------------------------------------------------------------


@pytest.mark.parametrize("text, lab", [("4", "04"), ("04", "04"), ("lab04", "04"),
                                       ("04-api-gateway", "04"), ("7", "07"), ("0", "00")])
def test_lab_numbers_are_read_in_the_forms_people_type(text, lab):
    assert parse_lab(text) == lab


@pytest.mark.parametrize("text", ["9", "10", "api", "", "4.5"])
def test_a_lab_that_does_not_exist_is_refused_with_the_range(text):
    with pytest.raises(ValueError, match="from 00 to 08"):
        parse_lab(text)


def test_a_lab_includes_every_earlier_lab_but_cleanup_stands_alone():
    assert labs_through("04") == ["00", "01", "02", "03", "04"]
    assert labs_through("07") == ["07"]
    # lab 08 builds the stack again and protects it: everything but the cleanup must hold
    assert labs_through("08") == ["00", "01", "02", "03", "04", "05", "06", "08"]


# --- least privilege on the table ------------------------------------------------------------


def test_a_policy_naming_the_table_and_its_actions_passes():
    assert table_policy_problems([policy(allow(ACTIONS, TABLE))], TABLE) == []


def test_the_tables_indexes_may_be_named_too():
    document = policy(allow(ACTIONS, [TABLE, f"{TABLE}/index/*"]))
    assert table_policy_problems([document], TABLE) == []


def test_resource_star_is_too_wide():
    problems = table_policy_problems([policy(allow(ACTIONS, "*"))], TABLE)
    assert problems[0] == f"resource ['*'] is not this table ({TABLE})"
    # Granted only on '*', the actions do not count as granted on this table.
    assert problems[1].startswith("missing dynamodb:GetItem")


def test_a_pattern_matching_every_table_is_too_wide():
    wide = "arn:aws:dynamodb:us-east-1:123456789012:table/*"
    problems = table_policy_problems([policy(allow(ACTIONS, wide))], TABLE)
    assert problems[0] == f"resource ['{wide}'] is not this table ({TABLE})"


def test_dynamodb_star_is_refused_even_on_the_right_table():
    problems = table_policy_problems([policy(allow("dynamodb:*", TABLE))], TABLE)
    assert problems == ["actions ['dynamodb:*'] grant every matching DynamoDB action"]


def test_a_star_action_is_refused():
    problems = table_policy_problems([policy(allow("*", "*"))], TABLE)
    assert "actions ['*'] grant every matching DynamoDB action" in problems


def test_a_missing_action_is_named():
    problems = table_policy_problems([policy(allow(ACTIONS[:-1], TABLE))], TABLE)
    assert problems == ["missing dynamodb:Scan on the table"]


def test_not_action_is_refused():
    document = policy({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"},
                      allow(ACTIONS, TABLE))
    assert table_policy_problems([document], TABLE) == [
        "a statement uses NotAction/NotResource, which grants far more than it names"]


def test_deny_statements_and_log_statements_are_ignored():
    document = policy(allow(ACTIONS, TABLE), allow("logs:PutLogEvents", "*"),
                      {"Effect": "Deny", "Action": "dynamodb:*", "Resource": "*"})
    assert table_policy_problems([document], TABLE) == []


def test_actions_may_be_split_over_several_policies():
    documents = [policy(allow(ACTIONS[:2], TABLE)), policy(allow(ACTIONS[2:], TABLE))]
    assert table_policy_problems(documents, TABLE) == []


# --- API Gateway integrations ---------------------------------------------------------------


def proxy(**overrides) -> dict:
    integration = {"type": "AWS_PROXY", "httpMethod": "POST",
                   "uri": f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/"
                          f"{FUNCTION}/invocations"}
    return {**integration, **overrides}


def test_a_lambda_proxy_integration_passes():
    assert integration_problems(proxy(), FUNCTION) == []


def test_the_integration_must_call_lambda_with_post():
    assert integration_problems(proxy(httpMethod="GET"), FUNCTION) == [
        "integrationHttpMethod is GET, not POST"]


def test_a_non_proxy_integration_is_named():
    assert integration_problems(proxy(type="AWS"), FUNCTION) == [
        "integration type is AWS, not AWS_PROXY"]


def test_an_integration_calling_another_function_is_named():
    other = FUNCTION.replace("inventory-ada-api", "inventory-bob-api")
    uri = f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{other}/invocations"
    assert integration_problems(proxy(uri=uri), FUNCTION) == [
        f"uri {uri!r} does not invoke {FUNCTION}"]


def test_a_method_without_integration_is_named():
    assert integration_problems(None, FUNCTION) == ["has no integration"]


def test_cors_needs_a_mock_integration_setting_the_origin_header():
    good = {"methodIntegration": {"type": "MOCK", "integrationResponses": {"200": {
        "responseParameters": {"method.response.header.Access-Control-Allow-Origin": "'*'"}}}}}
    assert cors_problems(good) == []
    assert cors_problems(None) == ["no OPTIONS method"]
    no_header = {"methodIntegration": {"type": "MOCK", "integrationResponses": {}}}
    assert cors_problems(no_header) == [
        "the 200 integration response does not set Access-Control-Allow-Origin"]


# --- the Lambda permission ------------------------------------------------------------------

SOURCE = "arn:aws:execute-api:us-east-1:123456789012:a1b2c3/prod/GET/health"


def permission(source_arn: str | None) -> dict:
    statement = {"Sid": "apigw", "Effect": "Allow",
                 "Principal": {"Service": "apigateway.amazonaws.com"},
                 "Action": "lambda:InvokeFunction", "Resource": FUNCTION}
    if source_arn:
        statement["Condition"] = {"ArnLike": {"AWS:SourceArn": source_arn}}
    return {"Version": "2012-10-17", "Statement": [statement]}


def test_a_permission_for_this_api_passes():
    ok, _ = permission_allows(permission("arn:aws:execute-api:us-east-1:123456789012:a1b2c3/*"),
                              SOURCE)
    assert ok


def test_a_permission_left_from_a_deleted_api_fails_and_says_why():
    ok, detail = permission_allows(
        permission("arn:aws:execute-api:us-east-1:123456789012:zzzzzz/*"), SOURCE)
    assert not ok and "was the API re-created?" in detail


def test_a_permission_without_source_arn_works_but_is_noted():
    assert permission_allows(permission(None), SOURCE) == (
        True, "allowed from any API (consider a SourceArn)")


def test_no_permission_for_api_gateway_fails():
    document = {"Statement": [{"Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"},
                               "Action": "lambda:InvokeFunction"}]}
    assert permission_allows(document, SOURCE) == (
        False, "no statement allows apigateway.amazonaws.com to invoke the function")


# --- the report -------------------------------------------------------------------------------


def test_the_report_marks_each_line_and_shows_hints_only_on_failure():
    out = io.StringIO()
    print_results([CheckResult("01", "table exists", True, "x", "never shown"),
                   CheckResult("01", "key schema", False, "found [('id', 'HASH')]",
                               "lab 01 (01-dynamodb-table): recreate it")], out)
    assert out.getvalue().splitlines() == [
        "Lab 01 · the DynamoDB table",
        "  ✔ table exists",
        "  ✘ key schema",
        "      found: found [('id', 'HASH')]",
        "      fix:   lab 01 (01-dynamodb-table): recreate it",
        "1 passed, 1 failed.",
    ]


def test_the_report_falls_back_to_words_on_a_terminal_without_those_symbols():
    raw = io.BytesIO()
    out = io.TextIOWrapper(raw, encoding="ascii")
    print_results([CheckResult("01", "table exists", True),
                   CheckResult("01", "key schema", False, "", "fix it")], out)
    out.flush()
    text = raw.getvalue().decode("ascii")
    assert "  PASS table exists" in text and "  FAIL key schema" in text


# --- lab 02: the learner's own files, run in a separate interpreter ----------------------------

ENCODER = '''
import json
from decimal import Decimal


class CustomEncoder(json.JSONEncoder):
    def default(self, obj):
        if isinstance(obj, Decimal):
            return int(obj) if obj == obj.to_integral_value() else float(obj)
        return super().default(obj)
'''
HANDLER = '''
import json
from custom_encoder import CustomEncoder


def lambda_handler(event, context):
    return {"statusCode": 200, "headers": {}, "body": BODY}
'''


def lab_02(folder) -> list[tuple[str, bool]]:
    from workshop.checks import Checker
    from workshop.target import Target

    target = Target(name="local", region="us-east-1", account_id="123456789012")
    return [(r.title, r.passed) for r in Checker(target, "ada", lambda_dir=folder).run(["02"])]


def write(folder, body: str, encoder: str = ENCODER) -> None:
    (folder / "lambda_function.py").write_text(HANDLER.replace("BODY", body))
    (folder / "custom_encoder.py").write_text(encoder)


def test_lab_02_passes_for_working_files(tmp_path):
    write(tmp_path, 'json.dumps({"ok": True}, cls=CustomEncoder)')
    assert all(passed for _, passed in lab_02(tmp_path)), lab_02(tmp_path)


def test_lab_02_fails_a_handler_returning_a_dict_body(tmp_path):
    """The classic 502 on AWS: body must be a string."""
    write(tmp_path, '{"ok": True}')
    assert [title for title, passed in lab_02(tmp_path) if not passed] == [
        "lambda_handler answers GET / with 200 and a string body",
        "lambda_handler answers GET /health with 200 and a string body"]


def test_lab_02_fails_an_encoder_that_writes_500_as_500_point_0(tmp_path):
    write(tmp_path, '"{}"', ENCODER.replace("int(obj) if obj == obj.to_integral_value() else ", ""))
    assert [title for title, passed in lab_02(tmp_path) if not passed] == [
        "CustomEncoder writes Decimal 19.99 and 500 as 19.99 and 500"]


def test_lab_02_names_a_syntax_error_and_a_missing_file(tmp_path):
    (tmp_path / "lambda_function.py").write_text("def lambda_handler(event, context)\n")
    assert lab_02(tmp_path) == [("lambda_function.py and custom_encoder.py are in "
                                 f"{tmp_path}", False)]
    (tmp_path / "custom_encoder.py").write_text(ENCODER)
    assert lab_02(tmp_path)[1] == ("both files are valid Python", False)
