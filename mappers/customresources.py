"""Generic custom resources: a kind synced from its settings entry alone, no plugin of its own.

Each entry of ``VSYNCER_CUSTOM_RESOURCES`` (a
:class:`~syncer.api.CustomResource`) becomes a kind named like its
CustomResourceDefinition (``widgets.example.com``), served by the mapper
:func:`make` returns; its definition reaches the virtual cluster through
:mod:`mappers.customresourcedefinitions`.

* ``toHost`` (namespaced kinds): :class:`ToHostCustomResource`, the kit's
  :class:`~syncer.kit.CopySyncer` with the namespaced-name rule
  (``<name>-x-<namespace>-x-<vcluster>``, marker label and provenance
  annotations as for every copied kind).  Every top-level field but
  ``apiVersion``, ``kind``, ``metadata`` and ``status`` goes down as it is
  (fields vsyncer does not know pass through: the host's CRD schema, not
  vsyncer, validates them, and nothing in them is read by the host cluster
  itself); ``status`` comes back up through the virtual ``status`` subresource
  when the CRD has one.  The version of the entry is used on both sides.
  The entry's ``patches`` rewrite fields on the way down
  (:mod:`mappers.crpatches`); a field they cannot make safe refuses the object.
  Its ``reference`` patches make it a referrer of the objects it names, and it
  waits for them (:mod:`mappers.crreferences`).
* ``fromHost`` (cluster-scoped kinds): the kit's
  :class:`~syncer.kit.FromHostCopier` (read-only copies, tenant edits reverted,
  the entry's ``labelSelector`` picks the host objects).

A kind whose CRD is missing or forbidden on either side is left not ready by
the engine (its probes fail and are retried with backoff), alone: the others
sync, and it starts once its CRD is there, without a restart.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from mappers.crpatches import apply_patches
from mappers.crreferences import CustomResourceReferences
from syncer.api import (
    Caches,
    CustomResource,
    FieldPatch,
    IndexFunc,
    MapperConfig,
    NotFound,
    Obj,
    ObjectKey,
    Resource,
    Result,
    SyncContext,
    Translator,
)
from syncer.kit import (
    CopySyncer,
    FromHostCopier,
    Json,
    is_terminating,
    namespace_of,
    with_metadata,
)

#: Top-level fields that are never copied down as content.
NOT_CONTENT = frozenset({"apiVersion", "kind", "metadata", "status"})


class ToHostCustomResource(CopySyncer):
    """Every content field down, ``status`` up; see the module."""

    status_fields = ("status",)
    #: Reads no cache besides its own kind's.
    reads: frozenset[Resource] = frozenset()

    def __init__(
        self,
        *,
        resource: Resource,
        translator: Translator,
        patches: tuple[FieldPatch, ...] = (),
        kinds: Iterable[str] = (),
    ) -> None:
        super().__init__(resource=resource, translator=translator)
        self.patches = patches
        self.references = CustomResourceReferences(
            resource=resource, patches=patches, translator=translator, kinds=kinds
        )
        #: The synced kinds its reference patches name (read while they are enabled).
        self.may_read: frozenset[Resource] = self.references.synced

    def indexes(self) -> Mapping[str, IndexFunc]:
        return self.references.indexes()

    def watches(self) -> Mapping[Resource, Callable[[Obj], Iterable[ObjectKey]]]:
        return self.references.watches()

    def use_caches(self, *, caches: Caches) -> None:
        self.references.use_caches(caches=caches)

    async def sync_to_host(self, ctx: SyncContext, v_obj: Obj) -> Result:
        if not is_terminating(v_obj):
            self.references.check(ctx, v_obj)
        return await super().sync_to_host(ctx, v_obj)

    async def sync(self, ctx: SyncContext, v_obj: Obj, p_obj: Obj) -> Result:
        if not (is_terminating(v_obj) or is_terminating(p_obj)):
            self.references.check(ctx, v_obj)
        return await super().sync(ctx, v_obj, p_obj)

    def desired_host(self, ctx: SyncContext, v_obj: Obj, p_obj: Obj | None) -> Json | None:
        body: Json = {
            "apiVersion": self.resource.api_version,
            "kind": self.resource.kind,
            "metadata": self.host_metadata(v_obj, p_obj),
        }
        content = {field: v_obj[field] for field in sorted(set(v_obj) - NOT_CONTENT)}
        patched = apply_patches(
            content, self.patches, namespace=namespace_of(v_obj), translator=self.translator
        )
        body.update(patched)
        return body

    def updated_host(self, p_obj: Obj, desired: Json) -> Json:
        """``p_obj`` with the desired metadata and exactly the desired content fields."""
        body = with_metadata(p_obj, desired["metadata"])
        for field in (set(body) | set(desired)) - NOT_CONTENT:
            if field in desired:
                body[field] = desired[field]
            else:
                body.pop(field, None)
        return body

    async def sync_status_up(self, ctx: SyncContext, v_obj: Obj, p_obj: Obj) -> None:
        """As the kit's, but a CRD without a ``status`` subresource has no status to bring up."""
        try:
            await super().sync_status_up(ctx, v_obj, p_obj)
        except NotFound:
            return  # no status subresource (or the object just went: its event brings it back)


def make(
    *, translator: Translator, custom: CustomResource, config: MapperConfig | None = None
) -> ToHostCustomResource | FromHostCopier:
    """The mapper of one configured custom resource (the engine binds ``custom``)."""
    if custom.direction == "toHost":
        return ToHostCustomResource(
            resource=custom.resource,
            translator=translator,
            patches=custom.patches,
            kinds=config.kinds if config is not None else (),
        )
    return FromHostCopier(
        resource=custom.resource, translator=translator, label_selector=custom.label_selector
    )
