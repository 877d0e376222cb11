"""The drift check: a periodic, low-priority look for what the event path missed.

The sync is level-triggered but event-driven: a watch that silently stopped, or
a change to a host copy made behind the syncer's back while its watch was
down, leaves a difference that no event will ever bring up.  Every
``interval`` seconds (``VSYNCER_DRIFT_INTERVAL``; 0 turns the check off) one
pass goes over every kind that is ``active`` (the daemon: every ready kind,
:mod:`syncer.availability`), one kind at a time:

1. *stale_cache* — the host side is LISTed live (paginated like a relist,
   through the same client and selector as the host informer) and compared
   with the host cache by resourceVersion.  A key that differs is looked at
   again after ``grace`` seconds; if the cache has not moved meanwhile, the
   watch missed events, and the live objects are fed to the informer as a
   watch would (:meth:`~syncer.informer.Informer.correct`), so its usual
   handlers enqueue the keys.
2. For a mapper that is a :class:`~syncer.api.DriftDetector`, the caches are
   compared with what it wants: *missing* (a virtual object whose host copy
   should exist and does not), *orphan* (a managed host object without a
   virtual object), *content* (``drift()`` names a difference).  A suspect is
   confirmed only if it still drifts, for the same reason, ``grace`` seconds
   later (so an in-flight reconcile is not counted).  Keys refused or blocked
   on purpose are not drift.

Every confirmed key is counted in ``vsyncer_drift_detected_total{kind,reason}``
and handed to the normal work queue (``enqueue``: deduplicated, fair across
namespaces, no bypass of the rate limits); the ordinary reconcile repairs it.
``vsyncer_drift_repaired_total{kind}`` counts a drifted key once, at a later
pass, when a reconcile of it has succeeded since and a re-check against a live
read finds it in sync (the host cache agrees with the live object, and the
mapper, if it is a detector, sees no drift); a key that never gets there is
let go after :data:`PATIENCE` passes without being counted.

Costs per pass and kind: one paginated LIST of the managed host objects, one
decode per cached object, one live GET per key awaiting a repair check.  The
pass yields to the event loop every :data:`BATCH` objects.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence
from typing import Protocol

import structlog

from syncer.api import DriftDetector
from syncer.clock import Clock, RealClock
from syncer.errors import ApiError, NotFound
from syncer.keys import ObjectKey
from syncer.store import Key, Obj, key_of
from syncer.sync import KindSync

#: Objects looked at between two yields to the event loop.
BATCH = 200
#: Passes a drifted key may take to be repaired before it is let go uncounted.
PATIENCE = 3


class DriftMetrics(Protocol):
    def drift_detected(self, *, kind: str, reason: str) -> None: ...
    def drift_repaired(self, *, kind: str) -> None: ...


def _rv(obj: Obj | None) -> str:
    return "" if obj is None else str((obj.get("metadata") or {}).get("resourceVersion", ""))


def _terminating(obj: Obj | None) -> bool:
    return obj is not None and bool((obj.get("metadata") or {}).get("deletionTimestamp"))


class DriftChecker:
    """Runs the periodic drift pass over ``syncs``; see the module docstring."""

    def __init__(
        self,
        *,
        syncs: Sequence[KindSync],
        metrics: DriftMetrics,
        interval: float,
        grace: float = 2.0,
        clock: Clock | None = None,
        active: Callable[[KindSync], bool] | None = None,
    ) -> None:
        """``active(sync)``: whether a pass looks at that kind now (default: always); the
        daemon skips kinds that are not ready (:mod:`syncer.availability`)."""
        self._syncs = list(syncs)
        self._active = active
        self._metrics = metrics
        self._interval = interval
        self._grace = grace
        self._clock = clock or RealClock()
        # kind -> drifted key -> passes it has waited for its repair check
        self._awaiting: dict[str, dict[ObjectKey, int]] = {}
        self._log = structlog.get_logger("vsyncer.drift")

    async def run(self) -> None:
        """A pass every ``interval`` seconds until cancelled; a failing LIST skips that kind."""
        while True:
            await self._clock.sleep(self._interval)
            for sync in self._syncs:
                if self._active is not None and not self._active(sync):
                    continue
                try:
                    await self.check(sync)
                except ApiError as exc:
                    self._log.warning("drift check failed", kind=sync.label, error=str(exc))

    async def check(self, sync: KindSync) -> dict[ObjectKey, str]:
        """One kind's pass: confirm earlier repairs, then find and enqueue drifted keys.

        Returns each drifted key with its reason.  Raises :class:`ApiError` when
        the live LIST fails.
        """
        await self._check_repairs(sync)
        # Stale cache entries are corrected (and so enqueued) at once: report them before
        # the slower comparison below, so the count never trails their repair.
        found = dict.fromkeys(await self._stale_cache(sync), "stale_cache")
        self._report(sync, found)
        if isinstance(sync.mapper, DriftDetector):
            suspects = await self._compare(sync, sync.mapper, skip=found)
            if suspects:
                await self._clock.sleep(self._grace)
                again = await self._compare(sync, sync.mapper, skip=found, only=suspects)
                confirmed = {k: r for k, r in suspects.items() if again.get(k) == r}
                self._report(sync, confirmed)
                found.update(confirmed)
        return found

    def _report(self, sync: KindSync, found: dict[ObjectKey, str]) -> None:
        """Count, log, track and enqueue each drifted key."""
        awaiting = self._awaiting.setdefault(sync.label, {})
        for key, reason in found.items():
            self._metrics.drift_detected(kind=sync.label, reason=reason)
            self._log.info("drift found", key=str(key), reason=reason)
            sync.track(key)
            awaiting[key] = 0
            sync.enqueue(key)

    # -- stale cache ----------------------------------------------------------------------

    async def _stale_cache(self, sync: KindSync) -> list[ObjectKey]:
        """Keys whose host cache entry the live LIST contradicts for ``grace`` seconds."""
        host = sync.host
        live = {key_of(obj): obj for obj in await host.list_live()}
        cached_keys = host.store.keys()  # a list: the store has no iterator
        cached = {key: _rv(host.store.get(*key)) for key in cached_keys}
        suspects = {
            key: cached.get(key, "")
            for key in set(live) | set(cached)
            if cached.get(key, "") != _rv(live.get(key))
        }
        if not suspects:
            return []
        await self._clock.sleep(self._grace)
        stale = [key for key, rv in suspects.items() if _rv(host.store.get(*key)) == rv]
        if not stale:
            return []
        gone = [key for key in stale if key not in live]
        before = {key: host.store.get(*key) for key in gone}
        host.correct(live=[live[key] for key in stale if key in live], gone=gone)
        keys: dict[ObjectKey, None] = {}
        for key in stale:
            p_obj = live.get(key) or before.get(key)
            v_key = self._virtual_key(sync, p_obj) if p_obj is not None else None
            if v_key is not None:
                keys[v_key] = None
        return list(keys)

    @staticmethod
    def _virtual_key(sync: KindSync, p_obj: Obj) -> ObjectKey | None:
        try:
            return sync.mapper.host_to_virtual(p_obj)
        except Exception:
            return None

    # -- what the mapper wants ------------------------------------------------------------

    def _host_key(self, sync: KindSync, key: ObjectKey) -> Key | None:
        p_name = sync.mapper.virtual_to_host(key)
        if p_name is None:
            return None
        namespaced = sync.mapper.resource.namespaced
        return (sync.context.host_namespace if namespaced else "", p_name)

    def _ours(self, sync: KindSync, key: ObjectKey, p_obj: Obj | None) -> Obj | None:
        """``p_obj`` if it is the managed copy of ``key``, else ``None``."""
        if p_obj is None or not sync.mapper.is_managed(p_obj):
            return None
        return p_obj if sync.mapper.host_to_virtual(p_obj) == key else None

    def _drift(
        self, sync: KindSync, detector: DriftDetector, key: ObjectKey, p_obj: Obj | None
    ) -> str | None:
        """The reason ``key`` drifts with host object ``p_obj`` (cached or live), or ``None``."""
        if sync.is_held(key):
            return None
        v_obj = sync.virtual.get(key.namespace, key.name)
        if v_obj is None:
            return "orphan" if p_obj is not None and not _terminating(p_obj) else None
        if detector.drift(sync.context, v_obj, p_obj) is None:
            return None
        return "missing" if p_obj is None else "content"

    async def _compare(
        self,
        sync: KindSync,
        detector: DriftDetector,
        *,
        skip: Iterable[ObjectKey],
        only: Iterable[ObjectKey] | None = None,
    ) -> dict[ObjectKey, str]:
        """Drifting keys (from the caches) with their reasons; ``only`` limits the keys."""
        if only is None:
            kind = sync.kind
            virtual_keys = sync.virtual.store.keys()
            keys = dict.fromkeys(ObjectKey(kind, ns, name) for ns, name in virtual_keys)
            for p_obj in sync.host.store.list():
                v_key = self._virtual_key(sync, p_obj)
                if v_key is not None:
                    keys[v_key] = None
            candidates: Iterable[ObjectKey] = keys
        else:
            candidates = only
        skipped = set(skip)
        found: dict[ObjectKey, str] = {}
        for n, key in enumerate(candidates):
            if n % BATCH == BATCH - 1:
                await asyncio.sleep(0)  # low priority: let events and reconciles through
            if key in skipped:
                continue
            try:
                host_key = self._host_key(sync, key)
                if host_key is None:
                    continue
                ours = self._ours(sync, key, sync.host.get(*host_key))
                reason = self._drift(sync, detector, key, ours)
            except Exception:
                self._log.exception("drift comparison failed", key=str(key))
                continue
            if reason is not None:
                found[key] = reason
        return found

    # -- repairs --------------------------------------------------------------------------

    async def _check_repairs(self, sync: KindSync) -> None:
        """Count drifted keys reconciled since and in sync on a live re-check."""
        awaiting = self._awaiting.get(sync.label)
        if not awaiting:
            return
        for key, passes in list(awaiting.items()):
            if not sync.untrack(key):
                if passes + 1 >= PATIENCE:
                    del awaiting[key]
                else:
                    awaiting[key] = passes + 1
                    sync.track(key)
                continue
            del awaiting[key]
            if await self._in_sync_live(sync, key):
                self._metrics.drift_repaired(kind=sync.label)
                self._log.info("drift repaired", key=str(key))

    async def _in_sync_live(self, sync: KindSync, key: ObjectKey) -> bool:
        host_key = self._host_key(sync, key)
        read = sync.context.host_read
        if host_key is None or read is None:
            return False
        try:
            live: Obj | None = await read(sync.host.resource, name=host_key[1])
        except NotFound:
            live = None
        if _rv(sync.host.store.get(*host_key)) != _rv(live):
            return False  # the cache still disagrees with the host
        detector = sync.mapper
        if not isinstance(detector, DriftDetector):
            return True
        return self._drift(sync, detector, key, self._ours(sync, key, live)) is None
