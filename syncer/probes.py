"""Probes: ``/metrics``, ``/healthz`` and ``/readyz`` served by ``aiohttp.web``.

:class:`HttpServer` listens on up to two addresses: the metrics address serves
``/metrics`` and the probes address serves ``/healthz`` and ``/readyz``; when
both are the same fixed address one listener serves all three.  Bind strings
are ``host:port`` (see :func:`syncer.settings.parse_bind`): an empty host means
every interface, an IPv6 host is written in brackets, port 0 is an ephemeral
port (read it back from :attr:`HttpServer.metrics_port` /
:attr:`HttpServer.probes_port`).

Responses: ``/healthz`` is 200 ``ok`` while ``healthy()`` holds, else 500 with
the reason; ``/readyz`` is 200 ``ok`` while ``ready()`` holds, else 503 with
the reason (the daemon's ``ready()`` returns ``(ok, reason)``); ``/metrics`` is
whatever ``metrics()`` renders, or 500 if rendering raises.  A check may answer
``True``/``False`` or ``(ok, reason)``; a check that raises counts as failing,
with the exception as its reason.  Other paths are 404; on the three paths,
methods other than GET and HEAD are 405 with ``Allow: GET, HEAD``.

HTTP parsing is aiohttp's.  Every response closes its connection
(``Connection: close``).  The request line and each header may hold at most
``max_header_bytes``; a connection that has not sent a whole request within
``timeout`` seconds is closed (aiohttp's keep-alive timer, which also runs
before the first request).  :meth:`HttpServer.stop` closes the listeners and
every open connection, waiting at most ``timeout`` seconds for a request being
answered.  The callables run on the event loop and must be quick.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from http import HTTPStatus

from aiohttp import web

from syncer.logs import get_logger
from syncer.settings import parse_bind

__all__ = ["Check", "HttpServer", "Verdict"]

Verdict = bool | tuple[bool, str]
Check = Callable[[], Verdict]
_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_TEXT = "text/plain"
_ALLOWED = frozenset({"GET", "HEAD"})


class HttpServer:
    """Serves metrics and probes from :meth:`start` until :meth:`stop`."""

    def __init__(
        self,
        *,
        metrics: Callable[[], tuple[bytes, str]],
        healthy: Check,
        ready: Check,
        metrics_bind: str | None = ":8080",
        probes_bind: str | None = ":8081",
        timeout: float = 5.0,
        max_header_bytes: int = 8192,
    ) -> None:
        if metrics_bind is None and probes_bind is None:
            raise ValueError("at least one of metrics_bind and probes_bind is needed")
        self._metrics = metrics
        self._healthy = healthy
        self._ready = ready
        self._metrics_bind = metrics_bind
        self._probes_bind = probes_bind
        self._timeout = timeout
        self._max_header_bytes = max_header_bytes
        self._runners: dict[str, web.AppRunner] = {}  # "metrics"/"probes" -> its listener
        self._log = get_logger("probes")

    @property
    def metrics_port(self) -> int:
        """The port ``/metrics`` is served on (the first socket's, if several)."""
        return self._port("metrics")

    @property
    def probes_port(self) -> int:
        """The port ``/healthz`` and ``/readyz`` are served on."""
        return self._port("probes")

    async def start(self) -> None:
        """Bind and start listening; raises OSError if an address cannot be bound."""
        if self._runners:
            raise RuntimeError("the server is already started")
        metrics_routes: dict[str, _Handler] = {"/metrics": self._serve_metrics}
        probe_routes: dict[str, _Handler] = {
            "/healthz": self._serve_healthz,
            "/readyz": self._serve_readyz,
        }
        # One listener for both when the address is the same (two port-0 binds are two ports).
        shared = (
            self._metrics_bind is not None
            and self._metrics_bind == self._probes_bind
            and parse_bind(self._metrics_bind).port != 0
        )
        try:
            if shared and self._metrics_bind is not None:
                runner = await self._listen(
                    bind=self._metrics_bind, routes=metrics_routes | probe_routes
                )
                self._runners = {"metrics": runner, "probes": runner}
                return
            if self._metrics_bind is not None:
                self._runners["metrics"] = await self._listen(
                    bind=self._metrics_bind, routes=metrics_routes
                )
            if self._probes_bind is not None:
                self._runners["probes"] = await self._listen(
                    bind=self._probes_bind, routes=probe_routes
                )
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        """Stop listening and close open connections; safe to call more than once."""
        runners = list({id(runner): runner for runner in self._runners.values()}.values())
        self._runners = {}
        for runner in runners:
            await runner.cleanup()

    async def __aenter__(self) -> HttpServer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def _listen(self, *, bind: str, routes: Mapping[str, _Handler]) -> web.AppRunner:
        host, port = parse_bind(bind)
        app = web.Application()
        for path, handler in routes.items():
            app.router.add_route("*", path, _only_get_and_head(handler))
        app.on_response_prepare.append(_close_after_response)
        runner = web.AppRunner(
            app,
            handle_signals=False,
            access_log=None,
            shutdown_timeout=self._timeout,
            keepalive_timeout=self._timeout,
            max_line_size=self._max_header_bytes,
            max_field_size=self._max_header_bytes,
        )
        await runner.setup()
        try:
            await web.TCPSite(runner, host=host or None, port=port).start()
        except BaseException:
            await runner.cleanup()
            raise
        addresses = [tuple(address[:2]) for address in runner.addresses]
        self._log.info("http server listening", bind=bind, paths=sorted(routes), at=addresses)
        return runner

    def _port(self, role: str) -> int:
        runner = self._runners.get(role)
        if runner is None or not runner.addresses:
            raise RuntimeError(f"the {role} listener is not running")
        port: int = runner.addresses[0][1]
        return port

    async def _serve_metrics(self, _request: web.Request) -> web.Response:
        try:
            body, content_type = self._metrics()
        except Exception as exc:
            self._log.exception("rendering metrics failed")
            return _text(HTTPStatus.INTERNAL_SERVER_ERROR, f"rendering metrics failed: {exc}")
        # Given whole, the content type keeps its parameters (Prometheus' version=0.0.4).
        return web.Response(status=200, body=body, headers={"Content-Type": content_type})

    async def _serve_healthz(self, _request: web.Request) -> web.Response:
        ok, reason = self._check(self._healthy, name="health")
        if ok:
            return _text(HTTPStatus.OK, "ok")
        return _text(HTTPStatus.INTERNAL_SERVER_ERROR, reason or "unhealthy")

    async def _serve_readyz(self, _request: web.Request) -> web.Response:
        ok, reason = self._check(self._ready, name="readiness")
        if ok:
            return _text(HTTPStatus.OK, "ok")
        return _text(HTTPStatus.SERVICE_UNAVAILABLE, reason or "not ready")

    def _check(self, check: Check, *, name: str) -> tuple[bool, str]:
        try:
            verdict = check()
        except Exception as exc:
            self._log.exception(f"{name} check raised")
            return False, f"{name} check failed: {exc}"
        if isinstance(verdict, tuple):
            return bool(verdict[0]), str(verdict[1])
        return bool(verdict), ""


def _only_get_and_head(handler: _Handler) -> _Handler:
    """``handler`` for GET and HEAD (aiohttp drops a HEAD body), 405 for other methods."""

    async def route(request: web.Request) -> web.StreamResponse:
        if request.method not in _ALLOWED:
            response = _text(HTTPStatus.METHOD_NOT_ALLOWED, "method not allowed")
            response.headers["Allow"] = "GET, HEAD"
            return response
        return await handler(request)

    return route


def _text(status: HTTPStatus, text: str) -> web.Response:
    return web.Response(status=status.value, text=text, content_type=_TEXT, charset="utf-8")


async def _close_after_response(_request: web.Request, response: web.StreamResponse) -> None:
    """One request per connection: every routed response, aiohttp's 404 included, closes it."""
    # aiohttp has chosen its Connection header by now; a hook still runs before it is written.
    response.force_close()
    response.headers["Connection"] = "close"
