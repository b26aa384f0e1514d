"""Realism inside moto: the few model methods where AWS's time shows, wrapped while installed.

In the style of :mod:`workshop.localcloud.moto_seam`: each wrapper asks the state machines of
:mod:`.states` and then calls moto's own method; :func:`uninstall` puts every original back, so
a test process that uses ``mock_aws`` elsewhere is unaffected.

What AWS answers, and where that is recorded:

- IAM -> Lambda: a role just created, or whose trust policy just changed, "cannot be assumed by
  Lambda" for a few seconds: CreateFunction (and UpdateFunctionConfiguration naming that role)
  fails with InvalidParameterValueException "The role defined for the function cannot be
  assumed by Lambda." (the message moto and AWS give for a role Lambda cannot assume).
- Lambda: CreateFunction answers ``State: Pending``, ``StateReason: "The function is being
  created."``, ``StateReasonCode: Creating`` and no LastUpdateStatus; updates answer
  ``LastUpdateStatus: InProgress`` with ``LastUpdateStatusReason: "The function is being
  created."`` and ``LastUpdateStatusReasonCode: Creating``; GetFunction later reads Active /
  Successful without reasons (localstack/localstack
  tests/aws/services/lambda_/test_lambda_api.snapshot.json, key
  ``TestLambdaFunction::test_function_lifecycle``, aws.validated). Invoking a Pending function:
  409 ResourceConflictException "The operation cannot be performed at this time. The function
  is currently in the following state: Pending" (Lambda developer guide, "Troubleshoot
  invocation issues"). A second update while one is InProgress: 409 ResourceConflictException
  "The operation cannot be performed at this time. An update is in progress for resource:
  <function ARN>". Invoking during an update is allowed and runs what the function was before
  it: "While a function update is in progress, invocations go to the function's previous code
  and configuration." (Lambda developer guide, "Lambda function states", "Function states while
  updating"); the update wrapper captures the runtime's configuration before moto applies the
  update and the runtime asks :func:`previous_configuration`.
- DynamoDB: CreateTable answers CREATING; item calls on a table that is not ACTIVE fail with
  ResourceNotFoundException ("The operation tried to access a nonexistent table or index. The
  resource might not be specified correctly, or its status might not be ACTIVE.", DynamoDB API
  reference, common errors of GetItem/PutItem/...). DeleteTable answers DELETING; describing
  the table reads DELETING until it is gone; deleting a CREATING table is a
  ResourceInUseException, deleting a DELETING one is no error (API reference, DeleteTable).
  The wording of the two ResourceInUseException messages (a CREATING table deleted, a
  DELETING table's name created again) is not recorded anywhere we could find; the codes are.
  AWS "might continue to accept" item calls on a DELETING table; here they fail at once, so
  code that relies on it fails locally first.
- CloudWatch Logs: GetLogEvents and FilterLogEvents show an event only some seconds after it
  was ingested.
"""

from __future__ import annotations

import functools
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from workshop.localcloud.realism.clock import Clock
from workshop.localcloud.realism.states import (
    CREATING,
    DELETING,
    IN_PROGRESS,
    PENDING,
    FunctionStates,
    LogVisibility,
    RolePropagation,
    TableStates,
)

ROLE_NOT_ASSUMABLE = "The role defined for the function cannot be assumed by Lambda."
FUNCTION_REASON = "The function is being created."
FUNCTION_REASON_CODE = "Creating"
TABLE_NOT_ACTIVE = "Requested resource not found"

#: DynamoDB operations that read or write items: refused unless every table they name is ACTIVE.
ITEM_ACTIONS = (
    "get_item",
    "put_item",
    "update_item",
    "delete_item",
    "query",
    "scan",
    "batch_get_item",
    "batch_write_item",
    "transact_get_items",
    "transact_write_items",
)


@dataclass
class Realism:
    """The clock and every state machine, shared by all wrappers."""

    clock: Clock

    def __post_init__(self) -> None:
        self.roles = RolePropagation(self.clock)
        self.functions = FunctionStates(self.clock)
        self.tables = TableStates(self.clock)
        self.logs = LogVisibility(self.clock)
        self._seen: Counter[str] = Counter()
        self._seen_lock = threading.Lock()

    def saw(self, what: str, count: int = 1) -> None:
        """Count an answer only AWS's time gives (a refusal, a state that is not final), so a
        run can tell that it met them: ``observed()`` in the health answer."""
        if count:
            with self._seen_lock:
                self._seen[what] += count

    def observed(self) -> dict[str, int]:
        with self._seen_lock:
            return dict(self._seen)


_lock = threading.Lock()
_active: Realism | None = None
_originals: list[tuple[Any, str, Any]] = []


def active() -> Realism | None:
    return _active


def install(realism: Realism) -> None:
    """Wrap moto's methods (once) and make ``realism`` the state they consult."""
    global _active
    with _lock:
        _active = realism
        if _originals:
            return
        for owner, name, make in _wrappers():
            original = getattr(owner, name)
            _originals.append((owner, name, original))
            setattr(owner, name, make(original))


def uninstall() -> None:
    global _active
    with _lock:
        while _originals:
            owner, name, original = _originals.pop()
            setattr(owner, name, original)
        _active = None


def _wrappers() -> list[tuple[Any, str, Callable[[Any], Any]]]:
    from moto.awslambda.models import LambdaBackend, LambdaFunction
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table
    from moto.dynamodb.responses import DynamoHandler
    from moto.iam.models import IAMBackend
    from moto.logs.models import LogStream

    wrappers: list[tuple[Any, str, Callable[[Any], Any]]] = [
        (IAMBackend, "create_role", _iam_create_role),
        (IAMBackend, "update_assume_role_policy", _iam_update_assume_role_policy),
        (IAMBackend, "delete_role", _iam_delete_role),
        (LambdaBackend, "create_function", _lambda_create_function),
        (LambdaBackend, "update_function_code", _lambda_update("code")),
        (LambdaBackend, "update_function_configuration", _lambda_update("configuration")),
        (LambdaBackend, "invoke", _lambda_invoke),
        (LambdaBackend, "publish_version", _lambda_publish_version),
        (LambdaBackend, "delete_function", _lambda_delete_function),
        (LambdaFunction, "get_configuration", _lambda_get_configuration),
        (DynamoDBBackend, "create_table", _ddb_create_table),
        (DynamoDBBackend, "delete_table", _ddb_delete_table),
        (DynamoDBBackend, "describe_table", _ddb_describe_table),
        (Table, "describe", _ddb_table_describe),
        (LogStream, "get_log_events", _logs_visible_only),
        (LogStream, "filter_log_events", _logs_visible_only),
    ]
    wrappers += [(DynamoHandler, action, _ddb_item_action) for action in ITEM_ACTIONS]
    return wrappers


def _realism() -> Realism | None:
    return _active


# -- IAM ----------------------------------------------------------------------------------------


def _iam_create_role(original: Any) -> Any:
    @functools.wraps(original)
    def create_role(backend: Any, role_name: str, *args: Any, **kwargs: Any) -> Any:
        role = original(backend, role_name, *args, **kwargs)
        if (realism := _realism()) is not None:
            realism.roles.changed(backend.account_id, role_name)
        return role

    return create_role


def _iam_update_assume_role_policy(original: Any) -> Any:
    @functools.wraps(original)
    def update_assume_role_policy(backend: Any, role_name: str, *args: Any, **kwargs: Any) -> Any:
        result = original(backend, role_name, *args, **kwargs)
        if (realism := _realism()) is not None:
            realism.roles.changed(backend.account_id, role_name)
        return result

    return update_assume_role_policy


def _iam_delete_role(original: Any) -> Any:
    @functools.wraps(original)
    def delete_role(backend: Any, role_name: str, *args: Any, **kwargs: Any) -> Any:
        result = original(backend, role_name, *args, **kwargs)
        if (realism := _realism()) is not None:
            realism.roles.forget(backend.account_id, role_name)
        return result

    return delete_role


# -- Lambda -------------------------------------------------------------------------------------


def _function_key(fn: Any) -> str:
    return f"{fn.account_id}:{fn.region}:{fn.function_name}"


def _unqualified_arn(fn: Any) -> str:
    return f"arn:aws:lambda:{fn.region}:{fn.account_id}:function:{fn.function_name}"


def _conflict(message: str) -> Exception:
    from moto.awslambda.exceptions import LambdaClientError

    error = LambdaClientError("ResourceConflictException", message)
    error.code = 409
    return error


def _check_role(realism: Realism, account: str, role_arn: Any) -> None:
    from moto.awslambda.exceptions import InvalidParameterValueException

    if not isinstance(role_arn, str) or ":role/" not in role_arn:
        return  # moto's own validation answers a malformed ARN
    role_account = role_arn.split(":")[4] if role_arn.count(":") >= 5 else account
    role_name = role_arn.rsplit("/", 1)[-1]
    if not realism.roles.assumable(role_account or account, role_name):
        realism.saw("role not yet assumable")
        raise InvalidParameterValueException(ROLE_NOT_ASSUMABLE)


def _lambda_create_function(original: Any) -> Any:
    @functools.wraps(original)
    def create_function(backend: Any, spec: dict[str, Any]) -> Any:
        realism = _realism()
        if realism is not None:
            _check_role(realism, backend.account_id, spec.get("Role"))
        fn = original(backend, spec)
        if realism is not None:
            realism.functions.created(_function_key(fn))
        return fn

    return create_function


def _lambda_update(kind: str) -> Callable[[Any], Any]:
    def wrap(original: Any) -> Any:
        @functools.wraps(original)
        def update(backend: Any, function_name: str, qualifier: Any, body: dict[str, Any]) -> Any:
            realism = _realism()
            if realism is None:
                return original(backend, function_name, qualifier, body)
            try:
                fn = backend.get_function(function_name, qualifier)
            except Exception:  # noqa: BLE001 - moto's own call answers an unknown function
                return original(backend, function_name, qualifier, body)
            key = _function_key(fn)
            _refuse_unless_settled(realism, fn)
            if kind == "configuration" and "Role" in body:
                _check_role(realism, backend.account_id, body.get("Role"))
            if kind == "code" and body.get("DryRun"):
                return original(backend, function_name, qualifier, body)
            previous = realism.functions.update_deadline(key)
            # Captured before moto changes the function: what invocations run until the update
            # is over ("invocations go to the function's previous code and configuration").
            realism.functions.update_started(key, _serving_configuration(fn))
            _inside_update.active = True  # UpdateFunctionCode(Publish=True) publishes itself
            try:
                # A refused update changes nothing (rules.lambda_updates, wrapped inside this
                # one, puts back what moto had applied before refusing).
                return original(backend, function_name, qualifier, body)
            except BaseException:
                realism.functions.update_undone(key, previous)
                raise
            finally:
                _inside_update.active = False

        return update

    return wrap


_inside_update = threading.local()


def _serving_configuration(fn: Any) -> Any:
    """What the Lambda runtime runs for ``fn`` now (its code, handler, environment variables,
    timeout, memory and role), frozen: moto replaces them in place when the update applies."""
    from workshop.localcloud.runtime import FunctionConfig

    return FunctionConfig.from_moto(fn, keep_code=True)


def previous_configuration(fn: Any, *, invocation: bool = True) -> Any:
    """While an update of ``fn`` ($LATEST) is InProgress: the configuration it had before, which
    invocations still run; None otherwise (and always when realism is off). Published versions
    never change, so they never have one. ``invocation``: count it as an invocation served so
    (``observed()``)."""
    realism = _realism()
    if realism is None or str(getattr(fn, "version", "$LATEST")) != "$LATEST":
        return None
    try:
        key = _function_key(fn)
    except AttributeError:
        return None
    previous = realism.functions.previous(key)
    if previous is not None and invocation:
        realism.saw("invoked during an update: previous code and configuration")
    return previous


def _lambda_publish_version(original: Any) -> Any:
    """PublishVersion while the function is Pending or an update is InProgress: the conflict
    deployment scripts meet most ("An update is in progress for resource: ...")."""

    @functools.wraps(original)
    def publish_version(backend: Any, function_name: str, *args: Any, **kwargs: Any) -> Any:
        realism = _realism()
        if realism is not None and not getattr(_inside_update, "active", False):
            try:
                fn = backend.get_function(function_name, None)
            except Exception:  # noqa: BLE001 - moto's own call answers an unknown function
                fn = None
            if fn is not None:
                _refuse_unless_settled(realism, fn)
        return original(backend, function_name, *args, **kwargs)

    return publish_version


def _refuse_unless_settled(realism: Realism, fn: Any) -> None:
    key = _function_key(fn)
    if realism.functions.state(key) == PENDING:
        realism.saw("function change refused: Pending")
        raise _conflict(
            "The operation cannot be performed at this time. "
            f"The function is currently in the following state: {PENDING}"
        )
    if realism.functions.last_update_status(key) == IN_PROGRESS:
        realism.saw("function change refused: update in progress")
        raise _conflict(
            "The operation cannot be performed at this time. "
            f"An update is in progress for resource: {_unqualified_arn(fn)}"
        )


def _lambda_invoke(original: Any) -> Any:
    @functools.wraps(original)
    def invoke(backend: Any, function_name: str, qualifier: Any, *args: Any, **kwargs: Any) -> Any:
        realism = _realism()
        try:
            fn = backend.get_function(function_name, qualifier) if realism is not None else None
        except Exception:  # noqa: BLE001 - moto's own call answers an unknown function
            fn = None
        if realism is not None and fn is not None:
            # Only a Pending function refuses invocations; during an update the previous
            # code and configuration keep answering (the runtime asks previous_configuration).
            if realism.functions.state(_function_key(fn)) == PENDING:
                realism.saw("invoke refused: Pending")
                raise _conflict(
                    "The operation cannot be performed at this time. "
                    f"The function is currently in the following state: {PENDING}"
                )
        return original(backend, function_name, qualifier, *args, **kwargs)

    return invoke


def _lambda_delete_function(original: Any) -> Any:
    @functools.wraps(original)
    def delete_function(backend: Any, function_name: str, qualifier: Any = None) -> Any:
        realism = _realism()
        key = None
        if realism is not None and not qualifier:
            try:
                key = _function_key(backend.get_function(function_name, None))
            except Exception:  # noqa: BLE001 - moto's own call below answers "not found"
                key = None
        result = original(backend, function_name, qualifier)
        if realism is not None and key is not None:
            realism.functions.forget(key)
        return result

    return delete_function


def _lambda_get_configuration(original: Any) -> Any:
    @functools.wraps(original)
    def get_configuration(fn: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        config = original(fn, *args, **kwargs)
        realism = _realism()
        if realism is None or str(getattr(fn, "version", "$LATEST")) != "$LATEST":
            return config
        key = _function_key(fn)
        state = realism.functions.state(key)
        config["State"] = state
        for field in (
            "StateReason",
            "StateReasonCode",
            "LastUpdateStatusReason",
            "LastUpdateStatusReasonCode",
        ):
            config.pop(field, None)
        if state == PENDING:
            realism.saw("function read as Pending")
            config["StateReason"] = FUNCTION_REASON
            config["StateReasonCode"] = FUNCTION_REASON_CODE
            config.pop("LastUpdateStatus", None)
            return config
        status = realism.functions.last_update_status(key)
        if "LastUpdateStatus" in config or status == IN_PROGRESS:
            config["LastUpdateStatus"] = status
        if status == IN_PROGRESS:
            realism.saw("function read as InProgress")
            config["LastUpdateStatusReason"] = FUNCTION_REASON
            config["LastUpdateStatusReasonCode"] = FUNCTION_REASON_CODE
        return config

    return get_configuration


# -- DynamoDB -----------------------------------------------------------------------------------


def _table_key(backend: Any, name: str) -> tuple[str, str, str]:
    if name.startswith("arn:") and "/" in name:
        name = name.rsplit("/", 1)[-1]
    return backend.account_id, backend.region_name, name


def _ddb_create_table(original: Any) -> Any:
    @functools.wraps(original)
    def create_table(backend: Any, name: str, **kwargs: Any) -> Any:
        realism = _realism()
        if realism is not None and realism.tables.ghost(_table_key(backend, name)) is not None:
            from moto.dynamodb.exceptions import ResourceInUseException

            raise ResourceInUseException(f"Table is being deleted: {name}")
        table = original(backend, name, **kwargs)
        if realism is not None:
            realism.tables.created(_table_key(backend, name))
        return table

    return create_table


class _DeletingTable:
    """What DeleteTable answers for a table already DELETING: its description, no error."""

    def __init__(self, description: dict[str, Any]) -> None:
        self._description = description

    def describe(self, base_key: str = "TableDescription") -> dict[str, Any]:
        return {base_key: self._description}


def _ddb_delete_table(original: Any) -> Any:
    @functools.wraps(original)
    def delete_table(backend: Any, name: str) -> Any:
        realism = _realism()
        if realism is None:
            return original(backend, name)
        key = _table_key(backend, name)
        ghost = realism.tables.ghost(key)
        if ghost is not None:
            return _DeletingTable(ghost)
        if key in _existing_table_keys(backend) and realism.tables.status(key) == CREATING:
            from moto.dynamodb.exceptions import ResourceInUseException

            raise ResourceInUseException(
                f"Attempt to change a resource which is still in use: Table is being created: {key[2]}"
            )
        table = original(backend, name)
        realism.tables.deleting(key, table.describe(base_key="Table")["Table"])
        return table

    return delete_table


def _existing_table_keys(backend: Any) -> set[tuple[str, str, str]]:
    return {(backend.account_id, backend.region_name, name) for name in list(backend.tables)}


def _ddb_describe_table(original: Any) -> Any:
    @functools.wraps(original)
    def describe_table(backend: Any, name: str) -> Any:
        realism = _realism()
        if realism is not None:
            ghost = realism.tables.ghost(_table_key(backend, name))
            if ghost is not None:
                realism.saw("table read as DELETING")
                return {"Table": ghost}
        return original(backend, name)

    return describe_table


def _ddb_table_describe(original: Any) -> Any:
    @functools.wraps(original)
    def describe(table: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        result = original(table, *args, **kwargs)
        realism = _realism()
        if realism is None:
            return result
        status = realism.tables.status((table.account_id, table.region_name, table.name))
        if status != "ACTIVE":
            realism.saw(f"table read as {status}")
        for description in result.values():
            if isinstance(description, dict) and "TableStatus" in description:
                description["TableStatus"] = status
        return result

    return describe


def _item_tables(params: dict[str, Any]) -> list[str]:
    """Every table an item operation names (single-table, batch and transaction shapes)."""
    names: list[str] = []
    if isinstance(params.get("TableName"), str):
        names.append(params["TableName"])
    request_items = params.get("RequestItems")
    if isinstance(request_items, dict):
        names += [name for name in request_items if isinstance(name, str)]
    for item in params.get("TransactItems") or []:
        if isinstance(item, dict):
            for operation in item.values():
                if isinstance(operation, dict) and isinstance(operation.get("TableName"), str):
                    names.append(operation["TableName"])
    return names


def _ddb_item_action(original: Any) -> Any:
    @functools.wraps(original)
    def action(handler: Any, *args: Any, **kwargs: Any) -> Any:
        realism = _realism()
        if realism is not None:
            params = handler.body if isinstance(handler.body, dict) else {}
            backend = handler.dynamodb_backend
            for name in _item_tables(params):
                key = _table_key(backend, name)
                if realism.tables.status(key) in (CREATING, DELETING):
                    realism.saw("item call refused: table not ACTIVE")
                    from moto.dynamodb.exceptions import ResourceNotFoundException

                    raise ResourceNotFoundException(TABLE_NOT_ACTIVE)
        return original(handler, *args, **kwargs)

    return action


# -- CloudWatch Logs ----------------------------------------------------------------------------


class _VisibleEvents:
    """A log stream as the reader sees it: only the events visible by now."""

    def __init__(self, stream: Any, events: list[Any]) -> None:
        self._stream = stream
        self.events = events

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _logs_visible_only(original: Any) -> Any:
    @functools.wraps(original)
    def read(stream: Any, *args: Any, **kwargs: Any) -> Any:
        realism = _realism()
        if realism is None:
            return original(stream, *args, **kwargs)
        events = [event for event in list(stream.events) if realism.logs.visible(event.ingestion_time)]
        realism.saw("log events not yet visible", len(stream.events) - len(events))
        return original(_VisibleEvents(stream, events), *args, **kwargs)

    return read
