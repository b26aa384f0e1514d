"""Usage plan throttling and quotas, per API key.

"Throttling and quota limits apply to requests for individual API keys that are aggregated
across all API stages within a usage plan" (API Gateway developer guide, "Usage plans and API
keys for REST APIs"), so the counters are kept per (usage plan, API key). A method-level throttle
of one API stage (``apiStages[].throttle``) is an extra bucket for that stage and method.

- **Throttle** (``throttle.rateLimit`` requests per second, ``throttle.burstLimit``): a token
  bucket, the algorithm API Gateway documents ("Throttle requests to your REST APIs": "the token
  bucket algorithm, where a token counts for a request"): it holds at most ``burstLimit``
  tokens, refills at ``rateLimit`` per second, and a request without a token gets 429
  ``{"message":"Too Many Requests"}``.
- **Quota** (``quota.limit`` requests per ``quota.period`` of DAY, WEEK or MONTH, minus
  ``quota.offset`` in the first period): a request over it gets 429
  ``{"message":"Limit Exceeded"}``. Periods are counted in UTC: a day from 00:00, a week from
  Monday, a month from its first day. (Which weekday starts AWS's week, and whether the first
  period is the one the key joined the plan in, are not documented; this is the local choice.)

A throttled request does not count against the quota; a refused-by-quota one takes no token.
Counters live in the gateway's memory: they start again when the local cloud restarts.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from workshop.localcloud.gateway.access_errors import QUOTA_EXCEEDED, THROTTLED, AccessError


@dataclass
class TokenBucket:
    rate: float  # tokens per second
    capacity: float
    tokens: float
    updated: float

    def take(self, now: float) -> bool:
        elapsed = max(0.0, now - self.updated)
        self.tokens = min(self.capacity, self.tokens + elapsed * self.rate)
        self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


@dataclass
class QuotaCounter:
    period_start: datetime
    used: int
    first_period: bool


def throttle_settings(settings: Any) -> tuple[float, float] | None:
    """(rate, capacity) from a throttle dict, or None when it sets no limit."""
    if not isinstance(settings, dict) or not settings:
        return None
    rate = _number(settings.get("rateLimit"))
    burst = _number(settings.get("burstLimit"))
    if rate is None and burst is None:
        return None
    rate = max(rate or 0.0, 0.0)
    # A bucket must hold at least one token for any request to pass once the rate allows it.
    capacity = float(burst) if burst and burst > 0 else max(1.0, math.ceil(rate))
    return rate, capacity


def period_start(moment: datetime, period: str) -> datetime:
    """The UTC start of the quota period that holds ``moment``."""
    day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "WEEK":
        return day - timedelta(days=day.weekday())
    if period == "MONTH":
        return day.replace(day=1)
    return day


class UsageMeter:
    """Counts requests per API key and refuses those over the usage plan's limits."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[tuple[Any, ...], TokenBucket] = {}
        self._quotas: dict[tuple[str, str], QuotaCounter] = {}

    def admit(self, plan: Any, key_id: str, method_throttle: dict[str, Any] | None = None,
              method_scope: tuple[str, ...] = ()) -> AccessError | None:
        """None when the request may pass (and is counted), else THROTTLED or QUOTA_EXCEEDED."""
        now = self._clock()
        with self._lock:
            quota = self._quota_counter(plan, key_id, now)
            if quota is not None:
                counter, limit = quota
                if counter.used >= limit:
                    return QUOTA_EXCEEDED
            buckets = []
            plan_throttle = throttle_settings(getattr(plan, "throttle", None))
            if plan_throttle is not None:
                buckets.append(self._bucket(("plan", plan.id, key_id), plan_throttle, now))
            stage_throttle = throttle_settings(method_throttle)
            if stage_throttle is not None:
                buckets.append(self._bucket(("method", plan.id, key_id, *method_scope), stage_throttle, now))
            if not all(self._has_token(bucket, now) for bucket in buckets):
                return THROTTLED
            for bucket in buckets:
                bucket.take(now)
            if quota is not None:
                quota[0].used += 1
        return None

    def _bucket(self, scope: tuple[Any, ...], settings: tuple[float, float], now: float) -> TokenBucket:
        rate, capacity = settings
        bucket = self._buckets.get(scope)
        if bucket is None or bucket.rate != rate or bucket.capacity != capacity:
            # A new plan setting starts a full bucket, as a new plan does.
            bucket = TokenBucket(rate=rate, capacity=capacity, tokens=capacity, updated=now)
            self._buckets[scope] = bucket
        return bucket

    @staticmethod
    def _has_token(bucket: TokenBucket, now: float) -> bool:
        elapsed = max(0.0, now - bucket.updated)
        return min(bucket.capacity, bucket.tokens + elapsed * bucket.rate) >= 1.0

    def _quota_counter(self, plan: Any, key_id: str, now: float) -> tuple[QuotaCounter, int] | None:
        quota = getattr(plan, "quota", None)
        if not isinstance(quota, dict) or not quota:
            return None
        limit = _number(quota.get("limit"))
        if limit is None:
            return None
        period = str(quota.get("period") or "DAY").upper()
        offset = int(_number(quota.get("offset")) or 0)
        moment = datetime.fromtimestamp(now, tz=timezone.utc)
        start = period_start(moment, period)
        scope = (plan.id, key_id)
        counter = self._quotas.get(scope)
        if counter is None:
            counter = QuotaCounter(period_start=start, used=0, first_period=True)
            self._quotas[scope] = counter
        elif counter.period_start != start:
            counter.period_start, counter.used, counter.first_period = start, 0, False
        allowed = int(limit) - (offset if counter.first_period else 0)
        return counter, max(allowed, 0)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
