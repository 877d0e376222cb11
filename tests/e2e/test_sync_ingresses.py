"""Ingresses end to end: the host copy routes to the tenant's services with its TLS secret.

The TLS secret reaches the host only because the ingress names it (no pod
does), follows the ingress's changes, and goes with it; the host's
load-balancer status comes up; a backend naming an arbitrary object is refused
with a Warning event and never reaches the host.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path
from typing import Any

from syncer.kube import KubeClient
from syncer.resources import INGRESSES, SECRETS, SERVICES
from tests.e2e.hostsnapshot import refused
from tests.e2e.test_sync_networkpolicies import edit
from tests.e2e.test_sync_support import (
    exists,
    get_or_none,
    gone,
    run_syncer,
    translator,
    wait_for_event,
    where,
)
from tests.kubehelpers import wait_for_object

Json = dict[str, Any]
KINDS = ("services", "secrets", "ingresses.networking.k8s.io")
ADDRESS = {"ingress": [{"ip": "192.0.2.10"}]}


def service(name: str) -> Json:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name},
        "spec": {"selector": {"app": name}, "ports": [{"port": 80}]},
    }


def tls_secret(name: str) -> Json:
    data = {k: base64.b64encode(v).decode() for k, v in {"tls.crt": b"c", "tls.key": b"k"}.items()}
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name},
        "type": "kubernetes.io/tls",
        "data": data,
    }


def ingress(name: str, *, service: str, secret: str) -> Json:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {
            "name": name,
            "annotations": {"nginx.ingress.kubernetes.io/rewrite-target": "/"},
        },
        "spec": {
            "ingressClassName": "nginx",
            "tls": [{"hosts": ["shop.example"], "secretName": secret}],
            "rules": [
                {
                    "host": "shop.example",
                    "http": {
                        "paths": [
                            {
                                "path": "/",
                                "pathType": "Prefix",
                                "backend": {"service": {"name": service, "port": {"number": 80}}},
                            }
                        ]
                    },
                }
            ],
        },
    }


def repoint(service: str) -> Callable[[Json], None]:
    """An edit that sends the first path of an ingress to ``service``."""

    def change(obj: Json) -> None:
        obj["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"] = service

    return change


def backend_of(p_ingress: Json) -> str:
    return str(p_ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"])


async def test_an_ingress_routes_to_the_tenants_service_with_its_tls_secret(
    namespace_with_sa: str,
    v_ns: str,
    host: KubeClient,
    virtual: KubeClient,
    host_kubeconfig: Path,
    virtual_kubeconfig: Path,
) -> None:
    """Create → ingress, service, secret on the host; status up; update; delete → all gone."""
    ns, t = namespace_with_sa, translator(namespace_with_sa)
    p_name = t.host_name(v_ns, "shop")
    async with run_syncer(
        host_namespace=ns,
        host_kubeconfig=host_kubeconfig,
        virtual_kubeconfig=virtual_kubeconfig,
        kinds=KINDS,
    ):
        for name in ("web", "api"):
            await virtual.create(SERVICES, namespace=v_ns, body=service(name))
        for name in ("cert", "cert2"):
            await virtual.create(SECRETS, namespace=v_ns, body=tls_secret(name))
        await virtual.create(
            INGRESSES, namespace=v_ns, body=ingress("shop", service="web", secret="cert")
        )

        p_ingress = await wait_for_object(
            host, INGRESSES, namespace=ns, name=p_name, predicate=where(bool)
        )
        assert p_ingress is not None
        assert p_ingress["spec"]["ingressClassName"] == "nginx"
        assert backend_of(p_ingress) == t.host_name(v_ns, "web")
        assert p_ingress["spec"]["tls"][0]["secretName"] == t.host_name(v_ns, "cert")
        assert (
            p_ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/rewrite-target"]
            == "/"
        )
        # What it names is there: the service, and the secret, synced because the ingress names it.
        await wait_for_object(
            host, SERVICES, namespace=ns, name=t.host_name(v_ns, "web"), predicate=exists
        )
        p_secret = await wait_for_object(
            host, SECRETS, namespace=ns, name=t.host_name(v_ns, "cert"), predicate=exists
        )
        assert p_secret is not None
        assert p_secret["type"] == "kubernetes.io/tls"
        p_cert2 = t.host_name(v_ns, "cert2")
        assert await get_or_none(host, SECRETS, namespace=ns, name=p_cert2) is None

        # The host's ingress controller publishes an address: it comes up.
        p_ingress["status"] = {"loadBalancer": ADDRESS}
        await host.update_status(INGRESSES, namespace=ns, name=p_name, body=p_ingress)
        await wait_for_object(
            virtual,
            INGRESSES,
            namespace=v_ns,
            name="shop",
            predicate=where(lambda o: o.get("status", {}).get("loadBalancer") == ADDRESS),
        )

        # Someone points the host copy at another service: put back.
        await edit(host, INGRESSES, namespace=ns, name=p_name, change=repoint("kubernetes"))
        await wait_for_object(
            host,
            INGRESSES,
            namespace=ns,
            name=p_name,
            predicate=where(lambda o: backend_of(o) == t.host_name(v_ns, "web")),
        )

        # Virtual update: another service and certificate; the first certificate goes.
        v_ingress = await virtual.get(INGRESSES, namespace=v_ns, name="shop")
        changed = ingress("shop", service="api", secret="cert2")
        v_ingress["spec"] = changed["spec"]
        await virtual.update(INGRESSES, namespace=v_ns, name="shop", body=v_ingress)
        await wait_for_object(
            host,
            INGRESSES,
            namespace=ns,
            name=p_name,
            predicate=where(lambda o: backend_of(o) == t.host_name(v_ns, "api")),
        )
        await wait_for_object(host, SECRETS, namespace=ns, name=p_cert2, predicate=exists)
        await wait_for_object(
            host, SECRETS, namespace=ns, name=t.host_name(v_ns, "cert"), predicate=gone
        )

        await virtual.delete(INGRESSES, namespace=v_ns, name="shop")
        await wait_for_object(host, INGRESSES, namespace=ns, name=p_name, predicate=gone)
        await wait_for_object(host, SECRETS, namespace=ns, name=p_cert2, predicate=gone)


async def test_a_backend_naming_an_arbitrary_object_is_refused(
    namespace_with_sa: str,
    v_ns: str,
    host: KubeClient,
    virtual: KubeClient,
    host_kubeconfig: Path,
    virtual_kubeconfig: Path,
) -> None:
    """``backend.resource`` → Warning event SyncRefused, nothing on the host."""
    ns, t = namespace_with_sa, translator(namespace_with_sa)
    body = ingress("bad", service="web", secret="cert")
    body["spec"]["defaultBackend"] = {
        "resource": {"apiGroup": "example.com", "kind": "Bucket", "name": "data"}
    }
    async with run_syncer(
        host_namespace=ns,
        host_kubeconfig=host_kubeconfig,
        virtual_kubeconfig=virtual_kubeconfig,
        kinds=KINDS,
    ):
        await virtual.create(SECRETS, namespace=v_ns, body=tls_secret("cert"))
        await virtual.create(INGRESSES, namespace=v_ns, body=body)
        event = await wait_for_event(virtual, namespace=v_ns, reason="SyncRefused", name="bad")
        assert "spec.defaultBackend.resource" in event["message"]
        assert (
            await get_or_none(host, INGRESSES, namespace=ns, name=t.host_name(v_ns, "bad")) is None
        )
        # Its TLS secret is not kept for it either.
        assert (
            await get_or_none(host, SECRETS, namespace=ns, name=t.host_name(v_ns, "cert")) is None
        )


async def test_hosts_and_classes_outside_the_settings_are_refused(
    namespace_with_sa: str,
    v_ns: str,
    host: KubeClient,
    virtual: KubeClient,
    host_kubeconfig: Path,
    virtual_kubeconfig: Path,
) -> None:
    """With VSYNCER_INGRESS_HOSTS/_CLASSES: another tenant's host name and a class outside
    the list are refused (events, metric) and never reach the host, nor does their TLS
    secret; once the tenant moves the ingress to its own host name it is synced."""
    ns, t = namespace_with_sa, translator(namespace_with_sa)
    hijack = ingress("hijack", service="web", secret="cert")  # host shop.example
    classless = ingress("classless", service="web", secret="cert")
    classless["spec"]["rules"][0]["host"] = "shop.team-a.example"
    classless["spec"]["tls"][0]["hosts"] = ["shop.team-a.example"]
    del classless["spec"]["ingressClassName"]
    async with run_syncer(
        host_namespace=ns,
        host_kubeconfig=host_kubeconfig,
        virtual_kubeconfig=virtual_kubeconfig,
        kinds=KINDS,
        ingress_hosts=("*.team-a.example",),
        ingress_classes=("nginx",),
    ) as daemon:
        await virtual.create(SECRETS, namespace=v_ns, body=tls_secret("cert"))
        await virtual.create(INGRESSES, namespace=v_ns, body=hijack)
        await virtual.create(INGRESSES, namespace=v_ns, body=classless)
        event = await wait_for_event(virtual, namespace=v_ns, reason="SyncRefused", name="hijack")
        assert event["message"].startswith("spec.rules[0].host: host 'shop.example'")
        event = await wait_for_event(
            virtual, namespace=v_ns, reason="SyncRefused", name="classless"
        )
        assert event["message"].startswith("spec.ingressClassName:")
        assert refused(daemon, kind="ingresses.networking.k8s.io", reason="ingress_host") >= 1
        assert refused(daemon, kind="ingresses.networking.k8s.io", reason="ingress_class") >= 1
        for name in ("hijack", "classless"):
            p_name = t.host_name(v_ns, name)
            assert await get_or_none(host, INGRESSES, namespace=ns, name=p_name) is None
        assert (
            await get_or_none(host, SECRETS, namespace=ns, name=t.host_name(v_ns, "cert")) is None
        )

        def own_host(obj: Json) -> None:
            obj["spec"]["rules"][0]["host"] = "shop.team-a.example"
            obj["spec"]["tls"][0]["hosts"] = ["*.team-a.example"]

        await edit(virtual, INGRESSES, namespace=v_ns, name="hijack", change=own_host)
        p_ingress = await wait_for_object(
            host, INGRESSES, namespace=ns, name=t.host_name(v_ns, "hijack"), predicate=exists
        )
        assert p_ingress is not None
        assert p_ingress["spec"]["rules"][0]["host"] == "shop.team-a.example"
        await wait_for_object(
            host, SECRETS, namespace=ns, name=t.host_name(v_ns, "cert"), predicate=exists
        )
