"""Learner files generated from the solutions: one source of truth.

A solution is written once, in ``solutions/``. The learner notebooks (``notebooks/``) and the
Lambda starter files (``labs/02-lambda-function/``) are generated from it by replacing every
region between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` (the nbgrader convention) with a
TODO placeholder::

    # TODO: <hint>
    raise NotImplementedError("TODO: <hint>")

so a learner's run stops at the first piece of work left, with a message saying what it is.
The hint comes from the marker line (``### BEGIN SOLUTION: create the table``) or is generic.

A second, rarer pair, ``### BEGIN SOLUTION ONLY`` / ``### END SOLUTION ONLY``, is removed
without a placeholder: code that must run in the solution notebook but not in the learner's
(the solution notebook runs the reference Lambda, the learner's notebook runs the learner's).

Learner notebooks keep the stored outputs of the cells they share unchanged with the solution,
so learners see what to expect; a cell that changed (or is tagged ``todo``) loses its outputs.
``tests/notebooks`` regenerates everything in memory and fails when a committed file is stale.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from workshop.labs import LABS, LAMBDA_FILES, LEARNER_LAMBDA_DIR
from workshop.paths import NOTEBOOKS_DIR, REPO_ROOT, SOLUTION_LAMBDA_DIR, SOLUTION_NOTEBOOKS_DIR

if TYPE_CHECKING:
    import nbformat

# nbformat is imported where it is used: it takes seconds to import (jsonschema), and
# workshop.notebooks (imported by every notebook's first cell) needs TODO_MARK from here.

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
ONLY = "ONLY"
DEFAULT_HINT = "write this part (the text above says what it must do)"
LAMBDA_DEFAULT_HINT = "write this part (the docstring above says what it must do)"
# What every generated placeholder contains: workshop.notebooks.find_todos looks for it to tell
# whether a learner's lab 02 files are finished.
TODO_MARK = 'raise NotImplementedError("TODO'
MARKDOWN_PLACEHOLDER = "**TODO:** {hint}"
# Cells whose failure means "TODO work is left elsewhere" (lab 02's starter files): the
# learner-notebook test accepts a stop there, as at a generated TODO cell.
TODO_TAG = "todo"

# A stray "### BEGIN SOLUTIONS" or "### END" must not be ignored silently: the solution would
# leak into the learner's copy. Any line that starts like a marker must parse as one.
_MARKER_LIKE = re.compile(r"^\s*###\s*(BEGIN|END)\b")
_MARKER = re.compile(
    r"^(?P<indent>\s*)### (?P<kind>BEGIN|END) SOLUTION(?P<only> ONLY)?(?:\s*[:\-—]\s*(?P<hint>.*\S))?\s*$"
)


class MarkerError(ValueError):
    """A solution region is malformed; the message names the file and line."""


@dataclass(frozen=True)
class _Marker:
    kind: str  # BEGIN or END
    only: bool
    indent: str
    hint: str | None


def _parse_marker(line: str, origin: str, lineno: int) -> _Marker | None:
    if not _MARKER_LIKE.match(line):
        return None
    match = _MARKER.match(line)
    if not match:
        raise MarkerError(
            f"{origin}:{lineno}: {line.strip()!r} looks like a solution marker but is not one; "
            f"write exactly '{BEGIN}' / '{END}' (optionally '{BEGIN}: <hint>'), or "
            f"'{BEGIN} {ONLY}' / '{END} {ONLY}'."
        )
    if match["kind"] == "END" and match["hint"]:
        raise MarkerError(f"{origin}:{lineno}: an END marker takes no hint: {line.strip()!r}")
    return _Marker(match["kind"], bool(match["only"]), match["indent"], match["hint"])


def _placeholder(indent: str, hint: str, markdown: bool) -> list[str]:
    if markdown:
        return [indent + MARKDOWN_PLACEHOLDER.format(hint=hint)]
    quoted = hint.replace("\\", "\\\\").replace('"', '\\"')
    return [f"{indent}# TODO: {hint}", f'{indent}raise NotImplementedError("TODO: {quoted}")']


def strip_solutions(
    source: str, *, origin: str = "<source>", markdown: bool = False, default_hint: str = DEFAULT_HINT
) -> str:
    """Return ``source`` with every solution region replaced (or, for ONLY regions, removed).

    Raises :class:`MarkerError` for an unmatched, nested or misspelt marker.
    """
    lines = source.split("\n")
    out: list[str] = []
    open_marker: _Marker | None = None
    open_line = 0
    for lineno, line in enumerate(lines, start=1):
        marker = _parse_marker(line, origin, lineno)
        if marker is None:
            if open_marker is None:
                out.append(line)
            continue
        if marker.kind == "BEGIN":
            if open_marker is not None:
                raise MarkerError(
                    f"{origin}:{lineno}: solution regions cannot nest; the region opened on "
                    f"line {open_line} is still open (add its END marker first)."
                )
            open_marker, open_line = marker, lineno
            continue
        if open_marker is None:
            raise MarkerError(f"{origin}:{lineno}: '{line.strip()}' has no BEGIN marker before it.")
        if marker.only != open_marker.only:
            raise MarkerError(
                f"{origin}:{lineno}: '{line.strip()}' closes the region opened on line "
                f"{open_line} with the other kind of marker (SOLUTION versus SOLUTION ONLY)."
            )
        if not open_marker.only:
            out.extend(_placeholder(open_marker.indent, open_marker.hint or default_hint, markdown))
        open_marker = None
    if open_marker is not None:
        raise MarkerError(
            f"{origin}:{open_line}: this solution region is never closed (add '{END}"
            f"{' ' + ONLY if open_marker.only else ''}')."
        )
    return "\n".join(out)


def has_markers(source: str) -> bool:
    """Whether ``source`` has anything marker-like, so untouched cells keep their outputs."""
    return any(_MARKER_LIKE.match(line) for line in source.split("\n"))


def _check_compiles(solution: str, generated: str, origin: str) -> None:
    """A placeholder must leave valid Python, or the learner's file fails before any TODO."""
    try:
        compile(solution, origin, "exec")
    except SyntaxError:
        return  # IPython syntax (magics): nothing to compare against
    try:
        compile(generated, origin, "exec")
    except SyntaxError as error:
        raise MarkerError(
            f"{origin}: the learner version does not compile ({error.msg}, line {error.lineno}); "
            "move the markers so that each region is whole statements inside one block."
        ) from error


# --- notebooks -----------------------------------------------------------------------------


def learner_notebook(solution: nbformat.NotebookNode, *, origin: str) -> nbformat.NotebookNode:
    """The learner version of one solution notebook."""
    learner = copy.deepcopy(solution)
    for index, cell in enumerate(learner.cells):
        if TODO_TAG in cell.metadata.get("tags", []) and cell.cell_type == "code":
            # Its stored output describes the reference files, not the learner's.
            cell.outputs = []
            cell.execution_count = None
        if not has_markers(cell.source):
            continue
        where = f"{origin} cell {index}"
        markdown = cell.cell_type != "code"
        stripped = strip_solutions(cell.source, origin=where, markdown=markdown)
        if not markdown:
            _check_compiles(cell.source, stripped, where)
            cell.outputs = []
            cell.execution_count = None
        cell.source = stripped
    learner.metadata["workshop"] = {
        "generated_from": Path(origin).as_posix(),
        "note": "Generated by scripts/generate_learner_files.py; edit the solution instead.",
    }
    return learner


def notebook_text(nb: nbformat.NotebookNode) -> str:
    """The exact text a notebook is stored as (stable, so the stale check can compare)."""
    import nbformat

    return nbformat.writes(nb, version=4) + "\n"


def solution_notebooks() -> list[Path]:
    """The solution notebooks, in lab order: the sources of ``notebooks/``."""
    return [SOLUTION_NOTEBOOKS_DIR / f"{name}.ipynb" for name in LABS.values()]


def lambda_starter_text(solution_file: Path) -> str:
    """A lab 02 starter file: the reference Lambda file with its solutions cut out."""
    origin = solution_file.relative_to(REPO_ROOT).as_posix()
    source = solution_file.read_text(encoding="utf-8")
    stripped = strip_solutions(source, origin=origin, default_hint=LAMBDA_DEFAULT_HINT)
    _check_compiles(source, stripped, origin)
    header = (
        f"# Lab 02 starter file, generated from {origin}: replace every TODO with your code.\n"
    )
    return header + stripped


def generated_files() -> dict[Path, str]:
    """Every learner file, as it should be on disk, keyed by path."""
    files: dict[Path, str] = {}
    for path in solution_notebooks():
        if not path.exists():
            continue
        import nbformat

        origin = path.relative_to(REPO_ROOT).as_posix()
        solution = nbformat.read(path, as_version=4)
        files[NOTEBOOKS_DIR / path.name] = notebook_text(learner_notebook(solution, origin=origin))
    for name in LAMBDA_FILES:
        source = SOLUTION_LAMBDA_DIR / name
        if source.exists():
            files[LEARNER_LAMBDA_DIR / name] = lambda_starter_text(source)
    return files


def stale_files() -> list[Path]:
    """Generated files that are missing or differ from what the solutions produce."""
    return [
        path
        for path, text in generated_files().items()
        if not path.exists() or path.read_text(encoding="utf-8") != text
    ]


def write_generated_files() -> list[Path]:
    """Write every stale learner file; return the paths written."""
    written = []
    for path, text in generated_files().items():
        if path.exists() and path.read_text(encoding="utf-8") == text:
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    """``scripts/generate_learner_files.py [--check]``."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="generate_learner_files.py",
        description="Generate notebooks/*.ipynb and labs/02-lambda-function/*.py from solutions/.",
    )
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 when a generated file is stale")
    args = parser.parse_args(argv)
    try:
        if args.check:
            stale = stale_files()
            for path in stale:
                print(f"stale: {path.relative_to(REPO_ROOT)}")
            if stale:
                print("Run `make generate` to regenerate them.")
            return 1 if stale else 0
        written = write_generated_files()
    except MarkerError as error:
        print(f"generate: {error}")
        return 1
    for path in written:
        print(f"wrote {path.relative_to(REPO_ROOT)}")
    print(f"{len(written)} file(s) written" if written else "All learner files are up to date.")
    return 0
