"""KindSync: keys blocked by a host object that is not their copy are retried, never dropped."""

from __future__ import annotations

from typing import Any, cast

import pytest

from syncer.api import (
    AlreadyExists,
    NotFound,
    Resource,
    SyncContext,
    Translator,
)
from syncer.informer import Informer
from syncer.keys import ObjectKey
from syncer.reconcile import DONE, Result
from syncer.store import Obj
from syncer.sync import KindSync
from syncer.translate import OBJECT_UID_ANNOTATION
from tests.syncer.syncstubs import WEB, Metrics, PodSyncer, Recorder, StubInformer

# -- keys blocked by a host object that is not theirs ------------------------------------


class CreatingSyncer(PodSyncer):
    """Creates on the host through a stub answer: ``AlreadyExists`` while ``taken``."""

    def __init__(self) -> None:
        super().__init__(skip=False)
        self.taken = False
        self.creates = 0

    async def sync_to_host(self, ctx: SyncContext, v_obj: Obj) -> Result:
        self.creates += 1
        if self.taken:
            raise AlreadyExists(status=409, reason="AlreadyExists", message="exists")
        return DONE


class LiveHost:
    """A live host read answering from ``objects`` (404 when absent)."""

    def __init__(self) -> None:
        self.objects: dict[str, Obj] = {}
        self.reads: list[str] = []

    async def __call__(self, resource: Resource, *, name: str) -> dict[str, Any]:
        self.reads.append(name)
        if name not in self.objects:
            raise NotFound(status=404, reason="NotFound", message=name)
        return dict(self.objects[name])


def host_copy(name: str, *, owner: str, uid: str) -> Obj:
    """A host object named ``name`` whose provenance says it is the copy of ``owner`` (uid)."""
    return {
        "metadata": {
            "namespace": "host",
            "name": name,
            "annotations": {OBJECT_UID_ANNOTATION: uid, "owner": owner},
        }
    }


class OwnerMapper(CreatingSyncer):
    """Host name ``<name>-x-<ns>``; a host object's key comes from its ``owner`` annotation."""

    def host_to_virtual(self, p_obj: Obj) -> ObjectKey | None:
        owner = p_obj["metadata"].get("annotations", {}).get("owner")
        if owner is None:
            return super().host_to_virtual(p_obj)
        namespace, _, name = owner.partition("/")
        return ObjectKey("pods", namespace, name)


def blocking(
    *, live: LiveHost | None = None, initial: float = 1.0, maximum: float = 4.0
) -> tuple[KindSync, StubInformer, StubInformer, OwnerMapper, Recorder, Metrics, list[ObjectKey]]:
    virtual, host = StubInformer(), StubInformer()
    mapper, recorder, metrics = OwnerMapper(), Recorder(), Metrics()
    queued: list[ObjectKey] = []
    context = SyncContext(
        translator=Translator(vcluster="v", host_namespace="host"),
        host=cast(Any, None),
        virtual=cast(Any, None),
        virtual_cache=cast(Any, None),
        host_cache=cast(Any, None),
        record_event=recorder,
        log=None,
        host_read=live,
    )
    sync = KindSync(
        mapper=mapper,
        virtual=cast(Informer, virtual),
        host=cast(Informer, host),
        context=context,
        enqueue=queued.append,
        metrics=metrics,
        blocked_initial=initial,
        blocked_maximum=maximum,
    )
    return sync, virtual, host, mapper, recorder, metrics, queued


def v_pod(name: str, uid: str = "u-1") -> Obj:
    return {"metadata": {"namespace": "shop", "name": name, "uid": uid}}


async def test_a_key_blocked_by_another_objects_copy_is_retried_with_a_growing_backoff() -> None:
    """Not dropped: refused as host_name_taken, revisited after 1, 2, 4, 4 s; one event."""
    sync, virtual, host, _mapper, recorder, metrics, _queued = blocking()
    virtual.objects[("shop", "web")] = v_pod("web")
    host.objects[("host", "web-x-shop")] = host_copy("web-x-shop", owner="other/web", uid="u-9")
    delays = [(await sync.reconcile(WEB)).requeue_after for _ in range(4)]
    assert delays == [1.0, 2.0, 4.0, 4.0]
    assert metrics.refused == [("pods", "host_name_taken")] * 4
    assert len(recorder.events) == 1
    name, type_, text = recorder.events[0]
    assert (name, type_) == ("web", "Warning")
    assert text.startswith("SyncRefused: metadata.name: host object web-x-shop already exists")
    assert sync.is_held(WEB)


async def test_a_success_resets_the_backoff_of_a_blocked_key() -> None:
    sync, virtual, host, _mapper, _recorder, _metrics, _queued = blocking()
    virtual.objects[("shop", "web")] = v_pod("web")
    host.objects[("host", "web-x-shop")] = host_copy("web-x-shop", owner="other/web", uid="u-9")
    assert (await sync.reconcile(WEB)).requeue_after == 1.0
    assert (await sync.reconcile(WEB)).requeue_after == 2.0
    del host.objects[("host", "web-x-shop")]
    assert await sync.reconcile(WEB) == DONE
    assert not sync.is_held(WEB)
    host.objects[("host", "web-x-shop")] = host_copy("web-x-shop", owner="other/web", uid="u-9")
    assert (await sync.reconcile(WEB)).requeue_after == 1.0


async def test_the_deletion_of_a_visible_blocking_object_requeues_the_blocked_key_once() -> None:
    sync, virtual, host, _mapper, _recorder, _metrics, queued = blocking()
    virtual.objects[("shop", "web")] = v_pod("web")
    blocker = host_copy("web-x-shop", owner="other/web", uid="u-9")
    host.objects[("host", "web-x-shop")] = blocker
    await sync.reconcile(WEB)
    host.delete(blocker)
    assert queued == [ObjectKey("pods", "other", "web"), WEB]  # its own key, and the blocked one
    queued.clear()
    host.delete(blocker)  # a second delivery: the block was handed out already
    assert queued == [ObjectKey("pods", "other", "web")]


async def test_a_collision_without_a_virtual_object_needs_nothing() -> None:
    sync, _virtual, host, _mapper, recorder, metrics, _queued = blocking()
    host.objects[("host", "web-x-shop")] = host_copy("web-x-shop", owner="other/web", uid="u-9")
    assert await sync.reconcile(WEB) == DONE
    assert recorder.events == []
    assert metrics.refused == []


async def test_already_exists_for_our_own_copy_is_a_lost_create_response_not_a_foreign_object() -> (
    None
):
    """Same key, same object-uid: ours; looked at again soon, no warning, no block."""
    live = LiveHost()
    sync, virtual, _host, mapper, recorder, metrics, _queued = blocking(live=live)
    virtual.objects[("shop", "web")] = v_pod("web", uid="u-1")
    mapper.taken = True
    live.objects["web-x-shop"] = host_copy("web-x-shop", owner="shop/web", uid="u-1")
    result = await sync.reconcile(WEB)
    assert result == Result(requeue_after=1.0)
    assert live.reads == ["web-x-shop"]
    assert recorder.events == []
    assert metrics.refused == []
    assert not sync.is_held(WEB)


@pytest.mark.parametrize(
    ("owner", "uid"),
    [("shop/web", "u-old"), ("other/web", "u-1"), (None, "u-1")],
    ids=["older-object-of-the-same-name", "another-virtual-object", "foreign"],
)
async def test_already_exists_for_anything_else_blocks_the_key(owner: str | None, uid: str) -> None:
    live = LiveHost()
    sync, virtual, _host, mapper, recorder, metrics, _queued = blocking(live=live)
    virtual.objects[("shop", "web")] = v_pod("web", uid="u-1")
    mapper.taken = True
    p_obj = host_copy("web-x-shop", owner=owner or "", uid=uid)
    if owner is None:
        p_obj = {"metadata": {"namespace": "host", "name": "web-x-shop"}}
        mapper.is_managed = lambda p_obj: False  # type: ignore[method-assign]
    live.objects["web-x-shop"] = p_obj
    assert (await sync.reconcile(WEB)).requeue_after == 1.0
    assert metrics.refused == [("pods", "host_name_taken")]
    assert [e[2].split(":")[0] for e in recorder.events] == ["SyncRefused"]


async def test_already_exists_without_live_reads_blocks_and_a_vanished_object_retries() -> None:
    sync, virtual, _host, mapper, _recorder, metrics, _queued = blocking(live=None)
    virtual.objects[("shop", "web")] = v_pod("web")
    mapper.taken = True
    assert (await sync.reconcile(WEB)).requeue_after == 1.0
    live = LiveHost()  # the object in the way is gone by the time it is read
    sync2, virtual2, _h, mapper2, _r, metrics2, _q = blocking(live=live)
    virtual2.objects[("shop", "web")] = v_pod("web")
    mapper2.taken = True
    assert await sync2.reconcile(WEB) == Result(requeue=True)
    assert metrics.refused == [("pods", "host_name_taken")]
    assert metrics2.refused == []
