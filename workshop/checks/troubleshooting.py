"""Lab 06: the function writes logs, and bad requests get a 4xx with a message, not a 5xx."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

from botocore.exceptions import ClientError

from workshop.checks.live_api import LiveApiChecks, json_body
from workshop.checks.result import CheckResult, catch_up, lab_hint
from workshop.cleanup import is_gone


class TroubleshootingChecks(LiveApiChecks):
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
                          lab_hint("06", "invoke the function once; check that its role may "
                                   "write logs (lab 03)"), missing=not exists)
        if self.api() is None:
            yield CheckResult("06", "the API answers errors with 4xx, not 5xx", False, "no REST API",
                              lab_hint("04", "build the API first." + catch_up("04")), missing=True)
            return
        hint = lab_hint("06", "a 500/502 means the function failed: find the cause in its log, "
                        "fix it and redeploy")
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
            if result.passed and "message" not in json_body(response):
                result = CheckResult("06", title, False, "the body has no 'message'", hint)
            yield result
