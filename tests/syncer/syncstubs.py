"""Stubs for KindSync tests: informers, metrics, a pod syncer and an event recorder."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from syncer.api import (
    SyncContext,
    Translator,
)
from syncer.informer import Informer
from syncer.keys import ObjectKey
from syncer.reconcile import DONE, Result
from syncer.reflector import EventHandler
from syncer.resources import PODS
from syncer.store import Obj, Store
from syncer.sync import KindSync


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


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, str, str]] = []

    async def __call__(self, obj: Obj, *, type_: str, reason: str, message: str, kind: str) -> None:
        self.events.append((obj["metadata"]["name"], type_, reason + ": " + message))


WEB = ObjectKey("pods", "shop", "web")


def stub_kind_sync(mapper: Any) -> tuple[KindSync, StubInformer, Recorder, Metrics]:
    """A KindSync of ``mapper`` over stub informers, recording events; no API behind it."""
    virtual, host = StubInformer(), StubInformer()
    recorder, metrics = Recorder(), Metrics()
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
    return sync, virtual, recorder, metrics
