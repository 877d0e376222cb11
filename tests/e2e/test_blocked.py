"""A virtual object blocked by a host object that is not its copy is synced once that goes.

No restart of the syncer: an invisible (unlabelled) blocker is noticed by the
blocked key's growing backoff, a visible one (this vcluster's marker label)
by its delete event.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from syncer.kube import KubeClient
from syncer.resources import CONFIGMAPS
from syncer.translate import MANAGED_BY_LABEL, OBJECT_NAME_ANNOTATION, OBJECT_UID_ANNOTATION
from tests.e2e.copies import VCLUSTER, copying_daemon, metric
from tests.e2e.test_sync_support import translator, wait_for_event, where
from tests.kubehelpers import wait_for_object

REFUSED = 'vsyncer_refused_objects_total{kind="configmaps",reason="host_name_taken"}'


def configmap(name: str, **data: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}


async def blocked_then_freed(
    *,
    blocker: dict[str, Any],
    blocked_initial: float,
    namespace: str,
    v_ns: str,
    host: KubeClient,
    virtual: KubeClient,
    host_kubeconfig: Path,
    virtual_kubeconfig: Path,
) -> None:
    t = translator(namespace)
    p_name = t.host_name(v_ns, "app")
    blocker["metadata"]["name"] = p_name
    await host.create(CONFIGMAPS, namespace=namespace, body=blocker)
    async with copying_daemon(
        host_namespace=namespace,
        host_kubeconfig=host_kubeconfig,
        virtual_kubeconfig=virtual_kubeconfig,
        blocked_initial=blocked_initial,
    ) as daemon:
        v_obj = await virtual.create(CONFIGMAPS, namespace=v_ns, body=configmap("app", v="1"))
        warning = await wait_for_event(virtual, namespace=v_ns, reason="SyncRefused", name="app")
        assert warning["type"] == "Warning"
        assert p_name in warning["message"]
        assert metric(daemon, REFUSED) >= 1
        untouched = await host.get(CONFIGMAPS, namespace=namespace, name=p_name)
        assert untouched["data"] == blocker["data"]
        # The host admin removes the object in the way.
        await host.delete(CONFIGMAPS, namespace=namespace, name=p_name)
        synced = await wait_for_object(
            host,
            CONFIGMAPS,
            namespace=namespace,
            name=p_name,
            predicate=where(
                lambda o: (
                    (o["metadata"].get("annotations") or {}).get(OBJECT_NAME_ANNOTATION) == "app"
                )
            ),
            within=30,
        )
        assert synced is not None
        assert synced["data"] == {"v": "1"}
        assert synced["metadata"]["annotations"][OBJECT_UID_ANNOTATION] == v_obj["metadata"]["uid"]


async def test_an_invisible_foreign_object_is_retried_by_backoff_until_it_is_gone(
    namespace: str,
    v_ns: str,
    host: KubeClient,
    virtual: KubeClient,
    host_kubeconfig: Path,
    virtual_kubeconfig: Path,
) -> None:
    """Unlabelled: the host informer never sees it; the 1 s, 2 s, 4 s … backoff finds it gone."""
    await blocked_then_freed(
        blocker=configmap("", owner="someone-else"),
        blocked_initial=1.0,
        namespace=namespace,
        v_ns=v_ns,
        host=host,
        virtual=virtual,
        host_kubeconfig=host_kubeconfig,
        virtual_kubeconfig=virtual_kubeconfig,
    )


async def test_a_visible_blocker_s_deletion_requeues_the_blocked_key_at_once(
    namespace: str,
    v_ns: str,
    host: KubeClient,
    virtual: KubeClient,
    host_kubeconfig: Path,
    virtual_kubeconfig: Path,
) -> None:
    """Labelled for this vcluster, provenance of another object: its delete event frees the key
    long before the (here ten-minute) backoff would."""
    blocker = configmap("", owner="someone-else")
    blocker["metadata"]["labels"] = {MANAGED_BY_LABEL: VCLUSTER}
    blocker["metadata"]["annotations"] = {OBJECT_NAME_ANNOTATION: "not-app"}
    await blocked_then_freed(
        blocker=blocker,
        blocked_initial=600.0,
        namespace=namespace,
        v_ns=v_ns,
        host=host,
        virtual=virtual,
        host_kubeconfig=host_kubeconfig,
        virtual_kubeconfig=virtual_kubeconfig,
    )
