"""API Gateway's management quotas: token buckets per account and Region, on the realism clock.

AWS's table (API Gateway developer guide, "Amazon API Gateway quotas", section "API Gateway
quotas for creating, deploying and managing an API",
https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html): fixed quotas per
account that cannot be raised, and for every management call together "Total operations: 10
requests per second with a burst limit of 40 requests". A call over a quota is refused with
429 TooManyRequestsException (the botocore model's ``TooManyRequestsException`` shape: status
429, a ``Retry-After`` header, a ``message``) and message "Too Many Requests" (as reported from
AWS in aws/aws-cdk#15573: "Too Many Requests (Service: ApiGateway, Status Code: 429, ...)").

The execute-api traffic to a deployed API is not a management call and is never counted here.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass

from workshop.localcloud.realism.clock import Clock


@dataclass(frozen=True)
class Quota:
    """``requests`` calls per ``seconds``; ``burst`` calls at once (default ``requests``)."""

    requests: int
    seconds: float
    burst: int | None = None

    @property
    def capacity(self) -> int:
        return self.burst if self.burst is not None else self.requests


TOTAL = Quota(10, 1.0, burst=40)

#: The fixed per-operation quotas of the AWS table (operations the table lists but the REST
#: API of this workshop never calls, such as portals and V2 VPC links, are left out).
OPERATION_QUOTAS: dict[str, Quota] = {
    "CreateApiKey": Quota(5, 1.0),
    "CreateDeployment": Quota(1, 5.0),
    "CreateDocumentationVersion": Quota(1, 20.0),
    "CreateDomainName": Quota(1, 30.0),
    "CreateResource": Quota(5, 1.0),
    "CreateRestApi(regional)": Quota(1, 3.0),
    "CreateRestApi(edge)": Quota(1, 30.0),
    "DeleteApiKey": Quota(5, 1.0),
    "DeleteDomainName": Quota(1, 30.0),
    "DeleteResource": Quota(5, 1.0),
    "DeleteRestApi": Quota(1, 30.0),
    "GetResources": Quota(5, 2.0),
    "ImportDocumentationParts": Quota(1, 30.0),
    "ImportRestApi(regional)": Quota(1, 3.0),
    "ImportRestApi(edge)": Quota(1, 30.0),
    "PutRestApi": Quota(1, 1.0),
    "UpdateAccount": Quota(1, 20.0),
    "UpdateDomainName": Quota(1, 30.0),
    "UpdateUsagePlan": Quota(1, 20.0),
}


class TokenBucket:
    """``capacity`` tokens, refilled at ``quota.requests / quota.seconds`` per AWS second.

    On the realism clock an AWS second lasts ``scale`` seconds, so the refill rate here is
    divided by the scale; at scale 0 the bucket never runs dry.
    """

    def __init__(self, quota: Quota, clock: Clock) -> None:
        self.quota = quota
        self.clock = clock
        self._tokens = float(quota.capacity)
        self._updated = clock.now()

    def _refill(self) -> None:
        now = self.clock.now()
        elapsed = max(0.0, now - self._updated)
        self._updated = now
        period = self.clock.scaled(self.quota.seconds)
        if period <= 0:
            self._tokens = float(self.quota.capacity)
            return
        self._tokens = min(
            float(self.quota.capacity), self._tokens + elapsed * self.quota.requests / period
        )

    def wait(self) -> float:
        """Seconds until one token is there (0.0: one is there now)."""
        self._refill()
        if self._tokens >= 1.0 - 1e-4:  # epoch-sized floats: a refilled token may read 0.99999
            return 0.0
        period = self.clock.scaled(self.quota.seconds)
        return (1.0 - self._tokens) * period / self.quota.requests

    def take(self) -> None:
        self._refill()
        self._tokens -= 1.0


# -- which operation a request is ---------------------------------------------------------------

_ID = r"[^/]+"
_ROUTES: list[tuple[str, re.Pattern[str], str]] = [
    ("POST", re.compile(r"/restapis/?"), "CreateRestApi"),
    ("PUT", re.compile(rf"/restapis/{_ID}/?"), "PutRestApi"),
    ("DELETE", re.compile(rf"/restapis/{_ID}/?"), "DeleteRestApi"),
    ("POST", re.compile(rf"/restapis/{_ID}/deployments/?"), "CreateDeployment"),
    ("POST", re.compile(rf"/restapis/{_ID}/resources/{_ID}/?"), "CreateResource"),
    ("DELETE", re.compile(rf"/restapis/{_ID}/resources/{_ID}/?"), "DeleteResource"),
    ("GET", re.compile(rf"/restapis/{_ID}/resources/?"), "GetResources"),
    ("POST", re.compile(rf"/restapis/{_ID}/documentation/versions/?"), "CreateDocumentationVersion"),
    ("PUT", re.compile(rf"/restapis/{_ID}/documentation/parts/?"), "ImportDocumentationParts"),
    ("POST", re.compile(r"/apikeys/?"), "CreateApiKey"),
    ("DELETE", re.compile(rf"/apikeys/{_ID}/?"), "DeleteApiKey"),
    ("PATCH", re.compile(r"/account/?"), "UpdateAccount"),
    ("PATCH", re.compile(rf"/usageplans/{_ID}/?"), "UpdateUsagePlan"),
    ("POST", re.compile(r"/domainnames/?"), "CreateDomainName"),
    ("DELETE", re.compile(rf"/domainnames/{_ID}/?"), "DeleteDomainName"),
    ("PATCH", re.compile(rf"/domainnames/{_ID}/?"), "UpdateDomainName"),
]


def operation_quota_name(
    method: str, path: str, query: Mapping[str, str], body: Mapping[str, object] | None
) -> str | None:
    """The key of :data:`OPERATION_QUOTAS` that applies to this request, or None (only the
    total applies).

    CreateRestApi and ImportRestApi have two quotas: REGIONAL and PRIVATE APIs one per 3 s,
    edge-optimized ones (the default when no endpoint type is given) one per 30 s.
    """
    method = method.upper()
    for route_method, pattern, operation in _ROUTES:
        if route_method == method and pattern.fullmatch(path):
            break
    else:
        return None
    if operation == "CreateRestApi" and query.get("mode") == "import":
        types = query.get("parameters.endpointConfigurationTypes") or query.get(
            "endpointConfigurationTypes", ""
        )
        return "ImportRestApi(edge)" if _is_edge([types] if types else []) else "ImportRestApi(regional)"
    if operation == "CreateRestApi":
        configuration = (body or {}).get("endpointConfiguration") or {}
        types = configuration.get("types") if isinstance(configuration, dict) else None
        return "CreateRestApi(edge)" if _is_edge(types) else "CreateRestApi(regional)"
    return operation


def _is_edge(types: object) -> bool:
    if not isinstance(types, list) or not types:
        return True  # API Gateway's default endpoint type for REST APIs is EDGE
    return any(str(kind).upper() == "EDGE" for kind in types)


@dataclass(frozen=True)
class Throttled:
    """A refused call: what to tell the caller."""

    operation: str
    retry_after_s: float

    @property
    def retry_after_header(self) -> str:
        """Whole seconds, at least 1 (HTTP's Retry-After has no fractions)."""
        return str(max(1, math.ceil(self.retry_after_s)))


class ManagementQuotas:
    """Every management call asks :meth:`admit`; a refused call consumes no token."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._buckets: dict[tuple[str, str, str], TokenBucket] = {}
        self._lock = threading.Lock()

    def _bucket(self, account: str, region: str, name: str) -> TokenBucket:
        key = (account, region, name)
        bucket = self._buckets.get(key)
        if bucket is None:
            quota = TOTAL if name == "total" else OPERATION_QUOTAS[name]
            bucket = self._buckets[key] = TokenBucket(quota, self.clock)
        return bucket

    def admit(self, account: str, region: str, operation: str | None) -> Throttled | None:
        """None when the call may go ahead (its tokens are taken), else why not."""
        with self._lock:
            buckets = [("total", self._bucket(account, region, "total"))]
            if operation is not None:
                buckets.append((operation, self._bucket(account, region, operation)))
            waits = [(bucket.wait(), name) for name, bucket in buckets]
            longest, name = max(waits)
            if longest > 0:
                return Throttled(name, longest)
            for _, bucket in buckets:
                bucket.take()
            return None
