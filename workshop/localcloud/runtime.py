"""The Lambda runtime of the local cloud: runs deployed zips for real, in warm worker processes.

What it copies from AWS Lambda (and why a learner notices):

- **Cold and warm starts.** The first invocation starts an execution environment (a worker
  process) and imports the handler's module; later invocations reuse an idle environment, so
  module-level code (``boto3.resource(...)``, reading ``TABLE_NAME``) runs once. Updating the
  function's code or configuration retires the old environments: the next call is cold again
  (in realism mode, once the update is Successful: until then the previous code and
  configuration keep answering, :func:`serving_config`).
  Concurrent calls get environments of their own. A cold start normally takes a bootstrap
  process started in advance (:mod:`workshop.localcloud.spare_workers`), so it costs the
  handler's import (the Init Duration), not Python's start-up.
- **Timeouts.** A function still running after its ``Timeout`` is killed with its environment;
  the caller gets ``FunctionError: Unhandled`` and ``Task timed out after N.00 seconds``.
- **Errors.** An exception becomes ``{"errorMessage", "errorType", "requestId", "stackTrace"}``
  with ``FunctionError: Unhandled``; a bad handler setting or an import failure uses the
  runtime's error types (``Runtime.ImportModuleError``, ``Runtime.HandlerNotFound``...).
- **Logs.** START / END / REPORT and everything printed or logged go to ``/aws/lambda/<name>``.
- **Environment.** The handler's own ``boto3.client(...)`` calls reach the local cloud because
  ``AWS_ENDPOINT_URL`` and fake credentials are in the environment, next to the variables AWS
  sets (``AWS_LAMBDA_FUNCTION_NAME``, ``AWS_REGION``...) and the function's own ones.

``MemorySize`` is reported (context, REPORT line) but not enforced.

The runtime reads functions from moto's Lambda backend (same process); it is plugged into moto's
invoke path by :mod:`workshop.localcloud.moto_seam` and handed to the gateway as its invoker.
"""

from __future__ import annotations

import base64
import collections
import dataclasses
import hashlib
import io
import json
import logging
import os
import re
import shutil
import tempfile
import threading
import time
import uuid
import weakref
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workshop.localcloud.cloudwatch import (
    MAX_LAMBDA_LOG_EVENT_BYTES,
    LambdaLogStream,
    ReportLine,
    now_ms,
    split_log_message,
)
from workshop.localcloud.invoke import UNHANDLED, FunctionNotFoundError, InvokeResult
from workshop.localcloud.spare_workers import SPARE_WORKERS, SpareWorkers
from workshop.localcloud.worker import error_log_line
from workshop.localcloud.workers import (
    WORKER_SCRIPT,
    WorkerExited,
    WorkerProcess,
    WorkerSpec,
    WorkerTimedOut,
    bootstrap_environment,
)

log = logging.getLogger(__name__)

#: AWS gives an execution environment 10 seconds to initialise (import the handler module).
INIT_TIMEOUT_S = 10.0
#: Lambda reclaims environments that stay idle; keep ours no longer than this.
IDLE_TIMEOUT_S = 15 * 60.0
#: How many environments one function may have at once; further calls wait for a free one.
MAX_ENVIRONMENTS_PER_FUNCTION = 10
#: The largest result a synchronous invocation returns ("Lambda quotas": 6 MB); Lambda's
#: own check allows 100 bytes more, as its error message says.
MAX_RESPONSE_PAYLOAD_BYTES = 6_291_556
#: While a function runs, its log lines are flushed to CloudWatch at least this often.
LOG_FLUSH_INTERVAL_S = 0.25
#: ... or as soon as this many events wait.
MAX_PENDING_LOG_EVENTS = 1000
#: ... or as soon as they hold this many characters (a 50 MB line arrives as 256 KB events).
MAX_PENDING_LOG_CHARS = 1024 * 1024
#: How much of an invocation's output is kept for the caller (moto_seam returns the last 4 KB).
LOG_TAIL_CHARS = 16 * 1024

_FUNCTION_ARN = re.compile(
    r"^arn:aws[a-zA-Z-]*:lambda:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):function:"
    r"(?P<name>[A-Za-z0-9_-]+)(?::(?P<qualifier>[A-Za-z0-9$_-]+))?$"
)


@dataclass(frozen=True)
class FunctionConfig:
    """A snapshot of the moto function the runtime needs, taken at invocation time."""

    account_id: str
    region: str
    name: str
    arn: str
    version: str
    handler: str
    runtime: str
    memory_size: int
    timeout: float
    environment: dict[str, str]
    code_sha256: str
    fingerprint: str
    log_group: str
    model: Any = field(compare=False, repr=False)  # the moto LambdaFunction
    role: str = ""
    #: The zip itself, for a configuration kept while an update is InProgress (moto has the new
    #: one by then); None: read the model's current ``code_bytes``.
    code: bytes | None = field(default=None, compare=False, repr=False)

    @classmethod
    def from_moto(cls, fn: Any, *, keep_code: bool = False) -> FunctionConfig:
        """The configuration of ``fn`` now. ``keep_code``: hold on to its current zip too (realism
        mode keeps the configuration from before an update, see :func:`serving_config`)."""
        environment = {str(k): str(v) for k, v in (fn.environment_vars or {}).items()}
        # Anything that makes AWS start fresh environments is part of the fingerprint. The
        # code's UUID changes on every update_function_code, even with identical bytes.
        identity = json.dumps(
            [
                fn.code_sha_256,
                (fn.code or {}).get("UUID"),
                fn.handler,
                fn.run_time,
                fn.memory_size,
                fn.timeout,
                sorted(environment.items()),
                fn.role,
                [layer.get("Arn") for layer in (fn.layers or [])],
                str(fn.version),
            ],
            default=str,
        )
        return cls(
            account_id=fn.account_id,
            region=fn.region,
            name=fn.function_name,
            arn=fn.function_arn,
            version=str(fn.version),
            handler=fn.handler or "",
            runtime=fn.run_time or "python3.11",
            memory_size=int(fn.memory_size or 128),
            timeout=float(fn.timeout or 3),
            environment=environment,
            code_sha256=fn.code_sha_256 or "",
            fingerprint=hashlib.sha256(identity.encode()).hexdigest(),
            log_group=fn.logs_group_name,
            model=fn,
            role=str(fn.role or ""),
            code=(getattr(fn, "code_bytes", b"") or b"") if keep_code else None,
        )

    @property
    def code_bytes(self) -> bytes:
        if self.code is not None:
            return self.code
        return getattr(self.model, "code_bytes", b"") or b""

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.account_id, self.region, self.name, self.version)


def serving_config(fn: Any) -> FunctionConfig:
    """The configuration an invocation of moto function ``fn`` runs with.

    Normally what moto holds now. In realism mode, while an update is InProgress, the one from
    before the update: "While a function update is in progress, invocations go to the function's
    previous code and configuration." (Lambda developer guide, "Lambda function states",
    "Function states while updating"). Its fingerprint is the old one, so the old warm
    environments keep serving; from Successful on the new fingerprint retires them (a cold
    start), as after any update.
    """
    from workshop.localcloud import realism

    previous = realism.previous_configuration(fn)
    if isinstance(previous, FunctionConfig):
        return previous
    return FunctionConfig.from_moto(fn)


@dataclass
class Environment:
    """A worker plus the log stream it writes to (one stream per environment, as on AWS)."""

    worker: WorkerProcess
    stream: LambdaLogStream
    config: FunctionConfig


class _FunctionPool:
    """The execution environments of one function version."""

    def __init__(self, max_environments: int) -> None:
        self.fingerprint = ""
        self.idle: list[Environment] = []
        self.busy = 0
        self.max_environments = max_environments
        self.condition = threading.Condition()


class LambdaRuntime:
    """Runs Lambda functions stored in moto; implements :class:`~workshop.localcloud.invoke.FunctionInvoker`."""

    def __init__(
        self,
        endpoint_url: str,
        *,
        work_dir: Path | None = None,
        max_environments_per_function: int = MAX_ENVIRONMENTS_PER_FUNCTION,
        idle_timeout_s: float = IDLE_TIMEOUT_S,
        spare_workers: int = SPARE_WORKERS,
    ) -> None:
        self.endpoint_url = endpoint_url
        self._own_work_dir = work_dir is None
        self.work_dir = Path(work_dir or tempfile.mkdtemp(prefix="workshop-lambda-"))
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self._max_environments = max_environments_per_function
        self._idle_timeout_s = idle_timeout_s
        self._lock = threading.Lock()
        self._pools: dict[tuple[str, str, str, str], _FunctionPool] = {}
        self._extract_lock = threading.Lock()
        self._closed = threading.Event()
        # Every environment started, busy or idle, by worker pid: shutdown ends them all.
        self._environments: weakref.WeakValueDictionary[int, Environment] = weakref.WeakValueDictionary()
        # A pre-started bootstrap process that the next cold start takes (spare_workers).
        self.spares = SpareWorkers(self.work_dir, spare_workers)
        self.spares.replenish(spare_environment())
        self._reaper = threading.Thread(target=self._reap_idle, name="lambda-reaper", daemon=True)
        self._reaper.start()

    # -- the invoker contract -------------------------------------------------------------

    def invoke(
        self,
        function_arn_or_name: str,
        payload: bytes,
        *,
        account_id: str,
        region: str,
    ) -> InvokeResult:
        """Invoke a function by name or ARN (the gateway's entry point)."""
        return self.invoke_function(self.find_function(function_arn_or_name, account_id, region), payload)

    @staticmethod
    def find_function(function_arn_or_name: str, account_id: str, region: str) -> Any:
        """The moto ``LambdaFunction`` for a name, ``name:qualifier`` or (qualified) ARN."""
        from moto.awslambda.exceptions import LambdaClientError
        from moto.awslambda.models import lambda_backends

        qualifier = None
        name = function_arn_or_name
        match = _FUNCTION_ARN.match(function_arn_or_name)
        if match:
            region, account_id = match["region"], match["account"]
            name, qualifier = match["name"], match["qualifier"]
        elif ":" in function_arn_or_name:
            name, qualifier = function_arn_or_name.split(":", 1)
        try:
            return lambda_backends[account_id][region].get_function(name, qualifier)
        except (LambdaClientError, KeyError) as error:
            raise FunctionNotFoundError(
                f"Function not found: {function_arn_or_name} (account {account_id}, "
                f"region {region})"
            ) from error

    # -- running one invocation -----------------------------------------------------------

    def invoke_function(self, fn: Any, payload: bytes) -> InvokeResult:
        """Run the moto function ``fn`` once with ``payload`` (JSON bytes)."""
        if self._closed.is_set():
            raise RuntimeError("the Lambda runtime has been shut down")
        config = serving_config(fn)
        request_id = str(uuid.uuid4())
        pool = self._pool(config)
        try:
            environment, cold = self._acquire(pool, config)
        except InvalidCodeError as error:
            module = config.handler.rsplit(".", 1)[0]
            document = {
                "errorMessage": f"Unable to import module '{module}': {error}",
                "errorType": "Runtime.ImportModuleError",
                "requestId": "",
                "stackTrace": [],
            }
            return InvokeResult(
                payload=json.dumps(document).encode("utf-8"),
                function_error=UNHANDLED,
                request_id=request_id,
                cold_start=True,
            )
        invocation = _Invocation(self, config, environment, request_id)
        try:
            result = invocation.run(payload, cold)
        finally:
            self._release(pool, environment, keep=invocation.keep_environment)
        return limit_response_size(result)

    # -- environments ---------------------------------------------------------------------

    def _pool(self, config: FunctionConfig) -> _FunctionPool:
        with self._lock:
            pool = self._pools.get(config.key)
            if pool is None:
                pool = self._pools[config.key] = _FunctionPool(self._max_environments)
        stale: list[Environment] = []
        with pool.condition:
            if pool.fingerprint != config.fingerprint:
                # New code or configuration: the old environments are never used again.
                stale, pool.idle = pool.idle, []
                pool.fingerprint = config.fingerprint
        for environment in stale:
            environment.worker.close()
        return pool

    def _acquire(self, pool: _FunctionPool, config: FunctionConfig) -> tuple[Environment, bool]:
        with pool.condition:
            while True:
                while pool.idle:
                    environment = pool.idle.pop()
                    if environment.worker.alive() and environment.config.fingerprint == config.fingerprint:
                        pool.busy += 1
                        return environment, False
                    environment.worker.close()
                if pool.busy < pool.max_environments:
                    pool.busy += 1
                    break
                pool.condition.wait()
        try:
            return self._start_environment(config), True
        except BaseException:
            with pool.condition:
                pool.busy -= 1
                pool.condition.notify()
            raise

    def _release(self, pool: _FunctionPool, environment: Environment, *, keep: bool) -> None:
        with pool.condition:
            pool.busy -= 1
            if (
                keep
                and not self._closed.is_set()
                and environment.worker.alive()
                and environment.config.fingerprint == pool.fingerprint
            ):
                environment.worker.last_used = time.monotonic()
                pool.idle.append(environment)
                environment = None  # type: ignore[assignment]
            pool.condition.notify()
        if environment is not None:
            environment.worker.close()

    def _start_environment(self, config: FunctionConfig) -> Environment:
        from moto.logs.models import logs_backends

        task_root = self._task_root(config)
        stream = LambdaLogStream(
            logs_backends[config.account_id][config.region],
            config.log_group,
            config.version,
            may_write=_role_may_write_logs(config),
        )
        spec = WorkerSpec(
            task_root=task_root,
            environment=self._environment_variables(config, task_root, stream.stream_name),
            fingerprint=config.fingerprint,
        )
        worker = self.spares.take(spec) or WorkerProcess.spawn(spec)
        # The environment keeps no code bytes: a previous configuration's zip is held only by
        # realism while its update is InProgress (and by invocations running it).
        environment = Environment(
            worker=worker, stream=stream, config=dataclasses.replace(config, code=None)
        )
        self._environments[environment.worker.pid] = environment
        return environment

    def _task_root(self, config: FunctionConfig) -> Path:
        """The function's zip extracted once per code version (AWS's ``/var/task``)."""
        code = config.code_bytes
        digest = hashlib.sha256(code).hexdigest()
        target = self.work_dir / "code" / digest[:24]
        with self._extract_lock:
            if not target.is_dir():
                staging = Path(tempfile.mkdtemp(prefix="extract-", dir=self.work_dir))
                try:
                    with zipfile.ZipFile(io.BytesIO(code)) as archive:
                        archive.extractall(staging)
                except zipfile.BadZipFile:
                    shutil.rmtree(staging, ignore_errors=True)
                    raise InvalidCodeError(
                        "the deployment package is not a zip file (zip the .py files so they "
                        "sit at the top level of the archive)"
                    ) from None
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(staging, target)
        return target

    def _environment_variables(
        self, config: FunctionConfig, task_root: Path, stream_name: str
    ) -> dict[str, str]:
        """Lambda's environment: the function's variables, then the reserved ones AWS sets."""
        env = host_variables()
        env.update(unreserved_defaults())
        env.update(config.environment)
        env.update(
            {
                "LAMBDA_TASK_ROOT": str(task_root),
                "LAMBDA_RUNTIME_DIR": str(WORKER_SCRIPT.parent),
                "_HANDLER": config.handler,
                "AWS_EXECUTION_ENV": f"AWS_Lambda_{config.runtime}",
                "AWS_LAMBDA_FUNCTION_NAME": config.name,
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(config.memory_size),
                "AWS_LAMBDA_FUNCTION_VERSION": config.version,
                "AWS_LAMBDA_LOG_GROUP_NAME": config.log_group,
                "AWS_LAMBDA_LOG_STREAM_NAME": stream_name,
                "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
                "AWS_REGION": config.region,
                "AWS_DEFAULT_REGION": config.region,
                # Every boto3 call of the handler reaches the local cloud, unchanged.
                "AWS_ENDPOINT_URL": self.endpoint_url,
                # The machine's ~/.aws files must not add a profile, region or endpoint.
                "AWS_CONFIG_FILE": os.devnull,
                "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            }
        )
        env.update(startup_variables())
        env.update(execution_role_variables(config))
        return env

    # -- housekeeping ---------------------------------------------------------------------

    def _reap_idle(self) -> None:
        """Stop environments idle for too long, or whose function was deleted (as AWS does)."""
        while not self._closed.wait(30):
            self.reap(time.monotonic() - self._idle_timeout_s)
            self.spares.replenish(spare_environment())  # one killed from outside is replaced

    def reap(self, idle_before: float) -> int:
        """Kill idle environments last used before ``idle_before`` (time.monotonic), dead
        ones, and those of deleted functions; returns how many were stopped."""
        stopped = 0
        for key, pool in list(self._pools.items()):
            deleted = not self._function_exists(*key)
            with pool.condition:
                expired = [
                    e
                    for e in pool.idle
                    if deleted or e.worker.last_used < idle_before or not e.worker.alive()
                ]
                pool.idle = [e for e in pool.idle if e not in expired]
            for environment in expired:
                environment.worker.close()
            stopped += len(expired)
        return stopped

    @staticmethod
    def _function_exists(account_id: str, region: str, name: str, version: str) -> bool:
        try:
            from moto.awslambda.models import lambda_backends

            qualifier = None if version == "$LATEST" else version
            lambda_backends[account_id][region].get_function(name, qualifier)
        except Exception:  # noqa: BLE001 - moto's not-found exceptions vary
            return False
        return True

    def environment_count(self) -> int:
        """How many worker processes are alive (idle or busy); used by tests and status."""
        return sum(len(pool.idle) + pool.busy for pool in list(self._pools.values()))

    def shutdown(self) -> None:
        """Kill every worker, busy ones included (their callers get Runtime.ExitError), with
        everything they started, and remove the extracted code."""
        self._closed.set()
        self.spares.close()
        for pool in list(self._pools.values()):
            with pool.condition:
                idle, pool.idle = pool.idle, []
            for environment in idle:
                environment.worker.close()
        for environment in list(self._environments.values()):
            if environment.worker.alive():
                environment.worker.kill()
        if self._own_work_dir:
            shutil.rmtree(self.work_dir, ignore_errors=True)


def host_variables() -> dict[str, str]:
    """What every environment takes from the local cloud's own environment (a function's own
    variables may replace them)."""
    env: dict[str, str] = {"PATH": os.environ.get("PATH", os.defpath)}
    for name in ("SYSTEMROOT", "WINDIR"):  # Windows needs these for sockets to work
        if name in os.environ:
            env[name] = os.environ[name]
    return env


def unreserved_defaults() -> dict[str, str]:
    """AWS's values of variables a function may set itself: ``LANG`` is not reserved ("Lambda
    Execution Environment and Available Libraries": LANG, Reserved: No, en_US.UTF-8)."""
    return {"LANG": "en_US.UTF-8"}


def startup_variables() -> dict[str, str]:
    """Reserved variables of every environment that Python itself reads at start-up."""
    env = {"PYTHONIOENCODING": "utf-8"}
    if os.name == "posix":
        env["TZ"] = ":UTC"
    return env


def spare_environment() -> dict[str, str]:
    """The process environment of a spare: the bootstrap environment of every function that
    sets none of the bootstrap variables (``PATH``...) itself (see spare_workers)."""
    return bootstrap_environment({**host_variables(), **unreserved_defaults(), **startup_variables()})


def execution_role_variables(config: FunctionConfig) -> dict[str, str]:
    """The execution role's temporary credentials, as Lambda puts them in the environment
    (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN): the handler's calls act as
    ``assumed-role/ROLE/FUNCTION`` and are held to the role's policies."""
    from workshop.localcloud.iam import execution_role_credentials

    role_arn = config.role
    credentials = execution_role_credentials(
        role_arn, config.name, account_id=config.account_id, region=config.region
    )
    # Lambda's "Defined runtime environment variables" list AWS_ACCESS_KEY beside _ID.
    return {**credentials, "AWS_ACCESS_KEY": credentials["AWS_ACCESS_KEY_ID"]}


def _role_may_write_logs(config: FunctionConfig) -> Any:
    """Lambda writes the function's logs with its role's permissions (see iam.execution)."""
    from workshop.localcloud.iam import function_may_write_logs

    role_arn = config.role

    def may_write(group_exists: bool, stream_name: str, stream_exists: bool) -> bool:
        return function_may_write_logs(
            role_arn, config.name, config.log_group, stream_name,
            group_exists=group_exists, stream_exists=stream_exists,
            account_id=config.account_id, region=config.region,
        )

    return may_write
def limit_response_size(result: InvokeResult) -> InvokeResult:
    """A result over Lambda's response limit becomes Lambda's error for it (the function ran:
    its logs and duration stay)."""
    if result.function_error or len(result.payload) <= MAX_RESPONSE_PAYLOAD_BYTES:
        return result
    document = {
        "errorMessage": "Response payload size exceeded maximum allowed payload size "
        f"({MAX_RESPONSE_PAYLOAD_BYTES} bytes).",
        "errorType": "Function.ResponseSizeTooLarge",
    }
    return dataclasses.replace(
        result, payload=json.dumps(document).encode("utf-8"), function_error=UNHANDLED
    )


def exit_reason(returncode: int | None) -> str:
    """How Lambda reports an execution environment whose process ended during a request.

    ``sys.exit()`` (status 0) ends it without an error: "Runtime exited without providing a
    reason" (AWS Lambda developer guide, "Troubleshoot invocation issues" and the log samples of
    "Lambda function logging"); any other status, or a signal, is an error with that status.
    """
    if returncode == 0 or returncode is None:
        return "Runtime exited without providing a reason"
    if returncode < 0:
        import signal

        try:
            name = signal.Signals(-returncode).name.removeprefix("SIG").lower()
        except ValueError:
            name = str(-returncode)
        return f"Runtime exited with error: signal: {'killed' if name == 'kill' else name}"
    return f"Runtime exited with error: exit status {returncode}"


class InvalidCodeError(Exception):
    """The deployment package cannot be used."""


class _Invocation:
    """One request: START, the function's output, END, REPORT — and the result."""

    def __init__(
        self, runtime: LambdaRuntime, config: FunctionConfig, environment: Environment, request_id: str
    ) -> None:
        self.runtime = runtime
        self.config = config
        self.environment = environment
        self.worker = environment.worker
        self.request_id = request_id
        self.keep_environment = True
        self._pending: list[tuple[int, str]] = []
        self._pending_chars = 0
        # Only the tail of the output is kept for the caller (LogType=Tail shows 4 KB).
        self._lines: collections.deque[str] = collections.deque()
        self._lines_chars = 0
        # The pieces of a line longer than the worker sends at once, at most one event's size.
        self._partial: list[str] = []
        self._partial_chars = 0
        self._last_flush = time.monotonic()
        self._called_at = time.perf_counter()

    def _waited_ms(self) -> float:
        return (time.perf_counter() - self._called_at) * 1000

    # -- logs -------------------------------------------------------------------------------

    def _log(self, message: str) -> None:
        # CloudWatch rejects a batch that is not in chronological order; the wall clock may
        # step back (NTP), so never go below the previous event's time.
        stamp = max(now_ms(), self._pending[-1][0]) if self._pending else now_ms()
        for piece in split_log_message(message):  # Lambda's events stay within 256 KB
            self._pending.append((stamp, piece))
        self._lines.append(message)
        self._lines_chars += len(message) + 1
        while self._lines_chars > LOG_TAIL_CHARS and len(self._lines) > 1:
            self._lines_chars -= len(self._lines.popleft()) + 1
        self._pending_chars += len(message)
        if len(self._pending) >= MAX_PENDING_LOG_EVENTS or self._pending_chars >= MAX_PENDING_LOG_CHARS:
            self._flush()  # a function printing fast must not pile events up in memory

    def _receive_log(self, message: dict[str, Any]) -> None:
        """A ``log`` message of the worker: one line, or a piece of a long one (``continued``).

        Lambda writes a line longer than one event (256 KB) as consecutive events
        (``split_log_message``). The pieces of a long line are passed on as soon as a whole
        event's worth has arrived, so a 50 MB line never sits whole in memory; the log group's
        memory budget (cloudwatch.trim_log_group) bounds what is kept.
        """
        text = message["message"]
        if not (message.get("continued") or self._partial):
            self._log(text)
            return
        self._partial.append(text)
        self._partial_chars += len(text)
        if message.get("continued") and self._partial_chars < MAX_LAMBDA_LOG_EVENT_BYTES:
            return  # fewer characters than one event can hold bytes: wait for more
        pieces = split_log_message("".join(self._partial))
        if message.get("continued"):
            rest = pieces.pop()  # may still grow: keep it for the next piece
            self._partial, self._partial_chars = [rest], len(rest)
        else:
            self._partial, self._partial_chars = [], 0
        for piece in pieces:
            self._log(piece)

    def _flush(self) -> None:
        pending, self._pending = self._pending, []
        self._pending_chars = 0
        self.environment.stream.write(pending)
        self._last_flush = time.monotonic()

    # -- the request ------------------------------------------------------------------------

    def run(self, payload: bytes, cold: bool) -> InvokeResult:
        """One invocation. ``InvokeResult.duration_ms`` is what the caller waited (init
        included); the REPORT line's Duration, as on AWS, leaves the Init Duration out."""
        self._called_at = time.perf_counter()
        init_ms: float | None = None
        if cold:
            try:
                init = self._initialise()
                init_ms = (time.perf_counter() - self.worker.started_at) * 1000
            finally:
                # The spare this cold start may have taken is replaced now, not while the
                # handler's import competes for the CPU (a no-op once shut down).
                self.runtime.spares.replenish(spare_environment())
            if init is not None:
                return self._fail(init, time.perf_counter(), init_ms, status="error")
        started = time.perf_counter()
        timeout_s = self.config.timeout
        deadline = time.monotonic() + timeout_s
        self._log(LambdaLogStream.start_line(self.request_id, self.config.version))
        self.worker.send(
            {
                "type": "invoke",
                "request_id": self.request_id,
                "payload": payload.decode("utf-8", "replace"),
                "deadline_ms": now_ms() + int(timeout_s * 1000),
                "invoked_function_arn": self.config.arn,
                "trace_id": f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]};Sampled=0",
            }
        )
        self.worker.invocations += 1
        try:
            while True:
                flush_at = self._last_flush + LOG_FLUSH_INTERVAL_S
                try:
                    message = self.worker.next_message(min(deadline, flush_at))
                except WorkerTimedOut:
                    if time.monotonic() >= deadline:
                        raise
                    self._flush()
                    continue
                if message["type"] == "log":
                    self._receive_log(message)
                elif message["type"] == "result" and message.get("request_id") == self.request_id:
                    break
        except WorkerTimedOut:
            return self._timed_out(started, init_ms)
        except WorkerExited as exited:
            return self._exited(exited, started, init_ms)
        duration_ms = (time.perf_counter() - started) * 1000
        self._finish(duration_ms, init_ms, message.get("max_memory_mb", 0))
        if "payload_base64" in message:
            payload_bytes = base64.b64decode(message["payload_base64"])
        else:
            payload_bytes = message["payload"].encode("utf-8")
        return InvokeResult(
            payload=payload_bytes,
            function_error=UNHANDLED if message.get("error") else None,
            timed_out=False,
            duration_ms=self._waited_ms(),
            request_id=self.request_id,
            cold_start=cold,
            logs="\n".join(self._lines),
        )

    def _initialise(self) -> dict[str, Any] | None:
        """Wait for the worker's ``ready``; return an error document when init failed."""
        deadline = time.monotonic() + INIT_TIMEOUT_S
        try:
            while True:
                message = self.worker.next_message(deadline)
                if message["type"] == "log":
                    self._receive_log(message)  # module-level output, before START
                elif message["type"] == "ready":
                    break
        except WorkerTimedOut:
            return {
                "errorType": "Sandbox.Timedout",
                "errorMessage": f"RequestId: {self.request_id} Error: Task timed out after "
                f"{INIT_TIMEOUT_S:.2f} seconds (the handler module took too long to import)",
            }
        except WorkerExited as exited:
            return {
                "errorType": "Runtime.ExitError",
                "errorMessage": f"RequestId: {self.request_id} Error: {exit_reason(exited.returncode)}",
            }
        error = message.get("error")
        if error:
            error = dict(error, requestId="")
            self._log(error_log_line(error))
        return error

    def _fail(
        self, error: dict[str, Any], started: float, init_ms: float | None, status: str
    ) -> InvokeResult:
        self.keep_environment = False
        self._log(LambdaLogStream.start_line(self.request_id, self.config.version))
        duration_ms = (time.perf_counter() - started) * 1000
        self._finish(duration_ms, init_ms, 0, status=status)
        return InvokeResult(
            payload=json.dumps(error).encode("utf-8"),
            function_error=UNHANDLED,
            duration_ms=self._waited_ms(),
            request_id=self.request_id,
            cold_start=True,
            logs="\n".join(self._lines),
        )

    def _timed_out(self, started: float, init_ms: float | None) -> InvokeResult:
        # Lambda stops the environment: the next invocation is a cold start.
        self.keep_environment = False
        self.worker.kill()
        self._drain_logs()
        duration_ms = (time.perf_counter() - started) * 1000
        timeout_s = self.config.timeout
        self._log(LambdaLogStream.timeout_line(self.request_id, timeout_s))
        self._finish(duration_ms, init_ms, 0, status="timeout")
        error = {
            "errorType": "Sandbox.Timedout",
            "errorMessage": f"RequestId: {self.request_id} Error: Task timed out after "
            f"{timeout_s:.2f} seconds",
        }
        return InvokeResult(
            payload=json.dumps(error).encode("utf-8"),
            function_error=UNHANDLED,
            timed_out=True,
            duration_ms=self._waited_ms(),
            request_id=self.request_id,
            cold_start=init_ms is not None,
            logs="\n".join(self._lines),
        )

    def _exited(self, exited: WorkerExited, started: float, init_ms: float | None) -> InvokeResult:
        self.keep_environment = False
        duration_ms = (time.perf_counter() - started) * 1000
        message = f"RequestId: {self.request_id} Error: {exit_reason(exited.returncode)}"
        self._log(message)
        self._log("Runtime.ExitError")
        self._finish(duration_ms, init_ms, 0, status="error")
        error = {"errorType": "Runtime.ExitError", "errorMessage": message}
        return InvokeResult(
            payload=json.dumps(error).encode("utf-8"),
            function_error=UNHANDLED,
            duration_ms=self._waited_ms(),
            request_id=self.request_id,
            cold_start=init_ms is not None,
            logs="\n".join(self._lines),
        )

    def _drain_logs(self) -> None:
        """Keep what a killed worker wrote before it died."""
        for message in self.worker.drain():
            if message["type"] == "log":
                self._receive_log(message)

    def _finish(
        self, duration_ms: float, init_ms: float | None, max_memory_mb: int, status: str | None = None
    ) -> None:
        self._log(LambdaLogStream.end_line(self.request_id))
        report = ReportLine(
            request_id=self.request_id,
            duration_ms=duration_ms,
            memory_size_mb=self.config.memory_size,
            max_memory_used_mb=max_memory_mb,
            init_duration_ms=init_ms,
            status=status,
        )
        self._log(report.render())
        self._flush()


