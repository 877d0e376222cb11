"""Dependents resync: a virtual namespace's labels reach the host pods of that namespace.

The host pod carries each label of its virtual namespace as a
``vcluster.loft.sh/ns-label-…`` label (as vcluster copies them); a label added to or
removed from the namespace must show on pods that already run, without any
change to the pods themselves.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from syncer.kube import KubeClient
from syncer.resources import NAMESPACES, PODS
from tests.e2e.test_sync_support import pod, run_syncer, tenant_namespace, translator, where
from tests.kubehelpers import wait_for_object

KINDS = ("pods", "configmaps", "secrets", "nodes", "events")


@pytest.fixture
async def v_ns(virtual: KubeClient) -> AsyncIterator[str]:
    async with tenant_namespace(virtual, labels={"team": "blue"}) as name:
        yield name


async def test_namespace_label_changes_reach_existing_host_pods(
    namespace_with_sa: str,
    v_ns: str,
    host: KubeClient,
    virtual: KubeClient,
    host_kubeconfig: Path,
    virtual_kubeconfig: Path,
) -> None:
    t = translator(namespace_with_sa)
    team, tier = t.namespace_label_key("team"), t.namespace_label_key("tier")
    names = [t.host_name(v_ns, n) for n in ("one", "two")]

    def labels(obj: dict[str, Any]) -> dict[str, str]:
        meta = obj.get("metadata")
        found = meta.get("labels") if isinstance(meta, dict) else None
        return found if isinstance(found, dict) else {}

    async def all_pods(check: Callable[[dict[str, Any]], bool]) -> None:
        for name in names:
            await wait_for_object(
                host,
                PODS,
                namespace=namespace_with_sa,
                name=name,
                predicate=where(check),
            )

    async with run_syncer(
        host_namespace=namespace_with_sa,
        host_kubeconfig=host_kubeconfig,
        virtual_kubeconfig=virtual_kubeconfig,
        kinds=KINDS,
    ):
        for name in ("one", "two"):
            await virtual.create(PODS, namespace=v_ns, body=pod(name))
        await all_pods(lambda o: labels(o).get(team) == "blue" and tier not in labels(o))
        # A label added to the namespace: on both host pods, the pods untouched.
        await virtual.patch(
            NAMESPACES, namespace=None, name=v_ns, body={"metadata": {"labels": {"tier": "gold"}}}
        )
        await all_pods(lambda o: labels(o).get(tier) == "gold" and labels(o).get(team) == "blue")
        # Changed, then removed.
        await virtual.patch(
            NAMESPACES, namespace=None, name=v_ns, body={"metadata": {"labels": {"tier": "lead"}}}
        )
        await all_pods(lambda o: labels(o).get(tier) == "lead")
        await virtual.patch(
            NAMESPACES, namespace=None, name=v_ns, body={"metadata": {"labels": {"tier": None}}}
        )
        await all_pods(lambda o: tier not in labels(o) and labels(o).get(team) == "blue")
