"""Placement end to end: a tenant-set nodeName cannot skip the host node's taints, and a
runtime class cannot bring the host's tolerations, unless copied from the host or listed."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from syncer.errors import NotFound
from syncer.kube import KubeClient
from syncer.localcluster import ControlPlane
from syncer.resources import NODES, PODS, RUNTIMECLASSES
from tests.e2e.test_pod_boundary import refused_count, running
from tests.e2e.test_sync_support import (
    exists,
    get_or_none,
    pod,
    run_syncer,
    translator,
    wait_for_event,
    where,
)
from tests.kubehelpers import wait_for_object

Json = dict[str, Any]
KINDS = ("pods", "secrets", "configmaps", "nodes", "events", "runtimeclasses.node.k8s.io")
TAINT = {"key": "vsyncer.test/dedicated", "value": "platform", "effect": "NoSchedule"}
TOLERATION = {"key": "vsyncer.test/dedicated", "operator": "Exists"}


@contextlib.asynccontextmanager
async def host_node(
    host: KubeClient, control_plane: ControlPlane, *taints: Json
) -> AsyncIterator[str]:
    """A kwok host node with ``taints`` for the block, deleted afterwards."""
    name = f"placement-{secrets.token_hex(3)}"
    body = control_plane.kubelet.node(name)
    body["spec"] = {"taints": list(taints)}
    await host.create(NODES, namespace=None, body=body)
    try:
        yield name
    finally:
        await host.delete(NODES, namespace=None, name=name)


def runtime_class(name: str, **extra: Any) -> Json:
    return {
        "apiVersion": "node.k8s.io/v1",
        "kind": "RuntimeClass",
        "metadata": {"name": name, **extra},
        "handler": "runc",
    }


async def test_a_tenant_node_name_must_tolerate_the_host_nodes_taints(
    namespace_with_sa: str,
    v_ns: str,
    host: KubeClient,
    virtual: KubeClient,
    host_kubeconfig: Path,
    virtual_kubeconfig: Path,
    control_plane: ControlPlane,
) -> None:
    """nodeName of a NoSchedule-tainted host node: refused (node_taint) without a matching
    toleration, no host pod; with one, it runs there; once the taint goes, the refused pod
    is synced too (retried) and runs on that node."""
    t = translator(namespace_with_sa)
    async with (
        host_node(host, control_plane, TAINT) as node,
        run_syncer(
            host_namespace=namespace_with_sa,
            host_kubeconfig=host_kubeconfig,
            virtual_kubeconfig=virtual_kubeconfig,
            kinds=KINDS,
        ) as daemon,
    ):
        await virtual.create(PODS, namespace=v_ns, body=pod("intruder", nodeName=node))
        await virtual.create(
            PODS, namespace=v_ns, body=pod("guest", nodeName=node, tolerations=[TOLERATION])
        )
        event = await wait_for_event(virtual, namespace=v_ns, reason="SyncRefused", name="intruder")
        assert event["type"] == "Warning"
        assert (
            f"node '{node}' has the taint vsyncer.test/dedicated=platform:NoSchedule"
            in (event["message"])
        )
        p_guest = await wait_for_object(
            host, PODS, namespace=namespace_with_sa, name=t.host_name(v_ns, "guest"),
            predicate=where(running),
        )  # fmt: skip
        assert p_guest is not None
        assert p_guest["spec"]["nodeName"] == node
        p_intruder = t.host_name(v_ns, "intruder")
        assert await get_or_none(host, PODS, namespace=namespace_with_sa, name=p_intruder) is None
        assert refused_count(daemon, "node_taint") >= 1
        untainted = await host.get(NODES, namespace=None, name=node)
        untainted["spec"]["taints"] = []
        await host.update(NODES, namespace=None, name=node, body=untainted)
        p_pod = await wait_for_object(
            host, PODS, namespace=namespace_with_sa, name=p_intruder, predicate=exists, within=90
        )
        assert p_pod is not None
        assert p_pod["spec"]["nodeName"] == node


async def test_only_copied_or_listed_runtime_classes_reach_the_host(
    namespace_with_sa: str,
    v_ns: str,
    host: KubeClient,
    virtual: KubeClient,
    host_kubeconfig: Path,
    virtual_kubeconfig: Path,
) -> None:
    """A host class outside the copied selection (its scheduling tolerating a dedicated taint),
    named through a tenant-made virtual class: refused (runtime_class), no host pod; a copied
    class and a class listed in VSYNCER_POD_RUNTIME_CLASSES: the pod runs with it."""
    t = translator(namespace_with_sa)
    suffix = secrets.token_hex(3)
    shown = {"labels": {"vsyncer.test/tenant": suffix}}
    copied, hidden, listed = (f"{kind}-{suffix}" for kind in ("copied", "hidden", "listed"))
    host_classes = [
        runtime_class(copied, **shown),
        {**runtime_class(hidden), "scheduling": {"tolerations": [TOLERATION]}},
        runtime_class(listed),
    ]
    for body in host_classes:
        await host.create(RUNTIMECLASSES, namespace=None, body=body)
    try:
        for name in (hidden, listed):  # the tenant's own classes, for the virtual admission
            await virtual.create(RUNTIMECLASSES, namespace=None, body=runtime_class(name))
        async with run_syncer(
            host_namespace=namespace_with_sa,
            host_kubeconfig=host_kubeconfig,
            virtual_kubeconfig=virtual_kubeconfig,
            kinds=KINDS,
            from_host_label_selector=f"vsyncer.test/tenant={suffix}",
            pod_runtime_classes=(listed,),
        ) as daemon:
            await wait_for_object(
                virtual, RUNTIMECLASSES, namespace=None, name=copied, predicate=exists
            )
            for name in ("hidden", "copied", "listed"):
                body = pod(f"rc-{name}", runtimeClassName=f"{name}-{suffix}")
                await virtual.create(PODS, namespace=v_ns, body=body)
            event = await wait_for_event(
                virtual, namespace=v_ns, reason="SyncRefused", name="rc-hidden"
            )
            assert event["message"].startswith(f"spec.runtimeClassName: runtime class '{hidden}'")
            for name in ("copied", "listed"):
                p_pod = await wait_for_object(
                    host, PODS, namespace=namespace_with_sa, name=t.host_name(v_ns, f"rc-{name}"),
                    predicate=where(running),
                )  # fmt: skip
                assert p_pod is not None
                assert p_pod["spec"]["runtimeClassName"] == f"{name}-{suffix}"
            p_hidden = t.host_name(v_ns, "rc-hidden")
            assert await get_or_none(host, PODS, namespace=namespace_with_sa, name=p_hidden) is None
            assert refused_count(daemon, "runtime_class") >= 1
    finally:
        for cluster in (host, virtual):
            for name in (copied, hidden, listed):
                with contextlib.suppress(NotFound):
                    await cluster.delete(RUNTIMECLASSES, namespace=None, name=name)
