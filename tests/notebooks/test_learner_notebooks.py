"""The learner notebooks, executed: they stop only where the learner has work to do.

Each learner notebook runs in a fresh kernel on the session's local cloud, under an owner of its
own. Every cell before the first TODO must pass; the first failure must be a TODO cell (a
generated placeholder, or lab 02's cell that checks the starter files) raising
NotImplementedError. Then "a newcomer who fills in the TODO cells": the learner notebooks of
labs 01, 03 and 04 with each TODO filled in by its solution reach 200 from /health.
"""

from __future__ import annotations

import os
import re

import nbformat
import pytest
from nbclient.exceptions import CellExecutionError

from workshop.labs import LABS
from workshop.learner_files import HELP_CELL_METADATA, TODO_MARK, TODO_TAG, learner_notebook
from workshop.notebook_runner import execute_notebook
from workshop.paths import NOTEBOOKS_DIR, REPO_ROOT, SOLUTION_NOTEBOOKS_DIR

pytestmark = pytest.mark.localcloud


def is_todo_cell(cell) -> bool:
    return TODO_MARK in cell.source or TODO_TAG in cell.metadata.get("tags", [])


def first_error(nb) -> tuple[int, dict] | None:
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            if output.output_type == "error":
                return index, output
    return None


def run(nb, owner: str):
    env = {**os.environ, "WORKSHOP_OWNER": owner}
    try:
        execute_notebook(nb, NOTEBOOKS_DIR, env)
    except CellExecutionError:
        pass  # the failing cell is found below, from the outputs
    return nb


@pytest.mark.parametrize("lab", sorted(LABS), ids=[LABS[lab] for lab in sorted(LABS)])
def test_learner_notebook_stops_only_at_a_todo(lab, owners_to_clean):
    owner = f"nb-learner-{lab:02d}"
    owners_to_clean.append(owner)
    nb = run(nbformat.read(NOTEBOOKS_DIR / f"{LABS[lab]}.ipynb", as_version=4), owner)
    failure = first_error(nb)
    todo_cells = [i for i, cell in enumerate(nb.cells) if cell.cell_type == "code" and is_todo_cell(cell)]
    if failure is None:
        assert not todo_cells, f"lab {lab:02d} ran past its TODO cells {todo_cells} without stopping"
        return
    index, error = failure
    cell = nb.cells[index]
    assert is_todo_cell(cell), (
        f"lab {lab:02d}: cell {index} failed but is not a TODO cell: "
        f"{error.ename}: {error.evalue}\n{cell.source[:300]}"
    )
    assert error.ename == "NotImplementedError", f"{error.ename}: {error.evalue}"
    assert index == todo_cells[0], "it must stop at the first TODO cell"


def filled_in(solution: nbformat.NotebookNode, origin: str) -> nbformat.NotebookNode:
    """The learner notebook as a newcomer completes it: every TODO replaced by its solution.

    Built from the learner notebook's cells (so SOLUTION ONLY code stays out), with each TODO
    cell's source taken from the solution with only the markers removed.
    """
    learner = learner_notebook(solution, origin=origin)
    # The generated hint cells have no counterpart in the solution.
    learner.cells = [cell for cell in learner.cells if not cell.metadata.get(HELP_CELL_METADATA)]
    for learner_cell, solution_cell in zip(learner.cells, solution.cells, strict=True):
        if TODO_MARK in learner_cell.source:
            kept = re.sub(r"(?ms)^[ \t]*### BEGIN SOLUTION ONLY$.*?^[ \t]*### END SOLUTION ONLY\n?", "",
                          solution_cell.source)
            learner_cell.source = re.sub(r"(?m)^[ \t]*### (BEGIN|END) SOLUTION.*\n?", "", kept)
    return learner


def test_a_newcomer_who_fills_in_the_todo_cells_reaches_health_200(owners_to_clean):
    owner = "nb-newcomer"
    owners_to_clean.append(owner)
    for lab in (1, 3, 4):
        path = SOLUTION_NOTEBOOKS_DIR / f"{LABS[lab]}.ipynb"
        nb = filled_in(nbformat.read(path, as_version=4), path.relative_to(REPO_ROOT).as_posix())
        run(nb, owner)
        failure = first_error(nb)
        assert failure is None, f"lab {lab:02d} cell {failure[0]}: {failure[1].ename}: {failure[1].evalue}"
    outputs = "".join(
        output.get("text", "") for cell in nb.cells if cell.cell_type == "code" for output in cell.outputs
    )
    assert "GET /health -> 200 {'status': 'healthy'}" in outputs
    assert "PASS: GET /health answers 200" in outputs
