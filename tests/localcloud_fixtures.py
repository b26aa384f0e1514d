"""The shared ``local_cloud`` fixture: one real local cloud for the whole test session.

Loaded by tests/conftest.py. The local cloud is started as a detached subprocess, exactly as
``python scripts/local_cloud.py up`` does, but on free ports and in its own temporary state
folder, so a learner's running local cloud (ports 4566/4567, .workshop/) is never touched.

While the session runs, ``AWS_ENDPOINT_URL`` points at it (so a plain ``boto3.client("...")``
reaches it) and ``WORKSHOP_STATE_DIR`` names its folder (so ``workshop.target.connect()`` and
``ensure_running()`` find this one instead of starting another). Both are restored afterwards,
and the local cloud is stopped even when a test or the start itself fails.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Iterator

import pytest

_ENV_KEYS = ("AWS_ENDPOINT_URL", "WORKSHOP_STATE_DIR")


def _stop_leftover(state_dir: str) -> None:
    """A safety net: code under test that called ``ensure_running()`` without this fixture
    started a local cloud in the suite's state folder; it must not outlive the test run."""
    try:
        from workshop.localcloud import lifecycle

        lifecycle.stop(state_dir)
    except Exception:  # noqa: BLE001 - nothing useful to do at interpreter exit
        pass


if os.environ.get("WORKSHOP_STATE_DIR"):
    atexit.register(_stop_leftover, os.environ["WORKSHOP_STATE_DIR"])


@pytest.fixture(scope="session")
def local_cloud() -> Iterator[object]:
    """A running local cloud (a ``LocalCloudInfo``: endpoint, gateway, pid, state_dir, ...)."""
    from workshop.localcloud import lifecycle

    saved = {key: os.environ.get(key) for key in _ENV_KEYS}
    state_dir = tempfile.mkdtemp(prefix="workshop-localcloud-")
    os.environ["WORKSHOP_STATE_DIR"] = state_dir
    try:
        info = lifecycle.start(endpoint_port=0, gateway_port=0, state_dir=state_dir)
        os.environ["AWS_ENDPOINT_URL"] = info.endpoint
        yield info
    finally:
        try:
            lifecycle.stop(state_dir)
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
            shutil.rmtree(state_dir, ignore_errors=True)
