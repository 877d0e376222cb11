"""KindSync: own-write echoes are skipped only for syncers that opt in; refusals are reported."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

import pytest

from syncer.api import (
    AlreadyExists,
    NamespaceKeys,
    NotFound,
    Refused,
    Resource,
    SyncContext,
    Translator,
    keys_in_namespace,
)
from syncer.echoes import OwnWrites
from syncer.informer import Informer
from syncer.keys import ObjectKey
from syncer.reconcile import DONE, Result
from syncer.reflector import EventHandler
from syncer.resources import PODS
from syncer.store import Obj, Store
from syncer.sync import KindSync
from syncer.translate import OBJECT_UID_ANNOTATION


class StubInformer:
    """Just what KindSync uses while wiring: handler registration."""

    def __init__(self) -> None:
        self.handlers: list[EventHandler] = []
        self.resource = PODS
        self.store = Store()
        self.objects: dict[tuple[str, str], Obj] = {}

    def add_handler(self, handler: EventHandler) -> None:
        self.handlers.append(handler)

    def get(self, namespace: str, name: str) -> Obj | None:
        return self.objects.get((namespace, name))

    def add(self, obj: Obj) -> None:
        for handler in self.handlers:
            handler.on_add(obj)

    def update(self, obj: Obj) -> None:
        for handler in self.handlers:
            handler.on_update(obj, obj)

    def delete(self, obj: Obj) -> None:
        for handler in self.handlers:
            handler.on_delete(obj)


class Metrics:
    def __init__(self) -> None:
        self.echoes = 0
        self.refused: list[tuple[str, str]] = []

    def skipped(self, *, kind: str, reason: str) -> None:
        return None

    def sync_lag(self, *, kind: str, direction: str, seconds: float) -> None:
        return None

    def own_write_event(self, *, kind: str) -> None:
        self.echoes += 1

    def refused_object(self, *, kind: str, reason: str) -> None:
        self.refused.append((kind, reason))


class PodSyncer:
    resource = PODS

    def __init__(self, *, skip: bool) -> None:
        self.skip_own_echoes = skip

    def virtual_to_host(self, key: ObjectKey) -> str | None:
        return f"{key.name}-x-{key.namespace}"

    def host_to_virtual(self, p_obj: Obj) -> ObjectKey | None:
        name, _, namespace = p_obj["metadata"]["name"].partition("-x-")
        return ObjectKey("pods", namespace, name)

    def is_managed(self, p_obj: Obj) -> bool:
        return True

    async def sync_to_host(self, ctx: SyncContext, v_obj: Obj) -> Result:
        return DONE

    async def sync(self, ctx: SyncContext, v_obj: Obj, p_obj: Obj) -> Result:
        return DONE

    async def sync_to_virtual(self, ctx: SyncContext, key: ObjectKey, p_obj: Obj) -> Result:
        return DONE


def pod(name: str, rv: str, namespace: str = "shop") -> Mapping[str, Any]:
    return {"metadata": {"namespace": namespace, "name": name, "resourceVersion": rv}}


def wire(
    *, skip: bool
) -> tuple[StubInformer, StubInformer, OwnWrites, OwnWrites, list[ObjectKey], Metrics]:
    virtual, host = StubInformer(), StubInformer()
    v_writes, p_writes = OwnWrites(), OwnWrites()
    queued: list[ObjectKey] = []
    metrics = Metrics()
    KindSync(
        mapper=PodSyncer(skip=skip),
        virtual=cast(Informer, virtual),
        host=cast(Informer, host),
        context=cast(SyncContext, None),
        enqueue=queued.append,
        metrics=metrics,
        virtual_writes=v_writes,
        host_writes=p_writes,
    )
    return virtual, host, v_writes, p_writes, queued, metrics


WEB = ObjectKey("pods", "shop", "web")


def test_echoes_of_own_writes_do_not_enqueue_for_a_syncer_that_opts_in() -> None:
    virtual, host, v_writes, p_writes, queued, metrics = wire(skip=True)
    v_writes.record("pods", pod("web", "5"))
    p_writes.record("pods", pod("web-x-shop", "7", namespace="host"))
    virtual.update(pod("web", "5"))
    host.add(pod("web-x-shop", "7", namespace="host"))
    assert queued == []
    assert metrics.echoes == 2


def test_changes_by_anyone_else_still_enqueue() -> None:
    virtual, host, v_writes, _p_writes, queued, metrics = wire(skip=True)
    v_writes.record("pods", pod("web", "5"))
    virtual.update(pod("web", "6"))  # someone else's version
    host.update(pod("web-x-shop", "8", namespace="host"))
    virtual.update(pod("web", "5"))  # ours: skipped
    virtual.update(pod("web", "5"))  # a second delivery of the same version is not ours again
    assert queued == [WEB, WEB, WEB]
    assert metrics.echoes == 1


def test_deletes_always_enqueue() -> None:
    virtual, host, v_writes, p_writes, queued, _ = wire(skip=True)
    v_writes.record("pods", pod("web", "5"))
    p_writes.record("pods", pod("web-x-shop", "7", namespace="host"))
    virtual.delete(pod("web", "5"))
    host.delete(pod("web-x-shop", "7", namespace="host"))
    assert queued == [WEB, WEB]


@pytest.mark.parametrize("skip", [False, "yes"])
def test_without_opting_in_every_event_enqueues(skip: object) -> None:
    virtual, _host, v_writes, _p_writes, queued, metrics = wire(skip=cast(bool, skip))
    v_writes.record("pods", pod("web", "5"))
    virtual.update(pod("web", "5"))
    assert queued == [WEB]
    assert metrics.echoes == 0
    assert len(v_writes) == 0  # the kind is not even tracked


class RefusingSyncer(PodSyncer):
    """Refuses every pod whose name starts with ``bad`` (retry_after from the name)."""

    def __init__(self) -> None:
        super().__init__(skip=False)
        self.retry_after: float | None = None

    async def sync_to_host(self, ctx: SyncContext, v_obj: Obj) -> Result:
        if v_obj["metadata"]["name"].startswith("bad"):
            raise Refused(
                reason="pod_security",
                message="spec.hostNetwork: host namespaces are not allowed",
                retry_after=self.retry_after,
            )
        return DONE


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, str, str]] = []

    async def __call__(self, obj: Obj, *, type_: str, reason: str, message: str, kind: str) -> None:
        self.events.append((obj["metadata"]["name"], type_, reason + ": " + message))


def refusing() -> tuple[KindSync, StubInformer, RefusingSyncer, Recorder, Metrics]:
    virtual, host = StubInformer(), StubInformer()
    mapper, recorder, metrics = RefusingSyncer(), Recorder(), Metrics()
    context = SyncContext(
        translator=Translator(vcluster="v", host_namespace="host"),
        host=cast(Any, None),
        virtual=cast(Any, None),
        virtual_cache=cast(Any, None),
        host_cache=cast(Any, None),
        record_event=recorder,
        log=None,
    )
    sync = KindSync(
        mapper=mapper,
        virtual=cast(Informer, virtual),
        host=cast(Informer, host),
        context=context,
        enqueue=lambda key: None,
        metrics=metrics,
    )
    return sync, virtual, mapper, recorder, metrics


async def test_a_refusal_is_a_warning_event_and_a_metric_reported_once_per_message() -> None:
    sync, virtual, _mapper, recorder, metrics = refusing()
    virtual.objects[("shop", "bad")] = pod("bad", "1")
    key = ObjectKey("pods", "shop", "bad")
    assert await sync.reconcile(key) == DONE  # only the pod's own change can lift it
    assert await sync.reconcile(key) == DONE
    assert recorder.events == [
        ("bad", "Warning", "SyncRefused: spec.hostNetwork: host namespaces are not allowed")
    ]
    assert metrics.refused == [("pods", "pod_security"), ("pods", "pod_security")]


async def test_a_refusal_whose_cause_can_change_is_revisited_and_reported_again_after_success() -> (
    None
):
    sync, virtual, mapper, recorder, _metrics = refusing()
    mapper.retry_after = 60.0
    virtual.objects[("shop", "bad")] = pod("bad", "1")
    key = ObjectKey("pods", "shop", "bad")
    assert await sync.reconcile(key) == Result(requeue_after=60.0)
    virtual.objects[("shop", "bad")] = pod("good", "2")  # the cause went away
    assert await sync.reconcile(key) == DONE
    virtual.objects[("shop", "bad")] = pod("bad", "3")  # and came back
    assert await sync.reconcile(key) == Result(requeue_after=60.0)
    assert len(recorder.events) == 2


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


# -- dependents: a watched object standing for every key of a namespace ------------------


def test_namespace_keys_expand_to_the_watching_kinds_keys_of_that_namespace_only() -> None:
    virtual, host = StubInformer(), StubInformer()
    queued: list[ObjectKey] = []
    sync = KindSync(
        mapper=PodSyncer(skip=False),
        virtual=cast(Informer, virtual),
        host=cast(Informer, host),
        context=cast(SyncContext, None),
        enqueue=queued.append,
        metrics=Metrics(),
    )
    for namespace, name in [("shop", "a"), ("shop", "b"), ("bank", "c")]:
        virtual.store.add(pod(name, "1", namespace=namespace))
    namespaces = StubInformer()
    sync.watch(cast(Informer, namespaces), keys_in_namespace)
    shop = {"metadata": {"name": "shop", "labels": {"tier": "1"}}}
    namespaces.add(shop)
    assert queued == [ObjectKey("pods", "shop", "a"), ObjectKey("pods", "shop", "b")]
    queued.clear()
    namespaces.update(shop)  # old and new name the same namespace: expanded once
    assert queued == [ObjectKey("pods", "shop", "a"), ObjectKey("pods", "shop", "b")]
    queued.clear()
    namespaces.add({"metadata": {"name": "empty"}})
    assert queued == []


def test_a_watch_function_may_mix_keys_and_namespaces_and_a_failing_one_costs_nothing() -> None:
    virtual, host = StubInformer(), StubInformer()
    queued: list[ObjectKey] = []
    sync = KindSync(
        mapper=PodSyncer(skip=False),
        virtual=cast(Informer, virtual),
        host=cast(Informer, host),
        context=cast(SyncContext, None),
        enqueue=queued.append,
        metrics=Metrics(),
    )
    virtual.store.add(pod("a", "1", namespace="shop"))
    other = StubInformer()
    sync.watch(cast(Informer, other), lambda obj: [WEB, NamespaceKeys("shop")])
    broken = StubInformer()
    sync.watch(cast(Informer, broken), lambda obj: [ObjectKey("pods", "", str(1 / 0))])
    other.delete(pod("x", "1"))
    broken.add(pod("x", "1"))
    assert queued == [WEB, ObjectKey("pods", "shop", "a")]
