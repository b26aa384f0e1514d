"""Deployment snapshots: a stage serves what was deployed, not what was edited since.

On AWS, ``create_deployment`` freezes the API's resources, methods and integrations; a stage
serves its deployment until the next one. "I added OPTIONS but forgot to redeploy" is a classic
learner mistake that answers 403 on AWS. moto 5.2 keeps no such snapshot (a Deployment is just an
id and a stage name), so :func:`install_deployment_snapshots` wraps moto's
``RestAPI.create_deployment`` to copy the resource tree at that moment into the RestAPI object.
The route matcher serves a stage from its deployment's snapshot when there is one, and from the
current resources otherwise (deployments made before the hook was installed).

Lambda functions and their permissions are not part of a deployment, on AWS or here.
"""

from __future__ import annotations

import copy
import functools
import logging
import threading
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("workshop.localcloud.gateway")

#: Attribute on moto's RestAPI holding {deployment_id: DeployedApi}.
SNAPSHOT_ATTRIBUTE = "_workshop_deployment_snapshots"

_install_lock = threading.Lock()
_original_create_deployment: Any = None


@dataclass(frozen=True)
class DeployedResource:
    """A resource as it was deployed; shaped like moto's Resource where the gateway reads it."""

    id: str
    path: str
    resource_methods: dict[str, Any]  # method name -> a copy of moto's Method

    def get_path(self) -> str:
        return self.path


@dataclass(frozen=True)
class DeployedApi:
    resources: tuple[DeployedResource, ...]


def snapshot_resources(rest_api: Any) -> DeployedApi:
    """Copy ``rest_api``'s resources, methods and integrations as they are now."""
    resources = []
    for resource in list(rest_api.resources.values()):
        methods = {name: copy.deepcopy(method) for name, method in list(resource.resource_methods.items())}
        resources.append(DeployedResource(id=resource.id, path=resource.get_path(), resource_methods=methods))
    return DeployedApi(resources=tuple(resources))


def deployed_resources(rest_api: Any, deployment_id: str | None) -> list[Any]:
    """The resources a stage on ``deployment_id`` serves: the snapshot, else the current ones."""
    snapshots = getattr(rest_api, SNAPSHOT_ATTRIBUTE, None) or {}
    deployed = snapshots.get(deployment_id) if deployment_id else None
    if deployed is not None:
        return list(deployed.resources)
    return list(rest_api.resources.values())


def install_deployment_snapshots() -> bool:
    """Make every later moto ``create_deployment`` record a snapshot (idempotent, process-wide).

    Returns True when this call installed the hook, False when it was already installed.
    """
    global _original_create_deployment
    from moto.apigateway.models import RestAPI

    with _install_lock:
        if _original_create_deployment is not None:
            return False
        original = RestAPI.create_deployment

        @functools.wraps(original)
        def create_deployment(self: Any, *args: Any, **kwargs: Any) -> Any:
            deployment = original(self, *args, **kwargs)
            try:
                snapshots = self.__dict__.setdefault(SNAPSHOT_ATTRIBUTE, {})
                snapshots[deployment.id] = snapshot_resources(self)
            except Exception:  # never let the snapshot break moto's own API
                log.exception("could not snapshot deployment %s of API %s", deployment.id, self.id)
            return deployment

        _original_create_deployment = original
        RestAPI.create_deployment = create_deployment
        return True


def uninstall_deployment_snapshots() -> None:
    """Undo :func:`install_deployment_snapshots` (for tests)."""
    global _original_create_deployment
    from moto.apigateway.models import RestAPI

    with _install_lock:
        if _original_create_deployment is None:
            return
        RestAPI.create_deployment = _original_create_deployment
        _original_create_deployment = None
