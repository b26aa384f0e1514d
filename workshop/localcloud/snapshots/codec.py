"""moto's in-memory state to bytes and back: a pickle of every backend in use.

moto keeps each service's state in a module-level ``BackendDict`` (``dynamodb_backends``,
``lambda_backends``, ...): account -> region -> backend object. moto 5.2 lists the ones in use
in ``BackendDict._instances``. A snapshot is one pickle of ``{(module, name): {account: {region:
backend}}}`` for all of them, written by one pickler so that objects shared between services (a
function's reference to the logs backend) stay shared after a restore.

What plain pickle cannot do, and how it is handled (measured on moto 5.2.5):

- ``LambdaStorage._arns`` is a ``weakref.WeakValueDictionary``: pickled as its items, rebuilt weak.
- ``LambdaStorage._aliases`` is a ``defaultdict(lambda: {})``: a lambda cannot be pickled, so a
  default factory that is a lambda is replaced by the type of what it returns when that is an
  empty container (``dict``, ``list``, ...) or a ``defaultdict`` of one.
- locks are recreated unlocked.
- The ~1,000 AWS managed policies IAM loads at start (4 MB) are not stored while unattached:
  their names are, and they are rebuilt from moto's own data on restore. That keeps the pause
  short and a snapshot of the workshop's stack near 60 KB. An attached one is stored whole (it
  carries its attachment count).
- A ``BackendDict`` or per-account dict met inside a backend is stored as a reference to the
  live, module-level one.

A service whose backend still cannot be pickled is left out (named in the log and the header)
rather than losing every service's snapshot.
"""

from __future__ import annotations

import collections
import copyreg
import functools
import importlib
import io
import logging
import pickle
import sys
import threading
import types
import weakref
from typing import Any

log = logging.getLogger(__name__)

BackendKey = tuple[
    str, str
]  # (module name, attribute name), e.g. ("moto.dynamodb.models", "dynamodb_backends")
State = dict[BackendKey, dict[str, dict[str, Any]]]

PROTOCOL = 5
_EMPTY_CONTAINERS = (dict, list, set, frozenset, tuple, str, bytes, int, float, bool)


def moto_version() -> str:
    from importlib.metadata import version

    return version("moto")


# -- which backends ---------------------------------------------------------------------------------

_names: dict[int, BackendKey] = {}


def backends_in_use() -> dict[BackendKey, Any]:
    """Every moto ``BackendDict`` that holds at least one account, by its global name."""
    from moto.core.base_backend import BackendDict

    found: dict[BackendKey, Any] = {}
    for backend_dict in list(BackendDict._instances):  # noqa: SLF001 - moto's own registry
        key = global_name(backend_dict)
        if key is None:
            log.warning(
                "a moto backend (%s) has no global name: not in snapshots",
                backend_dict.service_name,
            )
            continue
        found[key] = backend_dict
    return found


def global_name(backend_dict: Any) -> BackendKey | None:
    """Where ``backend_dict`` lives: the module of its backend class, else any moto module."""
    cached = _names.get(id(backend_dict))
    if cached is not None and _resolve(cached) is backend_dict:
        return cached
    module_name = getattr(backend_dict.backend, "__module__", "")
    candidates = [module_name] + [name for name in list(sys.modules) if name.startswith("moto.")]
    for candidate in candidates:
        module = sys.modules.get(candidate)
        if module is None:
            continue
        for attribute, value in list(vars(module).items()):
            if value is backend_dict:
                _names[id(backend_dict)] = (candidate, attribute)
                return candidate, attribute
    return None


def _resolve(key: BackendKey) -> Any:
    module = importlib.import_module(key[0])
    return getattr(module, key[1])


def current_state(keys: list[BackendKey] | None = None) -> State:
    """Plain dicts of the live backends (no copy of the backends themselves)."""
    in_use = backends_in_use()
    state: State = {}
    for key, backend_dict in in_use.items():
        if keys is not None and key not in keys:
            continue
        state[key] = {account: dict(regions) for account, regions in list(backend_dict.items())}
    return state


# -- pickling ----------------------------------------------------------------------------------------


def _rebuild_weak_values(items: dict[Any, Any]) -> weakref.WeakValueDictionary[Any, Any]:
    return weakref.WeakValueDictionary(items)


def _rebuild_weak_keys(items: dict[Any, Any]) -> weakref.WeakKeyDictionary[Any, Any]:
    return weakref.WeakKeyDictionary(items)


def _factory_for(value: Any) -> Any:
    """A picklable callable that makes what a default factory made (``value``, fresh)."""
    if isinstance(value, collections.defaultdict) and not value:
        inner = value.default_factory
        if inner is None:
            return collections.defaultdict
        return functools.partial(collections.defaultdict, _picklable_factory(inner))
    if type(value) in _EMPTY_CONTAINERS and value == type(value)():
        return type(value)
    raise pickle.PicklingError(f"cannot store a defaultdict whose factory makes {value!r}")


def _picklable_factory(factory: Any) -> Any:
    if factory is None or getattr(factory, "__name__", "") != "<lambda>":
        return factory
    return _factory_for(factory())


def _reduce_defaultdict(value: collections.defaultdict[Any, Any]) -> Any:
    return (
        collections.defaultdict,
        (_picklable_factory(value.default_factory),),
        None,
        None,
        iter(value.items()),
    )


def _reduce_lock(value: Any) -> Any:
    return (threading.Lock, ())


def _reduce_rlock(value: Any) -> Any:
    return (threading.RLock, ())


# -- IAM: AWS managed policies are rebuilt from moto's data, not stored --------------------------

_PRISTINE_KEY = "_workshop_snapshot_pristine_aws_policies"
_policy_data: dict[str, Any] | None = None


def _is_pristine(policy: Any, aws_managed_policy: type) -> bool:
    """An AWS managed policy as moto loads it: attached nowhere (AWS's own cannot be edited)."""
    return type(policy) is aws_managed_policy and policy.attachment_count == 0


def _reduce_iam_backend(backend: Any) -> Any:
    from moto.iam.models import AWSManagedPolicy

    state = dict(vars(backend))
    aws_policies = state.get("aws_managed_policies", [])
    pristine = {p.name for p in aws_policies if _is_pristine(p, AWSManagedPolicy)}
    state["aws_managed_policies"] = [p for p in aws_policies if p.name not in pristine]
    state["managed_policies"] = {
        arn: policy
        for arn, policy in state.get("managed_policies", {}).items()
        if not (_is_pristine(policy, AWSManagedPolicy) and policy.name in pristine)
    }
    # Usually every policy of moto's data is loaded: then "all but the stored ones" says it in a
    # few bytes (an IAM backend exists per partition, ~1,000 names each).
    everything = set(_aws_policy_data())
    all_loaded = {p.name for p in aws_policies} == everything
    state[_PRISTINE_KEY] = True if all_loaded else sorted(pristine)
    return (_new_object, (type(backend),), state, None, None, _set_iam_backend_state)


def _aws_policy_data() -> dict[str, Any]:
    global _policy_data
    if _policy_data is None:
        import json

        from moto.iam.aws_managed_policies import aws_managed_policies_data

        _policy_data = json.loads(aws_managed_policies_data)
    return _policy_data


def _new_object(cls: type) -> Any:
    return cls.__new__(cls)


def _set_iam_backend_state(backend: Any, state: dict[str, Any]) -> None:
    """The stored state, plus fresh copies of the AWS managed policies left out of it."""
    from moto.iam.models import AWSManagedPolicy

    data = _aws_policy_data()
    pristine = state.pop(_PRISTINE_KEY, [])
    stored = {policy.name for policy in state["aws_managed_policies"]}
    names = [name for name in data if name not in stored] if pristine is True else pristine
    # The same call as IAMBackend._init_aws_policies, so the policies are as a fresh start has them.
    fresh = [
        AWSManagedPolicy.from_data(name, state["account_id"], state["region_name"], data[name])
        for name in names
        if name in data
    ]
    state["aws_managed_policies"] = list(state["aws_managed_policies"]) + fresh
    state["managed_policies"] = {**state["managed_policies"], **{p.arn: p for p in fresh}}
    backend.__dict__.update(state)


def _dispatch_table() -> dict[type, Any]:
    from moto.iam.models import IAMBackend

    table = copyreg.dispatch_table.copy()
    table[IAMBackend] = _reduce_iam_backend
    table[weakref.WeakValueDictionary] = lambda value: (_rebuild_weak_values, (dict(value),))
    table[weakref.WeakKeyDictionary] = lambda value: (_rebuild_weak_keys, (dict(value),))
    table[collections.defaultdict] = _reduce_defaultdict
    table[type(threading.Lock())] = _reduce_lock
    table[type(threading.RLock())] = _reduce_rlock
    return table


class _Pickler(pickle.Pickler):
    def __init__(self, stream: Any) -> None:
        super().__init__(stream, protocol=PROTOCOL)
        from moto.core.base_backend import AccountSpecificBackend, BackendDict

        self.dispatch_table = _dispatch_table()
        self._backend_dict = BackendDict
        self._account_backend = AccountSpecificBackend

    def persistent_id(self, obj: Any) -> Any:
        kind = type(obj)
        if kind is self._backend_dict:
            key = global_name(obj)
            return None if key is None else ("backend-dict", *key)
        if kind is self._account_backend:
            for key, backend_dict in backends_in_use().items():
                if backend_dict.get(obj.account_id) is obj:
                    return ("account-backends", *key, obj.account_id)
        return None


#: Modules a snapshot never needs and a crafted pickle would use to run a program.
_FORBIDDEN_MODULES = frozenset(
    {
        "os",
        "posix",
        "nt",
        "subprocess",
        "sys",
        "shutil",
        "socket",
        "importlib",
        "runpy",
        "code",
        "pty",
        "ctypes",
        "marshal",
        "pickle",
        "_pickle",
        "webbrowser",
        "multiprocessing",
        "signal",
    }
)
_FORBIDDEN_BUILTINS = frozenset(
    {
        "eval",
        "exec",
        "compile",
        "open",
        "__import__",
        "setattr",
        "delattr",
        "input",
        "breakpoint",
        "globals",
        "locals",
        "vars",
        "exit",
        "quit",
    }
)


class _Unpickler(pickle.Unpickler):
    """Resolves the references written by :class:`_Pickler`; refuses obviously dangerous names.

    The refusal list is a second line of defence only: the file was already checked to be the
    learner's own, written by the local cloud (:func:`fileformat.check_trusted`).
    """

    def find_class(self, module: str, name: str) -> Any:
        root = module.split(".")[0]
        if root in _FORBIDDEN_MODULES or (module == "builtins" and name in _FORBIDDEN_BUILTINS):
            raise pickle.UnpicklingError(f"a snapshot never refers to {module}.{name}")
        found = super().find_class(module, name)
        if isinstance(found, types.ModuleType):  # e.g. moto.core.utils.os
            raise pickle.UnpicklingError(f"a snapshot never refers to the module {module}.{name}")
        return found

    def persistent_load(self, pid: Any) -> Any:
        kind = pid[0]
        if kind == "backend-dict":
            return _resolve((pid[1], pid[2]))
        if kind == "account-backends":
            return _resolve((pid[1], pid[2]))[pid[3]]
        raise pickle.UnpicklingError(f"unknown reference {kind!r} in the snapshot")


def dumps(state: State) -> bytes:
    stream = io.BytesIO()
    _Pickler(stream).dump(state)
    return stream.getvalue()


def loads(payload: bytes) -> State:
    state = _Unpickler(io.BytesIO(payload)).load()
    if not isinstance(state, dict):
        raise pickle.UnpicklingError("the snapshot does not hold moto's backends")
    return state


def unpicklable(state: State) -> dict[BackendKey, str]:
    """The services that cannot be pickled on their own, with the reason (to leave them out)."""
    failures: dict[BackendKey, str] = {}
    for key, accounts in state.items():
        try:
            dumps({key: accounts})
        except Exception as error:  # noqa: BLE001 - any failure means "leave it out"
            failures[key] = f"{type(error).__name__}: {error}"
    return failures


# -- restoring ---------------------------------------------------------------------------------------


def install(state: State) -> None:
    """Put restored backends in moto's module-level dicts (before anything serves requests)."""
    for key, accounts in state.items():
        backend_dict = _resolve(key)
        for account_id, regions in accounts.items():
            account_backends = backend_dict[account_id]  # created if needed
            for region, backend in regions.items():
                dict.__setitem__(account_backends, region, backend)


def summary(state: State) -> dict[str, int]:
    """How many of the workshop's kinds of resources a state holds (for the restore message)."""
    counts = {"tables": 0, "items": 0, "functions": 0, "roles": 0, "rest_apis": 0, "log_groups": 0}
    for (module, _), accounts in state.items():
        for regions in accounts.values():
            for backend in regions.values():
                try:
                    _count(module, backend, counts)
                except Exception:  # noqa: BLE001 - a summary is only informative
                    log.debug("cannot count resources of %s", module, exc_info=True)
    return counts


def _count(module: str, backend: Any, counts: dict[str, int]) -> None:
    if module == "moto.dynamodb.models":
        for table in backend.tables.values():
            counts["tables"] += 1
            counts["items"] += len(table)
    elif module == "moto.awslambda.models":
        counts["functions"] += len(backend._lambdas._functions)  # noqa: SLF001
    elif module == "moto.iam.models":
        counts["roles"] += len(backend.roles)
    elif module == "moto.apigateway.models":
        counts["rest_apis"] += len(backend.apis)
    elif module == "moto.logs.models":
        counts["log_groups"] += len(backend.groups)
