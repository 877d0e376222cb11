"""KindSync: own-write echoes are skipped only for syncers that opt in; refusals are reported."""

from __future__ import annotations

from typing import cast

import pytest

from syncer.api import (
    NamespaceKeys,
    Refused,
    SyncContext,
    keys_in_namespace,
)
from syncer.capabilities import CapabilityError
from syncer.echoes import OwnWrites
from syncer.informer import Informer
from syncer.keys import ObjectKey
from syncer.reconcile import DONE, Result
from syncer.store import Obj
from syncer.sync import KindSync
from tests.syncer.syncstubs import (
    WEB,
    Metrics,
    PodSyncer,
    Recorder,
    StubInformer,
    pod,
    stub_kind_sync,
)


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


def test_without_opting_in_every_event_enqueues() -> None:
    virtual, _host, v_writes, _p_writes, queued, metrics = wire(skip=False)
    v_writes.record("pods", pod("web", "5"))
    virtual.update(pod("web", "5"))
    assert queued == [WEB]
    assert metrics.echoes == 0
    assert len(v_writes) == 0  # the kind is not even tracked


def test_an_opt_in_that_is_not_a_bool_is_a_declaration_error() -> None:
    """``skip_own_echoes = "yes"`` is refused when wiring, not read as "no"."""
    with pytest.raises(CapabilityError, match="skip_own_echoes must be a bool"):
        wire(skip=cast(bool, "yes"))


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


def refusing() -> tuple[KindSync, StubInformer, RefusingSyncer, Recorder, Metrics]:
    mapper = RefusingSyncer()
    sync, virtual, recorder, metrics = stub_kind_sync(mapper)
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
