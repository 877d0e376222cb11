"""Service traffic hijacks are refused end to end: a Warning event, and nothing on the host."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from syncer.errors import Invalid
from syncer.kube import KubeClient
from syncer.resources import ENDPOINTS, NODES, SERVICES
from tests.e2e.test_sync_support import (
    exists,
    get_or_none,
    run_syncer,
    translator,
    wait_for_event,
    where,
)
from tests.kubehelpers import wait_for_object

Json = dict[str, Any]
KINDS = ("services", "endpoints", "nodes")


def service(name: str, **spec: Any) -> Json:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name},
        "spec": {"ports": [{"name": "http", "port": 80}], **spec},
    }


def endpoints(name: str, ip: str) -> Json:
    return {
        "apiVersion": "v1",
        "kind": "Endpoints",
        "metadata": {"name": name},
        "subsets": [{"addresses": [{"ip": ip}], "ports": [{"name": "http", "port": 80}]}],
    }


async def node_ip(host: KubeClient) -> str:
    """An address of a kwok node of the host cluster."""
    listed = await host.list(NODES, namespace=None)
    for node in listed["items"]:
        for address in (node.get("status") or {}).get("addresses") or []:
            if address.get("type") == "InternalIP":
                return str(address["address"])
    raise AssertionError("no host node has an InternalIP")


async def test_hostile_inputs_are_refused_and_allowed_ones_pass(
    namespace_with_sa: str,
    v_ns: str,
    host: KubeClient,
    virtual: KubeClient,
    host_kubeconfig: Path,
    virtual_kubeconfig: Path,
) -> None:
    """externalIPs = the host kubernetes IP, Endpoints to it or to a node: SyncRefused, no copy."""
    ns, t = namespace_with_sa, translator(namespace_with_sa)
    host_api = await host.get(SERVICES, namespace="default", name="kubernetes")
    api_ip = host_api["spec"]["clusterIP"]
    kwok_ip = await node_ip(host)
    async with run_syncer(
        host_namespace=ns,
        host_kubeconfig=host_kubeconfig,
        virtual_kubeconfig=virtual_kubeconfig,
        kinds=KINDS,
        service_external_ip_cidrs=("192.0.2.0/24",),
    ):
        # externalIPs: the host's own API server address is refused; an allowed one passes.
        await virtual.create(SERVICES, namespace=v_ns, body=service("grab", externalIPs=[api_ip]))
        event = await wait_for_event(virtual, namespace=v_ns, reason="SyncRefused", name="grab")
        assert event["type"] == "Warning"
        assert event["message"].startswith(f"spec.externalIPs[0]: {api_ip} ")
        assert (
            await get_or_none(host, SERVICES, namespace=ns, name=t.host_name(v_ns, "grab")) is None
        )
        await virtual.create(
            SERVICES, namespace=v_ns, body=service("edge", externalIPs=["192.0.2.50"])
        )
        p_edge = await wait_for_object(
            host, SERVICES, namespace=ns, name=t.host_name(v_ns, "edge"), predicate=exists
        )
        assert p_edge is not None
        assert p_edge["spec"]["externalIPs"] == ["192.0.2.50"]
        # Endpoints of selector-less services: the API server's IP and a node's are refused.
        for name, ip, why in (("to-api", api_ip, "service CIDR"), ("to-node", kwok_ip, "node")):
            await virtual.create(SERVICES, namespace=v_ns, body=service(name))
            await wait_for_object(
                host, SERVICES, namespace=ns, name=t.host_name(v_ns, name), predicate=exists
            )
            await virtual.create(ENDPOINTS, namespace=v_ns, body=endpoints(name, ip))
            event = await wait_for_event(virtual, namespace=v_ns, reason="SyncRefused", name=name)
            assert event["involvedObject"]["kind"] == "Endpoints"
            assert event["message"].startswith(f"subsets[0].addresses[0].ip: {ip} ")
            assert why in event["message"]
            p_name = t.host_name(v_ns, name)
            assert await get_or_none(host, ENDPOINTS, namespace=ns, name=p_name) is None
        # An allowed address is copied.
        await virtual.create(SERVICES, namespace=v_ns, body=service("outside"))
        await virtual.create(ENDPOINTS, namespace=v_ns, body=endpoints("outside", "192.0.2.10"))
        await wait_for_object(
            host,
            ENDPOINTS,
            namespace=ns,
            name=t.host_name(v_ns, "outside"),
            predicate=where(lambda o: bool(o.get("subsets"))),
        )
        # A refused update leaves the host copy as it was.
        current = await virtual.get(ENDPOINTS, namespace=v_ns, name="outside")
        current["subsets"][0]["addresses"] = [{"ip": api_ip}]
        await virtual.update(ENDPOINTS, namespace=v_ns, name="outside", body=current)
        event = await wait_for_event(virtual, namespace=v_ns, reason="SyncRefused", name="outside")
        p_ep = await host.get(ENDPOINTS, namespace=ns, name=t.host_name(v_ns, "outside"))
        assert p_ep["subsets"][0]["addresses"] == [{"ip": "192.0.2.10"}]


@pytest.mark.parametrize("ip", ["127.0.0.1", "169.254.169.254"])
async def test_loopback_and_link_local_endpoints_never_exist_in_virtual(
    v_ns: str, virtual: KubeClient, ip: str
) -> None:
    """The virtual API server refuses these itself (the syncer refuses them too, see unit tests)."""
    await virtual.create(SERVICES, namespace=v_ns, body=service("local"))
    with pytest.raises(Invalid):
        await virtual.create(ENDPOINTS, namespace=v_ns, body=endpoints("local", ip))
