"""Isolation mode end to end: a pod over the host quota waits, reported, and syncs once it frees."""

from __future__ import annotations

from pathlib import Path

from syncer.isolation_objects import LIMITRANGES, RESOURCEQUOTAS
from syncer.kube import KubeClient
from syncer.resources import PODS
from tests.e2e.hostsnapshot import refused
from tests.e2e.test_sync_support import (
    VCLUSTER,
    exists,
    get_or_none,
    gone,
    pod,
    run_syncer,
    translator,
    wait_for_event,
    where,
)
from tests.kubehelpers import wait_for_object

KINDS = ("pods", "configmaps", "secrets", "nodes", "events")


async def test_a_pod_over_quota_waits_and_syncs_once_quota_frees(
    namespace_with_sa: str,
    v_ns: str,
    host: KubeClient,
    virtual: KubeClient,
    host_kubeconfig: Path,
    virtual_kubeconfig: Path,
) -> None:
    """Quota of one pod: the second pod gets a SyncError naming the quota, is not lost, and
    is created on the host (with the LimitRange's defaults) once the first one is deleted."""
    ns = namespace_with_sa
    t = translator(ns)
    async with run_syncer(
        host_namespace=ns,
        host_kubeconfig=host_kubeconfig,
        virtual_kubeconfig=virtual_kubeconfig,
        kinds=KINDS,
        isolation=True,
        isolation_quota=("count/pods=1",),
    ) as daemon:
        await wait_for_object(
            host,
            RESOURCEQUOTAS,
            namespace=ns,
            name=f"vc-{VCLUSTER}",
            predicate=where(
                lambda q: (q.get("status") or {}).get("hard", {}).get("count/pods") == "1"
            ),
        )
        await virtual.create(PODS, namespace=v_ns, body=pod("first"))
        first = await wait_for_object(
            host, PODS, namespace=ns, name=t.host_name(v_ns, "first"), predicate=exists
        )
        assert first is not None
        requests = first["spec"]["containers"][0]["resources"]["requests"]
        assert requests["cpu"] == "100m"  # the LimitRange's default reached the tenant's pod
        assert await host.get(LIMITRANGES, namespace=ns, name=f"vc-{VCLUSTER}")

        await virtual.create(PODS, namespace=v_ns, body=pod("second"))
        warning = await wait_for_event(virtual, namespace=v_ns, reason="SyncError", name="second")
        assert warning["type"] == "Warning"
        assert "exceeded quota" in warning["message"]
        assert refused(daemon, kind="pods", reason="quota_exceeded") >= 1
        second = t.host_name(v_ns, "second")
        assert await get_or_none(host, PODS, namespace=ns, name=second) is None

        await virtual.delete(PODS, namespace=v_ns, name="first", grace_period_seconds=0)
        await wait_for_object(
            host, PODS, namespace=ns, name=t.host_name(v_ns, "first"), predicate=gone
        )
        # The retry backs off from 1 s doubling to at most 60 s: well inside two minutes.
        await wait_for_object(host, PODS, namespace=ns, name=second, predicate=exists, within=120)
        assert daemon.healthy()
        v_second = await virtual.get(PODS, namespace=v_ns, name="second")
        assert v_second["metadata"].get("deletionTimestamp") is None
