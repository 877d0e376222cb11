"""Per-kind synchronisation: informer events → virtual keys → reconcile dispatch.

Guarantees:

* Every event on either side enqueues the *virtual* key.  A host event is
  mapped through the mapper's ``host_to_virtual``; unmappable host objects are
  dropped and counted (``vsyncer_skipped_objects_total{reason="unmappable"}``).
* A mapper that raises on one object costs that object only: it is skipped,
  counted (``reason="mapper_error"``) and logged; the daemon lives on.
* The reconcile reads both caches and dispatches on which side exists:
  both → ``sync``, virtual only → ``sync_to_host``, host only →
  ``sync_to_virtual``.  A host object under the translated name that is not
  ours is never touched: the virtual object gets a warning event and the key
  is dropped (terminal).
* A step that raises :class:`~syncer.errors.Refused` (a tenant-boundary rule)
  costs that object only: a Warning event ``SyncRefused`` on the virtual object
  (once per distinct message), ``vsyncer_refused_objects_total{kind,reason}``,
  a log line with the key; the key is revisited after ``retry_after`` seconds,
  or at the object's next change when that is ``None``.
* A mapper with ``skip_own_echoes = True`` is not reconciled for the watch
  event of a version that this syncer wrote itself (:mod:`syncer.echoes`);
  such events still update the caches.  Every other event enqueues.
* The time from the first unprocessed event of a key to its successful
  reconcile is observed as ``vsyncer_sync_lag_seconds{direction}``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

import structlog

from syncer.api import Mapper, SyncContext, Syncer
from syncer.echoes import OwnWrites
from syncer.errors import AlreadyExists, Refused, TerminalError
from syncer.informer import Informer
from syncer.keys import ObjectKey
from syncer.reconcile import DONE, Result
from syncer.store import Obj, key_of


class SyncMetrics(Protocol):
    def skipped(self, *, kind: str, reason: str) -> None: ...
    def sync_lag(self, *, kind: str, direction: str, seconds: float) -> None: ...
    def own_write_event(self, *, kind: str) -> None: ...
    def refused_object(self, *, kind: str, reason: str) -> None: ...


class KindSync:
    """Wires one mapper to its two informers and reconciles its keys."""

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
    ) -> None:
        self.mapper = mapper
        self.kind = mapper.resource.plural
        self.virtual = virtual
        self.host = host
        self._ctx = context
        self._enqueue = enqueue
        self._metrics = metrics
        self._pending: dict[ObjectKey, tuple[float, str]] = {}
        # The last refusal reported per key, so a retried refusal is not reported again;
        # a key leaves it at its next reconcile that is not refused.
        self._refusals: dict[ObjectKey, str] = {}
        self._log = structlog.get_logger("vsyncer.sync").bind(kind=self.kind)
        # Checked once: isinstance() against a runtime-checkable Protocol is slow.
        self._syncer: Syncer | None = mapper if isinstance(mapper, Syncer) else None
        self._virtual_writes: OwnWrites | None = None
        self._host_writes: OwnWrites | None = None
        if getattr(mapper, "skip_own_echoes", False) is True and self._syncer is not None:
            self._virtual_writes = virtual_writes
            self._host_writes = host_writes
            for writes in (virtual_writes, host_writes):
                if writes is not None:
                    writes.track(self.kind)
        virtual.add_handler(_Handler(self._on_virtual, self._is_virtual_echo))
        host.add_handler(_Handler(self._on_host, self._is_host_echo))

    # -- events → keys -------------------------------------------------------------------

    def _mark(self, key: ObjectKey, direction: str) -> None:
        if key not in self._pending:
            self._pending[key] = (time.monotonic(), direction)
        self._enqueue(key)

    def _is_echo(self, writes: OwnWrites | None, obj: Obj) -> bool:
        if writes is None or not writes.is_echo(self.kind, obj):
            return False
        self._metrics.own_write_event(kind=self.kind)
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
            self._metrics.skipped(kind=self.kind, reason="mapper_error")
            self._log.exception("mapper failed on host object", host_key=str(key_of(p_obj)))
            return
        if key is None:
            self._metrics.skipped(kind=self.kind, reason="unmappable")
            return
        self._mark(key, "fromHost")

    def enqueue_all_managed(self) -> None:
        """Enqueue every managed host object's key (orphan collection at start)."""
        for p_obj in self.host.store.list():
            self._on_host(p_obj)

    # -- reconcile ----------------------------------------------------------------------

    async def reconcile(self, key: ObjectKey) -> Result:
        v_obj = self.virtual.get(key.namespace, key.name)
        try:
            p_name = self.mapper.virtual_to_host(key)
        except Exception:
            self._metrics.skipped(kind=self.kind, reason="mapper_error")
            self._log.exception("mapper failed; object skipped", key=str(key))
            self._pending.pop(key, None)
            return DONE
        if p_name is None:
            self._metrics.skipped(kind=self.kind, reason="unmappable")
            self._pending.pop(key, None)
            return DONE
        host_ns = self._ctx.host_namespace if self.mapper.resource.namespaced else ""
        p_obj = self.host.get(host_ns, p_name)
        if p_obj is not None and not self.mapper.is_managed(p_obj):
            p_obj = None  # the host informer only holds labelled objects; be strict anyway
        if p_obj is not None and self.mapper.host_to_virtual(p_obj) != key:
            # Same host name, different virtual object (a name collision): not ours to touch.
            if v_obj is not None:
                await self._conflicting_host_object(v_obj, p_name)
            raise TerminalError(f"host object {p_name} belongs to another virtual object")
        syncer = self._syncer
        if syncer is None:
            return DONE
        ctx = self._ctx
        try:
            if v_obj is not None and p_obj is not None:
                result = await syncer.sync(ctx, v_obj, p_obj)
            elif v_obj is not None:
                try:
                    result = await syncer.sync_to_host(ctx, v_obj)
                except AlreadyExists as exc:
                    # Something not ours holds the translated name on the host.
                    await self._conflicting_host_object(v_obj, p_name)
                    raise TerminalError(f"host object {p_name} exists and is not ours") from exc
            elif p_obj is not None:
                result = await syncer.sync_to_virtual(ctx, key, p_obj)
            else:
                result = DONE
        except Refused as refusal:
            return await self._refused(key, v_obj, refusal)
        self._refusals.pop(key, None)
        pending = self._pending.pop(key, None)
        if pending is not None:
            started, direction = pending
            self._metrics.sync_lag(
                kind=self.kind, direction=direction, seconds=time.monotonic() - started
            )
        return result

    async def _refused(self, key: ObjectKey, v_obj: Obj | None, refusal: Refused) -> Result:
        """Report a refusal once per distinct message; revisit only if the cause can change."""
        self._metrics.refused_object(kind=self.kind, reason=refusal.reason)
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
                    reason="SyncRefused",
                    message=refusal.message,
                    kind=self.mapper.resource.kind,
                )
        if refusal.retry_after is None:
            return DONE
        return Result(requeue_after=refusal.retry_after)

    async def _conflicting_host_object(self, v_obj: Obj, p_name: str) -> None:
        await self._ctx.record_event(
            v_obj,
            type_="Warning",
            reason="SyncError",
            message=f"host object {p_name} already exists and is not managed by this vcluster",
            kind=self.mapper.resource.kind,
        )


class _Handler:
    """Adapts one callback to the informer's add/update/delete handler protocol.

    Adds and updates that ``is_echo`` recognises are dropped; deletes never are.
    """

    def __init__(self, callback: Callable[[Obj], None], is_echo: Callable[[Obj], bool]) -> None:
        self._callback = callback
        self._is_echo = is_echo

    def on_add(self, obj: Obj) -> None:
        if not self._is_echo(obj):
            self._callback(obj)

    def on_update(self, old: Obj, new: Obj) -> None:
        del old
        if not self._is_echo(new):
            self._callback(new)

    def on_delete(self, obj: Obj) -> None:
        self._callback(obj)
