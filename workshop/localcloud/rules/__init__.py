"""Rules: the local cloud refuses what AWS refuses, with AWS's error code, status and message.

One module per service, each citing its sources (AWS documentation, or recorded AWS answers in
the ``aws.validated`` snapshots of localstack/localstack) in the conformance tests:

- :mod:`.dynamodb` — numbers, item size, Unicode, number forms, one lock around moto's tables;
- :mod:`.awslambda` — Invoke payload limit, runtimes, not-found messages, create State;
- :mod:`.iam` — trust policies, policy ARNs, deleting attached policies;
- :mod:`.apigateway` — DeleteRestApi not found, mapping expressions, binaryMediaTypes.

:class:`RulesMiddleware` wraps moto's WSGI application (the AWS endpoint); :func:`install`
patches the few moto model methods a WSGI layer cannot reach. The gateway's and the runtime's
own rules (proxy responses, payload limits, log events) live beside them in
``workshop.localcloud.gateway`` and ``workshop.localcloud.runtime``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from workshop.localcloud.rules import apigateway, awslambda, dynamodb, iam, lambda_updates
from workshop.localcloud.rules.wsgi import WsgiApp, service_of, target_of


class RulesMiddleware:
    """Applies each service's rules to the requests moto's app serves."""

    def __init__(self, app: WsgiApp) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        target = target_of(environ)
        if target.startswith(dynamodb.TARGET_PREFIX):
            operation = target[len(dynamodb.TARGET_PREFIX):]
            return dynamodb.handle(self.app, environ, operation).send(start_response)
        path = str(environ.get("PATH_INFO", ""))
        if path.startswith("/2015-03-31/functions"):
            return awslambda.handle(self.app, environ).send(start_response)
        if not target and service_of(environ) == "iam":
            return iam.handle(self.app, environ).send(start_response)
        return self.app(environ, start_response)


def install() -> None:
    """Patch moto's models (item sizes, API Gateway settings and refusals)."""
    dynamodb.install()
    apigateway.install()
    lambda_updates.install()


def uninstall() -> None:
    dynamodb.uninstall()
    apigateway.uninstall()
    lambda_updates.uninstall()
