"""What the notebooks call at run time: ``check``, ``not_created``, ``ready``,
``require_no_todos``, ``choose_lambda_dir``.

``check`` never lets a learner's mistake crash a check cell: its probe may be a function whose
errors count as a FAIL, and every FAIL shows what was found beside what to do.

Every notebook imports this module in its first cell (``from workshop.notebooks import check``),
so it stays small and cheap to import, and keeps its name: the notebooks' sources, and so their
stored outputs, do not change when the tooling around them moves. Generating the learner files
lives in ``workshop/learner_files.py``; re-executing the notebooks in
``workshop/notebook_runner.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

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


def not_created(what: str, fix: str) -> None:
    """Say that a create cell made nothing, and what to do, without stopping *Run All*.

    A learner's create call can run without error and create nothing (the TODO's ``raise``
    replaced by ``pass``, a call never made). Raising here would stop Run All before the check
    cell, whose FAIL names the fix; so the cell prints this line, the cells that need ``what``
    skip their work (:func:`ready`) and the check cell reports it. ``scripts/deploy.py`` does
    not rely on this line: it checks after each lab's build cells that the lab's resources
    exist (``workshop.deploy``), and fails loudly when they do not.
    """
    print(f"NOT CREATED: there is no {what}: {fix}")


def ready(exists: Any, what: str) -> bool:
    """True when ``exists`` is truthy; otherwise print one ``skipped`` line and return False.

    Used as ``if ready(role_arn, f"role {names.role}"):`` by the cells that need a resource a
    create cell above may not have made (see :func:`not_created`).
    """
    if exists:
        return True
    print(f"skipped: {what} does not exist yet (see above)")
    return False


#: How much of a found value a FAIL line shows: enough for a body and its type.
FOUND_LIMIT = 600


def check(passed: bool | Callable[[], Any], what: str, fix: str, found: Any = None) -> None:
    """One check-your-work line: ``PASS: what``, or an AssertionError saying what to fix.

    ``passed`` may be a probe (a function of no arguments): a learner's mistake often makes
    the probe itself fail (``json.loads`` of a dict body, a missing key, a name never
    defined), and that is reported as a FAIL with the error, never as a crash of the cell.
    ``found`` (a value, or a function giving one) is what the check looked at: a handler's
    answer, an HTTP response, anything else; a FAIL shows it, so the learner sees what was
    wrong, not only what was expected.
    """
    error: Exception | None = None
    try:
        ok = bool(passed() if callable(passed) else passed)
    except Exception as exc:  # noqa: BLE001 - the learner's mistake broke the probe: that is a FAIL
        ok, error = False, exc
    if ok:
        print(f"PASS: {what}")
        return
    details = []
    if error is not None:
        details.append(f"checking it raised {type(error).__name__}: {error}")
    if found is not None:
        details.append(describe(found))
    message = f"FAIL: {what}"
    if details:
        message += "\n  Found: " + "\n         ".join(details)
    raise AssertionError(f"{message}\n  What to do: {fix}")


def describe(found: Any) -> str:
    """What a check found, as one short text: the part that matters first.

    A handler's answer shows its statusCode and its body *with the body's type* (a dict body
    is the classic mistake); an HTTP response its status and body; a function is called first.
    """
    if callable(found) and not hasattr(found, "status_code"):
        try:
            found = found()
        except Exception as exc:  # noqa: BLE001 - any failure here is reported, never raised
            return f"(could not read it: {type(exc).__name__}: {exc})"
    if hasattr(found, "status_code") and hasattr(found, "text"):  # a requests.Response
        text = found.text if isinstance(found.text, str) else repr(found.text)
        note = SERVER_ERROR_NOTE_HTTP if _is_server_error(found.status_code) else ""
        return _cut(f"HTTP {found.status_code} {text.strip()}") + note
    if isinstance(found, dict) and "handler_error" in found:
        return _cut(f"the handler raised {found['handler_error']}")
    if isinstance(found, dict) and ("statusCode" in found or "body" in found):
        body = found.get("body")
        note = SERVER_ERROR_NOTE_HANDLER if _is_server_error(found.get("statusCode")) else ""
        return _cut(f"statusCode {found.get('statusCode')!r}, body {body!r} "
                    f"(a {type(body).__name__}), headers {found.get('headers')!r}") + note
    return _cut(repr(found) if not isinstance(found, str) else found)


# A 5xx says "something failed", not what: these say where the cause is written.
SERVER_ERROR_NOTE_HANDLER = ("\n         (a 5xx: the handler caught an error; its traceback is "
                             "printed under the cell that called it)")
SERVER_ERROR_NOTE_HTTP = ("\n         (a 5xx: lab 06's table says where to look; the function's "
                          "log in CloudWatch Logs has the traceback when it ran)")


def _is_server_error(status: Any) -> bool:
    return isinstance(status, int) and not isinstance(status, bool) and status >= 500


def _cut(text: str) -> str:
    return text if len(text) <= FOUND_LIMIT else text[:FOUND_LIMIT] + " ..."
