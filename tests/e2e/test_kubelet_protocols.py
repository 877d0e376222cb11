"""The kubelet API beyond SPDY from the virtual API server: WebSocket upgrades and ``nodes/proxy``.

kubectl ≥ 1.30 speaks WebSocket (``v5.channel.k8s.io``) to API servers; an API
server that passed it on to a kubelet would send vsyncer a WebSocket upgrade,
which is relayed like SPDY (upgrade forwarded, 101 relayed, bytes spliced).
``nodes/proxy`` on a fake node reaches vsyncer with the kubelet's own paths, so it
reaches exactly the four endpoints vsyncer serves and nothing of the host.  API
servers refuse to proxy to loopback addresses ("address not allowed"), so here the
fake nodes advertise, and vsyncer listens on, this machine's routable address.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import aiohttp
import pytest

from syncer.kube import KubeClient
from syncer.localcluster import ControlPlane
from syncer.localcluster.kwok import append_log
from syncer.resources import PODS
from tests.e2e.kubectl import kubectl
from tests.e2e.kubelet_fixtures import Tenant, kubelet_tls, routable_address, serving_tenant


@pytest.fixture(scope="module")
async def tenant(
    control_plane: ControlPlane, host: KubeClient, virtual: KubeClient
) -> AsyncIterator[Tenant]:
    """The module's tenant, its kubelet server on the machine's routable address."""
    address = routable_address()
    async with serving_tenant(control_plane, host, virtual, address=address) as made:
        yield made


async def test_a_websocket_exec_is_relayed(tenant: Tenant, control_plane: ControlPlane) -> None:
    """A WebSocket upgrade (``v5.channel.k8s.io``, as kubectl ≥ 1.30 speaks it) with the
    kubelet-client certificate: vsyncer relays the upgrade and its 101, and the frames
    carry the command's stdout and its Success status (channels 1 and 3)."""
    t = tenant
    ctx = kubelet_tls(control_plane, with_certificate=True)
    url = (
        f"https://{t.kubelet_address}:{t.kubelet_port}/exec/{t.v_ns}/{t.pod}/app"
        "?command=echo&command=hello&output=1&error=1"
    )
    channels: dict[int, bytes] = {}
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(url, ssl=ctx, protocols=("v5.channel.k8s.io",)) as ws,
    ):
        assert ws.protocol == "v5.channel.k8s.io"
        async with asyncio.timeout(30):
            while 3 not in channels:
                message = await ws.receive()
                assert message.type == aiohttp.WSMsgType.BINARY, message
                channel, data = message.data[0], message.data[1:]
                channels[channel] = channels.get(channel, b"") + data
    assert channels[1] == b"hello\n"
    assert json.loads(channels[3])["status"] == "Success", channels[3]


async def test_nodes_proxy_reaches_only_the_kubelet_endpoints(
    tenant: Tenant, virtual: KubeClient
) -> None:
    """``nodes/proxy`` on a fake node reaches vsyncer with the kubelet's own paths: a
    synced pod's containerLogs work; the kubelet's other endpoints (node data, which on
    the host would be shared with other tenants) and the host names of pods are 404."""
    t = tenant
    web = await virtual.get(PODS, namespace=t.v_ns, name=t.pod)
    proxy = f"/api/v1/nodes/{web['spec']['nodeName']}/proxy"
    append_log(t.logs["app"].current, "through the node proxy")
    got = await kubectl(
        "get",
        "--raw",
        f"{proxy}/containerLogs/{t.v_ns}/{t.pod}/app?tailLines=1",
        kubeconfig=t.kubeconfig,
    )
    assert (got.code, got.stdout) == (0, "through the node proxy\n"), got.stderr
    for path in (
        "/pods",
        "/runningpods/",
        "/healthz",
        "/stats/summary",
        "/metrics",
        "/metrics/resource",
        "/configz",
        "/logs/",
        f"/containerLogs/{t.host_ns}/{t.host_pod}/app",
    ):
        refused = await kubectl("get", "--raw", proxy + path, kubeconfig=t.kubeconfig)
        assert refused.code != 0, (path, refused.stdout)
        assert "NotFound" in refused.stderr, (path, refused.stderr)
