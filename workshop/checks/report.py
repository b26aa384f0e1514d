"""Printing results: one learner's lab-by-lab report, or the instructors' --all-owners table.

Marks fall back to words on a terminal without Unicode (see ``workshop.cleanup.terminal``).
"""

from __future__ import annotations

from typing import Any, TextIO

from workshop.checks.checker import Checker
from workshop.checks.labs import CLASS_LABS, TITLES
from workshop.checks.result import CheckResult
from workshop.cleanup import UNICODE_MARKS, Clients, marks_for


def print_results(results: list[CheckResult], out: TextIO) -> None:
    marks = marks_for(out)
    ok_mark, fail_mark = marks.ok, marks.fail
    lab = None
    for result in results:
        if result.lab != lab:
            lab = result.lab
            print(f"Lab {lab} {marks.dot} {TITLES[lab]}", file=out)
        mark = ok_mark if result.passed else fail_mark
        print(f"  {mark} {result.title}", file=out)
        if not result.passed:
            if result.detail:
                print(f"      found: {result.detail}", file=out)
            if result.hint:
                print(f"      fix:   {result.hint}", file=out)
    failed = sum(not r.passed for r in results)
    passed = len(results) - failed
    print(f"{passed} passed, {failed} failed.", file=out)


def class_table(target: Any, owners: list[str], *, clients: Clients, out: TextIO,
                http: Any = None) -> dict[str, dict[str, bool | None]]:
    """Print one row per learner: each lab's status and how far they got."""
    marks = marks_for(out)
    ok_mark, fail_mark = marks.ok, marks.fail
    rows: dict[str, dict[str, bool | None]] = {}
    width = max([len("owner"), *(len(o) for o in owners)])
    cell = max(len(lab) for lab in CLASS_LABS) if marks is UNICODE_MARKS else len(marks.fail)
    print(f"{'owner':<{width}}  " + "  ".join(f"{lab:<{cell}}" for lab in CLASS_LABS)
          + "  reached", file=out)
    for owner in owners:
        checker = Checker(target, owner, clients=clients, http=http, lambda_dir=None)
        status: dict[str, bool | None] = {}
        for lab in CLASS_LABS:
            results = list(checker.run_lab(lab))
            status[lab] = bool(results) and all(r.passed for r in results)
        reached = "-"
        for lab in CLASS_LABS:
            if not status[lab]:
                break
            reached = lab
        rows[owner] = status
        cells = "  ".join(f"{ok_mark if status[lab] else fail_mark:<{cell}}" for lab in CLASS_LABS)
        print(f"{owner:<{width}}  {cells}  {reached}", file=out)
    print(f"{len(owners)} learner(s). Lab 02 is not shown: it lives in each learner's own files.",
          file=out)
    return rows
