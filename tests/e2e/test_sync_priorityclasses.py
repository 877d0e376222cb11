"""toHost PriorityClasses end to end: host copies, the value cap, pods naming the host class.

Class names carry a token (cluster-scoped on both sides, so no two tests share
one); host copies are named after the test's own host namespace.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from mappers.priorityclasses_tohost import MAX_VALUE
from syncer.errors import NotFound
from syncer.kube import KubeClient
from syncer.resources import PODS, PRIORITYCLASSES
from syncer.translate import MANAGED_BY_LABEL
from tests.e2e.hostsnapshot import refused
from tests.e2e.test_sync_support import (
    exists,
    gone,
    pod,
    run_syncer,
    translator,
    wait_for_event,
    where,
)
from tests.kubehelpers import wait_for_object

Json = dict[str, Any]
KIND = PRIORITYCLASSES.qualified


def priority_class(name: str, value: int, **fields: Any) -> Json:
    return {
        "apiVersion": "scheduling.k8s.io/v1",
        "kind": "PriorityClass",
        "metadata": {"name": name, "labels": {"team": "a"}},
        "value": value,
        **fields,
    }


@pytest.fixture
async def classes(virtual: KubeClient) -> AsyncIterator[list[str]]:
    """Virtual class names to delete afterwards (their host copies go with them)."""
    made: list[str] = []
    yield made
    for name in made:
        with contextlib.suppress(NotFound):
            await virtual.delete(PRIORITYCLASSES, namespace=None, name=name)


async def test_classes_go_down_capped_and_pods_name_the_host_class(
    namespace_with_sa: str,
    v_ns: str,
    host: KubeClient,
    virtual: KubeClient,
    host_kubeconfig: Path,
    virtual_kubeconfig: Path,
    classes: list[str],
) -> None:
    """A class reaches the host under the cluster-scoped name, never as the global default;
    a pod naming it runs on the host with the host class's priority; a class at the cap is
    refused (event, metric) and a pod naming it waits until the tenant replaces the class
    with a lower one; deleting the virtual class deletes its copy."""
    token = secrets.token_hex(4)
    high, big = f"high-{token}", f"big-{token}"
    classes += [high, big]
    t = translator(namespace_with_sa)
    async with run_syncer(
        host_namespace=namespace_with_sa,
        host_kubeconfig=host_kubeconfig,
        virtual_kubeconfig=virtual_kubeconfig,
        kinds=("pods",),
        to_host_priority_classes=True,
    ) as daemon:
        assert KIND in daemon.syncs
        await virtual.create(
            PRIORITYCLASSES,
            namespace=None,
            body=priority_class(high, 1000, globalDefault=True, preemptionPolicy="Never"),
        )
        copy = await wait_for_object(
            host, PRIORITYCLASSES, namespace=None, name=t.host_cluster_name(high), predicate=exists
        )
        assert copy is not None
        assert copy["value"] == 1000
        assert copy["preemptionPolicy"] == "Never"
        assert copy.get("globalDefault") in (None, False)
        assert copy["metadata"]["labels"] == {"team": "a", MANAGED_BY_LABEL: "vc"}
        # The tenant's default stays virtual: drop it before other pods are made.
        await virtual.patch(
            PRIORITYCLASSES, namespace=None, name=high, body={"globalDefault": False}
        )

        await virtual.create(PODS, namespace=v_ns, body=pod("urgent", priorityClassName=high))
        p_pod = await wait_for_object(
            host,
            PODS,
            namespace=namespace_with_sa,
            name=t.host_name(v_ns, "urgent"),
            predicate=exists,
        )
        assert p_pod is not None
        assert p_pod["spec"]["priorityClassName"] == t.host_cluster_name(high)
        assert p_pod["spec"]["priority"] == 1000  # the host's admission, from the host class

        # At the cap: refused, and a pod naming it waits for a copy.
        await virtual.create(PRIORITYCLASSES, namespace=None, body=priority_class(big, MAX_VALUE))
        await wait_for_event(virtual, namespace="default", reason="SyncRefused", name=big)
        assert refused(daemon, kind=KIND, reason="priority_value") >= 1
        await virtual.create(PODS, namespace=v_ns, body=pod("waiting", priorityClassName=big))
        await wait_for_event(virtual, namespace=v_ns, reason="WaitingForReferences", name="waiting")
        assert (
            await host_object(host, PODS, namespace_with_sa, t.host_name(v_ns, "waiting")) is None
        )
        assert await host_object(host, PRIORITYCLASSES, None, t.host_cluster_name(big)) is None

        # value is immutable: the tenant replaces the class with a lower one; the pod follows.
        await virtual.delete(PRIORITYCLASSES, namespace=None, name=big)
        await wait_for_object(virtual, PRIORITYCLASSES, namespace=None, name=big, predicate=gone)
        await virtual.create(PRIORITYCLASSES, namespace=None, body=priority_class(big, 500))
        waited = await wait_for_object(
            host,
            PODS,
            namespace=namespace_with_sa,
            name=t.host_name(v_ns, "waiting"),
            predicate=where(lambda o: o["spec"].get("priority") == 500),
        )
        assert waited is not None
        assert waited["spec"]["priorityClassName"] == t.host_cluster_name(big)

        # Deleting the virtual class deletes its host copy.
        for name in (high, big):
            await virtual.delete(PRIORITYCLASSES, namespace=None, name=name)
            await wait_for_object(
                host,
                PRIORITYCLASSES,
                namespace=None,
                name=t.host_cluster_name(name),
                predicate=gone,
            )


async def host_object(host: KubeClient, resource: Any, namespace: str | None, name: str) -> Any:
    """The host object, or ``None`` (a live read)."""
    try:
        return await host.get(resource, namespace=namespace, name=name)
    except NotFound:
        return None
