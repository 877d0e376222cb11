"""``GET /containerLogs/{ns}/{pod}/{container}`` → the host pod's ``pods/log``, streamed.

Guarantees:

* The virtual pod is resolved by :class:`~syncer.kubelet.resolve.PodResolver`;
  no host twin → 404, and no request reaches the host.
* The container must be one of the virtual pod's spec (else 404, nothing
  reaches the host); only the kubelet's log parameters are forwarded
  (:mod:`syncer.kubelet.params`), with the container name.
* The body is passed on chunk by chunk as the host sends it (no buffering: a
  ``follow`` stream shows each line as soon as the host does), each write
  awaiting the client's drain.  It ends when the host ends it, when the client
  goes away (the server cancels the handler), or when the host connection
  breaks (the client's response then simply ends).
* A host answer other than 200 is passed on with its status and the host
  Status's message as the body (the virtual API server shows it to
  ``kubectl``); an unreachable host API server is a 503.
"""

from __future__ import annotations

from aiohttp import web

from syncer.kubelet.outcome import no_container, not_synced, outcome_of, status_message, text_error
from syncer.kubelet.params import Verb, host_params
from syncer.kubelet.resolve import PodResolver
from syncer.kubelet.upstream import HostPods, HostUnreachable

_MAX_ERROR_BODY = 2**16


async def serve_logs(
    request: web.Request, *, resolver: PodResolver, host: HostPods
) -> web.StreamResponse:
    """The handler; see the module docstring."""
    outcome = outcome_of(request)
    namespace, pod = request.match_info["namespace"], request.match_info["pod"]
    target = resolver.resolve(namespace=namespace, pod=pod)
    if target is None:
        return not_synced(namespace=namespace, pod=pod)
    container = request.match_info.get("container")
    if container is not None and container not in target.containers:
        return no_container(namespace=namespace, pod=pod, container=container)
    outcome.host_pod = target.name
    params = host_params(Verb.LOGS, query=request.query.items(), container=container)
    response = web.StreamResponse(status=200)
    try:
        async with host.stream(target, subresource=Verb.LOGS.subresource, params=params) as answer:
            if answer.status != 200:
                body = bytearray()
                async for chunk in answer.chunks:
                    body += chunk
                    if len(body) >= _MAX_ERROR_BODY:
                        break
                return text_error(answer.status, status_message(bytes(body)))
            response.content_type = "text/plain"
            await response.prepare(request)
            async for chunk in answer.chunks:
                try:
                    await response.write(chunk)
                except ConnectionError:
                    return response
                outcome.to_client += len(chunk)
    except HostUnreachable as exc:
        if response.prepared:
            return response
        return text_error(503, f"cannot reach the host API server: {exc}")
    await response.write_eof()
    return response
