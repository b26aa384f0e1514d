"""boto3 clients shared by discovery, deletion and the checks, with retries that fit cleanup."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config

from workshop.arns import partition

# The "standard" retry mode backs off on throttling errors of every service (Throttling,
# TooManyRequestsException, ...) with jitter, up to total_max_attempts tries in all.
RETRY_CONFIG = Config(retries={"mode": "standard", "total_max_attempts": 8})


class Clients:
    """boto3 clients for one region, made on first use, all with standard retries."""

    def __init__(self, session: boto3.session.Session | None = None, region: str | None = None,
                 config: Config = RETRY_CONFIG) -> None:
        self.session = session or boto3.session.Session(region_name=region)
        self.config = config
        self._clients: dict[str, Any] = {}
        self._account_id: str | None = None

    def __call__(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self.session.client(service, config=self.config)
        return self._clients[service]

    def single_try(self, service: str) -> Any:
        """A client that does not retry by itself, for calls whose waits we show as progress."""
        key = f"{service} (single try)"
        if key not in self._clients:
            config = self.config.merge(Config(retries={"mode": "standard", "total_max_attempts": 1}))
            self._clients[key] = self.session.client(service, config=config)
        return self._clients[key]

    @property
    def region(self) -> str:
        return self("sts").meta.region_name

    @property
    def partition(self) -> str:
        """The ARN partition of this region (``aws``, ``aws-cn``, ...)."""
        return partition(self.region)

    @property
    def account_id(self) -> str:
        if self._account_id is None:
            self._account_id = self("sts").get_caller_identity()["Account"]
        return self._account_id


__all__ = ["RETRY_CONFIG", "Clients", "partition"]
