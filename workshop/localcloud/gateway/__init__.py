"""The local execute-api gateway: API Gateway REST APIs stored in moto, served over HTTP.

For the process that hosts moto (it reads moto's in-process backends)::

    from workshop.localcloud.gateway import make_gateway_server

    server = make_gateway_server("127.0.0.1", 0, invoker, account_id="123456789012",
                                 region="us-east-1")
    server.serve_in_background()          # or: threading.Thread(target=server.serve_forever)
    print(server.url)                     # http://127.0.0.1:PORT ; + /{api_id}/{stage}/health
    ...
    server.shutdown(); server.server_close()

``invoker`` is any :class:`workshop.localcloud.invoke.FunctionInvoker`. Without sockets (tests):
``ExecuteApiGateway(invoker).handle(GatewayRequest.from_target("GET", "/abc/prod/health"))``.

Modules, in pipeline order: :mod:`.routes` (route matcher), :mod:`.events` (v1 proxy event),
:mod:`.access` (who may call: :mod:`.authorizers` for Lambda authorizers, :mod:`.api_keys` and
:mod:`.usage_plans` for API keys, throttle and quota, :mod:`.access_errors` for the refusals),
:mod:`.permissions` (Lambda resource policy), :mod:`.mock` (MOCK integrations),
:mod:`.responses` (proxy response mapping, gateway errors), :mod:`.core` (the pipeline),
:mod:`.server` (the HTTP front).
"""

from workshop.localcloud.gateway.core import ExecuteApiGateway
from workshop.localcloud.gateway.messages import GatewayRequest, GatewayResponse
from workshop.localcloud.gateway.server import GatewayHTTPServer, make_gateway_server

__all__ = [
    "ExecuteApiGateway",
    "GatewayHTTPServer",
    "GatewayRequest",
    "GatewayResponse",
    "make_gateway_server",
]
