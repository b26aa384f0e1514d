"""The committed notebooks and starter files: generated files are fresh, conventions hold."""

from __future__ import annotations

import json
import os
import re

import nbformat
import pytest

from workshop import learner_files, notebook_runner
from workshop.deploy import BUILD_TAG, LAST_BUILDING_LAB, SETUP_TAG, build_cells
from workshop.labs import LABS, LAMBDA_FILES, LEARNER_LAMBDA_DIR
from workshop.learner_files import TODO_MARK
from workshop.paths import NOTEBOOKS_DIR, REPO_ROOT, SOLUTION_NOTEBOOKS_DIR

SOLUTIONS = {lab: SOLUTION_NOTEBOOKS_DIR / f"{name}.ipynb" for lab, name in LABS.items()}


@pytest.fixture(scope="module")
def solution_nbs() -> dict[int, nbformat.NotebookNode]:
    return {lab: nbformat.read(path, as_version=4) for lab, path in SOLUTIONS.items()}


def test_every_lab_has_a_solution_and_a_learner_notebook():
    for name in LABS.values():
        assert (SOLUTION_NOTEBOOKS_DIR / f"{name}.ipynb").is_file(), name
        assert (NOTEBOOKS_DIR / f"{name}.ipynb").is_file(), name


def test_generated_learner_files_are_not_stale():
    stale = [path.relative_to(REPO_ROOT).as_posix() for path in learner_files.stale_files()]
    assert not stale, (
        f"These generated files differ from what the solutions produce: {stale}. "
        "Run `make generate` (python scripts/generate_learner_files.py) and commit the result."
    )


def test_the_generated_set_covers_every_notebook_and_both_starter_files():
    generated = {path.relative_to(REPO_ROOT).as_posix() for path in learner_files.generated_files()}
    assert generated == {f"notebooks/{name}.ipynb" for name in LABS.values()} | {
        "labs/02-lambda-function/lambda_function.py",
        "labs/02-lambda-function/custom_encoder.py",
    }


def test_learner_files_hold_no_solution_markers_and_starter_files_have_todos():
    for path, text in learner_files.generated_files().items():
        assert "### BEGIN SOLUTION" not in text and "### END SOLUTION" not in text, path
    for name in LAMBDA_FILES:
        starter = LEARNER_LAMBDA_DIR / name
        text = starter.read_text()
        assert TODO_MARK in text, f"{name} has nothing for the learner to write"
        compile(text, str(starter), "exec")


def test_first_cell_connects_and_names_the_resources(solution_nbs):
    for lab, nb in solution_nbs.items():
        first = nb.cells[0]
        assert first.cell_type == "code" and SETUP_TAG in first.metadata.get("tags", []), lab
        for needed in ("from workshop.target import connect", "target = connect()",
                       "names = resource_names()", "tags = workshop_tags()"):
            assert needed in first.source, f"lab {lab:02d}: cell 1 lacks {needed!r}"


def test_code_is_what_a_learner_runs_against_aws(solution_nbs):
    for lab, nb in solution_nbs.items():
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert "endpoint_url" not in cell.source, f"lab {lab:02d} sets an endpoint_url"
                assert "127.0.0.1" not in cell.source and "localhost:45" not in cell.source, lab


def test_notebooks_after_lab_01_catch_up_on_the_labs_before_them(solution_nbs):
    for lab, nb in solution_nbs.items():
        if lab < 2:
            continue
        sources = [cell.source for cell in nb.cells if cell.cell_type == "code"]
        assert f"catch_up(through={lab - 1})" in sources[1], f"lab {lab:02d}: no catch-up in cell 2"


def test_build_cells_are_plain_python_and_only_in_labs_01_to_04_and_08(solution_nbs):
    for lab, nb in solution_nbs.items():
        build = [c for c in nb.cells if BUILD_TAG in c.metadata.get("tags", [])]
        assert bool(build) == (lab in (1, 3, 4, 8)), f"lab {lab:02d}"
        for cell in build:
            assert cell.cell_type == "code"
            compile(cell.source, f"lab {lab:02d}", "exec")  # no IPython magics: deploy exec()s them
            assert "catch_up" not in cell.source
    cells = build_cells(LAST_BUILDING_LAB)
    assert [c.lab for c in cells] == sorted(c.lab for c in cells)
    assert {c.lab for c in cells if c.setup} == {1, 3, 4}
    assert all(c.index == 0 for c in cells if c.setup)
    # lab 08's protection is built only when asked for: the default stack stays open
    assert {c.lab for c in build_cells(8)} == {1, 3, 4, 8}
    assert 8 not in {c.lab for c in build_cells(7)}


def test_solution_notebooks_are_stored_executed_without_errors(solution_nbs):
    for lab, nb in solution_nbs.items():
        assert nb.metadata["kernelspec"]["name"] == "python3"
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            assert cell.execution_count is not None, f"lab {lab:02d} cell {index} was not run"
            for output in cell.outputs:
                assert output.output_type != "error", f"lab {lab:02d} cell {index}: {output.get('evalue')}"
                assert output.get("name") != "stderr", f"lab {lab:02d} cell {index} wrote to stderr"


def test_check_your_work_cells_print_pass_lines(solution_nbs):
    for lab, nb in solution_nbs.items():
        text = json.dumps([cell.get("outputs", []) for cell in nb.cells])
        assert "PASS: " in text, f"lab {lab:02d} has no check-your-work output"
        assert "FAIL: " not in text


def test_learner_notebooks_stop_only_at_work_to_do():
    # Statically: every learner notebook cell that raises by construction is a TODO cell.
    for name in LABS.values():
        nb = nbformat.read(NOTEBOOKS_DIR / f"{name}.ipynb", as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code" and TODO_MARK in cell.source:
                assert cell.outputs == [] and cell.execution_count is None


def test_sanitize_file_patterns_compile():
    text = (REPO_ROOT / "tests" / "nbval_sanitize.cfg").read_text()
    pairs = re.findall(r"^regex: (.*)$\n^replace: (.*)$", text, flags=re.MULTILINE)
    assert len(pairs) >= 6
    for regex, _ in pairs:
        re.compile(regex)


def test_build_cells_takes_only_tagged_code_cells_in_order(tmp_path):
    # GIVEN notebooks whose cells are tagged in every way a maintainer might get wrong
    def write(lab, cells):
        nb = nbformat.v4.new_notebook()
        nb.cells = cells
        (tmp_path / f"{LABS[lab]}.ipynb").write_text(nbformat.writes(nb))

    def code(source, *tags):
        cell = nbformat.v4.new_code_cell(source)
        if tags:
            cell.metadata["tags"] = list(tags)
        return cell

    markdown = nbformat.v4.new_markdown_cell("not code")
    markdown.metadata["tags"] = [BUILD_TAG]
    write(1, [code("setup1", SETUP_TAG), code("check"), code("make_table", BUILD_TAG), markdown])
    write(2, [code("setup2", SETUP_TAG), code("local_only")])
    write(3, [code("setup3", SETUP_TAG), code("make_role", "other", BUILD_TAG)])
    write(4, [code("setup4", SETUP_TAG), code("make_api", BUILD_TAG)])
    # WHEN the cells for labs 01-03 are collected
    cells = build_cells(3, notebooks_dir=tmp_path)
    # THEN: setup + build cells, labs in order; lab 02 (no build cell) and lab 04 left out
    assert [(c.lab, c.index, c.source, c.setup) for c in cells] == [
        (1, 0, "setup1", True),
        (1, 2, "make_table", False),
        (3, 0, "setup3", True),
        (3, 1, "make_role", False),
    ]
    assert cells[1].where == "solutions/notebooks/01-dynamodb-table.ipynb cell 2"


def test_generate_script_check_mode_writes_nothing_and_reports(capsys, monkeypatch):
    assert learner_files.main(["--check"]) == 0
    assert capsys.readouterr().out == ""
    # A stale file is named, with the command that fixes it, and nothing is written.
    some_path = next(iter(learner_files.generated_files()))
    monkeypatch.setattr(learner_files, "stale_files", lambda: [some_path])
    monkeypatch.setattr(learner_files, "write_generated_files", lambda: pytest.fail("--check wrote files"))
    assert learner_files.main(["--check"]) == 1
    out = capsys.readouterr().out
    assert f"stale: {some_path.relative_to(REPO_ROOT).as_posix()}" in out and "make generate" in out


def test_fresh_run_environment_cannot_reach_aws_or_the_learners_cloud(tmp_path, monkeypatch):
    monkeypatch.setenv("AWS_PROFILE", "production")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "real-token")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
    monkeypatch.setenv("WORKSHOP_TARGET", "aws")
    monkeypatch.setenv("WORKSHOP_BUDGET_EMAIL", "someone@example.com")
    env = notebook_runner.fresh_run_environment(tmp_path)
    aws = {key: value for key, value in env.items() if key.startswith("AWS_")}
    assert aws == {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }
    assert env["WORKSHOP_TARGET"] == "local" and env["WORKSHOP_OWNER"] == "learner"
    assert env["WORKSHOP_STATE_DIR"] == str(tmp_path) and "WORKSHOP_BUDGET_EMAIL" not in env
    assert (env["WORKSHOP_ENDPOINT_PORT"], env["WORKSHOP_GATEWAY_PORT"]) == ("0", "0")
    stored = notebook_runner.fresh_run_environment(tmp_path, any_free_port=False)
    assert "WORKSHOP_ENDPOINT_PORT" not in stored and "WORKSHOP_GATEWAY_PORT" not in stored
