"""Which requests change the local cloud, and the readers-writer pause around a snapshot."""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from workshop.localcloud.snapshots.guard import RequestGuard, StateGuard, is_changing


def environ(
    method: str = "POST",
    path: str = "/",
    *,
    target: str | None = None,
    form: str | None = None,
    query: str = "",
) -> dict[str, Any]:
    body = (form or "").encode()
    env: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
    }
    if target:
        env["HTTP_X_AMZ_TARGET"] = target
        env["CONTENT_TYPE"] = "application/x-amz-json-1.0"
    if form is not None:
        env["CONTENT_TYPE"] = "application/x-www-form-urlencoded; charset=utf-8"
    return env


@pytest.mark.parametrize(
    "request_environ, changing",
    [
        # JSON protocol: the operation is in X-Amz-Target, every call is a POST.
        (environ(target="DynamoDB_20120810.PutItem"), True),
        (environ(target="DynamoDB_20120810.UpdateItem"), True),
        (environ(target="DynamoDB_20120810.DeleteTable"), True),
        (environ(target="DynamoDB_20120810.BatchWriteItem"), True),
        (environ(target="DynamoDB_20120810.ExecuteStatement"), True),  # may be an UPDATE
        (environ(target="DynamoDB_20120810.GetItem"), False),
        (environ(target="DynamoDB_20120810.Scan"), False),
        (environ(target="DynamoDB_20120810.Query"), False),
        (environ(target="DynamoDB_20120810.DescribeTable"), False),
        (environ(target="DynamoDB_20120810.BatchGetItem"), False),
        (environ(target="Logs_20140328.PutLogEvents"), True),
        (environ(target="Logs_20140328.FilterLogEvents"), False),
        # Query protocol: Action in the form body or the query string.
        (environ(form="Action=CreateRole&Version=2010-05-08&RoleName=r"), True),
        (environ(form="Action=AttachRolePolicy&Version=2010-05-08"), True),
        (environ(form="Action=GetRole&Version=2010-05-08&RoleName=r"), False),
        (environ(form="Action=ListRoles&Version=2010-05-08"), False),
        (environ(form="Action=GetCallerIdentity&Version=2011-06-15"), False),
        (environ("GET", query="Action=ListUsers&Version=2010-05-08"), False),
        # REST protocols: the method says it.
        (environ("GET", "/2015-03-31/functions/fn"), False),
        (environ("POST", "/2015-03-31/functions"), True),
        (environ("PUT", "/2015-03-31/functions/fn/code"), True),
        (environ("DELETE", "/restapis/abc"), True),
        (environ("PATCH", "/restapis/abc/stages/prod"), True),
        (environ("POST", "/restapis/abc/deployments"), True),
        (environ("HEAD", "/bucket/key"), False),
        # Invoke changes nothing in moto itself; what the function writes arrives on its own.
        (environ("POST", "/2015-03-31/functions/fn/invocations"), False),
        (
            environ(
                "POST",
                "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A1%3Afunction%3Afn/invocations",
            ),
            False,
        ),
        (environ("POST", "/2014-11-13/functions/fn/invoke-async/"), False),
        (environ("POST", "/2015-03-31/functions/fn/invocations/extra"), True),
        # The local cloud's own routes.
        (environ("GET", "/_localcloud/health"), False),
        # Unknown: a snapshot too many costs milliseconds, one too few loses work.
        (environ("POST", "/", form="Version=2010-05-08"), True),
        (environ("POST", "/something"), True),
    ],
)
def test_changing_requests_are_recognised(request_environ: dict[str, Any], changing: bool) -> None:
    assert is_changing(request_environ) is changing


def test_a_form_body_read_for_its_action_is_given_back_to_moto() -> None:
    body = "Action=CreateRole&RoleName=r&AssumeRolePolicyDocument=%7B%7D"
    env = environ(form=body)
    assert is_changing(env)
    assert env["wsgi.input"].read() == body.encode()


def test_an_upload_is_not_read_to_find_an_action() -> None:
    env = environ(form="x" * 10)
    env["CONTENT_LENGTH"] = str(10 * 1024 * 1024)
    sentinel = env["wsgi.input"]
    assert is_changing(env)
    assert env["wsgi.input"] is sentinel


# -- the lock -------------------------------------------------------------------------------------


def test_a_snapshot_waits_for_changing_requests_then_holds_new_ones_back() -> None:
    guard = StateGuard(writer_patience_s=5)
    inside, leave, order = threading.Event(), threading.Event(), []

    def request(name: str, hold: threading.Event | None) -> None:
        with guard.changing():
            order.append(f"{name} in")
            inside.set()
            if hold:
                hold.wait(5)
            order.append(f"{name} out")

    first = threading.Thread(target=request, args=("first", leave))
    first.start()
    inside.wait(5)

    def snapshot() -> None:
        with guard.exclusive() as acquired:
            order.append(f"snapshot {acquired}")
            time.sleep(0.05)
            order.append("snapshot done")

    taker = threading.Thread(target=snapshot)
    taker.start()
    while not guard._writer_waiting:  # noqa: SLF001 - wait for the snapshot to queue
        time.sleep(0.001)
    second = threading.Thread(target=request, args=("second", None))
    second.start()
    time.sleep(0.05)
    leave.set()
    for thread in (first, taker, second):
        thread.join(5)
    assert order == [
        "first in",
        "first out",
        "snapshot True",
        "snapshot done",
        "second in",
        "second out",
    ]


def test_a_snapshot_gives_way_after_its_patience_and_requests_go_on() -> None:
    guard = StateGuard(writer_patience_s=0.05)
    inside, leave = threading.Event(), threading.Event()

    def long_request() -> None:
        with guard.changing():
            inside.set()
            leave.wait(5)

    holder = threading.Thread(target=long_request)
    holder.start()
    inside.wait(5)
    with guard.exclusive() as acquired:
        assert acquired is False
    # Another changing request is not held back once the snapshot gave way.
    done = threading.Event()

    def quick() -> None:
        with guard.changing():
            done.set()

    threading.Thread(target=quick).start()
    assert done.wait(2)
    leave.set()
    holder.join(5)


def test_the_shared_side_is_reentrant_in_one_thread() -> None:
    guard = StateGuard(writer_patience_s=0.05)
    with guard.changing(), guard.changing():  # a log write inside a changing request
        pass
    with guard.exclusive() as acquired:
        assert acquired is True


def test_changes_mark_dirty_and_a_snapshot_clears_it() -> None:
    guard = StateGuard()
    assert not guard.dirty
    with guard.changing():
        pass
    assert guard.dirty and guard.changed.is_set() and guard.changes == 1
    with guard.exclusive() as acquired:
        assert acquired and not guard.dirty
        guard.mark_dirty()  # a change after the copy belongs to the next snapshot
    assert guard.dirty


# -- the middleware -------------------------------------------------------------------------------


def test_the_middleware_holds_the_shared_side_while_moto_answers() -> None:
    guard = StateGuard()
    seen: list[int] = []

    class Answer:
        closed = False

        def __iter__(self) -> Iterator[bytes]:
            seen.append(guard._readers)  # noqa: SLF001 - drained under the lock
            yield b"ok"

        def close(self) -> None:
            Answer.closed = True

    def moto(env: dict[str, Any], start_response: Any) -> Any:
        seen.append(guard._readers)  # noqa: SLF001
        start_response("200 OK", [])
        return Answer()

    app = RequestGuard(moto, guard)
    body = app(environ(target="DynamoDB_20120810.PutItem"), lambda *a: None)
    assert body == [b"ok"] and seen == [1, 1] and Answer.closed and guard.dirty
    seen.clear()
    reader = StateGuard()
    RequestGuard(moto, reader)(environ(target="DynamoDB_20120810.GetItem"), lambda *a: None)
    assert not reader.dirty


def test_the_control_route_says_when_snapshots_are_off(monkeypatch: pytest.MonkeyPatch) -> None:
    from workshop.localcloud.snapshots import guard

    monkeypatch.setattr(guard, "_control_app", None)  # no keeper runs in this process
    answers: list[str] = []
    app = RequestGuard(lambda env, sr: [b"moto"], StateGuard())
    request = environ("GET", "/_localcloud/snapshot")
    request["HTTP_HOST"] = "127.0.0.1:4566"
    body = app(request, lambda status, headers: answers.append(status))
    assert answers == ["404 Not Found"] and b"snapshots are off" in b"".join(body)


@pytest.mark.parametrize(
    "headers",
    [
        {"HTTP_HOST": "127.0.0.1:4566", "HTTP_ORIGIN": "https://evil.example"},
        {"HTTP_HOST": "rebound.example:4566"},
    ],
    ids=["a-page", "a-rebound-name"],
)
def test_no_web_page_can_drive_the_control_route(headers: dict[str, str]) -> None:
    answers: list[str] = []
    env = environ("POST", "/_localcloud/snapshot")
    env.update(headers)
    RequestGuard(lambda e, sr: [b"moto"], StateGuard())(
        env, lambda status, h: answers.append(status)
    )
    assert answers == ["403 Forbidden"]
