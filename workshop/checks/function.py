"""Lab 03: the deployed function (runtime, handler, environment, role, tags) and that it runs.

Lab 03 checks the role first: a function whose role is wrong fails in ways that look like code
errors.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from botocore.exceptions import ClientError

from workshop.checks.events import proxy_event
from workshop.checks.result import CheckResult, catch_up, lab_hint
from workshop.checks.role import RoleChecks

EXPECTED_HANDLER = "lambda_function.lambda_handler"


class FunctionChecks(RoleChecks):
    def lab_03(self) -> Iterator[CheckResult]:
        yield from self._role_checks()
        yield from self._function_checks()

    def _function_checks(self) -> Iterator[CheckResult]:
        name = self.names.function
        config = self.function()
        if config is None:
            yield CheckResult("03", f"function {name} exists", False, "not found",
                              lab_hint("03", "create the function with create_function."
                                       + catch_up("03")), missing=True)
            return
        state = config.get("State", "Active")
        yield CheckResult("03", f"function {name} exists and is Active", state == "Active",
                          f"state {state}: {config.get('StateReason', '')}",
                          lab_hint("03", "wait for the function (the function_active_v2 waiter)"))
        runtime = config.get("Runtime", "")
        yield CheckResult("03", f"runtime is Python 3 ({runtime})", runtime.startswith("python3."),
                          f"runtime {runtime!r}", lab_hint("03", "use a python3.x runtime"))
        handler = config.get("Handler")
        yield CheckResult("03", f"handler is {EXPECTED_HANDLER}", handler == EXPECTED_HANDLER,
                          f"handler {handler!r}",
                          lab_hint("03", "Handler is <file without .py>.<function name>"))
        env = config.get("Environment", {}).get("Variables", {})
        yield CheckResult("03", f"environment TABLE_NAME is {self.names.table}",
                          env.get("TABLE_NAME") == self.names.table,
                          f"TABLE_NAME={env.get('TABLE_NAME')!r}",
                          lab_hint("03", "set Environment={'Variables': {'TABLE_NAME': ...}} "
                                   "(update_function_configuration)"))
        role_arn = config.get("Role", "")
        yield CheckResult("03", f"function runs as role {self.names.role}",
                          role_arn.endswith(f":role/{self.names.role}") or
                          role_arn.endswith(f"/{self.names.role}"),
                          f"role {role_arn}", lab_hint("03", "pass the role's ARN as Role"))
        tags = self.clients("lambda").list_tags(Resource=config["FunctionArn"]).get("Tags", {})
        yield self._tag_check("03", "function", tags)
        yield self._invoke_check()

    def _invoke_check(self) -> CheckResult:
        title = "invoking the function with a GET /health event answers 200"
        hint = lab_hint("03", "read the error and the function's log (/aws/lambda/"
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
        if isinstance(response, dict):
            body = response.get("body")
            detail = (f"statusCode {response.get('statusCode')!r}, body {body!r:.400} "
                      f"(a {type(body).__name__})")
            if not isinstance(body, str):
                hint = lab_hint("02", "build_response must return the body as a string "
                                "(json.dumps); then deploy the code again (lab 03's update cell)")
        else:
            detail = f"returned {payload[:400]} (not a proxy response: a dict is needed)"
        return CheckResult("03", title, ok, detail, hint)
