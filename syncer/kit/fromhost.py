"""Read-only copies of host objects in the virtual cluster (fromHost), cluster-scoped.

:class:`FromHostCopier` is the mapper of a kind the host decides and the
virtual cluster only shows: vcluster's fromHost ``storageClasses``,
``ingressClasses``, ``runtimeClasses``, ``priorityClasses`` and fromHost custom
resources.  An object keeps its name on both sides.

Guarantees:

* every host object the host informer holds (all of the kind, or those matching
  :attr:`FromHostCopier.host_label_selector`) has a virtual copy of the same
  name: the host object's labels, annotations and every top-level field but
  ``apiVersion``, ``kind``, ``metadata`` (and ``status``, which goes through the
  ``status`` subresource when the kind has one) as they are, as
  :meth:`FromHostCopier.virtual_copy` makes them, plus the label
  :data:`FROM_HOST_LABEL` ``=true`` that marks it a copy;
* a copy follows its host object: created, updated, and deleted when the host
  object is deleted or stops matching the selector (the host cache is the
  truth: it is filled before the workers start and only ever lags a host
  change, never invents one);
* a tenant's edit to a copy (a label, a field, the copy's deletion) is reverted
  at the next reconcile, which the edit's own watch event triggers;
* a virtual object without :data:`FROM_HOST_LABEL` ``=true`` (the tenant's own
  object of that name) is never modified or deleted, and a copy is never
  created over it;
* a copy the virtual API server will not update (an immutable field changed on
  the host, such as a StorageClass's ``provisioner`` or a PriorityClass's
  ``value``) is deleted and made again from the host object;
* host objects are only read (:meth:`FromHostCopier.is_managed` is ``True``
  for every host object: no host write ever happens for these kinds).

The host informer is cluster-wide and unfiltered by the marker label
(``host_selects_managed`` off): the host needs ``get, list, watch`` on the kind
in a ClusterRole.
"""

from __future__ import annotations

from syncer.api import (
    DONE,
    AlreadyExists,
    Invalid,
    NotFound,
    Obj,
    ObjectKey,
    Resource,
    Result,
    SyncContext,
    Translator,
    thaw,
)
from syncer.kit.copysync import delete_virtual
from syncer.kit.objects import Json, labels_of, meta, name_of

#: The label on every virtual copy of a host object (value ``true``).
FROM_HOST_LABEL = "vsyncer.dev/from-host"
#: Top-level fields that are not copied as content (``status`` goes its own way).
_NOT_CONTENT = frozenset({"apiVersion", "kind", "metadata", "status"})


def is_copy(v_obj: Obj) -> bool:
    """Whether ``v_obj`` is a read-only copy made from a host object (:data:`FROM_HOST_LABEL`)."""
    return labels_of(v_obj).get(FROM_HOST_LABEL) == "true"


class FromHostCopier:
    """The mapper of a cluster-scoped fromHost kind; see the module for the guarantees.

    ``label_selector``: the host objects copied (a Kubernetes label selector
    string, sent to the host API server); ``None`` copies every one.
    """

    host_selects_managed = False
    #: Reads no cache besides its own kind's.
    reads: frozenset[Resource] = frozenset()

    def __init__(
        self, *, resource: Resource, translator: Translator, label_selector: str | None = None
    ) -> None:
        if resource.namespaced:
            raise ValueError(f"{resource.qualified} is namespaced; fromHost copies are not")
        self.resource = resource
        self.host_resource = resource
        self.host_label_selector = label_selector
        self.translator = translator

    # -- names (pure) -------------------------------------------------------------------

    def virtual_to_host(self, key: ObjectKey) -> str | None:
        return key.name

    def host_to_virtual(self, p_obj: Obj) -> ObjectKey | None:
        name = name_of(p_obj)
        return ObjectKey(self.resource.plural, "", name) if name else None

    def is_managed(self, p_obj: Obj) -> bool:
        return True  # only read: the name is the same on both sides

    # -- the copy (pure) ----------------------------------------------------------------

    def virtual_copy(self, p_obj: Obj) -> Json:
        """The virtual copy of host object ``p_obj`` (no server-set metadata).

        Subclasses change what must differ in the virtual cluster (a PriorityClass's
        ``globalDefault``); the result must keep :data:`FROM_HOST_LABEL`.
        """
        p_meta = meta(p_obj)
        labels = dict(thaw({"l": p_meta.get("labels") or {}})["l"])
        labels[FROM_HOST_LABEL] = "true"
        metadata: Json = {"name": name_of(p_obj), "labels": labels}
        annotations = p_meta.get("annotations")
        if annotations:
            metadata["annotations"] = thaw({"a": annotations})["a"]
        body: Json = {
            "apiVersion": self.resource.api_version,
            "kind": self.resource.kind,
            "metadata": metadata,
        }
        for field in sorted(set(p_obj) - _NOT_CONTENT):
            body[field] = thaw({field: p_obj[field]})[field]
        if "status" in p_obj:
            body["status"] = thaw({"s": p_obj["status"]})["s"]
        return body

    def updated_copy(self, v_obj: Obj, want: Json) -> Json:
        """``v_obj`` (with its resourceVersion) carrying ``want``'s labels, annotations and
        content; fields the host object lacks are removed."""
        body = thaw(v_obj)
        metadata = body.setdefault("metadata", {})
        for field in ("labels", "annotations"):
            if field in want["metadata"]:
                metadata[field] = want["metadata"][field]
            else:
                metadata.pop(field, None)
        for field in set(body) | set(want):
            if field in _NOT_CONTENT - {"status"}:
                continue
            if field in want:
                body[field] = want[field]
            else:
                body.pop(field, None)
        return body

    # -- the reconcile ------------------------------------------------------------------

    async def sync_to_virtual(self, ctx: SyncContext, key: ObjectKey, p_obj: Obj) -> Result:
        want = self.virtual_copy(p_obj)
        try:
            created = await ctx.virtual.create(self.resource, namespace=None, body=want)
        except AlreadyExists:
            return Result(requeue=True)  # the virtual cache lags; look again
        await self._status(ctx, created, want)
        return DONE

    async def sync(self, ctx: SyncContext, v_obj: Obj, p_obj: Obj) -> Result:
        if not is_copy(v_obj):
            return DONE  # the tenant's own object of that name: never touched
        want = self.virtual_copy(p_obj)
        body = self.updated_copy(v_obj, want)
        if body != thaw(v_obj):
            try:
                v_obj = await ctx.virtual.update(
                    self.resource, namespace=None, name=name_of(v_obj), body=body
                )
            except Invalid:
                # An immutable field changed on the host: replace the copy.
                await delete_virtual(ctx, self.resource, v_obj)
                return Result(requeue=True)
        await self._status(ctx, v_obj, want)
        return DONE

    async def sync_to_host(self, ctx: SyncContext, v_obj: Obj) -> Result:
        if is_copy(v_obj):
            await delete_virtual(ctx, self.resource, v_obj)  # its host object is gone
        return DONE

    async def _status(self, ctx: SyncContext, v_obj: Obj, want: Json) -> None:
        """Bring ``v_obj``'s status to ``want``'s through the status subresource, if the
        kind has one (without one, the create or update above already wrote it)."""
        if "status" not in want or v_obj.get("status") == want["status"]:
            return
        body = thaw(v_obj)
        body["status"] = want["status"]
        try:
            await ctx.virtual.update_status(
                self.resource, namespace=None, name=name_of(v_obj), body=body
            )
        except NotFound:
            return  # no status subresource, or the copy is gone: its event brings it back
