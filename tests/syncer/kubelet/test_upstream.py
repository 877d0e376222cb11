"""Tests for syncer.kubelet.upstream: reading the host's answer to an upgrade, the log pool."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import web

from syncer.kube import Dial
from syncer.kubelet.resolve import HostPod
from syncer.kubelet.upstream import HostPods, _read_body, _read_head


def _reader(data: bytes) -> asyncio.StreamReader:
    reader = asyncio.StreamReader()
    reader.feed_data(data)
    reader.feed_eof()
    return reader


async def test_head_keeps_repeated_headers_and_leaves_the_rest() -> None:
    """Status and every header in order; bytes after the head stay for the splice."""
    reader = _reader(
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: SPDY/3.1\r\n"
        b"X-Stream-Protocol-Version: v4.channel.k8s.io\r\nX-Stream-Protocol-Version: v5\r\n\r\n"
        b"\x80\x03frame"
    )
    status, headers = await _read_head(reader)
    assert status == 101
    assert headers == [
        ("Upgrade", "SPDY/3.1"),
        ("X-Stream-Protocol-Version", "v4.channel.k8s.io"),
        ("X-Stream-Protocol-Version", "v5"),
    ]
    assert await reader.read() == b"\x80\x03frame"


@pytest.mark.parametrize("line", [b"SPDY/3 101 x", b"HTTP/1.1 ok", b"garbage"])
async def test_a_head_that_is_not_http_is_refused(line: bytes) -> None:
    """Anything but an HTTP/1.x status line is a ValueError (answered 503)."""
    with pytest.raises(ValueError, match="status line"):
        await _read_head(_reader(line + b"\r\n\r\n"))


@pytest.mark.parametrize(
    ("headers", "body", "expected"),
    [
        ([("Content-Length", "5")], b"hello and more", b"hello"),
        (
            [("Transfer-Encoding", "chunked")],
            b"5\r\nhello\r\n6;x=1\r\n world\r\n0\r\n\r\n",
            b"hello world",
        ),
        ([], b"until the end", b"until the end"),
    ],
)
async def test_body_by_its_framing(
    headers: list[tuple[str, str]], body: bytes, expected: bytes
) -> None:
    """Content-Length, chunked (extensions ignored) or to the end of the connection."""
    assert await _read_body(_reader(body), headers) == expected


async def test_a_large_error_body_is_cut() -> None:
    """At most 64 KiB of an error body are kept."""
    body = b"x" * 100_000
    headers = [("Content-Length", str(len(body)))]
    assert len(await _read_body(_reader(body), headers)) == 2**16


class _LocalDialer:
    """Plain HTTP to a local server (the pool, not Kubernetes, is under test here)."""

    def __init__(self, port: int) -> None:
        self.port = port

    async def dial(self) -> Dial:
        return Dial(
            server=f"http://127.0.0.1:{self.port}", ssl=None, server_hostname=None, headers={}
        )


async def test_log_streams_are_not_capped_by_a_connection_pool() -> None:
    """120 streams held open at once (aiohttp's default pool is 100) each get their first
    chunk; the server's per-endpoint limit, not the client pool, bounds them."""
    release = asyncio.Event()

    async def hold(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.prepare(request)
        await response.write(b"first\n")
        await release.wait()
        return response

    app = web.Application()
    app.router.add_get("/api/v1/namespaces/ns/pods/p/log", hold)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host = HostPods(client=_LocalDialer(runner.addresses[0][1]))

    started: list[bytes] = []
    all_started = asyncio.Event()

    async def stream() -> None:
        async with host.stream(HostPod("ns", "p"), subresource="log", params=[]) as answer:
            started.append(await anext(answer.chunks))
            if len(started) == 120:
                all_started.set()
            await release.wait()

    try:
        streams = [asyncio.ensure_future(stream()) for _ in range(120)]
        async with asyncio.timeout(20):  # with a pool of 100, the last 20 never start
            await all_started.wait()
        assert started == [b"first\n"] * 120
        release.set()
        await asyncio.gather(*streams)
    finally:
        release.set()
        await host.close()
        await runner.cleanup()
