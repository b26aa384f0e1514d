"""The labs, in order, and where the lab 02 Lambda files live.

Kept apart because everything that walks the workshop needs it: the learner-file generator,
the notebook runner, the catch-up build (``workshop/deploy.py``) and the notebook helpers.
Notebooks are ``NN-<name>.ipynb`` and lab folders ``labs/NN-<name>``.
"""

from __future__ import annotations

from workshop.paths import LABS_DIR

LABS: dict[int, str] = {
    0: "00-setup",
    1: "01-dynamodb-table",
    2: "02-lambda-function",
    3: "03-deploy-lambda",
    4: "04-api-gateway",
    5: "05-use-the-api",
    6: "06-troubleshooting",
    7: "07-cleanup",
    8: "08-stock-and-protection",
}
# The Lambda files a learner writes in lab 02, generated as starter files from solutions/lambda.
LAMBDA_FILES = ("lambda_function.py", "custom_encoder.py")
LEARNER_LAMBDA_DIR = LABS_DIR / LABS[2]
