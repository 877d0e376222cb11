"""Kinds synced only while a synced virtual pod refers to them: configmaps and secrets.

Design (correct and O(references)):

* The pods mapper registers indexes on the virtual pods store
  (:data:`~mappers.references.CONFIGMAP_INDEX`, :data:`~mappers.references.SECRET_INDEX`)
  mapping each pod to the ``ns/name`` values it refers to.
* These mappers are :class:`~syncer.api.Watcher`\\ s of pods: a pod change
  enqueues the keys of everything the pod referred to before *and* after the
  change (the daemon hands both the old and the new pod to the watch function),
  so dropping the last reference is noticed.
* The reconcile asks the index whether any pod still refers to ``ns/name``:
  one dictionary lookup.  Referenced → the host copy is created and kept equal
  (data, labels, annotations); not referenced → the host copy is deleted.
  Without the pods mapper there is no index and no synced pod, so nothing is
  referenced and nothing is synced.

Host names can collide (:mod:`mappers.collisions`).  A host object already
held by another virtual object's copy is never taken over (the engine drops
the key with a Warning event, :mod:`syncer.sync`); and a copy is not created
under a host name that a running host pod uses for a colliding partner
(``Refused`` with reason ``reference_collision``, looked at again later), so
such a pod never starts to read another namespace's object.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from mappers.collisions import claimed_by_partner
from mappers.copysync import (
    CopySyncer,
)
from mappers.generic import (
    Json,
    name_of,
    namespace_of,
)
from mappers.references import pod_references, qualified
from syncer.api import DONE, PODS, Obj, ObjectKey, Resource, Result, SyncContext


class ReferencedCopySyncer(CopySyncer):
    """A copy kind whose host object exists only while some virtual pod refers to it."""

    #: The index on the virtual pods store listing the ``ns/name`` values a pod refers to.
    index: str = ""

    def referenced_names(self, pod: Obj) -> Iterable[str]:
        """The names of this kind that ``pod`` refers to."""
        raise NotImplementedError

    def is_referenced(self, ctx: SyncContext, v_obj: Obj) -> bool:
        """Whether some virtual pod refers to ``v_obj`` (one index lookup)."""
        value = qualified(namespace_of(v_obj), name_of(v_obj))
        try:
            return ctx.virtual_cache(PODS).has_indexed(self.index, value)
        except KeyError:  # no pods mapper, no index: no synced pod refers to anything
            return False

    def desired_host(self, ctx: SyncContext, v_obj: Obj, p_obj: Obj | None) -> Json | None:
        if not self.is_referenced(ctx, v_obj):
            return None
        return super().desired_host(ctx, v_obj, p_obj)

    async def sync_to_host(self, ctx: SyncContext, v_obj: Obj) -> Result:
        if not self.is_referenced(ctx, v_obj):
            return DONE
        refusal = claimed_by_partner(
            ctx,
            resource=self.resource,
            index=self.index,
            namespace=namespace_of(v_obj),
            name=name_of(v_obj),
        )
        if refusal is not None:
            raise refusal
        return await super().sync_to_host(ctx, v_obj)

    def watches(self) -> Mapping[Resource, Callable[[Obj], Iterable[ObjectKey]]]:
        return {PODS: self.keys_of_pod}

    def keys_of_pod(self, pod: Obj) -> list[ObjectKey]:
        """The keys of this kind a pod refers to."""
        namespace = namespace_of(pod)
        return [
            ObjectKey(self.resource.plural, namespace, name)
            for name in sorted(self.referenced_names(pod))
        ]


def referenced_configmaps(pod: Obj) -> frozenset[str]:
    return pod_references(pod).configmaps


def referenced_secrets(pod: Obj) -> frozenset[str]:
    return pod_references(pod).secrets
