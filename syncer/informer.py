"""Informers: one per (cluster, kind), a reflector feeding a store and fanning out events.

Guarantees:

* One store per informer, filled only by its reflector; everyone else reads it.
  Cached objects are read-only (see :mod:`syncer.store`).
* Handlers registered with :meth:`Informer.add_handler` see every change in
  order; a handler that raises is logged with its traceback and counted in
  :attr:`Informer.handler_errors` (no metric exports that count), and does not
  stop the other handlers or the informer.
* Indexes can be registered before or after start (back-filled).
* :attr:`has_synced` is true once the first list is complete; ``wait_synced``
  is bounded by the caller's timeout.
* The server is reached only through the
  :class:`~syncer.listwatch.ListerWatcher` given as ``client``.
"""

from __future__ import annotations

from collections.abc import Iterable

import structlog

from syncer.clock import Clock
from syncer.listwatch import ListerWatcher
from syncer.reflector import (
    EventHandler,
    Json,
    Reflector,
    ReflectorMetrics,
    Transform,
    drop_managed_fields,
)
from syncer.resources import Resource
from syncer.store import IndexFunc, Key, Obj, Store


class _FanOut:
    def __init__(self, *, log: structlog.stdlib.BoundLogger) -> None:
        self.handlers: list[EventHandler] = []
        self.errors = 0
        self._log = log

    def on_add(self, obj: Obj) -> None:
        for handler in self.handlers:
            try:
                handler.on_add(obj)
            except Exception:
                self.errors += 1
                self._log.exception("event handler failed", change="add")

    def on_update(self, old: Obj, new: Obj) -> None:
        for handler in self.handlers:
            try:
                handler.on_update(old, new)
            except Exception:
                self.errors += 1
                self._log.exception("event handler failed", change="update")

    def on_delete(self, obj: Obj) -> None:
        for handler in self.handlers:
            try:
                handler.on_delete(obj)
            except Exception:
                self.errors += 1
                self._log.exception("event handler failed", change="delete")


class Informer:
    """A shared, indexed cache of one kind on one cluster, kept current by list+watch."""

    def __init__(
        self,
        *,
        cluster: str,
        client: ListerWatcher,
        resource: Resource,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        transform: Transform | None = drop_managed_fields,
        metrics: ReflectorMetrics | None = None,
        clock: Clock | None = None,
        page_size: int = 500,
        min_watch_timeout: int = 300,
        name: str | None = None,
    ) -> None:
        self.cluster = cluster
        self._name = name or f"{cluster}/{resource.plural}"
        self.resource = resource
        self.store = Store()
        self._fanout = _FanOut(
            log=structlog.get_logger("vsyncer.informer").bind(cluster=cluster, kind=resource.kind)
        )
        self.reflector = Reflector(
            client=client,
            resource=resource,
            store=self.store,
            handler=self._fanout,
            namespace=namespace,
            label_selector=label_selector,
            field_selector=field_selector,
            transform=transform,
            page_size=page_size,
            min_watch_timeout=min_watch_timeout,
            clock=clock,
            metrics=metrics,
        )

    @property
    def name(self) -> str:
        """``cluster/plural`` unless named otherwise (two informers of one kind need two names)."""
        return self._name

    def add_handler(self, handler: EventHandler) -> None:
        self._fanout.handlers.append(handler)

    def add_index(self, name: str, fn: IndexFunc) -> None:
        self.store.add_index(name, fn)

    @property
    def handler_errors(self) -> int:
        return self._fanout.errors

    @property
    def has_synced(self) -> bool:
        return self.reflector.has_synced

    async def wait_synced(self) -> None:
        await self.reflector.wait_synced()

    async def run(self) -> None:
        await self.reflector.run()

    def get(self, namespace: str, name: str) -> Obj | None:
        return self.store.get(namespace, name)

    async def list_live(self) -> list[Json]:
        """What the server holds now, listed as the reflector lists (the cache is untouched)."""
        items, _ = await self.reflector.fetch()
        return items

    def correct(self, *, live: Iterable[Json], gone: Iterable[Key]) -> None:
        """Store ``live`` objects and drop ``gone`` keys, telling the handlers as a watch would."""
        self.reflector.correct(live=live, gone=gone)
