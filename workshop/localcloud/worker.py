"""The bootstrap inside one Lambda execution environment (a warm worker process).

The local cloud starts this file by path, with the same Python as itself (the AWS Python runtime
ships boto3, so the handler can import it here too); the function's code extracted (AWS's
``/var/task``) becomes its working directory and an environment built like Lambda's its
environment. It then plays the part of AWS's Python runtime interface client:

1. init: import the module named by the handler setting (``_HANDLER``), once per worker: module
   level code runs on a cold start only, which is why warm invocations are fast;
2. loop: read one invocation request, call ``handler(event, context)``, answer with the result
   or with the error document AWS builds (errorMessage, errorType, requestId, stackTrace).

Only the standard library is used, and nothing of the ``workshop`` package, so the handler sees a
namespace as clean as on AWS.

Protocol (JSON, one message per line): requests arrive on stdin; messages go out on the original
stdout, which is kept for that purpose only. Everything the function prints or logs travels as
``{"type": "log"}`` messages, in order with the result, so it lands between START and END.
Output written below Python (by C code or a child process) goes to stderr, which the local cloud
also copies into the log stream. The first request is ``{"type": "environment"}``: the
function's variables, kept out of the process's initial environment (``/proc/<pid>/environ``).

The process may be started long before that first request, knowing no function (a *spare*,
:mod:`workshop.localcloud.spare_workers`): everything before :func:`receive_environment` —
Python's start-up, this file's imports, the supervisor split, becoming non-dumpable — must
therefore not depend on the function, and nothing a handler might import is imported here
(the Init Duration counts from that first request and must include the handler's imports).
The working directory and ``sys.path`` come from ``LAMBDA_TASK_ROOT`` in that request.

On Linux the process first splits in two (:func:`supervise_execution_environment`): the parent
stays behind as the environment's supervisor and ends every process the function started when
the runtime exits.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import os
import re
import sys
import threading
import time
import traceback
from typing import Any

try:  # not on Windows; Max Memory Used is then reported as 0
    import resource
except ImportError:  # pragma: no cover - Windows
    resource = None  # type: ignore[assignment]


#: Log lines wait at most this long in the worker before they are sent on their own. Lines
#: written shortly before the result travel with it in one write: one wake-up of the local
#: cloud per invocation instead of one per line, which is most of a warm call's overhead.
LOG_SEND_DELAY_S = 0.05
#: A longer line travels in pieces of this many characters, so that neither side holds a
#: huge line in one message (the local cloud keeps at most one log event's size of it).
LOG_PIECE_CHARS = 64 * 1024


class Channel:
    """Writes protocol messages; a lock keeps lines whole when the handler uses threads."""

    def __init__(self, stream: io.BufferedWriter) -> None:
        self._stream = stream
        self._lock = threading.Lock()
        self._unsent = threading.Event()
        threading.Thread(target=self._send_late_logs, name="log-sender", daemon=True).start()

    def send(self, message: dict[str, Any], *, now: bool = True) -> None:
        data = (json.dumps(message) + "\n").encode("utf-8")
        with self._lock:
            self._stream.write(data)
            if now:
                self._stream.flush()
                self._unsent.clear()
        if not now:
            self._unsent.set()

    def flush(self) -> None:
        with self._lock:
            self._stream.flush()
            self._unsent.clear()

    def _send_late_logs(self) -> None:
        # Waits without waking up while nothing is pending, so idle workers cost nothing.
        while True:
            self._unsent.wait()
            time.sleep(LOG_SEND_DELAY_S)
            if self._unsent.is_set():
                self.flush()


class LogLineWriter(io.TextIOBase):
    """``sys.stdout`` / ``sys.stderr`` of the function: each complete line is one log event.

    On AWS every line the Python runtime prints becomes its own CloudWatch event.
    """

    def __init__(self, channel: Channel, name: str) -> None:
        super().__init__()
        self._channel = channel
        self._name = name
        self._pending = ""
        self._lock = threading.Lock()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return "utf-8"

    @property
    def name(self) -> str:
        return self._name

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return False

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        pieces: list[tuple[str, bool]] = []  # (text, continued: more of the same line follows)
        with self._lock:
            self._pending += text
            *lines, self._pending = self._pending.split("\n")
            for line in lines:
                last = max(len(line) - 1, 0) // LOG_PIECE_CHARS * LOG_PIECE_CHARS
                for start in range(0, last, LOG_PIECE_CHARS):
                    pieces.append((line[start : start + LOG_PIECE_CHARS], True))
                pieces.append((line[last:], False))
            if len(self._pending) > LOG_PIECE_CHARS:  # a long line still being written
                keep = len(self._pending) // LOG_PIECE_CHARS * LOG_PIECE_CHARS
                for start in range(0, keep, LOG_PIECE_CHARS):
                    pieces.append((self._pending[start : start + LOG_PIECE_CHARS], True))
                self._pending = self._pending[keep:]
        for piece, continued in pieces:
            message = {"type": "log", "message": piece}
            if continued:
                message["continued"] = True
            self._channel.send(message, now=False)
        return len(text)

    def flush(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, ""
        if pending:
            self._channel.send({"type": "log", "message": pending}, now=False)


class _RequestIdFilter(logging.Filter):
    """Adds ``aws_request_id`` to every record, as the AWS Python runtime's log handler does."""

    def __init__(self) -> None:
        super().__init__()
        self.request_id = ""

    def filter(self, record: logging.LogRecord) -> bool:
        record.aws_request_id = self.request_id
        return True


class LambdaLogHandler(logging.Handler):
    """One log event per record, formatted like the AWS Python runtime (text format):

    ``[INFO]\\t2026-11-24T10:00:00.123Z\\t<request id>\\tmessage``
    """

    def __init__(self, channel: Channel) -> None:
        super().__init__()
        self._channel = channel

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._channel.send({"type": "log", "message": self.format(record)}, now=False)
        except Exception:  # noqa: BLE001 - logging must never break the handler
            self.handleError(record)


def install_logging(channel: Channel) -> _RequestIdFilter:
    request_filter = _RequestIdFilter()
    handler = LambdaLogHandler(channel)
    formatter = logging.Formatter(
        "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s",
        "%Y-%m-%dT%H:%M:%S",
    )
    formatter.converter = time.gmtime
    handler.setFormatter(formatter)
    handler.addFilter(request_filter)
    # The root logger keeps Python's default level (WARNING), as on AWS: that is why Lambda
    # examples call logger.setLevel(logging.INFO).
    logging.getLogger().addHandler(handler)
    return request_filter


class LambdaContext:
    """The ``context`` argument, with the attributes and method AWS's Python runtime provides."""

    def __init__(self, request: dict[str, Any]) -> None:
        self.aws_request_id: str = request["request_id"]
        self.invoked_function_arn: str = request["invoked_function_arn"]
        self.function_name: str = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
        self.function_version: str = os.environ["AWS_LAMBDA_FUNCTION_VERSION"]
        # A string, as in AWS's runtime (it is read from the environment there too).
        self.memory_limit_in_mb: str = os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"]
        self.log_group_name: str = os.environ["AWS_LAMBDA_LOG_GROUP_NAME"]
        self.log_stream_name: str = os.environ["AWS_LAMBDA_LOG_STREAM_NAME"]
        self.identity = CognitoIdentity()
        self.client_context = None
        self._deadline_ms: int = request["deadline_ms"]

    def get_remaining_time_in_millis(self) -> int:
        return max(self._deadline_ms - int(time.time() * 1000), 0)

    def __repr__(self) -> str:
        return (
            f"LambdaContext([aws_request_id={self.aws_request_id},"
            f"log_group_name={self.log_group_name},log_stream_name={self.log_stream_name},"
            f"function_name={self.function_name},memory_limit_in_mb={self.memory_limit_in_mb},"
            f"function_version={self.function_version},"
            f"invoked_function_arn={self.invoked_function_arn}])"
        )


class CognitoIdentity:
    """``context.identity``: empty unless the caller is a Cognito identity (never, locally)."""

    cognito_identity_id = None
    cognito_identity_pool_id = None


class FaultError(Exception):
    """An error of the runtime itself (bad handler setting, import failure), named like AWS's."""

    def __init__(self, error_type: str, message: str, stack: list[str] | None = None) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.stack = stack or []


def load_handler(handler_setting: str) -> Any:
    """Import the handler's module and return the function, failing with AWS's error types."""
    try:
        module_name, function_name = handler_setting.rsplit(".", 1)
    except ValueError as error:
        raise FaultError(
            "Runtime.MalformedHandlerName", f"Bad handler '{handler_setting}': {error}"
        ) from None
    module_name = module_name.replace("/", ".")
    if module_name.split(".")[0] in sys.builtin_module_names:
        raise FaultError(
            "Runtime.BuiltInModuleConflict",
            f"Cannot use built-in module {module_name} as a handler module",
        )
    import importlib

    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise FaultError(
            "Runtime.ImportModuleError", f"Unable to import module '{module_name}': {error}"
        ) from None
    except SyntaxError as error:
        stack = [f'  File "{error.filename}" Line {error.lineno}\n    {error.text}']
        raise FaultError(
            "Runtime.UserCodeSyntaxError",
            f"Syntax error in module '{module_name}': {error}",
            stack,
        ) from None
    try:
        return getattr(module, function_name)
    except AttributeError:
        raise FaultError(
            "Runtime.HandlerNotFound",
            f"Handler '{function_name}' missing on module '{module_name}'",
        ) from None


class _ResponseEncoder(json.JSONEncoder):
    """JSON like the AWS Python runtime's marshaller: a ``Decimal`` (what boto3's DynamoDB
    resource returns for numbers) is written as the exact number, so ``return item`` works."""

    def __init__(self, marker: str) -> None:
        # The python3.12 runtime and later keep non-ASCII characters as they are; older ones
        # write \u escapes.
        super().__init__(ensure_ascii=_runtime_version() < (3, 12))
        self._marker = marker

    def default(self, o: Any) -> Any:
        import decimal

        if isinstance(o, decimal.Decimal):
            if o.is_nan():
                return float("nan")
            return f"{self._marker}{o}"
        return super().default(o)


def _runtime_version() -> tuple[int, ...]:
    """(3, 11) for the function's Runtime "python3.11"; (0,) when it is not a Python one."""
    runtime = os.environ.get("AWS_EXECUTION_ENV", "").removeprefix("AWS_Lambda_python")
    try:
        return tuple(int(part) for part in runtime.split("."))
    except ValueError:
        return (0,)


_DECIMAL_MARKER = f"decimal-{os.urandom(8).hex()}:"


def marshal_response(result: Any) -> str | bytes:
    """The invocation's response payload, or Runtime.MarshalError as AWS reports it."""
    if isinstance(result, bytes):
        return result
    try:
        text = _ResponseEncoder(_DECIMAL_MARKER).encode(result)
    except (TypeError, ValueError) as error:
        raise FaultError("Runtime.MarshalError", f"Unable to marshal response: {error}") from None
    if _DECIMAL_MARKER in text:
        # Each Decimal was encoded as the string "<marker><digits>": drop the quotes.
        text = re.sub(rf'"{re.escape(_DECIMAL_MARKER)}([^"]*)"', r"\1", text)
    return text


def error_document(error: BaseException, request_id: str, skip_frames: int) -> dict[str, Any]:
    """The payload AWS returns for an unhandled exception (errorMessage, errorType, ...)."""
    if isinstance(error, FaultError):
        return {
            "errorMessage": error.message,
            "errorType": error.error_type,
            "requestId": request_id,
            "stackTrace": error.stack,
        }
    frames = traceback.extract_tb(error.__traceback__)[skip_frames:]
    return {
        "errorMessage": str(error),
        "errorType": type(error).__name__,
        "requestId": request_id,
        "stackTrace": traceback.format_list(frames),
    }


def error_log_line(document: dict[str, Any]) -> str:
    """The runtime's own ``[ERROR]`` log event for a failed invocation (one event, several
    lines), as the AWS Python runtime writes it in its text log format."""
    lines = [f"[ERROR] {document['errorType']}: {document['errorMessage']}"]
    if document.get("stackTrace") is not None:
        lines.append("Traceback (most recent call last):")
        for element in document["stackTrace"]:
            lines.extend(element.splitlines() or [""])
    return "\n".join(lines)


def max_memory_used_mb() -> int:
    # On Linux ru_maxrss survives execve and would report the local cloud's own peak (the
    # process this worker was spawned from); VmHWM is this program's peak only.
    try:
        with open("/proc/self/status", "rb") as status:
            for line in status:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1]) // 1024
    except (OSError, ValueError, IndexError):
        pass
    if resource is None:  # pragma: no cover - Windows
        return 0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports kilobytes, macOS bytes.
    return int(peak / (1024 * 1024 if sys.platform == "darwin" else 1024))


PR_SET_DUMPABLE = 4
PR_SET_CHILD_SUBREAPER = 36


def _prctl(option: int, value: int) -> bool:
    """Linux ``prctl(option, value)``; False where it is not available."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        return ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _descendants() -> list[int]:
    """The processes below this one, from ``/proc`` (Linux)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as stat:
                ppid = int(stat.read().rsplit(b")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    found: list[int] = []
    frontier = [os.getpid()]
    while frontier:
        frontier = [child for parent in frontier for child in children.get(parent, ())]
        found.extend(frontier)
    return found


def _end_everything_below() -> None:
    """SIGKILL every descendant (re-parented here, as this process is their subreaper) and
    reap them, until none is left."""
    import signal

    for _ in range(50):
        below = _descendants()
        for pid in below:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        while True:  # reap what died
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                pid = -1
            if pid <= 0:
                break
        if not below:
            return
        time.sleep(0.002)


def supervise_execution_environment() -> None:
    """Linux: fork; the child returns and runs the function, the parent supervises it.

    The supervisor is a *child subreaper*: a process the function starts and leaves behind
    (a fork, a child in its own session, a double-forked daemon) is re-parented to it rather
    than to init. When the runtime exits — normally, by ``sys.exit``, a crash or a kill — the
    supervisor SIGKILLs everything below it and exits with the runtime's status, so the
    environment's pipes close at once and the caller gets its answer. It also ends the
    environment when the local cloud that started it has gone. Elsewhere: returns at once.
    """
    if not _prctl(PR_SET_CHILD_SUBREAPER, 1):
        return
    import select
    import signal

    parent = os.getppid()
    runtime = os.fork()
    if runtime == 0:
        return
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):  # only the runtime holds the protocol pipes
        os.dup2(devnull, fd)
    signal.signal(signal.SIGTERM, lambda signum, frame: os.kill(runtime, signal.SIGKILL))
    try:
        watch = os.pidfd_open(runtime)
    except (AttributeError, OSError):
        watch = None
    status = None
    while status is None:
        if watch is not None:
            select.select([watch], [], [], 1.0)
        else:
            time.sleep(0.1)
        while True:
            try:
                pid, code = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                pid, code = runtime, 0
            if pid == runtime:
                status = code
                break
            if pid == 0:
                break
        if status is None and os.getppid() != parent:  # the local cloud is gone
            os.kill(runtime, signal.SIGKILL)
    _end_everything_below()
    exit_code = os.waitstatus_to_exitcode(status)
    if exit_code < 0:  # killed by a signal: end the same way, for the exit status the caller sees
        signal.signal(-exit_code, signal.SIG_DFL)
        os.kill(os.getpid(), -exit_code)
    os._exit(exit_code)


def receive_environment(inbox: io.BufferedReader) -> None:
    """Install the function's environment variables, sent as the first request."""
    message = json.loads(inbox.readline() or "{}")
    if message.get("type") == "environment":
        os.environ.clear()
        os.environ.update(message["variables"])
        if hasattr(time, "tzset"):
            time.tzset()


def main() -> None:
    supervise_execution_environment()
    # Other processes of the user (other functions among them) may not read this process's
    # environment or memory, nor attach to it.
    _prctl(PR_SET_DUMPABLE, 0)
    # Keep the protocol streams and give the function fresh ones.
    inbox = os.fdopen(os.dup(0), "rb")
    receive_environment(inbox)
    channel = Channel(os.fdopen(os.dup(1), "wb"))
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(2, 1)  # output below Python goes to stderr, which the local cloud logs too
    sys.stdin = open(os.devnull)  # noqa: SIM115 - lives as long as the process
    stdout = LogLineWriter(channel, "<stdout>")
    stderr = LogLineWriter(channel, "<stderr>")
    sys.stdout, sys.stderr = stdout, stderr
    request_filter = install_logging(channel)

    # The task root comes first on sys.path and is the working directory, as on AWS; this
    # file's own folder must not be importable by the handler. The function's own PYTHONPATH
    # (not reserved on AWS) follows: Python read it at start-up there, but this process
    # started before the function's variables arrived. Relative entries are read from the
    # task root, AWS's working directory.
    task_root = os.environ["LAMBDA_TASK_ROOT"]
    here = os.path.dirname(os.path.abspath(__file__))
    own = [
        os.path.join(task_root, entry)
        for entry in os.environ.get("PYTHONPATH", "").split(os.pathsep)
        if entry
    ]
    sys.path[:] = [task_root, *own] + [p for p in sys.path if p and os.path.abspath(p) != here]
    os.chdir(task_root)

    try:
        handler = load_handler(os.environ["_HANDLER"])
        init_error = None
    except Exception as error:  # noqa: BLE001 - reported to the caller like AWS does
        init_error = error_document(error, "", skip_frames=1)
        handler = None
    stdout.flush()
    stderr.flush()
    channel.send({"type": "ready", "error": init_error, "max_memory_mb": max_memory_used_mb()})
    if init_error is not None:
        return

    for line in inbox:
        request = json.loads(line)
        request_id = request["request_id"]
        request_filter.request_id = request_id
        os.environ["_X_AMZN_TRACE_ID"] = request.get("trace_id", "")
        error = None
        try:
            event = json.loads(request["payload"])
            result = handler(event, LambdaContext(request))  # type: ignore[misc]
            payload = marshal_response(result)
        except Exception as raised:  # noqa: BLE001 - every exception is the function's error
            error = error_document(raised, request_id, skip_frames=1)
            payload = json.dumps(error)
        except BaseException:  # sys.exit(): the process ends, its last lines must not
            stdout.flush()
            stderr.flush()
            channel.flush()
            raise
        stdout.flush()
        stderr.flush()
        if error is not None:
            channel.send({"type": "log", "message": error_log_line(error)}, now=False)
        if isinstance(payload, bytes):  # returned as they are, not as JSON
            encoded = {"payload_base64": base64.b64encode(payload).decode("ascii")}
        else:
            encoded = {"payload": payload}
        channel.send(
            {
                "type": "result",
                "request_id": request_id,
                **encoded,
                "error": error is not None,
                "max_memory_mb": max_memory_used_mb(),
            }
        )


if __name__ == "__main__":
    main()
