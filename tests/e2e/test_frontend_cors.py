"""The browser front end and CORS, in headless Chromium.

The page (web/) is served by scripts/serve_frontend.py on its own origin, so every call to the
API is cross-origin. A PATCH with a JSON body is not a "simple" request: the browser first sends
an OPTIONS preflight and only sends the PATCH when the answer allows it. These tests show the
preflight passing against the deployed API, and the same PATCH failing — in the browser only —
in the two ways lab 04 demonstrates: without the OPTIONS method (the preflight gets a 403), and
without the function's Access-Control-Allow-Origin header (the PATCH runs, its answer is hidden).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any
from urllib.parse import quote

import pytest
import requests

from .chromium_cdp import Page
from .conftest import SERVE_FRONTEND, stop_process

# Resolves once the status line leaves "busy": {state, text}. The page sets data-state to
# ok / error / network-error when a request settles.
WAIT_FOR_STATUS = """
new Promise((resolve, reject) => {
  const started = Date.now();
  (function poll() {
    const status = document.getElementById("status");
    if (status.dataset.state !== "busy" && status.dataset.state !== "idle") {
      return resolve({ state: status.dataset.state, text: status.textContent });
    }
    if (Date.now() - started > 15000) {
      return reject(new Error("status still " + status.dataset.state + ": " + status.textContent));
    }
    setTimeout(poll, 20);
  })();
})
"""


def open_page(page: Page, frontend: str, api_url: str) -> Page:
    """Open the page as ``serve_frontend.py`` prints it: with ``?api=`` filled in."""
    page.navigate(f"{frontend}/?api={quote(api_url, safe=':/')}")
    return page


def submit_edit(page: Page, product_id: str, key: str, value: str) -> dict[str, str]:
    """Fill the PATCH form as a user would, submit it, and wait for the answer."""
    page.evaluate(
        f"""(() => {{
          const form = document.getElementById("edit-form");
          form.productId.value = {json.dumps(product_id)};
          form.updateKey.value = {json.dumps(key)};
          form.updateValue.value = {json.dumps(value)};
          document.getElementById("edit-submit").click();
        }})()"""
    )
    return page.evaluate(WAIT_FOR_STATUS)


def requests_to(page: Page, method: str, url: str) -> list[dict[str, Any]]:
    return [
        event
        for event in page.network_events("requestWillBeSent")
        if event["request"]["method"] == method and event["request"]["url"] == url
    ]


def responses_to(page: Page, url: str) -> list[dict[str, Any]]:
    return [e for e in page.network_events("responseReceived") if e["response"]["url"] == url]


def get_product(api_url: str, product_id: str) -> dict[str, Any]:
    answer = requests.get(f"{api_url}/product", params={"productId": product_id}, timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()


# -- the static server (no browser needed) ----------------------------------------------------


def test_frontend_is_served_on_its_own_origin(frontend, local_cloud):
    assert frontend.startswith("http://127.0.0.1:")
    assert frontend != local_cloud.gateway.rstrip("/"), "page and API must be different origins"
    page = requests.get(f"{frontend}/", timeout=5)
    assert page.status_code == 200
    assert '<script src="app.js"' in page.text
    assert page.headers["Cache-Control"] == "no-store"
    script = requests.get(f"{frontend}/app.js", timeout=5)
    assert script.status_code == 200
    assert "javascript" in script.headers["Content-Type"]
    assert requests.get(f"{frontend}/nothing-here.js", timeout=5).status_code == 404


def test_serve_frontend_prints_the_page_url_with_the_api_filled_in():
    api = "http://127.0.0.1:4567/abc123/prod"
    process = subprocess.Popen(  # noqa: S603
        [sys.executable, str(SERVE_FRONTEND), "--port", "0", "--api", api],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        line = process.stdout.readline()
        assert "http://127.0.0.1:" in line
        assert line.rstrip().endswith(f"/?api={api}")
    finally:
        stop_process(process)


def test_serve_frontend_looks_up_the_deployed_api(deployed_stack):
    # Run as a learner would, with no --api: it finds the owner's deployed API by name.
    process = subprocess.Popen(  # noqa: S603
        [sys.executable, str(SERVE_FRONTEND), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "WORKSHOP_OWNER": deployed_stack["owner"]},
    )
    try:
        line = process.stdout.readline()
        assert line.rstrip().endswith(f"/?api={deployed_stack['api_url']}")
    finally:
        stop_process(process)


def test_serve_frontend_refuses_a_busy_port_with_advice(frontend):
    busy_port = frontend.rsplit(":", 1)[1]
    result = subprocess.run(  # noqa: S603
        [sys.executable, str(SERVE_FRONTEND), "--port", busy_port, "--no-lookup"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 1
    assert f"port {busy_port}" in result.stderr and "--port" in result.stderr


# -- in the browser ---------------------------------------------------------------------------


def test_page_lists_products_from_the_api(page, deployed_stack, frontend, product):
    open_page(page, frontend, deployed_stack["api_url"])
    # The page loads the first page of /products on open (a simple GET: no preflight).
    status = page.evaluate(WAIT_FOR_STATUS)
    assert status["state"] == "ok", status["text"]
    page.evaluate('document.getElementById("page-size").value = "100"; true')
    page.evaluate('document.getElementById("first-page").click(); true')
    assert page.evaluate(WAIT_FOR_STATUS)["state"] == "ok"
    ids = page.evaluate(
        '[...document.querySelectorAll("#products-body tr")].map(r => r.dataset.productId)'
    )
    assert product["productId"] in ids
    # The API URL is remembered for the next visit.
    stored = page.evaluate('localStorage.getItem("inventory-api-url")')
    assert stored == deployed_stack["api_url"]


def test_preflighted_patch_succeeds_from_another_origin(page, deployed_stack, frontend, product):
    api_url = deployed_stack["api_url"]
    open_page(page, frontend, api_url)
    page.evaluate(WAIT_FOR_STATUS)

    status = submit_edit(page, product["productId"], "price", "24.5")

    assert status["state"] == "ok", status["text"]
    assert 'Updated attributes: {"price":24.5}' in status["text"]
    # The browser sent the preflight first, and API Gateway's OPTIONS mock allowed the PATCH.
    product_url = f"{api_url}/product"
    assert requests_to(page, "OPTIONS", product_url), "no CORS preflight was sent"
    assert requests_to(page, "PATCH", product_url)
    kinds = {(r["type"], r["response"]["status"]) for r in responses_to(page, product_url)}
    assert ("Preflight", 200) in kinds and ("Fetch", 200) in kinds
    preflight = next(r for r in responses_to(page, product_url) if r["type"] == "Preflight")
    allowed = {k.lower(): v for k, v in preflight["response"]["headers"].items()}
    assert allowed["access-control-allow-origin"] == "*"
    assert "PATCH" in allowed["access-control-allow-methods"]
    assert "content-type" in allowed["access-control-allow-headers"].lower()
    assert get_product(api_url, product["productId"])["price"] == 24.5


def test_page_shows_the_api_error_message(page, deployed_stack, frontend, product):
    open_page(page, frontend, deployed_stack["api_url"])
    page.evaluate(WAIT_FOR_STATUS)

    status = submit_edit(page, product["productId"], "productId", "something-else")

    assert status["state"] == "error"
    expected = requests.patch(
        f"{deployed_stack['api_url']}/product",
        json={"productId": product["productId"], "updateKey": "productId", "updateValue": "x"},
        timeout=10,
    )
    assert expected.status_code == 400
    # The page shows the status and the API's own words, not a generic "request failed".
    assert f"the API answered 400: {expected.json()['message']}" in status["text"]


def test_same_patch_fails_in_the_browser_without_the_options_method(
    page, no_options_api, frontend, product
):
    open_page(page, frontend, no_options_api)
    # GET /products is a simple request and the Lambda still sends Access-Control-Allow-Origin:
    # the list loads even without the OPTIONS method.
    listing = page.evaluate(WAIT_FOR_STATUS)
    assert listing["state"] == "ok", listing["text"]

    status = submit_edit(page, product["productId"], "price", "99")

    assert status["state"] == "network-error", status["text"]
    product_url = f"{no_options_api}/product"
    # JavaScript cannot learn why (browsers hide it), so the page names both suspects.
    assert f"PATCH {product_url} failed before any answer could be read (Failed to fetch)" in (
        status["text"]
    )
    assert "CORS" in status["text"] and "OPTIONS" in status["text"]
    # The preflight got API Gateway's 403 (no OPTIONS method), so the PATCH was never sent.
    preflights = [r for r in responses_to(page, product_url) if r["type"] == "Preflight"]
    assert [r["response"]["status"] for r in preflights] == [403]
    failed = [e for e in page.network_events("loadingFailed") if e.get("corsErrorStatus")]
    assert [e["corsErrorStatus"]["corsError"] for e in failed] == [
        "PreflightMissingAllowOriginHeader"
    ]
    # The console line lab 04 quotes, word for word.
    assert (
        f"Access to fetch at '{product_url}' from origin '{frontend}' has been blocked by CORS "
        "policy: Response to preflight request doesn't pass access control check: No "
        "'Access-Control-Allow-Origin' header is present on the requested resource."
    ) in page.console_errors()
    assert get_product(no_options_api, product["productId"])["price"] == 19.99

    # Outside a browser there is no CORS: the same PATCH works, which is why Postman "works".
    direct = requests.patch(
        product_url,
        json={"productId": product["productId"], "updateKey": "price", "updateValue": 99},
        timeout=10,
    )
    assert direct.status_code == 200, direct.text


def test_patch_fails_in_the_browser_when_the_lambda_sends_no_cors_header(
    page, no_cors_header_api, frontend, product
):
    open_page(page, frontend, no_cors_header_api)
    assert page.evaluate(WAIT_FOR_STATUS)["state"] == "ok"

    status = submit_edit(page, product["productId"], "price", "31")

    assert status["state"] == "network-error", status["text"]
    product_url = f"{no_cors_header_api}/product"
    # This time the preflight passes (the OPTIONS mock is there) and the PATCH is sent, but its
    # answer lacks Access-Control-Allow-Origin, so the browser hides it from the page.
    kinds = {(r["type"], r["response"]["status"]) for r in responses_to(page, product_url)}
    assert ("Preflight", 200) in kinds
    assert requests_to(page, "PATCH", product_url)
    failed = [e for e in page.network_events("loadingFailed") if e.get("corsErrorStatus")]
    assert [e["corsErrorStatus"]["corsError"] for e in failed] == ["MissingAllowOriginHeader"]
    assert (
        f"Access to fetch at '{product_url}' from origin '{frontend}' has been blocked by CORS "
        "policy: No 'Access-Control-Allow-Origin' header is present on the requested resource."
    ) in page.console_errors()
    # The lesson of this case: the browser reported a failure, yet the update happened.
    assert get_product(no_cors_header_api, product["productId"])["price"] == 31


@pytest.mark.parametrize("bad_url", ["not a url", "localhost:4567/abc/prod"])
def test_page_rejects_an_api_url_that_is_not_a_url(page, frontend, bad_url):
    page.navigate(f"{frontend}/?api={quote(bad_url)}")
    status = page.evaluate(
        '({state: document.getElementById("status").dataset.state,'
        ' text: document.getElementById("status").textContent})'
    )
    assert status["state"] == "error"
    assert f'"{bad_url}" is not a URL' in status["text"]
    # Nothing was fetched from a URL that is not one.
    fetched = [e for e in page.network_events("requestWillBeSent") if e.get("type") == "Fetch"]
    assert fetched == []
