"""Lab 01: the DynamoDB table exists, is ACTIVE, has the key the Lambda expects, and is tagged."""

from __future__ import annotations

from collections.abc import Iterator

from workshop.checks.lookups import ResourceLookups
from workshop.checks.result import CheckResult, catch_up, lab_hint


class TableChecks(ResourceLookups):
    def lab_01(self) -> Iterator[CheckResult]:
        name = self.names.table
        table = self.table()
        if table is None:
            yield CheckResult("01", f"table {name} exists", False, "not found",
                              lab_hint("01", "create the table with create_table." + catch_up("01")),
                              missing=True)
            return
        status = table.get("TableStatus")
        yield CheckResult("01", f"table {name} exists and is ACTIVE", status == "ACTIVE",
                          f"status {status}",
                          lab_hint("01", "wait for the table (the table_exists waiter)"))
        keys = [(k["AttributeName"], k["KeyType"]) for k in table.get("KeySchema", [])]
        types = {a["AttributeName"]: a["AttributeType"]
                 for a in table.get("AttributeDefinitions", [])}
        ok = keys == [("productId", "HASH")] and types.get("productId") == "S"
        yield CheckResult(
            "01", "key schema is productId (partition key, type S)", ok,
            f"found {keys} with types {types}",
            lab_hint("01", "a key schema cannot be changed: delete the table and create it with "
                     "KeySchema [productId HASH] and AttributeDefinitions [productId S]"))
        yield self._tag_check("01", "table", self._table_tags(table["TableArn"]))
