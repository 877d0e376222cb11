"""Per-kind degradation against the real clusters: a kind whose CRD is not installed is
reported and retried while the other kinds sync; installing the CRD brings it up, no restart."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from syncer.api import DONE, Mapper, Obj, ObjectKey, Result, SyncContext, Translator, thaw
from syncer.daemon import Daemon
from syncer.errors import NotFound
from syncer.kube import KubeClient
from syncer.resources import CONFIGMAPS, NAMESPACES, Resource
from tests.e2e.test_daemon import CopyConfigMaps, _http_get, _settings
from tests.kubehelpers import wait_for_object
from tests.owneranchors import create_owner_anchor_for

CRDS = Resource(
    "apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition", False
)


class CopyWidgets:
    """A plugin for a made-up namespaced kind: copies ``spec`` to the host."""

    def __init__(self, *, translator: Translator, resource: Resource) -> None:
        self.t = translator
        self.resource = resource

    def virtual_to_host(self, key: ObjectKey) -> str | None:
        return self.t.host_name(key.namespace, key.name)

    def host_to_virtual(self, p_obj: Obj) -> ObjectKey | None:
        found = self.t.virtual_key_from_host(p_obj)
        return ObjectKey(self.resource.plural, *found) if found else None

    def is_managed(self, p_obj: Obj) -> bool:
        return self.t.is_owned(p_obj, kind_string=self.resource.kind_string)

    async def sync_to_host(self, ctx: SyncContext, v_obj: Obj) -> Result:
        meta = v_obj["metadata"]
        name = self.t.host_name(meta["namespace"], meta["name"])
        body = {
            "apiVersion": self.resource.api_version,
            "kind": self.resource.kind,
            "metadata": {
                "name": name,
                "namespace": self.t.host_namespace,
                "labels": self.t.translate_labels(meta.get("labels"), namespace=meta["namespace"]),
                "annotations": self.t.provenance_annotations(
                    kind_string=self.resource.kind_string,
                    namespace=meta["namespace"],
                    name=meta["name"],
                    uid=meta["uid"],
                    host_name=name,
                ),
            },
            "spec": thaw(v_obj.get("spec") or {}),
        }
        await ctx.host.create(self.resource, body=body)
        return DONE

    async def sync(self, ctx: SyncContext, v_obj: Obj, p_obj: Obj) -> Result:
        if thaw(v_obj.get("spec") or {}) != thaw(p_obj.get("spec") or {}):
            body = thaw(p_obj)
            body["spec"] = thaw(v_obj.get("spec") or {})
            await ctx.host.update(self.resource, current=p_obj, body=body)
        return DONE

    async def sync_to_virtual(self, ctx: SyncContext, key: ObjectKey, p_obj: Obj) -> Result:
        await ctx.host.delete(self.resource, current=p_obj)
        return DONE


def _crd(resource: Resource) -> dict[str, Any]:
    schema = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{resource.plural}.{resource.group}"},
        "spec": {
            "group": resource.group,
            "scope": "Namespaced",
            "names": {
                "plural": resource.plural,
                "singular": resource.kind.lower(),
                "kind": resource.kind,
            },
            "versions": [
                {
                    "name": resource.version,
                    "served": True,
                    "storage": True,
                    "schema": {"openAPIV3Schema": schema},
                }
            ],
        },
    }


async def _install(client: KubeClient, resource: Resource) -> None:
    """Create the CRD and wait until it is Established and its resource is served."""
    await client.create(CRDS, namespace=None, body=_crd(resource))
    name = f"{resource.plural}.{resource.group}"

    def established(crd: dict[str, Any] | None) -> bool:
        conditions = ((crd or {}).get("status") or {}).get("conditions") or []
        return any(c["type"] == "Established" and c["status"] == "True" for c in conditions)

    await wait_for_object(client, CRDS, namespace=None, name=name, predicate=established)


@pytest.fixture
async def widgets(host: KubeClient, virtual: KubeClient) -> AsyncIterator[Resource]:
    """A made-up kind in a group of its own, its CRD installed nowhere yet (removed after)."""
    group = f"g{os.urandom(3).hex()}.example.com"
    resource = Resource(group, "v1", "widgets", "Widget")
    yield resource
    for client in (virtual, host):
        with contextlib.suppress(NotFound):
            await client.delete(CRDS, namespace=None, name=f"widgets.{group}")


async def _until(check: Callable[[], bool], task: asyncio.Task[int], within: float = 90) -> None:
    async with asyncio.timeout(within):
        while not check():
            assert not task.done(), "daemon exited early"
            await asyncio.sleep(0.05)


def _gauge(daemon: Daemon, kind: str) -> float:
    text = daemon.metrics.render()[0].decode()
    line = next(
        x for x in text.splitlines() if x.startswith(f'vsyncer_kind_ready{{kind="{kind}"}}')
    )
    return float(line.split()[-1])


async def test_missing_crd_degrades_one_kind_and_recovers_once_installed(
    host: KubeClient,
    virtual: KubeClient,
    namespace: str,
    widgets: Resource,
    host_kubeconfig: Path,
    virtual_kubeconfig: Path,
) -> None:
    """configmaps sync while widgets' CRD is missing (readyz names it, gauge 0); installing
    the CRD on both sides brings widgets up (gauge 1, readyz ok) and its objects sync."""
    settings = _settings(
        namespace, host_kubeconfig, virtual_kubeconfig, VSYNCER_KINDS="configmaps,widgets"
    )
    t = Translator(vcluster="t", host_namespace=namespace)
    vns = f"v-{os.urandom(3).hex()}"
    await virtual.create(NAMESPACES, namespace=None, body={"metadata": {"name": vns}})
    factories: dict[str, Callable[..., Mapper]] = {
        "configmaps": CopyConfigMaps,
        "widgets": lambda *, translator: CopyWidgets(translator=translator, resource=widgets),
    }
    await create_owner_anchor_for(settings)
    daemon = Daemon(settings=settings, factories=factories, identity="a")
    task = asyncio.create_task(daemon.run(install_signals=False))
    try:
        await _until(
            lambda: "widgets" in daemon.pipelines and daemon.kinds.status("widgets").cause != "",
            task,
        )
        await virtual.create(
            CONFIGMAPS,
            namespace=vns,
            body={"metadata": {"name": "app"}, "data": {"v": "1"}},
        )
        await wait_for_object(
            host,
            CONFIGMAPS,
            namespace=namespace,
            name=t.host_name(vns, "app"),
            predicate=lambda o: o is not None,
        )
        assert daemon.server is not None
        status, reason = await _http_get(daemon.server.probes_port, "/readyz")
        assert status == 503
        expected = f"kinds not ready: widgets: unavailable (virtual {widgets.qualified}: 404"
        assert reason.startswith(expected)
        assert (_gauge(daemon, "configmaps"), _gauge(daemon, "widgets")) == (1.0, 0.0)

        for client in (virtual, host):
            await _install(client, widgets)
        await _until(lambda: daemon.kinds.is_ready("widgets"), task)
        assert await _http_get(daemon.server.probes_port, "/readyz") == (200, "ok")
        assert _gauge(daemon, "widgets") == 1.0
        await virtual.create(
            widgets,
            namespace=vns,
            body={
                "apiVersion": widgets.api_version,
                "kind": "Widget",
                "metadata": {"name": "w"},
                "spec": {"size": 3},
            },
        )
        copy = await wait_for_object(
            host,
            widgets,
            namespace=namespace,
            name=t.host_name(vns, "w"),
            predicate=lambda o: o is not None,
        )
        assert copy is not None
        assert copy["spec"] == {"size": 3}
        # Leave nothing behind for later tests: both copies go with their virtual objects.
        await virtual.delete(widgets, namespace=vns, name="w")
        await virtual.delete(CONFIGMAPS, namespace=vns, name="app")
        for resource in (widgets, CONFIGMAPS):
            await wait_for_object(
                host,
                resource,
                namespace=namespace,
                name=t.host_name(vns, "w" if resource is widgets else "app"),
                predicate=lambda o: o is None,
            )
    finally:
        daemon.request_stop()
        assert await asyncio.wait_for(task, 60) == 0
        await virtual.delete(NAMESPACES, namespace=None, name=vns)


async def test_an_optional_kind_missing_leaves_the_daemon_ready(
    host: KubeClient,
    virtual: KubeClient,
    namespace: str,
    widgets: Resource,
    host_kubeconfig: Path,
    virtual_kubeconfig: Path,
) -> None:
    """With widgets in VSYNCER_OPTIONAL_KINDS, its missing CRD does not make /readyz fail."""
    settings = _settings(
        namespace,
        host_kubeconfig,
        virtual_kubeconfig,
        VSYNCER_KINDS="configmaps,widgets",
        VSYNCER_OPTIONAL_KINDS="widgets",
    )
    factories: dict[str, Callable[..., Mapper]] = {
        "configmaps": CopyConfigMaps,
        "widgets": lambda *, translator: CopyWidgets(translator=translator, resource=widgets),
    }
    await create_owner_anchor_for(settings)
    daemon = Daemon(settings=settings, factories=factories, identity="a")
    task = asyncio.create_task(daemon.run(install_signals=False))
    try:
        await _until(
            lambda: (
                bool(daemon.pipelines)
                and daemon.kinds.is_ready("configmaps")
                and daemon.kinds.status("widgets").cause != ""
            ),
            task,
        )
        assert daemon.server is not None
        assert await _http_get(daemon.server.probes_port, "/readyz") == (200, "ok")
        cause = daemon.kinds.status("widgets").cause
        assert cause.startswith(f"virtual {widgets.qualified}: 404")
        assert _gauge(daemon, "widgets") == 0.0
    finally:
        daemon.request_stop()
        assert await asyncio.wait_for(task, 60) == 0
