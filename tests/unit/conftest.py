"""Fixtures for the reference Lambda's unit tests.

The Lambda lives in solutions/lambda as two plain files (what a learner uploads), not in a
package, so it is imported by putting that folder on sys.path for the import. DynamoDB is moto,
in-process (``mock_aws``): no network, no real AWS.

Every call goes through ``Api.request``, which also checks what must hold for *every* response:
a valid Lambda proxy response (int statusCode, str body) with a JSON body and the CORS and
Content-Type headers.
"""

from __future__ import annotations

import importlib
import itertools
import sys
from pathlib import Path
from types import ModuleType, SimpleNamespace

import boto3
import pytest
from moto import mock_aws

from lambda_test_support import LAMBDA_DIR, Api

_table_numbers = itertools.count(1)
LAMBDA_MODULES = ("lambda_function", "custom_encoder")


@pytest.fixture(scope="session")
def lambda_modules() -> SimpleNamespace:
    """The ``lambda_function`` and ``custom_encoder`` modules from solutions/lambda (or LAMBDA_DIR).

    Other tests may import a learner's files under the same module names, so sys.modules is put
    back as it was right after the import; the module objects keep working on their own.
    """
    saved = {name: sys.modules.pop(name) for name in LAMBDA_MODULES if name in sys.modules}
    write_bytecode = sys.dont_write_bytecode
    sys.dont_write_bytecode = True  # no __pycache__ beside the files learners zip and upload
    sys.path.insert(0, str(LAMBDA_DIR))
    try:
        encoder = importlib.import_module("custom_encoder")
        function = importlib.import_module("lambda_function")
    finally:
        sys.path.remove(str(LAMBDA_DIR))
        sys.dont_write_bytecode = write_bytecode
        for name in LAMBDA_MODULES:
            sys.modules.pop(name, None)
        sys.modules.update(saved)
    assert Path(function.__file__).resolve().parent == LAMBDA_DIR
    assert Path(encoder.__file__).resolve().parent == LAMBDA_DIR
    assert function.CustomEncoder is encoder.CustomEncoder
    return SimpleNamespace(function=function, encoder=encoder)


@pytest.fixture
def table_name() -> str:
    """A table name of this test's own. Tables are created but never deleted (one call less per
    test): moto forgets them when the module's mock ends."""
    return f"inventory-unit-test-{next(_table_numbers)}"


@pytest.fixture
def lambda_function(lambda_modules, table_name, monkeypatch) -> ModuleType:
    """The handler module with TABLE_NAME set and a fresh (empty) boto3 resource cache."""
    module = lambda_modules.function
    monkeypatch.setenv("TABLE_NAME", table_name)
    monkeypatch.setattr(module, "_dynamodb", None)
    return module


@pytest.fixture
def CustomEncoder(lambda_modules):
    return lambda_modules.encoder.CustomEncoder


@pytest.fixture(scope="module")
def aws():
    """moto's in-process AWS, shared by the tests of one module (tables are per test)."""
    with mock_aws():
        yield boto3.client("dynamodb")


@pytest.fixture(scope="module")
def dynamodb(aws):
    return boto3.resource("dynamodb")


@pytest.fixture
def table(aws, dynamodb, table_name):
    """An empty products table (partition key productId, String), as lab 01 creates it."""
    aws.create_table(
        TableName=table_name,
        KeySchema=[{"AttributeName": "productId", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "productId", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return dynamodb.Table(table_name)


@pytest.fixture
def api(lambda_function, table) -> Api:
    """The handler, wired to an empty moto table."""
    return Api(lambda_function)


@pytest.fixture
def api_without_table(lambda_function, aws) -> Api:
    """The handler with TABLE_NAME pointing at a table that does not exist."""
    return Api(lambda_function)
