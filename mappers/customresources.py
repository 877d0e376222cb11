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
* ``fromHost`` (cluster-scoped kinds): the kit's
  :class:`~syncer.kit.FromHostCopier` (read-only copies, tenant edits reverted,
  the entry's ``labelSelector`` picks the host objects).

A kind whose CRD is missing or forbidden on either side is left not ready by
the engine (its probes fail and are retried with backoff), alone: the others
sync, and it starts once its CRD is there, without a restart.
"""

from __future__ import annotations

from mappers.crpatches import apply_patches
from syncer.api import (
    CustomResource,
    FieldPatch,
    MapperConfig,
    NotFound,
    Obj,
    Resource,
    SyncContext,
    Translator,
)
from syncer.kit import CopySyncer, FromHostCopier, Json, namespace_of, with_metadata

#: Top-level fields that are never copied down as content.
NOT_CONTENT = frozenset({"apiVersion", "kind", "metadata", "status"})


class ToHostCustomResource(CopySyncer):
    """Every content field down, ``status`` up; see the module."""

    status_fields = ("status",)
    #: Reads no cache besides its own kind's.
    reads: frozenset[Resource] = frozenset()

    def __init__(
        self, *, resource: Resource, translator: Translator, patches: tuple[FieldPatch, ...] = ()
    ) -> None:
        super().__init__(resource=resource, translator=translator)
        self.patches = patches

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
    del config
    if custom.direction == "toHost":
        return ToHostCustomResource(
            resource=custom.resource, translator=translator, patches=custom.patches
        )
    return FromHostCopier(
        resource=custom.resource, translator=translator, label_selector=custom.label_selector
    )
