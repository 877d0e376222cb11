"""The kubelet HTTPS server of the fake virtual nodes (aiohttp.web).

Routes, with the kubelet's paths (Kubernetes ``pkg/kubelet/server``):

* ``GET /containerLogs/{namespace}/{pod}/{container}`` — :mod:`syncer.kubelet.logs`;
* ``GET|POST /exec/{namespace}/{pod}/{container}``,
  ``GET|POST /attach/{namespace}/{pod}/{container}``,
  ``GET|POST /portForward/{namespace}/{pod}`` — :mod:`syncer.kubelet.upgrade`;
* anything else — 404 (405 for another method on a known path).

An API server's ``nodes/proxy`` for a fake node passes the kubelet's paths on
as they are, so it reaches these four endpoints and nothing else: the
kubelet's node endpoints (``/pods``, ``/stats``, ``/metrics``, ``/logs``...)
would describe the host, so they are 404 as the issue of the kubelet API
requires.  Upgrades are relayed whatever their protocol (SPDY/3.1 as API
servers speak to kubelets, or WebSocket).

Guarantees:

* Every request, matched or not, is first checked for a client certificate
  verified by the kubelet-client CA (:mod:`syncer.kubelet.tls`); without one
  the answer is 401 and nothing else happens: it is counted only in
  ``vsyncer_kubelet_unauthorized_total``, never as a request, so an anonymous
  caller of the port neither wakes a sleeping cluster nor keeps it awake.
* At most ``max_streams`` requests per endpoint are served at once
  (``VSYNCER_KUBELET_MAX_STREAMS``); one more is answered 429 at once, as the
  kubelet answers a request over its own limits, and nothing reaches the host.
* A connection's TLS handshake must finish within :data:`HANDSHAKE_SECONDS`
  (``handshake_timeout``; asyncio's default is 60 s): a peer that connects
  and stalls holds a socket that long at most.  An upgraded connection idle for ``idle_timeout``
  seconds is closed (:func:`~syncer.kubelet.splice.splice`).
* One structured log line per finished request (``vsyncer.kubelet``: verb,
  virtual namespace/pod, host pod, status, seconds, bytes each way) and one
  observation in :class:`~syncer.kubelet.metrics.KubeletMetrics`.
* A client that goes away cancels its handler (and so its host request).
* :meth:`KubeletServer.stop` stops listening, then gives open streams
  ``shutdown_timeout`` seconds before cancelling them, and aborts every
  connection still open or closing (a TLS close waits for the peer's
  ``close_notify``; a stopping process does not).
"""

from __future__ import annotations

import asyncio
import functools
import ssl
import time
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from aiohttp import web

from syncer.binds import BindAddress
from syncer.kubelet.logs import serve_logs
from syncer.kubelet.metrics import KubeletMetrics
from syncer.kubelet.outcome import outcome_of, text_error
from syncer.kubelet.params import Verb
from syncer.kubelet.resolve import PodResolver
from syncer.kubelet.tls import verified_client
from syncer.kubelet.upgrade import serve_upgrade
from syncer.kubelet.upstream import HostPods

_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


#: Seconds an idle connection to the kubelet server is kept open.
KEEPALIVE_SECONDS = 5.0
#: Seconds a client has to finish its TLS handshake.
HANDSHAKE_SECONDS = 10.0


class _Site(web.TCPSite):
    """aiohttp's TCP site with a TLS handshake timeout (``TCPSite`` takes none)."""

    def __init__(self, runner: web.AppRunner, *, handshake: float, **kwargs: Any) -> None:
        super().__init__(runner, **kwargs)
        self._handshake = handshake

    async def start(self) -> None:
        await web.BaseSite.start(self)
        server = self._runner.server
        assert server is not None
        self._server = await asyncio.get_running_loop().create_server(
            server,
            self._host,
            self._port,
            ssl=self._ssl_context,
            ssl_handshake_timeout=self._handshake if self._ssl_context else None,
            backlog=self._backlog,
        )


class KubeletServer:
    """Create, ``await start()``, ``await stop()``; :attr:`port` is the bound port."""

    def __init__(
        self,
        *,
        bind: BindAddress,
        ssl_context: ssl.SSLContext,
        resolver: PodResolver,
        host: HostPods,
        metrics: KubeletMetrics,
        shutdown_timeout: float = 5.0,
        client_names: tuple[str, ...] = (),
        max_streams: int = 200,
        idle_timeout: float = 14400.0,
        handshake_timeout: float = HANDSHAKE_SECONDS,
    ) -> None:
        self._bind = bind
        self._max_streams, self._idle_timeout = max_streams, idle_timeout
        self._handshake = handshake_timeout
        self._active: dict[str, int] = {}  # requests being served, by endpoint
        self._client_names = client_names
        self._ssl = ssl_context
        self._resolver = resolver
        self._host = host
        self._metrics = metrics
        self._timeout = shutdown_timeout
        self._runner: web.AppRunner | None = None
        self._log = structlog.get_logger("vsyncer.kubelet")
        self.port = 0

    def _app(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware])
        logs = functools.partial(serve_logs, resolver=self._resolver, host=self._host)
        app.router.add_get("/containerLogs/{namespace}/{pod}/{container}", logs, allow_head=False)
        for verb, path in (
            (Verb.EXEC, "/exec/{namespace}/{pod}/{container}"),
            (Verb.ATTACH, "/attach/{namespace}/{pod}/{container}"),
            (Verb.PORT_FORWARD, "/portForward/{namespace}/{pod}"),
        ):
            handler = functools.partial(
                serve_upgrade,
                verb=verb,
                resolver=self._resolver,
                host=self._host,
                idle_timeout=self._idle_timeout,
            )
            app.router.add_get(path, handler, allow_head=False)
            app.router.add_post(path, handler)
        return app

    @web.middleware
    async def _middleware(self, request: web.Request, handler: _Handler) -> web.StreamResponse:
        started = time.perf_counter()
        outcome = outcome_of(request)
        route = request.match_info.route.resource
        canonical = route.canonical if route is not None else ""
        outcome.verb = next(
            (v.value for v in Verb if canonical.startswith(f"/{v.value}/")), "other"
        )
        peercert = request.transport.get_extra_info("peercert") if request.transport else None
        if not verified_client(peercert, names=self._client_names):
            self._metrics.unauthorized()
            self._log.info("kubelet request refused", method=request.method, code=401)
            return text_error(401, "Unauthorized")
        code = 500
        verb = outcome.verb
        active = self._active.get(verb, 0)
        try:
            response: web.StreamResponse
            if verb != "other" and active >= self._max_streams:
                response = text_error(
                    429, f"too many {verb} requests at once (at most {self._max_streams})"
                )
            else:
                self._active[verb] = active + 1
                try:
                    response = await handler(request)
                except web.HTTPException as exc:
                    response = text_error(exc.status, exc.reason)
                finally:
                    self._active[verb] -= 1
            code = response.status
            return response
        except asyncio.CancelledError:
            code = 499  # the client went away (nginx's "client closed request")
            raise
        finally:
            seconds = time.perf_counter() - started
            self._metrics.request(verb=outcome.verb, code=code, seconds=seconds)
            self._metrics.relayed(
                verb=outcome.verb, to_client=outcome.to_client, to_host=outcome.to_host
            )
            self._log.info(
                "kubelet request",
                verb=outcome.verb,
                method=request.method,
                namespace=request.match_info.get("namespace"),
                pod=request.match_info.get("pod"),
                container=request.match_info.get("container"),
                host_pod=outcome.host_pod or None,
                code=code,
                seconds=round(seconds, 4),
                to_client=outcome.to_client,
                to_host=outcome.to_host,
            )

    async def start(self) -> None:
        """Bind and listen; raises OSError if the address cannot be bound."""
        runner = web.AppRunner(
            self._app(),
            handle_signals=False,
            access_log=None,
            shutdown_timeout=self._timeout,
            handler_cancellation=True,
            # An idle connection (no request yet, or between requests) is closed after this
            # many seconds instead of aiohttp's hour: a caller without a certificate cannot
            # hold sockets open.
            keepalive_timeout=KEEPALIVE_SECONDS,
        )
        await runner.setup()
        site = _Site(
            runner,
            handshake=self._handshake,
            host=self._bind.host or None,
            port=self._bind.port,
            ssl_context=self._ssl,
        )
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        for address in runner.addresses:
            self.port = int(address[1])
            break

    async def stop(self) -> None:
        """Stop listening and end open streams; safe to call more than once."""
        runner, self._runner = self._runner, None
        if runner is not None:
            handlers = runner.server.connections if runner.server is not None else []
            open_ = [h.transport for h in handlers if h.transport is not None]
            await runner.cleanup()
            # A closed TLS connection waits for the peer's close_notify; at stop nobody waits.
            for transport in open_:
                transport.abort()
        await self._host.close()
