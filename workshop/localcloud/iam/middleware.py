"""The AWS endpoint's gate: a WSGI wrapper around moto's application that enforces IAM.

Each request is identified by the access key in its SigV4 ``Authorization`` header (or a
presigned URL's ``X-Amz-Credential``) and, unless it is the account root, authorized before moto
sees it; a denial is answered in the service's own error shape and never reaches moto.

The default path stays cheap: a request signed with the notebooks' fake key (the root) is passed
on after one header parse, without reading its body — except the Lambda calls that give a
function its role, where Lambda itself checks the role's trust policy for every caller.
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

from workshop.localcloud import config
from workshop.localcloud.iam.actions import LAMBDA_PRINCIPAL, ApiCall, HttpRequest, api_call
from workshop.localcloud.iam.authorizer import authorize_check, may_assume, role_trusts_service
from workshop.localcloud.iam.errors import (
    ErrorResponse,
    access_denied,
    invalid_parameter_value,
    invalid_token,
)
from workshop.localcloud.iam.principals import (
    AWS_KEY_ID,
    InvalidCredentials,
    Principal,
    PrincipalDirectory,
)

log = logging.getLogger("workshop.localcloud.iam")

_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/\d{8}/([^/]+)/([^/]+)/aws4_request")
#: Lambda: "The role defined for the function cannot be assumed by Lambda." (Lambda API
#: reference, CreateFunction: InvalidParameterValueException).
ROLE_NOT_ASSUMABLE = "The role defined for the function cannot be assumed by Lambda."

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def signing_scope(environ: dict[str, Any]) -> tuple[str, str, str] | None:
    """(access key id, region, service) of a SigV4-signed request, or None when unsigned."""
    match = _CREDENTIAL.search(environ.get("HTTP_AUTHORIZATION", ""))
    if match is None:
        query = environ.get("QUERY_STRING", "")
        if "X-Amz-Credential" not in query:
            return None
        credential = (parse_qs(query).get("X-Amz-Credential") or [""])[0]
        match = _CREDENTIAL.search("Credential=" + credential)
        if match is None:
            return None
    return match.group(1), match.group(2), match.group(3)


def _session_token(environ: dict[str, Any]) -> str | None:
    token = environ.get("HTTP_X_AMZ_SECURITY_TOKEN")
    if token is None and "X-Amz-Security-Token" in environ.get("QUERY_STRING", ""):
        token = (parse_qs(environ["QUERY_STRING"]).get("X-Amz-Security-Token") or [None])[0]
    return token


def _read_body(environ: dict[str, Any]) -> bytes:
    """Read the body once and put it back for moto."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    stream = environ.get("wsgi.input")
    if stream is None:
        body = b""
    elif length > 0:
        body = stream.read(length)
    elif environ.get("wsgi.input_terminated") or "chunked" in environ.get("HTTP_TRANSFER_ENCODING", ""):
        body = stream.read()  # a chunked body has no Content-Length; the server ends the stream
    else:
        body = b""
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    return body


def _sets_function_role(service: str, method: str, environ: dict[str, Any]) -> bool:
    """CreateFunction or UpdateFunctionConfiguration: the calls that may give a function a role."""
    if service != "lambda":
        return False
    path = (environ.get("PATH_INFO") or "").rstrip("/")
    return (method == "POST" and path.endswith("/functions")) or (
        method == "PUT" and path.endswith("/configuration")
    )


class IamEnforcer:
    """WSGI middleware: ``IamEnforcer(moto_app)`` answers what IAM refuses, passes the rest."""

    def __init__(self, app: WsgiApp, *, account_id: str = config.ACCOUNT_ID) -> None:
        self.app = app
        self.account_id = account_id
        self.directory = PrincipalDirectory(account_id)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        scope = signing_scope(environ)
        if scope is None:
            return self.app(environ, start_response)
        access_key_id, region, service = scope
        method = environ.get("REQUEST_METHOD", "GET")
        if not AWS_KEY_ID.match(access_key_id) and not _sets_function_role(service, method, environ):
            return self.app(environ, start_response)  # the root: nothing to check
        refusal = self._refusal(environ, access_key_id, region, service, method)
        if refusal is not None:
            start_response(refusal.status_line, refusal.headers)
            return [refusal.body]
        return self.app(environ, start_response)

    def _refusal(
        self, environ: dict[str, Any], access_key_id: str, region: str, service: str, method: str
    ) -> ErrorResponse | None:
        try:
            principal = self.directory.identify(access_key_id, _session_token(environ))
        except InvalidCredentials as error:
            log.info("IAM: %s request with access key %s refused: %s", service, access_key_id, error)
            return invalid_token(service)
        request = HttpRequest(
            method=method,
            path=environ.get("PATH_INFO", "/") or "/",
            query=parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True),
            headers={
                key[5:].replace("_", "-").lower(): value
                for key, value in environ.items()
                if key.startswith("HTTP_")
            },
            body=_read_body(environ),
            region=region,
            account_id=self.account_id,
        )
        call = api_call(service, request, principal.arn if principal.kind == "user" else None)
        refusal = self.authorize(principal, call, region)
        if refusal is not None:
            return refusal
        if call.function_role and not role_trusts_service(
            call.function_role, LAMBDA_PRINCIPAL, account_id=self.account_id
        ) and self._role_exists(call.function_role):
            # Lambda assumes the role itself: its trust policy must name lambda.amazonaws.com.
            # (A role that does not exist is left to moto, which answers the same message.)
            return invalid_parameter_value(ROLE_NOT_ASSUMABLE)
        return None

    def _role_exists(self, role_arn: str) -> bool:
        from workshop.localcloud.iam.principals import find_role

        return find_role(self.account_id, role_arn) is not None

    def authorize(self, principal: Principal, call: ApiCall, region: str) -> ErrorResponse | None:
        """The first refused check of ``call`` as the service's error response; None: allowed."""
        if principal.is_root or call.always_allowed:
            return None
        if call.assume_role_arn is not None:
            decision = may_assume(principal, call.assume_role_arn, region)
            if not decision.allowed:
                return access_denied(call.service, decision.message)
            return None
        for check in call.checks:
            decision = authorize_check(principal, check, region)
            if not decision.allowed:
                return access_denied(call.service, decision.message)
        return None
