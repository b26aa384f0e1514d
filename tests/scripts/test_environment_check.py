"""Small wording helpers of the scripts.

GIVEN a script started with a Python that lacks the workshop's packages THEN it says in one line
how to fix that (exit 2), instead of a traceback; and cleanup's warnings name kinds in English.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from workshop.cleanup.discovery import plural
from workshop.environment_check import missing_modules, require_workshop_python
from workshop.paths import REPO_ROOT


def test_nothing_is_missing_in_the_workshops_environment():
    assert missing_modules() == []
    require_workshop_python(str(REPO_ROOT / "scripts" / "check.py"))  # returns quietly


def test_a_missing_package_is_one_line_of_advice_and_exit_status_2(capsys):
    with pytest.raises(SystemExit) as exit_:
        require_workshop_python(str(REPO_ROOT / "scripts" / "cleanup.py"),
                                names=("json", "no_such_module_for_this_test"))
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "(no_such_module_for_this_test)" in err
    assert "make setup" in err and ".venv/bin/python scripts/cleanup.py" in err


def test_a_script_under_a_bare_python_says_what_to_do():
    # -S: no site-packages, so boto3 and friends are missing as on a machine without `make setup`
    completed = subprocess.run(
        [sys.executable, "-S", str(REPO_ROOT / "scripts" / "deploy.py"), "--help"],
        capture_output=True, text=True, timeout=60, cwd=REPO_ROOT)
    assert completed.returncode == 2
    assert "Traceback" not in completed.stderr
    assert "make setup" in completed.stderr


@pytest.mark.parametrize(("noun", "expected"), [
    ("IAM policy", "IAM policies"), ("DynamoDB table", "DynamoDB tables"), ("API key", "API keys"),
    ("usage plan", "usage plans"), ("budget", "budgets")])
def test_kinds_are_named_in_the_plural_in_english(noun, expected):
    assert plural(noun) == expected
