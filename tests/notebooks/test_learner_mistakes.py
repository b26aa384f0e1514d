"""The mistakes learners really make, injected into the solution notebooks and run on the local
cloud: Run All always reaches the check cell, and what the notebook prints names the fix.

Each test takes a solution notebook, replaces one solution region (or one line) with the
mistake, and runs the cells in order as *Run All* does: every cell before the check cell must
finish without an error (a crash there would hide the check cell's hint), and the check cell's
FAIL line, or the output of the cell where the mistake shows, must name what to do.

Speed: one kernel per notebook runs all of that notebook's mistakes one after the other
(repairing in between), and labs 04 to 07 share one learner's stack, built once.
"""

from __future__ import annotations

import io
import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

from workshop.labs import LABS
from workshop.notebook_runner import CELL_TIMEOUT_S, KERNEL_NAME
from workshop.paths import SOLUTION_LAMBDA_DIR, SOLUTION_NOTEBOOKS_DIR

pytestmark = pytest.mark.localcloud

# Labs 04 to 07 run, in this order, on this learner's stack (lab 04 builds it).
STACK_OWNER = "mistakes-stack"


@dataclass
class Ran:
    """What one cell printed, and the error it raised (None when it finished)."""

    source: str
    text: str
    error: str | None


class Kernel:
    """One Jupyter kernel, fed cells one at a time (a notebook's Run All, or single cells)."""

    def __init__(self, env: dict[str, str]) -> None:
        from nbclient import NotebookClient

        self.env = env
        self.nb = nbformat.v4.new_notebook()
        self.client = NotebookClient(
            self.nb, timeout=CELL_TIMEOUT_S, kernel_name=KERNEL_NAME, allow_errors=True,
            resources={"metadata": {"path": str(SOLUTION_NOTEBOOKS_DIR)}})

    def __enter__(self) -> Kernel:
        self._context = self.client.setup_kernel(env=self.env)
        self._context.__enter__()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._context.__exit__(*exc_info)

    def run(self, source: str) -> Ran:
        cell = nbformat.v4.new_code_cell(source)
        self.nb.cells.append(cell)
        self.client.execute_cell(cell, len(self.nb.cells) - 1)
        text, error = [], None
        for output in cell.outputs:
            if output.output_type == "stream":
                text.append(output.text)
            elif output.output_type == "error":
                error = f"{output.ename}: {output.evalue}"
                text.append(error + "\n")
            elif "text/plain" in output.get("data", {}):
                text.append(output.data["text/plain"] + "\n")
        return Ran(source, "".join(text), error)


def solution_cells(lab: int) -> list[str]:
    """The code cells of a solution notebook, in order (as the notebook runs them)."""
    nb = nbformat.read(SOLUTION_NOTEBOOKS_DIR / f"{LABS[lab]}.ipynb", as_version=4)
    return [cell.source for cell in nb.cells if cell.cell_type == "code"]


def check_cell(lab: int) -> str:
    """The source of the notebook's check cell: the code cell after '## Check your work'."""
    nb = nbformat.read(SOLUTION_NOTEBOOKS_DIR / f"{LABS[lab]}.ipynb", as_version=4)
    for before, cell in zip(nb.cells, nb.cells[1:]):
        if before.cell_type == "markdown" and before.source.startswith("## Check your work"):
            return cell.source
    raise AssertionError(f"lab {lab:02d} has no check cell")


def cell_with(cells: list[str], text: str) -> int:
    """The index of the one code cell containing ``text`` (found by content, not position, so
    cells added by other labs' edits do not break the tests)."""
    found = [index for index, source in enumerate(cells) if text in source]
    assert len(found) == 1, f"{text!r} is in code cells {found}, not exactly one"
    return found[0]


def region_replaced(source: str, mistake: str) -> str:
    """``source`` with its solution region (markers included) replaced by ``mistake``."""
    out: list[str] = []
    inside = False
    for line in source.split("\n"):
        stripped = line.strip()
        if stripped.startswith("### BEGIN SOLUTION") and "ONLY" not in stripped:
            assert not inside
            inside = True
            indent = line[: len(line) - len(line.lstrip())]
            out += [indent + part for part in mistake.split("\n")]
            continue
        if inside:
            if stripped.startswith("### END SOLUTION"):
                inside = False
            continue
        out.append(line)
    assert not inside and out != source.split("\n"), "no solution region to replace"
    return "\n".join(out)


def run_all(kernel: Kernel, cells: list[str]) -> list[Ran]:
    """Run ``cells`` in order as Run All does, stopping at the first error."""
    ran = []
    for source in cells:
        ran.append(kernel.run(source))
        if ran[-1].error:
            break
    return ran


def assert_reaches_check(ran: list[Ran], check_source: str) -> Ran:
    """Every cell before the check cell finished; return the check cell's run."""
    for cell in ran[:-1]:
        assert cell.error is None, (
            f"Run All stopped before the check cell, at:\n{cell.source[:400]}\n-> {cell.error}\n"
            f"{cell.text[-800:]}")
    assert ran and ran[-1].source == check_source, (
        f"Run All did not reach the check cell; the last cell run was:\n{ran[-1].source[:300]}\n"
        f"-> {ran[-1].error}")
    return ran[-1]


def assert_fail_names(check: Ran, title: str, *fix_words: str) -> None:
    """The check cell stopped at the FAIL line ``title``, whose text holds every fix word."""
    assert check.error is not None and check.error.startswith("AssertionError: FAIL: "), (
        f"the check cell did not FAIL:\n{check.text[-1500:]}")
    assert f"FAIL: {title}" in check.error, check.error
    assert "What to do:" in check.error, check.error
    for word in fix_words:
        assert word in check.error, f"{word!r} not in:\n{check.error}"


def assert_skipped_after(ran: list[Ran], create: int, what: str) -> None:
    """The create cell said NOT CREATED, and a later cell skipped its work with one line."""
    assert f"NOT CREATED: there is no {what}" in ran[create].text, ran[create].text
    skipped = f"skipped: {what.split(' tagged')[0]} does not exist yet (see above)"
    assert any(skipped in cell.text for cell in ran[create + 1:-1]), skipped


@pytest.fixture(scope="module")
def kernel_env(local_cloud, owners_to_clean) -> Iterator[dict[str, str]]:
    owners_to_clean += [STACK_OWNER, "mistakes-01a", "mistakes-01b", "mistakes-01c", "mistakes-02",
                        "mistakes-03", "mistakes-03b", "mistakes-04a"]
    yield {**os.environ}


def as_owner(env: dict[str, str], owner: str) -> dict[str, str]:
    return {**env, "WORKSHOP_OWNER": owner}


# --- lab 01 ---------------------------------------------------------------------------------


def test_lab_01_a_float_price_and_a_table_without_tags(kernel_env):
    cells = solution_cells(1)
    check = check_cell(1)
    put = cell_with(cells, "table.put_item(\n")
    create = cell_with(cells, "dynamodb.create_table(")
    with Kernel(as_owner(kernel_env, "mistakes-01a")) as kernel:
        # GIVEN a price written as a float: boto3 refuses it before anything is sent
        mistaken = list(cells)
        mistaken[put] = region_replaced(cells[put], 'table.put_item(Item={"productId": "lab01-mug", '
                                                    '"name": "Blue mug", "price": 12.50, "quantity": 40})')
        ran = run_all(kernel, mistaken)
        # THEN the put cell says what to write, and the check names the item and the cell
        assert "Write the price as Decimal" in ran[put].text
        assert "No item lab01-mug in the table" in ran[put].text
        assert_fail_names(assert_reaches_check(ran, check),
                          "the test item reads back with its exact price", "put_item", "Decimal")

        # GIVEN (another learner, same kernel) a table created without the workshop's tags
        assert kernel.run("import os\nos.environ['WORKSHOP_OWNER'] = 'mistakes-01b'").error is None
        mistaken = list(cells)
        mistaken[create] = region_replaced(cells[create], (
            'dynamodb.create_table(TableName=names.table, BillingMode="PAY_PER_REQUEST",\n'
            '    AttributeDefinitions=[{"AttributeName": "productId", "AttributeType": "S"}],\n'
            '    KeySchema=[{"AttributeName": "productId", "KeyType": "HASH"}])'))
        ran = run_all(kernel, mistaken)
        assert "Table inventory-mistakes-01b-products is there" in ran[create].text
        assert_fail_names(assert_reaches_check(ran, check), "the table carries the workshop tags",
                          "tag_resource", "Tags=tag_list()")


def test_lab_01_a_create_table_never_called_reaches_the_check(kernel_env):
    cells = solution_cells(1)
    check = check_cell(1)
    create = cell_with(cells, "dynamodb.create_table(")
    with Kernel(as_owner(kernel_env, "mistakes-01c")) as kernel:
        # GIVEN create_table named but never called: the cell runs, and creates nothing
        mistaken = list(cells)
        mistaken[create] = region_replaced(cells[create], "dynamodb.create_table")
        ran = run_all(kernel, mistaken)
        # THEN the cell says so, the cells needing the table skip, and the check names the fix
        assert_skipped_after(ran, create, "table inventory-mistakes-01c-products")
        assert_fail_names(assert_reaches_check(ran, check), "table inventory-mistakes-01c-products exists",
                          "dynamodb.create_table in the cell", "Create the table")
        # AND once the learner fixes the cell, Run All passes, the check cell included
        ran = run_all(kernel, cells)
        assert [cell.error for cell in ran] == [None] * len(cells), ran[-1].text


# --- lab 02 ---------------------------------------------------------------------------------


def lambda_variant(folder: Path, old: str, new: str, file: str = "lambda_function.py") -> Path:
    """A copy of the reference Lambda with one mistake: ``old`` replaced by ``new``."""
    folder.mkdir(parents=True)
    for name in ("lambda_function.py", "custom_encoder.py"):
        shutil.copy(SOLUTION_LAMBDA_DIR / name, folder / name)
    path = folder / file
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new))
    return folder


LAB_02_MISTAKES = {
    # name: (file, old, new, FAIL title, words the fix must hold)
    "dict body": ("lambda_function.py", '"body": json.dumps(body, cls=CustomEncoder),', '"body": body,',
                  "the body is a string of JSON", ["build_response", "json.dumps", "(a dict)"]),
    "ALL_NEW": ("lambda_function.py", 'ReturnValues="UPDATED_NEW",', 'ReturnValues="ALL_NEW",',
                "PATCH /product answers 200 with only the updated attribute",
                ["update_product()", 'ReturnValues="UPDATED_NEW"', "ALL_NEW"]),
    # The reference handler answers 500 to an error inside a route, and says so.
    "health fails": ("lambda_function.py", 'return build_response(200, {"status": "healthy"})',
                     'return build_response(200, {"status": event["body"]["x"]})',
                     "GET /health answers 200", ["health()", "statusCode 500"]),
    # build_response without its return: the handler answers None, or raises trying to use it.
    "no return": ("lambda_function.py", '    return {\n        "statusCode": status_code,',
                  '    {\n        "statusCode": status_code,', "the body is a string of JSON",
                  ["build_response", "json.dumps"]),
    "encoder writes text": ("custom_encoder.py", "        if isinstance(obj, Decimal):\n",
                            "        if isinstance(obj, Decimal):\n            return str(obj)\n",
                            "CustomEncoder writes Decimal numbers exactly and sets as lists",
                            ["custom_encoder.py", "int(obj)", '"19.99"']),
}


def test_lab_02_each_mistake_in_the_lambda_files_is_named_by_the_check_cell(kernel_env, tmp_path):
    cells = solution_cells(2)
    check = check_cell(2)
    load = cell_with(cells, "LAMBDA_DIR = LABS_DIR")
    with Kernel(as_owner(kernel_env, "mistakes-02")) as kernel:
        for number, (name, (file, old, new, title, words)) in enumerate(LAB_02_MISTAKES.items()):
            folder = lambda_variant(tmp_path / f"variant-{number}", old, new, file)
            mistaken = list(cells)
            mistaken[load] = f"from pathlib import Path\nLAMBDA_DIR = Path({str(folder)!r})"
            ran = run_all(kernel, mistaken)
            try:
                assert_fail_names(assert_reaches_check(ran, check), title, *words)
            except AssertionError as error:
                raise AssertionError(f"lab 02 mistake {name!r}: {error}") from None


def test_check_py_02_shows_the_body_and_its_type_before_anything_is_cut(tmp_path, local_cloud):
    from workshop import checks

    folder = lambda_variant(tmp_path / "dict-body", *LAB_02_MISTAKES["dict body"][1:3])
    out = io.StringIO()
    assert checks.main(["02", "--lambda-dir", str(folder)], out=out) == 1
    report = out.getvalue()
    found = [line for line in report.splitlines() if "found:" in line and "body" in line]
    assert found, report
    assert "body {'message': 'API is working'} (a dict)" in found[0]
    assert "json.dumps(body, cls=CustomEncoder)" in report
    assert "API Gateway answers 502 to a dict body" in report


# --- lab 03 ---------------------------------------------------------------------------------


def test_lab_03_a_wrong_handler_is_named_not_a_crash(kernel_env):
    cells = solution_cells(3)
    check = check_cell(3)
    create = cell_with(cells, "create_function_when_role_ready(\n")
    with Kernel(as_owner(kernel_env, "mistakes-03")) as kernel:
        mistaken = list(cells)
        mistaken[create] = cells[create].replace('Handler="lambda_function.lambda_handler"',
                                                 'Handler="lambda_function.handler"')
        ran = run_all(kernel, mistaken)
        invoked = next(r for r in ran if "def invoke(event)" in r.source)
        assert "FunctionError" in invoked.text
        assert_fail_names(assert_reaches_check(ran, check),
                          "the function runs lambda_function.lambda_handler on Python 3",
                          "Handler='lambda_function.lambda_handler'", "lambda_function.handler")


def test_lab_03_a_role_then_a_function_not_created_reach_the_check(kernel_env):
    cells = solution_cells(3)
    check = check_cell(3)
    role = cell_with(cells, "iam.create_role(")
    create = cell_with(cells, "create_function_when_role_ready(\n")
    with Kernel(as_owner(kernel_env, "mistakes-03b")) as kernel:
        # GIVEN the TODO's raise replaced by pass in the role cell
        ran = run_all(kernel, [*cells[:role], region_replaced(cells[role], "pass"), *cells[role + 1:]])
        assert_skipped_after(ran, role, "role inventory-mistakes-03b-lambda-role")
        assert_fail_names(assert_reaches_check(ran, check), "role inventory-mistakes-03b-lambda-role exists",
                          "iam.create_role in the cell", "The execution role")
        # GIVEN then the role made, but pass in the create-function cell
        ran = run_all(kernel, [*cells[:create], region_replaced(cells[create], "pass"), *cells[create + 1:]])
        assert "Role ARN:" in ran[role].text
        assert_skipped_after(ran, create, "function inventory-mistakes-03b-api")
        assert_fail_names(assert_reaches_check(ran, check), "function inventory-mistakes-03b-api exists",
                          "create_function_when_role_ready in the cell", "Create the function")


# --- labs 04 to 07, on one stack --------------------------------------------------------------


def test_lab_04_a_rest_api_not_created_reaches_the_check(kernel_env):
    cells = solution_cells(4)
    check = check_cell(4)
    create = cell_with(cells, "apigateway.create_rest_api(")
    with Kernel(as_owner(kernel_env, "mistakes-04a")) as kernel:
        # GIVEN the TODO's raise replaced by pass (its own stack: catch-up builds labs 01-03)
        ran = run_all(kernel, [*cells[:create], region_replaced(cells[create], "pass"), *cells[create + 1:]])
        # THEN the cell says so, the cells needing the API skip, and the check names the fix
        assert_skipped_after(ran, create, "REST API inventory-mistakes-04a-api tagged as yours")
        assert_fail_names(assert_reaches_check(ran, check), "REST API inventory-mistakes-04a-api exists",
                          "apigateway.create_rest_api in the cell", "The REST API", "api_id")

        # GIVEN then the API created, but the whole answer kept instead of its "id"
        kept = "api_id = apigateway.create_rest_api(name=names.api, tags=tags)"
        ran = run_all(kernel, [*cells[:create], region_replaced(cells[create], kept), *cells[create + 1:]])
        assert_skipped_after(ran, create, "REST API inventory-mistakes-04a-api tagged as yours")
        assert "keep the answer's id in api_id" in ran[create].text
        assert_fail_names(assert_reaches_check(ran, check), "REST API inventory-mistakes-04a-api exists",
                          "keep its id in api_id")


def test_lab_04_forgotten_deployment_then_forgotten_permission(kernel_env):
    cells = solution_cells(4)
    check = check_cell(4)
    deploy = cell_with(cells, "apigateway.create_deployment(")
    permission = cell_with(cells, "lambda_client.add_permission(")
    call = cell_with(cells, 'requests.get(f"{api_url}/health"')
    with Kernel(as_owner(kernel_env, STACK_OWNER)) as kernel:
        # GIVEN create_deployment forgotten (the TODO's raise removed, nothing written)
        mistaken = list(cells)
        mistaken[deploy] = region_replaced(cells[deploy], "pass")
        ran = run_all(kernel, mistaken)
        # THEN the deploy cell says it is not deployed, "Call it" prints each attempt and
        # points at the deploy cell (not lab 06), and the check names create_deployment
        assert "Not deployed: there is no stage 'prod' yet" in ran[deploy].text
        attempts = re.findall(r"attempt \d of \d: GET /health -> 403", ran[call].text)
        assert len(attempts) == 2, ran[call].text
        assert "run the deploy cell above, create_deployment" in ran[call].text
        assert_fail_names(assert_reaches_check(ran, check), "the API is deployed to the stage prod",
                          "create_deployment", "deploy cell")

        # GIVEN then the deployment done, but add_permission forgotten
        assert kernel.run(cells[deploy]).error is None
        kernel.run('lambda_client.remove_permission(FunctionName=names.function, '
                   'StatementId=statement_id)')
        rest = [region_replaced(cells[permission], "pass")] + cells[permission + 1:]
        ran = run_all(kernel, rest)
        # THEN the permission cell says the policy still lacks it; "Call it" shows every 500
        # and no KeyError; the check names add_permission
        assert "still does not let this API invoke it" in ran[0].text
        call_ran = ran[call - permission]
        assert call_ran.error is None, call_ran.error
        assert re.search(r"attempt 1 of \d: GET /health -> 500", call_ran.text), call_ran.text
        assert "Not 200 (500): API Gateway could not invoke the function: run the add_permission" \
            in call_ran.text
        assert_fail_names(assert_reaches_check(ran, check),
                          "API Gateway (this API only) may invoke the function", "add_permission")
        # AND the solution's cell repairs it
        assert kernel.run(cells[permission]).error is None


def test_lab_05_a_token_not_passed_back_and_a_product_not_sent_as_json(kernel_env):
    cells = solution_cells(5)
    check = check_cell(5)
    paging = cell_with(cells, "MAX_PAGES")
    post = cell_with(cells, 'created = requests.post(f"{api_url}/product"')
    with Kernel(as_owner(kernel_env, STACK_OWNER)) as kernel:
        # GIVEN the paging loop never puts nextToken back into params
        mistaken = list(cells)
        mistaken[paging] = cells[paging].replace('    params["nextToken"] = page["nextToken"]\n', "")
        ran = run_all(kernel, mistaken)
        # THEN the loop stops at once and says why, and the check names nextToken
        assert "the nextToken did not advance" in ran[paging].text
        assert ran[paging].text.count("a page of 2") == 2, ran[paging].text
        assert_fail_names(assert_reaches_check(ran, check),
                          "paging with nextToken returns every product once", "nextToken")

        # GIVEN the product sent as form data instead of JSON
        mistaken = list(cells)
        mistaken[post] = region_replaced(
            cells[post], 'created = requests.post(f"{api_url}/product", data=product, timeout=30)')
        ran = run_all(kernel, mistaken)
        # THEN the check shows the 400 and its message, and says to send JSON
        check_ran = assert_reaches_check(ran, check)
        assert_fail_names(check_ran, "POST /product answers 201 and keeps the price 12.5",
                          "json=product", "HTTP 400")


def test_lab_06_a_permission_not_restored_is_named_in_every_later_scenario(kernel_env):
    cells = solution_cells(6)
    check = check_cell(6)
    fix = cell_with(cells, "lambda_client.add_permission(")
    catch_up_cell = cell_with(cells, "catch_up(through=5)")
    with Kernel(as_owner(kernel_env, STACK_OWNER)) as kernel:
        mistaken = list(cells)
        mistaken[fix] = region_replaced(cells[fix], "pass")
        ran = run_all(kernel, mistaken)
        assert "Still not 200" in ran[fix].text
        logged = next(r for r in ran if 'error = next((m for m in messages if "[ERROR]"' in r.source)
        assert "The function did not run at all" in logged.text
        assert "No error logged yet" not in logged.text
        assert_fail_names(assert_reaches_check(ran, check),
                          "without the permission: 500; with it: 200 again", "add_permission")
        # AND the catch-up cell does not say "nothing to do": it sees the 500 and repairs it
        repaired = kernel.run(cells[catch_up_cell])
        assert repaired.error is None, repaired.text
        assert "nothing to do" not in repaired.text
        assert "GET /health through the gateway answers 500" in repaired.text
        assert "Catch-up: repaired" in repaired.text


def test_lab_07_delete_rest_api_with_the_name_is_explained(kernel_env):
    cells = solution_cells(7)
    check = check_cell(7)
    delete = cell_with(cells, "apigateway.delete_rest_api(")
    with Kernel(as_owner(kernel_env, STACK_OWNER)) as kernel:
        mistaken = list(cells)
        mistaken[delete] = region_replaced(cells[delete],
                                           "apigateway.delete_rest_api(restApiId=names.api)")
        ran = run_all(kernel, mistaken)
        # THEN the cell says the call takes the id, not the name, and Run All goes on; the
        # scripted cleanup removes the API, so the check passes
        assert "restApiId=api_id" in ran[delete].text, ran[delete].text
        assert "not" in ran[delete].text and "inventory-mistakes-stack-api" in ran[delete].text
        assert "Still there:" in ran[delete].text
        check_ran = assert_reaches_check(ran, check)
        assert check_ran.error is None, check_ran.text
        assert "PASS: no REST API named inventory-mistakes-stack-api is left" in check_ran.text


# --- the learner notebooks themselves ---------------------------------------------------------


def test_learner_notebooks_carry_no_outputs_and_wrap_their_todos():
    from workshop.learner_files import WIDTH
    from workshop.paths import NOTEBOOKS_DIR

    for lab, name in LABS.items():
        nb = nbformat.read(NOTEBOOKS_DIR / f"{name}.ipynb", as_version=4)
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            assert cell.outputs == [] and cell.execution_count is None, f"{name} cell {index}"
            lines = cell.source.split("\n")
            todo_lines = [i for i, line in enumerate(lines) if "TODO" in line]
            for i in todo_lines:
                assert len(lines[i]) <= WIDTH, f"{name} cell {index}: {lines[i]!r}"


def test_lab_05_learner_notebook_shows_the_expected_paging_output():
    from workshop.paths import NOTEBOOKS_DIR

    nb = nbformat.read(NOTEBOOKS_DIR / f"{LABS[5]}.ipynb", as_version=4)
    paging = next(i for i, cell in enumerate(nb.cells) if "MAX_PAGES" in cell.source)
    below = nb.cells[paging + 1]
    assert below.cell_type == "markdown"
    assert "<details><summary>Hint: the arguments</summary>" in below.source
    assert "You should see" in below.source
    assert "a page of 1 and no nextToken: the end" in below.source
