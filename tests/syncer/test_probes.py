"""Tests for syncer.probes."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import NamedTuple

import pytest

from syncer.probes import HttpServer, Verdict

pytestmark = pytest.mark.timeout(30)  # a safety net: a hung server fails, not hangs

METRICS_BODY = b"# TYPE up gauge\nup 1\n"
METRICS_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class Reply(NamedTuple):
    status: int
    headers: dict[str, str]
    body: bytes


class Checks:
    """Health and readiness answers the test can flip."""

    def __init__(self) -> None:
        self.healthy: Verdict = True
        self.ready: Verdict = (False, "caches not synced: pods")

    def metrics(self) -> tuple[bytes, str]:
        return METRICS_BODY, METRICS_TYPE


async def exchange(port: int, raw: bytes) -> bytes:
    """Send ``raw`` and read until the server closes the connection."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(raw)
        await writer.drain()
        return await reader.read()
    finally:
        writer.close()
        await writer.wait_closed()


def parse(data: bytes) -> Reply:
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return Reply(int(status_line.split(" ")[1]), headers, body)


async def request(port: int, path: str, *, method: str = "GET") -> Reply:
    return parse(await exchange(port, f"{method} {path} HTTP/1.1\r\nHost: test\r\n\r\n".encode()))


@pytest.fixture
def checks() -> Checks:
    return Checks()


@pytest.fixture
async def server(checks: Checks) -> AsyncIterator[HttpServer]:
    http = HttpServer(
        metrics=checks.metrics,
        healthy=lambda: checks.healthy,
        ready=lambda: checks.ready,
        metrics_bind="127.0.0.1:0",
        probes_bind="127.0.0.1:0",
        timeout=1.0,
        max_header_bytes=1024,
    )
    async with http:
        yield http


async def test_metrics(server: HttpServer) -> None:
    """/metrics serves the rendered body with its content type."""
    reply = await request(server.metrics_port, "/metrics")
    assert reply.status == 200
    assert reply.body == METRICS_BODY
    assert reply.headers["content-type"] == METRICS_TYPE
    assert reply.headers["content-length"] == str(len(METRICS_BODY))
    assert reply.headers["connection"] == "close"


async def test_listeners_are_separate(server: HttpServer) -> None:
    """Metrics and probes listen on their own ports and serve only their own paths."""
    assert server.metrics_port != server.probes_port
    assert (await request(server.metrics_port, "/healthz")).status == 404
    assert (await request(server.probes_port, "/metrics")).status == 404


async def test_healthz(server: HttpServer, checks: Checks) -> None:
    """/healthz is 200 ok while healthy, 500 with the reason when not."""
    reply = await request(server.probes_port, "/healthz")
    assert (reply.status, reply.body) == (200, b"ok")
    checks.healthy = (False, "worker pods died")
    reply = await request(server.probes_port, "/healthz")
    assert (reply.status, reply.body) == (500, b"worker pods died")
    checks.healthy = False
    assert (await request(server.probes_port, "/healthz")).status == 500


async def test_readyz_flips(server: HttpServer, checks: Checks) -> None:
    """/readyz is 503 with the reason until ready() holds, then 200 ok."""
    reply = await request(server.probes_port, "/readyz")
    assert (reply.status, reply.body) == (503, b"caches not synced: pods")
    checks.ready = (True, "")
    reply = await request(server.probes_port, "/readyz")
    assert (reply.status, reply.body) == (200, b"ok")
    checks.ready = False
    assert (await request(server.probes_port, "/readyz")).body == b"not ready"


async def test_query_string_is_ignored(server: HttpServer) -> None:
    """A query string does not change the route."""
    assert (await request(server.probes_port, "/healthz?verbose")).status == 200


async def test_unknown_path_is_404(server: HttpServer) -> None:
    """Paths other than the three are 404."""
    assert (await request(server.probes_port, "/")).status == 404
    assert (await request(server.probes_port, "/healthz/extra")).status == 404


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "OPTIONS"])
async def test_other_methods_are_405(server: HttpServer, method: str) -> None:
    """Only GET and HEAD are allowed; the answer says so."""
    reply = await request(server.probes_port, "/healthz", method=method)
    assert reply.status == 405
    assert reply.headers["allow"] == "GET, HEAD"


async def test_head_has_headers_but_no_body(server: HttpServer) -> None:
    """HEAD answers with the GET headers and no body."""
    reply = await request(server.metrics_port, "/metrics", method="HEAD")
    assert reply.status == 200
    assert reply.headers["content-length"] == str(len(METRICS_BODY))
    assert reply.body == b""


async def test_http10_and_absolute_form_are_accepted(server: HttpServer) -> None:
    """Older and proxy-style clients: HTTP/1.0, an absolute-form target."""
    reply = parse(await exchange(server.probes_port, b"GET /healthz HTTP/1.0\r\n\r\n"))
    assert (reply.status, reply.body) == (200, b"ok")
    raw = b"GET http://test/readyz HTTP/1.1\r\nHost: test\r\n\r\n"
    assert parse(await exchange(server.probes_port, raw)).status == 503


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        (b"NONSENSE\r\n\r\n", 400),
        (b"GET /healthz HTTP/1.1 extra\r\n\r\n", 400),
        (b"GET healthz HTTP/1.1\r\n\r\n", 400),
        (b"GET /healthz HTTP/1.1\r\nno colon here\r\n\r\n", 400),
        (b"GET /healthz\nHost: test\n\n", 400),  # bare LF line ends
        (b"GET /healthz HTTP/1.1\r\nX-Big: " + b"a" * 2000 + b"\r\n\r\n", 400),
        (b"GET /healthz HTTP/1.1\r\n" + b"X-A: b\r\n" * 200 + b"\r\n", 400),
    ],
)
async def test_bad_requests(server: HttpServer, raw: bytes, status: int) -> None:
    """Malformed or oversized requests (over max_header_bytes, or over aiohttp's 128
    headers) get a 400 answer and a closed connection."""
    assert parse(await exchange(server.probes_port, raw)).status == status


async def test_slow_client_is_disconnected(checks: Checks) -> None:
    """A client that never finishes its request is disconnected after the timeout."""
    http = HttpServer(
        metrics=checks.metrics,
        healthy=lambda: True,
        ready=lambda: True,
        metrics_bind=None,
        probes_bind="127.0.0.1:0",
        timeout=0.05,
    )
    async with http:
        # The 30 s test timeout is the bound: the read returns only once the server hangs up.
        assert await exchange(http.probes_port, b"GET /healthz HTTP/1.1\r\n") == b""


async def test_client_that_disconnects_is_dropped(server: HttpServer) -> None:
    """Clients that hang up early do not disturb the server."""
    for raw in (b"", b"GET /heal"):
        _, writer = await asyncio.open_connection("127.0.0.1", server.probes_port)
        writer.write(raw)
        await writer.drain()
        writer.close()
        await writer.wait_closed()
    assert (await request(server.probes_port, "/healthz")).status == 200


async def test_stop_closes_idle_connections(checks: Checks) -> None:
    """stop() returns promptly even while a client holds a half-sent request."""
    http = HttpServer(
        metrics=checks.metrics,
        healthy=lambda: True,
        ready=lambda: True,
        metrics_bind="127.0.0.1:0",
        probes_bind=None,
        timeout=60.0,
    )
    await http.start()
    reader, writer = await asyncio.open_connection("127.0.0.1", http.metrics_port)
    writer.write(b"GET /metrics HTTP/1.1\r\n")
    await writer.drain()
    await asyncio.wait_for(http.stop(), timeout=5)
    # The connection ends: EOF, or a reset if the server closed before reading the bytes.
    with contextlib.suppress(ConnectionResetError):
        assert await reader.read() == b""
    writer.close()
    with contextlib.suppress(ConnectionResetError):
        await writer.wait_closed()
    await http.stop()  # a second stop is harmless
    with pytest.raises(RuntimeError):
        _ = http.metrics_port


async def test_failing_callables_are_answered(checks: Checks) -> None:
    """A check or renderer that raises becomes a failing answer, not a dropped connection."""

    def boom() -> Verdict:
        raise RuntimeError("cache gone")

    def broken_metrics() -> tuple[bytes, str]:
        raise RuntimeError("registry broken")

    http = HttpServer(
        metrics=broken_metrics,
        healthy=boom,
        ready=boom,
        metrics_bind="127.0.0.1:0",
        probes_bind="127.0.0.1:0",
    )
    async with http:
        health = await request(http.probes_port, "/healthz")
        ready = await request(http.probes_port, "/readyz")
        metrics = await request(http.metrics_port, "/metrics")
    assert health.status == 500
    assert b"cache gone" in health.body
    assert ready.status == 503
    assert metrics.status == 500


async def test_one_listener_when_binds_match(checks: Checks) -> None:
    """The same fixed address for both serves all three paths on one port."""
    probe = HttpServer(
        metrics=checks.metrics,
        healthy=lambda: True,
        ready=lambda: True,
        metrics_bind="127.0.0.1:0",
        probes_bind=None,
    )
    async with probe:
        port = probe.metrics_port  # a free port to reuse below
    http = HttpServer(
        metrics=checks.metrics,
        healthy=lambda: True,
        ready=lambda: True,
        metrics_bind=f"127.0.0.1:{port}",
        probes_bind=f"127.0.0.1:{port}",
    )
    async with http:
        assert http.metrics_port == http.probes_port == port
        assert (await request(port, "/metrics")).status == 200
        assert (await request(port, "/readyz")).status == 200


async def test_start_twice_is_an_error(server: HttpServer) -> None:
    """A started server refuses to start again."""
    with pytest.raises(RuntimeError, match="already started"):
        await server.start()


def test_needs_a_listener() -> None:
    """With neither address there is nothing to serve."""
    with pytest.raises(ValueError, match="at least one"):
        HttpServer(
            metrics=Checks().metrics,
            healthy=lambda: True,
            ready=lambda: True,
            metrics_bind=None,
            probes_bind=None,
        )
