"""PodDisruptionBudgets end to end: the host budget counts exactly the tenant's pods.

The host's own disruption controller evaluates the host copy: its
``expectedPods`` must be the pods of the budget's virtual namespace, while the
host namespace also holds a same-labelled pod of another virtual namespace, a
second (fake) vcluster's pod posing with this namespace's marker, and a host
pod with the tenant's labels but no marker.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from syncer.kube import KubeClient
from syncer.resources import PDBS, PODS, Resource
from syncer.translate import MANAGED_BY_LABEL, NAMESPACE_LABEL
from tests.e2e.hostsnapshot import refused
from tests.e2e.test_sync_networkpolicies import edit, host_pod, picked
from tests.e2e.test_sync_support import (
    get_or_none,
    gone,
    pod,
    run_syncer,
    tenant_namespace,
    translator,
    wait_for_event,
    where,
)
from tests.kubehelpers import wait_for_object

Json = dict[str, Any]
KINDS = ("pods", "poddisruptionbudgets.policy")
REPLICASETS = Resource("apps", "v1", "replicasets", "ReplicaSet")


@pytest.fixture
async def v_other(virtual: KubeClient) -> AsyncIterator[str]:
    async with tenant_namespace(virtual) as name:
        yield name


def budget(name: str, **spec: Any) -> Json:
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": name},
        "spec": {"selector": {"matchLabels": {"app": "web"}}, **spec},
    }


def web_pod(name: str) -> Json:
    body = pod(name)
    body["metadata"]["labels"] = {"app": "web"}
    return body


def replica_set(replicas: int) -> Json:
    template = web_pod("unused")
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {"name": "web"},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": template["spec"]},
        },
    }


def expects(count: int) -> Any:
    return where(lambda o: o.get("status", {}).get("expectedPods") == count)


async def test_a_budget_counts_only_its_namespaces_pods_and_follows_the_virtual_one(
    namespace_with_sa: str,
    v_ns: str,
    v_other: str,
    host: KubeClient,
    virtual: KubeClient,
    host_kubeconfig: Path,
    virtual_kubeconfig: Path,
) -> None:
    """Create → host budget over exactly 2 pods; update → host; host edit → reverted; delete."""
    ns, t = namespace_with_sa, translator(namespace_with_sa)
    spoof = {MANAGED_BY_LABEL: "other", NAMESPACE_LABEL: v_ns, "app": "web"}
    await host.create(PODS, namespace=ns, body=host_pod("other-vcluster", spoof))
    await host.create(PODS, namespace=ns, body=host_pod("host-own", {"app": "web"}))
    p_name = t.host_name(v_ns, "web")
    async with run_syncer(
        host_namespace=ns,
        host_kubeconfig=host_kubeconfig,
        virtual_kubeconfig=virtual_kubeconfig,
        kinds=KINDS,
    ):
        for namespace, name in ((v_ns, "a"), (v_ns, "b"), (v_other, "c")):
            await virtual.create(PODS, namespace=namespace, body=web_pod(name))
        for namespace, name in ((v_ns, "a"), (v_ns, "b"), (v_other, "c")):
            await wait_for_object(
                host, PODS, namespace=ns, name=t.host_name(namespace, name), predicate=where(bool)
            )
        await virtual.create(PDBS, namespace=v_ns, body=budget("web", minAvailable=1))

        # The host's disruption controller counts the tenant's two pods, nothing else.
        p_budget = await wait_for_object(
            host, PDBS, namespace=ns, name=p_name, predicate=expects(2)
        )
        assert p_budget is not None
        selector = p_budget["spec"]["selector"]
        assert await picked(host, ns, selector) == {t.host_name(v_ns, n) for n in "ab"}
        # The virtual status is the virtual cluster's own count of the same pods.
        await wait_for_object(virtual, PDBS, namespace=v_ns, name="web", predicate=expects(2))

        # Virtual update → host.
        v_budget = await virtual.get(PDBS, namespace=v_ns, name="web")
        v_budget["spec"]["minAvailable"] = 2
        await virtual.update(PDBS, namespace=v_ns, name="web", body=v_budget)
        p_budget = await wait_for_object(
            host,
            PDBS,
            namespace=ns,
            name=p_name,
            predicate=where(lambda o: o["spec"]["minAvailable"] == 2),
        )
        assert p_budget is not None

        # Someone widens the host copy to every pod of the host namespace: put back.
        await edit(
            host, PDBS, namespace=ns, name=p_name, change=lambda o: o["spec"].update(selector={})
        )
        await wait_for_object(
            host,
            PDBS,
            namespace=ns,
            name=p_name,
            predicate=where(lambda o: o["spec"]["selector"] == selector),
        )

        await virtual.delete(PDBS, namespace=v_ns, name="web")
        await wait_for_object(host, PDBS, namespace=ns, name=p_name, predicate=gone)


async def test_a_max_unavailable_budget_reaches_the_host_as_the_virtual_count(
    namespace_with_sa: str,
    v_ns: str,
    host: KubeClient,
    virtual: KubeClient,
    host_kubeconfig: Path,
    virtual_kubeconfig: Path,
) -> None:
    """The host pods have no controller: the host budget is the virtual cluster's count.

    Virtual ReplicaSet of 2, ``maxUnavailable: 1`` → host ``minAvailable: 1``, so the
    host's disruption controller allows one eviction of the two host pods (with
    ``maxUnavailable`` as it is it would allow none).
    """
    ns, t = namespace_with_sa, translator(namespace_with_sa)
    replicas = replica_set(2)
    p_name = t.host_name(v_ns, "web")
    async with run_syncer(
        host_namespace=ns,
        host_kubeconfig=host_kubeconfig,
        virtual_kubeconfig=virtual_kubeconfig,
        kinds=KINDS,
    ):
        await virtual.create(REPLICASETS, namespace=v_ns, body=replicas)
        await virtual.create(PDBS, namespace=v_ns, body=budget("web", maxUnavailable=1))
        p_budget = await wait_for_object(
            host,
            PDBS,
            namespace=ns,
            name=p_name,
            predicate=where(
                lambda o: (
                    o["spec"].get("minAvailable") == 1
                    and o.get("status", {}).get("disruptionsAllowed") == 1
                )
            ),
        )
        assert p_budget is not None
        assert "maxUnavailable" not in p_budget["spec"]
        assert p_budget["status"]["expectedPods"] == 2
        v_budget = await virtual.get(PDBS, namespace=v_ns, name="web")
        assert v_budget["spec"] == budget("web", maxUnavailable=1)["spec"]  # the tenant's own


async def test_a_budget_allowing_no_disruption_is_clamped_or_refused(
    namespace_with_sa: str,
    v_ns: str,
    host: KubeClient,
    virtual: KubeClient,
    host_kubeconfig: Path,
    virtual_kubeconfig: Path,
) -> None:
    """``maxUnavailable: 0`` over 2 pods would stop every host drain: by default the host copy
    lets one pod go (the host's disruption controller allows 1); with ``refuse`` a second
    such budget gets a Warning event and no host copy."""
    ns, t = namespace_with_sa, translator(namespace_with_sa)
    async with run_syncer(
        host_namespace=ns,
        host_kubeconfig=host_kubeconfig,
        virtual_kubeconfig=virtual_kubeconfig,
        kinds=KINDS,
    ):
        await virtual.create(REPLICASETS, namespace=v_ns, body=replica_set(2))
        await virtual.create(PDBS, namespace=v_ns, body=budget("web", maxUnavailable=0))
        clamped = await wait_for_object(
            host,
            PDBS,
            namespace=ns,
            name=t.host_name(v_ns, "web"),
            predicate=where(
                lambda o: (
                    o["spec"].get("minAvailable") == 1
                    and o.get("status", {}).get("disruptionsAllowed") == 1
                )
            ),
        )
        assert clamped is not None
        v_budget = await virtual.get(PDBS, namespace=v_ns, name="web")
        assert v_budget["spec"]["maxUnavailable"] == 0  # the tenant's own, untouched
        assert v_budget["status"]["disruptionsAllowed"] == 0  # and enforced in virtual

    async with run_syncer(
        host_namespace=ns,
        host_kubeconfig=host_kubeconfig,
        virtual_kubeconfig=virtual_kubeconfig,
        kinds=KINDS,
        pdb_no_disruption="refuse",
    ) as daemon:
        await virtual.create(PDBS, namespace=v_ns, body=budget("all", minAvailable="100%"))
        event = await wait_for_event(virtual, namespace=v_ns, reason="SyncRefused", name="all")
        assert event["message"].startswith("spec.minAvailable: '100%' keeps every pod")
        assert refused(daemon, kind="poddisruptionbudgets.policy", reason="pdb_no_disruption") >= 1
        assert await get_or_none(host, PDBS, namespace=ns, name=t.host_name(v_ns, "all")) is None
