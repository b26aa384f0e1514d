"""Large requests have their memory released soon after (workshop/localcloud/memory_release).

GIVEN requests with large bodies (a Lambda code package, a big event through the gateway)
THEN one full collection runs once they stop arriving, and small requests never cause one.
The memory figures themselves are shown by measurement (see the module docstring), not
asserted here: resident memory depends on the allocator and the machine.
"""

from __future__ import annotations

import os
import threading
import time

import pytest
import requests
from localcloud_support import make_zip, unique

from workshop.localcloud import memory_release
from workshop.localcloud.memory_release import LARGE_BODY_BYTES, MemoryReleaser


def _wait_for(condition, timeout: float = 5.0) -> bool:  # noqa: ANN001 - a callable
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


# -- the releaser on its own ------------------------------------------------------------------


def test_small_bodies_never_schedule_a_collection():
    calls = []
    releaser = MemoryReleaser(lambda: calls.append(1), quiet_s=0.05)
    for size in (0, 1, 10_000, LARGE_BODY_BYTES - 1):
        releaser.note_request(size)
    time.sleep(0.3)
    assert calls == [] and releaser.collections == 0


def test_a_burst_of_large_bodies_costs_one_collection_after_it_ends():
    calls = []
    releaser = MemoryReleaser(lambda: calls.append(time.monotonic()), quiet_s=0.2)
    started = time.monotonic()
    for _ in range(5):
        releaser.note_request(LARGE_BODY_BYTES)
        last = time.monotonic()
        time.sleep(0.05)
    assert _wait_for(lambda: calls, timeout=3)
    time.sleep(0.4)
    assert len(calls) == 1
    assert calls[0] - last >= 0.19, "collected before the burst was over"
    assert calls[0] - started < 2


def test_later_bursts_are_collected_again():
    calls = []
    releaser = MemoryReleaser(lambda: calls.append(1), quiet_s=0.05)
    for expected in (1, 2, 3):
        releaser.note_request(5 * LARGE_BODY_BYTES)
        assert _wait_for(lambda expected=expected: len(calls) == expected)


def test_a_failing_collection_is_logged_and_the_releaser_goes_on(caplog):
    outcomes = iter([RuntimeError("boom"), None])

    def collect() -> None:
        outcome = next(outcomes)
        if outcome is not None:
            raise outcome

    releaser = MemoryReleaser(collect, quiet_s=0.05)
    releaser.note_request(LARGE_BODY_BYTES)
    assert _wait_for(lambda: releaser.collections == 1)
    assert "releasing memory after a large request failed" in caplog.text
    releaser.note_request(LARGE_BODY_BYTES)
    assert _wait_for(lambda: releaser.collections == 2)


def test_concurrent_large_requests_start_one_thread():
    releaser = MemoryReleaser(lambda: time.sleep(0.05), quiet_s=0.1)
    before = threading.active_count()
    threads = [
        threading.Thread(target=releaser.note_request, args=(LARGE_BODY_BYTES,)) for _ in range(16)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert threading.active_count() <= before + 1
    assert _wait_for(lambda: releaser.collections >= 1)


def test_the_default_collection_runs_a_full_collection(monkeypatch):
    collected = []
    monkeypatch.setattr(memory_release.gc, "collect", lambda *a: collected.append(a) or 0)
    releaser = MemoryReleaser(quiet_s=0.05)
    releaser.note_request(LARGE_BODY_BYTES)
    assert _wait_for(lambda: collected and releaser.collections == 1)


# -- through the local cloud's two fronts -----------------------------------------------------


@pytest.fixture
def counted(monkeypatch):  # noqa: ANN201 - a list of collection times
    """The local cloud's releaser, counting instead of collecting, with a short quiet time."""
    calls: list[float] = []
    releaser = MemoryReleaser(lambda: calls.append(time.monotonic()), quiet_s=0.1)
    monkeypatch.setattr(memory_release, "RELEASER", releaser)
    return calls


def test_a_large_code_package_is_followed_by_a_collection(cloud, counted):
    code = make_zip({"app.py": "def handler(e, c):\n    return 1\n"})
    cloud.client("lambda").list_functions()  # small: nothing
    time.sleep(0.3)
    assert counted == []
    padding = os.urandom(2 * LARGE_BODY_BYTES).hex()  # a 4 MB module: the package is large
    name = cloud.deploy({"app.py": "def handler(e, c):\n    return 1\n", "pad.py": f"P = '{padding}'\n"})
    assert _wait_for(lambda: len(counted) == 1), "no collection after a large CreateFunction"
    cloud.client("lambda").update_function_code(FunctionName=name, ZipFile=code)  # small again
    time.sleep(0.3)
    assert len(counted) == 1


def test_a_large_body_through_the_gateway_is_followed_by_a_collection(cloud, counted):
    url = f"{cloud.server.gateway}/{unique('noapi')}/prod/product"
    answer = requests.post(url, data=b"x" * 100, timeout=10)
    assert answer.status_code == 403
    time.sleep(0.3)
    assert counted == []
    answer = requests.post(url, data=b"x" * (LARGE_BODY_BYTES + 1), timeout=30)
    assert answer.status_code == 403
    assert _wait_for(lambda: len(counted) == 1), "no collection after a large gateway request"
