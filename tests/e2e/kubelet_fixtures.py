"""Support for the kubelet API suites: one syncer serving the fake nodes' kubelet API per module.

Import the fixtures into a test module (``from tests.e2e.kubelet_fixtures import
tenant``).  The module gets a host namespace, the real daemon with every
built-in kind and its kubelet server on a free loopback port (trusting the
virtual API server's kubelet-client CA), a virtual namespace and a virtual pod
``web`` (containers ``app`` and ``side``) that is Running on a fake node which
advertises that server, and kwok log files of its own for the pod's host twin.
Everything is removed at the end of the module.

The daemon runs on uvloop in a thread of its own (:func:`syncer_on_uvloop`), as
``vsyncer run`` does: the relay of upgraded connections depends on the event
loop's transports, so it is tested on the loop production uses.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import socket
import ssl
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvloop

from syncer.daemon import Daemon
from syncer.kube import KubeClient
from syncer.localcluster import ControlPlane
from syncer.localcluster.kwok import PodLog
from syncer.localcluster.processes import free_port
from syncer.resources import CONFIGMAPS, NAMESPACES, NODES, PODS, SERVICEACCOUNTS
from syncer.settings import Settings
from tests.e2e.test_sync_support import (
    ALL_KINDS,
    VCLUSTER,
    exists,
    pod,
    tenant_namespace,
    translator,
)
from tests.kubehelpers import wait_for_object
from tests.owneranchors import create_owner_anchor_for

Json = dict[str, Any]
CONTAINERS = ("app", "side")


@dataclass(frozen=True, slots=True)
class Tenant:
    """The module's syncer, namespaces and running pod."""

    daemon: Daemon
    host_ns: str
    v_ns: str
    pod: str
    host_pod: str
    logs: dict[str, PodLog]
    kubelet_port: int
    kubeconfig: Path
    kubelet_address: str = "127.0.0.1"


def kubelet_tls(control_plane: ControlPlane, *, with_certificate: bool) -> ssl.SSLContext:
    """A client TLS context for calling vsyncer's kubelet port directly (its serving
    certificate is self-signed, so not verified), with the virtual API server's
    kubelet-client certificate or without any."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if with_certificate:
        v = control_plane.virtual
        ctx.load_cert_chain(v.kubelet_client_cert, keyfile=v.kubelet_client_key)
    return ctx


async def host_namespace(host: KubeClient) -> str:
    """A fresh host namespace, once its default service account and root CA exist."""
    name = f"h-{secrets.token_hex(4)}"
    body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
    await host.create(NAMESPACES, namespace=None, body=body)
    await wait_for_object(host, SERVICEACCOUNTS, namespace=name, name="default", predicate=exists)
    await wait_for_object(
        host, CONFIGMAPS, namespace=name, name="kube-root-ca.crt", predicate=exists
    )
    return name


#: Seconds the daemon's loop runs after it stops, for TLS closes under way (see below).
TLS_CLOSE_GRACE = 1.0


@contextlib.asynccontextmanager
async def syncer_on_uvloop(settings: Settings, *, within: float = 60.0) -> AsyncIterator[Daemon]:
    """The daemon running on uvloop in its own thread; yields once ready, stops it after.

    Its exit code must be 0.  The daemon's state is only read from this thread
    (``ready()``, its metrics registry); the stop request goes through its loop.
    """
    await create_owner_anchor_for(settings)
    daemon = Daemon(settings=settings)
    loops: list[asyncio.AbstractEventLoop] = []
    codes: list[int] = []

    async def main() -> None:
        loops.append(asyncio.get_running_loop())
        codes.append(await daemon.run(install_signals=False))

    def run() -> None:
        loop = uvloop.new_event_loop()
        try:
            loop.run_until_complete(main())
            # TLS connections closed at stop finish their close_notify exchange on the loop;
            # aiohttp's graceful-shutdown advice is to let the loop run a moment after closing
            # sessions, or uvloop reports each still-closing transport when the loop closes.
            loop.run_until_complete(asyncio.sleep(TLS_CLOSE_GRACE))
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            # libuv may still be closing the last sockets' handles (EBUSY); the daemon's own
            # exit code, asserted below, is what the tests judge.
            with contextlib.suppress(OSError):
                loop.close()

    thread = threading.Thread(target=run, name="vsyncer", daemon=True)
    thread.start()
    try:
        async with asyncio.timeout(within):
            while not daemon.ready()[0]:
                assert thread.is_alive(), f"daemon exited early with {codes}"
                await asyncio.sleep(0.05)  # a bounded readiness poll, not a guess
        yield daemon
    finally:
        if loops:
            loops[0].call_soon_threadsafe(daemon.request_stop)
        await asyncio.to_thread(thread.join, 60)
    assert codes == [0], daemon._failure


def _running(obj: Json | None) -> bool:
    return obj is not None and obj.get("status", {}).get("phase") == "Running"


async def running_virtual_pod(virtual: KubeClient, *, namespace: str, body: Json) -> Json:
    """Create ``body`` in the virtual cluster; return it once Running on a node."""
    await virtual.create(PODS, namespace=namespace, body=body)
    found = await wait_for_object(
        virtual,
        PODS,
        namespace=namespace,
        name=body["metadata"]["name"],
        predicate=lambda o: o is not None and _running(o) and bool(o["spec"].get("nodeName")),
    )
    assert found is not None
    return found


async def advertised(
    virtual: KubeClient, *, node: str, port: int, address: str = "127.0.0.1"
) -> None:
    """Wait until virtual node ``node`` advertises the kubelet server at ``address``:``port``."""

    def ours(obj: Json | None) -> bool:
        if obj is None:
            return False
        status = obj.get("status", {})
        addresses = {a["type"]: a["address"] for a in status.get("addresses", [])}
        return bool(
            status.get("daemonEndpoints", {}).get("kubeletEndpoint", {}).get("Port") == port
            and addresses.get("InternalIP") == address
        )

    await wait_for_object(virtual, NODES, namespace=None, name=node, predicate=ours)


def routable_address() -> str:
    """This machine's IPv4 address on its default route (no packet is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("198.51.100.1", 9))  # TEST-NET-2: routed by the default route only
        return str(probe.getsockname()[0])


@contextlib.asynccontextmanager
async def serving_tenant(
    control_plane: ControlPlane,
    host: KubeClient,
    virtual: KubeClient,
    *,
    address: str = "127.0.0.1",
) -> AsyncIterator[Tenant]:
    """A :class:`Tenant` whose kubelet server listens on, and is advertised at, ``address``."""
    host_kubeconfig = control_plane.host.kubeconfig
    virtual_kubeconfig = control_plane.virtual.kubeconfig
    host_ns = await host_namespace(host)
    port = free_port()
    try:
        settings = Settings(
            vcluster_name=VCLUSTER,
            host_namespace=host_ns,
            host_kubeconfig=host_kubeconfig,
            virtual_kubeconfig=virtual_kubeconfig,
            kinds=ALL_KINDS,
            metrics_bind="127.0.0.1:0",
            probes_bind="127.0.0.1:0",
            shutdown_grace=10,
            kubelet_bind=f"{address}:{port}",
            kubelet_address=address,
            kubelet_client_ca=control_plane.virtual.kubelet_client_ca,
        )
        async with syncer_on_uvloop(settings) as daemon, tenant_namespace(virtual) as v_ns:
            containers = [{"name": c, "image": "registry.example/app:1"} for c in CONTAINERS]
            v_pod = await running_virtual_pod(
                virtual, namespace=v_ns, body=pod("web", containers=containers)
            )
            await advertised(virtual, node=v_pod["spec"]["nodeName"], port=port, address=address)
            host_pod = translator(host_ns).host_name(v_ns, "web")
            logs = await asyncio.to_thread(
                control_plane.kubelet.pod_log,
                namespace=host_ns,
                pod=host_pod,
                containers=CONTAINERS,
            )
            yield Tenant(
                daemon=daemon,
                host_ns=host_ns,
                v_ns=v_ns,
                pod="web",
                host_pod=host_pod,
                logs=logs,
                kubelet_port=port,
                kubeconfig=virtual_kubeconfig,
                kubelet_address=address,
            )
    finally:
        await host.delete(NAMESPACES, namespace=None, name=host_ns)


@pytest.fixture(scope="module")
async def tenant(
    control_plane: ControlPlane, host: KubeClient, virtual: KubeClient
) -> AsyncIterator[Tenant]:
    """The module's tenant, its kubelet server on loopback."""
    async with serving_tenant(control_plane, host, virtual) as made:
        yield made
