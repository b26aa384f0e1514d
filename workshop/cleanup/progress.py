"""Showing long waits while they happen, so nobody kills a cleanup that is only waiting.

On AWS a cleanup waits for API Gateway's DeleteRestApi quota (about 30 s between deletes) and for
tables to finish deleting. In a terminal those waits are a live countdown or status line (tqdm);
anywhere else — a notebook, a CI log, a pipe — they are plain lines, one per wait or poll, so
stored notebook outputs and logs stay readable and deterministic.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TextIO

from tqdm import tqdm

#: How often a countdown redraws, in seconds.
TICK_SECONDS = 0.5


def is_terminal(out: TextIO) -> bool:
    """True when ``out`` is an interactive terminal (a notebook's stdout is not)."""
    try:
        return bool(out.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


def countdown(seconds: float, why: str, *, out: TextIO,
              sleep: Callable[[float], None]) -> None:
    """Wait ``seconds`` (>= 0), showing why.

    Terminal: a bar counting the seconds down, replaced by one line when done. Elsewhere: the
    single line ``    WHY: waiting N s ...`` before the wait. ``sleep`` is the clock to wait on
    (injected by tests). Raises ValueError for a negative wait.
    """
    if seconds < 0:
        raise ValueError(f"cannot wait a negative time ({seconds} s)")
    if not is_terminal(out):
        print(f"    {why}: waiting {seconds:.0f} s ...", file=out, flush=True)
        sleep(seconds)
        return
    with tqdm(total=round(seconds, 1), desc=f"    {why}", file=out, leave=False, unit="s",
              bar_format="{desc}: {bar:20} {remaining} left") as bar:
        remaining = seconds
        while remaining > 0:
            step = min(TICK_SECONDS, remaining)
            sleep(step)
            bar.update(round(step, 1))
            remaining -= step
    print(f"    {why}: waited {seconds:.0f} s", file=out, flush=True)


class StatusLine:
    """One line that a poll loop keeps rewriting in a terminal (plain lines elsewhere).

    Use as a context manager; :meth:`show` for each poll, :meth:`done` for the last word.
    """

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self._bar: tqdm | None = None
        self._last: str | None = None

    def __enter__(self) -> StatusLine:
        if is_terminal(self.out):
            self._bar = tqdm(total=None, file=self.out, leave=False,
                             bar_format="{desc} [{elapsed}]")
        return self

    def show(self, text: str) -> None:
        """The poll's status; outside a terminal a line repeating the previous one is skipped."""
        if self._bar is None:
            if text != self._last:
                print(text, file=self.out, flush=True)
        else:
            self._bar.set_description_str(text)
        self._last = text

    def done(self, text: str) -> None:
        self.close()
        print(text, file=self.out, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __exit__(self, *exc_info: object) -> None:
        self.close()
