"""Printing to a terminal that may not speak Unicode.

A Windows cp1252 console raises UnicodeEncodeError on "✔", and a crash half way through a
cleanup is worse than an ugly mark, so the marks fall back to words and stdout to '?'.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import TextIO


@dataclass(frozen=True)
class Marks:
    """Pass/fail marks; words where the terminal cannot print the symbols (a Windows cp1252
    console raises UnicodeEncodeError on "✔")."""

    ok: str
    fail: str
    skip: str
    dot: str


UNICODE_MARKS = Marks("✔", "✘", "–", "·")
ASCII_MARKS = Marks("PASS", "FAIL", "SKIP", "-")


def marks_for(stream: TextIO) -> Marks:
    encoding = getattr(stream, "encoding", None)
    if not encoding:  # an in-memory text buffer holds any character
        return UNICODE_MARKS
    try:
        "".join((UNICODE_MARKS.ok, UNICODE_MARKS.fail, UNICODE_MARKS.skip,
                 UNICODE_MARKS.dot)).encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return ASCII_MARKS
    return UNICODE_MARKS


def tolerant_stdout() -> TextIO:
    """sys.stdout that prints '?' for a character the terminal's encoding lacks, not a crash."""
    try:
        sys.stdout.reconfigure(errors="replace")  # type: ignore[union-attr]
    except (AttributeError, ValueError):
        pass
    return sys.stdout
