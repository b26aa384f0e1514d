"""The local cloud: moto's AWS control planes plus what moto lacks, in one process on 127.0.0.1.

- :mod:`workshop.localcloud.lifecycle` starts, finds and stops it (``ensure_running()``).
- :mod:`workshop.localcloud.server` is the process itself: moto's server, the Lambda runtime
  (:mod:`workshop.localcloud.runtime`) plugged into moto's invoke path, CloudWatch Logs output,
  and the execute-api gateway (:mod:`workshop.localcloud.gateway`).
- :mod:`workshop.localcloud.invoke` is the contract between the gateway and the runtime.
- Hardening: :mod:`~workshop.localcloud.http_guard` (Host check, no CORS on the AWS endpoint,
  strict request framing), :mod:`~workshop.localcloud.process_tree` (an execution environment
  ends with every process it started), :mod:`~workshop.localcloud.moto_memory` and the caps in
  :mod:`~workshop.localcloud.cloudwatch` (bounded memory).

Nothing is imported here: the worker processes and the CLI must start fast.
"""
