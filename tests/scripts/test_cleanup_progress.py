"""Cleanup's long waits: a live countdown or status line in a terminal, plain lines elsewhere.

GIVEN an output stream that is (or is not) a terminal and a fake clock
WHEN cleanup waits for a quota or polls a table
THEN a terminal sees tqdm redraws and one closing line, a notebook or log sees exactly one plain
line per wait or poll, and the time waited is exactly the time asked for.
"""

from __future__ import annotations

import io

import pytest

from workshop.cleanup.progress import StatusLine, countdown


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class Clock:
    def __init__(self) -> None:
        self.slept: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)


def test_a_countdown_outside_a_terminal_is_one_plain_line_and_one_sleep():
    out, clock = io.StringIO(), Clock()
    countdown(30, "DeleteRestApi quota", out=out, sleep=clock.sleep)
    assert out.getvalue() == "    DeleteRestApi quota: waiting 30 s ...\n"
    assert clock.slept == [30]


def test_a_countdown_in_a_terminal_redraws_and_waits_the_whole_time():
    out, clock = FakeTerminal(), Clock()
    countdown(3, "DeleteRestApi quota", out=out, sleep=clock.sleep)
    assert sum(clock.slept) == pytest.approx(3)
    assert len(clock.slept) == 6  # redrawn every half second
    text = out.getvalue()
    assert "\r" in text  # tqdm redraws in place
    assert "left" in text
    assert text.endswith("    DeleteRestApi quota: waited 3 s\n")


def test_a_zero_wait_does_not_sleep_and_a_negative_one_is_refused():
    out, clock = FakeTerminal(), Clock()
    countdown(0, "nothing", out=out, sleep=clock.sleep)
    assert clock.slept == []
    with pytest.raises(ValueError, match="negative"):
        countdown(-1, "nothing", out=io.StringIO(), sleep=clock.sleep)


def test_a_status_line_outside_a_terminal_prints_every_poll():
    out = io.StringIO()
    with StatusLine(out) as line:
        line.show("waiting (DELETING, 0 s)")
        line.show("waiting (DELETING, 2 s)")
        line.done("gone after 4 s")
    assert out.getvalue().splitlines() == [
        "waiting (DELETING, 0 s)", "waiting (DELETING, 2 s)", "gone after 4 s"]


def test_a_status_line_outside_a_terminal_does_not_repeat_itself():
    out = io.StringIO()
    with StatusLine(out) as line:
        for _ in range(3):
            line.show("waiting (DELETING, 0 s)")
        line.show("waiting (DELETING, 1 s)")
        line.done("gone after 1 s")
    assert out.getvalue().splitlines() == [
        "waiting (DELETING, 0 s)", "waiting (DELETING, 1 s)", "gone after 1 s"]


def test_a_status_line_in_a_terminal_rewrites_one_line_and_ends_with_the_last_word():
    out = FakeTerminal()
    with StatusLine(out) as line:
        line.show("waiting (DELETING, 0 s)")
        line.show("waiting (DELETING, 2 s)")
        line.done("gone after 4 s")
    text = out.getvalue()
    assert "waiting (DELETING, 2 s)" in text
    assert text.endswith("gone after 4 s\n")
    assert text.count("\n") == 1  # everything before the last word was redrawn in place


def test_a_closed_or_odd_stream_counts_as_no_terminal():
    closed = io.StringIO()
    closed.close()
    from workshop.cleanup.progress import is_terminal

    assert not is_terminal(closed)
    assert not is_terminal(object())  # type: ignore[arg-type]
