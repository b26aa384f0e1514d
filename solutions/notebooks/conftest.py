"""How `make test` runs the solution notebooks under nbval: on a fresh local cloud of its own.

`pytest --nbval solutions/notebooks` loads this file before any kernel starts. The kernels
inherit this process's environment, so setting it here gives every notebook the same fresh
state folder (a new local cloud, started by the first notebook's `connect()`), the owner the
stored outputs were made with, fake credentials and the local target. A learner's own local
cloud (in .workshop/) and AWS are never touched. The local cloud is stopped at the end.
"""

import os
import shutil
import tempfile
from pathlib import Path

from workshop.notebook_runner import fresh_run_environment

_STATE_DIR = Path(tempfile.mkdtemp(prefix="workshop-nbval-"))
_environment = fresh_run_environment(_STATE_DIR)
for _name in [name for name in os.environ if name not in _environment]:
    del os.environ[_name]
os.environ.update(_environment)


def pytest_sessionfinish(session, exitstatus):
    from workshop.localcloud import lifecycle

    try:
        lifecycle.stop(_STATE_DIR)
    finally:
        shutil.rmtree(_STATE_DIR, ignore_errors=True)
