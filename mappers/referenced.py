"""What is pod-specific about configmaps and secrets synced while a pod refers to them.

The generic part (index lookup, watch of the referrers, create/delete) is
:class:`syncer.kit.ReferencedCopySyncer`; here the referrer is the virtual
pod, the indexes are the pods mapper's (:mod:`mappers.references`), and a
copy is refused under a host name that a running host pod uses for a
colliding partner (``Refused`` with reason ``reference_collision``, looked at
again later, :mod:`mappers.collisions`), so such a pod never starts to read
another namespace's object.  A host object already held by another virtual
object's copy is never taken over (the engine drops the key with a Warning
event, :mod:`syncer.sync`).

A toHost custom resource whose entry has a ``reference`` patch of this kind
(``{path: spec.secretRef.name, type: reference, kind: secrets}``,
:mod:`mappers.crreferences`) counts as a referrer too: its kind is watched and
the index its mapper registers (:func:`mappers.crpatches.reference_index`) is
asked, through the cache taken in ``use_caches`` (declared in ``may_read``),
so the copy goes with the last pod *or* custom resource that names it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from functools import partial

from mappers.collisions import claimed_by_partner
from mappers.crpatches import reference_index, references
from mappers.references import pod_references
from syncer.api import (
    PODS,
    Cache,
    Caches,
    FieldPatch,
    MapperConfig,
    Obj,
    ObjectKey,
    Refused,
    Resource,
    SyncContext,
    Translator,
)
from syncer.kit import ReferencedCopySyncer, index_value, name_of, namespace_of


class PodReferencedCopySyncer(ReferencedCopySyncer):
    """A copy kind whose host object exists only while some virtual pod (or a configured
    custom resource) refers to it."""

    referrer = PODS
    #: Reads besides its own kind: the pods (their reference index; host pods for collisions).
    reads: frozenset[Resource] = frozenset()
    may_read: frozenset[Resource] = frozenset({PODS})

    def __init__(
        self, *, resource: Resource, translator: Translator, config: MapperConfig | None = None
    ) -> None:
        super().__init__(resource=resource, translator=translator)
        customs = (config or MapperConfig()).custom_resources
        #: The toHost custom resources with reference patches naming this kind, and those patches.
        self.custom_referrers: dict[Resource, tuple[FieldPatch, ...]] = {
            c.resource: patches
            for c in customs
            if c.direction == "toHost"
            and (patches := tuple(p for p in c.patches if p.kind == resource.plural))
        }
        self.may_read = type(self).may_read | frozenset(self.custom_referrers)
        self._customs: dict[Resource, Cache] = {}

    def refusal(self, ctx: SyncContext, v_obj: Obj) -> Refused | None:
        return claimed_by_partner(
            ctx,
            resource=self.resource,
            index=self.index,
            namespace=namespace_of(v_obj),
            name=name_of(v_obj),
        )

    def keys_of_pod(self, pod: Obj) -> list[ObjectKey]:
        """The keys of this kind a pod refers to."""
        return self.keys_of_referrer(pod)

    def watches(self) -> Mapping[Resource, Callable[[Obj], Iterable[ObjectKey]]]:
        watched = dict(super().watches())
        for resource, patches in self.custom_referrers.items():
            watched[resource] = partial(self.keys_of_custom, patches=patches)
        return watched

    def keys_of_custom(self, custom: Obj, *, patches: tuple[FieldPatch, ...]) -> list[ObjectKey]:
        """The keys of this kind a custom resource names through ``patches``."""
        namespace = namespace_of(custom)
        names = sorted({r.name for r in references(custom, patches)})
        return [ObjectKey(self.resource.plural, namespace, name) for name in names]

    def use_caches(self, *, caches: Caches) -> None:
        super().use_caches(caches=caches)
        self._customs = {r: caches.virtual(r) for r in self.custom_referrers if caches.serves(r)}

    def is_referenced(self, ctx: SyncContext, v_obj: Obj) -> bool:
        """Referred to by a virtual pod, or named by a configured custom resource."""
        if super().is_referenced(ctx, v_obj):
            return True
        value = index_value(namespace_of(v_obj), name_of(v_obj))
        index = reference_index(self.resource.plural)
        return any(cache.has_indexed(index, value) for cache in self._customs.values())


def referenced_configmaps(pod: Obj) -> frozenset[str]:
    return pod_references(pod).configmaps


def referenced_secrets(pod: Obj) -> frozenset[str]:
    return pod_references(pod).secrets
