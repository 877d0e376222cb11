"""Isolation mode end to end: while its quota cannot be made, tenant pods wait and others sync.

A ResourceQuota that is not vsyncer's holds the name of isolation's own quota
(an admin's object, or what a host admission rule refusing ours amounts to):
the host namespace is not fenced, so no tenant pod may reach it.
"""

from __future__ import annotations

from pathlib import Path

from syncer.isolation_objects import RESOURCEQUOTAS, is_ours
from syncer.kube import KubeClient
from syncer.resources import PODS, SERVICES
from tests.e2e.hostsnapshot import refused, until
from tests.e2e.test_isolation import waiting_for_the_quota
from tests.e2e.test_sync_support import (
    VCLUSTER,
    exists,
    get_or_none,
    pod,
    run_syncer,
    translator,
    wait_for_event,
    where,
)
from tests.kubehelpers import wait_for_object

KINDS = ("pods", "services", "configmaps", "secrets", "nodes", "events")


async def test_pods_wait_while_the_quota_cannot_be_made_and_sync_once_it_is(
    namespace_with_sa: str,
    v_ns: str,
    host: KubeClient,
    virtual: KubeClient,
    host_kubeconfig: Path,
    virtual_kubeconfig: Path,
) -> None:
    """A foreign quota under isolation's name: a tenant pod gets a Warning event
    (isolation_pending) and stays off the host while a Service syncs, /readyz names the
    quota; once the foreign quota goes, vsyncer's is made and the pod reaches the host."""
    ns = namespace_with_sa
    name = f"vc-{VCLUSTER}"
    foreign = {
        "apiVersion": "v1",
        "kind": "ResourceQuota",
        "metadata": {"name": name},
        "spec": {"hard": {"pods": "100"}},
    }
    await host.create(RESOURCEQUOTAS, namespace=ns, body=foreign)
    t = translator(ns)
    async with run_syncer(
        host_namespace=ns,
        host_kubeconfig=host_kubeconfig,
        virtual_kubeconfig=virtual_kubeconfig,
        kinds=KINDS,
        isolation=True,
        cache_sync_timeout=2,
        ready=waiting_for_the_quota,
    ) as daemon:
        await virtual.create(PODS, namespace=v_ns, body=pod("web"))
        service = {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "front"},
            "spec": {"ports": [{"name": "http", "port": 80}]},
        }
        await virtual.create(SERVICES, namespace=v_ns, body=service)
        warning = await wait_for_event(virtual, namespace=v_ns, reason="SyncRefused", name="web")
        assert warning["type"] == "Warning"
        assert "not fenced yet" in warning["message"]
        assert refused(daemon, kind="pods", reason="isolation_pending") >= 1
        await wait_for_object(
            host, SERVICES, namespace=ns, name=t.host_name(v_ns, "front"), predicate=exists
        )  # other kinds proceed
        assert await get_or_none(host, PODS, namespace=ns, name=t.host_name(v_ns, "web")) is None

        await host.delete(RESOURCEQUOTAS, namespace=ns, name=name)
        await wait_for_object(
            host,
            RESOURCEQUOTAS,
            namespace=ns,
            name=name,
            predicate=where(lambda q: is_ours(q, vcluster=VCLUSTER)),
        )
        await wait_for_object(
            host, PODS, namespace=ns, name=t.host_name(v_ns, "web"), predicate=exists
        )
        await until(lambda: daemon.ready() == (True, ""), what="ready once fenced")
