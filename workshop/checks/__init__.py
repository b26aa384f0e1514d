"""Check a learner's progress lab by lab: what exists, how it is configured, and how it behaves.

Every check is one line with a pass or fail mark and, on failure, a hint naming the lab where it
is fixed. The checks look up resources by the learner's names (what the labs tell them to
create) and report missing workshop tags separately, because cleanup trusts only the tags.

Lab 07 is inverted: it passes when nothing of the learner's is left, tagged or not.

The modules:

* ``labs``: lab numbers, folders and titles; ``result``: :class:`CheckResult` and the hints;
* ``lookups``: the learner's resources, read once per run; ``checker``: :class:`Checker`;
* one module per lab's rules: ``table`` (01), ``learner_code`` (02), ``role`` and ``function``
  (03), ``api`` (04), ``live_api`` (the HTTP checks of 04 and 05), ``troubleshooting`` (06),
  ``leftovers`` (07); ``policies`` and ``events`` are the pure helpers they share;
* ``report``: printing a report or the --all-owners table; ``cli``: ``scripts/check.py``.
"""

from workshop.checks.api import API_ROUTES, CORS_ORIGIN_PARAM, cors_problems, integration_problems
from workshop.checks.checker import Checker
from workshop.checks.cli import build_parser, main
from workshop.checks.events import proxy_event
from workshop.checks.function import EXPECTED_HANDLER
from workshop.checks.labs import CLASS_LABS, DEFAULT_LAB, LABS, TITLES, labs_through, parse_lab
from workshop.checks.learner_code import LAMBDA_FILES
from workshop.checks.live_api import HTTP_TIMEOUT_SECONDS, PREFLIGHT_ORIGIN
from workshop.checks.policies import (
    LOG_ACTIONS,
    REQUIRED_TABLE_ACTIONS,
    permission_allows,
    table_policy_problems,
)
from workshop.checks.report import class_table, print_results
from workshop.checks.result import CheckResult
from workshop.checks.role import BASIC_EXECUTION_POLICY

__all__ = [
    "CheckResult",
    "Checker",
    "cors_problems",
    "integration_problems",
    "main",
    "parse_lab",
    "permission_allows",
    "proxy_event",
    "table_policy_problems",
]
