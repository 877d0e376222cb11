"""The ``reference`` patches of a toHost custom resource: what it names, and whether that is there.

A :class:`CustomResourceReferences` serves one configured custom resource whose
entry has ``reference`` patches (``{path: spec.secretRef.name, type:
reference, kind: secrets}``, :mod:`mappers.crpatches`).  Guarantees:

* an index on the custom resource's virtual store per referenced kind
  (:func:`~mappers.crpatches.reference_index`) files each object under the
  ``namespace/name`` values it names — the same shape as the pods' reference
  indexes, so the configmaps and secrets mappers count a custom resource as a
  referrer with one lookup (:mod:`mappers.referenced`);
* a reference is always to an object of the custom resource's own virtual
  namespace (the patch's value is a plain name; the host name it becomes is
  that namespace's), never to another tenant's;
* a custom resource is created on the host only once every object it names
  exists in virtual *and* its host copy exists (for secrets and configmaps the
  copy appears because the custom resource refers to it); until then it waits
  (:class:`~syncer.api.Refused`, reason ``reference_missing``, a Warning event
  ``WaitingForReferences`` naming the fields, looked at again after 1 s
  doubling to 30 s, and at once when a named object changes — the mapper
  watches the referenced kinds through the index);
* a name another virtual namespace's object could share on the host must be
  held by this object's own copy (:func:`mappers.crcollisions.reference_collision`,
  ``reference_collision``, looked at again after a minute);
* a reference to a kind that is not synced (not in ``VSYNCER_KINDS``) is
  refused (``reference_kind_off``) until the object changes: nothing would
  ever make it exist on the host.  Like pods (vcluster's rule), the referenced
  object's copy is what makes the reference work on the host.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from functools import partial

from mappers.crcollisions import reference_collision
from mappers.crpatches import Reference, reference_index, references
from syncer.api import (
    CONFIGMAPS,
    PVCS,
    SECRETS,
    SERVICES,
    Cache,
    Caches,
    FieldPatch,
    IndexFunc,
    Obj,
    ObjectKey,
    Refused,
    Resource,
    SyncContext,
    Translator,
)
from syncer.kit import index_value, name_of, namespace_of

#: The kinds a ``reference`` patch may name, by plural.
REFERENCED: dict[str, Resource] = {r.plural: r for r in (SECRETS, CONFIGMAPS, SERVICES, PVCS)}
#: How a custom resource waiting for a reference is looked at again: 1 s doubling to 30 s.
WAIT_FIRST, WAIT_MAX = 1.0, 30.0


class CustomResourceReferences:
    """The reference patches of one toHost custom resource; see the module."""

    def __init__(
        self,
        *,
        resource: Resource,
        patches: Iterable[FieldPatch],
        translator: Translator,
        kinds: Iterable[str],
    ) -> None:
        self.resource = resource
        self.translator = translator
        self.patches = tuple(p for p in patches if p.type == "reference" and p.kind is not None)
        self.kinds = sorted({p.kind for p in self.patches if p.kind is not None})
        enabled = set(kinds)
        #: The referenced kinds that are synced here (their caches exist).
        self.synced = frozenset(
            REFERENCED[k] for k in self.kinds if REFERENCED[k].qualified in enabled
        )
        self._own: Cache | None = None

    def named(self, v_obj: Obj) -> list[Reference]:
        """The objects ``v_obj`` names through its reference patches (pure)."""
        return references(v_obj, self.patches)

    def indexes(self) -> Mapping[str, IndexFunc]:
        """Per referenced kind: the ``namespace/name`` values an object names."""
        return {reference_index(kind): partial(self._index, kind) for kind in self.kinds}

    def _index(self, kind: str, v_obj: Obj) -> list[str]:
        namespace = namespace_of(v_obj)
        return sorted({index_value(namespace, r.name) for r in self.named(v_obj) if r.kind == kind})

    def watches(self) -> Mapping[Resource, Callable[[Obj], Iterable[ObjectKey]]]:
        """A change of a named object (of a synced kind) enqueues the objects that name it."""
        return {resource: partial(self._naming, resource) for resource in self.synced}

    def _naming(self, resource: Resource, obj: Obj) -> list[ObjectKey]:
        if self._own is None:
            return []
        value = index_value(namespace_of(obj), name_of(obj))
        keys = self._own.keys_by_index(reference_index(resource.plural), value)
        return [ObjectKey(self.resource.plural, ns, name) for ns, name in keys]

    def use_caches(self, *, caches: Caches) -> None:
        """Take the custom resource's own virtual cache (its index answers :meth:`watches`)."""
        self._own = caches.virtual(self.resource)

    def check(self, ctx: SyncContext, v_obj: Obj) -> None:
        """Raise :class:`Refused` unless everything ``v_obj`` names is there on both sides."""
        namespace = namespace_of(v_obj)
        waiting = []
        for ref in self.named(v_obj):
            resource = REFERENCED[ref.kind]
            if resource not in self.synced:
                raise Refused(
                    reason="reference_kind_off",
                    message=f"{ref.field}: names a {resource.kind}, a kind not synced here"
                    " (VSYNCER_KINDS)",
                )
            host_name = self.translator.host_name(namespace, ref.name)
            if (
                ctx.virtual_cache(resource).get(namespace, ref.name) is None
                or ctx.host_cache(resource).get(ctx.host_namespace, host_name) is None
            ):
                waiting.append(f"{resource.kind.lower()} {ref.name!r} ({ref.field})")
        if waiting:
            raise Refused(
                reason="reference_missing",
                message=f"waiting for {', '.join(waiting)} to exist and be synced to the host",
                event_reason="WaitingForReferences",
                retry_after=WAIT_FIRST,
                retry_max=WAIT_MAX,
            )
        for ref in self.named(v_obj):
            resource = REFERENCED[ref.kind]
            taken = reference_collision(
                ctx, resource=resource, namespace=namespace, name=ref.name, path=ref.field
            )
            if taken is not None:
                raise taken
