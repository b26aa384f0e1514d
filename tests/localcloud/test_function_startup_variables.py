"""Variables Python reads at start-up, set by the function: as on AWS, whichever process runs it.

AWS Lambda's environment-variable table ("Lambda Execution Environment and Available
Libraries", developer guide; "Defined runtime environment variables" today) marks ``LANG``
(default ``en_US.UTF-8``), ``PATH`` and ``PYTHONPATH`` as *not* reserved: a function may set
them, and its Python runtime starts with them, so ``PYTHONPATH`` entries are importable. The
local runtime starts Python before it knows the function (a spare, or a spawned worker given its
variables over a pipe), so what Python would have read at start-up has to be applied for it.

GIVEN a function that sets one of these, WHEN it starts cold — from the waiting spare or from a
spawned worker — THEN it sees its own value, and a module in a ``PYTHONPATH`` folder of its zip
imports; a function that sets none still gets AWS's defaults.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.localcloud

PROBE = """
import locale, os, sys
try:
    import vendored_helper
    HELPER = vendored_helper.NAME
except ImportError as error:
    HELPER = str(error)

def handler(event, context):
    return {
        "LANG": os.environ.get("LANG"),
        "helper": HELPER,
        "path": sys.path,
        "cwd": os.getcwd(),
    }
"""
FILES = {"app.py": PROBE, "vendor/vendored_helper.py": "NAME = 'vendored'\n"}


def test_a_function_without_its_own_lang_gets_aws_default(cloud):
    name = cloud.deploy(FILES)

    _, seen = cloud.invoke(name)

    assert seen["LANG"] == "en_US.UTF-8"
    assert "No module named 'vendored_helper'" in seen["helper"]


def test_a_function_s_own_lang_is_kept(cloud):
    # (Python reads LANG at start-up: such a function never runs in the spare, started with
    # AWS's default.)
    name = cloud.deploy(FILES, environment={"LANG": "C.UTF-8"})

    _, seen = cloud.invoke(name)

    assert seen["LANG"] == "C.UTF-8"


@pytest.mark.parametrize("path_too", [False, True], ids=["default-PATH", "own-PATH"])
@pytest.mark.parametrize("entry", ["vendor", "{task_root}/vendor"], ids=["relative", "absolute"])
def test_pythonpath_folders_of_the_function_are_importable_after_its_task_root(cloud, path_too, entry):
    # Relative entries are read from the working directory, the task root (AWS's /var/task).
    name = cloud.deploy(FILES, environment={"PYTHONPATH": "placeholder"})
    task_root = cloud.invoke(name)[1]["cwd"]
    environment = {"PYTHONPATH": entry.format(task_root=task_root)}
    if path_too:  # a function that sets PATH never runs in the spare
        environment["PATH"] = "/usr/bin:/bin"
    cloud.client("lambda").update_function_configuration(
        FunctionName=name, Environment={"Variables": environment})

    _, seen = cloud.invoke(name)

    assert seen["helper"] == "vendored"
    assert seen["path"][0] == task_root
    assert seen["path"][1] == f"{task_root}/vendor"
