"""A refused Lambda update changes nothing, as on AWS.

moto applies UpdateFunctionConfiguration's settings one after the other and may refuse a later
one (an unknown layer, say) after it has already set the earlier ones (the environment
variables): the caller gets the error, yet the function runs with half of the update. AWS
validates the request first and changes nothing when it refuses it ("The function's
configuration is not updated" is the documented outcome of a failed request: the API answers an
error and GetFunctionConfiguration still shows the previous values). Here the fields an update
may change are copied before moto's update and put back when it raises.

Realism mode (workshop/localcloud/realism) wraps the same two methods on top of this one, for
its InProgress/Successful states; it relies on this module to undo a refused update.
"""

from __future__ import annotations

import copy
import functools
from typing import Any

#: What moto's LambdaFunction.update_configuration and update_function_code assign.
UPDATED_FIELDS = (
    "description", "handler", "memory_size", "role", "run_time", "timeout", "_vpc_config",
    "environment_vars", "layers", "code", "code_bytes", "code_size", "code_sha_256", "code_digest",
)

_saved: dict[str, Any] = {}


def update_fields(fn: Any) -> dict[str, Any]:
    """The fields an update may change, copied one level deep (moto edits ``code`` in place)."""
    return {name: copy.copy(getattr(fn, name)) for name in UPDATED_FIELDS if hasattr(fn, name)}


def put_back(fn: Any, fields: dict[str, Any]) -> None:
    """Restore what :func:`update_fields` copied."""
    for name, value in fields.items():
        setattr(fn, name, value)


def _all_or_nothing(original: Any) -> Any:
    @functools.wraps(original)
    def update(backend: Any, function_name: str, qualifier: Any, body: dict[str, Any]) -> Any:
        try:
            fn = backend.get_function(function_name, qualifier)
        except Exception:  # noqa: BLE001 - moto's own call answers an unknown function
            return original(backend, function_name, qualifier, body)
        before = update_fields(fn)
        try:
            return original(backend, function_name, qualifier, body)
        except BaseException:
            put_back(fn, before)
            raise

    return update


def install() -> None:
    """Wrap moto's two update methods (idempotent)."""
    from moto.awslambda.models import LambdaBackend

    if _saved:
        return
    for name in ("update_function_configuration", "update_function_code"):
        _saved[name] = getattr(LambdaBackend, name)
        setattr(LambdaBackend, name, _all_or_nothing(_saved[name]))


def uninstall() -> None:
    from moto.awslambda.models import LambdaBackend

    for name, original in _saved.items():
        setattr(LambdaBackend, name, original)
    _saved.clear()
