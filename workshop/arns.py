"""The ARN partition and DNS suffix of a region, as the AWS SDKs work them out.

An ARN built by hand must name the region's partition (``arn:aws-cn:...`` in China,
``arn:aws-us-gov:...`` in GovCloud), and a service's host name ends with the partition's DNS suffix
(``amazonaws.com.cn`` in China). botocore ships the table the SDKs use (``partitions.json``:
explicit regions, then a region-name pattern per partition), so both are read from it rather than
guessed. Service principals (``lambda.amazonaws.com``) are not derived: they keep the
``amazonaws.com`` form in every partition for the services the workshop uses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

DEFAULT_PARTITION = "aws"
DEFAULT_DNS_SUFFIX = "amazonaws.com"


@dataclass(frozen=True)
class Partition:
    name: str
    dns_suffix: str


@lru_cache(maxsize=1)
def _partitions() -> list[dict]:
    from botocore.loaders import create_loader

    return create_loader().load_data("partitions")["partitions"]


@lru_cache(maxsize=64)
def partition_of(region: str) -> Partition:
    """The partition ``region`` belongs to; the commercial one for a region nobody knows yet."""
    partitions = _partitions()
    for entry in partitions:  # an explicitly listed region wins over any pattern
        if region in entry.get("regions", {}):
            return Partition(entry["id"], entry["outputs"]["dnsSuffix"])
    for entry in partitions:
        if re.match(entry["regionRegex"], region):
            return Partition(entry["id"], entry["outputs"]["dnsSuffix"])
    return Partition(DEFAULT_PARTITION, DEFAULT_DNS_SUFFIX)


def partition(region: str) -> str:
    """The ARN partition of ``region``: ``aws``, ``aws-cn``, ``aws-us-gov``, ..."""
    return partition_of(region).name


def dns_suffix(region: str) -> str:
    """The domain AWS endpoints of ``region`` end with: ``amazonaws.com``, ``amazonaws.com.cn``, ..."""
    return partition_of(region).dns_suffix
