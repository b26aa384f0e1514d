"""The generator that turns solutions into learner files (workshop/learner_files.py), in memory,
and the helpers the notebooks call (workshop/notebooks.py)."""

from __future__ import annotations

import textwrap

import nbformat
import pytest

from workshop import learner_files, notebooks
from workshop.labs import LAMBDA_FILES
from workshop.learner_files import MarkerError, learner_notebook, strip_solutions


def dedent(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def test_region_becomes_a_todo_at_the_markers_indentation():
    # GIVEN a region nested two blocks deep
    source = dedent(
        """
        class Encoder:
            def default(self, obj):
                if obj:
                    ### BEGIN SOLUTION
                    return int(obj)
                    ### END SOLUTION
                return None
        """
    )
    # WHEN it is stripped
    stripped = strip_solutions(source)
    # THEN the solution is gone and a TODO sits where it was, at the same indentation
    assert stripped == dedent(
        f"""
        class Encoder:
            def default(self, obj):
                if obj:
                    # TODO: {learner_files.DEFAULT_HINT}
                    raise NotImplementedError("TODO: {learner_files.DEFAULT_HINT}")
                return None
        """
    )
    compile(stripped, "<stripped>", "exec")


def test_hint_on_the_begin_marker_is_the_todo_text_and_is_safely_quoted():
    source = '### BEGIN SOLUTION: call create_table with Tags="yours" \\ here\nx = 1\n### END SOLUTION\n'
    stripped = strip_solutions(source)
    assert stripped.splitlines()[0] == '# TODO: call create_table with Tags="yours" \\ here'
    namespace: dict = {}
    with pytest.raises(NotImplementedError) as raised:
        exec(stripped, namespace)
    assert str(raised.value) == 'TODO: call create_table with Tags="yours" \\ here'
    assert "x" not in namespace


def test_every_region_is_replaced_and_code_between_them_is_kept():
    source = dedent(
        """
        a = 1
        ### BEGIN SOLUTION
        b = 2
        ### END SOLUTION
        c = 3
            ### BEGIN SOLUTION: second
            d = 4
            ### END SOLUTION
        """
    )
    stripped = strip_solutions(source)
    assert "b = 2" not in stripped and "d = 4" not in stripped
    assert stripped.count("raise NotImplementedError") == 2
    assert "a = 1\n" in stripped and "c = 3\n" in stripped
    assert '    raise NotImplementedError("TODO: second")' in stripped


def test_solution_only_region_is_removed_without_a_todo():
    source = 'path = "mine"\n### BEGIN SOLUTION ONLY\npath = "reference"\n### END SOLUTION ONLY\nprint(path)'
    assert strip_solutions(source) == 'path = "mine"\nprint(path)'


def test_source_without_markers_is_unchanged():
    source = "# no markers here\n### Heading-like comment that is not a marker\nx = 1\n"
    assert strip_solutions(source) == source


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("x = 1\n### BEGIN SOLUTION\ny = 2\n", r"<t>:2: this solution region is never closed"),
        ("x = 1\n### END SOLUTION\n", r"<t>:2: '### END SOLUTION' has no BEGIN marker"),
        (
            "### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION\n",
            r"<t>:2: solution regions cannot nest; the region opened on line 1",
        ),
        (
            "### BEGIN SOLUTION ONLY\nx = 1\n### END SOLUTION\n",
            r"<t>:3: .* closes the region opened on line 1 with the other kind",
        ),
        ("### BEGIN SOLUTIONS\nx = 1\n### END SOLUTION\n", r"<t>:1: .* looks like a solution marker"),
        ("### END\n", r"<t>:1: '### END' looks like a solution marker"),
        ("### BEGIN SOLUTION\nx = 1\n### END SOLUTION: why\n", r"<t>:3: an END marker takes no hint"),
    ],
)
def test_malformed_markers_fail_with_the_line_and_what_to_do(source, expected):
    with pytest.raises(MarkerError, match=expected):
        strip_solutions(source, origin="<t>")


def test_markdown_regions_get_a_markdown_placeholder():
    source = "Why a Decimal?\n\n### BEGIN SOLUTION: explain in one sentence\nBecause floats are inexact.\n### END SOLUTION"
    assert strip_solutions(source, markdown=True) == "Why a Decimal?\n\n**TODO:** explain in one sentence"


def _notebook(*cells) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = list(cells)
    return nb


def _executed(source: str, text: str, count: int) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(source)
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=text)]
    cell.execution_count = count
    return cell


def test_learner_notebook_carries_no_outputs_at_all():
    # GIVEN a solution notebook with one plain cell and one solution cell, both executed
    plain = _executed("print('connected')", "connected\n", 1)
    solution = _executed("### BEGIN SOLUTION\nprint('secret')\n### END SOLUTION", "secret\n", 2)
    solution_nb = _notebook(nbformat.v4.new_markdown_cell("# Lab"), plain, solution)
    # WHEN the learner version is generated
    learner = learner_notebook(solution_nb, origin="solutions/notebooks/99-test.ipynb")
    # THEN no cell carries an output or an execution count: the learner sees only their own run
    assert [c.source for c in learner.cells][:2] == ["# Lab", "print('connected')"]
    for cell in learner.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
    assert "secret" not in nbformat.writes(learner)
    assert learner.metadata["workshop"]["generated_from"] == "solutions/notebooks/99-test.ipynb"
    # AND the solution notebook itself is untouched
    assert solution_nb.cells[2].outputs[0]["text"] == "secret\n"


def test_a_long_hint_is_wrapped_and_the_raise_says_the_same():
    hint = ("call create_function_when_role_ready(...) with the function's name, the python3.12 "
            'runtime, your role, the handler "lambda_function.lambda_handler" and the zip')
    source = f"if True:\n    ### BEGIN SOLUTION: {hint}\n    x = 1\n    ### END SOLUTION\n"
    stripped = strip_solutions(source)
    assert all(len(line) <= learner_files.WIDTH for line in stripped.splitlines())
    comment = " ".join(line.strip().removeprefix("# TODO:").removeprefix("#").strip()
                       for line in stripped.splitlines() if line.strip().startswith("#"))
    assert comment == hint
    with pytest.raises(NotImplementedError) as raised:
        exec(stripped, {})
    assert str(raised.value) == f"TODO: {hint}"
    assert notebooks.find_todos  # the first raise line still carries the TODO mark
    assert learner_files.TODO_MARK in stripped


def test_second_level_hints_go_to_a_collapsed_block_in_a_cell_below():
    # GIVEN a TODO region with a first hint and a second level of arguments
    cell = nbformat.v4.new_code_cell(
        "### BEGIN SOLUTION: create the table with dynamodb.create_table\n"
        "### HINT: `TableName=names.table`, the key `productId` of type `S`,\n"
        "### HINT: and `BillingMode=\"PAY_PER_REQUEST\"`\n"
        "dynamodb.create_table(TableName='t')\n"
        "### END SOLUTION\n"
        "print('done')"
    )
    after = nbformat.v4.new_markdown_cell("## Next")
    learner = learner_notebook(_notebook(cell, after), origin="nb.ipynb")
    # THEN the TODO names the call and says where more help is; the arguments are not in it
    todo, help_cell, next_cell = learner.cells
    assert "create the table with dynamodb.create_table" in todo.source
    assert "hint below this cell" in todo.source
    assert "PAY_PER_REQUEST" not in todo.source and "create_table(TableName='t')" not in todo.source
    # AND the cell below holds them, collapsed, and it is marked as generated
    assert help_cell.cell_type == "markdown" and help_cell.metadata[learner_files.HELP_CELL_METADATA]
    assert help_cell.source.startswith("<details><summary>Hint: the arguments</summary>")
    assert "`TableName=names.table`" in help_cell.source and "PAY_PER_REQUEST" in help_cell.source
    assert help_cell.source.rstrip().endswith("</details>")
    assert next_cell.source == "## Next"


def test_a_cell_tagged_you_should_see_shows_its_reference_output_in_markdown():
    shown = _executed("print('Table t is ACTIVE.')", "Table t is ACTIVE.\n", 4)
    shown.metadata["tags"] = [learner_files.SHOW_OUTPUT_TAG]
    quiet = _executed("print('other')", "other\n", 5)
    learner = learner_notebook(_notebook(shown, quiet), origin="nb.ipynb")
    assert len(learner.cells) == 3
    help_cell = learner.cells[1]
    assert "You should see" in help_cell.source
    assert "```text\nTable t is ACTIVE.\n```" in help_cell.source
    assert learner.cells[0].outputs == [] and learner.cells[2].outputs == []


def test_a_hint_outside_a_region_is_refused():
    with pytest.raises(MarkerError, match="inside a solution region"):
        strip_solutions("### HINT: the arguments\nx = 1\n")
    with pytest.raises(MarkerError, match="### HINT: <text>"):
        strip_solutions("### BEGIN SOLUTION\n### HINTS the arguments\nx = 1\n### END SOLUTION\n")


def test_starter_files_get_second_level_hints_as_comments():
    source = ("def f():\n    ### BEGIN SOLUTION: return the answer\n"
              "    ### HINT: ReturnValues=\"UPDATED_NEW\"\n    return 42\n    ### END SOLUTION\n")
    stripped = strip_solutions(source)
    assert '    # Hint: ReturnValues="UPDATED_NEW"' in stripped.splitlines()
    assert "return 42" not in stripped


def test_a_region_that_leaves_invalid_python_is_refused():
    # A region that cuts a dict literal in half would give learners a SyntaxError, not a TODO.
    cell = nbformat.v4.new_code_cell('d = {\n    ### BEGIN SOLUTION\n    "a": 1,\n    ### END SOLUTION\n}')
    with pytest.raises(MarkerError, match="does not compile"):
        learner_notebook(_notebook(cell), origin="nb.ipynb")


def test_cells_with_ipython_syntax_are_not_compile_checked():
    cell = nbformat.v4.new_code_cell("%time x = 1\n### BEGIN SOLUTION\ny = 2\n### END SOLUTION")
    learner = learner_notebook(_notebook(cell), origin="nb.ipynb")
    assert learner.cells[0].source.startswith("%time x = 1\n# TODO")


def test_lambda_starter_text_strips_and_says_where_it_comes_from(tmp_path, monkeypatch):
    monkeypatch.setattr(learner_files, "REPO_ROOT", tmp_path)
    solution = tmp_path / "solutions" / "lambda" / "lambda_function.py"
    solution.parent.mkdir(parents=True)
    solution.write_text('def health(event):\n    ### BEGIN SOLUTION\n    return 200\n    ### END SOLUTION\n')
    text = learner_files.lambda_starter_text(solution)
    assert text.splitlines()[0].startswith("# Lab 02 starter file, generated from solutions/lambda/lambda_function.py")
    assert "return 200" not in text
    assert f'    raise NotImplementedError("TODO: {learner_files.LAMBDA_DEFAULT_HINT}")' in text


def test_find_todos_lists_each_placeholder_with_file_and_line(tmp_path):
    (tmp_path / "lambda_function.py").write_text('x = 1\nraise NotImplementedError("TODO: write it")\n')
    (tmp_path / "custom_encoder.py").write_text("class CustomEncoder: pass\n")
    assert notebooks.find_todos(tmp_path) == ['lambda_function.py:2: raise NotImplementedError("TODO: write it")']
    with pytest.raises(NotImplementedError, match=r"still have TODOs(.|\n)*lambda_function.py:2"):
        notebooks.require_no_todos(tmp_path)


def test_a_missing_lambda_file_counts_as_work_left(tmp_path):
    (tmp_path / "lambda_function.py").write_text("x = 1\n")
    assert notebooks.find_todos(tmp_path) == ["custom_encoder.py: the file is missing"]


def test_complete_files_pass(tmp_path, capsys):
    for name in LAMBDA_FILES:
        (tmp_path / name).write_text("x = 1\n")
    notebooks.require_no_todos(tmp_path)
    assert capsys.readouterr().out.startswith("PASS: no TODO left in")


def test_lab_03_deploys_the_learners_files_only_when_complete(tmp_path, monkeypatch):
    monkeypatch.setattr(notebooks, "LEARNER_LAMBDA_DIR", tmp_path)
    (tmp_path / "lambda_function.py").write_text('raise NotImplementedError("TODO: x")\n')
    (tmp_path / "custom_encoder.py").write_text("x = 1\n")
    directory, why = notebooks.choose_lambda_dir()
    assert directory == notebooks.SOLUTION_LAMBDA_DIR and "1 TODO" in why
    (tmp_path / "lambda_function.py").write_text("def lambda_handler(event, context): pass\n")
    assert notebooks.choose_lambda_dir() == (tmp_path, "your lab 02 files are complete")


def test_check_passes_or_says_what_to_fix(capsys):
    notebooks.check(True, "the table exists", "create it")
    assert capsys.readouterr().out == "PASS: the table exists\n"
    with pytest.raises(AssertionError, match="FAIL: the table exists\n  What to do: create it"):
        notebooks.check(False, "the table exists", "create it")


def test_a_probe_that_raises_is_a_fail_with_what_was_found():
    # GIVEN the classic lab 02 mistake: a dict body, which json.loads cannot read
    response = {"statusCode": 200, "body": {"message": "API is working"}, "headers": {}}
    with pytest.raises(AssertionError) as raised:
        notebooks.check(lambda: __import__("json").loads(response["body"]) == {},
                        "GET / answers 'API is working'", "json.dumps the body", found=response)
    # THEN the FAIL names the error, the body and its type, then what to do
    message = str(raised.value)
    assert message.startswith("FAIL: GET / answers 'API is working'\n  Found: checking it raised "
                              "TypeError: the JSON object must be str")
    assert "body {'message': 'API is working'} (a dict)" in message
    assert message.endswith("What to do: json.dumps the body")


def test_describe_shows_an_http_answer_a_handler_error_and_a_5xx_note():
    class Response:
        status_code = 502
        text = '{"message": "Internal server error"}\n'

    assert notebooks.describe(Response()).startswith('HTTP 502 {"message": "Internal server error"}')
    assert "lab 06's table" in notebooks.describe(Response())
    assert notebooks.describe({"handler_error": "KeyError: 'x'"}) == "the handler raised KeyError: 'x'"
    assert "traceback is printed" in notebooks.describe({"statusCode": 500, "body": "{}"})
    assert "5xx" not in notebooks.describe({"statusCode": 404, "body": "{}"})
    assert notebooks.describe(lambda: 1 / 0).startswith("(could not read it: ZeroDivisionError")
    long = notebooks.describe("x" * 5000)
    assert len(long) == notebooks.FOUND_LIMIT + len(" ...")


def test_cells_tagged_todo_lose_their_reference_output():  # as every cell does
    gate = _executed("require_no_todos(LAMBDA_DIR)", "PASS: no TODO left in solutions/lambda\n", 3)
    gate.metadata["tags"] = [learner_files.TODO_TAG]
    learner = learner_notebook(_notebook(gate), origin="nb.ipynb")
    assert learner.cells[0].source == gate.source
    assert learner.cells[0].outputs == [] and learner.cells[0].execution_count is None
