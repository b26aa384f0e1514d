"""The one clock of realism mode: wall time, and durations stretched by the scale factor.

Every state machine and quota asks this clock, never ``time`` directly, so a test can replace it
with a :class:`ManualClock` and step across a boundary exactly, and a scaled run
(``WORKSHOP_REALISM_SCALE``) shortens every delay and quota period by the same factor.

Wall time (``time.time``), not a monotonic clock: CloudWatch Logs stamps events with wall-clock
milliseconds, and the log-visibility delay is measured from those stamps.
"""

from __future__ import annotations

import threading
import time


class Clock:
    """Real time; ``scaled(seconds)`` is how long an AWS duration lasts here."""

    def __init__(self, scale: float = 1.0) -> None:
        if scale < 0:
            raise ValueError(f"the scale must be 0 or more, not {scale!r}")
        self.scale = float(scale)

    def now(self) -> float:
        """Seconds since the epoch."""
        return time.time()

    def scaled(self, seconds: float) -> float:
        """An AWS duration of ``seconds``, as long as it lasts in this local cloud."""
        return seconds * self.scale

    def deadline(self, seconds: float) -> float:
        """The moment an AWS duration of ``seconds`` that starts now is over."""
        return self.now() + self.scaled(seconds)


class ManualClock(Clock):
    """A clock that moves only when told to (tests)."""

    def __init__(self, scale: float = 1.0, start: float = 1_800_000_000.0) -> None:
        super().__init__(scale)
        self._now = start
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("a clock does not go back")
        with self._lock:
            self._now += seconds

    def set(self, now: float) -> None:
        """Jump to ``now`` (even backwards): for a test that needs the clock at wall time."""
        with self._lock:
            self._now = now
