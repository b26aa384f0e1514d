"""Checks that call the deployed stage over HTTP: /health, a CORS preflight, lab 05's CRUD.

These see what the learner's browser and Postman see, so they catch what the configuration
checks cannot (a stage not redeployed, a missing Lambda permission answering 500, ...).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

from workshop.checks.lookups import ResourceLookups
from workshop.checks.result import CheckResult, catch_up, lab_hint

PREFLIGHT_ORIGIN = "http://localhost:8000"
# What a status of GET /health means, and the one thing to do about it.
HEALTH_FIXES = {
    403: "no route matched: deploy the API (create_deployment to your stage) after adding every "
         "method, and check the path",
    500: "API Gateway may not invoke the function: add_permission for apigateway.amazonaws.com "
         "with this API's SourceArn",
    502: "the function raised or answered something that is not a proxy response: read its log "
         "(lab 03), fix the code and update_function_code",
    504: "the function took longer than 29 s: read the REPORT lines in its log",
}
HTTP_TIMEOUT_SECONDS = 30


class LiveApiChecks(ResourceLookups):
    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        """An HTTP request to the deployed stage; returns the response or the exception."""
        url = self.invoke_url()
        if url is None:
            return None
        try:
            return self.http.request(method, url + path, timeout=HTTP_TIMEOUT_SECONDS, **kwargs)
        except Exception as error:  # noqa: BLE001 - requests' ConnectionError, Timeout, ...
            return error

    def _http_result(self, lab: str, title: str, response: Any, expected: int,
                     hint: str) -> CheckResult:
        if response is None:
            return CheckResult(lab, title, False, "the REST API does not exist", hint, missing=True)
        if isinstance(response, Exception):
            return CheckResult(lab, title, False, f"request failed: {response}", hint)
        body = response.text[:400].replace("\n", " ")
        return CheckResult(lab, title, response.status_code == expected,
                           f"status {response.status_code}: {body}", hint)

    def _health_check(self) -> CheckResult:
        title = "GET /health answers 200"
        response = self._request("GET", "/health")
        status = getattr(response, "status_code", None)
        fix = HEALTH_FIXES.get(status, "deploy the stage again; on 403 check the path and the "
                               "deployment, on 500 the Lambda permission, on 502 the function's log")
        return self._http_result("04", title, response, 200, lab_hint("04", fix))

    def _preflight_check(self) -> CheckResult:
        title = "a CORS preflight (OPTIONS /product) answers with Access-Control-Allow-Origin"
        hint = lab_hint("04", "set up OPTIONS with the MOCK integration on /product and redeploy")
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

    def lab_05(self) -> Iterator[CheckResult]:
        """A full CRUD round trip with a product nobody else uses, removed again at the end."""
        if self.api() is None:
            yield CheckResult("05", "the API answers CRUD requests", False, "no REST API",
                              lab_hint("04", "build the API first." + catch_up("04")), missing=True)
            return
        product_id = f"workshop-check-{uuid.uuid4().hex[:12]}"
        hint = lab_hint("05", "compare the answer with the API table in labs/05-use-the-api; the "
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
                    price = json_body(response).get("price")
                    if price != 19.99:
                        result = CheckResult("05", title, False,
                                             f"price came back as {price!r}, not 19.99", hint)
                yield result
                if not result.passed and http_method == "POST":
                    return
        finally:
            if created:  # never leave the check's product behind
                self._request("DELETE", "/product", json={"productId": product_id})


def json_body(response: Any) -> dict:
    """The response's JSON object, or {} when it has none (the check then reports what is missing)."""
    try:
        value = response.json()
    except Exception:  # noqa: BLE001 - any failure here is reported, never raised
        return {}
    return value if isinstance(value, dict) else {}
