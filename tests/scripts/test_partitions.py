"""ARNs and host names built by hand follow the region's partition, as the AWS SDKs derive it.

The table is botocore's ``partitions.json`` (explicit regions, then a pattern per partition): a
China region's ARNs say ``arn:aws-cn:`` and its hosts end with ``amazonaws.com.cn``; GovCloud's
ARNs say ``arn:aws-us-gov:`` with ``amazonaws.com`` hosts.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from workshop.arns import dns_suffix, partition
from workshop.cleanup import Clients
from workshop.target import Target

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("region", "expected"), [
    ("us-east-1", ("aws", "amazonaws.com")),
    ("eu-west-3", ("aws", "amazonaws.com")),
    ("cn-north-1", ("aws-cn", "amazonaws.com.cn")),
    ("cn-northwest-1", ("aws-cn", "amazonaws.com.cn")),
    ("us-gov-west-1", ("aws-us-gov", "amazonaws.com")),
    ("us-iso-east-1", ("aws-iso", "c2s.ic.gov")),
    ("ap-southeast-9", ("aws", "amazonaws.com")),  # not listed yet: the commercial pattern
])
def test_partition_and_dns_suffix_of_a_region(region, expected):
    assert (partition(region), dns_suffix(region)) == expected


def test_a_region_name_no_partition_knows_falls_back_to_the_commercial_one():
    assert (partition("moon-base-1"), dns_suffix("moon-base-1")) == ("aws", "amazonaws.com")


def test_the_invoke_url_on_aws_ends_with_the_partition_dns_suffix():
    china = Target(name="aws", region="cn-north-1", account_id="111122223333")
    assert china.partition == "aws-cn"
    assert china.invoke_url("abc123", "prod") == \
        "https://abc123.execute-api.cn-north-1.amazonaws.com.cn/prod"
    commercial = Target(name="aws", region="eu-west-1", account_id="111122223333")
    assert commercial.invoke_url("abc123", "prod") == \
        "https://abc123.execute-api.eu-west-1.amazonaws.com/prod"


def test_clients_know_their_partition():
    assert Clients(region="cn-northwest-1").partition == "aws-cn"
    assert Clients(region="us-gov-east-1").partition == "aws-us-gov"


def test_the_checks_build_the_table_arn_in_the_region_partition():
    from workshop.checks import Checker

    class _NoTable(Checker):
        def table(self):  # the table is missing: its ARN is built by hand
            return None

    clients = Clients(region="cn-north-1")
    clients._account_id = "111122223333"
    checker = _NoTable(Target(name="aws", region="cn-north-1", account_id="111122223333"),
                       "ada", clients=clients, http=object())
    assert checker.table_arn() == \
        "arn:aws-cn:dynamodb:cn-north-1:111122223333:table/inventory-ada-products"


HAND_BUILT_ARN = re.compile(r"""f["']arn:aws:""")


def test_no_code_builds_an_arn_with_a_fixed_partition():
    """Every f-string ARN in the workshop package and the solution notebooks names the partition
    through ``target.partition`` / ``clients.partition`` (the local cloud's own code excepted:
    it emulates the commercial partition only)."""
    offenders = []
    for path in (REPO / "workshop").rglob("*.py"):
        if "localcloud" in path.parts:
            continue
        offenders += [f"{path.relative_to(REPO)}:{n}" for n, line in
                      enumerate(path.read_text().splitlines(), 1) if HAND_BUILT_ARN.search(line)]
    for path in (REPO / "solutions" / "notebooks").glob("*.ipynb"):
        for index, cell in enumerate(json.loads(path.read_text())["cells"]):
            source = "".join(cell["source"])
            if cell["cell_type"] == "code" and HAND_BUILT_ARN.search(source):
                offenders.append(f"{path.relative_to(REPO)} cell {index}")
    assert offenders == []
