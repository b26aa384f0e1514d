"""``not_created`` and ``ready``: how a notebook goes on after a create cell that made nothing."""

from __future__ import annotations

import pytest

from workshop.notebooks import not_created, ready


def test_not_created_prints_what_is_missing_and_the_fix_without_raising(capsys):
    assert not_created("table t1", "call create_table above") is None
    assert capsys.readouterr().out == "NOT CREATED: there is no table t1: call create_table above\n"


@pytest.mark.parametrize("missing", [None, "", False, {}, 0])
def test_ready_says_skipped_once_when_the_resource_is_missing(capsys, missing):
    assert ready(missing, "role r1") is False
    assert capsys.readouterr().out == "skipped: role r1 does not exist yet (see above)\n"


@pytest.mark.parametrize("present", ["arn:aws:iam::123456789012:role/r1", "ACTIVE", "abc123", True])
def test_ready_is_silent_when_the_resource_exists(capsys, present):
    assert ready(present, "role r1") is True
    assert capsys.readouterr().out == ""
