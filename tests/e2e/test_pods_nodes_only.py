"""With only pods and nodes enabled, the kinds pods may read (secrets, configmaps, PVCs) are off:
the syncer starts, and a pod still runs on the host and reports back."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from syncer.kube import KubeClient
from syncer.pipeline import mapper_config
from syncer.resources import NODES, PODS
from tests.e2e.test_sync_support import (
    exists,
    pod,
    run_syncer,
    tenant_namespace,
    translator,
    where,
)
from tests.kubehelpers import wait_for_object


@pytest.fixture
async def v_ns(virtual: KubeClient) -> AsyncIterator[str]:
    async with tenant_namespace(virtual) as name:
        yield name


def _running(obj: dict[str, object]) -> bool:
    status = obj.get("status")
    spec = obj.get("spec")
    return (
        isinstance(status, dict)
        and status.get("phase") == "Running"
        and isinstance(spec, dict)
        and bool(spec.get("nodeName"))
    )


async def test_pods_sync_with_only_pods_and_nodes_enabled(
    namespace_with_sa: str,
    v_ns: str,
    host: KubeClient,
    virtual: KubeClient,
    host_kubeconfig: Path,
    virtual_kubeconfig: Path,
) -> None:
    """The host pod runs, the virtual pod is Running on a fake node."""
    t = translator(namespace_with_sa)
    async with run_syncer(
        host_namespace=namespace_with_sa,
        host_kubeconfig=host_kubeconfig,
        virtual_kubeconfig=virtual_kubeconfig,
        kinds=("pods", "nodes"),
    ) as daemon:
        await virtual.create(PODS, namespace=v_ns, body=pod("web"))
        p_pod = await wait_for_object(
            host,
            PODS,
            namespace=namespace_with_sa,
            name=t.host_name(v_ns, "web"),
            predicate=where(_running),
        )
        assert p_pod is not None
        v_pod = await wait_for_object(
            virtual, PODS, namespace=v_ns, name="web", predicate=where(_running)
        )
        assert v_pod is not None
        node = v_pod["spec"]["nodeName"]
        fake_node = await wait_for_object(
            virtual, NODES, namespace=None, name=node, predicate=exists
        )
        assert fake_node is not None
        # The fake node advertises this syncer's kubelet, not the host node's addresses.
        config = mapper_config(daemon.settings)
        assert fake_node["status"]["addresses"] == [
            {"type": "InternalIP", "address": config.kubelet_address},
            {"type": "Hostname", "address": node},
        ]
        port = config.kubelet_port
        assert fake_node["status"]["daemonEndpoints"] == {"kubeletEndpoint": {"Port": port}}
        p_node = await host.get(NODES, namespace=None, name=node)
        leaked = {a["address"] for a in p_node["status"].get("addresses", [])} - {node}
        assert not leaked & {a["address"] for a in fake_node["status"]["addresses"]}
        await virtual.delete(PODS, namespace=v_ns, name="web", grace_period_seconds=0)
