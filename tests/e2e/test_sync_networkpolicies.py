"""NetworkPolicies end to end: the host policy selects this vcluster's pods and nothing else.

There is no network plugin in the local control plane, so what a host policy
*would* enforce is checked where it is decided: which host pods its translated
selectors pick, asked of the real host API server with a label-selector LIST
(:func:`tests.mappers.labelselectors.query`).  Next to the synced pods, the
host namespace holds a pod of a second (fake) vcluster that even carries this
vcluster's namespace-label copies, and a host pod with the tenant's labels but
no marker: neither may ever be picked.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from syncer.errors import Conflict
from syncer.kube import KubeClient
from syncer.resources import NETWORKPOLICIES, PODS, Resource
from syncer.translate import MANAGED_BY_LABEL, NAMESPACE_LABEL
from tests.e2e.test_sync_support import (
    gone,
    pod,
    run_syncer,
    tenant_namespace,
    translator,
    where,
)
from tests.kubehelpers import wait_for_object
from tests.mappers.labelselectors import query

Json = dict[str, Any]
KINDS = ("pods", "networkpolicies.networking.k8s.io")


@pytest.fixture
async def v_ns(virtual: KubeClient) -> AsyncIterator[str]:
    async with tenant_namespace(virtual, labels={"team": "a"}) as name:
        yield name


@pytest.fixture
async def v_other(virtual: KubeClient) -> AsyncIterator[str]:
    async with tenant_namespace(virtual, labels={"team": "b"}) as name:
        yield name


def policy(name: str, **spec: Any) -> Json:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name},
        "spec": {"podSelector": {}, **spec},
    }


def host_pod(name: str, labels: dict[str, str]) -> Json:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": labels},
        "spec": {"containers": [{"name": "main", "image": "registry.example/app:1"}]},
    }


async def edit(
    kube: KubeClient,
    resource: Resource,
    *,
    namespace: str,
    name: str,
    change: Callable[[Json], None],
) -> None:
    """Read, ``change`` and write back one object, again on a 409 (a controller wrote meanwhile)."""
    for _ in range(10):
        obj = await kube.get(resource, namespace=namespace, name=name)
        change(obj)
        try:
            await kube.update(resource, namespace=namespace, name=name, body=obj)
        except Conflict:
            continue
        return
    raise AssertionError(f"{name}: ten conflicting writes in a row")


async def picked(host: KubeClient, namespace: str, selector: Json) -> set[str]:
    """The names of the host pods ``selector`` picks, answered by the host API server."""
    listed = await host.list(PODS, namespace=namespace, label_selector=query(selector))
    return {item["metadata"]["name"] for item in listed.get("items", [])}


async def test_a_policy_selects_only_this_vclusters_pods_and_follows_the_virtual_one(
    namespace_with_sa: str,
    v_ns: str,
    v_other: str,
    host: KubeClient,
    virtual: KubeClient,
    host_kubeconfig: Path,
    virtual_kubeconfig: Path,
) -> None:
    """Create → confined selectors; virtual update → host; host edit → reverted; delete → gone."""
    ns, t = namespace_with_sa, translator(namespace_with_sa)
    team = t.namespace_label_key("team")
    p_web, p_far = t.host_name(v_ns, "web"), t.host_name(v_other, "far")
    # A second vcluster's pod posing as ours (same namespace name, our namespace-label
    # copies) and a host pod carrying only the tenant's labels.
    spoof = {MANAGED_BY_LABEL: "other", NAMESPACE_LABEL: v_ns, "app": "web", team: "b"}
    await host.create(PODS, namespace=ns, body=host_pod("other-vcluster", spoof))
    await host.create(PODS, namespace=ns, body=host_pod("host-own", {"app": "web"}))
    p_name = t.host_name(v_ns, "deny")
    async with run_syncer(
        host_namespace=ns,
        host_kubeconfig=host_kubeconfig,
        virtual_kubeconfig=virtual_kubeconfig,
        kinds=KINDS,
    ):
        await virtual.create(PODS, namespace=v_ns, body=pod("web"))
        await virtual.create(PODS, namespace=v_other, body=pod("far"))
        for name, value in ((p_web, "a"), (p_far, "b")):
            await wait_for_object(
                host,
                PODS,
                namespace=ns,
                name=name,
                predicate=where(lambda o: o["metadata"]["labels"].get(team) == value),  # noqa: B023
            )
        body = policy(
            "deny",
            ingress=[
                {"from": [{"namespaceSelector": {}}]},
                {"from": [{"namespaceSelector": {"matchLabels": {"team": "b"}}}]},
                {"from": [{"podSelector": {"matchLabels": {"app": "web"}}}]},
            ],
        )
        await virtual.create(NETWORKPOLICIES, namespace=v_ns, body=body)
        p_policy = await wait_for_object(
            host, NETWORKPOLICIES, namespace=ns, name=p_name, predicate=where(bool)
        )
        assert p_policy is not None
        spec = p_policy["spec"]
        peers = [rule["from"][0] for rule in spec["ingress"]]
        assert all(set(peer) == {"podSelector"} for peer in peers)  # never a namespaceSelector
        assert await picked(host, ns, spec["podSelector"]) == {p_web}
        assert await picked(host, ns, peers[0]["podSelector"]) == {p_web, p_far}
        assert await picked(host, ns, peers[1]["podSelector"]) == {p_far}
        assert await picked(host, ns, peers[2]["podSelector"]) == {p_web}

        # Virtual update → host.
        v_policy = await virtual.get(NETWORKPOLICIES, namespace=v_ns, name="deny")
        v_policy["spec"]["podSelector"] = {"matchLabels": {"app": "nothing"}}
        await virtual.update(NETWORKPOLICIES, namespace=v_ns, name="deny", body=v_policy)
        p_policy = await wait_for_object(
            host,
            NETWORKPOLICIES,
            namespace=ns,
            name=p_name,
            predicate=where(lambda o: o["spec"]["podSelector"]["matchLabels"].get("app")),
        )
        assert p_policy is not None
        assert await picked(host, ns, p_policy["spec"]["podSelector"]) == set()

        # Someone widens the host copy to every pod of the host namespace: put back.
        await edit(
            host,
            NETWORKPOLICIES,
            namespace=ns,
            name=p_name,
            change=lambda o: o["spec"].update(podSelector={}),
        )
        await wait_for_object(
            host,
            NETWORKPOLICIES,
            namespace=ns,
            name=p_name,
            predicate=where(
                lambda o: o["spec"]["podSelector"].get("matchLabels", {}).get("app") == "nothing"
            ),
        )

        await virtual.delete(NETWORKPOLICIES, namespace=v_ns, name="deny")
        await wait_for_object(host, NETWORKPOLICIES, namespace=ns, name=p_name, predicate=gone)
