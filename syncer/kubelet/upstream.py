"""Requests to the host API server's pod subresources, with the host kubeconfig's credentials.

Two shapes, both addressed by a host pod and a subresource:

* :meth:`HostPods.stream` — a streamed ``GET`` (``pods/log``): the response's
  status, content type and an async iterator over its body chunks as they
  arrive (aiohttp's client; no read timeout, so ``follow`` may idle; no
  connection pool cap, the server's per-endpoint limit is the bound).
* :meth:`HostPods.upgrade` — an upgrade request (``pods/exec``, ``attach``,
  ``portforward``) on a connection of its own (asyncio streams: an upgraded
  connection cannot be handed out of aiohttp's connection pool).  The request
  carries the caller's ``Upgrade``, ``Connection``, ``X-Stream-Protocol-Version``
  and ``Sec-WebSocket-*`` headers; the response head is parsed by the
  standard library (:func:`http.client.parse_headers`).  A 101 hands back the
  open streams; any other status hands back the whole (bounded) body, read by
  ``Content-Length``, chunked framing or to the end of the connection.

Credentials, TLS and the server's address come from the host
:class:`~syncer.kube.KubeClient` (:meth:`~syncer.kube.KubeClient.dial`), so
they are loaded once, the same way as for every other host request.
Transport failures raise :class:`HostUnreachable`.
"""

from __future__ import annotations

import asyncio
import http.client
import io
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import quote, urlencode, urlsplit

import aiohttp

from syncer.kube import Dial
from syncer.kubelet.resolve import HostPod
from syncer.kubelet.splice import Side, close_all

#: Upgrade headers (lower case) passed on to the host, and back to the client on a 101;
#: a header may repeat (one ``X-Stream-Protocol-Version`` per protocol offered).
UPGRADE_HEADERS = frozenset(
    {
        "upgrade",
        "connection",
        "x-stream-protocol-version",
        "sec-websocket-key",
        "sec-websocket-version",
        "sec-websocket-protocol",
        "sec-websocket-accept",
    }
)
Headers = Sequence[tuple[str, str]]
_MAX_HEAD = 2**16
_MAX_ERROR_BODY = 2**16
_CONNECT_TIMEOUT = 10.0


class HostUnreachable(Exception):
    """The host API server could not be reached or broke the exchange; the message says how."""


class Dialer(Protocol):
    """What :class:`HostPods` needs from the host client (:class:`~syncer.kube.KubeClient`)."""

    async def dial(self) -> Dial: ...


@dataclass(frozen=True, slots=True)
class Streamed:
    """A streamed response: status, content type and body chunks."""

    status: int
    content_type: str
    chunks: AsyncIterator[bytes]


@dataclass(frozen=True, slots=True)
class Upgraded:
    """The host's answer to an upgrade: 101 with open streams, or a status and its body."""

    status: int
    headers: Headers
    side: Side | None = None
    body: bytes = b""


def _path(pod: HostPod, subresource: str) -> str:
    return f"/api/v1/namespaces/{quote(pod.namespace)}/pods/{quote(pod.name)}/{subresource}"


class HostPods:
    """Pod subresource requests to the host API server.  Close with :meth:`close`."""

    def __init__(self, *, client: Dialer) -> None:
        self._client = client
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        """Close the log streams' session (upgraded connections belong to their splice)."""
        if self._session is not None:
            await self._session.close()

    @asynccontextmanager
    async def stream(
        self, pod: HostPod, *, subresource: str, params: Sequence[tuple[str, str]]
    ) -> AsyncIterator[Streamed]:
        """A streamed ``GET`` of ``subresource``; the body is read inside the context."""
        dial = await self._client.dial()
        if self._session is None:
            # limit=0: no pool cap (aiohttp's default 100 would queue every further request
            # behind 100 ``follow`` streams); the server's per-endpoint limit bounds them.
            connector = aiohttp.TCPConnector(
                ssl=dial.ssl if dial.ssl is not None else False, limit=0
            )
            self._session = aiohttp.ClientSession(connector=connector, trust_env=False)
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=_CONNECT_TIMEOUT)
        headers = {**dial.headers, "Accept-Encoding": "identity"}
        try:
            async with self._session.get(
                dial.server + _path(pod, subresource),
                params=list(params),
                headers=headers,
                timeout=timeout,
                server_hostname=dial.server_hostname,
                auto_decompress=False,
            ) as resp:
                chunks = resp.content.iter_any()
                yield Streamed(resp.status, resp.headers.get("Content-Type", ""), chunks)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise HostUnreachable(f"host API server: {exc!r}") from exc

    async def upgrade(
        self,
        pod: HostPod,
        *,
        subresource: str,
        params: Sequence[tuple[str, str]],
        method: str,
        headers: Headers,
    ) -> Upgraded:
        """Send the upgrade request; see the module doc for what comes back."""
        dial = await self._client.dial()
        url = urlsplit(dial.server)
        port = url.port or (443 if url.scheme == "https" else 80)
        try:
            async with asyncio.timeout(_CONNECT_TIMEOUT):
                reader, writer = await asyncio.open_connection(
                    url.hostname,
                    port,
                    ssl=dial.ssl,
                    server_hostname=dial.server_hostname if dial.ssl is not None else None,
                    limit=2**17,
                )
        except (OSError, TimeoutError) as exc:
            raise HostUnreachable(f"host API server {dial.server}: {exc!r}") from exc
        try:
            target = url.path.rstrip("/") + _path(pod, subresource)
            lines = [f"{method} {target}?{urlencode(list(params))} HTTP/1.1"]
            lines.append(f"Host: {url.netloc}")
            sent = [(k, v) for k, v in headers if k.lower() in UPGRADE_HEADERS]
            lines += [f"{key}: {value}" for key, value in [*sent, *dial.headers.items()]]
            writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
            await writer.drain()
            status, answer = await _read_head(reader)
            if status == 101:
                return Upgraded(status, answer, side=Side(reader=reader, writer=writer))
            body = await _read_body(reader, answer)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
            writer.transport.abort()
            raise HostUnreachable(f"host API server {dial.server}: {exc!r}") from exc
        except BaseException:  # cancelled (the client went away): drop the host connection
            writer.transport.abort()
            raise
        await close_all([Side(reader=reader, writer=writer)])
        return Upgraded(status, answer, body=body)


async def _read_head(reader: asyncio.StreamReader) -> tuple[int, list[tuple[str, str]]]:
    raw = await reader.readuntil(b"\r\n\r\n")
    if len(raw) > _MAX_HEAD:
        raise ValueError("response head too large")
    status_line, _, rest = raw.partition(b"\r\n")
    parts = status_line.decode("latin-1").split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
        raise ValueError(f"not an HTTP/1.x status line: {status_line[:80]!r}")
    message = http.client.parse_headers(io.BytesIO(rest))
    return int(parts[1]), list(message.items())


async def _read_body(reader: asyncio.StreamReader, headers: Headers) -> bytes:
    """The body by the response's framing, at most :data:`_MAX_ERROR_BODY` bytes kept."""
    lowered = {key.lower(): value for key, value in headers}
    if "chunked" in lowered.get("transfer-encoding", "").lower():
        body = bytearray()
        while True:
            size = int((await reader.readline()).split(b";")[0].strip() or b"0", 16)
            if size == 0:
                return bytes(body[:_MAX_ERROR_BODY])
            body += await reader.readexactly(size)
            await reader.readexactly(2)
            if len(body) > _MAX_ERROR_BODY:
                return bytes(body[:_MAX_ERROR_BODY])
    length = lowered.get("content-length")
    if length is not None:
        return await reader.readexactly(min(int(length), _MAX_ERROR_BODY))
    return await reader.read(_MAX_ERROR_BODY)
