"""Lab 04: the REST API's configuration (routes, Lambda proxy integrations, CORS, permission,
stage), then the live /health and preflight answers.

``integration_problems`` and ``cors_problems`` are pure functions on API Gateway's answers, so
they are tested on their own.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from botocore.exceptions import ClientError

from workshop.checks.live_api import LiveApiChecks
from workshop.checks.policies import permission_allows
from workshop.checks.result import CheckResult, catch_up, lab_hint
from workshop.cleanup import is_gone, owner_from_tags

# The resources and methods lab 04 builds; each answers through the Lambda proxy integration.
API_ROUTES = {
    "/health": ("GET",),
    "/product": ("GET", "POST", "PATCH", "DELETE"),
    "/products": ("GET",),
}
CORS_ORIGIN_PARAM = "method.response.header.Access-Control-Allow-Origin"


class ApiChecks(LiveApiChecks):
    def lab_04(self) -> Iterator[CheckResult]:
        name = self.names.api
        apis = self.apis()
        if not apis:
            yield CheckResult("04", f"REST API {name} exists", False, "not found",
                              lab_hint("04", "create_rest_api." + catch_up("04")), missing=True)
            return
        # Re-running create_rest_api makes a second API with the same name; only the copies
        # tagged as this learner's count (an untagged look-alike is somebody's hand-made API).
        mine = [a for a in apis if owner_from_tags(a.get("tags")) == self.owner]
        yield CheckResult(
            "04", f"one REST API named {name} is yours", len(mine) <= 1,
            f"{len(mine)} found: {', '.join(a['id'] for a in mine)}",
            lab_hint("04", "delete the extra copies (re-running create_rest_api makes a new API "
                     "each time; `python scripts/cleanup.py` removes tagged ones)"))
        api = apis[0]
        yield self._tag_check("04", "REST API", api.get("tags", {}))
        yield from self._route_checks(api)
        yield self._permission_check(api)
        stage = self.stage()
        yield CheckResult("04", f"stage {self.names.stage} is deployed",
                          bool(stage and stage.get("deploymentId")), "no such stage",
                          lab_hint("04", f"create_deployment(stageName='{self.names.stage}') "
                                   "after adding every method (redeploy after each change)"))
        yield self._health_check()
        yield self._preflight_check()

    def _route_checks(self, api: dict) -> Iterator[CheckResult]:
        resources = self.api_resources()
        missing = [path for path in API_ROUTES if path not in resources]
        yield CheckResult("04", f"resources {', '.join(API_ROUTES)} exist", not missing,
                          f"missing {missing}", lab_hint("04", "create_resource under the root (/)"))
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
                lab_hint("04", "put_method, then put_integration(type='AWS_PROXY', "
                         "integrationHttpMethod='POST', uri=<the function's invocation ARN>)"))
            options = self.method(path, "OPTIONS")
            problems = cors_problems(options)
            yield CheckResult(
                "04", f"{path}: OPTIONS answers CORS preflights (MOCK)", not problems,
                "; ".join(problems),
                lab_hint("04", "OPTIONS with a MOCK integration, a 200 method response declaring "
                         "the Access-Control-Allow-* headers and an integration response setting "
                         "them"))

    def _permission_check(self, api: dict) -> CheckResult:
        title = "API Gateway may invoke the function (Lambda permission)"
        hint = lab_hint("04", "add_permission(Principal='apigateway.amazonaws.com', "
                        "Action='lambda:InvokeFunction', SourceArn='arn:<partition>:execute-api:<region>:"
                        f"<account>:{api['id']}/*'); without it API Gateway answers 500")
        try:
            policy = json.loads(self.clients("lambda").get_policy(
                FunctionName=self.names.function)["Policy"])
        except ClientError as error:
            if is_gone(error):
                return CheckResult("04", title, False, "the function has no resource policy", hint)
            raise
        sample = (f"arn:{self.clients.partition}:execute-api:{self.clients.region}:"
                  f"{self.clients.account_id}:"
                  f"{api['id']}/{self.names.stage}/GET/health")
        ok, detail = permission_allows(policy, sample)
        return CheckResult("04", title, ok, detail, hint)


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
    """Why an OPTIONS method would not answer a browser's CORS preflight."""
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
