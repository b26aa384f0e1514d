"""Fixtures for the notebook and deploy tests that run on the session's local cloud.

Each test module builds under owners of its own (never ``tester``, the shared stack's owner) and
removes everything those owners have at the end, with the workshop's own cleanup.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator

import pytest


@pytest.fixture(scope="module")
def owners_to_clean(local_cloud) -> Iterator[list[str]]:
    """Append an owner to this list; their resources are deleted when the module ends."""
    owners: list[str] = []
    yield owners
    from workshop.cleanup import Cleaner, Clients
    from workshop.target import connect

    target = connect(quiet=True)
    cleaner = Cleaner(Clients(region=target.region), out=io.StringIO(), poll_interval=0.05)
    for owner in owners:
        cleaner.run(owner)


@pytest.fixture
def as_owner(monkeypatch, owners_to_clean) -> Callable[[str], str]:
    """``as_owner("x")``: WORKSHOP_OWNER=x for this test, and x's resources go at module end."""

    def switch(owner: str) -> str:
        monkeypatch.setenv("WORKSHOP_OWNER", owner)
        if owner not in owners_to_clean:
            owners_to_clean.append(owner)
        return owner

    return switch
