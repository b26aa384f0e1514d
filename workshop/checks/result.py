"""One line of a check report, and the hints that send a learner back to the right lab."""

from __future__ import annotations

from dataclasses import dataclass

from workshop.checks.labs import LABS


@dataclass(frozen=True)
class CheckResult:
    """One line of the report."""

    lab: str
    title: str
    passed: bool
    detail: str = ""
    hint: str = ""
    # A failure that means "not built yet" (the lab's resource does not exist), as opposed to
    # "built but broken": --summary and the class table tell the two apart.
    missing: bool = False


def lab_hint(lab: str, text: str) -> str:
    """A fix, prefixed with the lab that teaches it, so the learner knows where to look."""
    return f"lab {lab} ({LABS[lab]}): {text}"


def catch_up(lab: str) -> str:
    """The shortcut for a learner who is behind: build everything through ``lab``."""
    return f" Or catch up with `python scripts/deploy.py --through {lab}`."
