"""Copy a REST API method by method, leaving some methods out: a broken twin for the CORS test.

The browser test needs the workshop API *without* CORS, and must not break the shared stack the
other tests use. Rather than removing the OPTIONS method from the real API and putting it back
(a failed test in between would leave it broken), the test copies the API into a second one
without ``OPTIONS /product``, deploys that, and deletes it afterwards. Everything else — the
Lambda proxy integrations, the other OPTIONS mocks — is the same, so the only difference the
browser sees is the missing preflight answer.
"""

from __future__ import annotations

from typing import Any

# The fields of get_method / get_integration answers that put_* accept back unchanged.
_METHOD_FIELDS = ("authorizationType", "apiKeyRequired", "requestParameters", "requestModels")
_INTEGRATION_FIELDS = (
    "type",
    "uri",
    "requestParameters",
    "requestTemplates",
    "passthroughBehavior",
    "contentHandling",
    "timeoutInMillis",
    "cacheKeyParameters",
)
_INTEGRATION_RESPONSE_FIELDS = (
    "selectionPattern",
    "responseParameters",
    "responseTemplates",
    "contentHandling",
)


def _pick(source: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    return {key: source[key] for key in fields if source.get(key) not in (None, {}, [])}


def copy_rest_api(
    client: Any,
    source_api_id: str,
    target_api_id: str,
    *,
    leave_out: set[tuple[str, str]] = frozenset(),  # type: ignore[assignment]
) -> None:
    """Give the empty API ``target_api_id`` the resources and methods of ``source_api_id``.

    ``leave_out`` holds ``(path, HTTP method)`` pairs not to copy, e.g.
    ``{("/product", "OPTIONS")}``. The caller creates, deploys and deletes the target API.
    """
    resources = [
        resource
        for page in client.get_paginator("get_resources").paginate(restApiId=source_api_id)
        for resource in page["items"]
    ]
    new_ids = {
        resource["path"]: resource["id"]
        for resource in client.get_resources(restApiId=target_api_id)["items"]
    }
    # Parents before children: a resource is created under its parent's new id.
    def depth(resource: dict[str, Any]) -> int:
        return 0 if resource["path"] == "/" else resource["path"].count("/")

    for resource in sorted(resources, key=depth):
        path = resource["path"]
        if path not in new_ids:
            parent_path = path.rsplit("/", 1)[0] or "/"
            new_ids[path] = client.create_resource(
                restApiId=target_api_id,
                parentId=new_ids[parent_path],
                pathPart=resource["pathPart"],
            )["id"]
        for http_method in resource.get("resourceMethods", {}):
            if (path, http_method) in leave_out:
                continue
            method = client.get_method(
                restApiId=source_api_id, resourceId=resource["id"], httpMethod=http_method
            )
            _copy_method(client, target_api_id, new_ids[path], http_method, method)


def _copy_method(
    client: Any, api_id: str, resource_id: str, http_method: str, method: dict[str, Any]
) -> None:
    where = {"restApiId": api_id, "resourceId": resource_id, "httpMethod": http_method}
    client.put_method(**where, **_pick(method, _METHOD_FIELDS))
    for status, response in (method.get("methodResponses") or {}).items():
        client.put_method_response(
            **where,
            statusCode=status,
            **_pick(response, ("responseParameters", "responseModels")),
        )
    integration = method.get("methodIntegration")
    if not integration:
        return
    settings = _pick(integration, _INTEGRATION_FIELDS)
    if integration.get("httpMethod"):
        # get_method calls the integration's own HTTP method "httpMethod" (POST for a Lambda
        # proxy); put_integration takes it as integrationHttpMethod.
        settings["integrationHttpMethod"] = integration["httpMethod"]
    client.put_integration(**where, **settings)
    for status, response in (integration.get("integrationResponses") or {}).items():
        client.put_integration_response(
            **where, statusCode=status, **_pick(response, _INTEGRATION_RESPONSE_FIELDS)
        )
