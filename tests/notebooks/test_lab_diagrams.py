"""Each lab notebook opens with a small diagram of what the lab adds to the stack.

GIVEN every solution notebook and its generated learner notebook THEN the intro (the first
markdown cell) holds exactly one mermaid flowchart, the same in both, whose nodes are marked new
(green) or, in the cleanup lab, gone (grey).
"""

from __future__ import annotations

import re

import nbformat
import pytest

from workshop.labs import LABS
from workshop.paths import REPO_ROOT, SOLUTION_NOTEBOOKS_DIR

MERMAID = re.compile(r"```mermaid\n(.*?)```", re.S)


def intro_diagrams(path) -> list[str]:
    nb = nbformat.read(path, as_version=4)
    intro = next(cell for cell in nb.cells if cell.cell_type == "markdown")
    return MERMAID.findall(intro.source)


@pytest.mark.parametrize("lab", sorted(LABS))
def test_the_intro_shows_one_diagram_of_what_the_lab_changes(lab):
    name = f"{LABS[lab]}.ipynb"
    diagrams = intro_diagrams(SOLUTION_NOTEBOOKS_DIR / name)
    assert len(diagrams) == 1, f"lab {lab:02d}: {len(diagrams)} mermaid diagrams in the intro"
    diagram = diagrams[0]
    assert diagram.startswith("flowchart LR\n")
    marker = ":::gone" if lab == 7 else ":::new"
    assert marker in diagram, f"lab {lab:02d}: nothing marked {marker}"
    assert intro_diagrams(REPO_ROOT / "notebooks" / name) == diagrams
