"""The whole workshop stack with plain boto3 and requests: no notebook, no workshop helpers.

Why this script exists: it is the proof that the local cloud is a faithful target. It starts a
local cloud in a temporary folder on free ports, then builds the reference stack exactly as you
would on AWS -- a DynamoDB table, an IAM role with a least-privilege policy, the Lambda function
from ``solutions/lambda``, a REST API with Lambda proxy integrations and CORS preflights, a
deployment to ``prod`` -- and calls the API with ``requests``, checking every row of the API
table and the API Gateway behaviours in ``design.md``. Finally it reads the function's logs
with boto3 and stops the local cloud, even when something failed.

None of the build or check code passes ``endpoint_url``: boto3 reads ``AWS_ENDPOINT_URL`` from
the environment, which :func:`main` sets to the local cloud. Without that variable (and with real
credentials) the same ``build_stack`` calls would build the stack in your AWS account; only the
invoke URL differs (``https://{api_id}.execute-api.{region}.amazonaws.com/prod`` there).

    python examples/plain_boto3_stack.py          # build, check, stop; exit 1 if a check fails
    python examples/plain_boto3_stack.py --keep   # leave the local cloud running, print the URL
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import os
import shutil
import sys
import tempfile
import time
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))  # so `workshop` imports without installing the repository

import boto3  # noqa: E402
import requests  # noqa: E402

from workshop.localcloud import lifecycle  # noqa: E402 - only to start and stop the local cloud

LAMBDA_DIR = REPO_ROOT / "solutions" / "lambda"
REGION = "us-east-1"
STAGE = "prod"
TIMEOUT_S = 30  # per HTTP request; a cold start takes about a second locally
ORIGIN = "http://localhost:8000"  # where a browser page calling the API would be served from

TRUST_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}
# The API: resource path -> the methods the Lambda proxy integration serves there.
ROUTES = {"/health": ["GET"], "/product": ["GET", "POST", "PATCH", "DELETE"], "/products": ["GET"]}
CORS_ALLOW_HEADERS = "Content-Type,X-Amz-Date,Authorization,X-Api-Key,X-Amz-Security-Token"


# ---------------------------------------------------------------------------
# Checks: one line per check, a summary, an exit code
# ---------------------------------------------------------------------------


@dataclass
class Checks:
    """Records each check as it runs and prints ``✔ what`` or ``✘ what: why``."""

    passed: int = 0
    failures: list[str] = field(default_factory=list)

    def expect(self, what: str, ok: bool, why: str = "") -> bool:
        if ok:
            self.passed += 1
            print(f"✔ {what}", flush=True)
        else:
            self.failures.append(what)
            print(f"✘ {what}" + (f": {why}" if why else ""), flush=True)
        return ok

    def summary(self) -> str:
        total = self.passed + len(self.failures)
        if not self.failures:
            return f"All {total} checks passed."
        return f"{len(self.failures)} of {total} checks FAILED: " + "; ".join(self.failures)

    @property
    def exit_code(self) -> int:
        return 1 if self.failures else 0


# ---------------------------------------------------------------------------
# Building the stack: plain boto3, as on AWS
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Stack:
    table: str
    role: str
    function: str
    function_arn: str
    api_id: str


def lambda_zip(directory: Path) -> bytes:
    """The deployment package: the two source files at the top level of the zip."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in ("lambda_function.py", "custom_encoder.py"):
            archive.write(directory / name, name)
    return buffer.getvalue()


def least_privilege_policy(table_arn: str, log_group_arn: str) -> dict[str, Any]:
    """Only the five table actions the function uses, on its table; logs on its log group.

    (The local cloud, like moto, does not enforce IAM: a mistake here shows only on AWS.)
    """
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": [f"dynamodb:{action}" for action in ("GetItem", "PutItem", "UpdateItem", "DeleteItem", "Scan")],
                "Resource": table_arn,
            },
            {
                "Effect": "Allow",
                "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": [log_group_arn, f"{log_group_arn}:*"],
            },
        ],
    }


def build_stack(prefix: str) -> Stack:
    """Table, role, function, REST API with CORS, deployment: the reference stack."""
    account = boto3.client("sts").get_caller_identity()["Account"]
    table, role, function, api = f"{prefix}-products", f"{prefix}-role", f"{prefix}-api", f"{prefix}-api"

    dynamodb = boto3.client("dynamodb")
    dynamodb.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "productId", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "productId", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.get_waiter("table_exists").wait(TableName=table)
    table_arn = dynamodb.describe_table(TableName=table)["Table"]["TableArn"]
    print(f"  table    {table}")

    iam = boto3.client("iam")
    role_arn = iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(TRUST_POLICY))["Role"]["Arn"]
    log_group_arn = f"arn:aws:logs:{REGION}:{account}:log-group:/aws/lambda/{function}"
    iam.put_role_policy(
        RoleName=role,
        PolicyName=f"{role}-policy",
        PolicyDocument=json.dumps(least_privilege_policy(table_arn, log_group_arn)),
    )
    print(f"  role     {role}")

    lambda_client = boto3.client("lambda")
    # On AWS (and in the local cloud's realism mode) a brand-new role takes about 10 s before
    # Lambda may assume it: retry create_function on "cannot be assumed", backing off.
    for attempt in range(1, 13):
        try:
            function_arn = lambda_client.create_function(
                FunctionName=function,
                Runtime="python3.12",
                Role=role_arn,
                Handler="lambda_function.lambda_handler",
                Code={"ZipFile": lambda_zip(LAMBDA_DIR)},
                Timeout=10,
                MemorySize=128,
                Environment={"Variables": {"TABLE_NAME": table}},
            )["FunctionArn"]
            break
        except lambda_client.exceptions.InvalidParameterValueException as error:
            if "cannot be assumed" not in str(error) or attempt == 12:
                raise
            time.sleep(min(8, 2 ** (attempt - 1)))
    lambda_client.get_waiter("function_active_v2").wait(FunctionName=function)
    print(f"  function {function}")

    apigateway = boto3.client("apigateway")
    api_id = apigateway.create_rest_api(name=api, endpointConfiguration={"types": ["REGIONAL"]})["id"]
    root_id = apigateway.get_resources(restApiId=api_id)["items"][0]["id"]
    integration_uri = f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{function_arn}/invocations"
    header = "method.response.header.Access-Control-Allow-{}".format
    for path, methods in ROUTES.items():
        resource_id = apigateway.create_resource(restApiId=api_id, parentId=root_id, pathPart=path.lstrip("/"))["id"]
        for method in methods:
            apigateway.put_method(restApiId=api_id, resourceId=resource_id, httpMethod=method, authorizationType="NONE")
            # AWS_PROXY: API Gateway passes the whole request to the function and its answer back.
            apigateway.put_integration(
                restApiId=api_id, resourceId=resource_id, httpMethod=method,
                type="AWS_PROXY", integrationHttpMethod="POST", uri=integration_uri,
            )
        # The CORS preflight is answered by API Gateway itself (a MOCK integration), the
        # function never sees it: what the console's "Enable CORS" button creates.
        apigateway.put_method(restApiId=api_id, resourceId=resource_id, httpMethod="OPTIONS", authorizationType="NONE")
        apigateway.put_integration(
            restApiId=api_id, resourceId=resource_id, httpMethod="OPTIONS",
            type="MOCK", requestTemplates={"application/json": '{"statusCode": 200}'},
        )
        apigateway.put_method_response(
            restApiId=api_id, resourceId=resource_id, httpMethod="OPTIONS", statusCode="200",
            responseParameters={header("Headers"): False, header("Methods"): False, header("Origin"): False},
        )
        apigateway.put_integration_response(
            restApiId=api_id, resourceId=resource_id, httpMethod="OPTIONS", statusCode="200",
            responseParameters={
                header("Headers"): f"'{CORS_ALLOW_HEADERS}'",
                header("Methods"): "'{}'".format(",".join([*methods, "OPTIONS"])),
                header("Origin"): "'*'",
            },
        )
    # Without this resource-based permission API Gateway may not invoke the function (500).
    lambda_client.add_permission(
        FunctionName=function,
        StatementId="apigateway-invoke",
        Action="lambda:InvokeFunction",
        Principal="apigateway.amazonaws.com",
        SourceArn=f"arn:aws:execute-api:{REGION}:{account}:{api_id}/*",
    )
    # Nothing answers before a deployment to a stage (403 Missing Authentication Token).
    apigateway.create_deployment(restApiId=api_id, stageName=STAGE)
    print(f"  api      {api_id}, deployed to {STAGE}")
    return Stack(table, role, function, function_arn, api_id)


# ---------------------------------------------------------------------------
# Calling the API: design.md's behaviour, row by row
# ---------------------------------------------------------------------------


class ApiCaller:
    """requests against the API, remembering each response so every one can be checked."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.session = requests.Session()
        self.lambda_responses: list[requests.Response] = []  # answered by the function
        self.all_responses: list[requests.Response] = []

    def call(self, method: str, path: str, *, by_lambda: bool = True, **kwargs: Any) -> requests.Response:
        response = self.session.request(method, self.base_url + path, timeout=TIMEOUT_S, **kwargs)
        self.all_responses.append(response)
        if by_lambda:
            self.lambda_responses.append(response)
        return response


def describe(response: requests.Response) -> str:
    return f"got {response.status_code} {response.text[:200]}"


def json_or_none(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def check_api(checks: Checks, api: ApiCaller) -> list[str]:
    """Every API row the stack can show over HTTP; returns the productIds left in the table."""
    expect = checks.expect

    def status(what: str, response: requests.Response, code: int) -> bool:
        return expect(f"{what} -> {code}", response.status_code == code, describe(response))

    def error(what: str, response: requests.Response, code: int) -> bool:
        body = json_or_none(response)
        return expect(
            f"{what} -> {code} with a message",
            response.status_code == code and isinstance(body, dict) and isinstance(body.get("message"), str)
            and "Traceback" not in response.text,
            describe(response),
        )

    run = uuid.uuid4().hex[:6]
    pid = f"p-{run}"

    # GET /health
    health = api.call("GET", "/health")
    expect("GET /health -> 200 JSON", health.status_code == 200 and isinstance(json_or_none(health), dict), describe(health))

    # POST /product: numbers keep their exact value (the body is written by hand to be sure
    # of the text sent: 19.99, not 19.990000000000002).
    created = api.call("POST", "/product", data=f'{{"productId": "{pid}", "price": 19.99, "quantity": 500}}',
                       headers={"Content-Type": "application/json"})
    expect(
        "POST /product -> 201 SAVE/SUCCESS with the item",
        created.status_code == 201
        and json_or_none(created) == {"Operation": "SAVE", "Message": "SUCCESS",
                                       "Item": {"productId": pid, "price": 19.99, "quantity": 500}},
        describe(created),
    )
    expect("numbers keep their exact value in the response (19.99, 500 not 500.0)",
           '"price": 19.99' in created.text and '"quantity": 500' in created.text and "500.0" not in created.text,
           created.text)
    duplicate = api.call("POST", "/product", json={"productId": pid, "price": 1})
    error("POST /product with an existing productId", duplicate, 409)
    kept = api.call("GET", "/product", params={"productId": pid})
    expect("a refused duplicate overwrites nothing", json_or_none(kept) == {"productId": pid, "price": 19.99, "quantity": 500},
           describe(kept))
    for what, body in [
        ("invalid JSON", "{not json"),
        ("an array body", '[{"productId": "x"}]'),
        ("no productId", '{"price": 1}'),
        ('an empty productId', '{"productId": ""}'),
        ("a number as productId", '{"productId": 7}'),
        ("no body", ""),
    ]:
        error(f"POST /product with {what}", api.call("POST", "/product", data=body), 400)

    # GET /product
    fetched = api.call("GET", "/product", params={"productId": pid})
    expect("GET /product?productId= -> 200 with the item",
           fetched.status_code == 200 and json_or_none(fetched) == {"productId": pid, "price": 19.99, "quantity": 500},
           describe(fetched))
    error("GET /product without productId", api.call("GET", "/product"), 400)
    error("GET /product with an unknown productId", api.call("GET", "/product", params={"productId": f"nope-{run}"}), 404)

    # PATCH /product
    patched = api.call("PATCH", "/product", json={"productId": pid, "updateKey": "price", "updateValue": 24.99})
    expect("PATCH /product -> 200 UPDATE/SUCCESS",
           patched.status_code == 200
           and json_or_none(patched) == {"Operation": "UPDATE", "Message": "SUCCESS", "UpdatedAttributes": {"price": 24.99}},
           describe(patched))
    # "name" is a DynamoDB reserved word: it works only through ExpressionAttributeNames.
    named = api.call("PATCH", "/product", json={"productId": pid, "updateKey": "name", "updateValue": "Widget"})
    expect('PATCH /product of the reserved word "name" -> 200',
           named.status_code == 200 and json_or_none(named).get("UpdatedAttributes") == {"name": "Widget"},
           describe(named))
    error("PATCH /product with updateKey productId",
          api.call("PATCH", "/product", json={"productId": pid, "updateKey": "productId", "updateValue": "x"}), 400)
    error("PATCH /product without updateValue", api.call("PATCH", "/product", json={"productId": pid, "updateKey": "price"}), 400)
    unknown_patch = api.call("PATCH", "/product", json={"productId": f"ghost-{run}", "updateKey": "price", "updateValue": 1})
    error("PATCH /product of an unknown product", unknown_patch, 404)
    ghost = api.call("GET", "/product", params={"productId": f"ghost-{run}"})
    expect("a PATCH of an unknown product creates nothing", ghost.status_code == 404, describe(ghost))
    after = api.call("GET", "/product", params={"productId": pid})
    expect("GET after PATCH shows both changes",
           json_or_none(after) == {"productId": pid, "price": 24.99, "quantity": 500, "name": "Widget"}, describe(after))

    # DELETE /product, body or query string
    doomed = [f"d1-{run}", f"d2-{run}"]
    for product_id in doomed:
        api.call("POST", "/product", json={"productId": product_id})
    by_body = api.call("DELETE", "/product", json={"productId": doomed[0]})
    expect("DELETE /product with a JSON body -> 200 DELETE/SUCCESS with the deleted item",
           by_body.status_code == 200
           and json_or_none(by_body) == {"Operation": "DELETE", "Message": "SUCCESS", "deletedItem": {"productId": doomed[0]}},
           describe(by_body))
    by_query = api.call("DELETE", "/product", params={"productId": doomed[1]})
    expect("DELETE /product?productId= -> 200",
           by_query.status_code == 200 and json_or_none(by_query).get("deletedItem") == {"productId": doomed[1]},
           describe(by_query))
    error("DELETE /product of a deleted product", api.call("DELETE", "/product", json={"productId": doomed[0]}), 404)
    error("DELETE /product without productId", api.call("DELETE", "/product"), 400)

    # GET /products: page through everything, two at a time
    stored = [pid] + [f"list-{run}-{n}" for n in range(4)]
    for product_id in stored[1:]:
        api.call("POST", "/product", json={"productId": product_id, "n": 1})
    seen: list[str] = []
    pages, token, page_ok = 0, None, True
    while pages < 10:
        page = api.call("GET", "/products", params={"limit": 2, **({"nextToken": token} if token else {})})
        body = json_or_none(page)
        if page.status_code != 200 or not isinstance(body, dict):
            page_ok = expect("GET /products?limit=2 page -> 200", False, describe(page))
            break
        pages += 1
        page_ok = page_ok and body["count"] == len(body["products"]) <= 2
        seen += [product["productId"] for product in body["products"]]
        token = body.get("nextToken")
        if not token:
            break
    expect("GET /products?limit=2 pages hold at most 2 products and a matching count", page_ok)
    expect(f"paging with nextToken returns all {len(stored)} products once each ({pages} pages)",
           sorted(seen) == sorted(stored), f"got {seen}")
    everything = api.call("GET", "/products")
    expect("GET /products without a limit -> 200 with every product and no nextToken",
           everything.status_code == 200 and json_or_none(everything).get("count") == len(stored)
           and "nextToken" not in json_or_none(everything), describe(everything))
    for limit in ("0", "1001", "abc", "-1"):
        error(f"GET /products?limit={limit}", api.call("GET", "/products", params={"limit": limit}), 400)
    bad_token = base64.urlsafe_b64encode(b'{"other": "key"}').decode().rstrip("=")
    for token in ("not-a-token!", bad_token):
        error(f"GET /products?nextToken={token}", api.call("GET", "/products", params={"nextToken": token}), 400)

    # API Gateway's own answers (the function is not called)
    for method, path in [("GET", "/nowhere"), ("PUT", "/product"), ("GET", "/")]:
        missing = api.call(method, path, by_lambda=False)
        expect(f"{method} {path} (no such method) -> 403 Missing Authentication Token with x-amzn-ErrorType",
               missing.status_code == 403
               and json_or_none(missing) == {"message": "Missing Authentication Token"}
               and missing.headers.get("Content-Type", "").startswith("application/json")
               and missing.headers.get("x-amzn-ErrorType") == "MissingAuthenticationTokenException",
               f"{describe(missing)} headers {dict(missing.headers)}")
    # API Gateway's payload limit is 10 MB: a bigger body never reaches the function.
    too_big = api.call("POST", "/product", by_lambda=False, data=b"x" * (10 * 1024 * 1024 + 1))
    expect("POST /product with a body over 10 MB -> 413 Request Too Long",
           too_big.status_code == 413 and json_or_none(too_big) == {"message": "Request Too Long"}, describe(too_big))
    for path, methods in ROUTES.items():
        preflight = api.call("OPTIONS", path, by_lambda=False, headers={
            "Origin": ORIGIN, "Access-Control-Request-Method": methods[-1],
            "Access-Control-Request-Headers": "content-type"})
        allowed = preflight.headers.get("Access-Control-Allow-Methods", "")
        expect(f"OPTIONS {path} preflight from {ORIGIN} -> 200 allowing {methods[-1]} from any origin",
               preflight.status_code == 200 and preflight.headers.get("Access-Control-Allow-Origin") == "*"
               and methods[-1] in allowed.split(",")
               and "content-type" in preflight.headers.get("Access-Control-Allow-Headers", "").lower(),
               f"got {preflight.status_code} headers {dict(preflight.headers)}")

    # Every answer of the function: a JSON body with the headers a browser needs
    bad = [r for r in api.lambda_responses
           if json_or_none(r) is None
           or not r.headers.get("Content-Type", "").startswith("application/json")
           or r.headers.get("Access-Control-Allow-Origin") != "*"]
    expect(f"all {len(api.lambda_responses)} function responses: JSON body, Content-Type application/json, "
           "Access-Control-Allow-Origin", not bad, "; ".join(f"{r.request.method} {r.url}: {dict(r.headers)}" for r in bad[:3]))
    no_id = [r for r in api.all_responses if not r.headers.get("x-amzn-RequestId")]
    expect(f"all {len(api.all_responses)} responses carry x-amzn-RequestId", not no_id,
           "; ".join(f"{r.request.method} {r.url}" for r in no_id[:3]))
    return stored


def check_function_directly(checks: Checks, stack: Stack) -> None:
    """The API rows API Gateway hides (it answers 403 for routes it does not have), shown by
    invoking the function with boto3 and a proxy event, as the Lambda console's Test button does."""
    lambda_client = boto3.client("lambda")

    def invoke(method: str, path: str) -> dict[str, Any]:
        event = {"httpMethod": method, "path": path, "headers": None, "queryStringParameters": None, "body": None}
        answer = lambda_client.invoke(FunctionName=stack.function, Payload=json.dumps(event).encode())
        return json.loads(answer["Payload"].read())

    root = invoke("GET", "/")
    checks.expect('invoke GET / -> 200 {"message": "API is working"}',
                  root.get("statusCode") == 200 and json.loads(root["body"]) == {"message": "API is working"}, str(root))
    other_path = invoke("GET", "/nowhere")
    checks.expect("invoke GET /nowhere -> 404 JSON", other_path.get("statusCode") == 404
                  and "message" in json.loads(other_path.get("body") or "{}"), str(other_path))
    other_method = invoke("PUT", "/product")
    checks.expect("invoke PUT /product -> 405 JSON with an Allow header", other_method.get("statusCode") == 405
                  and "PATCH" in other_method.get("headers", {}).get("Allow", ""), str(other_method))


def check_table(checks: Checks, stack: Stack, product_ids: list[str]) -> None:
    """What the function wrote, read back with boto3: DynamoDB stores the exact decimal."""
    dynamodb = boto3.client("dynamodb")
    item = dynamodb.get_item(TableName=stack.table, Key={"productId": {"S": product_ids[0]}}, ConsistentRead=True)["Item"]
    checks.expect("DynamoDB holds price as N 24.99, quantity as N 500 and the attribute name",
                  item.get("price") == {"N": "24.99"} and item.get("quantity") == {"N": "500"}
                  and item.get("name") == {"S": "Widget"}, str(item))
    count = dynamodb.scan(TableName=stack.table, Select="COUNT", ConsistentRead=True)["Count"]
    checks.expect(f"the table holds exactly the {len(product_ids)} products not deleted", count == len(product_ids), f"got {count}")


def check_logs(checks: Checks, stack: Stack, api: ApiCaller) -> None:
    """The function's log group, read with boto3 logs as you would on AWS."""
    logs = boto3.client("logs")
    group = f"/aws/lambda/{stack.function}"
    invocations = len(api.lambda_responses) + 3  # the HTTP calls plus the direct invokes
    messages: list[str] = []
    deadline = time.monotonic() + 10  # on AWS log events arrive a few seconds late
    while time.monotonic() < deadline:
        messages = [
            event["message"]
            for page in logs.get_paginator("filter_log_events").paginate(logGroupName=group)
            for event in page["events"]
        ]
        if sum(m.startswith("REPORT RequestId: ") for m in messages) >= invocations:
            break
        time.sleep(0.2)

    def count(prefix: str) -> int:
        return sum(message.startswith(prefix) for message in messages)

    reports = [m for m in messages if m.startswith("REPORT RequestId: ")]
    checks.expect(f"logs: {invocations} START, END and REPORT lines in {group}",
                  count("START RequestId: ") == count("END RequestId: ") == len(reports) == invocations,
                  f"START {count('START RequestId: ')}, END {count('END RequestId: ')}, REPORT {len(reports)}")
    checks.expect("logs: REPORT lines give Duration, Billed Duration, Memory Size, Max Memory Used",
                  bool(reports) and all(all(part in r for part in ("Duration:", "Billed Duration:", "Memory Size: 128 MB",
                                                                   "Max Memory Used:")) for r in reports),
                  reports[0] if reports else "no REPORT line")
    checks.expect("logs: the first REPORT (cold start) has Init Duration, a warm one does not",
                  len(reports) > 1 and "Init Duration" in reports[0] and "Init Duration" not in reports[-1],
                  f"{reports[:1]} ... {reports[-1:]}")
    # The function logs one JSON line per request; API Gateway's request id is in it, the same
    # id the caller got in x-amzn-RequestId, which ties a client's error to its log line.
    request_lines = []
    for message in messages:
        start = message.find('{"message": "request"')
        if start >= 0:
            request_lines.append(json.loads(message[start:]))
    checks.expect(f"logs: {invocations} structured request lines",
                  len(request_lines) == invocations, f"got {len(request_lines)}")
    logged = {(line.get("apiRequestId"), line.get("status")) for line in request_lines}
    unmatched = [r for r in api.lambda_responses if (r.headers.get("x-amzn-RequestId"), r.status_code) not in logged]
    checks.expect("logs: each HTTP answer's x-amzn-RequestId and status appear in a request line", not unmatched,
                  "; ".join(f"{r.request.method} {r.url} {r.status_code} {r.headers.get('x-amzn-RequestId')}"
                            for r in unmatched[:3]))


# ---------------------------------------------------------------------------
# Main: start, build, check, stop
# ---------------------------------------------------------------------------


def use_local_cloud(endpoint: str) -> None:
    """Point every boto3 client at the local cloud, with fake credentials: the only place this
    script differs from a run against AWS. A profile or config file on this machine is ignored."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        os.environ.pop(name, None)
    os.environ.update({
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    })


def run_step(checks: Checks, title: str, step: Callable[[], Any]) -> Any:
    """Run one stage; an exception becomes a failed check (and the next stages still run)."""
    print(f"\n== {title} ==", flush=True)
    try:
        return step()
    except Exception as error:  # noqa: BLE001 - reported as a failure, the run goes on
        checks.expect(title, False, f"{type(error).__name__}: {error}")
        return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", action="store_true", help="leave the local cloud running and print the API's URL")
    args = parser.parse_args(argv)

    checks = Checks()
    state_dir = tempfile.mkdtemp(prefix="plain-boto3-stack-")
    print(f"Starting a local cloud (state in {state_dir}) ...", flush=True)
    info = lifecycle.start(endpoint_port=0, gateway_port=0, state_dir=state_dir)  # free ports
    keep = False
    try:
        print(f"  endpoint {info.endpoint}, gateway {info.gateway}")
        use_local_cloud(info.endpoint)
        stack = run_step(checks, "Build the stack with plain boto3", lambda: build_stack(f"plain-{uuid.uuid4().hex[:6]}"))
        if stack is None:
            print("\n" + checks.summary())
            return 1
        # On AWS: f"https://{stack.api_id}.execute-api.{REGION}.amazonaws.com/{STAGE}"
        api = ApiCaller(info.invoke_url(stack.api_id, STAGE))
        print(f"  invoke URL {api.base_url}")
        product_ids = run_step(checks, "Call the API with requests", lambda: check_api(checks, api))
        run_step(checks, "Invoke the function directly with boto3", lambda: check_function_directly(checks, stack))
        if product_ids:
            run_step(checks, "Read the table with boto3", lambda: check_table(checks, stack, product_ids))
        run_step(checks, "Read the function's logs with boto3", lambda: check_logs(checks, stack, api))
        print()
        print(checks.summary())
        if args.keep:
            keep = True
            print(f"\nThe local cloud keeps running. Try: curl {api.base_url}/health")
            print(f"  export AWS_ENDPOINT_URL={info.endpoint}")
            print(f"  stop it with: WORKSHOP_STATE_DIR={state_dir} python scripts/local_cloud.py down")
        return checks.exit_code
    finally:
        if not keep:
            lifecycle.stop(state_dir)
            shutil.rmtree(state_dir, ignore_errors=True)
            print("Local cloud stopped.")


if __name__ == "__main__":
    sys.exit(main())
