"""In-process local cloud for the runtime tests: fast, and the runtime is inspectable.

The server (moto + runtime + gateway) runs on threads of the test process, on free ports of
127.0.0.1; Lambda workers are still real processes. It is module-scoped: moto's backends are
process-global and the runtime is plugged into moto's invoke path only while it runs, so it must
not outlive the module that uses it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from localcloud_support import InProcessCloud

from workshop.localcloud.server import LocalCloudServer


@pytest.fixture(scope="module")
def cloud() -> Iterator[InProcessCloud]:
    saved = dict(os.environ)
    server = LocalCloudServer(0, 0)
    try:
        server.start()
        yield InProcessCloud(server)
    finally:
        server.stop()
        os.environ.clear()
        os.environ.update(saved)
