"""Inputs the live API accepts are in the description, and answered as it says.

The property-based test only sends what the description lets schemathesis generate: an input
the API accepts but the description leaves out is never checked, and a client generated from
the description cannot send it. design.md's API table: ``DELETE /product``, body
``{"productId"}`` (or ``?productId=``). GIVEN the contract stack (lab 08), WHEN a product is
deleted by the query string alone, or with a body and a query string that disagree, THEN the
description declares that parameter, does not require the body, and lists the answer.
"""

from __future__ import annotations

import uuid

import pytest
import requests
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from contract_support import load_openapi

pytestmark = pytest.mark.localcloud

OPENAPI = load_openapi()
SCHEMA = schemathesis.openapi.from_dict(OPENAPI)
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance]


def _delete_operation() -> dict:
    return OPENAPI["paths"]["/product"]["delete"]


def _query_parameters(operation: dict) -> dict[str, dict]:
    found = {}
    for parameter in operation.get("parameters", []):
        if "$ref" in parameter:
            parameter = OPENAPI["components"]["parameters"][parameter["$ref"].rsplit("/", 1)[-1]]
        if parameter["in"] == "query":
            found[parameter["name"]] = parameter
    return found


def test_delete_declares_the_product_id_query_parameter_and_an_optional_body():
    operation = _delete_operation()
    assert "productId" in _query_parameters(operation)
    assert _query_parameters(operation)["productId"].get("required", False) is False
    assert operation["requestBody"].get("required", False) is False


def _created(stack: dict) -> str:
    product_id = f"contract-delete-{uuid.uuid4().hex[:8]}"
    created = requests.post(f"{stack['api_url']}/product", json={"productId": product_id},
                            headers=stack["credentials"], timeout=30)
    assert created.status_code == 201, created.text
    return product_id


def test_a_delete_named_in_the_query_string_alone_is_answered_as_described(contract_stack):
    product_id = _created(contract_stack)
    case = SCHEMA["/product"]["DELETE"].Case(query={"productId": product_id})

    response = case.call(base_url=contract_stack["api_url"], headers=contract_stack["credentials"],
                         timeout=30)

    case.validate_response(response, checks=CHECKS)
    assert response.status_code == 200
    assert response.json()["deletedItem"] == {"productId": product_id}


def test_a_delete_whose_body_and_query_disagree_is_refused_as_described(contract_stack):
    product_id = _created(contract_stack)
    try:
        case = SCHEMA["/product"]["DELETE"].Case(
            query={"productId": f"{product_id}-other"}, body={"productId": product_id},
            media_type="application/json")

        response = case.call(base_url=contract_stack["api_url"],
                             headers=contract_stack["credentials"], timeout=30)

        case.validate_response(response, checks=CHECKS)
        assert response.status_code == 400
    finally:
        requests.delete(f"{contract_stack['api_url']}/product", json={"productId": product_id},
                        headers=contract_stack["credentials"], timeout=30)
