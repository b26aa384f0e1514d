"""A classroom-sized burst on the gateway: 64 clients at once, no connection lost, every POST stored.

Bounded: 64 clients make two requests each on new connections (a few seconds on 2 cores).
`python scripts/bench.py --load` is the tool for throughput and memory over minutes.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator

import boto3
import pytest
import requests
from function_roles import allow_function_basics
from localcloud_support import REGION, TRUST_POLICY, make_zip, unique

pytestmark = pytest.mark.localcloud

CLIENTS = 64
STORE_SOURCE = r'''
import json, os, boto3

table = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])

def handler(event, context):
    if event["httpMethod"] == "POST":
        item = json.loads(event["body"])
        table.put_item(Item=item)
        return {"statusCode": 201, "body": json.dumps(item)}
    key = (event.get("queryStringParameters") or {}).get("id")
    item = table.get_item(Key={"id": key}).get("Item")
    return {"statusCode": 200 if item else 404, "body": json.dumps(item or {}, default=str)}
'''


@pytest.fixture(scope="module")
def store_api(local_cloud) -> Iterator[tuple[str, str]]:
    """(invoke base URL, table name) of a one-resource API over a storing function."""
    dynamodb, iam, lam, apigateway = (boto3.client(s, region_name=REGION)
                                      for s in ("dynamodb", "iam", "lambda", "apigateway"))
    table = unique("burst-table")
    dynamodb.create_table(TableName=table, BillingMode="PAY_PER_REQUEST",
                          KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                          AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}])
    role_name = unique("burst-role")
    role = iam.create_role(RoleName=role_name,
                           AssumeRolePolicyDocument=json.dumps(TRUST_POLICY))["Role"]["Arn"]
    allow_function_basics(iam, role_name)
    name = unique("burst")
    arn = lam.create_function(FunctionName=name, Runtime="python3.11", Role=role, Handler="app.handler",
                              Code={"ZipFile": make_zip({"app.py": STORE_SOURCE})}, Timeout=30,
                              Environment={"Variables": {"TABLE_NAME": table}})["FunctionArn"]
    lam.add_permission(FunctionName=name, StatementId="apigw", Action="lambda:InvokeFunction",
                       Principal="apigateway.amazonaws.com")
    api_id = apigateway.create_rest_api(name=unique("burst-api"))["id"]
    root = apigateway.get_resources(restApiId=api_id)["items"][0]["id"]
    resource = apigateway.create_resource(restApiId=api_id, parentId=root, pathPart="item")["id"]
    for method in ("GET", "POST"):
        apigateway.put_method(restApiId=api_id, resourceId=resource, httpMethod=method,
                              authorizationType="NONE")
        apigateway.put_integration(
            restApiId=api_id, resourceId=resource, httpMethod=method, type="AWS_PROXY",
            integrationHttpMethod="POST",
            uri=f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{arn}/invocations")
    apigateway.create_deployment(restApiId=api_id, stageName="prod")
    try:
        yield f"{local_cloud.gateway}/{api_id}/prod", table
    finally:
        apigateway.delete_rest_api(restApiId=api_id)
        lam.delete_function(FunctionName=name)
        dynamodb.delete_table(TableName=table)


def test_64_clients_at_once_lose_no_connection_and_every_post_is_stored(store_api):
    base_url, table = store_api
    requests.get(f"{base_url}/item", params={"id": "warm"}, timeout=60)  # the first cold start
    barrier = threading.Barrier(CLIENTS)
    outcomes: dict[int, list[object]] = {}

    def client(number: int) -> None:
        results: list[object] = []
        barrier.wait()
        for method, kwargs in (
            ("POST", {"json": {"id": f"burst-{number}", "n": number}}),
            ("GET", {"params": {"id": f"burst-{number}"}}),
        ):
            try:
                # A new connection for every request: the burst the listen backlog must absorb.
                with requests.Session() as http:
                    results.append(http.request(method, f"{base_url}/item", timeout=60, **kwargs).status_code)
            except requests.RequestException as error:
                results.append(type(error).__name__)
        outcomes[number] = results

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)

    assert len(outcomes) == CLIENTS
    failures = {n: r for n, r in outcomes.items() if r != [201, 200]}
    assert failures == {}
    stored = boto3.client("dynamodb", region_name=REGION).scan(TableName=table, Select="COUNT")["Count"]
    assert stored == CLIENTS


# -- the load tool (scripts/bench.py --load), briefly ---------------------------------------


def _bench():  # noqa: ANN202 - the scripts/bench.py module
    import importlib
    import sys

    from workshop.paths import REPO_ROOT

    sys.path.insert(0, str(REPO_ROOT / "scripts"))
    try:
        return importlib.import_module("bench")
    finally:
        sys.path.remove(str(REPO_ROOT / "scripts"))


def test_the_load_tool_runs_mixed_crud_without_errors_on_the_reference_stack(deployed_stack):
    bench = _bench()
    row = bench.load_level(deployed_stack["api_url"], clients=2, duration_s=1.0, timeout_s=30)
    assert row["requests"] >= 4  # at least one POST, GET, PATCH, DELETE round
    assert row["errors"] == {}
    assert row["p50"] <= row["p99"]
    assert row["hung_clients"] == 0


def test_the_load_tool_counts_connection_errors_by_kind():
    import socket

    bench = _bench()
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    row = bench.load_level(f"http://127.0.0.1:{port}/api/prod", clients=2, duration_s=0.3, timeout_s=2)
    assert row["requests"] > 0
    assert row["errors"] == {"connection error": row["requests"]}


def test_the_load_tool_names_each_kind_of_failure():
    bench = _bench()
    assert bench.error_kind(None, 201, 201) is None
    assert bench.error_kind(None, 502, 201) == "HTTP 502"
    assert bench.error_kind(requests.exceptions.ConnectionError(), None, 201) == "connection error"
    assert bench.error_kind(requests.exceptions.ReadTimeout(), None, 201) == "read timeout"
    assert bench.error_kind(requests.exceptions.ConnectTimeout(), None, 201) == "connect timeout"
