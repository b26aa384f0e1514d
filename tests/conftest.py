"""Suite-wide safety: the tests never touch real AWS.

Fake credentials, a fixed region and the local target are set before any test module imports
boto3, and the local cloud's state lives in a temporary folder so a learner's running local cloud
is never touched.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

# A learner's WORKSHOP_REALISM must not slow the default suite down: tests/realism/ sets it itself.
for _name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_ENDPOINT_URL",
              "WORKSHOP_REALISM", "WORKSHOP_REALISM_SCALE"):
    os.environ.pop(_name, None)
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "WORKSHOP_TARGET": "local",
        "WORKSHOP_OWNER": "tester",
        # A config file on the machine must not add a profile, region or endpoint.
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }
)
if "WORKSHOP_STATE_DIR" not in os.environ:
    _state_dir = tempfile.mkdtemp(prefix="workshop-test-state-")
    os.environ["WORKSHOP_STATE_DIR"] = _state_dir
    # Registered before the local-cloud fixtures' own exit hook, so it runs after it (atexit is
    # last-in, first-out): any local cloud in the folder is stopped before the folder goes.
    atexit.register(shutil.rmtree, _state_dir, ignore_errors=True)

import pytest  # noqa: E402

from localcloud_fixtures import local_cloud  # noqa: E402,F401 - the shared local cloud


@pytest.fixture(scope="session")
def deployed_stack(local_cloud):  # noqa: F811 - the fixture above, by name
    """The reference stack, built once on the shared local cloud by the deploy script's code.

    Tests that change the stack must restore it (or work on a copy): the whole session shares it.
    """
    from workshop.deploy import deploy

    return deploy(quiet=True)
