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

#: The HTTP server under the AWS endpoint (workshop/localcloud/http_servers.py): "waitress"
#: (the default: it measures faster, `make bench` compares both) or "werkzeug" (moto_server's
#: development server, what the endpoint used before).
ENDPOINT_SERVER_ENV = "WORKSHOP_ENDPOINT_SERVER"
ENDPOINT_SERVERS = ("waitress", "werkzeug")
DEFAULT_ENDPOINT_SERVER = "waitress"

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


#: What the local cloud process keeps of the environment of the shell that starts it: what
#: Python, moto and the workshop need. Everything else — AWS credentials, profiles, session
#: tokens, other secrets of the learner's shell — is left behind: a function can read its
#: parent's /proc/<pid>/environ, and the local cloud is that parent.
INHERITED_VARIABLES = (
    "PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "TZ", "TMPDIR", "TEMP", "TMP",
    "SYSTEMROOT", "WINDIR", "COMSPEC", "PATHEXT", "VIRTUAL_ENV", "PYTHONPATH",
)
INHERITED_PREFIXES = ("LC_", "WORKSHOP_", "MOTO_")


def local_cloud_environment(parent: dict[str, str] | os._Environ[str]) -> dict[str, str]:
    """The scrubbed environment the local cloud process runs with, built from ``parent``."""
    from workshop.paths import REPO_ROOT

    env = {
        name: value
        for name, value in parent.items()
        if name in INHERITED_VARIABLES or name.startswith(INHERITED_PREFIXES)
    }
    # The package must be importable even when the repository is not installed.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    env.update(FAKE_CREDENTIALS)
    env["AWS_DEFAULT_REGION"] = REGION
    # The machine's ~/.aws files must not add a profile, region or credentials.
    env["AWS_CONFIG_FILE"] = os.devnull
    env["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
    return env


def is_scrubbed(environment: dict[str, str] | os._Environ[str]) -> bool:
    """Whether ``environment`` holds only what :func:`local_cloud_environment` keeps or sets."""
    kept = ("AWS_DEFAULT_REGION", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", *FAKE_CREDENTIALS)
    names_ok = all(
        name in INHERITED_VARIABLES or name.startswith(INHERITED_PREFIXES) or name in kept
        for name in environment
    )
    return names_ok and all(environment.get(k, v) == v for k, v in FAKE_CREDENTIALS.items())
