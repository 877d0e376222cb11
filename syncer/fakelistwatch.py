"""An in-memory API server for tests: a :class:`~syncer.listwatch.ListerWatcher` you can misbehave.

Drive a reflector, an informer or a plugin's own machinery without a cluster,
and provoke on demand what a real API server does rarely: expire
resourceVersions, cut watches, reorder or drop bookmarks, paginate, fail a call.
It also answers ``get``/``create``/``update``/``delete`` with the signatures of
:class:`syncer.kube.KubeClient`, which is all a Lease-based leader elector needs.

Guarantees:

* One resourceVersion counter for every resource, raised by one on each write
  (etcd's revision); each stored object carries it in ``metadata.resourceVersion``.
* Everything handed out is a fresh copy, decoded from JSON as a real response
  would be: callers may change what they get, the fake never changes behind them.
* ``list`` sorts by (namespace, name) and honours ``limit``; a ``continue``
  token serves the rest of the same snapshot, and raises
  :class:`~syncer.errors.Gone` once :meth:`compact` has passed that snapshot.
* ``watch`` from ``""``/``"0"`` sends an ``ADDED`` per current object, then live
  events; from version N it replays every event after N, then live events; from
  a version older than the last :meth:`compact` it raises ``Gone`` when first
  iterated, as a real 410 ``ERROR`` event does.
* A stream ends only through :meth:`cut_watches` (no timers: ``timeout_seconds``
  is recorded, not enforced).  Bookmarks are sent only by :meth:`bookmark`, only
  to watches that allowed them, and never while :attr:`drop_bookmarks` is set.
* Selectors: label terms ``k=v``, ``k==v``, ``k!=v``, ``k``, ``!k``; field terms
  on ``metadata.name`` and ``metadata.namespace``; anything else is a
  ``ValueError``.  Selectors test an object's state in each event (an object
  that stops matching is not reported as deleted).
* :meth:`fail_next` makes the next call of one verb raise the given error.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Any

import orjson

from syncer.errors import AlreadyExists, ApiError, Conflict, Gone, NotFound
from syncer.resources import Resource
from syncer.selectors import ObjectFilter

Json = dict[str, Any]
Key = tuple[str, str]

__all__ = ["FakeListerWatcher", "ListRequest", "WatchRequest"]


@dataclass(frozen=True, slots=True)
class ListRequest:
    """One ``list`` call as the fake received it."""

    resource: Resource
    namespace: str | None
    limit: int
    continue_token: str | None
    label_selector: str | None
    field_selector: str | None


@dataclass(frozen=True, slots=True)
class WatchRequest:
    """One ``watch`` call as the fake received it."""

    resource: Resource
    namespace: str | None
    resource_version: str
    timeout_seconds: int
    allow_bookmarks: bool
    label_selector: str | None
    field_selector: str | None


class _Watch:
    """One open stream: its filter and the queue of events (or the cut) it has yet to deliver."""

    __slots__ = ("bookmarks", "filter", "queue", "waiting")

    def __init__(self, *, filter_: ObjectFilter, bookmarks: bool) -> None:
        self.filter = filter_
        self.bookmarks = bookmarks
        self.queue: asyncio.Queue[Json | _Cut] = asyncio.Queue()
        self.waiting = False


@dataclass(frozen=True, slots=True)
class _Cut:
    error: ApiError | None


class FakeListerWatcher:
    """An in-memory API server for any number of resources (see the module docstring)."""

    def __init__(self, *, cluster: str = "fake") -> None:
        self._cluster = cluster
        self._objects: dict[Resource, dict[Key, bytes]] = {}
        # (resourceVersion, resource, event type, object as JSON) for every write since compaction.
        self._history: list[tuple[int, Resource, str, bytes]] = []
        self._rv = 0
        self._compacted = 0
        self._uids = itertools.count(1)
        # Open paginated lists: token prefix -> (their resourceVersion, their items as JSON).
        self._snapshots: dict[str, tuple[int, list[bytes]]] = {}
        self._snapshot_ids = itertools.count()
        self._watches: list[_Watch] = []
        self._opened = asyncio.Event()
        # verb -> [(calls still to succeed, the error then raised), ...]
        self._failures: dict[str, list[tuple[int, ApiError]]] = {}
        self.drop_bookmarks = False
        """While true, :meth:`bookmark` sends nothing (a server that never bookmarks)."""
        self.list_requests: list[ListRequest] = []
        self.watch_requests: list[WatchRequest] = []

    @property
    def cluster(self) -> str:
        return self._cluster

    @property
    def resource_version(self) -> str:
        """The current resourceVersion (of the last write)."""
        return str(self._rv)

    @property
    def open_watches(self) -> int:
        return len(self._watches)

    # -- misbehaviour -----------------------------------------------------------------

    def compact(self) -> None:
        """Expire every resourceVersion before now: older watches and continue tokens get Gone."""
        self._compacted = self._rv
        self._history.clear()
        self._snapshots.clear()

    def cut_watches(self, *, error: ApiError | None = None) -> int:
        """End every open stream after what it already holds; raise ``error`` instead if given.

        Returns how many streams were cut.
        """
        watches, self._watches = self._watches, []
        for watch in watches:
            watch.queue.put_nowait(_Cut(error))
        return len(watches)

    def bookmark(self, *, resource_version: str | None = None) -> int:
        """Send a BOOKMARK (the current version, or an older one to reorder) to open streams.

        Returns how many streams got it: those that allowed bookmarks, none while
        :attr:`drop_bookmarks` is set.
        """
        if self.drop_bookmarks:
            return 0
        rv = resource_version if resource_version is not None else str(self._rv)
        sent = 0
        for watch in self._watches:
            if watch.bookmarks:
                resource = watch.filter.resource
                obj = {"apiVersion": resource.api_version, "kind": resource.kind}
                watch.queue.put_nowait(
                    {"type": "BOOKMARK", "object": obj | {"metadata": {"resourceVersion": rv}}}
                )
                sent += 1
        return sent

    def fail_next(self, verb: str, error: ApiError, *, skip: int = 0) -> None:
        """Make a call of ``verb`` (list, watch, get, create, update, delete) raise ``error``.

        The call that fails is the next one after ``skip`` more calls that
        succeed (``skip=1`` on ``list`` fails the second page of a list).
        Several failures queue up in order.
        """
        self._failures.setdefault(verb, []).append((skip, error))

    async def wait_watches(self, count: int = 1) -> None:
        """Return once at least ``count`` streams are open."""
        while len(self._watches) < count:
            self._opened.clear()
            await self._opened.wait()

    async def settle(self, *, watches: int = 1) -> None:
        """Return once ``watches`` streams are open and each has handed over all it holds.

        A consumer that handles each event before asking for the next (a
        reflector does) has then handled everything written so far.
        """
        await self.wait_watches(watches)
        while not all(w.waiting and w.queue.empty() for w in self._watches):
            await asyncio.sleep(0)
            await self.wait_watches(watches)

    # -- writes -----------------------------------------------------------------------

    async def create(self, resource: Resource, *, namespace: str | None, body: Json) -> Json:
        self._fail("create")
        obj = _copy(body)
        metadata = obj.setdefault("metadata", {})
        if namespace:
            metadata["namespace"] = namespace
        key = (metadata.get("namespace") or "", metadata["name"])
        if key in self._objects.get(resource, {}):
            raise AlreadyExists(status=409, reason="AlreadyExists", message=f"{key} exists")
        metadata["uid"] = f"uid-{next(self._uids)}"
        return self._write(resource, key, "ADDED", obj)

    async def update(
        self, resource: Resource, *, namespace: str | None, name: str, body: Json
    ) -> Json:
        self._fail("update")
        key = (namespace or "", name)
        current = self._current(resource, key)
        obj = _copy(body)
        metadata = obj.setdefault("metadata", {})
        sent_rv = metadata.get("resourceVersion")
        if sent_rv and sent_rv != current["metadata"]["resourceVersion"]:
            raise Conflict(status=409, reason="Conflict", message=f"{key}: stale resourceVersion")
        metadata.update(name=name, uid=current["metadata"].get("uid"))
        if namespace:
            metadata["namespace"] = namespace
        return self._write(resource, key, "MODIFIED", obj)

    async def delete(self, resource: Resource, *, namespace: str | None, name: str) -> Json:
        self._fail("delete")
        key = (namespace or "", name)
        current = self._current(resource, key)
        del self._objects[resource][key]
        self._rv += 1
        current["metadata"]["resourceVersion"] = str(self._rv)
        self._publish(resource, "DELETED", orjson.dumps(current))
        return current

    # -- reads ------------------------------------------------------------------------

    async def get(self, resource: Resource, *, namespace: str | None, name: str) -> Json:
        self._fail("get")
        return self._current(resource, (namespace or "", name))

    async def list(
        self,
        resource: Resource,
        *,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        limit: int = 500,
        continue_token: str | None = None,
        resource_version: str | None = None,
    ) -> Json:
        self.list_requests.append(
            ListRequest(resource, namespace, limit, continue_token, label_selector, field_selector)
        )
        self._fail("list")
        if continue_token is None:
            filter_ = ObjectFilter(resource, namespace, label_selector, field_selector)
            objects = self._objects.get(resource, {})
            items = [
                raw for _, raw in sorted(objects.items()) if filter_.matches(orjson.loads(raw))
            ]
            rv, offset, snapshot = self._rv, 0, str(next(self._snapshot_ids))
            self._snapshots[snapshot] = (rv, items)
        else:
            snapshot, _, start = continue_token.partition(":")
            if snapshot not in self._snapshots:
                raise Gone(status=410, reason="Expired", message="continue token expired")
            rv, items = self._snapshots[snapshot]
            offset = int(start)
        page = items[offset : offset + limit] if limit > 0 else items[offset:]
        end = offset + len(page)
        metadata: Json = {"resourceVersion": str(rv)}
        if end < len(items):
            metadata["continue"] = f"{snapshot}:{end}"
        else:
            del self._snapshots[snapshot]
        return {
            "kind": f"{resource.kind}List",
            "metadata": metadata,
            "items": [orjson.loads(raw) for raw in page],
        }

    async def watch(
        self,
        resource: Resource,
        *,
        resource_version: str,
        timeout_seconds: int,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        allow_bookmarks: bool = True,
    ) -> AsyncGenerator[Json, None]:
        self.watch_requests.append(
            WatchRequest(
                resource,
                namespace,
                resource_version,
                timeout_seconds,
                allow_bookmarks,
                label_selector,
                field_selector,
            )
        )
        self._fail("watch")
        filter_ = ObjectFilter(resource, namespace, label_selector, field_selector)
        if resource_version in ("", "0"):
            backlog = [("ADDED", raw) for _, raw in sorted(self._objects.get(resource, {}).items())]
        elif int(resource_version) < self._compacted:
            raise Gone(
                status=410,
                reason="Expired",
                message=f"too old resource version: {resource_version}",
            )
        else:
            since = int(resource_version)
            backlog = [(t, raw) for rv, r, t, raw in self._history if r == resource and rv > since]
        watch = _Watch(filter_=filter_, bookmarks=allow_bookmarks)
        for type_, raw in backlog:
            obj = orjson.loads(raw)
            if filter_.matches(obj):
                watch.queue.put_nowait({"type": type_, "object": obj})
        self._watches.append(watch)
        self._opened.set()
        try:
            while True:
                watch.waiting = True
                try:
                    item = await watch.queue.get()
                finally:
                    watch.waiting = False
                if isinstance(item, _Cut):
                    if item.error is not None:
                        raise item.error
                    return
                yield item
        finally:
            if watch in self._watches:
                self._watches.remove(watch)

    # -- plumbing ---------------------------------------------------------------------

    def _fail(self, verb: str) -> None:
        pending = self._failures.get(verb)
        if pending:
            skip, error = pending[0]
            if skip > 0:
                pending[0] = (skip - 1, error)
                return
            del pending[0]
            raise error

    def _current(self, resource: Resource, key: Key) -> Json:
        raw = self._objects.get(resource, {}).get(key)
        if raw is None:
            raise NotFound(
                status=404, reason="NotFound", message=f"{resource.plural} {key} not found"
            )
        return _decode(raw)

    def _write(self, resource: Resource, key: Key, type_: str, obj: Json) -> Json:
        self._rv += 1
        obj["metadata"]["resourceVersion"] = str(self._rv)
        raw = orjson.dumps(obj)
        self._objects.setdefault(resource, {})[key] = raw
        self._publish(resource, type_, raw)
        return _decode(raw)

    def _publish(self, resource: Resource, type_: str, raw: bytes) -> None:
        self._history.append((self._rv, resource, type_, raw))
        for watch in self._watches:
            if watch.filter.resource == resource:
                obj = orjson.loads(raw)
                if watch.filter.matches(obj):
                    watch.queue.put_nowait({"type": type_, "object": obj})


def _decode(raw: bytes) -> Json:
    decoded: Json = orjson.loads(raw)
    return decoded


def _copy(obj: Json) -> Json:
    return _decode(orjson.dumps(obj))
