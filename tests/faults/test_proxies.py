"""The TCP proxy and the fault-injecting HTTPS proxy, against local echo/HTTP servers."""

from __future__ import annotations

import asyncio
import random
import ssl
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from syncer.localcluster import pki
from tests.faults.certs import mint_serving_cert
from tests.faults.faultproxy import Fault, FaultPlan, FaultyApiProxy, Upstream, is_watch
from tests.faults.tcpproxy import TcpProxy

pytestmark = pytest.mark.faults


async def _echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(1024):
            writer.write(data)
            await writer.drain()
    except ConnectionResetError:
        pass
    writer.close()


async def _read_after_cut(reader: asyncio.StreamReader) -> bytes:
    """What a client reads from a cut connection: EOF, or ``b"reset"`` for a TCP reset."""
    try:
        return await asyncio.wait_for(reader.read(10), 5)
    except ConnectionResetError:
        return b"reset"


@pytest.fixture
async def echo_port() -> AsyncIterator[int]:
    server = await asyncio.start_server(_echo, "127.0.0.1", 0)
    yield int(server.sockets[0].getsockname()[1])
    server.close()


async def _until(check: Callable[[], bool], *, within: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)


async def test_tcp_proxy_relays_and_cuts(echo_port: int) -> None:
    """Bytes pass both ways; cut() ends open connections; new ones work afterwards."""
    proxy = await TcpProxy(upstream_host="127.0.0.1", upstream_port=echo_port).start()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
        writer.write(b"hello")
        assert await asyncio.wait_for(reader.readexactly(5), 5) == b"hello"
        await _until(lambda: proxy.open_connections == 1)
        assert proxy.cut() == 1
        assert await _read_after_cut(reader) in (b"", b"reset")
        writer.close()
        reader2, writer2 = await asyncio.open_connection("127.0.0.1", proxy.port)
        writer2.write(b"again")
        assert await asyncio.wait_for(reader2.readexactly(5), 5) == b"again"
        writer2.close()
    finally:
        await proxy.close()


async def test_tcp_proxy_delays_each_chunk(echo_port: int) -> None:
    """With ``delay`` set, a round trip takes at least the delay twice (one per direction)."""
    proxy = await TcpProxy(upstream_host="127.0.0.1", upstream_port=echo_port).start()
    proxy.delay = 0.2
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
        loop = asyncio.get_running_loop()
        started = loop.time()
        writer.write(b"x")
        await asyncio.wait_for(reader.readexactly(1), 5)
        assert loop.time() - started >= 0.4
        writer.close()
    finally:
        await proxy.close()


async def test_tcp_proxy_cut_every(echo_port: int) -> None:
    """cut_every keeps cutting on its period."""
    proxy = await TcpProxy(upstream_host="127.0.0.1", upstream_port=echo_port).start()
    task = asyncio.create_task(proxy.cut_every(0.05))
    try:
        await _until(lambda: proxy.cuts >= 3)
    finally:
        task.cancel()
        await proxy.close()


def test_fault_plan_shares_are_respected() -> None:
    """Over many draws the failing share and the before/after split match the plan."""
    plan = FaultPlan(share=0.1, after_share=0.5)
    rng = random.Random(7)
    fates = [plan.decide(rng, watch=False) for _ in range(20000)]
    failed = [f for f in fates if f[0] is not Fault.PASS]
    assert 0.08 < len(failed) / len(fates) < 0.12
    after = sum(1 for f, _ in failed if f is Fault.AFTER)
    assert 0.4 < after / len(failed) < 0.6
    assert {code for _, code in failed} == {429, 500, 503}
    watch_fates = {plan.decide(rng, watch=True)[0] for _ in range(2000)}
    assert Fault.AFTER not in watch_fates


@pytest.mark.parametrize(
    ("target", "watch"),
    [
        ("/api/v1/pods?watch=true&resourceVersion=1", True),
        ("/api/v1/pods?watch=1", True),
        ("/api/v1/pods?limit=500", False),
        ("/api/v1/namespaces/watch/pods", False),
    ],
)
def test_is_watch(target: str, watch: bool) -> None:
    """Only the watch query parameter makes a watch."""
    assert is_watch(target) is watch


class Upstream1:
    """A plain HTTP/1.1 server: POST counts a write; GET /stream answers chunked."""

    def __init__(self) -> None:
        self.writes = 0
        self.server: asyncio.Server | None = None

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:
                break
            line = head.split(b"\r\n", 1)[0].decode()
            method, target, _ = line.split(" ")
            length = 0
            for h in head.decode().split("\r\n")[1:]:
                if h.lower().startswith("content-length:"):
                    length = int(h.split(":")[1])
            body = await reader.readexactly(length)
            if method == "POST":
                self.writes += 1
            if target == "/stream":
                writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
                for part in (b"one\n", b"two\n"):
                    writer.write(f"{len(part):x}\r\n".encode() + part + b"\r\n")
                    await writer.drain()
                writer.write(b"0\r\n\r\n")
            else:
                out = b"ok:" + body
                writer.write(f"HTTP/1.1 200 OK\r\nContent-Length: {len(out)}\r\n\r\n".encode())
                writer.write(out)
            await writer.drain()
        writer.close()


@pytest.fixture
async def upstream() -> AsyncIterator[tuple[Upstream1, int]]:
    up = Upstream1()
    server = await asyncio.start_server(up.handle, "127.0.0.1", 0)
    yield up, int(server.sockets[0].getsockname()[1])
    server.close()


async def _request(
    port: int, ctx: ssl.SSLContext, requests: list[tuple[str, str, bytes]]
) -> list[tuple[int, bytes]]:
    """Send requests on one keep-alive connection; return (status, body) of each."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=ctx)
    answers = []
    for method, target, body in requests:
        writer.write(
            f"{method} {target} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        await writer.drain()
        head = (await reader.readuntil(b"\r\n\r\n")).decode()
        status = int(head.split(" ")[1])
        if "chunked" in head.lower():
            data = b""
            while True:
                size = int((await reader.readuntil(b"\r\n")).strip(), 16)
                chunk = await reader.readexactly(size + 2)
                if size == 0:
                    break
                data += chunk[:-2]
        else:
            length = int(head.lower().split("content-length:")[1].split("\r\n")[0])
            data = await reader.readexactly(length)
        answers.append((status, data))
    writer.close()
    return answers


@pytest.fixture
def tls(tmp_path: Path) -> tuple[pki.CertPair, ssl.SSLContext]:
    ca = pki.generate(tmp_path / "pki", cluster="t", service_ip="10.0.0.1").ca
    serving = mint_serving_cert(ca=ca, directory=tmp_path / "proxy")
    return serving, ssl.create_default_context(cafile=str(ca.cert))


@pytest.mark.parametrize(
    ("plan", "statuses", "writes"),
    [
        (FaultPlan(share=0.0), {200}, 3),
        (FaultPlan(share=1.0, after_share=0.0), {429, 500, 503}, 0),
        (FaultPlan(share=1.0, after_share=1.0), {429, 500, 503}, 3),
    ],
    ids=["pass", "before", "after"],
)
async def test_fault_proxy_before_and_after(
    upstream: tuple[Upstream1, int],
    tls: tuple[pki.CertPair, ssl.SSLContext],
    plan: FaultPlan,
    statuses: set[int],
    writes: int,
) -> None:
    """Before: nothing reaches the server. After: the write happened, the answer is an error."""
    up, port = upstream
    serving, ctx = tls
    proxy = await FaultyApiProxy(
        upstream=Upstream("127.0.0.1", port, None), serving=serving, plan=plan, seed=1
    ).start()
    try:
        answers = await _request(proxy.port, ctx, [("POST", "/w", b"abc")] * 3)
    finally:
        await proxy.close()
    assert {status for status, _ in answers} <= statuses
    assert up.writes == writes
    if plan.share == 0:
        assert answers == [(200, b"ok:abc")] * 3
    else:
        assert all(b'"kind":"Status"' in body for _, body in answers)


async def test_fault_proxy_relays_chunked_stream(
    upstream: tuple[Upstream1, int], tls: tuple[pki.CertPair, ssl.SSLContext]
) -> None:
    """A chunked answer is relayed whole, and the connection serves the next request."""
    _, port = upstream
    serving, ctx = tls
    proxy = await FaultyApiProxy(
        upstream=Upstream("127.0.0.1", port, None), serving=serving, plan=FaultPlan(), seed=1
    ).start()
    try:
        answers = await _request(proxy.port, ctx, [("GET", "/stream", b""), ("POST", "/w", b"z")])
    finally:
        await proxy.close()
    assert answers == [(200, b"one\ntwo\n"), (200, b"ok:z")]
    assert proxy.counts["pass"] == 2
