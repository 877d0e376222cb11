"""Pods end to end: a pod the host cluster refuses (quota) is reported, never a crash loop."""

from __future__ import annotations

from pathlib import Path

from syncer.kube import KubeClient
from syncer.resources import PODS, Resource
from tests.e2e.test_sync_support import (
    get_or_none,
    pod,
    run_syncer,
    translator,
    wait_for_event,
)

KINDS = ("pods", "configmaps", "secrets", "nodes", "events")
RESOURCEQUOTAS = Resource("", "v1", "resourcequotas", "ResourceQuota")


async def test_a_pod_the_host_refuses_gets_a_warning_not_a_crash_loop(
    namespace_with_sa: str,
    v_ns: str,
    host: KubeClient,
    virtual: KubeClient,
    host_kubeconfig: Path,
    virtual_kubeconfig: Path,
) -> None:
    """Host admission refuses the pod (quota): a Warning in virtual; the syncer stays healthy."""
    quota = {
        "apiVersion": "v1",
        "kind": "ResourceQuota",
        "metadata": {"name": "no-pods"},
        "spec": {"hard": {"pods": "0"}},
    }
    await host.create(RESOURCEQUOTAS, namespace=namespace_with_sa, body=quota)
    async with run_syncer(
        host_namespace=namespace_with_sa,
        host_kubeconfig=host_kubeconfig,
        virtual_kubeconfig=virtual_kubeconfig,
        kinds=KINDS,
    ) as daemon:
        await virtual.create(PODS, namespace=v_ns, body=pod("refused"))
        warning = await wait_for_event(virtual, namespace=v_ns, reason="SyncError", name="refused")
        assert warning["type"] == "Warning"
        assert "rejected" in warning["message"]
        assert daemon.healthy()
        p_name = translator(namespace_with_sa).host_name(v_ns, "refused")
        assert await get_or_none(host, PODS, namespace=namespace_with_sa, name=p_name) is None
