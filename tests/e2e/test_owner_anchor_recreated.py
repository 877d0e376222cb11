"""The owner anchor deleted and re-created under the same name while vsyncer runs: the host's
garbage collector deletes what the old Service owned, and what vsyncer makes again is owned
by the new Service (syncer/owneranchor.py re-reads it), so the collector stops deleting it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from syncer.errors import NotFound
from syncer.isolation_objects import LIMITRANGES, NETWORKPOLICIES, RESOURCEQUOTAS
from syncer.kube import KubeClient
from syncer.owneranchor import REFRESH_SECONDS, owner_reference
from syncer.resources import CONFIGMAPS, SERVICES
from tests.e2e.hostsnapshot import until
from tests.e2e.test_isolation import KINDS, NAME, POLICY, wait_ours
from tests.e2e.test_sync_support import VCLUSTER, run_syncer
from tests.owneranchors import create_owner_anchor

Json = dict[str, Any]
#: The collector acts within seconds; the anchor is re-read within REFRESH_SECONDS.
WITHIN = 90.0 + REFRESH_SECONDS


def _owner_uids(obj: Json) -> list[str]:
    return [o["uid"] for o in obj["metadata"].get("ownerReferences", [])]


async def test_objects_made_after_the_anchor_is_re_created_are_owned_by_the_new_one(
    namespace_with_sa: str,
    host: KubeClient,
    host_kubeconfig: Path,
    virtual_kubeconfig: Path,
) -> None:
    """Isolation objects owned by the anchor; the anchor deleted and created again: each object
    comes back owned by the new uid, and stays (the collector has since deleted an object
    owned by the old uid, so it has looked)."""
    ns = namespace_with_sa
    async with run_syncer(
        host_namespace=ns,
        host_kubeconfig=host_kubeconfig,
        virtual_kubeconfig=virtual_kubeconfig,
        kinds=KINDS,
        isolation=True,
        isolation_quota=("count/pods=7",),
    ):
        first = (await host.get(SERVICES, namespace=ns, name=VCLUSTER))["metadata"]["uid"]
        quota = await wait_ours(host, RESOURCEQUOTAS, ns, NAME, lambda o: True)
        assert _owner_uids(quota) == [first]

        await host.delete(SERVICES, namespace=ns, name=VCLUSTER)
        await create_owner_anchor(host, namespace=ns, vcluster=VCLUSTER)
        second = (await host.get(SERVICES, namespace=ns, name=VCLUSTER))["metadata"]["uid"]
        assert second != first

        def owned_by_second(obj: Json) -> bool:
            return _owner_uids(obj) == [second]

        quota = await wait_ours(host, RESOURCEQUOTAS, ns, NAME, owned_by_second)
        await wait_ours(host, LIMITRANGES, ns, NAME, owned_by_second)
        await wait_ours(host, NETWORKPOLICIES, ns, POLICY, owned_by_second)

        # A barrier: an object owned by the old uid, made now, is deleted by the collector.
        stale = {
            "metadata": {
                "name": "owned-by-the-old-anchor",
                "ownerReferences": [owner_reference(name=VCLUSTER, uid=first)],
            }
        }
        await host.create(CONFIGMAPS, namespace=ns, body=stale)

        async def stale_gone() -> bool:
            try:
                await host.get(CONFIGMAPS, namespace=ns, name="owned-by-the-old-anchor")
            except NotFound:
                return True
            return False

        await until(stale_gone, within=WITHIN, what="the collector deletes the stale object")
        for resource, name in ((RESOURCEQUOTAS, NAME), (LIMITRANGES, NAME)):
            live = await host.get(resource, namespace=ns, name=name)
            assert _owner_uids(live) == [second], resource.plural
        kept = await host.get(RESOURCEQUOTAS, namespace=ns, name=NAME)
        assert kept["metadata"]["uid"] == quota["metadata"]["uid"]
