"""workshop.deploy and scripts/deploy.py on a real local cloud: build, rebuild, catch up."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile

import boto3
import pytest
import requests

from workshop.deploy import DeployError, catch_up, deploy, missing_labs
from workshop.naming import resource_names, workshop_tags
from workshop.paths import REPO_ROOT

pytestmark = pytest.mark.localcloud

SCRIPT = REPO_ROOT / "scripts" / "deploy.py"
KEYS = {"api_url", "api_id", "table", "function", "role", "region", "owner"}


def apis_named(name: str) -> list[dict]:
    apigateway = boto3.client("apigateway")
    return [
        api
        for page in apigateway.get_paginator("get_rest_apis").paginate()
        for api in page["items"]
        if api["name"] == name
    ]


@pytest.fixture(scope="module")
def full_stack(local_cloud, owners_to_clean) -> dict:
    """One complete stack, deployed once for the module under its own owner."""
    saved = os.environ.get("WORKSHOP_OWNER")
    os.environ["WORKSHOP_OWNER"] = "deploy-full"
    owners_to_clean.append("deploy-full")
    try:
        yield deploy(quiet=True)
    finally:
        os.environ["WORKSHOP_OWNER"] = saved or "tester"


def test_deploy_builds_the_whole_stack_and_health_answers(full_stack):
    names = resource_names("deploy-full")
    assert full_stack == {
        "api_url": f"{full_stack['api_url'].rsplit('/', 2)[0]}/{full_stack['api_id']}/prod",
        "api_id": full_stack["api_id"],
        "table": names.table,
        "function": names.function,
        "role": names.role,
        "region": "us-east-1",
        "owner": "deploy-full",
    }
    health = requests.get(full_stack["api_url"] + "/health", timeout=30)
    assert (health.status_code, health.json()) == (200, {"status": "healthy"})


def test_everything_deployed_is_tagged_and_the_code_is_the_reference(full_stack):
    names = resource_names("deploy-full")
    wanted = workshop_tags("deploy-full")
    table_arn = boto3.client("dynamodb").describe_table(TableName=names.table)["Table"]["TableArn"]
    table_tags = boto3.client("dynamodb").list_tags_of_resource(ResourceArn=table_arn)["Tags"]
    assert {t["Key"]: t["Value"] for t in table_tags} == wanted
    function = boto3.client("lambda").get_function(FunctionName=names.function)
    assert function["Tags"] == wanted
    assert function["Configuration"]["Environment"]["Variables"] == {"TABLE_NAME": names.table}
    role_tags = boto3.client("iam").list_role_tags(RoleName=names.role)["Tags"]
    assert {t["Key"]: t["Value"] for t in role_tags} == wanted
    [api] = apis_named(names.api)
    assert api["tags"] == wanted


def test_deploying_again_changes_nothing(full_stack, as_owner):
    as_owner("deploy-full")
    names = resource_names()
    lambda_client = boto3.client("lambda")
    before = lambda_client.get_function_configuration(FunctionName=names.function)
    again = deploy(quiet=True)
    after = lambda_client.get_function_configuration(FunctionName=names.function)
    assert again == full_stack
    assert len(apis_named(names.api)) == 1
    assert after["CodeSha256"] == before["CodeSha256"]
    assert after["LastModified"] == before["LastModified"]  # the function was not updated
    assert missing_labs(7) == []


def test_deploy_through_lab_01_builds_only_the_table(as_owner):
    owner = as_owner("deploy-table")
    result = deploy(through=1, quiet=True)
    assert result["api_url"] is None and result["api_id"] is None
    assert result["table"] == resource_names(owner).table
    boto3.client("dynamodb").describe_table(TableName=result["table"])
    with pytest.raises(boto3.client("lambda").exceptions.ResourceNotFoundException):
        boto3.client("lambda").get_function(FunctionName=result["function"])
    assert missing_labs(2) == []
    assert missing_labs(6) == [3, 4]


def test_catch_up_builds_what_is_missing_and_says_so(as_owner, capsys):
    as_owner("deploy-catchup")
    catch_up(through=3)
    first = capsys.readouterr().out
    assert first.startswith("Catch-up: building what is missing from the solutions: "
                            "lab 01 (the table); lab 03 (the role and the function) ...")
    assert first.rstrip().endswith("Catch-up: done; everything labs 01-03 build works.")
    catch_up(through=3)
    assert capsys.readouterr().out == "Catch-up: everything labs 01-03 build is in place; nothing to do.\n"
    catch_up(through=0)
    assert "nothing to do" in capsys.readouterr().out


def test_catch_up_keeps_an_existing_function_as_it_is(as_owner):
    # A learner's own function (here: different code) must survive a catch-up of lab 04.
    owner = as_owner("deploy-mine")
    deploy(through=3, quiet=True)
    names = resource_names(owner)
    lambda_client = boto3.client("lambda")
    lambda_client.update_function_configuration(FunctionName=names.function, Description="mine")
    lambda_client.get_waiter("function_updated_v2").wait(FunctionName=names.function)
    catch_up(through=4)
    assert lambda_client.get_function_configuration(FunctionName=names.function)["Description"] == "mine"
    assert missing_labs(4) == []


def test_catch_up_repairs_what_exists_but_does_not_work(as_owner, capsys):
    # GIVEN a whole stack whose permission is gone, whose TABLE_NAME has a typo, and whose
    # code answers GET /health with a dict body (lab 06's scenarios left half done)
    owner = as_owner("deploy-repair")
    deploy(quiet=True)
    names = resource_names(owner)
    lambda_client = boto3.client("lambda")
    lambda_client.remove_permission(FunctionName=names.function, StatementId="apigateway-invoke")
    lambda_client.update_function_configuration(
        FunctionName=names.function, Environment={"Variables": {"TABLE_NAME": "typo"}})
    lambda_client.get_waiter("function_updated_v2").wait(FunctionName=names.function)
    capsys.readouterr()
    # WHEN a notebook catches up
    catch_up(through=5)
    out = capsys.readouterr().out
    # THEN it names each problem, repairs them, and proves it with /health
    assert "nothing to do" not in out
    assert "GET /health through the gateway answers 500" in out and "add_permission" in out
    assert "TABLE_NAME is 'typo'" in out
    assert out.rstrip().endswith("Catch-up: repaired; everything labs 01-05 build works.")
    config = lambda_client.get_function_configuration(FunctionName=names.function)
    assert config["Environment"]["Variables"]["TABLE_NAME"] == names.table
    # AND a function whose own code is broken is named, never replaced
    broken = io.BytesIO()
    with zipfile.ZipFile(broken, "w") as archive:
        archive.writestr("lambda_function.py",
                         "def lambda_handler(event, context):\n    return {'statusCode': 200, 'body': {}}\n")
    lambda_client.update_function_code(FunctionName=names.function, ZipFile=broken.getvalue())
    lambda_client.get_waiter("function_updated_v2").wait(FunctionName=names.function)
    catch_up(through=4)
    out = capsys.readouterr().out
    assert "answers 502" in out and "Catch-up: still broken: GET /health" in out
    assert "lab 02 files with lab 03's update cell" in out


@pytest.mark.parametrize("through", [-1, 9, "3", True, 2.5])
def test_a_lab_number_out_of_range_is_refused(through):
    with pytest.raises(ValueError, match="lab number from 0 to 8"):
        deploy(through=through)


def test_a_failing_build_cell_names_the_lab_and_cell(monkeypatch):
    monkeypatch.setenv("WORKSHOP_OWNER", "!!!")
    with pytest.raises(DeployError, match=r"lab 01 failed in solutions/notebooks/01-dynamodb-table.ipynb "
                                          r"cell 0: InvalidOwnerError"):
        deploy(through=1, quiet=True)


@pytest.mark.parametrize("lab, create_call, nothing, missing", [
    (1, "dynamodb.create_table(", "dict(", "the table"),
    (3, "iam.create_role(", "dict(Role=None, ", "the role and the function"),  # ...)["Role"]
])
def test_a_build_cell_that_creates_nothing_fails_loudly(as_owner, monkeypatch, lab, create_call, nothing,
                                                       missing):
    # In a notebook such a cell only prints NOT CREATED, so Run All reaches the check cell; a
    # deploy must stop there instead of building on what is not there.
    import dataclasses

    from workshop import deploy as deploy_module

    real = deploy_module.build_cells

    def creating_nothing(through):
        cells = real(through)
        assert sum(create_call in cell.source for cell in cells) == 1, create_call
        return [dataclasses.replace(cell, source=cell.source.replace(create_call, nothing))
                if cell.lab == lab else cell for cell in cells]

    monkeypatch.setattr(deploy_module, "build_cells", creating_nothing)
    as_owner(f"deploy-nothing-{lab}")
    with pytest.raises(DeployError, match=rf"lab {lab:02d} ran its build cells .* left something "
                                          rf"missing of {missing}") as raised:
        deploy(through=lab, quiet=True)
    assert "NOT CREATED: there is no" in str(raised.value)


def run_deploy_script(*args: str, owner: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "WORKSHOP_OWNER": owner}
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True,
                          env=env, cwd=REPO_ROOT, stdin=subprocess.DEVNULL, timeout=240)


def test_script_json_prints_one_object_with_the_stack(full_stack):
    done = run_deploy_script("--json", owner="deploy-full")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == full_stack  # nothing but the JSON on stdout


def test_script_through_and_human_output(as_owner):
    owner = as_owner("deploy-script")
    done = run_deploy_script("--through", "1", owner=owner)
    assert done.returncode == 0, done.stderr
    assert f"Table {resource_names(owner).table}" in done.stdout
    assert f"Done: {owner}'s stack in us-east-1" in done.stdout
    assert "api_url" not in done.stdout


def test_script_refuses_a_bad_lab_number():
    done = run_deploy_script("--through", "12", owner="deploy-script")
    assert done.returncode == 2
    assert "invalid choice: 12" in done.stderr
