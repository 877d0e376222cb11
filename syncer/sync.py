"""Per-kind synchronisation: informer events → virtual keys → reconcile dispatch.

Guarantees:

* Every event on either side enqueues the *virtual* key.  A host event is
  mapped through the mapper's ``host_to_virtual``; unmappable host objects are
  dropped and counted (``vsyncer_skipped_objects_total{reason="unmappable"}``).
* A change of another virtual kind that a :class:`~syncer.api.Watcher` watches
  enqueues the keys its function yields; a :class:`~syncer.api.NamespaceKeys`
  among them stands for every key of the watching kind in that namespace,
  looked up in the watching kind's virtual store by its namespace index (no
  scan of other namespaces).  An update yields from the old and the new object,
  each namespace expanded once.
* A mapper that raises on one object costs that object only: it is skipped,
  counted (``reason="mapper_error"``) and logged; the daemon lives on.
* The reconcile reads both caches and dispatches on which side exists:
  both → ``sync``, virtual only → ``sync_to_host``, host only →
  ``sync_to_virtual``.
* A host object under the translated name that is not this object's copy is
  never touched.  A create answered "already exists" is checked with a live
  read: this vcluster's copy of this very virtual object (same key, same
  ``object-uid`` — a create whose response was lost) is ours, and the key is
  looked at again a second later; anything else *blocks* the key.  A blocked
  key is refused (``Refused(reason="host_name_taken")``, below) and revisited
  after a per-key backoff (30 s doubling to 10 min by default, reset by a
  success, :mod:`syncer.blocked`), and at once when the host informer sees the
  blocking object deleted.  No key is dropped for good while what blocks it can go.
* A step that raises :class:`~syncer.errors.Refused` (a tenant-boundary rule)
  costs that object only: a Warning event ``SyncRefused`` on the virtual object
  (once per distinct message), ``vsyncer_refused_objects_total{kind,reason}``,
  a log line with the key; the key is revisited after ``retry_after`` seconds
  (doubling per consecutive refusal up to ``retry_max`` when that is set), or
  at the object's next change when that is ``None``.
* A mapper declaring ``skip_own_echoes`` (:mod:`syncer.capabilities`) is not
  reconciled for the watch event of a version that this syncer wrote itself
  (:mod:`syncer.echoes`); such events still update the caches.  Every other
  event enqueues.
* Metrics and logs name the kind by :attr:`KindSync.label` (the name
  ``VSYNCER_KINDS`` gives it); keys carry the resource's plural.
* The time from the first unprocessed event of a key to its successful
  reconcile is observed as ``vsyncer_sync_lag_seconds{direction}``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Protocol

import structlog

from syncer.api import Mapper, NamespaceKeys, SyncContext, Syncer
from syncer.blocked import BLOCKED_INITIAL, BLOCKED_MAXIMUM, BlockedKeys
from syncer.capabilities import capabilities_of
from syncer.echoes import OwnWrites
from syncer.errors import AlreadyExists, NotFound, Refused
from syncer.informer import Informer
from syncer.keys import ObjectKey
from syncer.reconcile import DONE, Result
from syncer.reconcilelog import ReconcileLogger
from syncer.store import NAMESPACE_INDEX, Obj, key_of
from syncer.translate import OBJECT_UID_ANNOTATION

#: When to look again at a key whose host object is ours but not cached yet.
CACHE_LAG_RETRY = Result(requeue_after=1.0)

WatchKeys = Callable[[Obj], Iterable[ObjectKey | NamespaceKeys]]
"""A :class:`~syncer.api.Watcher`'s function: keys (or whole namespaces) to enqueue."""


class SyncMetrics(Protocol):
    def skipped(self, *, kind: str, reason: str) -> None: ...
    def sync_lag(self, *, kind: str, direction: str, seconds: float) -> None: ...
    def own_write_event(self, *, kind: str) -> None: ...
    def refused_object(self, *, kind: str, reason: str) -> None: ...


class KindSync:
    """Wires one mapper to its two informers and reconciles its keys.

    ``blocked_initial`` and ``blocked_maximum`` (seconds) bound the backoff of a
    key whose host name is taken (:mod:`syncer.blocked`).
    """

    def __init__(
        self,
        *,
        mapper: Mapper,
        virtual: Informer,
        host: Informer,
        context: SyncContext,
        enqueue: Callable[[ObjectKey], None],
        metrics: SyncMetrics,
        virtual_writes: OwnWrites | None = None,
        host_writes: OwnWrites | None = None,
        blocked_initial: float = BLOCKED_INITIAL,
        blocked_maximum: float = BLOCKED_MAXIMUM,
        label: str | None = None,
    ) -> None:
        self.mapper = mapper
        #: The ``kind`` of this kind's keys (:class:`ObjectKey`): the resource's plural.
        self.kind = mapper.resource.plural
        #: The kind's name in metrics and logs (default: the qualified resource name).
        self.label = label or mapper.resource.qualified
        self.virtual = virtual
        self.host = host
        self._ctx = context
        self._enqueue = enqueue
        self._metrics = metrics
        self._pending: dict[ObjectKey, tuple[float, str]] = {}
        # The last refusal reported per key, so a retried refusal is not reported again;
        # a key leaves it at its next reconcile that is not refused.
        self._refusals: dict[ObjectKey, str] = {}
        self._backoffs: dict[ObjectKey, float] = {}  # last growing delay, while refused
        self._blocked = BlockedKeys(
            initial=blocked_initial, maximum=max(blocked_maximum, blocked_initial)
        )
        # Keys someone (the drift check) waits on: True once a reconcile of the key succeeded.
        self._tracked: dict[ObjectKey, bool] = {}
        self._log = ReconcileLogger(structlog.get_logger("vsyncer.sync").bind(kind=self.label))
        # Checked once: isinstance() against a runtime-checkable Protocol is slow.
        self._syncer: Syncer | None = mapper if isinstance(mapper, Syncer) else None
        self._virtual_writes: OwnWrites | None = None
        self._host_writes: OwnWrites | None = None
        if capabilities_of(mapper).skip_own_echoes and self._syncer is not None:
            self._virtual_writes = virtual_writes
            self._host_writes = host_writes
            for writes in (virtual_writes, host_writes):
                if writes is not None:
                    writes.track(self.kind)
        virtual.add_handler(_Handler(self._on_virtual, self._is_virtual_echo))
        host.add_handler(_Handler(self._on_host, self._is_host_echo, self._on_host_gone))

    @property
    def context(self) -> SyncContext:
        """The context every reconcile step of this kind gets."""
        return self._ctx

    def enqueue(self, key: ObjectKey) -> None:
        """Queue ``key`` for a reconcile (the normal, deduplicating, fair path)."""
        self._enqueue(key)

    def is_held(self, key: ObjectKey) -> bool:
        """Whether ``key`` is refused or blocked now (its host side is not synced on purpose)."""
        return key in self._refusals or key in self._blocked

    def track(self, key: ObjectKey) -> None:
        """Start noting whether a reconcile of ``key`` succeeds (see :meth:`untrack`)."""
        self._tracked[key] = False

    def untrack(self, key: ObjectKey) -> bool:
        """Stop tracking ``key``; whether a reconcile of it succeeded since :meth:`track`."""
        return self._tracked.pop(key, False)

    # -- events → keys -------------------------------------------------------------------

    def _mark(self, key: ObjectKey, direction: str) -> None:
        if key not in self._pending:
            self._pending[key] = (time.monotonic(), direction)
        self._enqueue(key)

    def _is_echo(self, writes: OwnWrites | None, obj: Obj) -> bool:
        if writes is None or not writes.is_echo(self.kind, obj):
            return False
        self._metrics.own_write_event(kind=self.label)
        return True

    def _is_virtual_echo(self, obj: Obj) -> bool:
        return self._is_echo(self._virtual_writes, obj)

    def _is_host_echo(self, obj: Obj) -> bool:
        return self._is_echo(self._host_writes, obj)

    def _on_virtual(self, obj: Obj) -> None:
        namespace, name = key_of(obj)
        self._mark(ObjectKey(self.kind, namespace, name), "toHost")

    def _on_host(self, p_obj: Obj) -> None:
        try:
            key = self.mapper.host_to_virtual(p_obj)
        except Exception:
            self._metrics.skipped(kind=self.label, reason="mapper_error")
            self._log.exception("mapper failed on host object", host_key=str(key_of(p_obj)))
            return
        if key is None:
            self._metrics.skipped(kind=self.label, reason="unmappable")
            return
        self._mark(key, "fromHost")

    def _on_host_gone(self, p_obj: Obj) -> None:
        """A host object went: a key it blocked can be synced now."""
        key = self._blocked.unblocked_by(key_of(p_obj))
        if key is not None:
            self._log.info("blocking host object deleted", key=str(key), host_name=key_of(p_obj)[1])
            self._enqueue(key)

    def watch(self, informer: Informer, keys_of: WatchKeys) -> None:
        """Enqueue keys of this kind for every change of ``informer``'s kind (a Watcher)."""
        informer.add_handler(_WatchHandler(keys_of, self._enqueue_watched, self._log))

    def _enqueue_watched(self, items: Iterable[ObjectKey | NamespaceKeys]) -> None:
        enqueue = self._enqueue
        for item in items:
            if isinstance(item, NamespaceKeys):
                keys = self.virtual.store.keys_by_index(NAMESPACE_INDEX, item.namespace)
                for namespace, name in keys:
                    enqueue(ObjectKey(self.kind, namespace, name))
            else:
                enqueue(item)

    # -- reconcile ----------------------------------------------------------------------

    async def reconcile(self, key: ObjectKey) -> Result:
        v_obj = self.virtual.get(key.namespace, key.name)
        try:
            p_name = self.mapper.virtual_to_host(key)
        except Exception:
            self._metrics.skipped(kind=self.label, reason="mapper_error")
            self._log.exception("mapper failed; object skipped", key=str(key))
            self._pending.pop(key, None)
            return DONE
        if p_name is None:
            self._metrics.skipped(kind=self.label, reason="unmappable")
            self._pending.pop(key, None)
            return DONE
        host_ns = self._ctx.host_namespace if self.mapper.resource.namespaced else ""
        p_obj = self.host.get(host_ns, p_name)
        if p_obj is not None and not self.mapper.is_managed(p_obj):
            p_obj = None  # the host informer only holds labelled objects; be strict anyway
        syncer = self._syncer
        ctx = self._ctx
        try:
            if p_obj is not None and self.mapper.host_to_virtual(p_obj) != key:
                # Same host name, different virtual object (a name collision): not ours to touch.
                if v_obj is not None:
                    raise self._blocked_by(key, host_ns, p_name)
                result = DONE  # nothing of this key's to sync or to delete
            elif syncer is None:
                result = DONE
            elif v_obj is not None and p_obj is not None:
                result = await syncer.sync(ctx, v_obj, p_obj)
            elif v_obj is not None:
                try:
                    result = await syncer.sync_to_host(ctx, v_obj)
                except AlreadyExists:
                    result = await self._already_exists(key, v_obj, host_ns, p_name)
            elif p_obj is not None:
                result = await syncer.sync_to_virtual(ctx, key, p_obj)
            else:
                result = DONE
        except Refused as refusal:
            return await self._refused(key, v_obj, refusal)
        self._refusals.pop(key, None)
        if self._backoffs:
            self._backoffs.pop(key, None)
        if self._blocked:
            self._blocked.clear(key)
        if self._tracked and key in self._tracked:
            self._tracked[key] = True
        pending = self._pending.pop(key, None)
        if pending is not None:
            started, direction = pending
            self._metrics.sync_lag(
                kind=self.label, direction=direction, seconds=time.monotonic() - started
            )
        return result

    async def _already_exists(
        self, key: ObjectKey, v_obj: Obj, host_ns: str, p_name: str
    ) -> Result:
        """A create found the host name taken: our own lost create, or something in the way."""
        read = self._ctx.host_read
        if read is None:
            raise self._blocked_by(key, host_ns, p_name)  # cannot tell: treat it as in the way
        try:
            live = await read(self.host.resource, name=p_name)
        except NotFound:
            return Result(requeue=True)  # gone meanwhile: try again, rate-limited
        if self._is_copy_of(key, v_obj, live):
            # Ours (a create whose response was lost, or a cache behind our write): its
            # watch event brings the key back; look again soon in any case.
            return CACHE_LAG_RETRY
        raise self._blocked_by(key, host_ns, p_name)

    def _is_copy_of(self, key: ObjectKey, v_obj: Obj, p_obj: Obj) -> bool:
        """Whether ``p_obj`` is this vcluster's copy of exactly ``v_obj`` (key and UID)."""
        if not self.mapper.is_managed(p_obj) or self.mapper.host_to_virtual(p_obj) != key:
            return False
        annotations = (p_obj.get("metadata") or {}).get("annotations") or {}
        uid = (v_obj.get("metadata") or {}).get("uid")
        return bool(uid) and annotations.get(OBJECT_UID_ANNOTATION) == uid

    def _blocked_by(self, key: ObjectKey, host_ns: str, p_name: str) -> Refused:
        """The refusal of a key whose host name another object holds; its revisit grows."""
        delay = self._blocked.block(key, (host_ns, p_name))
        return Refused(
            reason="host_name_taken",
            message=(
                f"metadata.name: host object {p_name} already exists and is not this "
                f"{self.mapper.resource.kind}'s copy; retrying until it is removed"
            ),
            retry_after=delay,
        )

    async def _refused(self, key: ObjectKey, v_obj: Obj | None, refusal: Refused) -> Result:
        """Report a refusal once per distinct message; revisit only if the cause can change."""
        self._metrics.refused_object(kind=self.label, reason=refusal.reason)
        self._pending.pop(key, None)
        if self._refusals.get(key) != refusal.message:
            self._refusals[key] = refusal.message
            self._log.warning(
                "refused to sync", key=str(key), reason=refusal.reason, message=refusal.message
            )
            if v_obj is not None:
                await self._ctx.record_event(
                    v_obj,
                    type_="Warning",
                    reason=refusal.event_reason,
                    message=refusal.message,
                    kind=self.mapper.resource.kind,
                )
        if refusal.retry_after is None:
            return DONE
        delay = refusal.retry_after
        if refusal.retry_max is not None:
            grown = min(self._backoffs.get(key, delay / 2) * 2, refusal.retry_max)
            delay = self._backoffs[key] = max(grown, delay)
        return Result(requeue_after=delay)


class _Handler:
    """Adapts one callback to the informer's add/update/delete handler protocol.

    Adds and updates that ``is_echo`` recognises are dropped; deletes never are,
    and also go to ``on_gone`` when given.
    """

    def __init__(
        self,
        callback: Callable[[Obj], None],
        is_echo: Callable[[Obj], bool],
        on_gone: Callable[[Obj], None] | None = None,
    ) -> None:
        self._callback = callback
        self._is_echo = is_echo
        self._on_gone = on_gone

    def on_add(self, obj: Obj) -> None:
        if not self._is_echo(obj):
            self._callback(obj)

    def on_update(self, old: Obj, new: Obj) -> None:
        del old
        if not self._is_echo(new):
            self._callback(new)

    def on_delete(self, obj: Obj) -> None:
        self._callback(obj)
        if self._on_gone is not None:
            self._on_gone(obj)


class _WatchHandler:
    """Turns changes of a watched kind into keys of the watching kind.

    An update asks about the old and the new object (a reference dropped counts
    too) and hands on each distinct answer once.
    """

    def __init__(
        self,
        keys_of: WatchKeys,
        enqueue: Callable[[Iterable[ObjectKey | NamespaceKeys]], None],
        log: ReconcileLogger,
    ) -> None:
        self._keys_of = keys_of
        self._enqueue = enqueue
        self._log = log

    def _keys(self, obj: Obj) -> list[ObjectKey | NamespaceKeys]:
        try:
            return list(self._keys_of(obj))
        except Exception:
            self._log.exception("watch mapping failed", obj=str(key_of(obj)))
            return []

    def on_add(self, obj: Obj) -> None:
        self._enqueue(self._keys(obj))

    def on_update(self, old: Obj, new: Obj) -> None:
        self._enqueue(dict.fromkeys([*self._keys(old), *self._keys(new)]))

    def on_delete(self, obj: Obj) -> None:
        self._enqueue(self._keys(obj))
