"""Check a learner's progress lab by lab: what exists, how it is configured, and how it behaves.

Every check is one line with a pass or fail mark and, on failure, a hint naming the lab where it
is fixed. The checks look up resources by the learner's names (what the labs tell them to
create) and report missing workshop tags separately, because cleanup trusts only the tags.

Lab 07 is inverted: it passes when nothing of the learner's is left, tagged or not.
"""

from __future__ import annotations

import argparse
import ast
import fnmatch
import json
import os
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from botocore.exceptions import BotoCoreError, ClientError

from workshop.cleanup import (
    KIND_LABELS,
    UNICODE_MARKS,
    Clients,
    discover,
    is_gone,
    marks_for,
    owner_from_tags,
    tolerant_stdout,
)
from workshop.naming import (
    InvalidOwnerError,
    current_owner,
    normalize_owner,
    resource_names,
    workshop_tags,
)
from workshop.paths import LABS_DIR, REPO_ROOT

LABS = {
    "00": "00-setup",
    "01": "01-dynamodb-table",
    "02": "02-lambda-function",
    "03": "03-deploy-lambda",
    "04": "04-api-gateway",
    "05": "05-use-the-api",
    "06": "06-troubleshooting",
    "07": "07-cleanup",
}
TITLES = {
    "00": "setup: the target answers",
    "01": "the DynamoDB table",
    "02": "the two-file Lambda (your local files)",
    "03": "the deployed Lambda and its role",
    "04": "API Gateway with CORS",
    "05": "using the API",
    "06": "troubleshooting: errors answered, logs written",
    "07": "cleanup: nothing left",
}
DEFAULT_LAB = "06"  # with no LAB argument: the whole stack as it stands after lab 06
CLASS_LABS = ("01", "03", "04", "05", "06")  # labs that live in the account (lab 02 is local)
LAMBDA_FILES = ("lambda_function.py", "custom_encoder.py")
EXPECTED_HANDLER = "lambda_function.lambda_handler"
# The actions the reference Lambda calls on its table: GET/POST/PATCH/DELETE /product and the
# Scan behind GET /products.
REQUIRED_TABLE_ACTIONS = ("GetItem", "PutItem", "UpdateItem", "DeleteItem", "Scan")
BASIC_EXECUTION_POLICY = "service-role/AWSLambdaBasicExecutionRole"
LOG_ACTIONS = ("logs:CreateLogStream", "logs:PutLogEvents")
# The resources and methods lab 04 builds; each answers through the Lambda proxy integration.
API_ROUTES = {
    "/health": ("GET",),
    "/product": ("GET", "POST", "PATCH", "DELETE"),
    "/products": ("GET",),
}
PREFLIGHT_ORIGIN = "http://localhost:8000"
HTTP_TIMEOUT_SECONDS = 30
CORS_ORIGIN_PARAM = "method.response.header.Access-Control-Allow-Origin"


@dataclass(frozen=True)
class CheckResult:
    """One line of the report."""

    lab: str
    title: str
    passed: bool
    detail: str = ""
    hint: str = ""


def parse_lab(text: str) -> str:
    """'4', '04', 'lab04', '04-api-gateway' -> '04'."""
    raw = text.strip().lower().removeprefix("lab").strip("-_ ")
    digits = raw.split("-", 1)[0]
    if not digits.isdigit() or f"{int(digits):02d}" not in LABS:
        raise ValueError(f"{text!r} is not a lab: use a number from 00 to 07 (for example 04).")
    return f"{int(digits):02d}"


def labs_through(lab: str) -> list[str]:
    """The labs whose results must hold once ``lab`` is done (07 stands alone: all is gone)."""
    if lab == "07":
        return ["07"]
    return [key for key in LABS if key <= lab]


def _hint(lab: str, text: str) -> str:
    return f"lab {lab} ({LABS[lab]}): {text}"


def _catch_up(lab: str) -> str:
    return f" Or catch up with `python scripts/deploy.py --through {lab}`."


class Checker:
    """Runs the checks for one owner on one target.

    ``http`` is a requests.Session (the local target ignores proxy settings from the
    environment: the local gateway is on 127.0.0.1). ``lambda_dir`` is where the learner's lab 02
    files are; ``None`` leaves lab 02 out (used for other learners, whose files are elsewhere).
    """

    def __init__(self, target: Any, owner: str, *, clients: Clients | None = None,
                 http: Any = None, lambda_dir: Path | None = LABS_DIR / LABS["02"]) -> None:
        import requests

        self.target = target
        self.names = resource_names(owner)
        self.owner = self.names.owner
        self.clients = clients or Clients(region=target.region)
        if http is None:
            http = requests.Session()
            http.trust_env = not target.is_local
        self.http = http
        self.lambda_dir = lambda_dir
        self._cache: dict[str, Any] = {}

    # --- running -------------------------------------------------------------------------------

    def run(self, labs: list[str]) -> list[CheckResult]:
        results: list[CheckResult] = []
        for lab in labs:
            results += list(self.run_lab(lab))
        return results

    def run_lab(self, lab: str) -> Iterator[CheckResult]:
        method: Callable[[], Iterator[CheckResult]] = getattr(self, f"lab_{lab}")
        try:
            yield from method()
        except (ClientError, BotoCoreError) as error:
            yield CheckResult(lab, "the lab's resources could be read", False, str(error),
                              "check your credentials, region and permissions, then run again")

    def _cached(self, key: str, load: Callable[[], Any]) -> Any:
        if key not in self._cache:
            self._cache[key] = load()
        return self._cache[key]

    # --- lookups (None when missing) ----------------------------------------------------------

    def table(self) -> dict | None:
        def load() -> dict | None:
            try:
                return self.clients("dynamodb").describe_table(TableName=self.names.table)["Table"]
            except ClientError as error:
                if is_gone(error):
                    return None
                raise
        return self._cached("table", load)

    def table_arn(self) -> str:
        table = self.table()
        if table:
            return table["TableArn"]
        return (f"arn:aws:dynamodb:{self.clients.region}:{self.clients.account_id}:"
                f"table/{self.names.table}")

    def function(self) -> dict | None:
        def load() -> dict | None:
            try:
                return self.clients("lambda").get_function_configuration(
                    FunctionName=self.names.function)
            except ClientError as error:
                if is_gone(error):
                    return None
                raise
        return self._cached("function", load)

    def role(self) -> dict | None:
        def load() -> dict | None:
            try:
                return self.clients("iam").get_role(RoleName=self.names.role)["Role"]
            except ClientError as error:
                if is_gone(error):
                    return None
                raise
        return self._cached("role", load)

    def apis(self) -> list[dict]:
        """Every REST API with the learner's API name, the one to check first."""
        def load() -> list[dict]:
            found = []
            paginator = self.clients("apigateway").get_paginator("get_rest_apis")
            for page in paginator.paginate():
                found += [api for api in page.get("items", []) if api.get("name") == self.names.api]
            if len(found) < 2:
                return found
            # Several with the learner's name (a notebook cell run twice): look at the one that
            # is the learner's, deployed, and newest, in that order of importance.
            return sorted(found, key=lambda api: (owner_from_tags(api.get("tags")) == self.owner,
                                                  self._has_stage(api["id"]),
                                                  str(api.get("createdDate", ""))), reverse=True)
        return self._cached("apis", load)

    def _has_stage(self, api_id: str) -> bool:
        try:
            self.clients("apigateway").get_stage(restApiId=api_id, stageName=self.names.stage)
            return True
        except ClientError as error:
            if is_gone(error):
                return False
            raise

    def api(self) -> dict | None:
        apis = self.apis()
        return apis[0] if apis else None

    def api_resources(self) -> dict[str, dict]:
        def load() -> dict[str, dict]:
            api = self.api()
            if api is None:
                return {}
            paginator = self.clients("apigateway").get_paginator("get_resources")
            resources: dict[str, dict] = {}
            for page in paginator.paginate(restApiId=api["id"]):
                resources.update({item["path"]: item for item in page.get("items", [])})
            return resources
        return self._cached("api_resources", load)

    def method(self, path: str, http_method: str) -> dict | None:
        resource = self.api_resources().get(path)
        api = self.api()
        if resource is None or api is None:
            return None
        try:
            return self.clients("apigateway").get_method(
                restApiId=api["id"], resourceId=resource["id"], httpMethod=http_method)
        except ClientError as error:
            if is_gone(error):
                return None
            raise

    def invoke_url(self) -> str | None:
        api = self.api()
        return self.target.invoke_url(api["id"], self.names.stage) if api else None

    def stage(self) -> dict | None:
        def load() -> dict | None:
            api = self.api()
            if api is None:
                return None
            try:
                return self.clients("apigateway").get_stage(restApiId=api["id"],
                                                            stageName=self.names.stage)
            except ClientError as error:
                if is_gone(error):
                    return None
                raise
        return self._cached("stage", load)

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        """An HTTP request to the deployed stage; returns the response or the exception."""
        url = self.invoke_url()
        if url is None:
            return None
        try:
            return self.http.request(method, url + path, timeout=HTTP_TIMEOUT_SECONDS, **kwargs)
        except Exception as error:  # requests' ConnectionError, Timeout, ...
            return error

    # --- lab 00 ------------------------------------------------------------------------------

    def lab_00(self) -> Iterator[CheckResult]:
        try:
            account = self.clients.account_id
        except (ClientError, BotoCoreError) as error:
            yield CheckResult("00", "the target answers with your credentials", False, str(error),
                              _hint("00", "configure credentials and a region (aws configure)"))
            return
        yield CheckResult("00", f"the target answers (account {account}, "
                          f"region {self.clients.region}, owner {self.owner})", True)

    # --- lab 01 ------------------------------------------------------------------------------

    def lab_01(self) -> Iterator[CheckResult]:
        name = self.names.table
        table = self.table()
        if table is None:
            yield CheckResult("01", f"table {name} exists", False, "not found",
                              _hint("01", "create the table with create_table." + _catch_up("01")))
            return
        status = table.get("TableStatus")
        yield CheckResult("01", f"table {name} exists and is ACTIVE", status == "ACTIVE",
                          f"status {status}",
                          _hint("01", "wait for the table (the table_exists waiter)"))
        keys = [(k["AttributeName"], k["KeyType"]) for k in table.get("KeySchema", [])]
        types = {a["AttributeName"]: a["AttributeType"]
                 for a in table.get("AttributeDefinitions", [])}
        ok = keys == [("productId", "HASH")] and types.get("productId") == "S"
        yield CheckResult(
            "01", "key schema is productId (partition key, type S)", ok,
            f"found {keys} with types {types}",
            _hint("01", "a key schema cannot be changed: delete the table and create it with "
                  "KeySchema [productId HASH] and AttributeDefinitions [productId S]"))
        yield self._tag_check("01", "table", self._table_tags(table["TableArn"]))

    def _table_tags(self, arn: str) -> dict[str, str]:
        tags = self.clients("dynamodb").list_tags_of_resource(ResourceArn=arn).get("Tags", [])
        return {t["Key"]: t["Value"] for t in tags}

    def _tag_check(self, lab: str, what: str, tags: dict[str, str] | None) -> CheckResult:
        ok = owner_from_tags(tags) == self.owner
        expected = workshop_tags(self.owner)
        return CheckResult(
            lab, f"{what} is tagged as the workshop's and {self.owner}'s", ok,
            f"tags {dict(sorted((tags or {}).items()))}",
            _hint(lab, f"add the tags {expected} so cleanup.py can find it "
                  "(it never deletes untagged resources)"))

    # --- lab 02 ------------------------------------------------------------------------------

    def lab_02(self) -> Iterator[CheckResult]:
        if self.lambda_dir is None:
            return
        folder = Path(self.lambda_dir)
        shown = _relative(folder)
        missing = [name for name in LAMBDA_FILES if not (folder / name).is_file()]
        yield CheckResult("02", f"{' and '.join(LAMBDA_FILES)} are in {shown}", not missing,
                          f"missing {missing}", _hint("02", "write both files from the starters"))
        if missing:
            return
        broken = []
        for name in LAMBDA_FILES:
            try:
                ast.parse((folder / name).read_text(encoding="utf-8"), filename=name)
            except SyntaxError as error:
                broken.append(f"{name} line {error.lineno}: {error.msg}")
        yield CheckResult("02", "both files are valid Python", not broken, "; ".join(broken),
                          _hint("02", "fix the syntax error"))
        if broken:
            return
        outcome = _run_local_handler(folder, self.names.table)
        for title, ok, detail in outcome:
            where = ("CustomEncoder.default in custom_encoder.py" if "CustomEncoder" in title
                     else "lambda_function.py")
            yield CheckResult("02", title, ok, detail,
                              _hint("02", f"run the notebook's test events and fix {where}"))

    # --- lab 03 ------------------------------------------------------------------------------

    def lab_03(self) -> Iterator[CheckResult]:
        yield from self._role_checks()
        yield from self._function_checks()

    def _role_checks(self) -> Iterator[CheckResult]:
        iam = self.clients("iam")
        name = self.names.role
        role = self.role()
        if role is None:
            yield CheckResult("03", f"role {name} exists", False, "not found",
                              _hint("03", "create the execution role." + _catch_up("03")))
            return
        yield CheckResult("03", f"role {name} exists", True)
        trust = _policy_document(role.get("AssumeRolePolicyDocument"))
        ok = _trusts_lambda(trust)
        yield CheckResult("03", "role trusts lambda.amazonaws.com (sts:AssumeRole)", ok,
                          json.dumps(trust), _hint("03", "set the trust policy so Lambda can assume "
                                                   "the role"))
        documents = self._role_documents(iam, name)
        problems = table_policy_problems(documents, self.table_arn())
        yield CheckResult(
            "03", "role grants the table's actions on this table only", not problems,
            "; ".join(problems),
            _hint("03", f"in the inline policy {self.names.role_policy}, allow "
                  f"{', '.join('dynamodb:' + a for a in REQUIRED_TABLE_ACTIONS)} with Resource "
                  "set to the table's ARN (least privilege: no '*', no dynamodb:*)"))
        attached = [p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName=name).get(
            "AttachedPolicies", [])]
        ok = any(arn.endswith(BASIC_EXECUTION_POLICY) for arn in attached) or _allows_logs(documents)
        yield CheckResult("03", "role lets the function write CloudWatch Logs", ok,
                          f"attached {attached}",
                          _hint("03", "attach AWSLambdaBasicExecutionRole (or allow "
                                "logs:CreateLogStream and logs:PutLogEvents)"))
        tags = {t["Key"]: t["Value"] for t in iam.list_role_tags(RoleName=name).get("Tags", [])}
        yield self._tag_check("03", "role", tags)

    def _role_documents(self, iam: Any, role: str) -> list[dict]:
        """The inline policies and the customer managed policies attached to the role."""
        documents = []
        for page in iam.get_paginator("list_role_policies").paginate(RoleName=role):
            for policy in page.get("PolicyNames", []):
                document = iam.get_role_policy(RoleName=role, PolicyName=policy)["PolicyDocument"]
                documents.append(_policy_document(document))
        for policy in iam.list_attached_role_policies(RoleName=role).get("AttachedPolicies", []):
            arn = policy["PolicyArn"]
            if ":aws:policy/" in arn:
                continue  # AWS managed policies are read-only; their DynamoDB scope is not ours
            version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
            document = iam.get_policy_version(PolicyArn=arn, VersionId=version)
            documents.append(_policy_document(document["PolicyVersion"]["Document"]))
        return documents

    def _function_checks(self) -> Iterator[CheckResult]:
        name = self.names.function
        config = self.function()
        if config is None:
            yield CheckResult("03", f"function {name} exists", False, "not found",
                              _hint("03", "create the function with create_function."
                                    + _catch_up("03")))
            return
        state = config.get("State", "Active")
        yield CheckResult("03", f"function {name} exists and is Active", state == "Active",
                          f"state {state}: {config.get('StateReason', '')}",
                          _hint("03", "wait for the function (the function_active_v2 waiter)"))
        runtime = config.get("Runtime", "")
        yield CheckResult("03", f"runtime is Python 3 ({runtime})", runtime.startswith("python3."),
                          f"runtime {runtime!r}", _hint("03", "use a python3.x runtime"))
        handler = config.get("Handler")
        yield CheckResult("03", f"handler is {EXPECTED_HANDLER}", handler == EXPECTED_HANDLER,
                          f"handler {handler!r}",
                          _hint("03", "Handler is <file without .py>.<function name>"))
        env = config.get("Environment", {}).get("Variables", {})
        yield CheckResult("03", f"environment TABLE_NAME is {self.names.table}",
                          env.get("TABLE_NAME") == self.names.table,
                          f"TABLE_NAME={env.get('TABLE_NAME')!r}",
                          _hint("03", "set Environment={'Variables': {'TABLE_NAME': ...}} "
                                "(update_function_configuration)"))
        role_arn = config.get("Role", "")
        yield CheckResult("03", f"function runs as role {self.names.role}",
                          role_arn.endswith(f":role/{self.names.role}") or
                          role_arn.endswith(f"/{self.names.role}"),
                          f"role {role_arn}", _hint("03", "pass the role's ARN as Role"))
        tags = self.clients("lambda").list_tags(Resource=config["FunctionArn"]).get("Tags", {})
        yield self._tag_check("03", "function", tags)
        yield self._invoke_check()

    def _invoke_check(self) -> CheckResult:
        title = "invoking the function with a GET /health event answers 200"
        hint = _hint("03", "read the error and the function's log (/aws/lambda/"
                     f"{self.names.function}), fix the code, update_function_code")
        try:
            answer = self.clients("lambda").invoke(
                FunctionName=self.names.function, Payload=json.dumps(proxy_event("GET", "/health")))
            payload = answer["Payload"].read().decode("utf-8", "replace")
        except ClientError as error:
            return CheckResult("03", title, False, str(error), hint)
        if answer.get("FunctionError"):
            return CheckResult("03", title, False, f"{answer['FunctionError']}: {payload[:300]}",
                               hint)
        try:
            response = json.loads(payload)
        except ValueError:
            return CheckResult("03", title, False, f"not JSON: {payload[:200]}", hint)
        ok = (isinstance(response, dict) and response.get("statusCode") == 200
              and isinstance(response.get("body"), str))
        return CheckResult("03", title, ok, f"returned {payload[:200]}", hint)

    # --- lab 04 ------------------------------------------------------------------------------

    def lab_04(self) -> Iterator[CheckResult]:
        name = self.names.api
        apis = self.apis()
        if not apis:
            yield CheckResult("04", f"REST API {name} exists", False, "not found",
                              _hint("04", "create_rest_api." + _catch_up("04")))
            return
        # Re-running create_rest_api makes a second API with the same name; only the copies
        # tagged as this learner's count (an untagged look-alike is somebody's hand-made API).
        mine = [a for a in apis if owner_from_tags(a.get("tags")) == self.owner]
        yield CheckResult(
            "04", f"one REST API named {name} is yours", len(mine) <= 1,
            f"{len(mine)} found: {', '.join(a['id'] for a in mine)}",
            _hint("04", "delete the extra copies (re-running create_rest_api makes a new API "
                  "each time; `python scripts/cleanup.py` removes tagged ones)"))
        api = apis[0]
        yield self._tag_check("04", "REST API", api.get("tags", {}))
        yield from self._route_checks(api)
        yield self._permission_check(api)
        stage = self.stage()
        yield CheckResult("04", f"stage {self.names.stage} is deployed",
                          bool(stage and stage.get("deploymentId")), "no such stage",
                          _hint("04", f"create_deployment(stageName='{self.names.stage}') after "
                                "adding every method (redeploy after each change)"))
        yield self._health_check()
        yield self._preflight_check()

    def _route_checks(self, api: dict) -> Iterator[CheckResult]:
        resources = self.api_resources()
        missing = [path for path in API_ROUTES if path not in resources]
        yield CheckResult("04", f"resources {', '.join(API_ROUTES)} exist", not missing,
                          f"missing {missing}", _hint("04", "create_resource under the root (/)"))
        function = self.function()
        function_arn = function["FunctionArn"] if function else f":function:{self.names.function}"
        for path, methods in API_ROUTES.items():
            if path in missing:
                continue
            problems = []
            for http_method in methods:
                method = self.method(path, http_method)
                if method is None:
                    problems.append(f"{http_method} missing")
                    continue
                problems += [f"{http_method} {p}" for p in
                             integration_problems(method.get("methodIntegration"), function_arn)]
            yield CheckResult(
                "04", f"{path}: {' '.join(methods)} integrated with the function (Lambda proxy)",
                not problems, "; ".join(problems),
                _hint("04", "put_method, then put_integration(type='AWS_PROXY', "
                      "integrationHttpMethod='POST', uri=<the function's invocation ARN>)"))
            options = self.method(path, "OPTIONS")
            problems = cors_problems(options)
            yield CheckResult(
                "04", f"{path}: OPTIONS answers CORS preflights (MOCK)", not problems,
                "; ".join(problems),
                _hint("04", "OPTIONS with a MOCK integration, a 200 method response declaring "
                      "the Access-Control-Allow-* headers and an integration response setting them"))

    def _permission_check(self, api: dict) -> CheckResult:
        title = "API Gateway may invoke the function (Lambda permission)"
        hint = _hint("04", "add_permission(Principal='apigateway.amazonaws.com', "
                     "Action='lambda:InvokeFunction', SourceArn='arn:aws:execute-api:<region>:"
                     f"<account>:{api['id']}/*'); without it API Gateway answers 500")
        try:
            policy = json.loads(self.clients("lambda").get_policy(
                FunctionName=self.names.function)["Policy"])
        except ClientError as error:
            if is_gone(error):
                return CheckResult("04", title, False, "the function has no resource policy", hint)
            raise
        sample = (f"arn:aws:execute-api:{self.clients.region}:{self.clients.account_id}:"
                  f"{api['id']}/{self.names.stage}/GET/health")
        ok, detail = permission_allows(policy, sample)
        return CheckResult("04", title, ok, detail, hint)

    def _health_check(self) -> CheckResult:
        title = "GET /health answers 200"
        response = self._request("GET", "/health")
        return self._http_result("04", title, response, 200,
                                 _hint("04", "deploy the stage again; on 403 check the path and "
                                       "the deployment, on 500 the Lambda permission, on 502 the "
                                       "function's log"))

    def _preflight_check(self) -> CheckResult:
        title = "a CORS preflight (OPTIONS /product) answers with Access-Control-Allow-Origin"
        hint = _hint("04", "set up OPTIONS with the MOCK integration on /product and redeploy")
        response = self._request("OPTIONS", "/product", headers={
            "Origin": PREFLIGHT_ORIGIN, "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "Content-Type"})
        if response is None or isinstance(response, Exception):
            return CheckResult("04", title, False, str(response or "no API"), hint)
        allow = response.headers.get("Access-Control-Allow-Origin")
        ok = 200 <= response.status_code < 300 and allow in ("*", PREFLIGHT_ORIGIN)
        return CheckResult("04", title, ok,
                           f"status {response.status_code}, Access-Control-Allow-Origin {allow!r}",
                           hint)

    def _http_result(self, lab: str, title: str, response: Any, expected: int,
                     hint: str) -> CheckResult:
        if response is None:
            return CheckResult(lab, title, False, "the REST API does not exist", hint)
        if isinstance(response, Exception):
            return CheckResult(lab, title, False, f"request failed: {response}", hint)
        body = response.text[:200].replace("\n", " ")
        return CheckResult(lab, title, response.status_code == expected,
                           f"status {response.status_code}: {body}", hint)

    # --- lab 05 ------------------------------------------------------------------------------

    def lab_05(self) -> Iterator[CheckResult]:
        """A full CRUD round trip with a product nobody else uses, removed again at the end."""
        if self.api() is None:
            yield CheckResult("05", "the API answers CRUD requests", False, "no REST API",
                              _hint("04", "build the API first." + _catch_up("04")))
            return
        product_id = f"workshop-check-{uuid.uuid4().hex[:12]}"
        hint = _hint("05", "compare the answer with the API table in labs/05-use-the-api; the "
                     "function's log says why")
        steps = [
            ("POST /product creates a product (201)", "POST", "/product",
             {"json": {"productId": product_id, "name": "check", "price": 19.99}}, 201),
            ("GET /product?productId=... returns it (200)", "GET", "/product",
             {"params": {"productId": product_id}}, 200),
            ("PATCH /product updates an attribute (200)", "PATCH", "/product",
             {"json": {"productId": product_id, "updateKey": "price", "updateValue": 21.5}}, 200),
            ("GET /products lists products (200)", "GET", "/products", {"params": {"limit": "5"}},
             200),
            ("DELETE /product deletes it (200)", "DELETE", "/product",
             {"json": {"productId": product_id}}, 200),
        ]
        created = False
        try:
            for title, http_method, path, kwargs, expected in steps:
                response = self._request(http_method, path, **kwargs)
                result = self._http_result("05", title, response, expected, hint)
                if http_method == "POST" and result.passed:
                    created = True
                if http_method == "DELETE" and result.passed:
                    created = False
                if result.passed and http_method == "GET" and path == "/product":
                    price = _json(response).get("price")
                    if price != 19.99:
                        result = CheckResult("05", title, False,
                                             f"price came back as {price!r}, not 19.99", hint)
                yield result
                if not result.passed and http_method == "POST":
                    return
        finally:
            if created:  # never leave the check's product behind
                self._request("DELETE", "/product", json={"productId": product_id})

    # --- lab 06 ------------------------------------------------------------------------------

    def lab_06(self) -> Iterator[CheckResult]:
        group = self.names.log_group
        try:
            streams = self.clients("logs").describe_log_streams(
                logGroupName=group, limit=1).get("logStreams", [])
            exists = True
        except ClientError as error:
            if not is_gone(error):
                raise
            streams, exists = [], False
        yield CheckResult("06", f"log group {group} holds the function's logs",
                          exists and bool(streams),
                          "no log group" if not exists else "no log streams yet",
                          _hint("06", "invoke the function once; check that its role may write "
                                "logs (lab 03)"))
        if self.api() is None:
            yield CheckResult("06", "the API answers errors with 4xx, not 5xx", False, "no REST API",
                              _hint("04", "build the API first." + _catch_up("04")))
            return
        hint = _hint("06", "a 500/502 means the function failed: find the cause in its log, fix "
                     "it and redeploy")
        cases = [
            ("GET /product without productId answers 400", "GET", "/product", {}, 400),
            ("GET /product of an unknown product answers 404", "GET", "/product",
             {"params": {"productId": f"no-such-product-{uuid.uuid4().hex[:8]}"}}, 404),
            ("POST /product with invalid JSON answers 400", "POST", "/product",
             {"data": "{not json", "headers": {"Content-Type": "application/json"}}, 400),
        ]
        for title, http_method, path, kwargs, expected in cases:
            response = self._request(http_method, path, **kwargs)
            result = self._http_result("06", title, response, expected, hint)
            if result.passed and "message" not in _json(response):
                result = CheckResult("06", title, False, "the body has no 'message'", hint)
            yield result

    # --- lab 07 ------------------------------------------------------------------------------

    def lab_07(self) -> Iterator[CheckResult]:
        left = discover(self.owner, clients=self.clients)
        for resource in left:
            yield CheckResult("07", f"{resource.describe()} is gone", False, "still there",
                              _hint("07", "run `python scripts/cleanup.py`"))
        untagged = self._untagged_with_my_names()
        for what in untagged:
            yield CheckResult("07", f"{what} is gone", False,
                              "still there, without the workshop's tags",
                              _hint("07", "cleanup.py never deletes untagged resources: if it is "
                                    "yours, delete it as the lab's step-by-step section shows"))
        if not left and not untagged:
            yield CheckResult("07", f"nothing of {self.owner}'s is left", True)


    def _untagged_with_my_names(self) -> list[str]:
        """Resources with exactly this learner's names but no workshop tags at all.

        cleanup.py cannot prove they are the learner's (a hand-made copy, or built before the
        labs tagged things), so lab 07 names them instead of passing silently. One tagged as
        another learner's is that learner's, not a leftover.
        """
        untagged = []
        table = self.table()
        if table and owner_from_tags(self._table_tags(table["TableArn"])) is None:
            untagged.append(f"{KIND_LABELS['table']} {self.names.table}")
        function = self.function()
        if function and owner_from_tags(self.clients("lambda").list_tags(
                Resource=function["FunctionArn"]).get("Tags")) is None:
            untagged.append(f"{KIND_LABELS['function']} {self.names.function}")
        if self.role():
            tags = self.clients("iam").list_role_tags(RoleName=self.names.role).get("Tags", [])
            if owner_from_tags({t["Key"]: t["Value"] for t in tags}) is None:
                untagged.append(f"{KIND_LABELS['role']} {self.names.role}")
        for api in self.apis():
            if owner_from_tags(api.get("tags")) is None:
                untagged.append(f"{KIND_LABELS['rest-api']} {api.get('name')} ({api['id']})")
        logs = self.clients("logs")
        for group in logs.describe_log_groups(logGroupNamePrefix=self.names.log_group).get(
                "logGroups", []):
            if group["logGroupName"] != self.names.log_group:
                continue
            arn = (group.get("logGroupArn") or group["arn"]).removesuffix(":*")
            tags = logs.list_tags_for_resource(resourceArn=arn).get("tags", {})
            if owner_from_tags(tags) is None and not function:
                # With the function still there, cleanup.py takes its log group along.
                untagged.append(f"{KIND_LABELS['log-group']} {self.names.log_group}")
        return untagged


# --- pure helpers (tested on their own) ---------------------------------------------------------


def proxy_event(method: str, path: str, *, query: dict | None = None,
                body: str | None = None) -> dict:
    """A minimal API Gateway REST (v1) proxy event, as the console's test event would send."""
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": {"Accept": "application/json"},
        "multiValueHeaders": {"Accept": ["application/json"]},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {"resourcePath": path, "httpMethod": method, "stage": "check",
                           "requestId": str(uuid.uuid4()), "identity": {"sourceIp": "127.0.0.1"}},
        "body": body,
        "isBase64Encoded": False,
    }


def _relative(path: Path) -> str:
    """``path`` as the learner sees it from the repository root, when it is inside it."""
    try:
        return str(path.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def _json(response: Any) -> dict:
    try:
        value = response.json()
    except Exception:
        return {}
    return value if isinstance(value, dict) else {}


def _policy_document(document: Any) -> dict:
    """IAM returns documents URL-decoded and parsed by boto3; tolerate a raw JSON string too."""
    if isinstance(document, str):
        from urllib.parse import unquote

        try:
            return json.loads(document)
        except ValueError:
            return json.loads(unquote(document))
    return document or {}


def _as_list(value: Any) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _statements(document: dict) -> list[dict]:
    return [s for s in _as_list(document.get("Statement")) if isinstance(s, dict)]


def _trusts_lambda(document: dict) -> bool:
    for statement in _statements(document):
        principal = statement.get("Principal", {})
        services = _as_list(principal.get("Service")) if isinstance(principal, dict) else []
        actions = _as_list(statement.get("Action"))
        if (statement.get("Effect") == "Allow" and "lambda.amazonaws.com" in services
                and any(a in ("sts:AssumeRole", "sts:*", "*") for a in actions)):
            return True
    return False


def _allows_logs(documents: list[dict]) -> bool:
    granted = set()
    for document in documents:
        for statement in _statements(document):
            if statement.get("Effect") != "Allow":
                continue
            for action in _as_list(statement.get("Action")):
                for wanted in LOG_ACTIONS:
                    if fnmatch.fnmatchcase(wanted.lower(), str(action).lower()):
                        granted.add(wanted)
    return granted == set(LOG_ACTIONS)


def table_policy_problems(documents: list[dict], table_arn: str) -> list[str]:
    """What is wrong with the DynamoDB part of a role's policies, as least privilege sees it.

    Every Allow statement with a DynamoDB action must name this table's ARN (or its indexes),
    never '*' or a pattern that matches other tables; no dynamodb:* or '*' actions; and the
    actions the API needs must be granted on the table.
    """
    problems: list[str] = []
    granted: set[str] = set()
    allowed_resources = {table_arn, f"{table_arn}/index/*"}
    for document in documents:
        for statement in _statements(document):
            if statement.get("Effect") != "Allow":
                continue
            if "NotAction" in statement or "NotResource" in statement:
                problems.append("a statement uses NotAction/NotResource, which grants far more "
                                "than it names")
                continue
            actions = [str(a) for a in _as_list(statement.get("Action"))]
            table_actions = [a for a in actions if a.lower().startswith("dynamodb:") or a == "*"]
            if not table_actions:
                continue
            wildcards = [a for a in table_actions if "*" in a or "?" in a]
            if wildcards:
                problems.append(f"actions {wildcards} grant every matching DynamoDB action")
            resources = [str(r) for r in _as_list(statement.get("Resource"))]
            wide = [r for r in resources if r not in allowed_resources]
            if wide:
                problems.append(f"resource {wide} is not this table ({table_arn})")
            if not wide:
                for action in table_actions:
                    pattern = action.split(":", 1)[-1].lower() if ":" in action else "*"
                    granted.update(a.lower() for a in REQUIRED_TABLE_ACTIONS
                                   if fnmatch.fnmatchcase(a.lower(), pattern))
    missing = [a for a in REQUIRED_TABLE_ACTIONS if a.lower() not in granted]
    if missing:
        problems.append(f"missing {', '.join('dynamodb:' + a for a in missing)} on the table")
    return problems


def integration_problems(integration: dict | None, function_arn: str) -> list[str]:
    """Why a method's integration would not reach ``function_arn`` through the Lambda proxy."""
    if not integration:
        return ["has no integration"]
    problems = []
    if integration.get("type") != "AWS_PROXY":
        problems.append(f"integration type is {integration.get('type')}, not AWS_PROXY")
    if integration.get("httpMethod") != "POST":
        # Lambda's Invoke API is a POST, whatever the client's method.
        problems.append(f"integrationHttpMethod is {integration.get('httpMethod')}, not POST")
    uri = integration.get("uri", "")
    if not (uri.endswith("/invocations") and (f"functions/{function_arn}/" in uri or
                                              uri.split("/functions/")[-1].split("/")[0]
                                              .endswith(function_arn))):
        problems.append(f"uri {uri!r} does not invoke {function_arn}")
    return problems


def cors_problems(method: dict | None) -> list[str]:
    if method is None:
        return ["no OPTIONS method"]
    integration = method.get("methodIntegration") or {}
    problems = []
    if integration.get("type") != "MOCK":
        problems.append(f"integration type is {integration.get('type')}, not MOCK")
    responses = integration.get("integrationResponses") or {}
    params = (responses.get("200") or {}).get("responseParameters") or {}
    if CORS_ORIGIN_PARAM not in params:
        problems.append("the 200 integration response does not set Access-Control-Allow-Origin")
    return problems


def permission_allows(policy: dict, source_arn: str) -> tuple[bool, str]:
    """Whether a Lambda resource policy lets API Gateway invoke from ``source_arn``."""
    seen = []
    for statement in _statements(policy):
        principal = statement.get("Principal", {})
        service = principal.get("Service") if isinstance(principal, dict) else principal
        if statement.get("Effect") != "Allow" or "apigateway.amazonaws.com" not in _as_list(service):
            continue
        actions = _as_list(statement.get("Action"))
        if not any(a in ("lambda:InvokeFunction", "lambda:*", "*") for a in actions):
            continue
        condition = statement.get("Condition", {}) or {}
        patterns = []
        for operator in ("ArnLike", "ArnEquals", "StringLike", "StringEquals"):
            for key, value in (condition.get(operator) or {}).items():
                if key.lower() == "aws:sourcearn":
                    patterns += _as_list(value)
        if not patterns:
            return True, "allowed from any API (consider a SourceArn)"
        seen += patterns
        if any(fnmatch.fnmatchcase(source_arn, pattern) for pattern in patterns):
            return True, f"SourceArn {patterns}"
    if seen:
        return False, f"the permission's SourceArn {seen} does not match {source_arn} " \
                      "(was the API re-created?)"
    return False, "no statement allows apigateway.amazonaws.com to invoke the function"


_LOCAL_HANDLER_PROBE = textwrap.dedent(
    """
    import json, sys
    from decimal import Decimal
    sys.path.insert(0, sys.argv[1])
    results = []
    try:
        import lambda_function
        from custom_encoder import CustomEncoder
    except Exception as error:
        print(json.dumps([["the files import", False, f"{type(error).__name__}: {error}"]]))
        sys.exit(0)
    results.append(["the files import", True, ""])
    try:
        text = json.dumps({"price": Decimal("19.99"), "stock": Decimal("500")}, cls=CustomEncoder)
        ok = json.loads(text) == {"price": 19.99, "stock": 500} and "500.0" not in text
        results.append(["CustomEncoder writes Decimal 19.99 and 500 as 19.99 and 500", ok, text])
    except Exception as error:
        results.append(["CustomEncoder writes Decimal 19.99 and 500 as 19.99 and 500", False,
                        f"{type(error).__name__}: {error}"])
    for path in ("/", "/health"):
        title = f"lambda_handler answers GET {path} with 200 and a string body"
        event = json.loads(sys.argv[2].replace("__PATH__", path))
        try:
            answer = lambda_function.lambda_handler(event, None)
            ok = isinstance(answer, dict) and answer.get("statusCode") == 200 and \\
                isinstance(answer.get("body"), str)
            results.append([title, ok, repr(answer)[:200]])
        except Exception as error:
            results.append([title, False, f"{type(error).__name__}: {error}"])
    print(json.dumps(results))
    """
)


def _run_local_handler(folder: Path, table: str) -> list[tuple[str, bool, str]]:
    """Run the learner's handler in a fresh interpreter, so their code cannot disturb ours."""
    event = json.dumps(proxy_event("GET", "__PATH__"))
    env = {**os.environ, "TABLE_NAME": table}
    try:
        completed = subprocess.run(
            [sys.executable, "-c", _LOCAL_HANDLER_PROBE, str(folder), event],
            capture_output=True, text=True, timeout=60, env=env, cwd=str(folder))
    except subprocess.TimeoutExpired:
        return [("the handler runs within 60 s", False, "timed out")]
    lines = completed.stdout.strip().splitlines()
    try:
        return [tuple(item) for item in json.loads(lines[-1])]  # type: ignore[misc]
    except (IndexError, ValueError):
        return [("the handler runs", False, (completed.stderr or completed.stdout)[-300:])]


# --- reporting and the command line -------------------------------------------------------------


def print_results(results: list[CheckResult], out: TextIO) -> None:
    marks = marks_for(out)
    ok_mark, fail_mark = marks.ok, marks.fail
    lab = None
    for result in results:
        if result.lab != lab:
            lab = result.lab
            print(f"Lab {lab} {marks.dot} {TITLES[lab]}", file=out)
        mark = ok_mark if result.passed else fail_mark
        print(f"  {mark} {result.title}", file=out)
        if not result.passed:
            if result.detail:
                print(f"      found: {result.detail}", file=out)
            if result.hint:
                print(f"      fix:   {result.hint}", file=out)
    failed = sum(not r.passed for r in results)
    passed = len(results) - failed
    print(f"{passed} passed, {failed} failed.", file=out)


def class_table(target: Any, owners: list[str], *, clients: Clients, out: TextIO,
                http: Any = None) -> dict[str, dict[str, bool | None]]:
    """Print one row per learner: each lab's status and how far they got."""
    marks = marks_for(out)
    ok_mark, fail_mark = marks.ok, marks.fail
    rows: dict[str, dict[str, bool | None]] = {}
    width = max([len("owner"), *(len(o) for o in owners)])
    cell = max(len(lab) for lab in CLASS_LABS) if marks is UNICODE_MARKS else len(marks.fail)
    print(f"{'owner':<{width}}  " + "  ".join(f"{lab:<{cell}}" for lab in CLASS_LABS)
          + "  reached", file=out)
    for owner in owners:
        checker = Checker(target, owner, clients=clients, http=http, lambda_dir=None)
        status: dict[str, bool | None] = {}
        for lab in CLASS_LABS:
            results = list(checker.run_lab(lab))
            status[lab] = bool(results) and all(r.passed for r in results)
        reached = "-"
        for lab in CLASS_LABS:
            if not status[lab]:
                break
            reached = lab
        rows[owner] = status
        cells = "  ".join(f"{ok_mark if status[lab] else fail_mark:<{cell}}" for lab in CLASS_LABS)
        print(f"{owner:<{width}}  {cells}  {reached}", file=out)
    print(f"{len(owners)} learner(s). Lab 02 is not shown: it lives in each learner's own files.",
          file=out)
    return rows


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="check.py",
        description="Check a learner's workshop resources lab by lab (local cloud by default; "
                    "WORKSHOP_TARGET=aws for AWS). Exit status 1 when a check fails.")
    parser.add_argument("lab", nargs="?", default=None,
                        help=f"the lab you finished (00-07, default {DEFAULT_LAB}: everything); "
                             "07 checks that nothing is left")
    who = parser.add_mutually_exclusive_group()
    who.add_argument("--owner", help="whose resources (default: WORKSHOP_OWNER or your login)")
    who.add_argument("--all-owners", action="store_true",
                     help="instructors: one row per learner found by the workshop's tags")
    parser.add_argument("--lambda-dir", type=Path, default=LABS_DIR / LABS["02"],
                        help="where your lab 02 files are (default: labs/02-lambda-function)")
    return parser


def main(argv: list[str] | None = None, *, out: TextIO | None = None) -> int:
    from workshop.target import TargetError, connect

    out = out or tolerant_stdout()
    args = build_parser().parse_args(argv)
    try:
        lab = parse_lab(args.lab) if args.lab else DEFAULT_LAB
        owner = normalize_owner(args.owner) if args.owner else current_owner()
    except (ValueError, InvalidOwnerError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        target = connect()
    except TargetError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    clients = Clients(region=target.region)
    if args.all_owners:
        try:
            found = discover(None, clients=clients)
        except (ClientError, BotoCoreError) as error:
            print(f"error: cannot list the workshop's resources: {error}", file=sys.stderr)
            return 2
        owners = sorted({r.owner for r in found})
        if not owners:
            print("No learner's resources were found (nothing carries the workshop's tags).",
                  file=out)
            return 0
        if lab == "07":  # the class-wide cleanup check: who still has something left
            for who in owners:
                count = sum(r.owner == who for r in found)
                print(f"{marks_for(out).fail} {who}: {count} resource(s) left", file=out)
            print("Run `python scripts/cleanup.py --all-owners` to remove them.", file=out)
            return 1
        rows = class_table(target, owners, clients=clients, out=out)
        if args.lab:
            behind = [o for o, status in rows.items()
                      if not all(status[k] for k in CLASS_LABS if k <= lab)]
            if behind:
                print(f"Not yet through lab {lab}: {', '.join(behind)}", file=out)
                return 1
        return 0
    lambda_dir = args.lambda_dir if owner == current_owner() else None
    checker = Checker(target, owner, clients=clients, lambda_dir=lambda_dir)
    print(f"Checking {owner}'s workshop through lab {lab} ({LABS[lab]}):", file=out)
    results = checker.run(labs_through(lab))
    print_results(results, out)
    return 0 if results and all(r.passed for r in results) else 1


__all__ = [
    "CheckResult",
    "Checker",
    "cors_problems",
    "integration_problems",
    "main",
    "parse_lab",
    "permission_allows",
    "proxy_event",
    "table_policy_problems",
]
