"""Which ports a new local cloud asks for: the ones its saved state was served on, if any.

A restored REST API keeps its id, so its URL (``http://127.0.0.1:<gateway port>/<id>/prod``) only
stays the same when the gateway gets its old port back. Precedence, for each port:

1. a port the caller passed explicitly (tests pass 0: any free port);
2. ``WORKSHOP_ENDPOINT_PORT`` / ``WORKSHOP_GATEWAY_PORT`` when set (the learner asked for it);
3. the port recorded in the snapshot's header;
4. 4566 / 4567.

When the chosen port is taken, the local cloud falls back to a free one and says so (the
keeper's port notice).
"""

from __future__ import annotations

import os
from pathlib import Path

from workshop.localcloud import config
from workshop.localcloud.snapshots.fileformat import remembered_ports


def preferred_ports(
    state_dir: Path, endpoint_port: int | None, gateway_port: int | None
) -> tuple[int, int]:
    remembered_endpoint, remembered_gateway = remembered_ports(state_dir)
    return (
        _choose(
            endpoint_port,
            config.ENDPOINT_PORT_ENV,
            remembered_endpoint,
            config.default_endpoint_port,
        ),
        _choose(
            gateway_port, config.GATEWAY_PORT_ENV, remembered_gateway, config.default_gateway_port
        ),
    )


def _choose(explicit: int | None, env_name: str, remembered: int | None, default: object) -> int:
    if explicit is not None:
        return explicit
    if os.environ.get(env_name, "").strip() or remembered is None:
        return default()  # type: ignore[operator]
    return remembered
