"""Informers against real API servers: convergence, restarts, 410 relists, bookmarks."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator

import pytest

from syncer.informer import Informer
from syncer.kube import KubeClient
from syncer.localcluster import ControlPlane
from syncer.resources import CONFIGMAPS
from syncer.store import Obj, key_of


class Recorder:
    """An event handler that remembers what it was told."""

    def __init__(self) -> None:
        self.added: list[str] = []
        self.updated: list[str] = []
        self.deleted: list[str] = []
        self.changed = asyncio.Event()

    def on_add(self, obj: Obj) -> None:
        self.added.append(key_of(obj)[1])
        self.changed.set()

    def on_update(self, old: Obj, new: Obj) -> None:
        self.updated.append(key_of(new)[1])
        self.changed.set()

    def on_delete(self, obj: Obj) -> None:
        self.deleted.append(key_of(obj)[1])
        self.changed.set()


class EventCounter:
    """Reflector metrics that signal each event type and restart reason."""

    def __init__(self) -> None:
        self.events: dict[str, int] = {}
        self.restarts: dict[str, int] = {}
        self.bookmark = asyncio.Event()

    def event(self, *, type_: str) -> None:
        self.events[type_] = self.events.get(type_, 0) + 1
        if type_ == "BOOKMARK":
            self.bookmark.set()

    def restart(self, *, reason: str) -> None:
        self.restarts[reason] = self.restarts.get(reason, 0) + 1


@contextlib.asynccontextmanager
async def running(informer: Informer) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(informer.run())
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def _cm(name: str, value: str) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name},
        "data": {"v": value},
    }


async def _server_truth(kube: KubeClient, namespace: str) -> dict[str, str]:
    listed = await kube.list(CONFIGMAPS, namespace=namespace)
    return {
        i["metadata"]["name"]: i["metadata"]["resourceVersion"]
        for i in listed["items"]
        if i["metadata"]["name"] != "kube-root-ca.crt"
    }


def _cache(informer: Informer) -> dict[str, str]:
    return {
        o["metadata"]["name"]: o["metadata"]["resourceVersion"]
        for o in informer.store.list()
        if o["metadata"]["name"] != "kube-root-ca.crt"
    }


async def _until_cache_equals(
    informer: Informer, truth: dict[str, str], recorder: Recorder
) -> None:
    async with asyncio.timeout(30):
        while _cache(informer) != truth:
            recorder.changed.clear()
            await recorder.changed.wait()


async def test_converges_under_concurrent_writes(virtual: KubeClient, namespace: str) -> None:
    """With writers racing the initial list and watch, the cache ends equal to the server."""
    rng = random.Random(7)
    names = [f"c{i}" for i in range(40)]

    async def writer(worker: int) -> None:
        for step in range(60):
            name = rng.choice(names)
            with contextlib.suppress(Exception):
                if step % 5 == 4:
                    await virtual.delete(CONFIGMAPS, namespace=namespace, name=name)
                else:
                    try:
                        await virtual.create(
                            CONFIGMAPS, namespace=namespace, body=_cm(name, f"{worker}")
                        )
                    except Exception:
                        await virtual.patch(
                            CONFIGMAPS,
                            namespace=namespace,
                            name=name,
                            body={"data": {"v": f"{step}"}},
                        )

    recorder = Recorder()
    informer = Informer(
        cluster="virtual", client=virtual, resource=CONFIGMAPS, namespace=namespace, page_size=7
    )
    informer.add_handler(recorder)
    writers = [asyncio.create_task(writer(i)) for i in range(4)]
    async with running(informer):
        await asyncio.gather(*writers)
        truth = await _server_truth(virtual, namespace)
        await _until_cache_equals(informer, truth, recorder)
    assert informer.has_synced
    assert "managedFields" not in informer.store.list()[0]["metadata"]


async def test_survives_apiserver_restart(
    control_plane: ControlPlane, virtual: KubeClient, namespace: str
) -> None:
    """A kube-apiserver restart breaks the watch; the informer comes back and catches up."""
    recorder = Recorder()
    informer = Informer(cluster="virtual", client=virtual, resource=CONFIGMAPS, namespace=namespace)
    informer.add_handler(recorder)
    await virtual.create(CONFIGMAPS, namespace=namespace, body=_cm("before", "1"))
    async with running(informer):
        await asyncio.wait_for(informer.wait_synced(), 30)
        await asyncio.to_thread(control_plane.restart_apiserver, "virtual")
        await virtual.create(CONFIGMAPS, namespace=namespace, body=_cm("after", "1"))
        await virtual.delete(CONFIGMAPS, namespace=namespace, name="before")
        await _until_cache_equals(informer, await _server_truth(virtual, namespace), recorder)
    assert "after" in recorder.added
    assert "before" in recorder.deleted


async def test_relists_after_compaction_and_emits_deletes(
    control_plane: ControlPlane, virtual: KubeClient, namespace: str
) -> None:
    """An expired resourceVersion (etcd compacted) → 410 → relist that reports deletes."""
    counter = EventCounter()
    recorder = Recorder()
    informer = Informer(
        cluster="virtual", client=virtual, resource=CONFIGMAPS, namespace=namespace, metrics=counter
    )
    informer.add_handler(recorder)
    for name in ("keep", "gone"):
        await virtual.create(CONFIGMAPS, namespace=namespace, body=_cm(name, "1"))
    async with running(informer):
        await asyncio.wait_for(informer.wait_synced(), 30)
        await _until_cache_equals(informer, await _server_truth(virtual, namespace), recorder)
    stale_rv = informer.reflector.resource_version
    # While the informer is stopped: change things, compact etcd past its resourceVersion,
    # and restart the API server so its watch cache cannot serve the old version either.
    await virtual.delete(CONFIGMAPS, namespace=namespace, name="gone")
    await virtual.create(CONFIGMAPS, namespace=namespace, body=_cm("new", "1"))
    revision = await asyncio.to_thread(control_plane.compact_etcd)
    assert revision > int(stale_rv)
    await asyncio.to_thread(control_plane.restart_apiserver, "virtual")
    lists_before = informer.reflector.lists
    async with running(informer):
        await _until_cache_equals(informer, await _server_truth(virtual, namespace), recorder)
    assert counter.restarts.get("expired", 0) >= 1
    assert informer.reflector.lists == lists_before + 1
    assert "gone" in recorder.deleted
    assert "new" in recorder.added
    assert set(_cache(informer)) == {"keep", "new"}


async def test_bookmarks_advance_resource_version(virtual: KubeClient, namespace: str) -> None:
    """A write outside the watched namespace reaches the informer only as a bookmark."""
    counter = EventCounter()
    informer = Informer(
        cluster="virtual",
        client=virtual,
        resource=CONFIGMAPS,
        namespace=namespace,
        metrics=counter,
        min_watch_timeout=4,
    )
    async with running(informer):
        await asyncio.wait_for(informer.wait_synced(), 30)
        elsewhere = await virtual.create(
            CONFIGMAPS, namespace="default", body=_cm(f"bm-{namespace}", "1")
        )
        target = int(elsewhere["metadata"]["resourceVersion"])
        async with asyncio.timeout(30):
            while int(informer.reflector.resource_version) < target:
                counter.bookmark.clear()
                await counter.bookmark.wait()
    await virtual.delete(CONFIGMAPS, namespace="default", name=f"bm-{namespace}")
    assert counter.events.get("BOOKMARK", 0) >= 1
    assert informer.reflector.lists == 1


@pytest.mark.parametrize("side", ["host", "virtual"])
async def test_label_selector_limits_the_cache(
    side: str, host: KubeClient, virtual: KubeClient, namespace: str
) -> None:
    """With a label selector only matching objects are cached (the host side's managed filter)."""
    kube = host if side == "host" else virtual
    labelled = _cm("ours", "1")
    labelled["metadata"] = {"name": "ours", "labels": {"vcluster.loft.sh/managed-by": "t"}}
    await kube.create(CONFIGMAPS, namespace=namespace, body=labelled)
    await kube.create(CONFIGMAPS, namespace=namespace, body=_cm("theirs", "1"))
    informer = Informer(
        cluster=side,
        client=kube,
        resource=CONFIGMAPS,
        namespace=namespace,
        label_selector="vcluster.loft.sh/managed-by=t",
    )
    async with running(informer):
        await asyncio.wait_for(informer.wait_synced(), 30)
    assert [o["metadata"]["name"] for o in informer.store.list()] == ["ours"]
