"""Lab 08's clients: the browser page and the Postman environment send the API key and token.

A stack protected by lab 08 (``deploy(through=8)``, an owner of its own so the shared stack stays
open) is called from the page in headless Chromium: a keyed, authorized PATCH passes its
preflight and succeeds; without the credentials the page shows API Gateway's 401.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
import requests

from .test_frontend_cors import WAIT_FOR_STATUS, requests_to, responses_to, submit_edit

OWNER = "e2e-protected"


@pytest.fixture(scope="module")
def protected_stack(local_cloud) -> Iterator[dict[str, Any]]:
    from workshop.deploy import deploy
    from workshop.naming import resource_names
    from workshop.protection import api_credentials

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("WORKSHOP_OWNER", OWNER)
        stack = deploy(through=8, quiet=True)
        stack["credentials"] = api_credentials(resource_names(OWNER))
        yield stack


@pytest.fixture
def protected_product(protected_stack) -> Iterator[str]:
    product_id = "e2e-lab08-mug"
    url = protected_stack["api_url"] + "/product"
    headers = protected_stack["credentials"]
    requests.delete(url, json={"productId": product_id}, headers=headers, timeout=10)
    created = requests.post(url, json={"productId": product_id, "price": 1}, headers=headers, timeout=10)
    assert created.status_code == 201, created.text
    yield product_id
    requests.delete(url, json={"productId": product_id}, headers=headers, timeout=10)


def page_url(frontend: str, stack: dict[str, Any], with_credentials: bool) -> str:
    import sys

    from workshop.paths import REPO_ROOT

    sys.path.insert(0, str(REPO_ROOT / "scripts"))
    from serve_frontend import page_url as script_page_url  # the URL the script prints

    port = int(frontend.rsplit(":", 1)[1])
    return script_page_url(port, stack["api_url"], stack["credentials"] if with_credentials else None)


def test_serve_frontend_puts_key_and_token_in_the_fragment_only():
    import sys

    from workshop.paths import REPO_ROOT

    sys.path.insert(0, str(REPO_ROOT / "scripts"))
    from serve_frontend import page_url as script_page_url

    url = script_page_url(8000, "http://127.0.0.1:4567/abc/prod",
                          {"x-api-key": "k/ey+1", "Authorization": "Bearer clerk.s+g"})
    assert url == (f"http://127.0.0.1:8000/?api={quote('http://127.0.0.1:4567/abc/prod', safe=':/')}"
                   "#apiKey=k%2Fey%2B1&token=clerk.s%2Bg")
    assert script_page_url(8000, "http://x/prod", {}) == "http://127.0.0.1:8000/?api=http://x/prod"


def test_a_keyed_authorized_patch_succeeds_from_the_page(page, protected_stack, frontend, protected_product):
    api_url = protected_stack["api_url"]
    page.navigate(page_url(frontend, protected_stack, with_credentials=True))
    page.evaluate(WAIT_FOR_STATUS)

    status = submit_edit(page, protected_product, "price", "24.5")

    assert status["state"] == "ok", status["text"]
    product_url = f"{api_url}/product"
    (patch,) = requests_to(page, "PATCH", product_url)
    sent = {key.lower(): value for key, value in patch["request"]["headers"].items()}
    assert sent["x-api-key"] == protected_stack["credentials"]["x-api-key"]
    assert sent["authorization"] == protected_stack["credentials"]["Authorization"]
    preflight = next(r for r in responses_to(page, product_url) if r["type"] == "Preflight")
    allowed = {k.lower(): v for k, v in preflight["response"]["headers"].items()}
    assert {"x-api-key", "authorization"} <= {h.strip().lower() for h in allowed["access-control-allow-headers"].split(",")}
    stored = requests.get(product_url, params={"productId": protected_product}, timeout=10).json()
    assert stored["price"] == 24.5


def test_without_credentials_the_page_shows_api_gateways_401(page, protected_stack, frontend, protected_product):
    page.navigate(page_url(frontend, protected_stack, with_credentials=False))
    page.evaluate(WAIT_FOR_STATUS)  # reads stay open: the list loads

    status = submit_edit(page, protected_product, "price", "99")

    assert status["state"] == "error"
    assert "the API answered 401: Unauthorized" in status["text"]
    stored = requests.get(f"{protected_stack['api_url']}/product", params={"productId": protected_product},
                          timeout=10).json()
    assert stored["price"] == 1


def test_the_postman_environment_carries_key_and_token(protected_stack, tmp_path, monkeypatch):
    import sys

    from workshop.paths import REPO_ROOT

    sys.path.insert(0, str(REPO_ROOT / "scripts"))
    import postman_env

    monkeypatch.setenv("WORKSHOP_OWNER", OWNER)
    out = tmp_path / "env.json"
    assert postman_env.main(["--out", str(out)]) == 0
    values = {item["key"]: item["value"] for item in json.loads(out.read_text())["values"]}
    assert values["apiKey"] == protected_stack["credentials"]["x-api-key"]
    assert "Bearer " + values["token"] == protected_stack["credentials"]["Authorization"]


def test_newman_runs_the_crud_flow_against_the_protected_stack(newman, protected_stack, tmp_path, monkeypatch):
    # The collection's pre-request script sends {{apiKey}} and {{token}} on every write.
    import sys

    from workshop.paths import REPO_ROOT

    from .test_postman_collection import run_newman

    sys.path.insert(0, str(REPO_ROOT / "scripts"))
    import postman_env

    monkeypatch.setenv("WORKSHOP_OWNER", OWNER)
    environment = tmp_path / "protected.postman_environment.json"
    assert postman_env.main(["--out", str(environment)]) == 0
    stats = run_newman(newman, environment, tmp_path / "report.json", "--folder", "02 CRUD flow")
    assert stats["assertions"]["failed"] == 0 and stats["assertions"]["total"] > 0

    # without the credentials, the same writes are refused by API Gateway
    env = json.loads(environment.read_text())
    env["values"] = [value for value in env["values"] if value["key"] == "baseUrl"]
    bare = tmp_path / "bare.postman_environment.json"
    bare.write_text(json.dumps(env))
    with pytest.raises(AssertionError):
        run_newman(newman, bare, tmp_path / "bare-report.json", "--folder", "02 CRUD flow")
