"""Find and delete everything the workshop created, and nothing else.

The write-up's third warning is about charges: a forgotten API, function or table keeps costing
money. This package is the safe way out, shared by ``scripts/cleanup.py``, lab 07 and the check
for lab 07.

Ownership rules (what "ours" means; nothing is ever deleted by its name alone):

* REST APIs, Lambda functions, IAM roles, customer managed IAM policies, DynamoDB tables and log
  groups are ours when their tags say ``workshop=serverless-inventory`` and
  ``workshop-owner=<owner>``. A look-alike with the same name but without these tags, or with
  another owner's tag, is left alone. Tags are only read of resources named like the workshop's
  (``inventory-<owner>-…``; Lambda's ``/aws/lambda/inventory-<owner>-…`` groups), which is also all
  a classroom learner may read (INSTRUCTORS.md).
* A listing or tag read that is refused (AccessDenied) is reported, never taken for "nothing
  there": ``discover`` raises :class:`DiscoveryIncomplete`, and a cleanup that could not look
  everywhere fails instead of saying that nothing is left.
* A log group without tags is ours only when it is ``/aws/lambda/<function>`` for a function
  that is ours (Lambda creates that group itself, untagged, on the first invocation) or
  ``API-Gateway-Execution-Logs_<api id>/...`` for one of our REST APIs. Before such a parent is
  deleted its log groups are tagged, so a cleanup interrupted half way still finds them.
* A budget is touched only with ``include_budget``, only under the exact name
  ``inventory-<owner>-budget``, and, when AWS Budgets returns tags for it, only when they are the
  workshop's and the owner's. (Budgets created before tag support, or an emulator without it,
  leave the exact name as the only evidence; a budget holds no data, so that is an acceptable
  risk for a step the user asked for explicitly.)

Deletion runs in dependency order (the REST API calls the function, the function assumes the
role and uses the table), every step treats "not found" as "already gone", so running it twice or
after a failure is safe, and it finishes by discovering again to prove nothing is left.

The modules, in the order a cleanup uses them:

* ``resources``: the kinds of resource, :class:`Resource`, and ownership read from tags;
* ``clients``: boto3 clients with retries; ``errors``: what an AWS error code means here;
* ``discovery``: finding the resources by their names and tags, and saying when it could not
  look everywhere (a refused call is never "nothing there");
* ``confirmation``: asking before deleting on AWS;
* ``deletion``: the ordered, idempotent deletes and their waits; ``cleaner``: the whole run;
* ``terminal``: pass/fail marks that survive a non-Unicode console; ``cli``: ``scripts/cleanup.py``.
"""

from workshop.cleanup.cleaner import Cleaner, Report
from workshop.cleanup.cli import build_parser, main
from workshop.cleanup.clients import RETRY_CONFIG, Clients
from workshop.cleanup.confirmation import ask_confirmation
from workshop.cleanup.deletion import (
    API_DELETE_ATTEMPTS,
    API_DELETE_INTERVAL_SECONDS,
    APIGATEWAY_PRINCIPAL,
    ROLE_DELETE_ATTEMPTS,
    ROLE_DELETE_WAIT_SECONDS,
    TABLE_DELETE_TIMEOUT_SECONDS,
    Outcome,
)
from workshop.cleanup.discovery import (
    API_LOG_PREFIX,
    LAMBDA_LOG_PREFIX,
    Discovery,
    discover,
    find_log_group,
    name_prefix,
    owners_in_account,
)
from workshop.cleanup.errors import CleanupError, DiscoveryIncomplete, error_code, is_gone
from workshop.cleanup.resources import (
    DELETE_ORDER,
    KIND_BUDGET,
    KIND_FUNCTION,
    KIND_LABELS,
    KIND_LOG_GROUP,
    KIND_POLICY,
    KIND_REST_API,
    KIND_ROLE,
    KIND_TABLE,
    Resource,
    owner_from_tags,
    sort_for_deletion,
)
from workshop.cleanup.terminal import ASCII_MARKS, UNICODE_MARKS, Marks, marks_for, tolerant_stdout

__all__ = [
    "Clients",
    "Cleaner",
    "CleanupError",
    "Discovery",
    "DiscoveryIncomplete",
    "Outcome",
    "Report",
    "Resource",
    "ask_confirmation",
    "discover",
    "owner_from_tags",
    "owners_in_account",
]
