"""The reflector: list, then watch, into a store — and never lose an event.

Guarantees (client-go's reflector semantics):

* A paginated list (``limit``/``continue``) fills the store through
  :meth:`Store.replace`; objects that vanished since the previous list are
  reported as deletes, new ones as adds, changed ones as updates.
* The watch resumes from the list's resourceVersion with bookmarks allowed and
  a randomised timeout; the resourceVersion is taken from every event and
  bookmark as the server sends it (versions are opaque and never compared, so
  an out-of-order bookmark only makes the next watch replay events, which the
  store applies idempotently).  A watch that ends normally resumes from there
  without relisting.
* 410 Gone (expired resourceVersion, e.g. after etcd compaction or an API
  server restart) relists at once.  Any other failure backs off 0.8 s → 30 s
  with jitter (reset after two quiet minutes) and resumes the watch; a failing
  list backs off the same way.
* An optional transform runs on every object before it is stored, to drop what
  the syncer never reads (``metadata.managedFields`` by default).
* :attr:`has_synced` turns true after the first complete list and stays true.

Handlers are called synchronously and must be quick (enqueue a key, nothing more).
The reflector talks to the server only through a
:class:`~syncer.listwatch.ListerWatcher` (:class:`~syncer.kube.KubeClient` in
production, :class:`~syncer.fakelistwatch.FakeListerWatcher` in tests).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Iterable
from types import MappingProxyType
from typing import Any, Protocol

import structlog

from syncer.backoff import Backoff
from syncer.clock import Clock, RealClock
from syncer.errors import ApiError, Gone
from syncer.listwatch import ListerWatcher
from syncer.resources import Resource
from syncer.store import Key, Obj, Store, key_of

Json = dict[str, Any]
Transform = Callable[[Json], Json]


class EventHandler(Protocol):
    """Receives store changes; called synchronously, must not block."""

    def on_add(self, obj: Obj) -> None: ...
    def on_update(self, old: Obj, new: Obj) -> None: ...
    def on_delete(self, obj: Obj) -> None: ...


class ReflectorMetrics(Protocol):
    def event(self, *, type_: str) -> None: ...
    def restart(self, *, reason: str) -> None: ...


class NoopReflectorMetrics:
    def event(self, *, type_: str) -> None:
        return None

    def restart(self, *, reason: str) -> None:
        return None


def drop_managed_fields(obj: Json) -> Json:
    """The default transform: ``managedFields`` is large and never read by the syncer."""
    metadata = obj.get("metadata")
    if isinstance(metadata, dict):
        metadata.pop("managedFields", None)
    return obj


class Reflector:
    """Keeps one store equal to the server's truth for one (cluster, resource)."""

    def __init__(
        self,
        *,
        client: ListerWatcher,
        resource: Resource,
        store: Store,
        handler: EventHandler,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        transform: Transform | None = drop_managed_fields,
        page_size: int = 500,
        min_watch_timeout: int = 300,
        backoff: Backoff | None = None,
        clock: Clock | None = None,
        metrics: ReflectorMetrics | None = None,
    ) -> None:
        self._client = client
        self._resource = resource
        self._store = store
        self._handler = handler
        self._namespace = namespace
        self._label_selector = label_selector
        self._field_selector = field_selector
        self._transform = transform
        self._page_size = page_size
        self._min_watch_timeout = min_watch_timeout
        self._clock = clock or RealClock()
        self._backoff = backoff or Backoff(clock=self._clock)
        self._metrics = metrics or NoopReflectorMetrics()
        self._log = structlog.get_logger("vsyncer.reflector").bind(
            cluster=client.cluster, kind=resource.kind
        )
        self._synced = asyncio.Event()
        self.resource_version = ""
        self.lists = 0

    @property
    def has_synced(self) -> bool:
        return self._synced.is_set()

    async def wait_synced(self) -> None:
        await self._synced.wait()

    async def run(self) -> None:
        """List and watch until cancelled.

        A reflector that has synced before (a previous ``run`` was cancelled)
        resumes the watch from its last resourceVersion instead of relisting;
        if that version has expired meanwhile the server answers 410 and it
        relists, reporting what changed — deletes included.
        """
        need_list = not self.has_synced
        while True:
            if need_list:
                try:
                    await self._list()
                except ApiError as exc:
                    delay = self._backoff.next()
                    self._metrics.restart(reason="list_error")
                    self._log.warning("list failed", error=str(exc), retry_in=round(delay, 2))
                    await self._clock.sleep(delay)
                    continue
                need_list = False
            try:
                await self._watch()
            except Gone:
                self._metrics.restart(reason="expired")
                self._log.info(
                    "resourceVersion expired; relisting", resource_version=self.resource_version
                )
                need_list = True
            except ApiError as exc:
                delay = self._backoff.next()
                self._metrics.restart(reason="error")
                self._log.warning("watch failed", error=str(exc), retry_in=round(delay, 2))
                await self._clock.sleep(delay)
            else:
                self._metrics.restart(reason="timeout")

    # -- list ---------------------------------------------------------------------------

    async def fetch(self) -> tuple[list[Json], str]:
        """A complete paginated list of what this reflector watches, transformed; no store change.

        Returns the objects and the list's resourceVersion.  A continue token
        that expires mid-way starts the list over; other errors propagate.
        """
        items: list[Json] = []
        token: str | None = None
        resource_version: str | None = None
        while True:
            try:
                page = await self._client.list(
                    self._resource,
                    namespace=self._namespace,
                    label_selector=self._label_selector,
                    field_selector=self._field_selector,
                    limit=self._page_size,
                    continue_token=token,
                )
            except Gone:
                if token is None:
                    raise
                # The continue token expired mid-way: start over with a fresh list.
                items, token = [], None
                continue
            for item in page.get("items") or []:
                items.append(self._transform(item) if self._transform else item)
            metadata = page.get("metadata") or {}
            resource_version = metadata.get("resourceVersion", "")
            token = metadata.get("continue") or None
            if token is None:
                return items, resource_version or ""

    async def _list(self) -> None:
        items, resource_version = await self.fetch()
        self._replace(items, resource_version)
        self.lists += 1

    def correct(self, *, live: Iterable[Json], gone: Iterable[Key]) -> None:
        """Make the store agree with a live read for some keys, as a watch event would.

        Each object of ``live`` is stored (an add or update for the handlers);
        each key of ``gone`` is removed (a delete).  For a cache whose watch
        missed events (:mod:`syncer.drift`); the resourceVersion the watch
        resumes from is left alone.
        """
        store = self._store
        for obj in live:
            self._upsert(obj)
        for key in gone:
            cached = store.get(*key)
            if cached is not None:
                store.delete(cached)
                self._handler.on_delete(cached)

    def _upsert(self, obj: Json) -> None:
        """Store ``obj`` and tell the handlers: an add, or an update of what was cached."""
        store = self._store
        old = store.get(*key_of(obj))
        new = store.add(obj)
        if old is None:
            self._handler.on_add(new)
        else:
            self._handler.on_update(old, new)

    def _replace(self, items: list[Json], resource_version: str) -> None:
        store = self._store
        listed = {key_of(obj): obj for obj in items}
        added: set[tuple[str, str]] = set()
        changed: dict[tuple[str, str], Obj] = {}
        for key, obj in listed.items():
            cached = store.get(*key) if key in store else None
            if cached is None:
                added.add(key)
            elif _rv(cached) != _rv(obj):
                changed[key] = cached
        vanished = store.replace(listed.values(), resource_version)
        self.resource_version = resource_version
        for gone in vanished:
            self._metrics.event(type_="DELETED")
            self._handler.on_delete(gone)
        for key, obj in listed.items():
            if key in added:
                self._metrics.event(type_="ADDED")
                self._handler.on_add(MappingProxyType(obj))
            elif key in changed:
                self._metrics.event(type_="MODIFIED")
                self._handler.on_update(changed[key], MappingProxyType(obj))
        self._synced.set()
        self._log.debug("listed", count=len(items), resource_version=resource_version)

    # -- watch --------------------------------------------------------------------------

    async def _watch(self) -> None:
        timeout = int(self._min_watch_timeout * (1.0 + random.random()))
        store = self._store
        async for event in self._client.watch(
            self._resource,
            namespace=self._namespace,
            resource_version=self.resource_version,
            timeout_seconds=timeout,
            label_selector=self._label_selector,
            field_selector=self._field_selector,
            allow_bookmarks=True,
        ):
            kind = event.get("type")
            obj = event.get("object") or {}
            rv = (obj.get("metadata") or {}).get("resourceVersion", "")
            self._metrics.event(type_=str(kind))
            if kind == "BOOKMARK":
                if rv:
                    self.resource_version = rv
                    store.resource_version = rv
                continue
            if self._transform:
                obj = self._transform(obj)
            if kind == "DELETED":
                cached = store.delete(obj)
                self._handler.on_delete(cached if cached is not None else obj)
            elif kind in ("ADDED", "MODIFIED"):
                self._upsert(obj)
            if rv:
                self.resource_version = rv
                store.resource_version = rv


def _rv(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("resourceVersion", ""))
