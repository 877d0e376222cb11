"""Clean uninstall: every host object vsyncer creates is owned by the owner anchor, so
deleting the anchor lets the host's garbage collector remove them all (vcluster's rule)."""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path
from typing import Any

import pytest

from syncer.daemon import Daemon
from syncer.errors import NotFound
from syncer.kube import KubeClient
from syncer.owneranchor import stand_in
from syncer.resources import CONFIGMAPS, PODS, SECRETS, SERVICES, Resource
from syncer.settings import Settings
from syncer.translate import MANAGED_BY_LABEL
from tests.e2e.test_sync_support import (
    VCLUSTER,
    pod,
    run_syncer,
    translator,
    where,
)
from tests.kubehelpers import wait_for_object

Json = dict[str, Any]
KINDS = ("pods", "services", "configmaps", "secrets")
MANAGED: tuple[Resource, ...] = (PODS, SERVICES, CONFIGMAPS, SECRETS)
#: The host's garbage collector acts within seconds of the owner's deletion; generous bound.
GC_WITHIN = 90.0


def _tenant_objects(owner: Json) -> list[tuple[Resource, Json]]:
    """A pod that uses a configmap and a secret, a service selecting it — each owned, in the
    virtual cluster, by the virtual object ``owner``: owners that must never reach the host."""
    stranger = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
    }
    web = pod("web", volumes=[{"name": "conf", "configMap": {"name": "conf"}}])
    web["spec"]["containers"][0]["env"] = [
        {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "token"}}}
    ]
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web"},
        "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "protocol": "TCP"}]},
    }
    conf = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "conf"}, "data": {}}
    creds = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "creds"},
        "data": {"token": base64.b64encode(b"s3cret").decode()},
    }
    objects = [(CONFIGMAPS, conf), (SECRETS, creds), (PODS, web), (SERVICES, service)]
    for _, body in objects:
        body["metadata"]["ownerReferences"] = [stranger]
    web["metadata"]["ownerReferences"] = [{**stranger, "controller": True}]
    return objects


async def _managed(host: KubeClient, namespace: str) -> list[tuple[str, Json]]:
    found = []
    for resource in MANAGED:
        listed = await host.list(resource, namespace=namespace, label_selector=MANAGED_BY_LABEL)
        found += [(resource.plural, item) for item in listed.get("items", [])]
    return found


async def _until(check: Any, *, within: float, what: str) -> Any:
    try:
        async with asyncio.timeout(within):
            while True:
                result = await check()
                if result:
                    return result
                await asyncio.sleep(0.5)  # a bounded poll of the host's state
    except TimeoutError:
        raise AssertionError(f"not within {within:g} s: {what}") from None


async def test_deleting_the_anchor_removes_every_synced_object_and_nothing_else(
    namespace_with_sa: str,
    v_ns: str,
    host: KubeClient,
    virtual: KubeClient,
    host_kubeconfig: Path,
    virtual_kubeconfig: Path,
) -> None:
    """Synced pod, service, configmap, secret (and the pod's token Secret) are owned by the
    anchor (the pod, whose virtual pod has a controller, as its controller) or by their
    host pod; with vsyncer stopped and the anchor deleted, the host's
    garbage collector removes all of them, the anchor was never written, a foreign object
    in the namespace stays."""
    t, ns = translator(namespace_with_sa), namespace_with_sa
    foreign = {"metadata": {"name": "foreign"}, "data": {"kept": "yes"}}
    await host.create(CONFIGMAPS, namespace=ns, body=foreign)
    async with run_syncer(
        host_namespace=ns,
        host_kubeconfig=host_kubeconfig,
        virtual_kubeconfig=virtual_kubeconfig,
        kinds=KINDS,
    ):
        anchor = await host.get(SERVICES, namespace=ns, name=VCLUSTER)
        anchor_uid = anchor["metadata"]["uid"]
        owner = await virtual.create(
            CONFIGMAPS, namespace=v_ns, body={"metadata": {"name": "owner"}}
        )
        for resource, body in _tenant_objects(owner):
            await virtual.create(resource, namespace=v_ns, body=body)
        for resource, body in _tenant_objects(owner):
            copy = await wait_for_object(
                host,
                resource,
                namespace=ns,
                name=t.host_name(v_ns, body["metadata"]["name"]),
                predicate=where(lambda o: bool(o["metadata"].get("ownerReferences"))),
            )
            assert copy is not None
            assert copy["metadata"]["ownerReferences"] == [
                {
                    "apiVersion": "v1",
                    "kind": "Service",
                    "name": VCLUSTER,
                    "uid": anchor_uid,
                    "controller": resource == PODS,  # vcluster's rule: its virtual pod has one
                    "blockOwnerDeletion": False,
                }
            ], resource.plural
        host_pod = await host.get(PODS, namespace=ns, name=t.host_name(v_ns, "web"))
        managed = await _managed(host, ns)
        for plural, obj in managed:
            owners = {o["uid"] for o in obj["metadata"].get("ownerReferences", [])}
            assert owners in ({anchor_uid}, {host_pod["metadata"]["uid"]}), (plural, owners)
        assert len(managed) >= 5  # the four copies and the pod's token Secret
    after_run = await host.get(SERVICES, namespace=ns, name=VCLUSTER)
    assert after_run["metadata"]["resourceVersion"] == anchor["metadata"]["resourceVersion"]

    await host.delete(SERVICES, namespace=ns, name=VCLUSTER)

    async def all_gone() -> bool:
        return not await _managed(host, ns)

    await _until(all_gone, within=GC_WITHIN, what="the host GC removes every synced object")
    kept = await host.get(CONFIGMAPS, namespace=ns, name="foreign")
    assert kept["data"] == {"kept": "yes"}


async def test_nothing_is_written_until_the_anchor_exists(
    namespace_with_sa: str,
    v_ns: str,
    host: KubeClient,
    virtual: KubeClient,
    host_kubeconfig: Path,
    virtual_kubeconfig: Path,
) -> None:
    """Started without its anchor, vsyncer is ready but reconciles nothing (the pod's key
    waits in the queue); once the Service exists the copy is created, owned by it."""
    t, ns = translator(namespace_with_sa), namespace_with_sa
    settings = Settings(
        vcluster_name=VCLUSTER,
        host_namespace=ns,
        host_kubeconfig=host_kubeconfig,
        virtual_kubeconfig=virtual_kubeconfig,
        kinds=("pods", "configmaps"),
        metrics_bind="127.0.0.1:0",
        probes_bind="127.0.0.1:0",
        shutdown_grace=10,
        owner_anchor="late",
    )
    daemon = Daemon(settings=settings)
    task = asyncio.create_task(daemon.run(install_signals=False))
    try:

        async def ready() -> bool:
            assert not task.done(), "the daemon exited"
            return daemon.ready()[0]

        await _until(ready, within=60, what="the daemon is ready")
        await virtual.create(PODS, namespace=v_ns, body=pod("web"))
        queue = daemon.controllers["pods"].queue

        async def queued() -> bool:
            return len(queue) > 0

        await _until(queued, within=60, what="the pod's key is queued")
        reconciles = daemon.metrics.registry.get_sample_value(
            "vsyncer_reconcile_total", {"kind": "pods", "result": "success"}
        )
        assert not reconciles
        with pytest.raises(NotFound):
            await host.get(PODS, namespace=ns, name=t.host_name(v_ns, "web"))

        created = await host.create(
            SERVICES, namespace=ns, body=stand_in(namespace=ns, name="late")
        )
        copy = await wait_for_object(
            host,
            PODS,
            namespace=ns,
            name=t.host_name(v_ns, "web"),
            predicate=lambda o: o is not None,
        )
        assert copy is not None
        owners = [o["uid"] for o in copy["metadata"]["ownerReferences"]]
        assert owners == [created["metadata"]["uid"]]
    finally:
        daemon.request_stop()
        assert await asyncio.wait_for(task, 60) == 0
