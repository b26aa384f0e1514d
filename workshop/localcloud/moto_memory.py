"""Keep moto from holding every model object it ever created.

moto's ``BaseModel.__new__`` appends each new instance (every CloudWatch log event, every
DynamoDB item version, every API Gateway object...) to a class-level ``instances_tracked`` list,
for its ``/moto-api`` dashboard. Nothing ever removes them: a local cloud that serves a class
for a day would grow by a few KB per request, and trimming a log group would free nothing.
The local cloud does not serve that dashboard's data, so it stops the tracking.
"""

from __future__ import annotations

from typing import Any


def _untracked_new(cls: type, *args: Any, **kwargs: Any) -> Any:
    from moto.core.common_models import BaseModel

    return super(BaseModel, cls).__new__(cls)


def stop_tracking_model_instances() -> None:
    """Create moto model objects without keeping a reference to each (idempotent)."""
    from moto.core.common_models import BaseModel
    from moto.core.model_instances import reset_model_data

    BaseModel.__new__ = staticmethod(_untracked_new)  # type: ignore[assignment,method-assign]
    reset_model_data()  # drop what was tracked before
