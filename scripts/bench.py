"""How fast is the local cloud? Numbers and ratios, measured in one run (``make bench``).

It starts its own local cloud on free ports (in a temporary state folder, so a running one is
not touched), builds a minimal stack with plain boto3 — table, role, the reference Lambda
(solutions/lambda), a REST API with ``GET /product`` and ``GET /health`` as Lambda proxy
integrations, a ``prod`` deployment — and measures:

- ``up``-to-ready: from ``start()`` to both ports serving (target: at most 2 s), and to the
  first answered API call;
- cold and warm ``lambda.invoke`` times (target: a cold invoke, which includes the handler
  module's import, in at most 300 ms);
- p50 / p95 latency of ``GET /product?productId=X`` through the gateway, against a raw boto3
  ``get_item`` of the same item on the same local endpoint, their difference (the gateway's
  overhead; target: at most 2 ms at p50, measured with a plain ``http.client`` connection so
  that the client library's own cost is not counted; the figure with ``requests`` as the
  client follows it) and their ratio (same plain client; target: within 2x: the gateway does
  the get_item *plus* HTTP, event building, a hop to the warm worker and back). Both sides are
  warmed up alike and measured in alternating blocks of 10 with the same number of samples, so
  machine noise hits both; the ratio is the ratio of the two medians;
- what the IAM policy check costs a call: ``get_item`` signed with a session of the function's
  role (identified and its policies evaluated, exactly as the function's own call behind
  ``GET /product`` is) against the same call with the default root keys (no policy check), and
  the gate's own work for that call measured in-process (away from HTTP noise); target: at
  most 1 ms added to p50;
- requests per second with 4 concurrent clients, through the gateway and raw;
- snapshots (the saved state ``up`` restores): size, how long changing requests are paused while
  one is taken, how long writing it takes (outside the pause), and the longest any request
  waited for one, while a client keeps writing (target: no request blocked > 100 ms);
- the AWS endpoint's HTTP server: raw ``get_item`` p50 on two more local clouds, one served by
  waitress and one by werkzeug's development server (``WORKSHOP_ENDPOINT_SERVER``), and their
  ratio (target: the faster one is the default);
- the machine's load average, since other processes on a shared machine move every number.

No assertions: it prints what it measured. ``--requests N`` sets the sample size. Whatever
happens (an error, Ctrl-C, SIGTERM), the local cloud it started is stopped.

``--load`` measures something else: the reference stack (built by ``scripts/deploy.py``'s code)
under mixed CRUD — each client POSTs, GETs, PATCHes and DELETEs products of its own on a
keep-alive connection — at 1, 4, 16 and 64 concurrent clients (``--levels``) for a fixed time
each (``--duration``, after a ``--warmup`` at the highest level), and prints throughput, p50 /
p99 latency, errors by kind (connection errors, timeouts, unexpected statuses) and the local
cloud's resident memory before and after. A tool to run by hand, not a timed test:
``python scripts/bench.py --load --duration 600 --levels 4`` is the 10-minute memory check.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import shutil
import signal
import statistics
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from workshop.environment_check import require_workshop_python  # noqa: E402

require_workshop_python(__file__)

from workshop.localcloud import lifecycle  # noqa: E402
from workshop.paths import SOLUTION_LAMBDA_DIR  # noqa: E402
from workshop.target import LOCAL_ACCOUNT_ID, LOCAL_CREDENTIALS, LOCAL_REGION  # noqa: E402

TABLE = "bench-products"
FUNCTION = "bench-api"
ROLE = "bench-lambda-role"
API = "bench-api"
STAGE = "prod"
PRODUCT_ID = "bench-1"

# Used when the reference Lambda is missing, or with --minimal-handler: the same two routes,
# the same DynamoDB call, nothing else.
FALLBACK_HANDLER = '''
import json, os, boto3
table = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])

def lambda_handler(event, context):
    if event.get("path") == "/health":
        return {"statusCode": 200, "body": json.dumps({"status": "healthy"})}
    product_id = (event.get("queryStringParameters") or {}).get("productId")
    item = table.get_item(Key={"productId": product_id}).get("Item")
    if item is None:
        return {"statusCode": 404, "body": json.dumps({"message": "not found"})}
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"},
            "body": json.dumps(item, default=str)}
'''


def build_zip(minimal: bool = False, lambda_dir: Path = SOLUTION_LAMBDA_DIR) -> tuple[bytes, str]:
    """The Lambda's files (the reference Lambda by default), or the minimal handler; and
    what was used."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        sources = sorted(lambda_dir.glob("*.py"))
        if minimal:
            archive.writestr("lambda_function.py", FALLBACK_HANDLER)
            used = "the minimal handler (--minimal-handler)"
        elif (lambda_dir / "lambda_function.py").is_file():
            for source in sources:
                archive.write(source, source.name)
            used = (
                "solutions/lambda (reference Lambda)"
                if lambda_dir == SOLUTION_LAMBDA_DIR
                else str(lambda_dir)
            )
        else:
            archive.writestr("lambda_function.py", FALLBACK_HANDLER)
            used = "a minimal fallback handler (solutions/lambda missing)"
    return buffer.getvalue(), used


#: The targets ``make bench`` prints each figure against (issue 14: "Fit the ecosystem and get
#: faster"; the IAM one from issue 9). Each is an upper bound.
UP_TO_READY_TARGET_MS = 2000.0
COLD_INVOKE_TARGET_MS = 300.0
GATEWAY_OVERHEAD_TARGET_MS = 2.0
GATEWAY_RATIO_TARGET = 2.0
IAM_CHECK_TARGET_MS = 1.0
SNAPSHOT_WAIT_TARGET_MS = 100.0


def against(value: float, target: float, unit: str, decimals: int) -> str:
    """``value`` formatted with its upper-bound ``target`` and whether it is met, e.g.
    ``"   161.4 ms   (target <= 300 ms: met)"``; ``unit`` is "ms" or "x"."""
    space = " " if unit == "ms" else ""
    verdict = "met" if value <= target else "NOT met"
    return f"{value:8.{decimals}f}{space}{unit}   (target <= {target:g}{space}{unit}: {verdict})"


def percentile(samples: list[float], fraction: float) -> float:
    """Nearest-rank percentile (``fraction`` 0.95 is p95)."""
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def timed(call: Callable[[], object], count: int) -> list[float]:
    """Milliseconds per call, ``count`` calls."""
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def interleaved(
    first: Callable[[], object], second: Callable[[], object], count: int, block: int = 10
) -> tuple[list[float], list[float]]:
    """``count`` timings of each call, measured in alternating short blocks.

    The machine is shared (other processes, CPU frequency, the local cloud's own threads):
    short blocks mean a slow moment hits both sides alike, and swapping which side goes
    first each round keeps either from always running right after the other.
    """
    first_samples: list[float] = []
    second_samples: list[float] = []
    round_number = 0
    while len(first_samples) < count:
        size = min(block, count - len(first_samples))
        if round_number % 2 == 0:
            first_samples += timed(first, size)
            second_samples += timed(second, size)
        else:
            second_samples += timed(second, size)
            first_samples += timed(first, size)
        round_number += 1
    return first_samples, second_samples


def throughput(make_call: Callable[[], Callable[[], object]], clients: int, per_client: int) -> float:
    """Requests per second with ``clients`` threads, each making ``per_client`` calls."""
    calls = [make_call() for _ in range(clients)]
    barrier = threading.Barrier(clients + 1)
    errors: list[BaseException] = []

    def run(call: Callable[[], object]) -> None:
        barrier.wait()
        try:
            for _ in range(per_client):
                call()
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(call,), daemon=True) for call in calls]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise errors[0]
    return clients * per_client / elapsed


class PlainHttpClient:
    """``GET /product?productId=...`` on one keep-alive connection with ``http.client``.

    What the gateway adds to a call is measured with this thin client, so that the figure is
    the gateway's and not the client library's (requests spends ~0.5 ms per call preparing
    a request and reading proxy settings from the environment)."""

    def __init__(self, product_url: str) -> None:
        import http.client
        from urllib.parse import urlsplit

        parts = urlsplit(product_url)
        self._connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        self._target = f"{parts.path}?productId={PRODUCT_ID}"

    def get_product(self) -> None:
        self._connection.request("GET", self._target)
        answer = self._connection.getresponse()
        body = answer.read()
        if answer.status != 200:
            raise RuntimeError(f"GET /product answered {answer.status}: {body[:300]!r}")

    def close(self) -> None:
        self._connection.close()


def load_average() -> str:
    """The 1-minute load average, to judge how busy the machine was ("n/a" where unknown)."""
    try:
        return f"{os.getloadavg()[0]:.2f}"
    except (AttributeError, OSError):
        return "n/a"


def use_local_credentials() -> None:
    """Sign with the local cloud's fake keys and region only: no profile, session token or
    ~/.aws file of the learner's may reach the benchmark's clients."""
    os.environ.update(LOCAL_CREDENTIALS)
    os.environ["AWS_DEFAULT_REGION"] = LOCAL_REGION
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        os.environ.pop(name, None)
    os.environ["AWS_CONFIG_FILE"] = os.devnull
    os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull


def raise_keyboard_interrupt(signum: int, frame: object) -> None:
    """SIGTERM / SIGHUP end the benchmark like Ctrl-C, so the local cloud is stopped."""
    raise KeyboardInterrupt


def role_policy_setup(iam) -> str:  # noqa: ANN001 - a boto3 IAM client
    """The function's role: logs as AWSLambdaBasicExecutionRole, and - since the function runs
    as this role and IAM is enforced - the table's item actions, as the role lab 03 builds."""
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
    role_arn = iam.create_role(RoleName=ROLE, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    iam.attach_role_policy(
        RoleName=ROLE, PolicyArn="arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
    )
    table_arn = f"arn:aws:dynamodb:{LOCAL_REGION}:{LOCAL_ACCOUNT_ID}:table/{TABLE}"
    iam.put_role_policy(
        RoleName=ROLE,
        PolicyName="bench-table",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:Scan"], "Resource": table_arn}
                ],
            }
        ),
    )
    return role_arn


def build_stack(session, code: bytes) -> str:  # noqa: ANN001 - a boto3 Session
    """Table, role, function, REST API and deployment, with plain boto3; returns the base URL's API id."""
    dynamodb = session.client("dynamodb")
    dynamodb.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "productId", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "productId", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.put_item(
        TableName=TABLE,
        Item={"productId": {"S": PRODUCT_ID}, "name": {"S": "Bench chair"}, "price": {"N": "19.99"}},
    )
    iam = session.client("iam")
    role_arn = role_policy_setup(iam)
    lambda_client = session.client("lambda")
    function_arn = lambda_client.create_function(
        FunctionName=FUNCTION,
        Runtime="python3.11",
        Role=role_arn,
        Handler="lambda_function.lambda_handler",
        Code={"ZipFile": code},
        Timeout=10,
        MemorySize=128,
        Environment={"Variables": {"TABLE_NAME": TABLE}},
    )["FunctionArn"]
    apigateway = session.client("apigateway")
    api_id = apigateway.create_rest_api(name=API)["id"]
    root_id = next(r["id"] for r in apigateway.get_resources(restApiId=api_id)["items"] if r["path"] == "/")
    uri = (
        f"arn:aws:apigateway:{LOCAL_REGION}:lambda:path/2015-03-31/functions/{function_arn}/invocations"
    )
    for part in ("product", "health"):
        resource_id = apigateway.create_resource(restApiId=api_id, parentId=root_id, pathPart=part)["id"]
        apigateway.put_method(
            restApiId=api_id, resourceId=resource_id, httpMethod="GET", authorizationType="NONE"
        )
        apigateway.put_integration(
            restApiId=api_id,
            resourceId=resource_id,
            httpMethod="GET",
            type="AWS_PROXY",
            integrationHttpMethod="POST",
            uri=uri,
        )
    lambda_client.add_permission(
        FunctionName=FUNCTION,
        StatementId="apigateway-invoke",
        Action="lambda:InvokeFunction",
        Principal="apigateway.amazonaws.com",
        SourceArn=f"arn:aws:execute-api:{LOCAL_REGION}:{LOCAL_ACCOUNT_ID}:{api_id}/*/*/*",
    )
    apigateway.create_deployment(restApiId=api_id, stageName=STAGE)
    return api_id


def session_client_for_role(session, service: str):  # noqa: ANN001, ANN201 - boto3 objects
    """A client signed with temporary credentials of the function's role (sts.assume_role)."""
    role_arn = f"arn:aws:iam::{LOCAL_ACCOUNT_ID}:role/{ROLE}"
    credentials = session.client("sts").assume_role(RoleArn=role_arn, RoleSessionName=FUNCTION)["Credentials"]
    return session.client(
        service,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )


def policy_check_cost_ms(count: int) -> float:
    """p50 of the IAM gate's own work for the function's get_item (identify the session key, map
    the request to dynamodb:GetItem on the table ARN, evaluate the role's policies), measured
    in this process against moto alone, away from HTTP and the machine's noise."""
    import boto3
    from moto import mock_aws

    from workshop.localcloud import iam
    from workshop.localcloud.iam.actions import HttpRequest, api_call

    saved = os.environ.get("MOTO_IAM_LOAD_MANAGED_POLICIES")
    os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"
    try:
        with mock_aws():
            session = boto3.session.Session(region_name=LOCAL_REGION)
            endpoint = os.environ.pop("AWS_ENDPOINT_URL", None)
            try:
                role_policy_setup(session.client("iam"))
            finally:
                if endpoint is not None:
                    os.environ["AWS_ENDPOINT_URL"] = endpoint
            role_arn = f"arn:aws:iam::{LOCAL_ACCOUNT_ID}:role/{ROLE}"
            credentials = iam.execution_role_credentials(role_arn, FUNCTION)
            body = json.dumps({"TableName": TABLE, "Key": {"productId": {"S": PRODUCT_ID}}}).encode()
            request = HttpRequest("POST", "/", {}, {"x-amz-target": "DynamoDB_20120810.GetItem"}, body,
                                  LOCAL_REGION, LOCAL_ACCOUNT_ID)

            def check() -> None:
                principal = iam.identify(credentials["AWS_ACCESS_KEY_ID"], credentials["AWS_SESSION_TOKEN"])
                for one in api_call("dynamodb", request).checks:
                    if not iam.authorize_check(principal, one).allowed:
                        raise RuntimeError("the bench role may not get_item")

            timed(check, 50)
            return statistics.median(timed(check, count))
    finally:
        if saved is None:
            os.environ.pop("MOTO_IAM_LOAD_MANAGED_POLICIES", None)
        else:
            os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = saved


def proxy_event(path: str, query: dict[str, str] | None = None) -> bytes:
    return json.dumps(
        {
            "resource": path,
            "path": path,
            "httpMethod": "GET",
            "headers": None,
            "multiValueHeaders": None,
            "queryStringParameters": query,
            "multiValueQueryStringParameters": None,
            "pathParameters": None,
            "stageVariables": None,
            "requestContext": {"httpMethod": "GET", "resourcePath": path, "stage": STAGE},
            "body": None,
            "isBase64Encoded": False,
        }
    ).encode()


def cold_init_duration(session) -> str:  # noqa: ANN001 - a boto3 Session
    """The Init Duration of the function's first (cold) invocation, from its REPORT log line."""
    events = session.client("logs").filter_log_events(logGroupName=f"/aws/lambda/{FUNCTION}")["events"]
    reports = sorted((e["timestamp"], e["message"]) for e in events if "Init Duration" in e["message"])
    match = re.search(r"Init Duration: ([\d.]+) ms", reports[0][1]) if reports else None
    return f"{float(match.group(1)):8.1f} ms" if match else "     n/a"


def measure_snapshots(endpoint: str, session, count: int = 10) -> list[tuple[str, str]]:  # noqa: ANN001
    """Take ``count`` snapshots on request while one client keeps writing items."""
    import requests

    stop = threading.Event()
    write_ms: list[float] = []

    def writer() -> None:
        client = session.client("dynamodb")
        number = 0
        while not stop.is_set():
            number += 1
            started = time.perf_counter()
            client.put_item(TableName=TABLE, Item={"productId": {"S": f"snap-{number}"}, "n": {"N": str(number)}})
            write_ms.append((time.perf_counter() - started) * 1000)

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    pauses: list[float] = []
    stats: dict = {}
    try:
        for _ in range(count):
            time.sleep(0.05)
            answer = requests.post(f"{endpoint}/_localcloud/snapshot", timeout=30)
            if answer.status_code != 200:
                raise RuntimeError(f"snapshot on request answered {answer.status_code}: {answer.text}")
            stats = answer.json()
            pauses.append(stats["last_pause_ms"])
    finally:
        stop.set()
        thread.join(10)
    waited = stats["max_request_wait_ms"]
    return [
        ("snapshot size", f"{stats['last_size_bytes'] / 1024:8.1f} KB"),
        (f"snapshot pause p50 / max (n={len(pauses)})", f"{statistics.median(pauses):8.2f} ms / {max(pauses):.2f} ms"),
        ("snapshot write to disk (after the pause)", f"{stats['last_write_ms']:8.2f} ms"),
        (
            "longest a request waited for a snapshot",
            against(waited, SNAPSHOT_WAIT_TARGET_MS, "ms", 2),
        ),
        (f"put_item p50 / max during snapshots (n={len(write_ms)})",
         f"{statistics.median(write_ms):8.2f} ms / {max(write_ms):.2f} ms"),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=300, help="samples per latency measurement")
    parser.add_argument("--clients", type=int, default=4, help="concurrent clients for requests/s")
    parser.add_argument(
        "--minimal-handler",
        action="store_true",
        help="deploy a minimal get_item handler instead of the reference Lambda, to tell the "
        "local cloud's overhead from the reference Lambda's own work",
    )
    parser.add_argument(
        "--lambda-dir",
        type=Path,
        default=SOLUTION_LAMBDA_DIR,
        help="folder with lambda_function.py (and helpers) to benchmark; default: solutions/lambda",
    )
    parser.add_argument("--load", action="store_true", help="mixed CRUD load instead (see above)")
    parser.add_argument("--levels", type=lambda text: [int(n) for n in text.split(",")],
                        default=list(LOAD_LEVELS), help="--load: client counts, e.g. 1,4,16,64")
    parser.add_argument("--duration", type=float, default=20.0, help="--load: seconds per level")
    parser.add_argument("--warmup", type=float, default=10.0, help="--load: warm-up seconds")
    parser.add_argument("--timeout", type=float, default=60.0, help="--load: per-request timeout")
    parser.add_argument("--new-connections", action="store_true",
                        help="--load: open a new connection for every request (a burst of browsers)")
    args = parser.parse_args(argv)
    if args.load:
        for name in ("SIGTERM", "SIGHUP"):
            if hasattr(signal, name):
                signal.signal(getattr(signal, name), raise_keyboard_interrupt)
        return run_load(args.levels, args.duration, args.warmup, args.timeout, args.new_connections)
    count = max(args.requests, 20)
    clients = max(args.clients, 1)

    use_local_credentials()
    for name in ("SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), raise_keyboard_interrupt)

    state_dir = tempfile.mkdtemp(prefix="workshop-bench-")
    load_before = load_average()
    rows: list[tuple[str, str]] = []
    info = None
    try:
        # Imported here so that up-to-ready is not charged for them, as in `local_cloud.py up`.
        import boto3
        import requests
        from botocore.config import Config

        started = time.perf_counter()
        info = lifecycle.start(endpoint_port=0, gateway_port=0, state_dir=state_dir)
        up_to_ready_ms = (time.perf_counter() - started) * 1000
        os.environ["AWS_ENDPOINT_URL"] = info.endpoint
        session = boto3.session.Session(region_name=LOCAL_REGION)
        session.client("dynamodb").list_tables()
        first_call_ms = (time.perf_counter() - started) * 1000

        code, used = build_zip(args.minimal_handler, args.lambda_dir)
        api_id = build_stack(session, code)
        base_url = info.invoke_url(api_id, STAGE)
        lambda_client = session.client("lambda", config=Config(read_timeout=60, retries={"max_attempts": 0}))

        def invoke_health() -> dict:
            answer = lambda_client.invoke(FunctionName=FUNCTION, Payload=proxy_event("/health"))
            payload = json.loads(answer["Payload"].read())
            if answer.get("FunctionError"):
                raise RuntimeError(f"the function failed: {payload}")
            return payload

        cold_ms = timed(invoke_health, 1)[0]
        cold_init = cold_init_duration(session)
        timed(invoke_health, 10)
        warm_invoke = timed(invoke_health, count)

        product_url = f"{base_url}/product"
        http = requests.Session()

        def gateway_get() -> None:
            answer = http.get(product_url, params={"productId": PRODUCT_ID}, timeout=30)
            if answer.status_code != 200:
                raise RuntimeError(f"GET /product answered {answer.status_code}: {answer.text}")

        dynamodb = session.client("dynamodb")

        def raw_get() -> None:
            if "Item" not in dynamodb.get_item(TableName=TABLE, Key={"productId": {"S": PRODUCT_ID}}):
                raise RuntimeError("get_item found nothing")

        # Both sides warmed up alike (connections open, code paths loaded), then measured in
        # alternating blocks with the same number of samples.
        interleaved(gateway_get, raw_get, 30)
        gateway_samples, raw_samples = interleaved(gateway_get, raw_get, count)

        # The gateway's own overhead, without the client library's: the same GET on one
        # keep-alive connection with the standard library's http.client, which costs about a
        # tenth of a millisecond per call where requests costs half a millisecond or more.
        plain = PlainHttpClient(product_url)
        interleaved(plain.get_product, raw_get, 30)
        plain_samples, plain_raw_samples = interleaved(plain.get_product, raw_get, count)
        plain.close()

        # What IAM enforcement costs a call: the same get_item signed by the root (the
        # default fake keys: passed without a policy check) and by a session of the function's
        # role (identified, its policies evaluated against the table ARN) - the function's own
        # get_item behind GET /product is checked exactly like the latter.
        role_session = session_client_for_role(session, "dynamodb")

        def role_get() -> None:
            if "Item" not in role_session.get_item(TableName=TABLE, Key={"productId": {"S": PRODUCT_ID}}):
                raise RuntimeError("get_item as the role found nothing")

        interleaved(role_get, raw_get, 30)
        checked_samples, unchecked_samples = interleaved(role_get, raw_get, count)

        def gateway_client() -> Callable[[], object]:
            own = requests.Session()
            return lambda: own.get(product_url, params={"productId": PRODUCT_ID}, timeout=30)

        def raw_client() -> Callable[[], object]:
            own = session.client("dynamodb")
            return lambda: own.get_item(TableName=TABLE, Key={"productId": {"S": PRODUCT_ID}})

        per_client = max(count // clients, 10)
        # Concurrent calls need one warm Lambda environment each (AWS scales the same way):
        # start them before measuring, so the numbers are warm throughput.
        throughput(gateway_client, clients, 5)
        throughput(raw_client, clients, 5)
        gateway_rps = throughput(gateway_client, clients, per_client)
        raw_rps = throughput(raw_client, clients, per_client)
        # ... and once more in the other order; each side reports the mean of its two runs.
        raw_rps = (raw_rps + throughput(raw_client, clients, per_client)) / 2
        gateway_rps = (gateway_rps + throughput(gateway_client, clients, per_client)) / 2

        checked_p50, unchecked_p50 = statistics.median(checked_samples), statistics.median(unchecked_samples)
        gate_ms = policy_check_cost_ms(count)
        iam_cost_ms = checked_p50 - unchecked_p50
        snapshot_rows = measure_snapshots(info.endpoint, session)

        gateway_p50, gateway_p95 = statistics.median(gateway_samples), percentile(gateway_samples, 0.95)
        raw_p50, raw_p95 = statistics.median(raw_samples), percentile(raw_samples, 0.95)
        plain_p50, plain_raw_p50 = statistics.median(plain_samples), statistics.median(plain_raw_samples)
        warm_p50 = statistics.median(warm_invoke)
        ratio = plain_p50 / plain_raw_p50
        rows = [
            ("Lambda code", used),
            ("up-to-ready (start() until both ports answer)", against(up_to_ready_ms, UP_TO_READY_TARGET_MS, "ms", 0)),
            ("up to first answered boto3 call", f"{first_call_ms:8.0f} ms"),
            ("cold invoke (lambda.invoke, first call)", against(cold_ms, COLD_INVOKE_TARGET_MS, "ms", 1)),
            ("  its Init Duration (REPORT line: the handler's import)", cold_init),
            (f"warm invoke p50 / p95 (n={len(warm_invoke)})", f"{warm_p50:8.2f} ms / {percentile(warm_invoke, 0.95):.2f} ms"),
            ("cold / warm invoke", f"{cold_ms / warm_p50:8.1f}x"),
            (f"GET /product via gateway (requests) p50 / p95 (n={len(gateway_samples)})", f"{gateway_p50:8.2f} ms / {gateway_p95:.2f} ms"),
            (f"raw boto3 get_item p50 / p95 (n={len(raw_samples)})", f"{raw_p50:8.2f} ms / {raw_p95:.2f} ms"),
            (f"GET /product via gateway, plain HTTP client p50 (n={len(plain_samples)})",
             f"{plain_p50:8.2f} ms   (raw get_item in the same run: {plain_raw_p50:.2f} ms)"),
            (
                "gateway overhead over raw get_item, p50 (difference)",
                against(plain_p50 - plain_raw_p50, GATEWAY_OVERHEAD_TARGET_MS, "ms", 2),
            ),
            ("  the same with requests as the client (its own cost included)", f"{gateway_p50 - raw_p50:8.2f} ms"),
            ("gateway / raw get_item, p50", against(ratio, GATEWAY_RATIO_TARGET, "x", 2)),
            ("gateway (requests) / raw get_item, p95", f"{gateway_p95 / raw_p95:8.2f}x"),
            (f"get_item as the function's role (IAM checked) p50 (n={len(checked_samples)})", f"{checked_p50:8.2f} ms"),
            (f"get_item as root (no policy check) p50 (n={len(unchecked_samples)})", f"{unchecked_p50:8.2f} ms"),
            ("role / root get_item, p50 difference (HTTP, noisy)", f"{iam_cost_ms:8.2f} ms"),
            (
                f"IAM policy check per call, in-process p50 (n={count})",
                against(gate_ms, IAM_CHECK_TARGET_MS, "ms", 3),
            ),
            (f"requests/s via gateway, {clients} clients", f"{gateway_rps:8.0f}"),
            (f"requests/s raw get_item, {clients} clients", f"{raw_rps:8.0f}"),
            ("gateway / raw requests/s", f"{gateway_rps / raw_rps:8.2f}x"),
            *snapshot_rows,
            *endpoint_server_comparison(count),  # two more local clouds, stopped on return
            ("load average (1 min) before / after", f"{load_before:>8} / {load_average()}"),
        ]
    except KeyboardInterrupt:
        print("interrupted: stopping the local cloud", file=sys.stderr)
        return 130
    finally:
        lifecycle.stop(state_dir)
        shutil.rmtree(state_dir, ignore_errors=True)
    width = max(len(label) for label, _ in rows)
    print(f"Local cloud benchmark ({info.endpoint}, gateway {info.gateway}, {os.cpu_count()} CPUs)")
    print("-" * (width + 30))
    for label, value in rows:
        print(f"{label:<{width}}  {value}")
    verdicts = [value for _, value in rows if value.endswith((": met)", ": NOT met)"))]
    missed = sum(value.endswith(": NOT met)") for value in verdicts)
    print(f"targets met: {len(verdicts) - missed} of {len(verdicts)} (every figure is from this one run)")
    return 0


# -- the AWS endpoint's HTTP server: waitress against werkzeug ----------------------------------


def endpoint_server_comparison(count: int) -> list[tuple[str, str]]:
    """Raw boto3 ``get_item`` p50 on two more local clouds, one per endpoint server.

    Each runs in its own process (free ports, a temporary state folder), started with
    ``WORKSHOP_ENDPOINT_SERVER`` naming its server (workshop/localcloud/http_servers.py), with
    a one-item table; both are warmed up alike, then measured in alternating blocks
    (``interleaved``) with the same number of samples. The target: the faster one is
    ``config.DEFAULT_ENDPOINT_SERVER``. Both clouds are stopped whatever happens (an error,
    Ctrl-C, or SIGTERM, which ``main`` turns into KeyboardInterrupt).
    """
    import boto3
    import requests

    from workshop.localcloud import config

    kinds = config.ENDPOINT_SERVERS
    state_dirs = {kind: tempfile.mkdtemp(prefix=f"workshop-bench-{kind}-") for kind in kinds}
    calls: dict[str, Callable[[], object]] = {}
    saved = os.environ.get(config.ENDPOINT_SERVER_ENV)
    try:
        for kind in kinds:
            os.environ[config.ENDPOINT_SERVER_ENV] = kind
            try:
                info = lifecycle.start(endpoint_port=0, gateway_port=0, state_dir=state_dirs[kind])
            finally:
                if saved is None:
                    os.environ.pop(config.ENDPOINT_SERVER_ENV, None)
                else:
                    os.environ[config.ENDPOINT_SERVER_ENV] = saved
            serving = requests.get(f"{info.endpoint}/_localcloud/health", timeout=10).json().get("endpoint_server")
            if serving != kind:
                raise RuntimeError(f"asked for a {kind} endpoint, got {serving!r}")
            dynamodb = boto3.session.Session(region_name=LOCAL_REGION).client("dynamodb", endpoint_url=info.endpoint)
            dynamodb.create_table(
                TableName=TABLE, BillingMode="PAY_PER_REQUEST",
                KeySchema=[{"AttributeName": "productId", "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": "productId", "AttributeType": "S"}])
            dynamodb.put_item(TableName=TABLE, Item={"productId": {"S": PRODUCT_ID}})

            def get(client=dynamodb) -> None:  # noqa: ANN001 - a boto3 client
                if "Item" not in client.get_item(TableName=TABLE, Key={"productId": {"S": PRODUCT_ID}}):
                    raise RuntimeError("get_item found nothing")

            calls[kind] = get
        first, second = kinds
        interleaved(calls[first], calls[second], 30)
        samples = dict(zip(kinds, interleaved(calls[first], calls[second], count), strict=True))
    finally:
        for state_dir in state_dirs.values():
            try:
                lifecycle.stop(state_dir)
            finally:
                shutil.rmtree(state_dir, ignore_errors=True)
    p50 = {kind: statistics.median(values) for kind, values in samples.items()}
    faster = min(p50, key=p50.get)
    met = faster == config.DEFAULT_ENDPOINT_SERVER
    return [(
        f"AWS endpoint get_item p50 (n={count} each)",
        f"waitress {p50['waitress']:.2f} ms / werkzeug {p50['werkzeug']:.2f} ms = "
        f"{p50['waitress'] / p50['werkzeug']:.2f}x   (faster server is the default "
        f"({config.DEFAULT_ENDPOINT_SERVER}): {'met' if met else 'NOT met'})",
    )]


# -- bench.py --load: mixed CRUD under concurrency ---------------------------------------------

LOAD_LEVELS = (1, 4, 16, 64)


def rss_mb(pid: int) -> float | None:
    """Resident memory of ``pid`` in MB (Linux /proc; macOS ``ps``); None when unknown."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    try:
        import subprocess

        answer = subprocess.run(["ps", "-o", "rss=", "-p", str(pid)], capture_output=True, text=True, timeout=5)  # noqa: S603 - the arguments are this repository's own, not user input
        return int(answer.stdout.strip()) / 1024
    except (OSError, ValueError):
        return None


def error_kind(error: BaseException | None, status: int | None, expected: int) -> str | None:
    """How a request failed, for the "errors by kind" column; None when it did not."""
    import requests

    if error is None:
        if status == expected:
            return None
        return f"HTTP {status}" if status is not None else "no answer"
    if isinstance(error, requests.exceptions.ConnectTimeout):
        return "connect timeout"
    if isinstance(error, requests.exceptions.ReadTimeout):
        return "read timeout"
    if isinstance(error, requests.exceptions.ConnectionError):
        return "connection error"
    return type(error).__name__


class CrudClient:
    """One client: POST, GET, PATCH, DELETE of its own products, in a loop, on its own
    keep-alive connection. Every request's latency and failure kind is recorded."""

    def __init__(self, base_url: str, number: int, timeout_s: float, new_connections: bool = False) -> None:
        import requests

        self.new_connections = new_connections

        self.http = requests.Session()
        self.url = f"{base_url}/product"
        self.prefix = f"load-{number}-{os.getpid()}"
        self.timeout_s = timeout_s
        self.latencies_ms: list[float] = []
        self.errors: dict[str, int] = {}
        self.count = 0

    def _call(self, method: str, expected: int, **kwargs: object) -> None:
        started = time.perf_counter()
        status, error = None, None
        try:
            status = self.http.request(method, self.url, timeout=self.timeout_s, **kwargs).status_code
        except Exception as raised:  # noqa: BLE001 - counted by kind
            error = raised
            self.http.close()  # a broken connection is not reused
        self.latencies_ms.append((time.perf_counter() - started) * 1000)
        if self.new_connections:
            self.http.close()  # the next request opens a new connection, as a burst of browsers would
        self.count += 1
        kind = error_kind(error, status, expected)
        if kind:
            self.errors[kind] = self.errors.get(kind, 0) + 1

    def run(self, stop_at: float) -> None:
        round_number = 0
        while time.monotonic() < stop_at:
            product_id = f"{self.prefix}-{round_number}"
            round_number += 1
            self._call("POST", 201, json={"productId": product_id, "name": "Load chair", "price": 19.99})
            self._call("GET", 200, params={"productId": product_id})
            self._call("PATCH", 200, json={"productId": product_id, "updateKey": "price", "updateValue": 17.5})
            self._call("DELETE", 200, json={"productId": product_id})


def load_level(
    base_url: str, clients: int, duration_s: float, timeout_s: float, new_connections: bool = False
) -> dict:
    """Run ``clients`` CRUD clients for ``duration_s`` seconds; throughput, p50/p99, errors."""
    workers = [CrudClient(base_url, number, timeout_s, new_connections) for number in range(clients)]
    barrier = threading.Barrier(clients + 1)
    stop_at = [0.0]

    def run(client: CrudClient) -> None:
        barrier.wait()
        client.run(stop_at[0])

    threads = [threading.Thread(target=run, args=(client,), daemon=True) for client in workers]
    for thread in threads:
        thread.start()
    stop_at[0] = time.monotonic() + duration_s
    started = time.perf_counter()
    barrier.wait()
    for thread in threads:
        thread.join(timeout=duration_s + timeout_s + 30)
    elapsed = time.perf_counter() - started
    latencies = [ms for client in workers for ms in client.latencies_ms]
    errors: dict[str, int] = {}
    for client in workers:
        for kind, count in client.errors.items():
            errors[kind] = errors.get(kind, 0) + count
        client.http.close()
    return {
        "clients": clients,
        "requests": len(latencies),
        "seconds": elapsed,
        "rps": len(latencies) / elapsed if elapsed else 0.0,
        "p50": statistics.median(latencies) if latencies else float("nan"),
        "p99": percentile(latencies, 0.99) if latencies else float("nan"),
        "errors": errors,
        "hung_clients": sum(thread.is_alive() for thread in threads),
    }


def run_load(
    levels: list[int], duration_s: float, warmup_s: float, timeout_s: float, new_connections: bool = False
) -> int:
    """``--load``: the reference stack on a local cloud of its own, mixed CRUD at each level."""
    use_local_credentials()
    os.environ["WORKSHOP_TARGET"] = "local"
    os.environ.setdefault("WORKSHOP_OWNER", "bench")
    state_dir = tempfile.mkdtemp(prefix="workshop-load-")
    os.environ["WORKSHOP_STATE_DIR"] = state_dir
    rows: list[dict] = []
    rss: list[tuple[str, float | None]] = []
    try:
        info = lifecycle.start(endpoint_port=0, gateway_port=0, state_dir=state_dir)
        os.environ["AWS_ENDPOINT_URL"] = info.endpoint
        from workshop.deploy import deploy

        stack = deploy(quiet=True)
        base_url = stack["api_url"]
        rss.append(("after start and deploy", rss_mb(info.pid)))
        # Warm-up: environments started, code paths loaded, log group at its working size.
        load_level(base_url, max(levels), warmup_s, timeout_s)
        rss.append(("after warm-up", rss_mb(info.pid)))
        for clients in levels:
            rows.append(load_level(base_url, clients, duration_s, timeout_s, new_connections))
            rss.append((f"after {clients} client(s)", rss_mb(info.pid)))
    except KeyboardInterrupt:
        print("interrupted: stopping the local cloud", file=sys.stderr)
        return 130
    finally:
        lifecycle.stop(state_dir)
        shutil.rmtree(state_dir, ignore_errors=True)
    connections = "a new connection per request" if new_connections else "keep-alive connections"
    print(f"Mixed CRUD load (POST, GET, PATCH, DELETE /product), {duration_s:g} s per level, {connections}, "
          f"{os.cpu_count()} CPUs, load average {load_average()}")
    print(f"{'clients':>7}  {'requests':>8}  {'req/s':>7}  {'p50 ms':>8}  {'p99 ms':>8}  errors by kind")
    for row in rows:
        errors = ", ".join(f"{kind}: {count}" for kind, count in sorted(row["errors"].items())) or "none"
        if row["hung_clients"]:
            errors += f"; {row['hung_clients']} client(s) still waiting at the end"
        print(f"{row['clients']:>7}  {row['requests']:>8}  {row['rps']:>7.1f}  {row['p50']:>8.1f}  "
              f"{row['p99']:>8.1f}  {errors}")
    connection_errors = sum(
        count for row in rows for kind, count in row["errors"].items() if "connect" in kind
    )
    print(f"connection errors, all levels: {connection_errors}")
    print("local cloud RSS:")
    for label, value in rss:
        print(f"  {label:<24} {'n/a' if value is None else f'{value:7.1f} MB'}")
    warm = dict(rss).get("after warm-up")
    last = rss[-1][1] if rss else None
    if warm is not None and last is not None:
        print(f"  growth after warm-up     {last - warm:+7.1f} MB   (target <= 20 MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
