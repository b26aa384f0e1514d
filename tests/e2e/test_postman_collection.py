"""The Postman exercises: the collection's shape, the environment script, and a newman run.

GIVEN the reference stack deployed on the local cloud, WHEN newman runs the collection with the
environment ``scripts/postman_env.py`` writes, THEN every ``pm.test`` assertion passes — twice in
a row, because each run makes its own productId. Lab 08's folder (``POST /product/stock``, and the
answers of the protected write methods) is skipped on that core stack, whose environment has no
API key; against a stack built through lab 08 the whole collection runs, every write sending the
key and the token.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from workshop.paths import REPO_ROOT

COLLECTION = REPO_ROOT / "postman" / "inventory.postman_collection.json"
SCHEMA_V2_1 = "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"
# The folder that needs lab 08's stack (the stock route, the API key and the token).
LAB08_FOLDER = "05 Stock changes and a protected API (lab 08)"
LAB08_OWNER = "e2e-postman-lab08"


def load_script(name: str) -> Any:
    """Import scripts/<name>.py as a module (scripts/ is not a package)."""
    spec = importlib.util.spec_from_file_location(name, REPO_ROOT / "scripts" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


postman_env = load_script("postman_env")


def requests_in(node: dict[str, Any]) -> list[dict[str, Any]]:
    """Every request item of a collection or folder, in run order."""
    found = []
    for item in node.get("item", []):
        found.extend(requests_in(item) if "item" in item else [item])
    return found


def script_text(item: dict[str, Any], listen: str) -> str:
    return "\n".join(
        "\n".join(event["script"]["exec"])
        for event in item.get("event", [])
        if event["listen"] == listen
    )


# -- the collection file ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def collection() -> dict[str, Any]:
    return json.loads(COLLECTION.read_text(encoding="utf-8"))


def test_collection_is_postman_v2_1_with_tests_on_every_request(collection):
    assert collection["info"]["schema"] == SCHEMA_V2_1
    items = requests_in(collection)
    assert len(items) >= 20
    for item in items:
        url = item["request"]["url"]["raw"]
        assert url.startswith("{{baseUrl}}/"), f"{item['name']}: {url} does not use {{{{baseUrl}}}}"
        assert "pm.test(" in script_text(item, "test"), f"{item['name']} has no pm.test"
    names = [item["name"] for item in items]
    assert len(names) == len(set(names)), "request names must be unique (setNextRequest uses them)"


def test_collection_asserts_every_status_the_exercises_teach(collection):
    # (method, path, status) for the flow and each error case the Postman lab walks through.
    asserted = set()
    for item in requests_in(collection):
        path = item["request"]["url"]["raw"].removeprefix("{{baseUrl}}").split("?")[0]
        for status in re.findall(r"to\.have\.status\((\d{3})\)", script_text(item, "test")):
            asserted.add((item["request"]["method"], path, int(status)))
    expected = {
        ("GET", "/health", 200),
        ("POST", "/product", 201),
        ("GET", "/product", 200),
        ("PATCH", "/product", 200),
        ("DELETE", "/product", 200),
        ("GET", "/product", 404),
        ("GET", "/products", 200),
        ("POST", "/product", 400),  # invalid JSON and missing productId
        ("POST", "/product", 409),
        ("PATCH", "/product", 404),
        ("PATCH", "/product", 400),  # updateKey=productId
        ("GET", "/products", 400),  # bad limit
        ("GET", "/no-such-path", 403),
        # lab 08: the stock route and API Gateway's refusals of a write without token or key
        ("POST", "/product/stock", 200),
        ("POST", "/product/stock", 400),
        ("POST", "/product/stock", 404),
        ("POST", "/product/stock", 409),
        ("POST", "/product/stock", 401),
        ("POST", "/product/stock", 403),
    }
    assert expected <= asserted, f"missing: {sorted(expected - asserted)}"


def test_product_id_is_fresh_per_run_and_not_hard_coded(collection):
    create = next(i for i in requests_in(collection) if i["name"] == "Create product")
    assert "{{productId}}" in create["request"]["body"]["raw"]
    prerequest = script_text(create, "prerequest")
    assert 'pm.collectionVariables.set("productId"' in prerequest
    assert "Date.now()" in prerequest and "Math.random()" in prerequest
    variables = {v["key"] for v in collection["variable"]}
    assert {"baseUrl", "productId"} <= variables


def test_lab08_folder_is_skipped_without_an_api_key_and_only_it(collection):
    folders = {item["name"]: item for item in collection["item"]}
    skip = script_text(folders[LAB08_FOLDER], "prerequest")
    assert 'pm.variables.get("apiKey")' in skip and "pm.execution.skipRequest()" in skip
    others = [item for name, item in folders.items() if name != LAB08_FOLDER]
    assert not any("skipRequest" in script_text(item, "prerequest") for item in others)
    assert "skipRequest" not in script_text(collection, "prerequest")


def test_paging_request_follows_next_token_until_the_last_page(collection):
    pages = next(i for i in requests_in(collection) if i["name"] == "Next page (follow nextToken)")
    query = {q["key"]: q["value"] for q in pages["request"]["url"]["query"]}
    assert query == {"limit": "1", "nextToken": "{{nextToken}}"}
    assert "pm.execution.setNextRequest(pm.info.requestName)" in script_text(pages, "test")


# -- scripts/postman_env.py -------------------------------------------------------------------


def test_build_environment_has_base_url_and_no_product_id():
    env = postman_env.build_environment(
        "http://127.0.0.1:4567/abc123/prod", target_name="local", owner="ada"
    )
    assert env["_postman_variable_scope"] == "environment"
    assert env["values"] == [
        {"key": "baseUrl", "value": "http://127.0.0.1:4567/abc123/prod", "type": "default",
         "enabled": True}
    ]
    # Same stack, same id: re-importing into Postman replaces instead of duplicating.
    again = postman_env.build_environment(
        "http://127.0.0.1:4567/abc123/prod", target_name="local", owner="ada"
    )
    assert env["id"] == again["id"]
    other = postman_env.build_environment(
        "http://127.0.0.1:4567/zzz999/prod", target_name="local", owner="ada"
    )
    assert other["id"] != env["id"]


def test_postman_env_writes_the_deployed_stack_url(deployed_stack, tmp_path, capsys):
    out = tmp_path / "nested" / "local.postman_environment.json"
    assert postman_env.main(["--out", str(out), "--owner", deployed_stack["owner"]]) == 0
    env = json.loads(out.read_text())
    assert env["values"][0]["key"] == "baseUrl"
    assert env["values"][0]["value"] == deployed_stack["api_url"]
    assert str(out) in capsys.readouterr().out


def test_postman_env_prints_to_stdout_with_dash(deployed_stack, capsys):
    assert postman_env.main(["--out", "-", "--owner", deployed_stack["owner"]]) == 0
    env = json.loads(capsys.readouterr().out)
    assert env["values"][0]["value"] == deployed_stack["api_url"]


def test_postman_env_runs_as_a_script(deployed_stack):
    result = subprocess.run(  # noqa: S603
        [sys.executable, str(REPO_ROOT / "scripts" / "postman_env.py"), "--out", "-"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "WORKSHOP_OWNER": deployed_stack["owner"]},
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["values"][0]["value"] == deployed_stack["api_url"]


def test_postman_env_without_an_api_says_how_to_deploy(local_cloud, tmp_path, capsys):
    out = tmp_path / "env.json"
    assert postman_env.main(["--out", str(out), "--owner", "nobody-deployed"]) == 1
    error = capsys.readouterr().err
    assert "inventory-nobody-deployed-api" in error
    assert "lab 04" in error and "python scripts/deploy.py" in error
    assert not out.exists()


def test_postman_env_with_an_undeployed_api_names_the_stage(local_cloud, tmp_path, capsys):
    import boto3

    apigateway = boto3.client("apigateway")
    api_id = apigateway.create_rest_api(name="inventory-not-deployed-api")["id"]
    try:
        assert postman_env.main(["--out", str(tmp_path / "e.json"), "--owner", "not-deployed"]) == 1
        error = capsys.readouterr().err
        assert api_id in error and "'prod'" in error and "deployment" in error
    finally:
        apigateway.delete_rest_api(restApiId=api_id)


def test_postman_env_picks_the_newest_of_two_apis_with_one_name():
    class FakePaginator:
        def paginate(self):
            yield {"items": [{"id": "old", "name": "x-api", "createdDate": 1}]}
            yield {"items": [{"id": "other", "name": "y-api", "createdDate": 9},
                             {"id": "new", "name": "x-api", "createdDate": 5}]}

    class FakeClient:
        def get_paginator(self, name):
            assert name == "get_rest_apis"
            return FakePaginator()

    assert postman_env.find_rest_api_id(FakeClient(), "x-api") == "new"


# -- newman against the local gateway ---------------------------------------------------------


def run_newman(newman: str, environment: Path | None, report: Path, *extra: str) -> dict[str, Any]:
    """Run the collection; fail with newman's own failure list unless every assertion passed."""
    env_args = ["-e", str(environment)] if environment else []
    result = subprocess.run(  # noqa: S603 - our own command line
        [newman, "run", str(COLLECTION), *env_args, "--reporters", "cli,json",
         "--reporter-json-export", str(report), "--color", "off", "--disable-unicode", *extra],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO_ROOT,
    )
    assert report.exists(), f"newman wrote no report:\n{result.stdout}\n{result.stderr}"
    summary = json.loads(report.read_text())
    failures = [
        f"{f['source'].get('name', '?')}: {f['error'].get('test') or ''} {f['error']['message']}"
        for f in summary["run"]["failures"]
    ]
    assert result.returncode == 0 and not failures, (
        "\n".join(failures) + "\n" + result.stdout[-4000:]
    )
    return summary["run"]["stats"]


def test_newman_runs_the_collection_twice_against_the_local_gateway(
    newman, deployed_stack, tmp_path
):
    environment = tmp_path / "local.postman_environment.json"
    assert postman_env.main(["--out", str(environment), "--owner", deployed_stack["owner"]]) == 0
    # Two iterations = running the collection again: a fresh productId each time, so no 409.
    stats = run_newman(newman, environment, tmp_path / "report.json", "--iteration-count", "2")
    assert stats["iterations"]["failed"] == 0
    assert stats["assertions"]["failed"] == 0
    # Every request but lab 08's ran in both iterations (paging may add pages), each with its
    # assertions; lab 08's were skipped (this stack has no API key), so none of them ran.
    collection = json.loads(COLLECTION.read_text())
    lab08 = next(item for item in collection["item"] if item["name"] == LAB08_FOLDER)
    core = len(requests_in(collection)) - len(requests_in(lab08))
    assert stats["requests"]["total"] >= 2 * core
    assert stats["requests"]["total"] < 2 * len(requests_in(collection))
    assert stats["assertions"]["total"] >= 3 * stats["requests"]["total"]


@pytest.fixture(scope="module")
def lab08_stack(local_cloud) -> Any:
    """A stack built through lab 08 (its own owner: the shared stack stays open)."""
    from workshop.deploy import deploy

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("WORKSHOP_OWNER", LAB08_OWNER)
        yield deploy(through=8, quiet=True)


def test_newman_runs_the_whole_collection_against_a_lab08_stack(newman, lab08_stack, tmp_path):
    environment = tmp_path / "lab08.postman_environment.json"
    assert postman_env.main(["--out", str(environment), "--owner", lab08_stack["owner"]]) == 0
    keys = {value["key"] for value in json.loads(environment.read_text())["values"]}
    assert {"apiKey", "token"} <= keys
    # Every write of folders 01-04 now needs the key and the token, which the collection sends;
    # folder 05 changes stock and shows API Gateway's 401 and 403 without them.
    stats = run_newman(newman, environment, tmp_path / "report.json")
    assert stats["requests"]["total"] >= len(requests_in(json.loads(COLLECTION.read_text())))
    assert stats["assertions"]["failed"] == 0


def test_newman_fails_the_lab08_folder_when_the_token_is_wrong(newman, lab08_stack, tmp_path):
    # The stock assertions can fail: with a token the authorizer rejects, every write is a 401.
    environment = tmp_path / "bad-token.postman_environment.json"
    assert postman_env.main(["--out", str(environment), "--owner", lab08_stack["owner"]]) == 0
    env = json.loads(environment.read_text())
    for value in env["values"]:
        if value["key"] == "token":
            value["value"] = "clerk.not-the-signature"
    environment.write_text(json.dumps(env))
    with pytest.raises(AssertionError, match="status is 200 OK"):
        run_newman(newman, environment, tmp_path / "report.json", "--folder", LAB08_FOLDER)


def test_newman_reports_failures_against_a_wrong_url(newman, local_cloud, tmp_path):
    # The assertions can fail: against an API id that does not exist, every request gets
    # API Gateway's 403 and the run fails.
    environment = tmp_path / "wrong.postman_environment.json"
    env = postman_env.build_environment(
        f"{local_cloud.gateway}/doesnotexist/prod", target_name="local", owner="tester"
    )
    environment.write_text(json.dumps(env))
    with pytest.raises(AssertionError, match="status is 200 OK"):
        run_newman(newman, environment, tmp_path / "report.json", "--folder", "01 Health")


def test_newman_without_an_environment_says_how_to_make_one(newman, tmp_path):
    advice = r"baseUrl is not set: run `python scripts/postman_env.py`"
    with pytest.raises(AssertionError, match=advice):
        run_newman(newman, None, tmp_path / "report.json", "--folder", "01 Health")
