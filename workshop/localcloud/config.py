"""Fixed facts about the local cloud: where it listens, which account and region it reports.

Kept free of heavy imports: the CLI, the lifecycle module and the worker bootstrap read it.
"""

from __future__ import annotations

import os

from workshop.target import LOCAL_ACCOUNT_ID, LOCAL_CREDENTIALS, LOCAL_REGION

HOST = "127.0.0.1"  # never a network interface: the local cloud has no authentication
ACCOUNT_ID = LOCAL_ACCOUNT_ID
REGION = LOCAL_REGION
FAKE_CREDENTIALS = dict(LOCAL_CREDENTIALS)

#: The ports a learner's local cloud prefers; taken ports fall back to free ones.
DEFAULT_ENDPOINT_PORT = 4566
DEFAULT_GATEWAY_PORT = 4567
ENDPOINT_PORT_ENV = "WORKSHOP_ENDPOINT_PORT"
GATEWAY_PORT_ENV = "WORKSHOP_GATEWAY_PORT"

STATE_FILE_NAME = "localcloud.json"
LOG_FILE_NAME = "localcloud.log"
LOCK_FILE_NAME = "localcloud.lock"


def _port_from_env(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        port = int(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not a port number") from None
    if not 0 <= port <= 65535:
        raise ValueError(f"{name}={raw!r} is not a port number (0-65535)")
    return port


def default_endpoint_port() -> int:
    return _port_from_env(ENDPOINT_PORT_ENV, DEFAULT_ENDPOINT_PORT)


def default_gateway_port() -> int:
    return _port_from_env(GATEWAY_PORT_ENV, DEFAULT_GATEWAY_PORT)
