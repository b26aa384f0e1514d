"""Lab 08's checks: /product/stock, the authorizer and its role, the usage plan and key, and
what a caller without credentials meets over HTTP.

The live requests of every lab send lab 08's credentials once they exist
(:meth:`ProtectionChecks.write_credentials`), so lab 05's round trip keeps passing on a
protected stack.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

from workshop.checks.live_api import LiveApiChecks, json_body
from workshop.checks.lookups import none_if_gone
from workshop.checks.result import CheckResult, catch_up, lab_hint
from workshop.protection import (
    DEFAULT_CLERK,
    PROTECTED_METHODS,
    find_api_key,
    find_usage_plan,
    issue_token,
    protection_names,
    token_secret,
)

LOG_ACTIONS = {"logs:createlogstream", "logs:putlogevents", "logs:createloggroup"}


class ProtectionChecks(LiveApiChecks):
    def protection(self) -> Any:
        return protection_names(self.names)

    def write_credentials(self) -> dict[str, str]:
        """The headers lab 08's protected methods need, or {} when lab 08 is not built."""
        def load() -> dict[str, str]:
            headers: dict[str, str] = {}
            key = find_api_key(self.clients("apigateway"), self.protection())
            if key is not None and key.get("value"):
                headers["x-api-key"] = key["value"]
            secret = token_secret(self.clients("lambda"), self.protection())
            if secret:
                headers["Authorization"] = f"Bearer {issue_token(DEFAULT_CLERK, secret)}"
            return headers
        return self._cached("write_credentials", load)

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        if kwargs.pop("anonymous", False):
            return super()._request(method, path, **kwargs)
        headers = {**self.write_credentials(), **kwargs.pop("headers", {})}
        return super()._request(method, path, headers=headers, **kwargs)

    def lab_08(self) -> Iterator[CheckResult]:
        guard = self.protection()
        build = lab_hint("08", "run lab 08's build cells." + catch_up("08"))
        api = self.api()
        if api is None:
            yield CheckResult("08", "the REST API exists", False, "no REST API", build, missing=True)
            return
        stock = self.method("/product/stock", "POST")
        yield CheckResult("08", "POST /product/stock exists", stock is not None,
                          "" if stock else "no POST method on /product/stock", build,
                          missing=stock is None)
        if stock is None:
            return  # lab 08 not started: everything else follows from its build cells

        function = none_if_gone(self.clients("lambda").get_function_configuration,
                                FunctionName=guard.authorizer_function)
        yield CheckResult("08", f"the authorizer function {guard.authorizer_function} exists",
                          function is not None, "", build, missing=function is None)
        if function is not None:
            yield self._authorizer_role_check(function)
            tags = self.clients("lambda").list_tags(Resource=function["FunctionArn"]).get("Tags", {})
            yield self._tag_check("08", f"function {guard.authorizer_function}", tags)

        unprotected = [f"{method} {path}" for path, methods in PROTECTED_METHODS.items() for method in methods
                       if not _protected(self.method(path, method))]
        yield CheckResult("08", "every write method needs the authorizer and an API key", not unprotected,
                          f"not protected: {', '.join(unprotected)}" if unprotected else "",
                          lab_hint("08", "run the protect-the-methods cell, then deploy again"))

        plan = find_usage_plan(self.clients("apigateway"), guard)
        covers = plan is not None and any(
            stage.get("apiId") == api["id"] and stage.get("stage") == self.names.stage
            for stage in plan.get("apiStages", []))
        limited = plan is not None and bool(plan.get("throttle")) and bool(plan.get("quota"))
        yield CheckResult("08", f"usage plan {guard.usage_plan} covers the stage with a throttle and a quota",
                          covers and limited, "" if plan else "no usage plan", build,
                          missing=plan is None)
        if plan is not None:
            yield self._tag_check("08", f"usage plan {guard.usage_plan}", plan.get("tags"))
        key = find_api_key(self.clients("apigateway"), guard)
        in_plan = key is not None and plan is not None and any(
            item["id"] == key["id"] for item in self.clients("apigateway").get_usage_plan_keys(
                usagePlanId=plan["id"], limit=500).get("items", []))
        yield CheckResult("08", f"API key {guard.api_key} is enabled and in the usage plan",
                          bool(key and key.get("enabled")) and in_plan, "" if key else "no API key", build,
                          missing=key is None)
        yield from self._live_protection_checks()

    def _refusal(self, title: str, response: Any, status: int, message: str, hint: str) -> CheckResult:
        """A refusal check: the status and API Gateway's message for it."""
        result = self._http_result("08", title, response, status, hint)
        if result.passed and _message(response) != message:
            return CheckResult("08", title, False, f"status {status} with {json_body(response)}", hint)
        return result

    def _authorizer_role_check(self, function: dict) -> CheckResult:
        guard = self.protection()
        role_name = function["Role"].rsplit("/", 1)[-1]
        iam = self.clients("iam")
        actions: set[str] = set()
        for name in iam.list_role_policies(RoleName=role_name).get("PolicyNames", []):
            document = iam.get_role_policy(RoleName=role_name, PolicyName=name)["PolicyDocument"]
            if isinstance(document, str):
                document = json.loads(document)
            statements = document.get("Statement", [])
            for statement in statements if isinstance(statements, list) else [statements]:
                found = statement.get("Action", [])
                actions |= {action.lower() for action in ([found] if isinstance(found, str) else found)}
        attached = iam.list_attached_role_policies(RoleName=role_name).get("AttachedPolicies", [])
        own = role_name == guard.authorizer_role
        ok = own and actions <= LOG_ACTIONS and not attached
        detail = f"role {role_name}, actions {sorted(actions)}" + (f", attached {len(attached)}" if attached else "")
        return CheckResult("08", "the authorizer has its own role that may only write logs", ok, detail,
                           lab_hint("08", f"use the role {guard.authorizer_role} with only logs actions"))

    def _live_protection_checks(self) -> Iterator[CheckResult]:
        hint = lab_hint("08", "deploy the stage again after protecting the methods")
        product_id = f"workshop-check-{uuid.uuid4().hex[:12]}"
        change = {"productId": product_id, "change": 1}
        # The body tells the authorizer's 401 and the API key's 403 from API Gateway's other
        # refusals (403 Missing Authentication Token: no such route).
        yield self._refusal("POST /product/stock without a token answers 401 Unauthorized",
                            self._request("POST", "/product/stock", anonymous=True, json=change),
                            401, "Unauthorized", hint)
        token_only = {k: v for k, v in self.write_credentials().items() if k == "Authorization"}
        yield self._refusal("POST /product/stock with a token but no API key answers 403 Forbidden",
                            self._request("POST", "/product/stock", anonymous=True, json=change,
                                          headers=token_only), 403, "Forbidden", hint)
        created = self._request("POST", "/product", json={"productId": product_id, "quantity": 2})
        try:
            response = self._request("POST", "/product/stock", json={"productId": product_id, "change": -3})
            yield self._http_result("08", "taking more than is in stock answers 409", response, 409,
                                    lab_hint("08", "adjust_stock needs the condition quantity >= :needed"))
            response = self._request("POST", "/product/stock", json={"productId": product_id, "change": -2})
            result = self._http_result("08", "with token and key, a stock change answers 200 with the quantity",
                                       response, 200, lab_hint("08", "adjust_stock: ADD with a condition"))
            if result.passed and json_body(response).get("quantity") != 0:
                result = CheckResult("08", result.title, False, f"answer {json_body(response)}", result.hint)
            yield result
        finally:
            if not isinstance(created, Exception) and created is not None and created.status_code == 201:
                self._request("DELETE", "/product", json={"productId": product_id})


def _message(response: Any) -> Any:
    """The refusal's message: API Gateway writes "message" (and "Message" for an explicit deny)."""
    body = json_body(response)
    return body.get("message", body.get("Message"))


def _protected(method: dict | None) -> bool:
    return bool(method) and method.get("authorizationType") == "CUSTOM" and bool(method.get("apiKeyRequired"))
