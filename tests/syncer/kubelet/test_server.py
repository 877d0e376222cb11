"""Tests for syncer.kubelet.server: client certificates, routing, 404 before any host request.

The server runs for real (TLS on loopback, a kubelet-client CA and client
certificate from the local control plane's PKI); the host side is a dialer
that records whether it was asked, or points at a closed port.  The relay to
a real host API server is tested end to end in tests/e2e/test_kubelet_*.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from prometheus_client import CollectorRegistry

from syncer.activity import ActivityTracker, CounterActivity
from syncer.binds import BindAddress
from syncer.kube import Dial
from syncer.kubelet.metrics import KubeletMetrics
from syncer.kubelet.resolve import PodResolver
from syncer.kubelet.server import KubeletServer
from syncer.kubelet.tls import server_context
from syncer.kubelet.upstream import HostPods
from syncer.localcluster.pki import KubeletClientPKI, kubelet_client
from tests.syncer.kubelet.test_resolve import twins
from tests.syncer.translate_support import TRANSLATOR


class ClosedPortDialer:
    """A host API server address nothing listens on; counts how often it was asked."""

    def __init__(self) -> None:
        self.calls = 0
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]

    async def dial(self) -> Dial:
        self.calls += 1
        return Dial(
            server=f"http://127.0.0.1:{self.port}", ssl=None, server_hostname=None, headers={}
        )


class HeldDialer(ClosedPortDialer):
    """Holds every dial until :attr:`release` is set: a request stays in flight meanwhile."""

    def __init__(self) -> None:
        super().__init__()
        self.release = asyncio.Event()
        self._arrived = asyncio.Condition()

    async def dial(self) -> Dial:
        dial = await super().dial()
        async with self._arrived:
            self._arrived.notify_all()
        await self.release.wait()
        return dial

    async def reached(self, calls: int) -> None:
        """Return once ``calls`` dials are waiting (10 s at most)."""
        async with asyncio.timeout(10), self._arrived:
            await self._arrived.wait_for(lambda: self.calls >= calls)


class Running:
    def __init__(
        self, *, server: KubeletServer, dialer: ClosedPortDialer, registry: CollectorRegistry
    ):
        self.server, self.dialer, self.registry = server, dialer, registry

    def url(self, path: str) -> str:
        return f"https://127.0.0.1:{self.server.port}{path}"

    def count(self, verb: str, code: int) -> float:
        labels = {"verb": verb, "code": str(code)}
        return self.registry.get_sample_value("vsyncer_kubelet_requests_total", labels) or 0.0


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> KubeletClientPKI:
    return kubelet_client(tmp_path_factory.mktemp("kubelet-pki"), cluster="virtual")


@contextlib.asynccontextmanager
async def _serving(
    pki: KubeletClientPKI, *, dialer: ClosedPortDialer, **limits: float
) -> AsyncIterator[Running]:
    registry = CollectorRegistry()
    host_pods, virtual_pods = twins("shop", "web")
    server = KubeletServer(
        bind=BindAddress("127.0.0.1", 0),
        ssl_context=server_context(
            client_ca=pki.ca.cert, cert=None, key=None, hosts=("127.0.0.1",)
        ),
        resolver=PodResolver(translator=TRANSLATOR, host_pods=host_pods, virtual_pods=virtual_pods),
        host=HostPods(client=dialer),
        metrics=KubeletMetrics(registry=registry),
        **limits,  # type: ignore[arg-type]
    )
    await server.start()
    try:
        yield Running(server=server, dialer=dialer, registry=registry)
    finally:
        await server.stop()


@pytest.fixture
async def running(pki: KubeletClientPKI) -> AsyncIterator[Running]:
    async with _serving(pki, dialer=ClosedPortDialer()) as made:
        yield made


def _client_ssl(cert: Path | None = None, key: Path | None = None) -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # the server's certificate is self-signed
    if cert is not None:
        ctx.load_cert_chain(cert, keyfile=key)
    return ctx


async def _call(
    url: str, ctx: ssl.SSLContext, *, method: str = "GET", headers: dict[str, str] | None = None
) -> tuple[int, str]:
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, url, ssl=ctx, headers=headers) as resp,
    ):
        return resp.status, await resp.text()


PATHS = [
    "/containerLogs/shop/web/app",
    "/exec/shop/web/app?command=id&output=1",
    "/attach/shop/web/app",
    "/portForward/shop/web",
    "/pods",
    "/stats/summary",
]


@pytest.mark.parametrize("path", PATHS)
async def test_without_a_client_certificate_every_path_is_401(running: Running, path: str) -> None:
    """No certificate → 401 before routing, and the host is never asked."""
    status, body = await _call(running.url(path), _client_ssl())
    assert (status, body) == (401, "Unauthorized\n")
    assert running.dialer.calls == 0


async def test_a_caller_without_a_certificate_is_no_tenant_activity(running: Running) -> None:
    """401s are counted apart: the sleep mode's activity poll sees no growth from them."""
    tracker = ActivityTracker(registry=CollectorRegistry())
    poll = CounterActivity(
        tracker=tracker,
        registry=running.registry,
        family="vsyncer_kubelet_requests",
        source="kubelet",
    )
    for path in PATHS:
        assert (await _call(running.url(path), _client_ssl()))[0] == 401
    poll.poll()
    assert tracker.sources == {}
    unauthorized = running.registry.get_sample_value("vsyncer_kubelet_unauthorized_total")
    assert unauthorized == len(PATHS)


async def test_a_verified_client_is_tenant_activity(
    running: Running, pki: KubeletClientPKI
) -> None:
    """The other side of the rule above: a request with the client certificate is counted."""
    tracker = ActivityTracker(registry=CollectorRegistry())
    poll = CounterActivity(
        tracker=tracker,
        registry=running.registry,
        family="vsyncer_kubelet_requests",
        source="kubelet",
    )
    ctx = _client_ssl(pki.client.cert, pki.client.key)
    assert (await _call(running.url("/pods"), ctx))[0] == 404
    poll.poll()
    assert tracker.sources == {"kubelet": 1}


async def test_a_certificate_of_another_ca_fails_the_handshake(
    running: Running, tmp_path: Path
) -> None:
    """A client certificate the kubelet-client CA did not sign is refused by TLS itself."""
    other = kubelet_client(tmp_path, cluster="other")
    with pytest.raises(aiohttp.ClientError):
        await _call(running.url(PATHS[0]), _client_ssl(other.client.cert, other.client.key))
    assert running.dialer.calls == 0


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/pods", 404),
        ("GET", "/containerLogs/shop/web", 404),
        ("GET", "/exec/shop/web", 404),
        ("GET", "/run/shop/web/app", 404),
        ("POST", "/containerLogs/shop/web/app", 405),
        ("DELETE", "/exec/shop/web/app", 405),
    ],
)
async def test_other_paths_are_refused(
    running: Running, pki: KubeletClientPKI, method: str, path: str, status: int
) -> None:
    """Only the four kubelet endpoints exist."""
    ctx = _client_ssl(pki.client.cert, pki.client.key)
    got, _ = await _call(running.url(path), ctx, method=method)
    assert got == status
    assert running.dialer.calls == 0
    assert running.count("other", status) == 1


_NO_TWIN = "has no copy on the host cluster"
_NOT_A_CONTAINER = "is not a container of pod"


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/containerLogs/shop/ghost/app", _NO_TWIN),
        ("/containerLogs/other/web/app", _NO_TWIN),
        ("/portForward/shop/ghost", _NO_TWIN),
        ("/exec/Shop/web/app", _NO_TWIN),
        ("/containerLogs/shop/web/istio-proxy", _NOT_A_CONTAINER),
        ("/exec/shop/web/istio-proxy?command=id&output=1", _NOT_A_CONTAINER),
        ("/attach/shop/web/debugger", _NOT_A_CONTAINER),
        ("/exec/shop/web/App?command=id&output=1", _NOT_A_CONTAINER),
    ],
)
async def test_an_unknown_pod_or_container_is_404_without_a_host_request(
    running: Running, pki: KubeletClientPKI, path: str, reason: str
) -> None:
    """A pod without a host twin, or a container not in the virtual pod's spec (a host-only
    one), is answered 404 here; the host API server is never dialled."""
    headers = {"Connection": "Upgrade", "Upgrade": "SPDY/3.1"}
    status, body = await _call(
        running.url(path), _client_ssl(pki.client.cert, pki.client.key), headers=headers
    )
    assert status == 404
    assert reason in body
    assert running.dialer.calls == 0


async def test_exec_without_an_upgrade_is_400(running: Running, pki: KubeletClientPKI) -> None:
    """exec, attach and portForward are upgraded connections only."""
    status, body = await _call(
        running.url("/exec/shop/web/app?command=id"), _client_ssl(pki.client.cert, pki.client.key)
    )
    assert status == 400
    assert "upgrade" in body
    assert running.count("exec", 400) == 1


@pytest.mark.parametrize(
    "path", ["/containerLogs/shop/web/app?follow=true", "/exec/shop/web/app?command=id"]
)
async def test_an_unreachable_host_is_503_with_the_reason(
    running: Running, pki: KubeletClientPKI, path: str
) -> None:
    """A synced pod whose host API server cannot be reached: 503 naming the host, no hang."""
    headers = {"Connection": "Upgrade", "Upgrade": "SPDY/3.1"}
    status, body = await _call(
        running.url(path), _client_ssl(pki.client.cert, pki.client.key), headers=headers
    )
    assert status == 503
    assert "cannot reach the host API server" in body
    assert running.dialer.calls == 1


async def test_past_the_per_endpoint_limit_is_429_and_other_endpoints_go_on(
    pki: KubeletClientPKI,
) -> None:
    """max_streams=2: two log requests in flight, a third is 429 at once; exec is counted
    apart; when the two finish, a log request is served again."""
    dialer = HeldDialer()
    async with _serving(pki, dialer=dialer, max_streams=2) as running:
        ctx = _client_ssl(pki.client.cert, pki.client.key)
        logs = running.url("/containerLogs/shop/web/app?follow=true")
        held = [asyncio.ensure_future(_call(logs, ctx)) for _ in range(2)]
        await dialer.reached(2)  # both are at the host's door
        status, body = await _call(logs, ctx)
        assert (status, body) == (429, "too many containerLogs requests at once (at most 2)\n")
        assert running.dialer.calls == 2
        exec_ = running.url("/exec/shop/web/app?command=id&output=1")
        spdy = {"Connection": "Upgrade", "Upgrade": "SPDY/3.1"}
        exec_call = asyncio.ensure_future(_call(exec_, ctx, headers=spdy))
        await dialer.reached(3)  # exec got past the limit of logs
        dialer.release.set()
        assert [s for s, _ in await asyncio.gather(*held, exec_call)] == [503, 503, 503]
        assert (await _call(logs, ctx))[0] == 503
        assert running.count("containerLogs", 429) == 1


async def test_a_stalled_tls_handshake_is_cut(pki: KubeletClientPKI) -> None:
    """A peer that connects and sends nothing is disconnected after the handshake timeout."""
    async with _serving(pki, dialer=ClosedPortDialer(), handshake_timeout=0.5) as running:
        reader, writer = await asyncio.open_connection("127.0.0.1", running.server.port)
        started = asyncio.get_running_loop().time()
        try:
            assert await asyncio.wait_for(reader.read(), 10) == b""
        finally:
            writer.close()
        assert asyncio.get_running_loop().time() - started >= 0.4
