"""The reconcile of kinds whose host object is a translated copy of the virtual one.

:class:`CopySyncer` specialises :class:`~syncer.kit.namespaced.NamespacedMapper`
with the three Syncer steps; the shared I/O steps here go through the
:class:`~syncer.api.SyncContext` only.

Guarantees:

* create when missing, update only what differs, delete the host copy of a
  virtual object that is gone, terminating, replaced (other UID) or no longer
  wanted (``desired_host`` answers ``None``);
* an orphan is deleted only after a live read of the virtual cluster confirms
  it is gone, so a lagging cache never costs a host object;
* a create answered "already exists" is checked with a live read: if the
  object there is this vcluster's copy of this very virtual object (same key,
  same ``object-uid``: our create whose response was lost) it is taken as the
  created object; without live reads, our own recent creates (within
  :data:`RECENT_SECONDS`) explain it and the key is looked at again a second
  later; anything else is an object in the way, left to the engine;
* :meth:`CopySyncer.drift` tells the periodic drift check whether the host
  copy differs from what :meth:`~CopySyncer.desired_host` and
  :meth:`~CopySyncer.updated_host` would make of it;
* a create the host rejects as invalid or forbidden becomes a Warning event on
  the virtual object and a revisit every :data:`HOST_REJECTED_RETRY` seconds
  (the host's quota or policy may change): no crash loop, no silent drop.  A
  rejection by the host's ResourceQuota admission (403 ``exceeded quota``;
  ``status unknown for quota`` before its controller counted; ``failed
  quota: … must specify`` before a LimitRange gives the defaults) is reason
  ``quota_exceeded``, revisited sooner: after :data:`QUOTA_RETRY` seconds,
  doubling up to :data:`QUOTA_RETRY_MAXIMUM`, since deleting any pod frees it.
* the fields a subclass lists in :attr:`CopySyncer.status_fields` go the other
  way: when both sides exist and neither is terminating, the virtual object's
  fields are made equal to the host copy's (a field absent on the host is
  removed) with one ``update_status`` on the virtual object, only when they
  differ; they are never written to the host and never count as drift.
"""

from __future__ import annotations

import time

from syncer.api import (
    DONE,
    AlreadyExists,
    Forbidden,
    Invalid,
    NotFound,
    Obj,
    ObjectKey,
    Refused,
    Resource,
    Result,
    SyncContext,
    Translator,
    thaw,
)
from syncer.kit.metadata import with_metadata
from syncer.kit.namespaced import NamespacedMapper
from syncer.kit.objects import (
    Json,
    is_terminating,
    key_of_virtual,
    name_of,
    namespace_of,
    uid_of,
    virtual_uid_of_host,
)

#: How long our own create explains an "already exists" answer (host cache lag).
RECENT_SECONDS = 30.0
#: When to look again at a virtual object whose host write the host cluster rejected.
HOST_REJECTED_RETRY = 300.0
#: When to look again at one the host's quota rejected, doubling up to the maximum.
QUOTA_RETRY = 1.0
QUOTA_RETRY_MAXIMUM = 60.0
#: What the API server's ResourceQuota admission says when it refuses a create.
_QUOTA_MESSAGES = ("exceeded quota", "status unknown for quota", "failed quota")
#: When to look again at a key whose host object we created but do not see yet.
CACHE_LAG_RETRY = Result(requeue_after=1.0)


class RecentCreates:
    """Keys whose host object this process created lately (client-go's expectations, simplified)."""

    def __init__(self, *, seconds: float = RECENT_SECONDS) -> None:
        self._seconds = seconds
        self._until: dict[ObjectKey, float] = {}
        self._sweep_at = 1024

    def __len__(self) -> int:
        return len(self._until)

    def remember(self, key: ObjectKey) -> None:
        now = time.monotonic()
        self._until[key] = now + self._seconds
        if len(self._until) >= self._sweep_at:
            # Forget expired keys, so that memory follows the creates of the last window
            # (amortised: the next sweep waits until the map has doubled again).
            self._until = {k: t for k, t in self._until.items() if t > now}
            self._sweep_at = max(1024, 2 * len(self._until))

    def recent(self, key: ObjectKey) -> bool:
        """Whether ``key``'s host object was created by us within the window."""
        until = self._until.get(key)
        if until is None:
            return False
        if until <= time.monotonic():
            del self._until[key]
            return False
        return True


# -- shared I/O steps (through ctx only) ------------------------------------------------


async def create_on_host(
    ctx: SyncContext,
    resource: Resource,
    *,
    v_obj: Obj,
    body: Json,
    recent: RecentCreates | None = None,
) -> Json | None:
    """Create ``body`` on the host; the created (or already existing own) host object.

    "Already exists" is looked at with a live read: when the object there is
    this vcluster's copy of exactly ``v_obj`` (a create of ours whose response
    was lost) it is returned as if just created, so the caller carries on.
    Otherwise ``None`` if our own recent create explains it (the live read is
    unavailable or lagging), else the :class:`AlreadyExists` propagates (the
    engine blocks the key until the object in the way goes).  A rejection
    (422/403: an admission policy) is :class:`Refused` ``host_rejected``: a
    Warning event ``SyncError``, looked at again after
    :data:`HOST_REJECTED_RETRY` seconds, since the host's admin may lift it; a
    quota rejection is ``quota_exceeded``, looked at again after
    :data:`QUOTA_RETRY` seconds doubling up to :data:`QUOTA_RETRY_MAXIMUM`.
    """
    key = key_of_virtual(resource, v_obj)
    try:
        created = await ctx.host.create(resource, body=body)
    except AlreadyExists:
        own = await own_copy_on_host(ctx, resource, v_obj=v_obj, name=str(body["metadata"]["name"]))
        if own is not None:
            return own
        if recent is not None and recent.recent(key):
            return None
        raise
    except Forbidden as exc:
        if any(text in (exc.message or "") for text in _QUOTA_MESSAGES):
            raise Refused(
                reason="quota_exceeded",
                message=f"the host cluster rejected this {resource.kind}: {exc.message}",
                retry_after=QUOTA_RETRY,
                retry_max=QUOTA_RETRY_MAXIMUM,
                event_reason="SyncError",
            ) from exc
        raise _rejected(resource, exc) from exc
    except Invalid as exc:
        raise _rejected(resource, exc) from exc
    if recent is not None:
        recent.remember(key)
    return created


def _rejected(resource: Resource, exc: Invalid | Forbidden) -> Refused:
    """The refusal of a create the host rejected for a reason other than its quota."""
    return Refused(
        reason="host_rejected",
        message=f"the host cluster rejected this {resource.kind}: {exc.message or exc}",
        retry_after=HOST_REJECTED_RETRY,
        event_reason="SyncError",
    )


async def own_copy_on_host(
    ctx: SyncContext, resource: Resource, *, v_obj: Obj, name: str
) -> Json | None:
    """The host object ``name``, read live, if it is this vcluster's copy of exactly ``v_obj``.

    Ours means: managed by this vcluster for this kind, its provenance
    re-translates to ``v_obj``'s key, and its ``object-uid`` is ``v_obj``'s UID
    (a copy of an earlier object of the same name is not).  ``None`` when it
    is not, is gone, or the runtime offers no live host reads.
    """
    if ctx.host_read is None:
        return None
    try:
        live = await ctx.host_read(resource, name=name)
    except NotFound:
        return None
    translator = ctx.translator
    if not translator.is_owned(live, kind_string=resource.kind_string):
        return None
    if translator.virtual_key_from_host(live) != (namespace_of(v_obj), name_of(v_obj)):
        return None
    uid = uid_of(v_obj)
    return live if uid and virtual_uid_of_host(live) == uid else None


async def delete_on_host(
    ctx: SyncContext, resource: Resource, p_obj: Obj, *, grace_period_seconds: int | None = None
) -> None:
    """Delete our host object (UID precondition); already gone is fine."""
    try:
        await ctx.host.delete(resource, current=p_obj, grace_period_seconds=grace_period_seconds)
    except NotFound:
        return


async def delete_virtual(
    ctx: SyncContext, resource: Resource, v_obj: Obj, *, grace_period_seconds: int | None = None
) -> None:
    """Delete a virtual object, preconditioned on its UID; already gone is fine."""
    try:
        await ctx.virtual.delete(
            resource,
            namespace=namespace_of(v_obj) or None,
            name=name_of(v_obj),
            uid=uid_of(v_obj) or None,
            grace_period_seconds=grace_period_seconds,
        )
    except NotFound:
        return


async def virtual_is_gone(ctx: SyncContext, resource: Resource, key: ObjectKey) -> bool:
    """A live read: is the virtual object really absent (not just missing from a lagging cache)?"""
    try:
        await ctx.virtual.get(resource, namespace=key.namespace or None, name=key.name)
    except NotFound:
        return True
    return False


class CopySyncer(NamespacedMapper):
    """The reconcile of a kind whose host object is a translated copy of the virtual one.

    Subclasses say what the host object should be (:meth:`desired_host`, ``None``
    when it should not exist), which top-level fields go down to the host
    (:attr:`synced_fields`) and which come back up (:attr:`status_fields`,
    written through the virtual ``status`` subresource).
    """

    #: Top-level fields copied from the virtual object to its host copy.
    synced_fields: tuple[str, ...] = ()
    #: Top-level fields copied from the host copy back to the virtual object (``status``).
    status_fields: tuple[str, ...] = ()

    def __init__(self, *, resource: Resource, translator: Translator) -> None:
        super().__init__(resource=resource, translator=translator)
        self.recent = RecentCreates()

    def desired_host(self, ctx: SyncContext, v_obj: Obj, p_obj: Obj | None) -> Json | None:
        """The full host object for ``v_obj``, or ``None`` if it must not exist on the host."""
        body: Json = {
            "apiVersion": self.resource.api_version,
            "kind": self.resource.kind,
            "metadata": self.host_metadata(v_obj, p_obj),
        }
        for field in self.synced_fields:
            if field in v_obj:
                body[field] = thaw({field: v_obj[field]})[field]
        return body

    def updated_host(self, p_obj: Obj, desired: Json) -> Json:
        """``p_obj`` with the desired labels, annotations and synced fields."""
        body = with_metadata(p_obj, desired["metadata"])
        for field in self.synced_fields:
            if field in desired:
                body[field] = desired[field]
            else:
                body.pop(field, None)
        return body

    def must_recreate(self, p_obj: Obj, desired: Json) -> bool:
        """Whether the host object must be replaced instead of updated (immutable fields)."""
        del p_obj, desired
        return False

    def drift(self, ctx: SyncContext, v_obj: Obj, p_obj: Obj | None) -> str | None:
        """What :meth:`sync` would change on the host, as a field path; ``None`` if nothing.

        Pure: the same decisions as :meth:`sync_to_host` and :meth:`sync`, without
        the writes.  ``missing`` when a wanted copy is absent; ``metadata`` (not
        wanted, or the copy of an earlier object of this name) when it would be
        deleted; else the first top-level field (``metadata.labels``,
        ``metadata.annotations``, ``data`` …) an update would change.  Fields
        only the server sets are carried over from ``p_obj`` and never differ.
        """
        if is_terminating(v_obj) or (p_obj is not None and is_terminating(p_obj)):
            return None  # in flight: its events bring the key back
        desired = self.desired_host(ctx, v_obj, p_obj)
        if p_obj is None:
            return None if desired is None else "missing"
        if desired is None or virtual_uid_of_host(p_obj) != uid_of(v_obj):
            return "metadata"
        if self.must_recreate(p_obj, desired):
            return "immutable content"
        return _first_difference(self.updated_host(p_obj, desired), thaw(p_obj))

    async def sync_to_host(self, ctx: SyncContext, v_obj: Obj) -> Result:
        if is_terminating(v_obj):
            return DONE
        body = self.desired_host(ctx, v_obj, None)
        if body is None:
            return DONE
        created = await create_on_host(
            ctx, self.resource, v_obj=v_obj, body=body, recent=self.recent
        )
        return DONE if created is not None else CACHE_LAG_RETRY

    async def sync(self, ctx: SyncContext, v_obj: Obj, p_obj: Obj) -> Result:
        if is_terminating(p_obj):
            return DONE  # its delete event brings us back
        desired = None if is_terminating(v_obj) else self.desired_host(ctx, v_obj, p_obj)
        stale = virtual_uid_of_host(p_obj) != uid_of(v_obj)
        if desired is None or stale or self.must_recreate(p_obj, desired):
            await delete_on_host(ctx, self.resource, p_obj)
            return DONE
        body = self.updated_host(p_obj, desired)
        if body != thaw(p_obj):
            p_obj = await ctx.host.update(self.resource, current=p_obj, body=body)
        await self.sync_status_up(ctx, v_obj, p_obj)
        return DONE

    async def sync_status_up(self, ctx: SyncContext, v_obj: Obj, p_obj: Obj) -> None:
        """Make ``v_obj``'s :attr:`status_fields` equal to ``p_obj``'s (one write, if any)."""
        if not self.status_fields:
            return
        body = thaw(v_obj)
        for field in self.status_fields:
            if field in p_obj:
                body[field] = thaw({field: p_obj[field]})[field]
            else:
                body.pop(field, None)
        if body != thaw(v_obj):
            await ctx.virtual.update_status(
                self.resource,
                namespace=namespace_of(v_obj) or None,
                name=name_of(v_obj),
                body=body,
            )

    async def sync_to_virtual(self, ctx: SyncContext, key: ObjectKey, p_obj: Obj) -> Result:
        if is_terminating(p_obj):
            return DONE
        if not await virtual_is_gone(ctx, self.resource, key):
            return Result(requeue=True)  # the virtual cache lags; look again
        await delete_on_host(ctx, self.resource, p_obj)
        return DONE


def _first_difference(want: Json, have: Json) -> str | None:
    """The first top-level field (``metadata.<field>`` inside metadata) where they differ."""
    if want == have:
        return None
    want_meta, have_meta = want.get("metadata") or {}, have.get("metadata") or {}
    for field in sorted(set(want_meta) | set(have_meta)):
        if want_meta.get(field) != have_meta.get(field):
            return f"metadata.{field}"
    for field in sorted(set(want) | set(have)):
        if field != "metadata" and want.get(field) != have.get(field):
            return field
    return None
