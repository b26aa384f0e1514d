"""The local cloud process: moto's server, the Lambda runtime and the execute-api gateway.

Both HTTP servers live in one process because the gateway and the runtime read moto's state
(functions, zips, REST APIs, log groups) directly from moto's in-process backends.

- endpoint (``AWS_ENDPOINT_URL``): moto's WSGI application (``DomainDispatcherApplication``, what
  ``moto_server`` serves), plus ``/_localcloud/health``, on waitress by default, or on werkzeug's
  threaded development server (moto_server's own) with ``WORKSHOP_ENDPOINT_SERVER=werkzeug``
  (:mod:`workshop.localcloud.http_servers`). waitress because it measures faster: raw boto3
  ``get_item`` p50 2.1-2.3 ms against werkzeug's 2.3-3.0 ms (0.76-0.90x, ``make bench``, 2 CPUs,
  2026-11-30), mostly because it keeps boto3's connections alive where werkzeug's server closes
  every one. Both refuse the same malformed requests and time out the same idle connections.
- gateway: :func:`workshop.localcloud.gateway.make_gateway_server`, which invokes functions
  through the runtime.

``python -m workshop.localcloud`` runs :func:`main` in the foreground; the lifecycle module
starts exactly that, detached, and waits for the state file it writes once both ports listen.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workshop.localcloud import config, realism

log = logging.getLogger("workshop.localcloud")

HEALTH_PATH = "/_localcloud/health"
#: A connection of the AWS endpoint that sends nothing for this long is closed.
ENDPOINT_SOCKET_TIMEOUT_S = 60


def configure_moto_environment() -> None:
    """Settings moto reads from the environment; they must be in place before moto imports.

    - AWS managed policies (``arn:aws:iam::aws:policy/...``) exist only with
      ``MOTO_IAM_LOAD_MANAGED_POLICIES=true``; lab 03 attaches AWSLambdaBasicExecutionRole.
    - The account is fixed so ARNs in stored notebook outputs are the same everywhere.
    """
    os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"
    # moto's server would grant CORS to every origin; the endpoint grants none (http_guard).
    os.environ["MOTO_DISABLE_GLOBAL_CORS"] = "true"
    os.environ["MOTO_ACCOUNT_ID"] = config.ACCOUNT_ID
    os.environ.setdefault("AWS_DEFAULT_REGION", config.REGION)
    for key, value in config.FAKE_CREDENTIALS.items():
        os.environ[key] = value


class _HealthAndMoto:
    """moto's WSGI app with one extra route that tells the lifecycle module who is listening."""

    def __init__(self, moto_app: Any, server: LocalCloudServer) -> None:
        self.moto_app = moto_app
        self.server = server

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("PATH_INFO") == HEALTH_PATH:
            body = json.dumps(self.server.describe()).encode()
            start_response(
                "200 OK",
                [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
            )
            return [body]
        return self.moto_app(environ, start_response)


@dataclass
class Ports:
    endpoint: int
    gateway: int


class LocalCloudServer:
    """Start with :meth:`start`, stop with :meth:`stop`; usable in-process by tests."""

    def __init__(
        self,
        endpoint_port: int = 0,
        gateway_port: int = 0,
        *,
        fallback_to_free_ports: bool = False,
        host: str = config.HOST,
        state_dir: Path | None = None,
    ) -> None:
        if host not in ("127.0.0.1", "localhost"):
            raise ValueError("the local cloud binds to 127.0.0.1 only")
        self.host = host
        self.requested = Ports(endpoint_port, gateway_port)
        self.fallback = fallback_to_free_ports
        self.state_dir = state_dir
        self.started_at = 0.0
        self.runtime: Any = None
        self._endpoint_server: Any = None
        self._gateway_server: Any = None
        self._threads: list[threading.Thread] = []
        self._stopped = threading.Event()
        #: "waitress" or "werkzeug" (http_servers), chosen in start()
        self.endpoint_server_kind = ""

    # -- addresses ------------------------------------------------------------------------

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self._endpoint_server.server_port}"

    @property
    def gateway(self) -> str:
        if self._gateway_server is None:
            return ""
        return f"http://{self.host}:{self._gateway_server.server_port}"

    def describe(self) -> dict[str, Any]:
        return {
            "pid": os.getpid(),
            "endpoint": self.endpoint,
            "gateway": self.gateway,
            "endpoint_port": self._endpoint_server.server_port,
            "endpoint_server": self.endpoint_server_kind,
            "gateway_port": self._gateway_server.server_port if self._gateway_server else None,
            "state_dir": str(self.state_dir) if self.state_dir else None,
            "started_at": self.started_at,
            "account_id": config.ACCOUNT_ID,
            "region": config.REGION,
            "lambda_environments": self.runtime.environment_count() if self.runtime else 0,
            "realism": realism.describe(),
            "realism_observed": realism.observed(),
        }

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> None:
        configure_moto_environment()
        from workshop.localcloud.moto_memory import stop_tracking_model_instances

        stop_tracking_model_instances()
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

        from workshop.localcloud import dynamodb_atomic, moto_seam, rules
        from workshop.localcloud.http_guard import EndpointGuard
        from workshop.localcloud.http_servers import endpoint_server_name, make_endpoint_server
        from workshop.localcloud.runtime import LambdaRuntime
        from workshop.localcloud.snapshots.guard import guard_requests

        self.endpoint_server_kind = endpoint_server_name()  # an unknown name fails here, early
        self.started_at = time.time()
        self._dispatcher = DomainDispatcherApplication(create_backend_app)
        from workshop.localcloud.iam import IamEnforcer  # IAM enforced before moto sees a request

        # Outside in: the Host/CORS guard (http_guard), the health route, IAM, realism mode's
        # API Gateway quotas (WORKSHOP_REALISM=aws), AWS's refusals and limits
        # (workshop/localcloud/rules), then moto.
        rules.install()
        app = EndpointGuard(
            _HealthAndMoto(
                IamEnforcer(realism.install(rules.RulesMiddleware(self._dispatcher))), self
            )
        )

        def endpoint_server(port: int) -> Any:
            return make_endpoint_server(
                self.host,
                port,
                guard_requests(app),  # changing requests pause while a snapshot is taken
                socket_timeout=ENDPOINT_SOCKET_TIMEOUT_S,  # a body that never arrives frees its thread
                kind=self.endpoint_server_kind,
            )

        try:
            self._endpoint_server = self._bind(endpoint_server, self.requested.endpoint, "endpoint")
            self.runtime = LambdaRuntime(self.endpoint, work_dir=self._fresh_work_dir())
            moto_seam.install(self.runtime)
            dynamodb_atomic.install()
            self._gateway_server = self._bind(self._make_gateway, self.requested.gateway, "gateway")
        except BaseException:
            self.stop()
            raise
        self._serve(self._endpoint_server, "moto-endpoint")
        self._serve(self._gateway_server, "execute-api-gateway")
        log.info("local cloud listening: endpoint %s, gateway %s", self.endpoint, self.gateway)

    def _fresh_work_dir(self) -> Path | None:
        """Where the runtime extracts zips: in the state folder, emptied on start and stop, so
        a local cloud that was killed leaves nothing behind for long. None: a temporary folder."""
        if self.state_dir is None:
            return None
        work_dir = self.state_dir / "lambda-tasks"
        shutil.rmtree(work_dir, ignore_errors=True)
        work_dir.mkdir(parents=True, exist_ok=True)
        return work_dir

    def _make_gateway(self, port: int) -> Any:
        # INTEGRATION POINT with the gateway helper's package (workshop/localcloud/gateway).
        from workshop.localcloud.gateway import make_gateway_server

        return make_gateway_server(
            self.host, port, self.runtime, account_id=config.ACCOUNT_ID, region=config.REGION
        )

    def _bind(self, factory: Any, port: int, what: str) -> Any:
        try:
            return factory(port)
        except OSError as error:
            if not (self.fallback and port):
                raise OSError(
                    f"cannot listen on {self.host}:{port} for the {what} ({error}); "
                    "stop what uses that port or choose another one"
                ) from error
            log.warning("port %s is taken, the %s uses a free port instead", port, what)
            return factory(0)

    def _serve(self, server: Any, name: str) -> None:
        # A short poll interval lets stop() return quickly (the default is 0.5 s per server).
        thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name=name, daemon=True
        )
        thread.start()
        self._threads.append(thread)

    def warm_up(self) -> None:
        """Load the backends the labs use, so the first boto3 call of a lab is not slow.

        Runs after the ports listen; requests arriving meanwhile just load what they need.
        """
        from moto.moto_server.werkzeug_app import create_backend_app

        started = time.perf_counter()
        try:
            for service in ("dynamodb", "iam", "lambda", "apigateway", "logs", "sts"):
                if self._stopped.is_set():
                    return
                app = create_backend_app(service)
                with self._dispatcher.lock:
                    self._dispatcher.app_instances.setdefault(service, app)
            from moto.apigateway.models import apigateway_backends
            from moto.awslambda.models import lambda_backends
            from moto.dynamodb.models import dynamodb_backends
            from moto.iam.models import iam_backends
            from moto.logs.models import logs_backends

            for backends in (dynamodb_backends, lambda_backends, apigateway_backends, logs_backends):
                backends[config.ACCOUNT_ID][config.REGION]
            iam_backends[config.ACCOUNT_ID]["global"]
        except Exception:  # noqa: BLE001 - a failed warm-up only costs time later
            log.exception("warm-up failed")
        log.info("backends warmed up in %.2f s", time.perf_counter() - started)

    def stop(self) -> None:
        """Stop serving, kill every Lambda worker, remove their temporary files."""
        if self._stopped.is_set():
            return
        self._stopped.set()
        from workshop.localcloud import moto_seam

        for server, thread_name in (
            (self._gateway_server, "execute-api-gateway"),
            (self._endpoint_server, "moto-endpoint"),
        ):
            if server is None:
                continue
            if any(thread.name == thread_name for thread in self._threads):
                server.shutdown()  # only a serving server can be shut down (it would hang)
            server.server_close()
        if self.runtime is not None:
            self.runtime.shutdown()
            if self.state_dir is not None:
                shutil.rmtree(self.runtime.work_dir, ignore_errors=True)
        moto_seam.uninstall()
        from workshop.localcloud import rules

        rules.uninstall()
        realism.uninstall()
        log.info("local cloud stopped")


def write_state(server: LocalCloudServer, state_file: Path, log_file: Path | None) -> None:
    """Publish pid, ports and URLs atomically, for ``status()`` and other processes."""
    state = server.describe()
    state["log_file"] = str(log_file) if log_file else None
    tmp = state_file.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=2))
    os.replace(tmp, state_file)


def main(argv: list[str] | None = None) -> int:
    """Run the local cloud in the foreground until SIGTERM / Ctrl-C."""
    import argparse
    import signal

    parser = argparse.ArgumentParser(
        prog="python -m workshop.localcloud",
        description="Run the local cloud (moto endpoint + execute-api gateway + Lambda runtime) "
        "in the foreground on 127.0.0.1; Ctrl-C stops it. `python scripts/local_cloud.py up` "
        "starts the same thing in the background.",
    )
    parser.add_argument("--endpoint-port", type=int, default=config.default_endpoint_port())
    parser.add_argument("--gateway-port", type=int, default=config.default_gateway_port())
    parser.add_argument(
        "--fallback-ports", action="store_true", help="use free ports when the given ones are taken"
    )
    parser.add_argument("--state-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    if os.name == "posix" and not config.is_scrubbed(os.environ):
        # Started from a shell with the learner's AWS credentials, profile or other secrets:
        # start again without them (a process's initial environment stays readable in
        # /proc/<pid>/environ for its whole life, by the functions it runs too).
        arguments = sys.argv[1:] if argv is None else argv
        os.execve(
            sys.executable,
            [sys.executable, "-m", "workshop.localcloud", *arguments],
            config.local_cloud_environment(os.environ),
        )

    # jsonschema (pulled in by moto's API Gateway for OpenAPI imports) would spend a second
    # compiling an RFC 3987 grammar that only checks the rare "iri" string format; without the
    # module it skips that one check. Only in the dedicated process: it keeps the local cloud
    # ready in well under 2 s without changing jsonschema for an embedding process.
    sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )

    from workshop.paths import state_dir as default_state_dir

    state_dir = (args.state_dir or default_state_dir()).resolve()
    state_dir.mkdir(parents=True, exist_ok=True)
    state_file = state_dir / config.STATE_FILE_NAME

    from workshop.localcloud import process_tree

    # Processes that execution environments leave behind come back to this process, which
    # ends them (only in the dedicated process: a test process embedding the server keeps its
    # own children to itself).
    process_tree.become_subreaper()
    stop_requested = threading.Event()

    def request_stop(signum: int, frame: Any) -> None:
        stop_requested.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)

    server = LocalCloudServer(
        args.endpoint_port,
        args.gateway_port,
        fallback_to_free_ports=args.fallback_ports,
        state_dir=state_dir,
    )
    keeper = _restore_snapshot(state_dir)
    try:
        server.start()
    except (OSError, ValueError, realism.RealismSettingError) as error:
        log.error("%s", error)
        return 1
    _start_snapshots(keeper, server)
    write_state(server, state_file, state_dir / config.LOG_FILE_NAME)
    print(f"Local cloud ready: endpoint {server.endpoint}  gateway {server.gateway}", flush=True)
    threading.Thread(target=server.warm_up, name="warm-up", daemon=True).start()
    try:
        while not stop_requested.wait(0.5):
            pass
    finally:
        server.stop()
        keeper.close()  # the last changes, after the ports stopped taking new ones
        try:
            state = json.loads(state_file.read_text())
            if state.get("pid") == os.getpid():
                state_file.unlink()
        except (OSError, ValueError):
            pass
    return 0


def _restore_snapshot(state_dir: Path) -> Any:
    """Load the learner's saved state into moto before anything listens (see ``snapshots``)."""
    from workshop.localcloud.snapshots.keeper import SnapshotKeeper

    configure_moto_environment()  # the account and managed policies restored backends expect
    keeper = SnapshotKeeper(state_dir)
    keeper.notice = keeper.restore()
    return keeper


def _start_snapshots(keeper: Any, server: LocalCloudServer) -> None:
    from workshop.localcloud.snapshots import fileformat

    described = server.describe()
    keeper.ports = (described["endpoint_port"], described["gateway_port"])
    lines = keeper.notice + keeper.port_notice()
    for line in lines:
        log.info("%s", line)
    fileformat.write_notice(server.state_dir or Path("."), lines)
    keeper.start()
