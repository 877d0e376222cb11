"""Generic custom resources end to end: a CRD on the host, vsyncer's copy of it in the virtual
cluster, and a tenant's object synced down (spec and unknown fields) with its status up; a CRD
installed on the host after start becomes syncable without a restart.

Each test uses a CRD of its own group, so tests sharing the control plane never meet.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from mappers.customresourcedefinitions import copied_spec
from syncer.api import CustomResource
from syncer.customresource_settings import CustomResourceEntry
from syncer.daemon import Daemon
from syncer.errors import AlreadyExists, NotFound
from syncer.kit import FROM_HOST_LABEL
from syncer.kube import KubeClient
from syncer.resources import CRDS, SECRETS, Resource
from syncer.settings import Settings
from tests.e2e.test_sync_support import (
    VCLUSTER,
    exists,
    gone,
    run_syncer,
    translator,
    wait_for_event,
    where,
)
from tests.kubehelpers import wait_for_object
from tests.owneranchors import create_owner_anchor_for

Json = dict[str, Any]
PATCHES = [
    {"path": "spec.selector", "type": "labelSelector"},
    {"path": "spec.secretName", "type": "rewriteName"},
]


def gadgets() -> Resource:
    """A custom resource of a group no other test uses."""
    return Resource(f"t{secrets.token_hex(4)}.example.com", "v1", "gadgets", "Gadget")


def entry(resource: Resource) -> Json:
    return {
        "resource": resource.qualified,
        "version": resource.version,
        "kind": resource.kind,
        "direction": "toHost",
    }


def crd(resource: Resource) -> Json:
    schema = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": resource.qualified},
        "spec": {
            "group": resource.group,
            "scope": "Namespaced",
            "names": {"plural": resource.plural, "singular": "gadget", "kind": resource.kind},
            "versions": [
                {
                    "name": resource.version,
                    "served": True,
                    "storage": True,
                    "schema": {"openAPIV3Schema": schema},
                    "subresources": {"status": {}},
                }
            ],
        },
    }


def established(obj: Json | None) -> bool:
    conditions = ((obj or {}).get("status") or {}).get("conditions") or []
    return any(c["type"] == "Established" and c["status"] == "True" for c in conditions)


async def install(host: KubeClient, resource: Resource) -> None:
    with contextlib.suppress(AlreadyExists):
        await host.create(CRDS, namespace=None, body=crd(resource))
    await wait_for_object(
        host, CRDS, namespace=None, name=resource.qualified, predicate=established
    )


@pytest.fixture
async def resource(host: KubeClient, virtual: KubeClient) -> AsyncIterator[Resource]:
    """A fresh custom resource's name; its CRDs are removed from both clusters afterwards."""
    made = gadgets()
    yield made
    for client in (virtual, host):
        with contextlib.suppress(NotFound):
            await client.delete(CRDS, namespace=None, name=made.qualified)


def gadget(resource: Resource, name: str, **fields: Any) -> Json:
    return {
        "apiVersion": resource.api_version,
        "kind": resource.kind,
        "metadata": {"name": name, "labels": {"app": "shop"}},
        **fields,
    }


async def sync_one_object(
    resource: Resource, *, host: KubeClient, virtual: KubeClient, namespace: str, v_ns: str
) -> None:
    """Create → host copy with spec and unknown fields; update → host; host status → virtual;
    delete → host copy gone."""
    p_name = translator(namespace).host_name(v_ns, "g")
    await virtual.create(
        resource, namespace=v_ns, body=gadget(resource, "g", spec={"size": 3}, extra={"a": 1})
    )
    p_obj = await wait_for_object(
        host, resource, namespace=namespace, name=p_name, predicate=exists
    )
    assert p_obj is not None
    assert p_obj["spec"] == {"size": 3}
    assert p_obj["extra"] == {"a": 1}
    assert translator(namespace).virtual_key_from_host(p_obj) == (v_ns, "g")

    await virtual.patch(resource, namespace=v_ns, name="g", body={"spec": {"size": 5}})
    p_obj = await wait_for_object(
        host,
        resource,
        namespace=namespace,
        name=p_name,
        predicate=where(lambda o: o["spec"] == {"size": 5}),
    )
    assert p_obj is not None
    await host.update_status(
        resource, namespace=namespace, name=p_name, body={**p_obj, "status": {"phase": "Ready"}}
    )
    await wait_for_object(
        virtual,
        resource,
        namespace=v_ns,
        name="g",
        predicate=where(lambda o: o.get("status") == {"phase": "Ready"}),
    )
    await virtual.delete(resource, namespace=v_ns, name="g")
    await wait_for_object(host, resource, namespace=namespace, name=p_name, predicate=gone)


async def test_a_to_host_custom_resource_syncs_with_its_crd_copied(
    namespace: str,
    v_ns: str,
    resource: Resource,
    host: KubeClient,
    virtual: KubeClient,
    host_kubeconfig: Path,
    virtual_kubeconfig: Path,
) -> None:
    """The host CRD is copied into the virtual cluster (labelled, one version); its objects
    sync down and their status up."""
    await install(host, resource)
    async with run_syncer(
        host_namespace=namespace,
        host_kubeconfig=host_kubeconfig,
        virtual_kubeconfig=virtual_kubeconfig,
        kinds=("configmaps",),
        custom_resources=[{**entry(resource), "patches": PATCHES}],
    ):
        v_crd = await virtual.get(CRDS, namespace=None, name=resource.qualified)
        assert v_crd["metadata"]["labels"] == {FROM_HOST_LABEL: "true"}
        assert [v["name"] for v in v_crd["spec"]["versions"]] == [resource.version]
        # As the copier wants it, so the copy is not written again at each reconcile.
        p_crd = await host.get(CRDS, namespace=None, name=resource.qualified)
        custom = CustomResource(resource, "toHost")
        assert v_crd["spec"] == copied_spec(p_crd, custom)
        await sync_one_object(resource, host=host, virtual=virtual, namespace=namespace, v_ns=v_ns)

        # The entry's patches: the selector confined, the secret name made the host's.
        t = translator(namespace)
        selector = {"matchLabels": {"app": "db"}}
        spec = {"selector": selector, "secretName": "creds"}
        await virtual.create(resource, namespace=v_ns, body=gadget(resource, "p", spec=spec))
        p_obj = await wait_for_object(
            host, resource, namespace=namespace, name=t.host_name(v_ns, "p"), predicate=exists
        )
        assert p_obj is not None
        assert p_obj["spec"] == {
            "selector": t.translate_label_selector(selector, namespace=v_ns),
            "secretName": t.host_name(v_ns, "creds"),
        }
        # A patched field vsyncer cannot make safe: refused with an event, nothing on the host.
        bad = gadget(resource, "bad", spec={"selector": "app=db"})
        await virtual.create(resource, namespace=v_ns, body=bad)
        event = await wait_for_event(virtual, namespace=v_ns, reason="SyncRefused", name="bad")
        assert "spec.selector" in event["message"]
        with pytest.raises(NotFound):
            await host.get(resource, namespace=namespace, name=t.host_name(v_ns, "bad"))


async def test_a_crd_installed_on_the_host_after_start_becomes_syncable(
    namespace: str,
    v_ns: str,
    resource: Resource,
    host: KubeClient,
    virtual: KubeClient,
    host_kubeconfig: Path,
    virtual_kubeconfig: Path,
) -> None:
    """Without its CRD only that kind is not ready (the reason names it, configmaps sync); once
    the platform installs the CRD the kind syncs, with no restart."""
    settings = Settings(
        vcluster_name=VCLUSTER,
        host_namespace=namespace,
        host_kubeconfig=host_kubeconfig,
        virtual_kubeconfig=virtual_kubeconfig,
        kinds=("configmaps",),
        custom_resources=(CustomResourceEntry.model_validate(entry(resource)),),
        metrics_bind="127.0.0.1:0",
        probes_bind="127.0.0.1:0",
        shutdown_grace=10,
    )
    await create_owner_anchor_for(settings)
    daemon = Daemon(settings=settings)
    task = asyncio.create_task(daemon.run(install_signals=False))
    try:
        async with asyncio.timeout(60):
            while "configmaps" not in daemon.pipelines or not daemon.kinds.is_ready("configmaps"):
                assert not task.done(), "daemon exited early"
                await asyncio.sleep(0.05)  # a bounded poll for a condition
        ok, reason = daemon.ready()
        assert not ok
        assert resource.qualified in reason
        assert "configmaps" not in reason
        await install(host, resource)
        await wait_for_object(
            virtual, CRDS, namespace=None, name=resource.qualified, predicate=established
        )
        async with asyncio.timeout(90):
            while not daemon.ready()[0]:
                assert not task.done(), "daemon exited early"
                await asyncio.sleep(0.05)
        await sync_one_object(resource, host=host, virtual=virtual, namespace=namespace, v_ns=v_ns)
    finally:
        daemon.request_stop()
        assert await asyncio.wait_for(task, 60) == 0


async def test_a_from_host_custom_resource_is_copied_up_read_only(
    namespace: str,
    resource: Resource,
    host: KubeClient,
    virtual: KubeClient,
    host_kubeconfig: Path,
    virtual_kubeconfig: Path,
) -> None:
    """A cluster-scoped host kind: selected host objects appear in virtual with their status,
    a tenant's edit is reverted, a host delete removes the copy; unselected ones never appear."""
    cluster = Resource(resource.group, "v1", "gadgets", "Gadget", namespaced=False)
    body = crd(cluster)
    body["spec"]["scope"] = "Cluster"
    await host.create(CRDS, namespace=None, body=body)
    await wait_for_object(host, CRDS, namespace=None, name=cluster.qualified, predicate=established)
    picked = gadget(cluster, "shared", spec={"size": 1})
    picked["metadata"]["labels"] = {"share": "yes"}
    await host.create(cluster, namespace=None, body=picked)
    await host.create(cluster, namespace=None, body=gadget(cluster, "private", spec={"size": 2}))
    p_obj = await host.get(cluster, namespace=None, name="shared")
    await host.update_status(
        cluster, namespace=None, name="shared", body={**p_obj, "status": {"phase": "Up"}}
    )
    entry_body = {**entry(cluster), "direction": "fromHost", "scope": "Cluster"}
    async with run_syncer(
        host_namespace=namespace,
        host_kubeconfig=host_kubeconfig,
        virtual_kubeconfig=virtual_kubeconfig,
        kinds=("configmaps",),
        custom_resources=[{**entry_body, "labelSelector": "share=yes"}],
    ):
        copy = await wait_for_object(
            virtual,
            cluster,
            namespace=None,
            name="shared",
            predicate=where(lambda o: o.get("status") == {"phase": "Up"}),
        )
        assert copy is not None
        assert copy["spec"] == {"size": 1}
        assert copy["metadata"]["labels"] == {"share": "yes", FROM_HOST_LABEL: "true"}
        await virtual.patch(cluster, namespace=None, name="shared", body={"spec": {"size": 9}})
        await wait_for_object(
            virtual,
            cluster,
            namespace=None,
            name="shared",
            predicate=where(lambda o: o["spec"] == {"size": 1}),
        )
        await host.delete(cluster, namespace=None, name="shared")
        await wait_for_object(virtual, cluster, namespace=None, name="shared", predicate=gone)
        with pytest.raises(NotFound):
            await virtual.get(cluster, namespace=None, name="private")


async def test_a_reference_patch_syncs_the_named_secret_while_referenced(
    namespace: str,
    v_ns: str,
    resource: Resource,
    host: KubeClient,
    virtual: KubeClient,
    host_kubeconfig: Path,
    virtual_kubeconfig: Path,
) -> None:
    """The object waits (Warning event) until its secret exists; the secret is then synced
    because the object names it, the field points at its host copy, and the copy goes when
    the reference does."""
    await install(host, resource)
    patch = {"path": "spec.secretRef.name", "type": "reference", "kind": "secrets"}
    t = translator(namespace)
    async with run_syncer(
        host_namespace=namespace,
        host_kubeconfig=host_kubeconfig,
        virtual_kubeconfig=virtual_kubeconfig,
        kinds=("secrets",),
        custom_resources=[{**entry(resource), "patches": [patch]}],
    ):
        spec = {"secretRef": {"name": "creds"}}
        await virtual.create(resource, namespace=v_ns, body=gadget(resource, "r", spec=spec))
        event = await wait_for_event(
            virtual, namespace=v_ns, reason="WaitingForReferences", name="r"
        )
        assert "secret 'creds' (spec.secretRef.name)" in event["message"]
        with pytest.raises(NotFound):
            await host.get(resource, namespace=namespace, name=t.host_name(v_ns, "r"))

        body = {"metadata": {"name": "creds"}, "stringData": {"password": "s3cret"}}
        await virtual.create(SECRETS, namespace=v_ns, body=body)
        p_secret = t.host_name(v_ns, "creds")
        await wait_for_object(host, SECRETS, namespace=namespace, name=p_secret, predicate=exists)
        p_obj = await wait_for_object(
            host, resource, namespace=namespace, name=t.host_name(v_ns, "r"), predicate=exists
        )
        assert p_obj is not None
        assert p_obj["spec"] == {"secretRef": {"name": p_secret}}

        await virtual.patch(resource, namespace=v_ns, name="r", body={"spec": {"secretRef": None}})
        await wait_for_object(host, SECRETS, namespace=namespace, name=p_secret, predicate=gone)
