"""The reference Lambda carries ``### BEGIN SOLUTION`` / ``### END SOLUTION`` regions (the nbgrader
convention) from which the lab 02 starter files are generated. They must be well formed, and the
files must still be valid Python with every region replaced by a TODO placeholder."""

from __future__ import annotations

import ast
import re

import pytest

from lambda_test_support import LAMBDA_DIR

FILES = ["lambda_function.py", "custom_encoder.py"]
# A BEGIN marker may carry a hint for the TODO it becomes ("### BEGIN SOLUTION: lab 08 ...").
REGION = re.compile(
    r"^([ \t]*)### BEGIN SOLUTION(?:\s*[:\-\u2014][^\n]*)?\n(.*?)^\1### END SOLUTION\n", re.S | re.M
)


def source(name: str) -> str:
    return (LAMBDA_DIR / name).read_text(encoding="utf-8")


def test_the_lambda_is_exactly_two_files():
    assert sorted(p.name for p in LAMBDA_DIR.glob("*.py")) == sorted(FILES)


@pytest.mark.parametrize("name", FILES)
def test_markers_are_balanced_and_at_the_code_indentation(name):
    text = source(name)
    regions = list(REGION.finditer(text))
    # Every marker belongs to exactly one region.
    assert len(regions) >= 1
    assert text.count("### BEGIN SOLUTION") == text.count("### END SOLUTION") == len(regions)
    for region in regions:
        indent, body = region.group(1), region.group(2)
        code = [line for line in body.splitlines() if line.strip()]
        assert code, "empty region"
        # The region's code starts at the markers' indentation.
        assert all(line.startswith(indent) for line in code)
        assert not code[0][len(indent)].isspace()


@pytest.mark.parametrize("name", FILES)
@pytest.mark.parametrize(
    "placeholder", ["{indent}# TODO: your code here\n", "{indent}raise NotImplementedError\n"]
)
def test_starter_with_regions_replaced_is_valid_python(name, placeholder):
    starter = REGION.sub(lambda m: placeholder.format(indent=m.group(1)), source(name))
    assert "SOLUTION" not in starter
    ast.parse(starter)


def test_scaffolding_stays_outside_the_regions():
    # Imports, the handler and the route table are given; learners write the bodies.
    starter = REGION.sub("", source("lambda_function.py"))
    for given in ("import boto3", "def lambda_handler(", "ROUTES = {", "def get_table():", "def read_page("):
        assert given in starter
    assert "class CustomEncoder(json.JSONEncoder):" in REGION.sub("", source("custom_encoder.py"))
