"""examples/plain_boto3_stack.py is the issue's "done when": run it as a learner would.

It starts its own local cloud (temporary state folder, free ports), so it never meets the
session's shared one; it must stop it again, pass every check and say so.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from types import ModuleType

import pytest

from workshop.paths import REPO_ROOT

pytestmark = pytest.mark.localcloud

EXAMPLE = REPO_ROOT / "examples" / "plain_boto3_stack.py"


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("plain_boto3_stack", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def example_run() -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("AWS_ENDPOINT_URL", "WORKSHOP_STATE_DIR")}
    env["PYTHONIOENCODING"] = "utf-8"  # the ✔/✘ marks, whatever the locale
    return subprocess.run(
        [sys.executable, str(EXAMPLE)], capture_output=True, text=True, timeout=90, cwd=REPO_ROOT, env=env
    )


def test_the_example_builds_the_stack_and_every_check_passes(example_run):
    # GIVEN the example run with no notebook  WHEN it finishes  THEN it exits 0 and says so
    output = example_run.stdout
    assert example_run.returncode == 0, output[-4000:] + example_run.stderr[-4000:]
    assert "✘" not in output
    summary = re.search(r"^All (\d+) checks passed\.$", output, re.MULTILINE)
    assert summary, output[-2000:]
    assert int(summary.group(1)) == output.count("✔ ") >= 40
    assert output.rstrip().endswith("Local cloud stopped.")


def test_the_example_covers_every_part_of_the_done_when(example_run):
    output = example_run.stdout
    for stage in (
        "== Build the stack with plain boto3 ==",
        "== Call the API with requests ==",
        "== Read the function's logs with boto3 ==",
    ):
        assert stage in output
    for check in (
        "POST /product with an existing productId -> 409",
        'PATCH /product of the reserved word "name" -> 200',
        "paging with nextToken returns all",
        "GET /nowhere (no such method) -> 403 Missing Authentication Token",
        "OPTIONS /product preflight",
    ):
        assert f"✔ {check}" in output
    assert re.search(r"^✔ logs: \d+ START, END and REPORT lines in /aws/lambda/", output, re.MULTILINE)
    assert re.search(r"^✔ logs: \d+ structured request lines$", output, re.MULTILINE)


def test_the_example_stops_its_local_cloud_and_removes_its_state(example_run):
    state_dir = re.search(r"Starting a local cloud \(state in (.+)\) \.\.\.", example_run.stdout)
    assert state_dir, example_run.stdout[:500]
    assert not os.path.exists(state_dir.group(1))


def test_one_failed_check_makes_the_exit_code_one(capsys):
    # GIVEN the example's check recorder  WHEN one of two checks fails
    checks = load_example().Checks()
    checks.expect("good", True)
    checks.expect("GET /health -> 200", False, "got 502")

    # THEN it is printed with its reason, the summary names it, and the exit code is 1
    assert checks.exit_code == 1
    assert checks.summary() == "1 of 2 checks FAILED: GET /health -> 200"
    assert capsys.readouterr().out == "✔ good\n✘ GET /health -> 200: got 502\n"


def test_a_step_that_raises_is_a_failed_check_and_the_run_goes_on(capsys):
    example = load_example()
    checks = example.Checks()

    def broken() -> None:
        raise RuntimeError("the table is not there")

    assert example.run_step(checks, "Read the table with boto3", broken) is None
    assert checks.exit_code == 1
    assert "✘ Read the table with boto3: RuntimeError: the table is not there" in capsys.readouterr().out
