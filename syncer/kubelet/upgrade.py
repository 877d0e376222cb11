"""``/exec``, ``/attach`` and ``/portForward`` → the host pod's subresource, relayed.

Guarantees:

* The request must ask for an upgrade (``Connection: Upgrade`` and an
  ``Upgrade`` header; SPDY/3.1 as API servers speak to kubelets, or WebSocket);
  otherwise 400.  The virtual pod is resolved first (no host twin → 404, and
  nothing reaches the host), then the container (exec and attach: one of the
  virtual pod's spec, else 404); the parameters are mapped by
  :mod:`syncer.kubelet.params`.
* The upgrade request goes to the host API server with the client's upgrade
  headers (every ``X-Stream-Protocol-Version`` offered) and the host
  kubeconfig's credentials (:class:`~syncer.kubelet.upstream.HostPods`).  A
  host answer other than 101 is passed on as it is (status, content type and
  body: the client decodes the host's Status from it); an unreachable host
  API server is a 503.
* On 101 the host's upgrade headers are answered with a 101 of our own and
  the two connections are spliced byte for byte (:func:`~syncer.kubelet.splice.splice`)
  until either side closes, or no byte has passed either way for
  ``idle_timeout`` seconds.

Why the client connection leaves aiohttp here: aiohttp.web has no public way
to hand an upgraded connection to the application except as a WebSocket.
Before the 101 is written, the handler gives the connection's transport a
protocol of its own (``transport.set_protocol``, a plain asyncio
``StreamReaderProtocol``, which the splice replaces by its own and tells of
the connection's loss), so every byte after the 101 reaches the splice.  The
splice closes the connection when
it ends; aiohttp's protocol is then told of the loss (a transport that is
still open would go back to it, and it would close it), so aiohttp's own
bookkeeping of the connection ends too.  The client speaks only after it
has read the 101, so no byte can reach aiohttp's parser in between.  The
same holds on uvloop, whose transports are not ``asyncio.Transport``
subclasses but offer the same ``set_protocol``.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from syncer.kubelet.outcome import no_container, not_synced, outcome_of, text_error
from syncer.kubelet.params import Verb, host_params
from syncer.kubelet.resolve import PodResolver
from syncer.kubelet.splice import Side, splice
from syncer.kubelet.upstream import UPGRADE_HEADERS, HostPods, HostUnreachable

_READ_LIMIT = 2**17


class _Relay(asyncio.StreamReaderProtocol):
    """A stream protocol that remembers whether (and how) the connection was lost."""

    def __init__(self, reader: asyncio.StreamReader) -> None:
        super().__init__(reader)
        self.lost = False
        self.error: Exception | None = None
        self.forward_loss_to: Any = None

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost, self.error = True, exc
        super().connection_lost(exc)
        if self.forward_loss_to is not None:
            self.forward_loss_to.connection_lost(exc)


@dataclass(slots=True)
class _Taken:
    transport: asyncio.Transport
    original: Any  # aiohttp's request handler protocol
    relay: _Relay
    side: Side

    def give_back(self) -> None:
        """Hand the connection back to aiohttp's protocol, which closes it.

        If the transport is closing, it no longer takes a protocol: aiohttp's is
        told of the loss instead, now or when it happens.
        """
        if self.relay.lost:
            asyncio.get_running_loop().call_soon(self.original.connection_lost, self.relay.error)
        elif self.transport.is_closing():
            self.relay.forward_loss_to = self.original
        else:
            self.transport.set_protocol(self.original)


def _take_over(request: web.Request) -> _Taken:
    transport = request.transport
    if transport is None or transport.is_closing():
        raise ConnectionResetError("the client connection is gone")
    reader = asyncio.StreamReader(limit=_READ_LIMIT)
    relay = _Relay(reader)
    original = transport.get_protocol()
    transport.set_protocol(relay)
    relay.connection_made(transport)
    writer = asyncio.StreamWriter(transport, relay, reader, asyncio.get_running_loop())
    return _Taken(transport, original, relay, Side(reader, writer))


def _wants_upgrade(request: web.Request) -> bool:
    connection = request.headers.get("Connection", "").lower()
    return "upgrade" in connection and bool(request.headers.get("Upgrade"))


async def serve_upgrade(
    request: web.Request,
    *,
    verb: Verb,
    resolver: PodResolver,
    host: HostPods,
    idle_timeout: float | None = None,
) -> web.StreamResponse:
    """The handler for ``verb`` (exec, attach or portForward); see the module docstring."""
    outcome = outcome_of(request)
    if not _wants_upgrade(request):
        return text_error(400, f"{verb.value} needs an upgrade request (SPDY/3.1 or WebSocket)")
    namespace, pod = request.match_info["namespace"], request.match_info["pod"]
    target = resolver.resolve(namespace=namespace, pod=pod)
    if target is None:
        return not_synced(namespace=namespace, pod=pod)
    container = request.match_info.get("container")
    if container is not None and container not in target.containers:
        return no_container(namespace=namespace, pod=pod, container=container)
    outcome.host_pod = target.name
    try:
        params = host_params(verb, query=request.query.items(), container=container)
    except ValueError as exc:
        return text_error(400, str(exc))
    try:
        answer = await host.upgrade(
            target,
            subresource=verb.subresource,
            params=params,
            method=request.method,
            headers=list(request.headers.items()),
        )
    except HostUnreachable as exc:
        return text_error(503, f"cannot reach the host API server: {exc}")
    if answer.side is None:
        content_type = next((v for k, v in answer.headers if k.lower() == "content-type"), None)
        headers = {"Content-Type": content_type} if content_type else None
        return web.Response(status=answer.status, body=answer.body, headers=headers)
    response = web.StreamResponse(status=101)
    for key, value in answer.headers:
        if key.lower() in UPGRADE_HEADERS:
            response.headers.add(key, value)
    response.force_close()
    try:
        taken = _take_over(request)
    except ConnectionResetError:
        answer.side.writer.close()
        return response
    try:
        await response.prepare(request)
        counts = await splice(taken.side, answer.side, idle_timeout=idle_timeout)
        outcome.to_host, outcome.to_client = counts.a_to_b, counts.b_to_a
    finally:
        answer.side.writer.close()
        taken.give_back()
    return response
