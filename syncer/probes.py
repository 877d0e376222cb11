"""Probes: a tiny HTTP/1.1 server for ``/metrics``, ``/healthz`` and ``/readyz``.

:class:`HttpServer` listens on up to two addresses: the metrics address serves
``/metrics`` and the probes address serves ``/healthz`` and ``/readyz``; when
both are the same address one listener serves all three.  Bind strings are
``host:port`` (see :func:`syncer.settings.parse_bind`): an empty host means
every interface, port 0 an ephemeral port (read it back from
:attr:`HttpServer.metrics_port` / :attr:`HttpServer.probes_port`).

Responses: ``/healthz`` is 200 ``ok`` while ``healthy()`` holds, else 500 with
the reason; ``/readyz`` is 200 ``ok`` while ``ready()`` holds, else 503 with
the reason; ``/metrics`` is whatever ``metrics()`` renders.  A check may
answer ``True``/``False`` or ``(ok, reason)``; a check that raises counts as
failing, with the exception as its reason.  Other paths are 404; methods other
than GET and HEAD are 405.

Every connection carries one request and is then closed.  The request line
and headers together may hold at most ``max_header_bytes`` (431 beyond that)
and must arrive within ``timeout`` seconds (408 otherwise); a malformed
request is 400.  A client that disconnects early is dropped silently.
The callables run on the event loop, between requests, and must be quick.
"""

from __future__ import annotations

import asyncio
import functools
import re
from collections.abc import Callable, Mapping
from contextlib import suppress
from http import HTTPStatus
from typing import NamedTuple
from urllib.parse import urlsplit

from syncer.logs import get_logger
from syncer.settings import parse_bind

__all__ = ["Check", "HttpServer", "Verdict"]

Verdict = bool | tuple[bool, str]
Check = Callable[[], Verdict]
_Route = Callable[[], "_Response"]

_TEXT = "text/plain; charset=utf-8"
_MAX_HEADERS = 100
_METHOD = re.compile(rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_VERSION = re.compile(rb"HTTP/(\d)\.(\d)")


class _Response(NamedTuple):
    status: int
    body: bytes
    content_type: str = _TEXT


class _HttpError(Exception):
    """The request cannot be served; answer ``status`` and close."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


class HttpServer:
    """Serves metrics and probes until :meth:`stop`."""

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
        self._servers: dict[str, asyncio.Server] = {}  # "metrics"/"probes" -> its listener
        self._connections: dict[asyncio.Task[object], asyncio.StreamWriter] = {}
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
        if self._servers:
            raise RuntimeError("the server is already started")
        metrics_routes: dict[str, _Route] = {"/metrics": self._serve_metrics}
        probe_routes: dict[str, _Route] = {
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
                server = await self._listen(
                    bind=self._metrics_bind, routes=metrics_routes | probe_routes
                )
                self._servers = {"metrics": server, "probes": server}
                return
            if self._metrics_bind is not None:
                self._servers["metrics"] = await self._listen(
                    bind=self._metrics_bind, routes=metrics_routes
                )
            if self._probes_bind is not None:
                self._servers["probes"] = await self._listen(
                    bind=self._probes_bind, routes=probe_routes
                )
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        """Stop listening and close open connections; safe to call more than once."""
        servers = list({id(server): server for server in self._servers.values()}.values())
        self._servers = {}
        for server in servers:
            server.close()
        # Closing the transport ends a pending read; the handler then returns by itself.
        # (Cancelling the handler task instead trips a bug in Python 3.11's asyncio.streams.)
        for writer in self._connections.values():
            writer.transport.abort()
        await asyncio.gather(*self._connections, return_exceptions=True)
        for server in servers:
            await server.wait_closed()

    async def __aenter__(self) -> HttpServer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def _listen(self, *, bind: str, routes: Mapping[str, _Route]) -> asyncio.Server:
        host, port = parse_bind(bind)
        server = await asyncio.start_server(
            functools.partial(self._handle, routes=routes),
            host=host or None,
            port=port,
            limit=self._max_header_bytes,
        )
        addresses = [sock.getsockname()[:2] for sock in server.sockets]
        self._log.info("http server listening", bind=bind, paths=sorted(routes), at=addresses)
        return server

    def _port(self, role: str) -> int:
        server = self._servers.get(role)
        if server is None or not server.sockets:
            raise RuntimeError(f"the {role} listener is not running")
        port: int = server.sockets[0].getsockname()[1]
        return port

    async def _handle(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        routes: Mapping[str, _Route],
    ) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._connections[task] = writer
        try:
            try:
                async with asyncio.timeout(self._timeout):
                    request = await self._read_request(reader)
            except _HttpError as exc:
                request, response = None, _Response(exc.status, exc.detail.encode())
            except TimeoutError:
                request, response = None, _Response(408, b"request timed out")
            else:
                if request is None:
                    return  # closed without a request
                method, path = request
                response = self._route(method=method, path=path, routes=routes)
            head_only = request is not None and request[0] == "HEAD"
            async with asyncio.timeout(self._timeout):
                writer.write(_encode(response, head_only=head_only))
                await writer.drain()
        except (ConnectionError, TimeoutError, asyncio.IncompleteReadError):
            pass  # the client went away or stalled: nothing to answer
        except Exception:
            self._log.exception("http connection failed")
        finally:
            if task is not None:
                self._connections.pop(task, None)
            writer.close()
            with suppress(Exception):
                await writer.wait_closed()

    async def _read_request(self, reader: asyncio.StreamReader) -> tuple[str, str] | None:
        """``(method, path)``, or None if the client closed before sending a line."""
        lines: list[bytes] = []
        total = 0
        while True:
            try:
                raw = await reader.readuntil(b"\n")
            except asyncio.IncompleteReadError as exc:
                if not lines and not exc.partial.strip():
                    return None
                raise
            except asyncio.LimitOverrunError:
                raise _HttpError(431, "request header too large") from None
            total += len(raw)
            if total > self._max_header_bytes:
                raise _HttpError(431, "request header too large")
            line = raw[:-2] if raw.endswith(b"\r\n") else raw[:-1]
            if not line:
                if lines:
                    break
                continue  # RFC 9112 §2.2: ignore empty lines before the request line
            lines.append(line)
            if len(lines) > _MAX_HEADERS + 1:
                raise _HttpError(431, "too many request headers")
        method, path = _parse_request_line(lines[0])
        for header in lines[1:]:
            name, sep, _ = header.partition(b":")
            if not sep or not _METHOD.fullmatch(name):  # a header name is a token too
                raise _HttpError(400, "malformed header line")
        return method, path

    def _route(self, *, method: str, path: str, routes: Mapping[str, _Route]) -> _Response:
        if method not in {"GET", "HEAD"}:
            return _Response(405, b"method not allowed")
        route = routes.get(path)
        if route is None:
            return _Response(404, b"not found")
        return route()

    def _serve_metrics(self) -> _Response:
        try:
            body, content_type = self._metrics()
        except Exception as exc:
            self._log.exception("rendering metrics failed")
            return _Response(500, f"rendering metrics failed: {exc}".encode())
        return _Response(200, body, content_type)

    def _serve_healthz(self) -> _Response:
        ok, reason = self._check(self._healthy, name="health")
        return _Response(200, b"ok") if ok else _Response(500, (reason or "unhealthy").encode())

    def _serve_readyz(self) -> _Response:
        ok, reason = self._check(self._ready, name="readiness")
        return _Response(200, b"ok") if ok else _Response(503, (reason or "not ready").encode())

    def _check(self, check: Check, *, name: str) -> tuple[bool, str]:
        try:
            verdict = check()
        except Exception as exc:
            self._log.exception(f"{name} check raised")
            return False, f"{name} check failed: {exc}"
        if isinstance(verdict, tuple):
            return bool(verdict[0]), str(verdict[1])
        return bool(verdict), ""


def _parse_request_line(line: bytes) -> tuple[str, str]:
    parts = line.split(b" ")
    if len(parts) != 3 or not _METHOD.fullmatch(parts[0]):
        raise _HttpError(400, "malformed request line")
    method, target, version = parts
    matched = _VERSION.fullmatch(version)
    if matched is None:
        raise _HttpError(400, "malformed HTTP version")
    if matched.group(1) != b"1":
        raise _HttpError(505, "only HTTP/1.x is supported")
    try:
        text = target.decode("ascii")
    except UnicodeDecodeError:
        raise _HttpError(400, "request target is not ASCII") from None
    if text.startswith("/"):
        path = text.partition("?")[0]
    elif text.startswith(("http://", "https://")):
        path = urlsplit(text).path or "/"
    elif text == "*":
        path = "*"
    else:
        raise _HttpError(400, "malformed request target")
    return method.decode("ascii"), path


def _encode(response: _Response, *, head_only: bool) -> bytes:
    status = HTTPStatus(response.status)
    head = [
        f"HTTP/1.1 {status.value} {status.phrase}",
        f"Content-Type: {response.content_type}",
        f"Content-Length: {len(response.body)}",
        "Connection: close",
    ]
    if status == HTTPStatus.METHOD_NOT_ALLOWED:
        head.append("Allow: GET, HEAD")
    encoded = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1")
    return encoded if head_only else encoded + response.body
