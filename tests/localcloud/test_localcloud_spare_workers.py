"""Spare bootstrap processes: a cold start takes a pre-started worker, nothing else changes.

GIVEN the runtime keeps a spare (Python started, the bootstrap's imports done, knowing no
function), WHEN a function starts cold, THEN it runs in that very process, a replacement is
started, the Init Duration still holds the handler's own imports, and the isolation between
environments, the fallbacks and the shutdown are those of a spawned worker.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hardening_support import pid_alive, wait_until

from workshop.localcloud import process_tree, spare_workers, workers
from workshop.localcloud.runtime import LambdaRuntime, spare_environment

pytestmark = [
    pytest.mark.localcloud,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="process trees via /proc (Linux)"),
]

#: Reports who ran it and what it could see; the module name is chosen per test (see _module).
WHOAMI = """
import os, sys
LOADED_AT_IMPORT = sorted(sys.modules)

def handler(event, context):
    return {
        "pid": os.getpid(),
        "supervisor": os.getppid(),
        "cwd": os.getcwd(),
        "path": sys.path,
        "env": dict(os.environ),
        "modules": sorted(sys.modules),
        "loaded_at_import": LOADED_AT_IMPORT,
    }
"""


def waiting_spare(runtime: LambdaRuntime, *, other_than: int | None = None) -> int:
    """The pid of the spare waiting now (after waiting for one to be started)."""
    found: list[int] = []

    def ready() -> bool:
        found[:] = [pid for pid in runtime.spares.pids() if pid != other_than]
        return bool(found)

    assert wait_until(ready, timeout=20), "no spare was started"
    return found[0]


def runtime_half(supervisor: int) -> int:
    """The pid of the process that runs the function below a worker's supervisor."""
    below: list[int] = []

    def forked() -> bool:
        below[:] = process_tree.descendants(supervisor)
        return bool(below)

    assert wait_until(forked, timeout=20), f"worker {supervisor} has no runtime process"
    return below[0]


def environ_of(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().decode("utf-8", "replace")
    return dict(item.split("=", 1) for item in raw.split("\0") if "=" in item)


def process_group_members(pgid: int) -> list[int]:
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(entry))
    return members


def report_line(cloud, name: str) -> str:
    return next(m for m in cloud.log_messages(name) if m.startswith("REPORT"))


# -- the cold start uses the spare --------------------------------------------------------------


def test_a_cold_start_runs_in_the_waiting_spare_and_a_replacement_is_started(cloud):
    spare = waiting_spare(cloud.runtime)
    assert spare in workers.live_workers  # the local cloud's sweep of orphans leaves it alone
    count_before = cloud.runtime.environment_count()
    assert cloud.server.describe()["lambda_environments"] == count_before  # status JSON
    name = cloud.deploy({"app.py": WHOAMI})

    response, seen = cloud.invoke(name)

    assert "FunctionError" not in response
    assert seen["supervisor"] == spare  # the worker of this environment is the spare
    assert cloud.runtime.environment_count() == count_before + 1
    replacement = waiting_spare(cloud.runtime, other_than=spare)
    assert replacement != spare and pid_alive(replacement)
    assert spare not in cloud.runtime.spares.pids()  # used once, by one environment
    # AND the warm call stays in the same environment
    assert cloud.invoke(name)[1]["pid"] == seen["pid"]


def test_the_spare_is_not_counted_as_an_environment(tmp_path):
    runtime = LambdaRuntime("http://127.0.0.1:9", work_dir=tmp_path / "work")
    try:
        spare = waiting_spare(runtime)
        assert pid_alive(spare)
        assert runtime.environment_count() == 0
    finally:
        runtime.shutdown()


# -- Init Duration ------------------------------------------------------------------------------

#: A handler module timing its own import of boto3, which worker.py does not import.
IMPORTS_BOTO3 = """
import os, sys, time
PRELOADED = [name for name in ("boto3", "botocore", "urllib3") if name in sys.modules]
_started = time.perf_counter()
import boto3
IMPORT_MS = (time.perf_counter() - _started) * 1000

def handler(event, context):
    return {"preloaded": PRELOADED, "import_ms": IMPORT_MS, "supervisor": os.getppid()}
"""


def test_a_handler_from_a_spare_still_pays_for_its_imports_in_init_duration(cloud):
    spare = waiting_spare(cloud.runtime)
    name = cloud.deploy({"app.py": IMPORTS_BOTO3})

    _, seen = cloud.invoke(name)

    assert seen["supervisor"] == spare
    assert seen["preloaded"] == []  # the spare imported nothing the handler imports
    init = float(re.search(r"Init Duration: ([\d.]+) ms", report_line(cloud, name)).group(1))
    assert init >= seen["import_ms"] > 0


def test_init_duration_starts_when_the_spare_is_taken_not_when_it_was_started(cloud):
    spare = waiting_spare(cloud.runtime)
    time.sleep(1.0)  # the spare has waited this long: none of it is the function's init
    name = cloud.deploy({"app.py": "import os\ndef handler(e, c):\n    return os.getppid()\n"})

    called = time.perf_counter()
    _, supervisor = cloud.invoke(name)
    call_ms = (time.perf_counter() - called) * 1000

    assert supervisor == spare
    init = float(re.search(r"Init Duration: ([\d.]+) ms", report_line(cloud, name)).group(1))
    assert 0 < init < call_ms  # within the call, not since the spare was started


# -- isolation ------------------------------------------------------------------------------------


def test_a_waiting_spare_holds_nothing_of_any_function(cloud):
    secret = f"secret-{os.getpid()}-{time.time_ns()}"
    name = cloud.deploy({"app.py": WHOAMI}, environment={"FUNCTION_SECRET": secret})
    cloud.invoke(name)  # a function with a secret has run (and a replacement was started after)

    spare = waiting_spare(cloud.runtime)
    half = runtime_half(spare)

    for pid in (spare, half):
        environ = environ_of(pid)
        assert environ == spare_environment()
        assert secret not in json.dumps(environ)
        # not in any function's task root either
        assert Path(os.readlink(f"/proc/{pid}/cwd")) == cloud.runtime.work_dir.resolve()
    if os.getuid() != 0:
        # AND its runtime half is already non-dumpable: its /proc files belong to root (proc(5))
        assert Path(f"/proc/{half}/environ").stat().st_uid == 0


def test_environments_started_from_spares_see_only_their_own_variables_cwd_and_modules(cloud):
    first = cloud.deploy(
        {"first_module.py": WHOAMI}, handler="first_module.handler", environment={"ONLY": "first"}
    )
    second = cloud.deploy(
        {"second_module.py": WHOAMI}, handler="second_module.handler", environment={"ONLY": "second"}
    )

    spare_one = waiting_spare(cloud.runtime)
    _, one = cloud.invoke(first)
    spare_two = waiting_spare(cloud.runtime, other_than=spare_one)
    _, two = cloud.invoke(second)

    assert (one["supervisor"], two["supervisor"]) == (spare_one, spare_two)
    assert one["env"]["ONLY"] == "first" and two["env"]["ONLY"] == "second"
    assert one["cwd"] != two["cwd"]
    for seen, own, other in ((one, "first_module", "second_module"), (two, "second_module", "first_module")):
        assert seen["cwd"] == seen["env"]["LAMBDA_TASK_ROOT"] == seen["path"][0]
        assert own in seen["modules"] and other not in seen["modules"]
        assert not any(entry in (one["cwd"], two["cwd"]) for entry in seen["path"][1:])


def test_a_spare_starts_its_function_exactly_as_a_spawned_worker_does(cloud):
    # GIVEN one function whose cold start takes the spare, and one that sets PATH: its
    # process environment differs from the spare's, so it is spawned as before
    from_spare = cloud.deploy({"app.py": WHOAMI})
    spawned = cloud.deploy({"app.py": WHOAMI}, environment={"PATH": os.defpath})
    spare = waiting_spare(cloud.runtime)

    _, a = cloud.invoke(from_spare)
    waiting_spare(cloud.runtime, other_than=spare)
    _, b = cloud.invoke(spawned)

    assert a["supervisor"] == spare
    assert b["supervisor"] not in (spare, *cloud.runtime.spares.pids())
    assert b["env"]["PATH"] == os.defpath
    # THEN sys.path (the task root first, then the same entries), the working directory and
    # the modules loaded before the handler's import are the same
    assert a["path"][0] == a["cwd"] and b["path"][0] == b["cwd"]
    assert a["path"][1:] == b["path"][1:]
    assert a["loaded_at_import"] == b["loaded_at_import"]


LEAVES_A_CHILD = """
import os, subprocess

def handler(event, context):
    child = subprocess.Popen(["sleep", "120"], start_new_session=True)
    return {"child": child.pid, "supervisor": os.getppid()}
"""


def test_the_process_tree_of_an_environment_started_from_a_spare_ends_with_it(cloud):
    spare = waiting_spare(cloud.runtime)
    name = cloud.deploy({"app.py": LEAVES_A_CHILD})
    _, seen = cloud.invoke(name)
    assert seen["supervisor"] == spare
    assert pid_alive(seen["child"])

    cloud.runtime.reap(idle_before=time.monotonic() + 1)  # the idle environment is stopped

    assert wait_until(lambda: not pid_alive(seen["child"]) and not pid_alive(spare), timeout=10)


# -- fallbacks ------------------------------------------------------------------------------------


@pytest.mark.parametrize("victim", ["supervisor", "runtime half"])
def test_a_spare_killed_from_outside_is_not_used_and_leaves_nothing(cloud, victim):
    spare = waiting_spare(cloud.runtime)
    half = runtime_half(spare)
    os.kill(spare if victim == "supervisor" else half, signal.SIGKILL)
    if victim == "runtime half":  # the supervisor notices and ends itself (not yet reaped)
        assert wait_until(lambda: not _running(spare), timeout=10)
    name = cloud.deploy({"app.py": WHOAMI})

    response, seen = cloud.invoke(name)

    assert "FunctionError" not in response, seen
    assert seen["supervisor"] != spare and seen["pid"] != half  # spawned instead
    assert wait_until(lambda: not pid_alive(spare) and not pid_alive(half), timeout=10)
    assert spare not in workers.live_workers
    # AND a new spare takes its place
    assert waiting_spare(cloud.runtime, other_than=spare) != spare


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def test_a_spare_is_replaced_when_the_hosts_path_changes(cloud, monkeypatch):
    spare = waiting_spare(cloud.runtime)
    monkeypatch.setenv("PATH", os.environ.get("PATH", "") + os.pathsep + "/opt/another/bin")
    name = cloud.deploy({"app.py": WHOAMI})

    _, seen = cloud.invoke(name)  # its environment is not the spare's: spawned

    assert seen["supervisor"] != spare
    assert seen["env"]["PATH"].endswith("/opt/another/bin")
    fresh = waiting_spare(cloud.runtime, other_than=spare)
    assert environ_of(fresh)["PATH"].endswith("/opt/another/bin")
    assert wait_until(lambda: not pid_alive(spare), timeout=10)


def test_a_negative_number_of_spares_is_refused(tmp_path):
    with pytest.raises(ValueError, match="0 or more"):
        spare_workers.SpareWorkers(tmp_path, -1)


def test_no_spare_is_kept_when_none_is_asked_for(tmp_path):
    runtime = LambdaRuntime("http://127.0.0.1:9", work_dir=tmp_path / "work", spare_workers=0)
    try:
        runtime.spares.replenish(spare_environment())
        time.sleep(0.3)
        assert runtime.spares.pids() == []
    finally:
        runtime.shutdown()


# -- shutdown -------------------------------------------------------------------------------------


def test_shutdown_kills_the_spare_with_its_runtime_half(tmp_path):
    runtime = LambdaRuntime("http://127.0.0.1:9", work_dir=tmp_path / "work")
    spare = waiting_spare(runtime)
    half = runtime_half(spare)

    runtime.shutdown()

    assert wait_until(lambda: not pid_alive(spare) and not pid_alive(half), timeout=10)
    assert process_group_members(spare) == []
    assert runtime.spares.pids() == []
    assert spare not in workers.live_workers


def test_a_runtime_shut_down_while_its_spare_starts_leaves_no_process_and_starts_no_other(
    tmp_path, monkeypatch
):
    started: list[int] = []
    original = workers.WorkerProcess.start.__func__

    def recording_start(cls, environment, cwd):
        worker = original(cls, environment, cwd)
        started.append(worker.pid)
        return worker

    monkeypatch.setattr(workers.WorkerProcess, "start", classmethod(recording_start))
    runtime = LambdaRuntime("http://127.0.0.1:9", work_dir=tmp_path / "work")

    runtime.shutdown()  # while the first spare may still be starting
    runtime.spares.replenish(spare_environment())  # what a cold start finishing now would do
    time.sleep(0.3)

    assert len(started) <= 1
    for pid in started:
        assert not pid_alive(pid)
        assert process_group_members(pid) == []  # its runtime half too
        assert pid not in workers.live_workers
    assert runtime.spares.pids() == []


# -- the spare pool on its own ----------------------------------------------------------------------


def test_a_spare_of_another_python_executable_is_not_taken(tmp_path, monkeypatch):
    spares = spare_workers.SpareWorkers(tmp_path)
    spec = workers.WorkerSpec(task_root=tmp_path, environment=spare_environment(), fingerprint="x")
    try:
        spares.replenish(spare_environment())
        assert wait_until(lambda: bool(spares.pids()), timeout=20)
        other = tmp_path / "python3"
        other.symlink_to(sys.executable)
        monkeypatch.setattr(sys, "executable", str(other))

        assert spares.take(spec) is None

        monkeypatch.undo()
        taken = spares.take(spec)
        assert taken is not None and taken.spec is spec
        taken.close()
    finally:
        spares.close()


def test_a_spare_that_dies_at_start_is_not_restarted_in_a_loop(tmp_path, monkeypatch):
    started: list[subprocess.Popen[bytes]] = []

    def dying_start(cls, environment, cwd):
        process = subprocess.Popen(  # noqa: S603 - a process that ends at once
            [sys.executable, "-c", "pass"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        started.append(process)
        return cls(spec=None, process=process, started_at=time.perf_counter())

    monkeypatch.setattr(workers.WorkerProcess, "start", classmethod(dying_start))
    spares = spare_workers.SpareWorkers(tmp_path)
    try:
        spares.replenish(spare_environment())
        time.sleep(1.0)
        assert len(started) == 1  # one attempt per request
        spec = workers.WorkerSpec(task_root=tmp_path, environment=spare_environment(), fingerprint="x")
        assert spares.take(spec) is None  # found dead: the caller spawns
    finally:
        spares.close()
    for process in started:
        assert process.poll() is not None
