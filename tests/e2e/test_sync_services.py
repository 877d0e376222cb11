"""Services and endpoints end to end: host first, the virtual service carries the host address."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from syncer.daemon import Daemon
from syncer.errors import NotFound
from syncer.kube import KubeClient
from syncer.resources import ENDPOINTS, PODS, SERVICES
from syncer.translate import MANAGED_BY_LABEL, NAMESPACE_LABEL, OBJECT_UID_ANNOTATION
from tests.e2e.test_sync_support import (
    VCLUSTER,
    exists,
    gone,
    pod,
    run_syncer,
    translator,
    where,
)
from tests.kubehelpers import wait_for_object

KINDS = ("pods", "services", "endpoints", "configmaps", "secrets")


def service(name: str, **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "labels": {"tier": "front"}},
        "spec": {"ports": [{"name": "http", "port": 80, "targetPort": 8080}]},
    }
    body["spec"].update(spec)
    return body


def node_ports(obj: dict[str, Any]) -> list[int | None]:
    return [p.get("nodePort") for p in obj["spec"]["ports"]]


def has_cluster_ip(ip: str) -> Callable[[dict[str, Any]], bool]:
    return lambda obj: bool(obj["spec"]["clusterIP"] == ip)


def points_at(uid: str) -> Callable[[dict[str, Any]], bool]:
    return lambda obj: bool(obj["metadata"]["annotations"][OBJECT_UID_ANNOTATION] == uid)


def same_node_ports(other: dict[str, Any]) -> Callable[[dict[str, Any]], bool]:
    return lambda obj: node_ports(obj) == node_ports(other)


async def test_service_is_created_on_the_host_first_and_virtual_carries_its_address(
    namespace_with_sa: str,
    v_ns: str,
    host: KubeClient,
    virtual: KubeClient,
    host_kubeconfig: Path,
    virtual_kubeconfig: Path,
) -> None:
    """Selector translated; virtual clusterIP and nodePorts become the host's; host selects pods."""
    t = translator(namespace_with_sa)
    ns = namespace_with_sa
    async with run_syncer(
        host_namespace=ns,
        host_kubeconfig=host_kubeconfig,
        virtual_kubeconfig=virtual_kubeconfig,
        kinds=KINDS,
    ):
        v_web = await virtual.create(
            SERVICES, namespace=v_ns, body=service("web", selector={"app": "web"})
        )
        v_nodeport = await virtual.create(
            SERVICES,
            namespace=v_ns,
            body=service("edge", selector={"app": "web"}, type="NodePort"),
        )
        await virtual.create(PODS, namespace=v_ns, body=pod("web"))
        for v_svc in (v_web, v_nodeport):
            name = v_svc["metadata"]["name"]
            p_svc = await wait_for_object(
                host, SERVICES, namespace=ns, name=t.host_name(v_ns, name), predicate=where(bool)
            )
            assert p_svc is not None
            assert p_svc["spec"]["selector"] == {
                "app": "web",
                MANAGED_BY_LABEL: VCLUSTER,
                NAMESPACE_LABEL: v_ns,
            }
            p_ip = p_svc["spec"]["clusterIP"]
            v_now = await wait_for_object(
                virtual,
                SERVICES,
                namespace=v_ns,
                name=name,
                predicate=where(has_cluster_ip(p_ip)),
            )
            assert v_now is not None
            assert v_now["metadata"]["labels"] == {"tier": "front"}
            p_now = await wait_for_object(
                host,
                SERVICES,
                namespace=ns,
                name=t.host_name(v_ns, name),
                predicate=where(points_at(v_now["metadata"]["uid"])),
            )
            assert p_now is not None
            if p_svc["spec"]["type"] == "NodePort":
                await wait_for_object(
                    virtual,
                    SERVICES,
                    namespace=v_ns,
                    name=name,
                    predicate=where(same_node_ports(p_now)),
                )
        # The host's endpoints controller finds the host pod through the translated selector.
        p_pod = await wait_for_object(
            host,
            PODS,
            namespace=ns,
            name=t.host_name(v_ns, "web"),
            predicate=where(lambda o: bool(o.get("status", {}).get("podIP"))),
        )
        assert p_pod is not None
        await wait_for_object(
            host,
            ENDPOINTS,
            namespace=ns,
            name=t.host_name(v_ns, "web"),
            predicate=where(
                lambda o: any(
                    a.get("ip") == p_pod["status"]["podIP"]
                    for s in o.get("subsets") or []
                    for a in s.get("addresses") or []
                )
            ),
        )
        await virtual.delete(SERVICES, namespace=v_ns, name="web")
        await wait_for_object(
            host, SERVICES, namespace=ns, name=t.host_name(v_ns, "web"), predicate=gone
        )


async def test_endpoints_of_a_service_without_selector_are_copied(
    namespace_with_sa: str,
    v_ns: str,
    host: KubeClient,
    virtual: KubeClient,
    host_kubeconfig: Path,
    virtual_kubeconfig: Path,
) -> None:
    """Hand-made endpoints of a selector-less service reach the host; they go with the service."""
    t = translator(namespace_with_sa)
    ns = namespace_with_sa
    endpoints = {
        "apiVersion": "v1",
        "kind": "Endpoints",
        "metadata": {"name": "external"},
        "subsets": [{"addresses": [{"ip": "192.0.2.10"}], "ports": [{"name": "http", "port": 80}]}],
    }
    async with run_syncer(
        host_namespace=ns,
        host_kubeconfig=host_kubeconfig,
        virtual_kubeconfig=virtual_kubeconfig,
        kinds=KINDS,
    ):
        await virtual.create(SERVICES, namespace=v_ns, body=service("external"))
        await virtual.create(ENDPOINTS, namespace=v_ns, body=endpoints)
        p_ep = await wait_for_object(
            host,
            ENDPOINTS,
            namespace=ns,
            name=t.host_name(v_ns, "external"),
            predicate=where(lambda o: bool(o.get("subsets"))),
        )
        assert p_ep is not None
        assert p_ep["subsets"][0]["addresses"] == [{"ip": "192.0.2.10"}]
        # Once the virtual service carries the host address, the hand-made endpoints are
        # still there (restored if the endpoints controller removed them with the old one).
        p_svc = await wait_for_object(
            host,
            SERVICES,
            namespace=ns,
            name=t.host_name(v_ns, "external"),
            predicate=where(lambda o: bool(o["spec"].get("clusterIP"))),
        )
        assert p_svc is not None
        await wait_for_object(
            virtual,
            SERVICES,
            namespace=v_ns,
            name="external",
            predicate=where(has_cluster_ip(p_svc["spec"]["clusterIP"])),
        )
        await wait_for_object(
            virtual,
            ENDPOINTS,
            namespace=v_ns,
            name="external",
            predicate=where(lambda o: bool(o.get("subsets"))),
        )
        await virtual.delete(SERVICES, namespace=v_ns, name="external")
        await wait_for_object(
            host, ENDPOINTS, namespace=ns, name=t.host_name(v_ns, "external"), predicate=gone
        )


class _ApiServiceSeen:
    """An informer handler that sets ``event`` once default/kubernetes has ``ip``."""

    def __init__(self, ip: str) -> None:
        self.ip = ip
        self.event = asyncio.Event()

    def check(self, obj: Any) -> None:
        meta, spec = obj.get("metadata") or {}, obj.get("spec") or {}
        named = (meta.get("namespace"), meta.get("name")) == ("default", "kubernetes")
        if named and spec.get("clusterIP") == self.ip:
            self.event.set()

    def on_add(self, obj: Any) -> None:
        self.check(obj)

    def on_update(self, old: Any, new: Any) -> None:
        self.check(new)

    def on_delete(self, obj: Any) -> None:
        return None


async def _cached_with_ip(daemon: Daemon, ip: str) -> None:
    """Until the daemon's own virtual services cache shows default/kubernetes with ``ip``."""
    informer = daemon.informers[("virtual", "services")]
    seen = _ApiServiceSeen(ip)
    informer.add_handler(seen)
    current = informer.get("default", "kubernetes")
    if current is not None:
        seen.check(current)
    await seen.event.wait()


async def _restore_default_kubernetes(virtual: KubeClient) -> None:
    """Hand default/kubernetes back to the virtual API server, which re-creates it."""
    for resource in (ENDPOINTS, SERVICES):
        with contextlib.suppress(NotFound):
            await virtual.delete(resource, namespace="default", name="kubernetes")
    await wait_for_object(
        virtual, SERVICES, namespace="default", name="kubernetes", predicate=exists
    )


async def test_default_kubernetes_points_at_the_configured_host_service(
    namespace_with_sa: str,
    v_ns: str,
    host: KubeClient,
    virtual: KubeClient,
    host_kubeconfig: Path,
    virtual_kubeconfig: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """VSYNCER_VIRTUAL_SERVICE_HOST: virtual default/kubernetes takes that host Service's IP."""
    ns = namespace_with_sa
    t = translator(ns)
    api = await host.create(
        SERVICES,
        namespace=ns,
        body={
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "vc-api"},
            "spec": {"ports": [{"name": "https", "port": 443, "targetPort": 8443}]},
        },
    )
    ip = api["spec"]["clusterIP"]
    expected_subsets = [
        {"addresses": [{"ip": ip}], "ports": [{"name": "https", "port": 443, "protocol": "TCP"}]}
    ]
    monkeypatch.setenv("VSYNCER_VIRTUAL_SERVICE_HOST", "vc-api")
    try:
        async with run_syncer(
            host_namespace=ns,
            host_kubeconfig=host_kubeconfig,
            virtual_kubeconfig=virtual_kubeconfig,
            kinds=KINDS,
        ) as daemon:
            assert daemon.settings.virtual_service_host == "vc-api"
            v_api = await wait_for_object(
                virtual,
                SERVICES,
                namespace="default",
                name="kubernetes",
                predicate=where(has_cluster_ip(ip)),
            )
            assert v_api is not None
            assert [(p["name"], p["port"]) for p in v_api["spec"]["ports"]] == [("https", 443)]
            await wait_for_object(
                virtual,
                ENDPOINTS,
                namespace="default",
                name="kubernetes",
                predicate=where(lambda o: o.get("subsets") == expected_subsets),
            )
            # A pod created once the daemon's cache holds the new address is pointed at it.
            await asyncio.wait_for(_cached_with_ip(daemon, ip), 30)
            await virtual.create(PODS, namespace=v_ns, body=pod("client"))
            p_pod = await wait_for_object(
                host,
                PODS,
                namespace=ns,
                name=t.host_name(v_ns, "client"),
                predicate=where(lambda o: True),
            )
            assert p_pod is not None
            env = {e["name"]: e.get("value") for e in p_pod["spec"]["containers"][0]["env"]}
            assert env["KUBERNETES_SERVICE_HOST"] == ip
            assert env["KUBERNETES_SERVICE_PORT"] == "443"
            # The host Service is only read, never adopted or changed.
            after = await host.get(SERVICES, namespace=ns, name="vc-api")
            assert after["metadata"]["resourceVersion"] == api["metadata"]["resourceVersion"]
            assert MANAGED_BY_LABEL not in (after["metadata"].get("labels") or {})
    finally:
        await _restore_default_kubernetes(virtual)


async def test_shared_service_range_keeps_the_virtual_service_as_it_is(
    namespace_with_sa: str,
    v_ns: str,
    host: KubeClient,
    virtual: KubeClient,
    host_kubeconfig: Path,
    virtual_kubeconfig: Path,
) -> None:
    """Same service CIDR on both sides: the host takes the virtual IP; nothing is re-created."""
    t, ns = translator(namespace_with_sa), namespace_with_sa
    async with run_syncer(
        host_namespace=ns,
        host_kubeconfig=host_kubeconfig,
        virtual_kubeconfig=virtual_kubeconfig,
        kinds=KINDS,
    ):
        v_svcs = [
            await virtual.create(SERVICES, namespace=v_ns, body=service(f"s{i}", type=kind))
            for i, kind in enumerate(("ClusterIP", "NodePort", "ClusterIP"))
        ]
        for v_svc in v_svcs:
            name, uid = v_svc["metadata"]["name"], v_svc["metadata"]["uid"]
            p_svc = await wait_for_object(
                host, SERVICES, namespace=ns, name=t.host_name(v_ns, name), predicate=exists
            )
            assert p_svc is not None
            assert p_svc["spec"]["clusterIP"] == v_svc["spec"]["clusterIP"]
            assert points_at(uid)(p_svc)
            if v_svc["spec"]["type"] == "NodePort":
                await wait_for_object(
                    virtual,
                    SERVICES,
                    namespace=v_ns,
                    name=name,
                    predicate=where(same_node_ports(p_svc)),
                )
        for v_svc in v_svcs:
            now = await virtual.get(SERVICES, namespace=v_ns, name=v_svc["metadata"]["name"])
            assert now["metadata"]["uid"] == v_svc["metadata"]["uid"], "re-created"
