"""DaemonSets in the virtual cluster: fake nodes lose the admission's not-ready taint once
Ready, so the virtual daemonset controller places a daemon pod there and it runs on the host."""

from __future__ import annotations

from pathlib import Path

from mappers.nodetaints import NOT_READY, UNREACHABLE
from syncer.kube import KubeClient
from syncer.localcluster.cluster import VIRTUAL_DISABLED
from syncer.resources import NODES, PODS, Resource
from tests.e2e.test_sync_support import (
    ALL_KINDS,
    pod,
    run_syncer,
    translator,
    where,
)
from tests.kubehelpers import wait_for_object

DAEMONSETS = Resource("apps", "v1", "daemonsets", "DaemonSet")


def _running(obj: dict[str, object]) -> bool:
    status = obj.get("status")
    return isinstance(status, dict) and status.get("phase") == "Running"


def _untainted(obj: dict[str, object]) -> bool:
    spec = obj.get("spec")
    taints = (spec.get("taints") or []) if isinstance(spec, dict) else []
    return not any(t.get("key") in (NOT_READY, UNREACHABLE) for t in taints)


def _daemonset(name: str) -> dict[str, object]:
    return {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": name},
        "spec": {
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": pod(name)["spec"]},
        },
    }


async def test_a_daemonset_runs_on_the_fake_node(
    namespace_with_sa: str,
    v_ns: str,
    host: KubeClient,
    virtual: KubeClient,
    host_kubeconfig: Path,
    virtual_kubeconfig: Path,
) -> None:
    """One pod brings a fake node; it is Ready and untainted, so a DaemonSet's DESIRED ≥ 1
    and its daemon pod on that node is synced to the host and Running."""
    assert "daemonset-controller" not in VIRTUAL_DISABLED
    t = translator(namespace_with_sa)
    async with run_syncer(
        host_namespace=namespace_with_sa,
        host_kubeconfig=host_kubeconfig,
        virtual_kubeconfig=virtual_kubeconfig,
        kinds=ALL_KINDS,
    ):
        await virtual.create(PODS, namespace=v_ns, body=pod("web"))
        v_pod = await wait_for_object(
            virtual,
            PODS,
            namespace=v_ns,
            name="web",
            predicate=where(lambda o: _running(o) and bool(o["spec"].get("nodeName"))),
        )
        assert v_pod is not None
        node = v_pod["spec"]["nodeName"]
        fake = await wait_for_object(
            virtual, NODES, namespace=None, name=node, predicate=where(_untainted), within=30
        )
        assert fake is not None

        await virtual.create(DAEMONSETS, namespace=v_ns, body=_daemonset("agent"))
        ds = await wait_for_object(
            virtual,
            DAEMONSETS,
            namespace=v_ns,
            name="agent",
            predicate=where(lambda o: o.get("status", {}).get("desiredNumberScheduled", 0) >= 1),
            within=40,
        )
        assert ds is not None
        daemon = await _daemon_pod(virtual, namespace=v_ns, node=node)
        p_daemon = await wait_for_object(
            host,
            PODS,
            namespace=namespace_with_sa,
            name=t.host_name(v_ns, daemon),
            predicate=where(lambda o: _running(o) and o["spec"].get("nodeName") == node),
        )
        assert p_daemon is not None
        await wait_for_object(virtual, PODS, namespace=v_ns, name=daemon, predicate=where(_running))
        await virtual.delete(DAEMONSETS, namespace=v_ns, name="agent")
        await virtual.delete(PODS, namespace=v_ns, name="web", grace_period_seconds=0)


async def _daemon_pod(virtual: KubeClient, *, namespace: str, node: str) -> str:
    """The name of the DaemonSet's pod for ``node`` (matchFields on metadata.name)."""

    def on_node(obj: dict[str, object] | None) -> bool:
        return obj is not None and node in str(obj.get("spec"))

    listed = await virtual.list(PODS, namespace=namespace, label_selector="app=agent")
    for item in listed.get("items", []):
        if on_node(item):
            return str(item["metadata"]["name"])
    async for event in virtual.watch(
        PODS,
        namespace=namespace,
        resource_version=listed["metadata"]["resourceVersion"],
        timeout_seconds=30,
        label_selector="app=agent",
    ):
        if event["type"] in ("ADDED", "MODIFIED") and on_node(event["object"]):
            return str(event["object"]["metadata"]["name"])
    raise AssertionError(f"no daemon pod for node {node} in {namespace}")
