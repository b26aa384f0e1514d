"""A stack of its own for the property-based tests: their generated products never reach the
stack the rest of the suite shares (whose product counts other tests rely on)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

CONTRACT_OWNER = "contract"


@pytest.fixture(scope="session")
def contract_stack(local_cloud) -> Iterator[dict]:
    """The reference stack built for the owner ``contract`` on the shared local cloud.

    The owner is switched only while the stack is built: the rest of the session keeps its own.
    """
    from workshop.deploy import deploy

    saved = os.environ.get("WORKSHOP_OWNER")
    os.environ["WORKSHOP_OWNER"] = CONTRACT_OWNER
    try:
        stack = deploy(quiet=True)
    finally:
        if saved is None:
            os.environ.pop("WORKSHOP_OWNER", None)
        else:
            os.environ["WORKSHOP_OWNER"] = saved
    yield stack
