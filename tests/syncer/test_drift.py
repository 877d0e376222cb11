"""The drift check: a cache contradicted by a live LIST, missing, orphan and changed host copies."""

from __future__ import annotations

import asyncio
from typing import Any, cast

from syncer.api import CONFIGMAPS, NotFound, Resource, SyncContext, Translator, thaw
from syncer.clock import FakeClock
from syncer.drift import DriftChecker
from syncer.informer import Informer
from syncer.keys import ObjectKey
from syncer.kit import CopySyncer
from syncer.kube import KubeClient
from syncer.sync import KindSync

Json = dict[str, Any]
T = Translator(vcluster="vc", host_namespace="host-ns")
APP = ObjectKey("configmaps", "shop", "app")


class Copies(CopySyncer):
    synced_fields = ("data",)

    def __init__(self) -> None:
        super().__init__(resource=CONFIGMAPS, translator=T)


class LiveHost:
    """The host API as the drift check and the writer see it: a dict of objects, paged lists."""

    cluster = "host"

    def __init__(self) -> None:
        self.objects: dict[str, Json] = {}
        self.rv = 10

    def put(self, obj: Json) -> Json:
        self.rv += 1
        obj = thaw(obj)
        obj["metadata"]["resourceVersion"] = str(self.rv)
        self.objects[obj["metadata"]["name"]] = obj
        return obj

    async def list(self, resource: Resource, **kw: Any) -> Json:
        items = sorted(self.objects.values(), key=lambda o: o["metadata"]["name"])
        start = int(kw.get("continue_token") or 0)
        page = items[start : start + 1]  # one object per page: pagination is exercised
        more = start + 1 < len(items)
        meta = {"resourceVersion": str(self.rv), "continue": str(start + 1) if more else ""}
        return {"items": [thaw(o) for o in page], "metadata": meta}

    async def read(self, resource: Resource, *, name: str) -> Json:
        if name not in self.objects:
            raise NotFound(status=404)
        return thaw(self.objects[name])

    async def update(self, resource: Resource, *, current: Any, body: Json) -> Json:
        return self.put(body)


class Queue(list[ObjectKey]):
    pass


class Counts:
    def __init__(self) -> None:
        self.detected: list[tuple[str, str]] = []
        self.repaired: list[str] = []

    def drift_detected(self, *, kind: str, reason: str) -> None:
        self.detected.append((kind, reason))

    def drift_repaired(self, *, kind: str) -> None:
        self.repaired.append(kind)

    def skipped(self, **kw: Any) -> None: ...
    def sync_lag(self, **kw: Any) -> None: ...
    def own_write_event(self, **kw: Any) -> None: ...
    def refused_object(self, **kw: Any) -> None: ...


def world() -> tuple[KindSync, LiveHost, Queue, Counts, Copies]:
    live, queued, counts, mapper = LiveHost(), Queue(), Counts(), Copies()
    client = cast(KubeClient, live)
    virtual = Informer(cluster="virtual", client=client, resource=CONFIGMAPS)
    host = Informer(cluster="host", client=client, resource=CONFIGMAPS, namespace="host-ns")

    async def record_event(obj: Any, **kw: Any) -> None:
        return None

    context = SyncContext(
        translator=T,
        host=cast(Any, live),
        virtual=cast(Any, None),
        virtual_cache=cast(Any, None),
        host_cache=cast(Any, None),
        record_event=record_event,
        log=None,
        host_read=live.read,
    )
    sync = KindSync(
        mapper=mapper,
        virtual=virtual,
        host=host,
        context=context,
        enqueue=queued.append,
        metrics=counts,
    )
    return sync, live, queued, counts, mapper


def v_cm(name: str = "app", **data: str) -> Json:
    return {
        "metadata": {"namespace": "shop", "name": name, "uid": f"u-{name}", "resourceVersion": "1"},
        "data": data or {"k": "1"},
    }


def synced(sync: KindSync, mapper: Copies, live: LiveHost, v_obj: Json) -> Json:
    """``v_obj`` in the virtual cache and its host copy on the host and in the host cache."""
    sync.virtual.store.add(v_obj)
    body = mapper.desired_host(sync.context, v_obj, None)
    assert body is not None
    p_obj = live.put(body)
    sync.host.store.add(p_obj)
    return p_obj


async def test_nothing_is_drift_when_caches_host_and_virtual_agree() -> None:
    sync, live, queued, counts, mapper = world()
    synced(sync, mapper, live, v_cm("app"))
    synced(sync, mapper, live, v_cm("web"))
    checker = DriftChecker(syncs=[sync], metrics=counts, interval=1, grace=0)
    assert await checker.check(sync) == {}
    assert queued == []
    assert counts.detected == []


async def test_a_cache_contradicted_by_the_live_list_is_corrected_and_the_key_enqueued() -> None:
    """A host edit the watch never delivered: the live object replaces the cached one."""
    sync, live, queued, counts, mapper = world()
    p_obj = synced(sync, mapper, live, v_cm())
    tampered = live.put({**thaw(p_obj), "data": {"k": "behind our back"}})
    checker = DriftChecker(syncs=[sync], metrics=counts, interval=1, grace=0)
    assert await checker.check(sync) == {APP: "stale_cache"}
    assert counts.detected == [("configmaps", "stale_cache")]
    cached = sync.host.store.get("host-ns", tampered["metadata"]["name"])
    assert cached is not None
    assert cached["data"] == {"k": "behind our back"}
    assert APP in queued  # by the informer's own handler


async def test_a_cache_that_moves_during_the_grace_period_is_not_stale() -> None:
    sync, live, _queued, counts, mapper = world()
    p_obj = synced(sync, mapper, live, v_cm())
    newer = live.put(thaw(p_obj))
    clock = FakeClock()
    checker = DriftChecker(syncs=[sync], metrics=counts, interval=1, grace=5, clock=clock)
    task = asyncio.create_task(checker.check(sync))
    await clock.wait_for_sleepers()
    sync.host.store.add(newer)  # the watch delivers it meanwhile
    clock.advance(5)
    assert await task == {}
    assert counts.detected == []


async def test_missing_orphan_and_content_drift_are_found_from_the_caches() -> None:
    sync, live, queued, counts, mapper = world()
    sync.virtual.store.add(v_cm("lost"))  # no host copy
    orphan = synced(sync, mapper, live, v_cm("gone"))
    sync.virtual.store.delete(v_cm("gone"))
    changed = synced(sync, mapper, live, v_cm("changed"))
    edited = live.put({**thaw(changed), "data": {"k": "edited"}})
    sync.host.store.add(edited)  # the watch saw it; nothing reconciled it
    checker = DriftChecker(syncs=[sync], metrics=counts, interval=1, grace=0)
    found = await checker.check(sync)
    assert found == {
        ObjectKey("configmaps", "shop", "lost"): "missing",
        ObjectKey("configmaps", "shop", "gone"): "orphan",
        ObjectKey("configmaps", "shop", "changed"): "content",
    }
    assert sorted(queued) == sorted(found)
    assert orphan["metadata"]["name"] in live.objects


async def test_drift_that_a_reconcile_removes_during_the_grace_period_is_not_counted() -> None:
    sync, live, _queued, counts, mapper = world()
    p_obj = synced(sync, mapper, live, v_cm())
    sync.host.store.add(live.put({**thaw(p_obj), "data": {"k": "edited"}}))
    clock = FakeClock()
    checker = DriftChecker(syncs=[sync], metrics=counts, interval=1, grace=5, clock=clock)
    task = asyncio.create_task(checker.check(sync))
    await clock.wait_for_sleepers()
    sync.host.store.add(live.objects[p_obj["metadata"]["name"]] | {"data": {"k": "1"}})
    clock.advance(5)
    assert await task == {}


async def test_a_drifted_key_reconciled_and_in_sync_on_a_live_recheck_counts_as_repaired() -> None:
    sync, live, _queued, counts, mapper = world()
    p_obj = synced(sync, mapper, live, v_cm())
    sync.host.store.add(live.put({**thaw(p_obj), "data": {"k": "edited"}}))
    checker = DriftChecker(syncs=[sync], metrics=counts, interval=1, grace=0)
    assert await checker.check(sync) == {APP: "content"}
    await sync.reconcile(APP)  # writes the virtual data back to the host
    # The watch delivers the repair's own write; the next pass re-checks live.
    name = p_obj["metadata"]["name"]
    sync.host.store.add(live.objects[name])
    assert live.objects[name]["data"] == {"k": "1"}
    assert await checker.check(sync) == {}
    assert counts.repaired == ["configmaps"]
    assert await checker.check(sync) == {}
    assert counts.repaired == ["configmaps"]  # counted once


async def test_a_drifted_key_never_reconciled_is_let_go_uncounted() -> None:
    sync, _live, _queued, counts, _mapper = world()
    sync.virtual.store.add(v_cm("lost"))
    checker = DriftChecker(syncs=[sync], metrics=counts, interval=1, grace=0)
    for _ in range(4):
        assert await checker.check(sync) == {ObjectKey("configmaps", "shop", "lost"): "missing"}
    assert counts.repaired == []
    assert counts.detected == [("configmaps", "missing")] * 4


async def test_run_passes_every_interval_and_survives_a_failing_list() -> None:
    sync, live, _queued, counts, _mapper = world()
    sync.virtual.store.add(v_cm("lost"))
    failures = [NotFound(status=503)]
    real_list = live.list

    async def flaky(resource: Resource, **kw: Any) -> Json:
        if failures:
            raise failures.pop()
        return await real_list(resource, **kw)

    live.list = flaky  # type: ignore[method-assign]
    clock = FakeClock()
    checker = DriftChecker(syncs=[sync], metrics=counts, interval=30, grace=0, clock=clock)
    task = asyncio.create_task(checker.run())
    for _ in range(2):
        await clock.wait_for_sleepers()
        clock.advance(30)
    await clock.wait_for_sleepers()
    task.cancel()
    assert counts.detected == [("configmaps", "missing")]
