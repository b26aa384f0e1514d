"""Printing results: one learner's lab-by-lab report, their --summary, or the instructors'
--all-owners table.

Both the summary and the class table reduce a lab's results with :func:`lab_status` (done, not
yet, or broken with its first fix), so a learner and their instructor read the same verdict.
Marks fall back to words on a terminal without Unicode (see ``workshop.cleanup.terminal``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TextIO

from workshop.checks.checker import Checker
from workshop.checks.labs import CLASS_LABS, LABS, TITLES
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


DONE, NOT_YET, BROKEN = "done", "not yet", "broken"


@dataclass(frozen=True)
class LabStatus:
    """One lab's verdict: done, not yet (nothing built), or broken (built, a check fails)."""

    lab: str
    state: str
    first_failure: CheckResult | None = None


def lab_status(lab: str, results: list[CheckResult]) -> LabStatus:
    """Reduce a lab's results: all passed is done; the first failure decides the rest.

    A lab with no results (lab 02 of another learner) is "not yet": nothing could be seen.
    """
    failures = [r for r in results if not r.passed]
    if results and not failures:
        return LabStatus(lab, DONE)
    first = failures[0] if failures else None
    if first is None or first.missing or lab == "07":  # 07 is "not yet" while anything is left
        return LabStatus(lab, NOT_YET, first)
    return LabStatus(lab, BROKEN, first)


def print_summary(statuses: list[LabStatus], out: TextIO) -> None:
    """``check.py --summary``: one line per lab, with the first fix of a lab that is not done."""
    marks = marks_for(out)
    mark = {DONE: marks.ok, NOT_YET: marks.skip, BROKEN: marks.fail}
    width = max(len(TITLES[s.lab]) for s in statuses) if statuses else 0
    for status in statuses:
        line = f"{mark[status.state]} Lab {status.lab} {TITLES[status.lab]:<{width}}  {status.state}"
        failure = status.first_failure
        if failure is not None and status.state != DONE:
            # The title says what should hold ("table X exists"): say whether it is still to come
            # or built and failing.
            line += f" (needs: {failure.title})" if status.state == NOT_YET else f" (fails: {failure.title})"
            if failure.hint:
                line += f" -- fix: {failure.hint}"
        print(line, file=out)
    done = sum(s.state == DONE for s in statuses)
    print(f"{done} of {len(statuses)} labs done. `python scripts/check.py LAB` shows every check "
          "of one lab.", file=out)


def summary_labs(checker: Checker) -> list[str]:
    """The labs a learner's summary lists: all of them, lab 02 only when their files are known."""
    return [lab for lab in LABS if lab != "02" or checker.lambda_dir is not None]


def class_table(target: Any, owners: list[str], *, clients: Clients, out: TextIO,
                http: Any = None) -> dict[str, dict[str, bool | None]]:
    """Print one row per learner: each lab's status and how far they got.

    A cell is the pass mark (done), the fail mark (broken) or the skip mark (not yet).
    """
    marks = marks_for(out)
    mark = {DONE: marks.ok, NOT_YET: marks.skip, BROKEN: marks.fail}
    rows: dict[str, dict[str, bool | None]] = {}
    width = max([len("owner"), *(len(o) for o in owners)])
    cell = max(len(lab) for lab in CLASS_LABS) if marks is UNICODE_MARKS else len(marks.fail)
    print(f"{'owner':<{width}}  " + "  ".join(f"{lab:<{cell}}" for lab in CLASS_LABS)
          + "  reached", file=out)
    for owner in owners:
        checker = Checker(target, owner, clients=clients, http=http, lambda_dir=None)
        states = {lab: lab_status(lab, list(checker.run_lab(lab))).state for lab in CLASS_LABS}
        status: dict[str, bool | None] = {lab: states[lab] == DONE for lab in CLASS_LABS}
        reached = "-"
        for lab in CLASS_LABS:
            if not status[lab]:
                break
            reached = lab
        rows[owner] = status
        cells = "  ".join(f"{mark[states[lab]]:<{cell}}" for lab in CLASS_LABS)
        print(f"{owner:<{width}}  {cells}  {reached}", file=out)
    print(f"{len(owners)} learner(s). {marks.ok} done, {marks.fail} broken, {marks.skip} not yet. "
          "Lab 02 is not shown: it lives in each learner's own files.", file=out)
    return rows
