"""The configuration checks on moto in-process: one mistake, one failed line, the right hint.

GIVEN a complete tagged stack built with boto3, WHEN one thing is set up wrong, THEN exactly that
check fails and its hint names the lab that fixes it. (Behaviour over HTTP and the real invoke
are checked on the local cloud in test_scripts_localcloud.py.)
"""

from __future__ import annotations

import json

import boto3
import pytest

from workshop.checks import Checker
from workshop.naming import resource_names
from workshop.target import Target

# Checks that need a running function or gateway; moto in-process has neither.
LIVE = {"invoking the function with a GET /health event answers 200", "GET /health answers 200",
        "a CORS preflight (OPTIONS /product) answers with Access-Control-Allow-Origin"}
TARGET = Target(name="local", region="us-east-1", account_id="123456789012",
                gateway="http://127.0.0.1:9")  # nothing listens there: no live check passes
NAMES = resource_names("ada")


def failures(labs=("01", "03", "04"), owner="ada") -> dict[str, object]:
    results = Checker(TARGET, owner, lambda_dir=None).run(list(labs))
    return {r.title: r for r in results if not r.passed and r.title not in LIVE}


@pytest.fixture
def stack(moto_aws):
    return moto_aws.full_stack("ada")


def test_a_complete_stack_passes_every_configuration_check(stack):
    assert failures() == {}


def test_a_wrong_key_schema_is_named(moto_aws):
    moto_aws.table(NAMES.table, "ada", key="id")
    failed = failures(labs=("01",))
    assert list(failed) == ["key schema is productId (partition key, type S)"]
    assert failed["key schema is productId (partition key, type S)"].hint.startswith(
        "lab 01 (01-dynamodb-table): a key schema cannot be changed")


def test_an_untagged_table_fails_the_tag_check_and_says_why_it_matters(moto_aws):
    moto_aws.table(NAMES.table)
    failed = failures(labs=("01",))
    assert list(failed) == ["table is tagged as the workshop's and ada's"]
    assert "cleanup.py" in failed["table is tagged as the workshop's and ada's"].hint


def test_a_function_configured_wrong_fails_each_setting(stack):
    boto3.client("lambda").update_function_configuration(
        FunctionName=NAMES.function, Runtime="nodejs20.x", Handler="index.handler",
        Environment={"Variables": {"TABLE": NAMES.table}})
    assert set(failures(labs=("03",))) == {
        "runtime is Python 3 (nodejs20.x)",
        "handler is lambda_function.lambda_handler",
        "environment TABLE_NAME is inventory-ada-products",
    }


def test_a_role_lambda_cannot_assume_is_named(stack):
    boto3.client("iam").update_assume_role_policy(RoleName=NAMES.role, PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {
            "Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}))
    assert list(failures(labs=("03",))) == ["role trusts lambda.amazonaws.com (sts:AssumeRole)"]


def test_a_table_policy_on_every_resource_is_named(stack):
    boto3.client("iam").put_role_policy(
        RoleName=NAMES.role, PolicyName=NAMES.role_policy, PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"}]}))
    failed = failures(labs=("03",))
    assert list(failed) == ["role grants the table's actions on this table only"]
    assert failed["role grants the table's actions on this table only"].detail.startswith(
        "actions ['dynamodb:*'] grant every matching DynamoDB action; resource ['*'] is not")


def test_missing_pieces_of_the_api_are_named(stack):
    api = boto3.client("apigateway")
    resources = {r["path"]: r["id"] for r in api.get_resources(restApiId=stack["api_id"])["items"]}
    api.put_integration(restApiId=stack["api_id"], resourceId=resources["/product"],
                        httpMethod="GET", type="AWS", integrationHttpMethod="POST",
                        uri=api.get_integration(restApiId=stack["api_id"],
                                                resourceId=resources["/product"],
                                                httpMethod="GET")["uri"])
    api.delete_method(restApiId=stack["api_id"], resourceId=resources["/products"],
                      httpMethod="OPTIONS")
    failed = failures(labs=("04",))
    assert set(failed) == {"/product: GET POST PATCH DELETE integrated with the function (Lambda proxy)",
                           "/products: OPTIONS answers CORS preflights (MOCK)"}
    assert failed["/product: GET POST PATCH DELETE integrated with the function (Lambda proxy)"
                  ].detail == "GET integration type is AWS, not AWS_PROXY"


def test_a_second_tagged_copy_of_the_api_is_named_but_a_look_alike_is_not(stack, moto_aws):
    moto_aws.api(NAMES.api)  # an untagged API with the same name: somebody's, not a re-run
    assert failures(labs=("04",)) == {}
    moto_aws.api(NAMES.api, "ada")  # a re-run of create_rest_api
    assert list(failures(labs=("04",))) == ["one REST API named inventory-ada-api is yours"]


def test_nothing_built_fails_each_lab_once_with_a_catch_up_hint(moto_aws):
    failed = failures()
    assert set(failed) == {"table inventory-ada-products exists",
                           "role inventory-ada-lambda-role exists",
                           "function inventory-ada-api exists",
                           "REST API inventory-ada-api exists"}
    assert all("scripts/deploy.py --through" in result.hint for result in failed.values())


def test_lab_07_passes_only_when_nothing_is_left(moto_aws):
    assert [(r.title, r.passed) for r in Checker(TARGET, "ada").run(["07"])] == [
        ("nothing of ada's is left", True)]


def test_lab_07_names_tagged_leftovers_and_untagged_ones_differently(moto_aws):
    moto_aws.role(NAMES.role, "ada")  # tagged: cleanup.py will take it
    moto_aws.table(NAMES.table)  # untagged with ada's exact name: cleanup.py will not
    results = Checker(TARGET, "ada").run(["07"])
    assert [(r.title, r.passed) for r in results] == [
        ("IAM role inventory-ada-lambda-role is gone", False),
        ("DynamoDB table inventory-ada-products is gone", False),
    ]
    assert results[0].hint == "lab 07 (07-cleanup): run `python scripts/cleanup.py`"
    assert "never deletes untagged resources" in results[1].hint


# --- the command, in-process ----------------------------------------------------------------


@pytest.fixture
def connected(moto_aws, monkeypatch):
    import workshop.target

    monkeypatch.setattr(workshop.target, "connect", lambda **_: TARGET)
    return moto_aws


def test_the_command_exits_1_and_prints_hints_when_a_check_fails(connected, capsys):
    import io

    from workshop import checks

    connected.table(NAMES.table, "ada", key="id")
    out = io.StringIO()
    assert checks.main(["01", "--owner", "ada"], out=out) == 1
    assert "  ✘ key schema is productId (partition key, type S)\n" \
           "      found: found [('id', 'HASH')] with types {'id': 'S'}\n" \
           "      fix:   lab 01 (01-dynamodb-table): a key schema cannot be changed" in out.getvalue()


def test_the_command_refuses_a_lab_that_does_not_exist(capsys):
    from workshop import checks

    assert checks.main(["9"]) == 2
    assert "is not a lab" in capsys.readouterr().err


def test_all_owners_lists_every_learner_found_by_tags(connected):
    import io

    from workshop import checks

    connected.full_stack("ada")
    connected.table("inventory-bob-products", "bob")
    connected.table("inventory-eve-products")  # untagged: not a learner the workshop knows
    out = io.StringIO()
    assert checks.main(["--all-owners"], out=out) == 0
    rows = [line.split() for line in out.getvalue().splitlines()]
    assert rows[0] == ["owner", "01", "03", "04", "05", "06", "08", "reached"]
    # ada's labs 03-06 are broken here only because moto in-process runs no function and serves
    # no HTTP (the live checks); bob only has a table: his later labs are "not yet", not broken.
    assert rows[1] == ["ada", "✔", "✘", "✘", "✘", "✘", "–", "01"]
    assert rows[2] == ["bob", "✔", "–", "–", "–", "–", "–", "01"]
    assert len(rows) == 4  # and the footer

    out = io.StringIO()
    assert checks.main(["--all-owners", "01"], out=out) == 0
    out = io.StringIO()
    assert checks.main(["--all-owners", "03"], out=out) == 1
    assert out.getvalue().splitlines()[-1] == "Not yet through lab 03: ada, bob"


def test_summary_is_one_line_per_lab_with_the_first_fix(connected):
    import io

    from workshop import checks

    # GIVEN a learner with a table whose key is wrong, and nothing else
    connected.table(NAMES.table, "ada", key="id")
    out = io.StringIO()
    # WHEN they ask for the summary
    assert checks.main(["--summary", "--owner", "ada"], out=out) == 1
    lines = out.getvalue().splitlines()
    by_lab = {line.split()[2]: line for line in lines if line.split()[1:2] == ["Lab"]}
    # THEN every lab but 02 (another learner's files are not known) has one line
    assert sorted(by_lab) == ["00", "01", "03", "04", "05", "06", "07", "08"]
    assert by_lab["00"].startswith("✔ Lab 00") and by_lab["00"].endswith("done")
    # AND a lab built wrong is broken, with the first fix; a lab not built is "not yet"
    assert "broken (fails: key schema is productId (partition key, type S)) -- fix: lab 01" in by_lab["01"]
    assert by_lab["03"].startswith("– Lab 03") and "not yet (needs: role inventory-ada-lambda-role exists)" \
        in by_lab["03"]
    assert "not yet" in by_lab["04"] and "fix: lab 04 (04-api-gateway): create_rest_api." in by_lab["04"]
    assert by_lab["08"].startswith("– Lab 08") and "not yet (needs: the REST API exists)" in by_lab["08"]
    assert lines[-1].startswith("1 of 8 labs done.")


def test_lab_status_tells_done_not_yet_and_broken_apart():
    from workshop.checks import CheckResult
    from workshop.checks.report import BROKEN, DONE, NOT_YET, lab_status

    ok = CheckResult("04", "a", True)
    gone = CheckResult("04", "exists", False, "not found", "create it", missing=True)
    wrong = CheckResult("04", "answers 200", False, "status 500", "add_permission")
    assert lab_status("04", [ok, ok]).state == DONE
    assert lab_status("04", [gone]).state == NOT_YET
    assert lab_status("04", [ok, wrong, gone]) .state == BROKEN
    assert lab_status("04", [ok, wrong]).first_failure == wrong
    assert lab_status("04", []).state == NOT_YET
    assert lab_status("07", [wrong]).state == NOT_YET  # cleanup: something is still left


def test_all_owners_after_a_class_cleanup(connected):
    import io

    from workshop import checks

    connected.table("inventory-bob-products", "bob")
    out = io.StringIO()
    assert checks.main(["07", "--all-owners"], out=out) == 1
    assert out.getvalue().splitlines()[0] == "✘ bob: 1 resource(s) left"
    boto3.client("dynamodb").delete_table(TableName="inventory-bob-products")
    out = io.StringIO()
    assert checks.main(["07", "--all-owners"], out=out) == 0


def test_lab_07_names_an_untagged_log_group_left_after_its_function(moto_aws):
    """Deleting the function by hand leaves the log group Lambda made, without tags."""
    moto_aws.log_group(NAMES.log_group)
    moto_aws.log_group(NAMES.log_group + "-old")  # another function's group
    results = Checker(TARGET, "ada").run(["07"])
    assert [(r.title, r.passed) for r in results] == [
        ("log group /aws/lambda/inventory-ada-api is gone", False)]


def test_lab_07_ignores_a_resource_with_my_name_tagged_for_someone_else(moto_aws):
    from workshop.naming import tag_list

    boto3.client("dynamodb").create_table(
        TableName=NAMES.table, BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "productId", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "productId", "AttributeType": "S"}],
        Tags=tag_list("bob"))
    assert [(r.title, r.passed) for r in Checker(TARGET, "ada").run(["07"])] == [
        ("nothing of ada's is left", True)]


def test_a_check_that_meets_an_unexpected_shape_reports_it_instead_of_crashing(moto_aws, monkeypatch):
    from workshop.checks import Checker

    # GIVEN a lookup that answers something no check expected (a table without its ARN)
    monkeypatch.setattr(Checker, "table", lambda self: {"TableStatus": "ACTIVE", "KeySchema": []})
    checker = Checker(Target(name="aws", region="us-east-1", account_id="123456789012"), "ada")
    # WHEN lab 01 runs
    results = list(checker.run_lab("01"))
    # THEN the lab's report ends with one FAIL naming the error and the lab, not a traceback
    last = results[-1]
    assert not last.passed and last.title == "the lab's checks could read what you built"
    assert last.detail == "KeyError: 'TableArn'"
    assert last.hint.startswith("lab 01 (01-dynamodb-table):")


@pytest.mark.parametrize("status, fix", [
    (403, "create_deployment"), (500, "add_permission"), (502, "update_function_code"),
])
def test_the_health_check_names_the_fix_for_the_status_it_met(moto_aws, monkeypatch, status, fix):
    from workshop.checks import Checker

    class Answer:
        status_code = status
        text = '{"message": "Internal server error"}'

    class Http:
        def request(self, *args, **kwargs):
            return Answer()

    monkeypatch.setattr(Checker, "invoke_url", lambda self: "http://127.0.0.1:9/api/prod")
    checker = Checker(Target(name="aws", region="us-east-1", account_id="123456789012"), "ada",
                      http=Http())
    result = checker._health_check()
    assert not result.passed
    assert result.detail == f'status {status}: {{"message": "Internal server error"}}'
    assert fix in result.hint and result.hint.startswith("lab 04")
