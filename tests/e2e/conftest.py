"""Fixtures for the Postman (newman) and browser (headless Chromium) tests.

The tools come from ``scripts/install_test_tools.sh`` (run by ``make test``). On CI (``CI=true``)
a missing tool fails the test; elsewhere the test skips and says how to enable it, so a learner's
laptop without Node.js or Chromium still runs the rest of the suite.

The stack comes from the shared ``deployed_stack`` fixture (the reference stack deployed on the
session's local cloud). Tests that break CORS do it on a copy of the API (``twin_api``), never on
the shared stack.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from workshop.naming import resource_names, workshop_tags
from workshop.paths import REPO_ROOT, SOLUTION_LAMBDA_DIR

from .api_copy import copy_rest_api
from .chromium_cdp import Chromium, Page, find_chromium

SERVE_FRONTEND = REPO_ROOT / "scripts" / "serve_frontend.py"
ENABLE_NEWMAN = (
    "run `make test-tools` (it needs Node.js 18+ with npm and runs `npm ci`) to enable the "
    "Postman test"
)
ENABLE_CHROMIUM = (
    "run `make test-tools` as root (it installs Debian's chromium package), or "
    "`sudo apt-get install -y chromium`, or set CHROMIUM=/path/to/chrome, to enable the browser "
    "test"
)


def on_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def require_tool(found: str | None, what: str, how: str) -> str:
    """``found``, or skip (fail on CI) with a message saying how to install ``what``."""
    if found:
        return found
    message = f"{what} is not installed: {how}."
    if on_ci():
        pytest.fail(f"CI=true, so this test must run, but {message}", pytrace=False)
    pytest.skip(message)


def find_newman() -> str | None:
    """The newman that `npm ci` put in node_modules/, else one on PATH; None without Node.js."""
    local = REPO_ROOT / "node_modules" / ".bin" / "newman"
    if local.exists() and shutil.which("node"):
        return str(local)
    return shutil.which("newman")


@pytest.fixture(scope="session")
def newman() -> str:
    return require_tool(find_newman(), "newman", ENABLE_NEWMAN)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    return require_tool(find_chromium(), "Chromium", ENABLE_CHROMIUM)


@pytest.fixture(scope="session")
def browser(chromium_path: str) -> Iterator[Chromium]:
    with Chromium(chromium_path) as chromium:
        yield chromium


@pytest.fixture
def page(browser: Chromium) -> Iterator[Page]:
    """A fresh tab in the session's browser, closed after the test."""
    tab = browser.new_page()
    try:
        yield tab
    finally:
        tab.close()


@pytest.fixture(scope="session")
def frontend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """scripts/serve_frontend.py on a free port; yields the page's origin (http://127.0.0.1:N)."""
    log = tmp_path_factory.mktemp("frontend") / "server.log"
    with open(log, "wb") as log_file:
        process = subprocess.Popen(  # noqa: S603 - our own script
            [sys.executable, str(SERVE_FRONTEND), "--port", "0", "--no-lookup"],
            stdout=subprocess.PIPE,
            stderr=log_file,
            text=True,
        )
        try:
            first_line = process.stdout.readline() if process.stdout else ""
            match = re.search(r"at (http://127\.0\.0\.1:\d+)/", first_line)
            if not match:
                process.kill()
                raise RuntimeError(
                    f"serve_frontend.py did not start: {first_line!r} {log.read_text()}"
                )
            yield match.group(1)
        finally:
            stop_process(process)


def stop_process(process: subprocess.Popen[Any]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
    if process.stdout:
        process.stdout.close()


# The function a twin API calls when the Lambda must not send CORS headers: the reference handler
# with every Access-Control-* header taken out of its proxy response.
_HEADERLESS_HANDLER = """
import lambda_function


def handler(event, context):
    response = lambda_function.lambda_handler(event, context)
    headers = response.get("headers") or {}
    response["headers"] = {
        key: value
        for key, value in headers.items()
        if not key.lower().startswith("access-control-")
    }
    return response
"""


@contextmanager
def twin_api(
    local_cloud: Any,
    stack: dict[str, Any],
    suffix: str,
    *,
    leave_out: set[tuple[str, str]] = frozenset(),  # type: ignore[assignment]
    headerless_patch: bool = False,
) -> Iterator[str]:
    """Deploy a copy of the stack's API (minus ``leave_out``) and yield its invoke URL.

    With ``headerless_patch``, ``PATCH /product`` of the copy calls a second function that runs
    the reference code but drops its CORS headers. Everything made here is deleted afterwards,
    so the shared stack the other tests use is never changed.
    """
    import boto3

    region = stack["region"]
    stage = stack.get("stage", "prod")
    apigateway = boto3.client("apigateway", region_name=region)
    lambda_client = boto3.client("lambda", region_name=region)
    account = boto3.client("sts", region_name=region).get_caller_identity()["Account"]
    owner = stack["owner"]
    api_id = apigateway.create_rest_api(
        name=f"{resource_names(owner).api}-{suffix}", tags=workshop_tags(owner)
    )["id"]
    functions_to_delete: list[str] = []
    try:
        copy_rest_api(apigateway, stack["api_id"], api_id, leave_out=leave_out)
        functions = [stack["function"]]
        if headerless_patch:
            function_arn = _create_headerless_function(lambda_client, stack, suffix)
            functions_to_delete.append(function_arn)
            functions.append(function_arn)
            product = next(
                r for r in apigateway.get_resources(restApiId=api_id)["items"]
                if r["path"] == "/product"
            )
            apigateway.put_integration(
                restApiId=api_id,
                resourceId=product["id"],
                httpMethod="PATCH",
                type="AWS_PROXY",
                integrationHttpMethod="POST",
                uri=f"arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/"
                f"{function_arn}/invocations",
            )
        for function in functions:
            # API Gateway may invoke a function only where its resource policy allows it.
            lambda_client.add_permission(
                FunctionName=function,
                StatementId=f"e2e-{api_id}",
                Action="lambda:InvokeFunction",
                Principal="apigateway.amazonaws.com",
                SourceArn=f"arn:aws:execute-api:{region}:{account}:{api_id}/*/*/*",
            )
        apigateway.create_deployment(restApiId=api_id, stageName=stage)
        yield f"{local_cloud.gateway.rstrip('/')}/{api_id}/{stage}"
    finally:
        apigateway.delete_rest_api(restApiId=api_id)
        for function in functions_to_delete:
            lambda_client.delete_function(FunctionName=function)
        try:
            lambda_client.remove_permission(
                FunctionName=stack["function"], StatementId=f"e2e-{api_id}"
            )
        except lambda_client.exceptions.ResourceNotFoundException:
            pass


def _create_headerless_function(lambda_client: Any, stack: dict[str, Any], suffix: str) -> str:
    """The reference Lambda code behind a wrapper that drops CORS headers; returns its ARN."""
    config = lambda_client.get_function_configuration(FunctionName=stack["function"])
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        for source in sorted(SOLUTION_LAMBDA_DIR.glob("*.py")):
            zipped.write(source, source.name)
        zipped.writestr("headerless.py", _HEADERLESS_HANDLER)
    created = lambda_client.create_function(
        FunctionName=f"{stack['function']}-{suffix}",
        Runtime=config["Runtime"],
        Role=config["Role"],
        Handler="headerless.handler",
        Code={"ZipFile": archive.getvalue()},
        Environment={"Variables": config.get("Environment", {}).get("Variables", {})},
        Timeout=config.get("Timeout", 10),
        Tags=workshop_tags(stack["owner"]),
    )
    return created["FunctionArn"]


@pytest.fixture(scope="module")
def no_options_api(local_cloud: Any, deployed_stack: dict[str, Any]) -> Iterator[str]:
    """The deployed API without ``OPTIONS /product``: the browser's preflight gets a 403."""
    with twin_api(
        local_cloud, deployed_stack, "e2e-no-options", leave_out={("/product", "OPTIONS")}
    ) as url:
        yield url


@pytest.fixture(scope="module")
def no_cors_header_api(local_cloud: Any, deployed_stack: dict[str, Any]) -> Iterator[str]:
    """The deployed API whose ``PATCH /product`` answers without Access-Control-Allow-Origin."""
    with twin_api(local_cloud, deployed_stack, "e2e-no-header", headerless_patch=True) as url:
        yield url


@pytest.fixture
def product(deployed_stack: dict[str, Any], request: pytest.FixtureRequest) -> Iterator[dict]:
    """A product created through the API for one test, deleted afterwards."""
    import requests

    api_url = deployed_stack["api_url"]
    safe_name = re.sub(r"[^a-zA-Z0-9]+", "-", request.node.name)[:40]
    item = {"productId": f"e2e-{safe_name}-{os.getpid()}", "name": "Blue mug", "price": 19.99}
    created = requests.post(f"{api_url}/product", json=item, timeout=10)
    assert created.status_code == 201, created.text
    try:
        yield item
    finally:
        requests.delete(f"{api_url}/product", json={"productId": item["productId"]}, timeout=10)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tag the tests by the tool they need (the markers are declared in pyproject.toml)."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            names = getattr(item, "fixturenames", ())
            if "newman" in names:
                item.add_marker(pytest.mark.newman)
            if {"browser", "page", "chromium_path"} & set(names):
                item.add_marker(pytest.mark.browser)
