"""The 15-line widgets plugin (tests/e2e/plugin_widgets.py), loaded through its entry-point
line, syncs a made-up custom resource between the real clusters: spec down, status up."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Callable
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

from syncer.api import Translator
from syncer.daemon import Daemon
from syncer.errors import AlreadyExists, NotFound
from syncer.kube import KubeClient
from syncer.plugins import GROUP, discover
from syncer.resources import NAMESPACES, Resource
from tests.e2e.plugin_widgets import WIDGETS
from tests.e2e.test_daemon import _settings
from tests.kubehelpers import wait_for_object
from tests.owneranchors import create_owner_anchor_for

CRDS = Resource(
    "apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition", False
)
CRD_NAME = f"{WIDGETS.plural}.{WIDGETS.group}"
#: The plugin's one entry-point line, as a plugin's pyproject.toml would declare it.
ENTRY_POINT = metadata.EntryPoint(
    name="widgets", value="tests.e2e.plugin_widgets:WidgetMapper", group=GROUP
)


def _crd() -> dict[str, Any]:
    schema = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": CRD_NAME},
        "spec": {
            "group": WIDGETS.group,
            "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
            "versions": [
                {
                    "name": WIDGETS.version,
                    "served": True,
                    "storage": True,
                    "schema": {"openAPIV3Schema": schema},
                    "subresources": {"status": {}},
                }
            ],
        },
    }


def _established(crd: dict[str, Any] | None) -> bool:
    if crd is None or crd["metadata"].get("deletionTimestamp"):
        return False
    conditions = (crd.get("status") or {}).get("conditions") or []
    return any(c["type"] == "Established" and c["status"] == "True" for c in conditions)


async def _install(client: KubeClient) -> None:
    """Create the CRD (after an earlier copy finished terminating) and wait until Established."""
    await wait_for_object(
        client,
        CRDS,
        namespace=None,
        name=CRD_NAME,
        predicate=lambda crd: crd is None or not crd["metadata"].get("deletionTimestamp"),
    )
    with contextlib.suppress(AlreadyExists):
        await client.create(CRDS, namespace=None, body=_crd())
    await wait_for_object(client, CRDS, namespace=None, name=CRD_NAME, predicate=_established)


@pytest.fixture
async def widgets_crd(host: KubeClient, virtual: KubeClient) -> AsyncIterator[None]:
    """widgets.example.com installed in both clusters; removed afterwards."""
    for client in (virtual, host):
        await _install(client)
    yield
    for client in (virtual, host):
        with contextlib.suppress(NotFound):
            await client.delete(CRDS, namespace=None, name=CRD_NAME)


async def _until(check: Callable[[], bool], task: asyncio.Task[int]) -> None:
    async with asyncio.timeout(60):
        while not check():
            assert not task.done(), "daemon exited early"
            await asyncio.sleep(0.05)


def _widget(name: str, size: int) -> dict[str, Any]:
    return {
        "apiVersion": WIDGETS.api_version,
        "kind": WIDGETS.kind,
        "metadata": {"name": name, "labels": {"app": "shop"}},
        "spec": {"size": size},
    }


async def test_widgets_spec_goes_down_and_status_comes_up(
    host: KubeClient,
    virtual: KubeClient,
    namespace: str,
    widgets_crd: None,
    host_kubeconfig: Path,
    virtual_kubeconfig: Path,
) -> None:
    """A virtual widget appears on the host translated with its spec and follows spec changes;
    status written on the host copy shows in virtual; deleting the widget removes the copy."""
    del widgets_crd
    factories = discover(entry_points=[ENTRY_POINT])
    settings = _settings(namespace, host_kubeconfig, virtual_kubeconfig, VSYNCER_KINDS="widgets")
    t = Translator(vcluster="t", host_namespace=namespace)
    vns = f"v-{os.urandom(3).hex()}"
    await virtual.create(NAMESPACES, namespace=None, body={"metadata": {"name": vns}})
    p_name = t.host_name(vns, "w")
    await create_owner_anchor_for(settings)
    daemon = Daemon(settings=settings, factories=factories, identity="a")
    task = asyncio.create_task(daemon.run(install_signals=False))
    try:
        await _until(lambda: daemon.ready()[0], task)
        await virtual.create(WIDGETS, namespace=vns, body=_widget("w", 3))
        p_obj = await wait_for_object(
            host, WIDGETS, namespace=namespace, name=p_name, predicate=lambda o: o is not None
        )
        assert p_obj is not None
        assert p_obj["spec"] == {"size": 3}
        assert t.virtual_key_from_host(p_obj) == (vns, "w")
        assert p_obj["metadata"]["labels"] == t.translate_labels({"app": "shop"}, namespace=vns)

        await virtual.patch(WIDGETS, namespace=vns, name="w", body={"spec": {"size": 5}})
        p_obj = await wait_for_object(
            host,
            WIDGETS,
            namespace=namespace,
            name=p_name,
            predicate=lambda o: o is not None and o["spec"] == {"size": 5},
        )
        assert p_obj is not None

        await host.update_status(
            WIDGETS,
            namespace=namespace,
            name=p_name,
            body={**p_obj, "status": {"phase": "Ready", "replicas": 5}},
        )
        await wait_for_object(
            virtual,
            WIDGETS,
            namespace=vns,
            name="w",
            predicate=lambda o: (
                o is not None and o.get("status") == {"phase": "Ready", "replicas": 5}
            ),
        )

        await virtual.delete(WIDGETS, namespace=vns, name="w")
        await wait_for_object(
            host, WIDGETS, namespace=namespace, name=p_name, predicate=lambda o: o is None
        )
    finally:
        daemon.request_stop()
        with contextlib.suppress(asyncio.CancelledError):
            assert await asyncio.wait_for(task, 60) == 0
        await virtual.delete(NAMESPACES, namespace=None, name=vns)
