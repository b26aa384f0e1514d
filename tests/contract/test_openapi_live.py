"""Property-based tests: the live API on the local cloud answers as api/openapi.yaml says.

schemathesis generates requests from the description (valid ones and, for the bodies, invalid
ones) and sends them through the execute-api gateway to the reference Lambda and DynamoDB. For
every request:

- no 5xx: whatever a caller sends, the API answers it (design.md: bad input gets a clear 4xx);
- the status is one the description lists for that operation, the body matches its schema, and
  the documented headers (Content-Type, Access-Control-Allow-Origin) are present.

The number of examples per operation is kept small (the suite runs on 2 cores); hypothesis'
database is off, so every run draws afresh.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from contract_support import load_openapi

pytestmark = pytest.mark.localcloud

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


# Loaded at import (one test per operation); the live API's URL is only known once the stack
# is built, so each call is given it as its base URL.
schema = schemathesis.openapi.from_dict(load_openapi())


@schema.parametrize()
@settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_answer_matches_the_description(case, contract_stack):
    case.call_and_validate(base_url=contract_stack["api_url"], checks=CHECKS, timeout=30)
