"""What the notebooks call at run time: ``check``, ``require_no_todos``, ``choose_lambda_dir``.

Every notebook imports this module in its first cell (``from workshop.notebooks import check``),
so it stays small and cheap to import, and keeps its name: the notebooks' sources, and so their
stored outputs, do not change when the tooling around them moves. Generating the learner files
lives in ``workshop/learner_files.py``; re-executing the notebooks in
``workshop/notebook_runner.py``.
"""

from __future__ import annotations

from pathlib import Path

from workshop.labs import LAMBDA_FILES, LEARNER_LAMBDA_DIR
from workshop.learner_files import TODO_MARK
from workshop.paths import REPO_ROOT, SOLUTION_LAMBDA_DIR


#: The placeholder of an exercise a later lab asks for (lab 08's stock change): it does not make
#: the lab 02 files incomplete.
LATER_LAB_TODO = 'raise NotImplementedError("TODO: lab 08'


def find_todos(directory: Path, *, later_labs: bool = False) -> list[str]:
    """``file:line: text`` for every TODO placeholder left in the Lambda files of ``directory``.

    Lab 08's exercise counts only with ``later_labs``."""
    left = []
    for name in LAMBDA_FILES:
        path = Path(directory) / name
        if not path.exists():
            left.append(f"{name}: the file is missing")
            continue
        for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if TODO_MARK in line and (later_labs or LATER_LAB_TODO not in line):
                left.append(f"{name}:{lineno}: {line.strip()}")
    return left


def require_no_todos(directory: Path) -> None:
    """Raise ``NotImplementedError`` listing the TODOs left in ``directory``, else print PASS."""
    left = find_todos(directory)
    if left:
        shown = "\n  ".join(left)
        raise NotImplementedError(
            f"Your Lambda files in {_show(directory)} still have TODOs. Fill them in, save, and "
            f"run this cell again:\n  {shown}"
        )
    print(f"PASS: no TODO left in {_show(directory)}")


def choose_lambda_dir() -> tuple[Path, str]:
    """The folder lab 03 deploys: the learner's lab 02 files when complete, else the reference."""
    left = find_todos(LEARNER_LAMBDA_DIR)
    if not left:
        return LEARNER_LAMBDA_DIR, "your lab 02 files are complete"
    return SOLUTION_LAMBDA_DIR, (
        f"your lab 02 files still have {len(left)} TODO(s), so the reference Lambda is deployed "
        "instead; finish lab 02, then run this cell and the update cell again to deploy yours"
    )


def _show(directory: Path) -> str:
    try:
        return Path(directory).resolve().relative_to(REPO_ROOT).as_posix()
    except ValueError:
        return str(directory)


def check(passed: bool, what: str, fix: str) -> None:
    """One check-your-work line: ``PASS: what``, or an AssertionError saying what to fix."""
    if not passed:
        raise AssertionError(f"FAIL: {what}\n  What to do: {fix}")
    print(f"PASS: {what}")
