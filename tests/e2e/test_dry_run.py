"""The dry run end to end: the daemon reconciles real clusters, counts its writes, sends none."""

from __future__ import annotations

import asyncio
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from syncer.daemon import Daemon
from syncer.kube import KubeClient
from syncer.resources import CONFIGMAPS, PODS
from syncer.translate import MANAGED_BY_LABEL
from tests.e2e.test_sync_support import VCLUSTER, pod, run_syncer

KINDS = ("pods", "configmaps", "secrets")


def dry_run_writes(daemon: Daemon) -> dict[tuple[str, str, str], float]:
    """``vsyncer_dry_run_writes_total`` by (cluster, kind, verb), from the daemon's registry."""
    body, _ = daemon.metrics.render()
    return {
        (s.labels["cluster"], s.labels["kind"], s.labels["verb"]): s.value
        for family in text_string_to_metric_families(body.decode())
        for s in family.samples
        if s.name == "vsyncer_dry_run_writes_total"
    }


async def test_a_dry_run_counts_the_writes_it_would_make_and_makes_none(
    namespace_with_sa: str,
    v_ns: str,
    host: KubeClient,
    virtual: KubeClient,
    host_kubeconfig: Path,
    virtual_kubeconfig: Path,
) -> None:
    """A pod mounting a configmap: host creates of both are counted; the host namespace and
    the virtual pod stay as they were (no copy, no binding, no status, no event)."""
    async with run_syncer(
        host_namespace=namespace_with_sa,
        host_kubeconfig=host_kubeconfig,
        virtual_kubeconfig=virtual_kubeconfig,
        kinds=KINDS,
        dry_run=True,
    ) as daemon:
        settings = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"}}
        await virtual.create(CONFIGMAPS, namespace=v_ns, body={**settings, "data": {"a": "1"}})
        body = pod("web", volumes=[{"name": "s", "configMap": {"name": "settings"}}])
        await virtual.create(PODS, namespace=v_ns, body=body)
        wanted = {("host", "pods", "create"), ("host", "configmaps", "create")}
        async with asyncio.timeout(60):
            while True:  # a bounded poll of the daemon's own counter
                seen = {key for key, value in dry_run_writes(daemon).items() if value > 0}
                if wanted <= seen:
                    break
                await asyncio.sleep(0.1)
        managed = f"{MANAGED_BY_LABEL}={VCLUSTER}"
        for resource in (PODS, CONFIGMAPS):
            listed = await host.list(resource, namespace=namespace_with_sa, label_selector=managed)
            assert listed["items"] == [], resource.plural
        v_pod = await virtual.get(PODS, namespace=v_ns, name="web")
        assert not v_pod["spec"].get("nodeName")
        assert not v_pod.get("status", {}).get("conditions")
    counted = dry_run_writes(daemon)
    assert all(cluster in {"host", "virtual"} for cluster, _, _ in counted)
