"""``make bench`` prints every figure issue 14 names with its target, from one run.

The bench measures; it never asserts speed (timed assertions would make the suite flaky on a
shared machine). What is tested here is that the report is complete and that a verdict is
what its figure says.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from workshop.paths import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "scripts"))
import bench  # noqa: E402

#: Each figure with a target, as the report labels it.
TARGET_ROWS = (
    "up-to-ready (start() until both ports answer)",
    "cold invoke (lambda.invoke, first call)",
    "gateway overhead over raw get_item, p50 (difference)",
    "gateway / raw get_item, p50",
    "IAM policy check per call, in-process p50",
    "longest a request waited for a snapshot",
)
#: Figures whose target is not a number: the faster endpoint server must be the default.
CHOICE_ROWS = ("AWS endpoint get_item p50",)


@pytest.mark.parametrize(
    ("value", "target", "unit", "verdict"),
    [(161.4, 300, "ms", "met"), (300.0, 300, "ms", "met"), (300.1, 300, "ms", "NOT met"),
     (2.5, 2, "x", "NOT met"), (1.9, 2, "x", "met")],
)
def test_a_figure_is_met_only_up_to_its_target(value, target, unit, verdict):
    text = bench.against(value, target, unit, 1)
    assert text.endswith(f": {verdict})")
    assert f"target <= {target:g}" in text


def test_the_targets_are_the_issue_s_numbers():
    assert bench.UP_TO_READY_TARGET_MS == 2000
    assert bench.COLD_INVOKE_TARGET_MS == 300
    assert bench.GATEWAY_OVERHEAD_TARGET_MS == 2


@pytest.mark.timeout(240)
def test_one_run_prints_every_figure_with_its_target(tmp_path):
    environment = {**os.environ, "TMPDIR": str(tmp_path)}
    run = subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts" / "bench.py"), "--requests", "20"],
        capture_output=True, text=True, timeout=230, env=environment, cwd=REPO_ROOT,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    lines = run.stdout.splitlines()
    for label in TARGET_ROWS:
        row = next((line for line in lines if line.startswith(label)), None)
        assert row is not None, f"no row {label!r} in:\n{run.stdout}"
        figure = re.search(r"\s([\d.]+)\s?(ms|x)\s+\(target <= ([\d.]+)", row)
        assert figure, row
        met = float(figure.group(1)) <= float(figure.group(3))
        assert row.endswith(": met)" if met else ": NOT met)"), row
    for label in CHOICE_ROWS:
        row = next((line for line in lines if line.startswith(label)), None)
        assert row is not None, f"no row {label!r} in:\n{run.stdout}"
        figures = re.search(r"waitress ([\d.]+) ms / werkzeug ([\d.]+) ms.*default \((\w+)\)", row)
        faster = "waitress" if float(figures.group(1)) <= float(figures.group(2)) else "werkzeug"
        assert row.endswith(": met)" if faster == figures.group(3) else ": NOT met)"), row
    summary = next(line for line in lines if line.startswith("targets met:"))
    counted = re.match(r"targets met: (\d+) of (\d+)", summary)
    assert int(counted.group(2)) >= len(TARGET_ROWS)
    assert int(counted.group(1)) == sum(line.endswith(": met)") for line in lines)
    assert not list(tmp_path.glob("workshop-bench-*")), "the bench left its state folder behind"
