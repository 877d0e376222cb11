"""Hand-made Endpoints of a virtual Service being re-created, restored if they vanish.

Re-creating a selector-less virtual Service (:mod:`mappers.services`) races the
virtual endpoints controller, which deletes the Endpoints of a Service it finds
missing.  Guarantees: while a key is *armed* (for :data:`ENDPOINTS_GUARD_SECONDS`
after its re-creation), the last virtual Endpoints of that name the watch
delivered is remembered — by reference, cached objects are read-only — and
:meth:`EndpointsGuard.restore` puts it back once if it is gone from the cache.
Endpoints someone made meanwhile stand.  The memory is this process's only; the
crash-safe record is the re-creation intent (:mod:`mappers.serviceintent`).
"""

from __future__ import annotations

import time

from mappers.serviceintent import restorable
from syncer.api import ENDPOINTS, SERVICES, AlreadyExists, Obj, ObjectKey, SyncContext
from syncer.kit import name_of, namespace_of

#: How long Endpoints of a re-created selector-less service are restored if they vanish.
ENDPOINTS_GUARD_SECONDS = 30.0


class EndpointsGuard:
    """Endpoints to restore, by service key, while armed."""

    def __init__(self, *, seconds: float = ENDPOINTS_GUARD_SECONDS) -> None:
        self._seconds = seconds
        self._armed: dict[ObjectKey, tuple[float, Obj | None]] = {}

    def arm(self, key: ObjectKey, current: Obj | None) -> None:
        self._armed[key] = (time.monotonic() + self._seconds, current)

    def observe(self, key: ObjectKey, endpoints: Obj) -> None:
        entry = self._armed.get(key)
        if entry is not None and entry[0] > time.monotonic():
            self._armed[key] = (entry[0], endpoints)

    def forget(self, key: ObjectKey) -> None:
        self._armed.pop(key, None)

    def saved(self, key: ObjectKey) -> Obj | None:
        """The last Endpoints seen for an armed key, if it is still armed."""
        entry = self._armed.get(key)
        if entry is None:
            return None
        if entry[0] <= time.monotonic():
            del self._armed[key]
            return None
        return entry[1]

    async def restore(self, ctx: SyncContext, v_svc: Obj) -> None:
        """Create the remembered Endpoints of ``v_svc`` again if they are gone (once)."""
        key = ObjectKey(SERVICES.plural, namespace_of(v_svc), name_of(v_svc))
        saved = self.saved(key)
        if saved is None or ctx.virtual_cache(ENDPOINTS).get(key.namespace, key.name):
            return
        self.forget(key)
        try:
            await ctx.virtual.create(ENDPOINTS, namespace=key.namespace, body=restorable(saved))
        except AlreadyExists:
            return  # someone made new ones: theirs stand
