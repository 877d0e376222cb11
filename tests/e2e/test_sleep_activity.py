"""Sleep mode's activity tracking end to end: tenant writes count, controllers' do not."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from syncer.activity import KEEP_AWAKE_ANNOTATION, ActivityTracker
from syncer.daemon import Daemon
from syncer.kube import KubeClient
from syncer.resources import CONFIGMAPS, NAMESPACES, PODS, Resource
from tests.e2e.hostsnapshot import until
from tests.e2e.test_sync_support import pod, run_syncer
from tests.kubehelpers import wait_for_object

KINDS = ("pods", "configmaps", "secrets", "nodes", "events")
DEPLOYMENTS = Resource("apps", "v1", "deployments", "Deployment")


def tracker_of(daemon: Daemon) -> ActivityTracker:
    assert daemon.activity is not None
    return daemon.activity


def gauge(daemon: Daemon) -> float:
    value = daemon.metrics.registry.get_sample_value("vsyncer_last_activity_timestamp_seconds")
    assert value is not None
    return float(value)


def running(obj: dict[str, Any] | None) -> bool:
    return obj is not None and (obj.get("status") or {}).get("phase") == "Running"


async def test_tenant_writes_count_and_controllers_and_syncer_writes_do_not(
    namespace_with_sa: str,
    v_ns: str,
    virtual: KubeClient,
    host_kubeconfig: Path,
    virtual_kubeconfig: Path,
) -> None:
    """The start-up lists are no activity; a tenant's configmap and bare pod are; the pod's
    binding and status (vsyncer's writes) and a Deployment's pods (a controller's) are not."""
    async with run_syncer(
        host_namespace=namespace_with_sa,
        host_kubeconfig=host_kubeconfig,
        virtual_kubeconfig=virtual_kubeconfig,
        kinds=KINDS,
        sleep_after=3600,
    ) as daemon:
        tracker = tracker_of(daemon)
        assert tracker.sources == {}
        started = gauge(daemon)

        cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"}}
        await virtual.create(CONFIGMAPS, namespace=v_ns, body=cm)
        await until(lambda: tracker.sources.get("configmaps") == 1, what="the configmap counted")
        assert gauge(daemon) >= started

        await virtual.create(PODS, namespace=v_ns, body=pod("bare"))
        await wait_for_object(virtual, PODS, namespace=v_ns, name="bare", predicate=running)
        deployment = {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web"},
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "c", "image": "registry.example/web:1"}]},
                },
            },
        }
        await virtual.create(DEPLOYMENTS, namespace=v_ns, body=deployment)

        async def two_running() -> bool:
            listed = await virtual.list(PODS, namespace=v_ns, label_selector="app=web")
            return sum(running(p) for p in listed["items"]) == 2

        await until(two_running, what="the deployment's two pods running")
        assert tracker.sources.get("pods") == 1  # the bare pod's creation, nothing after it


async def test_a_keep_awake_namespace_keeps_the_cluster_awake(
    namespace_with_sa: str,
    v_ns: str,
    virtual: KubeClient,
    host_kubeconfig: Path,
    virtual_kubeconfig: Path,
) -> None:
    async with run_syncer(
        host_namespace=namespace_with_sa,
        host_kubeconfig=host_kubeconfig,
        virtual_kubeconfig=virtual_kubeconfig,
        kinds=KINDS,
        sleep_after=3600,
    ) as daemon:
        tracker = tracker_of(daemon)
        namespace = await virtual.get(NAMESPACES, namespace=None, name=v_ns)
        namespace["metadata"].setdefault("annotations", {})[KEEP_AWAKE_ANNOTATION] = "true"
        await virtual.update(NAMESPACES, namespace=None, name=v_ns, body=namespace)
        await until(lambda: v_ns in tracker.kept_awake_by, what="the namespace keeps it awake")
        assert tracker.idle_seconds() == 0
        namespace = await virtual.get(NAMESPACES, namespace=None, name=v_ns)
        del namespace["metadata"]["annotations"][KEEP_AWAKE_ANNOTATION]
        await virtual.update(NAMESPACES, namespace=None, name=v_ns, body=namespace)
        await until(lambda: v_ns not in tracker.kept_awake_by, what="it no longer does")
