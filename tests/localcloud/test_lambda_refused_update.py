"""A refused Lambda update changes nothing, in default mode too (rules/lambda_updates.py).

GIVEN a function, WHEN an UpdateFunctionConfiguration sets new environment variables together
with something Lambda refuses (a layer that does not exist), or an UpdateFunctionCode names a
bucket that does not exist, THEN the call fails and the function keeps its previous variables and
code: a later invoke runs the old ones. (moto applies the variables before it refuses the layer;
AWS validates first and changes nothing.)
"""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from localcloud_support import REGION

from workshop.localcloud.config import ACCOUNT_ID

HANDLER = "import os\ndef handler(e, c):\n    return {'greeting': os.environ.get('GREETING'), 'v': 1}\n"

REFUSED = {
    "configuration": lambda lam, name: lam.update_function_configuration(
        FunctionName=name,
        Environment={"Variables": {"GREETING": "new"}},
        Timeout=30,
        Layers=[f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:layer:no-such-layer:1"],
    ),
    "code": lambda lam, name: lam.update_function_code(
        FunctionName=name, S3Bucket="no-such-bucket-anywhere", S3Key="x.zip"
    ),
}


@pytest.mark.parametrize("update", sorted(REFUSED))
def test_a_refused_update_leaves_the_function_as_it_was(cloud, update):
    lam = cloud.client("lambda")
    name = cloud.deploy({"app.py": HANDLER}, environment={"GREETING": "old"}, timeout=10)
    before = lam.get_function_configuration(FunctionName=name)
    with pytest.raises(ClientError):
        REFUSED[update](lam, name)
    after = lam.get_function_configuration(FunctionName=name)
    for key in ("Environment", "Timeout", "CodeSha256", "CodeSize", "Handler", "MemorySize"):
        assert after.get(key) == before.get(key), key
    assert "Layers" not in after or after["Layers"] == before.get("Layers")
    assert cloud.invoke(name)[1] == {"greeting": "old", "v": 1}


def test_an_accepted_update_still_applies(cloud):
    lam = cloud.client("lambda")
    name = cloud.deploy({"app.py": HANDLER}, environment={"GREETING": "old"})
    lam.update_function_configuration(FunctionName=name, Environment={"Variables": {"GREETING": "new"}})
    assert cloud.invoke(name)[1] == {"greeting": "new", "v": 1}
