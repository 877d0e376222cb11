"""Copy kinds whose host object exists only while a virtual object of another kind refers to it.

Design (correct and O(references)):

* The *referrer* kind's mapper registers an index on its virtual store
  (:attr:`ReferencedCopySyncer.index`) mapping each referrer to the
  ``namespace/name`` values (:func:`index_value`) it refers to.
* A :class:`ReferencedCopySyncer` is a :class:`~syncer.api.Watcher` of the
  referrer kind: a referrer's change enqueues the keys of everything it
  referred to before *and* after the change (the engine hands both the old and
  the new object to the watch function), so dropping the last reference is
  noticed.
* The referrer kind's virtual cache is taken once, at start-up
  (:meth:`ReferencedCopySyncer.use_caches`, a :class:`~syncer.api.CacheUser`);
  the reconcile asks its index whether any referrer still refers to
  ``namespace/name``: one dictionary lookup.  Referenced → the host copy is
  created and kept equal (:class:`~syncer.kit.copysync.CopySyncer`); not
  referenced → the host copy is deleted.  While the referrer kind is not
  enabled nothing is referenced and nothing is synced.  A reconcile before
  ``use_caches`` raises ``RuntimeError`` (a wiring bug, not a tenant's).
* :meth:`ReferencedCopySyncer.refusal` lets a subclass refuse a create
  (default: never); the built-in configmaps and secrets refuse host names a
  running pod uses for a colliding partner.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterable, Mapping

from syncer.api import DONE, Cache, Caches, Obj, ObjectKey, Refused, Resource, Result, SyncContext
from syncer.kit.copysync import CopySyncer
from syncer.kit.objects import Json, name_of, namespace_of


def index_value(namespace: str, name: str) -> str:
    """The value a referrer index files a reference to ``namespace/name`` under."""
    return f"{namespace}/{name}"


class ReferencedCopySyncer(CopySyncer, abc.ABC):
    """A copy kind whose host object exists only while some virtual referrer refers to it."""

    #: The kind whose virtual objects refer to this one.
    referrer: Resource
    #: The index on the referrer's virtual store listing the ``ns/name`` values it refers to.
    index: str = ""
    #: The referrer kind's virtual cache (``None`` while that kind is off); set by use_caches.
    _referrers: Cache | None

    def use_caches(self, *, caches: Caches) -> None:
        """Take the referrer kind's virtual cache, once, at start-up."""
        self._referrers = caches.virtual(self.referrer) if caches.serves(self.referrer) else None

    @abc.abstractmethod
    def referenced_names(self, referrer: Obj) -> Iterable[str]:
        """The names of this kind (in the referrer's namespace) that ``referrer`` refers to."""

    def refusal(self, ctx: SyncContext, v_obj: Obj) -> Refused | None:
        """Why a referenced ``v_obj`` must not be created on the host now; ``None``: it may."""
        del ctx, v_obj
        return None

    def is_referenced(self, ctx: SyncContext, v_obj: Obj) -> bool:
        """Whether some virtual referrer refers to ``v_obj`` (one index lookup)."""
        del ctx
        try:
            referrers = self._referrers
        except AttributeError:
            raise RuntimeError(f"{type(self).__name__}.use_caches was not called") from None
        if referrers is None:
            return False  # the referrer's mapper is off: no index, nothing refers to anything
        return referrers.has_indexed(self.index, index_value(namespace_of(v_obj), name_of(v_obj)))

    def desired_host(self, ctx: SyncContext, v_obj: Obj, p_obj: Obj | None) -> Json | None:
        if not self.is_referenced(ctx, v_obj):
            return None
        return super().desired_host(ctx, v_obj, p_obj)

    async def sync_to_host(self, ctx: SyncContext, v_obj: Obj) -> Result:
        if not self.is_referenced(ctx, v_obj):
            return DONE
        refusal = self.refusal(ctx, v_obj)
        if refusal is not None:
            raise refusal
        return await super().sync_to_host(ctx, v_obj)

    def watches(self) -> Mapping[Resource, Callable[[Obj], Iterable[ObjectKey]]]:
        return {self.referrer: self.keys_of_referrer}

    def keys_of_referrer(self, referrer: Obj) -> list[ObjectKey]:
        """The keys of this kind a referrer refers to."""
        namespace = namespace_of(referrer)
        return [
            ObjectKey(self.resource.plural, namespace, name)
            for name in sorted(self.referenced_names(referrer))
        ]
