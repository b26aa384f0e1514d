"""Lab 08 over HTTP: POST /product/stock's contract, and the protected write methods.

The stack is built by ``deploy(through=8)`` (the notebooks' build cells) for an owner of its
own, so the session's shared ``deployed_stack`` (unprotected, labs 01-04) is not changed. Every
write sends the API key and the authorizer's token from ``api_credentials``, as a client of a
lab 08 stack must.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests

pytestmark = pytest.mark.localcloud

OWNER = "stock-contract"
TIMEOUT_S = 60


@pytest.fixture(scope="module")
def stack(local_cloud) -> Iterator[dict[str, Any]]:
    from workshop.deploy import deploy, missing_labs
    from workshop.naming import resource_names
    from workshop.protection import api_credentials

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("WORKSHOP_OWNER", OWNER)
        names = resource_names()
        assert 8 in missing_labs(8, names)
        built = deploy(through=8, quiet=True)
        assert missing_labs(8, names) == []
        built["credentials"] = api_credentials(names)
        built["auditor"] = api_credentials(names, clerk="auditor")
        yield built


@pytest.fixture(scope="module")
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


@pytest.fixture(scope="module")
def api(stack, http):
    def call(method: str, path: str, *, credentials: dict[str, str] | None = None, **kwargs: Any) -> requests.Response:
        """One request; a 429 from the usage plan's throttle (the concurrency tests spend its
        burst) is retried after a pause, as a well-behaved client does."""
        headers = {**(stack["credentials"] if credentials is None else credentials), **kwargs.pop("headers", {})}
        for attempt in range(1, 30):
            response = http.request(method, stack["api_url"] + path, headers=headers, timeout=TIMEOUT_S, **kwargs)
            if response.status_code != 429 or response.json() != {"message": "Too Many Requests"}:
                return response
            time.sleep(0.05 * attempt)
        return response

    return call


def new_product(api, quantity: Any = None) -> str:
    product_id = f"stock-{uuid.uuid4().hex[:12]}"
    item: dict[str, Any] = {"productId": product_id, "name": "Mug"}
    if quantity is not None:
        item["quantity"] = quantity
    assert api("POST", "/product", json=item).status_code == 201
    return product_id


def quantity_of(api, product_id: str) -> Any:
    return api("GET", "/product", params={"productId": product_id}).json().get("quantity")


def test_credentials_are_a_key_and_a_bearer_token(stack):
    assert set(stack["credentials"]) == {"x-api-key", "Authorization"}
    assert stack["credentials"]["Authorization"].startswith("Bearer clerk.")


# --- POST /product/stock: every status ------------------------------------------------------------


def test_a_change_answers_200_with_the_new_quantity(api):
    product_id = new_product(api, 10)
    response = api("POST", "/product/stock", json={"productId": product_id, "change": -3})
    assert response.status_code == 200, response.text
    assert response.json() == {"Operation": "ADJUST", "Message": "SUCCESS", "productId": product_id, "quantity": 7}
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert quantity_of(api, product_id) == 7


def test_a_product_without_quantity_starts_at_zero(api):
    product_id = new_product(api)
    assert api("POST", "/product/stock", json={"productId": product_id, "change": -1}).status_code == 409
    response = api("POST", "/product/stock", json={"productId": product_id, "change": 4})
    assert response.json()["quantity"] == 4


def test_below_zero_is_409_and_changes_nothing(api):
    product_id = new_product(api, 2)
    response = api("POST", "/product/stock", json={"productId": product_id, "change": -3})
    assert response.status_code == 409
    assert response.json() == {
        "message": f'Not enough stock of "{product_id}": 2 left, 3 asked for. Nothing was changed.'
    }
    assert quantity_of(api, product_id) == 2


def test_an_unknown_product_is_404_and_never_created(api):
    product_id = f"ghost-{uuid.uuid4().hex[:8]}"
    response = api("POST", "/product/stock", json={"productId": product_id, "change": 5})
    assert response.status_code == 404
    assert api("GET", "/product", params={"productId": product_id}).status_code == 404


@pytest.mark.parametrize("change", [None, 0, "3", True, 1.5, 10**7, [1]])
def test_a_bad_change_is_400(api, change):
    product_id = new_product(api, 5)
    body: dict[str, Any] = {"productId": product_id}
    if change is not None:
        body["change"] = change
    response = api("POST", "/product/stock", json=body)
    assert response.status_code == 400
    assert list(response.json()) == ["message"]
    assert quantity_of(api, product_id) == 5


def test_the_preflight_allows_the_key_and_token_headers(api):
    response = api("OPTIONS", "/product/stock", credentials={}, headers={
        "Origin": "http://localhost:8000", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,x-api-key,authorization"})
    assert response.status_code == 200
    allowed = response.headers["Access-Control-Allow-Headers"].lower()
    assert "x-api-key" in allowed and "authorization" in allowed
    assert "POST" in response.headers["Access-Control-Allow-Methods"]


# --- concurrency ---------------------------------------------------------------------------------


def post_change(session: requests.Session, stack: dict[str, Any], product_id: str, change: int) -> int:
    """POST one change as a well-behaved client does: a 429 from the usage plan's throttle (rate
    50/s, burst 100 in lab 08) is retried after a short pause, so every change is applied once."""
    for attempt in range(1, 60):
        response = session.post(stack["api_url"] + "/product/stock", headers=stack["credentials"],
                                json={"productId": product_id, "change": change}, timeout=TIMEOUT_S)
        if response.status_code != 429:
            return response.status_code
        assert response.json() == {"message": "Too Many Requests"}
        time.sleep(0.05 * attempt)
    return 429


def test_twenty_concurrent_clients_lose_no_change(api, stack):
    # GIVEN 100 in stock, and 20 clients that each add 3 and take 2, five times, all at once
    product_id = new_product(api, 100)
    barrier = threading.Barrier(20)
    statuses: list[int] = []
    lock = threading.Lock()

    def client() -> None:
        with requests.Session() as session:
            for _ in range(5):
                barrier.wait()
                for change in (3, -2):
                    status = post_change(session, stack, product_id, change)
                    with lock:
                        statuses.append(status)

    threads = [threading.Thread(target=client) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # THEN every one of the 200 changes was applied: 100 + 20 * 5 * (3 - 2)
    assert statuses.count(200) == 200, sorted(set(statuses))
    assert quantity_of(api, product_id) == 200


def test_concurrent_sales_of_the_last_items_never_oversell(api, stack):
    product_id = new_product(api, 7)
    barrier = threading.Barrier(20)
    statuses: list[int] = []
    lock = threading.Lock()

    def clerk() -> None:
        barrier.wait()
        with requests.Session() as session:
            status = post_change(session, stack, product_id, -1)
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=clerk) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert (statuses.count(200), statuses.count(409)) == (7, 13)
    assert quantity_of(api, product_id) == 0


# --- the protection ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sent", "status", "body"),
    [
        ("nothing", 401, {"message": "Unauthorized"}),
        ("a malformed token", 401, {"message": "Unauthorized"}),
        ("a forged token", 401, {"message": "Unauthorized"}),
        ("the token only", 403, {"message": "Forbidden"}),
        ("a wrong key", 403, {"message": "Forbidden"}),
        ("the auditor", 403, {"Message": "User is not authorized to access this resource with an explicit deny"}),
    ],
)
@pytest.mark.parametrize(("method", "path"), [("POST", "/product/stock"), ("PATCH", "/product"), ("DELETE", "/product"), ("POST", "/product")])
def test_write_methods_refuse_callers_without_token_and_key(api, stack, sent, status, body, method, path):
    product_id = new_product(api, 5)
    good = stack["credentials"]
    credentials = {
        "nothing": {},
        "a malformed token": {"x-api-key": good["x-api-key"], "Authorization": "token"},
        "a forged token": {"x-api-key": good["x-api-key"], "Authorization": "Bearer clerk." + "A" * 43},
        "the token only": {"Authorization": good["Authorization"]},
        "a wrong key": {"Authorization": good["Authorization"], "x-api-key": "x" * 40},
        "the auditor": stack["auditor"],
    }[sent]
    payload = {"POST /product/stock": {"productId": product_id, "change": -1},
               "PATCH /product": {"productId": product_id, "updateKey": "quantity", "updateValue": 0},
               "DELETE /product": {"productId": product_id},
               "POST /product": {"productId": f"new-{uuid.uuid4().hex[:8]}"}}[f"{method} {path}"]
    response = api(method, path, credentials=credentials, json=payload)
    assert (response.status_code, response.json()) == (status, body)
    assert quantity_of(api, product_id) == 5


def test_reads_stay_open(api):
    product_id = new_product(api, 5)
    assert api("GET", "/product", credentials={}, params={"productId": product_id}).status_code == 200
    assert api("GET", "/products", credentials={}, params={"limit": "1"}).status_code == 200
    assert api("GET", "/health", credentials={}).status_code == 200


def test_deploying_again_changes_nothing(stack):
    from workshop.deploy import deploy
    from workshop.protection import api_credentials

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("WORKSHOP_OWNER", OWNER)
        again = deploy(through=8, quiet=True)
        assert again["api_id"] == stack["api_id"]
        assert api_credentials() == stack["credentials"]


def test_check_py_08_passes_and_lab_05_still_does_on_the_protected_stack(stack):
    # check.py's live requests send lab 08's credentials once they exist
    from workshop.checks import Checker
    from workshop.target import connect

    results = Checker(connect(quiet=True), OWNER, lambda_dir=None).run(["04", "05", "08"])
    assert [(r.lab, r.title, r.detail) for r in results if not r.passed] == []
    assert {r.lab for r in results} == {"04", "05", "08"}
    assert sum(r.lab == "08" for r in results) >= 10


def test_check_py_08_fails_with_hints_when_lab_08_is_missing(deployed_stack):
    from workshop.checks import Checker
    from workshop.target import connect

    results = Checker(connect(quiet=True), "tester", lambda_dir=None).run(["08"])
    failed = [r for r in results if not r.passed]
    assert failed and all("lab 08" in r.hint for r in failed)


def test_cleanup_removes_all_of_lab_08_and_check_07_then_passes(stack):
    # Runs last in this module: it deletes the module's stack.
    import io

    from workshop.checks import Checker
    from workshop.cleanup import Cleaner, Clients, discover
    from workshop.protection import protection_names
    from workshop.naming import resource_names
    from workshop.target import connect

    guard = protection_names(resource_names(OWNER))
    out = io.StringIO()
    report = Cleaner(Clients(region=stack["region"]), out=out, sleep=lambda seconds: None,
                     poll_interval=0).run(OWNER)
    assert report.ok, out.getvalue()
    deleted = {(outcome.resource.kind, outcome.resource.name) for outcome in report.outcomes}
    assert {("usage-plan", guard.usage_plan), ("api-key", guard.api_key),
            ("function", guard.authorizer_function), ("role", guard.authorizer_role),
            ("log-group", guard.authorizer_log_group)} <= deleted
    assert discover(OWNER, clients=Clients(region=stack["region"])) == []
    results = Checker(connect(quiet=True), OWNER, lambda_dir=None).run(["07"])
    assert all(result.passed for result in results), [(r.title, r.detail) for r in results if not r.passed]
