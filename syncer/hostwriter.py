"""The guarded path the sync layer writes to the host cluster through.

Every create, update, status update and delete a reconcile makes to a host
object goes through :class:`HostWriter` (mappers reach it as
``SyncContext.host``; it has no patch).  The one host write that does not is
leader election (:mod:`syncer.leader`): it creates and renews its own Lease in
the host namespace through the client directly, since a Lease carries none of
the markers checked here.  The writer refuses — raising
:class:`~syncer.errors.HostWriteRefused` (:class:`NotLeader` for the last
reason) and counting ``vsyncer_host_writes_refused_total{kind,reason}`` — any
write that:

* would land outside the host namespace (namespaced kinds) — ``namespace``;
* targets or produces an object that is not ours by
  :meth:`~syncer.translate.Translator.is_owned`, vcluster's ownership markers
  (marker label of this vcluster, provenance annotations that re-translate to
  the object's own name, matching ``object-kind``; a pod's token Secret by its
  own rule) — ``not_owned``; an update may not rename the object either.
  Labels and annotations a tenant put on a virtual object cannot satisfy this
  for an unrelated host object, because the name must be the translation of the
  annotations *and* the object must already carry them.  A status update
  checks the current object only (the status subresource ignores metadata);
* happens while ``may_write()`` says no (this replica is not the leader) —
  ``not_leader``.

Every write the writer sends holds a slot of its
:class:`~syncer.inflight.AdaptiveLimit` (when given one) while in flight: the
daemon shares one among all kinds, so a burst waits in the work queues (fair
across virtual namespaces), not in the host API server's queues, and the number
of writes in flight follows the host's 429 answers.

The writer sends through the client it is given: in the daemon, the host
client wrapped in a :class:`~syncer.echoes.RecordingApi`, so the versions it
writes are known as this syncer's own (:mod:`syncer.echoes`).

Deletes carry a UID precondition from the object that was checked (every
object the API server returned has one), so a host object re-created by
someone else in between is never deleted.

Owner references (:mod:`syncer.owneranchor`, vcluster's global owner): with an
anchor, every namespaced object the writer creates that the mapper gave no
``ownerReferences`` (a pod's token Secret names its host pod: the garbage
collector then removes it with the pod) gets exactly one, to the anchor
(``controller`` when the virtual object had a controlling owner); a create
is not sent while the anchor cannot be read
(:class:`~syncer.owneranchor.AnchorMissing`; the workers start only once it
was found).  An update whose body has no ``ownerReferences`` keeps
the current object's, and an object that has none yet (made before the anchor
was set) gets the anchor's when the anchor is known — an update never waits
for it.  Only the host side decides ``ownerReferences``: mappers build host
metadata from the translation (name, namespace, labels, annotations), which
never carries a virtual object's owners (a pod's are kept as JSON in
``vcluster.loft.sh/owner-references``); a cluster-scoped object gets no owner.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

from syncer.errors import HostWriteRefused, TooManyRequests
from syncer.inflight import AdaptiveLimit
from syncer.owneranchor import AnchorMissing, OwnerAnchor
from syncer.resources import Resource
from syncer.translate import OWNER_REFERENCES_ANNOTATION, Translator

Json = dict[str, Any]


class WriteClient(Protocol):
    """The raw writes the host writer sends, once checked (:class:`~syncer.kube.KubeClient`'s)."""

    async def create(self, resource: Resource, *, namespace: str | None, body: Any) -> Json: ...
    async def update(
        self, resource: Resource, *, namespace: str | None, name: str, body: Any
    ) -> Json: ...
    async def update_status(
        self, resource: Resource, *, namespace: str | None, name: str, body: Any
    ) -> Json: ...
    async def delete(
        self,
        resource: Resource,
        *,
        namespace: str | None,
        name: str,
        uid: str | None = None,
        grace_period_seconds: int | None = None,
    ) -> Json: ...


class RefusalMetrics(Protocol):
    def refused(self, *, kind: str, reason: str) -> None: ...


class NoopRefusalMetrics:
    def refused(self, *, kind: str, reason: str) -> None:
        return None


class NotLeader(HostWriteRefused):
    """This replica does not hold the lease: it must not write."""


def _meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    meta = obj.get("metadata")
    return meta if isinstance(meta, Mapping) else {}


def _owners(obj: Mapping[str, Any]) -> list[Any]:
    owners = _meta(obj).get("ownerReferences")
    return list(owners) if isinstance(owners, list | tuple) else []


def _owned_by(body: Json, *owners: Any) -> Json:
    """A shallow copy of ``body`` whose ``metadata.ownerReferences`` are ``owners``."""
    metadata = dict(_meta(body))
    metadata["ownerReferences"] = [dict(owner) for owner in owners]
    return {**body, "metadata": metadata}


def _controlling(reference: Json, body: Mapping[str, Any]) -> Json:
    """``reference`` marked ``controller`` when the virtual object had a controller.

    vcluster's rule: a host pod whose virtual pod has a controlling owner (a
    ReplicaSet, a Job …) is "controlled" by the anchor, so host tooling that
    spares unmanaged pods (``kubectl drain`` without ``--force``) treats it as
    managed.  The virtual owners are the JSON of ``OWNER_REFERENCES_ANNOTATION``
    (only a boolean of them reaches the host reference).
    """
    annotations = _meta(body).get("annotations")
    raw = annotations.get(OWNER_REFERENCES_ANNOTATION) if isinstance(annotations, Mapping) else None
    try:
        owners = json.loads(raw) if isinstance(raw, str) else []
    except ValueError:
        owners = []
    controlled = isinstance(owners, list) and any(
        isinstance(owner, dict) and owner.get("controller") is True for owner in owners
    )
    return {**reference, "controller": controlled}


class HostWriter:
    """Writes to the host, only in the host namespace, only to objects that are ours."""

    def __init__(
        self,
        *,
        client: WriteClient,
        translator: Translator,
        may_write: Callable[[], bool] = lambda: True,
        metrics: RefusalMetrics | None = None,
        anchor: OwnerAnchor | None = None,
        limit: AdaptiveLimit | None = None,
    ) -> None:
        """``anchor``: the owner of every namespaced object created; ``None``: no owner.
        ``limit``: the writes in flight at once (a 429 answer shrinks it)."""
        self._client = client
        self._anchor = anchor
        self._limit = limit
        self._translator = translator
        self._may_write = may_write
        self._metrics = metrics or NoopRefusalMetrics()

    @property
    def host_namespace(self) -> str:
        return self._translator.host_namespace

    def _refuse(self, resource: Resource, reason: str, detail: str) -> HostWriteRefused:
        self._metrics.refused(kind=resource.kind, reason=reason)
        cls = NotLeader if reason == "not_leader" else HostWriteRefused
        return cls(f"refused host write of {resource.kind}: {detail}")

    def _check(self, resource: Resource, obj: Mapping[str, Any], *, what: str) -> None:
        if not self._may_write():
            raise self._refuse(resource, "not_leader", "this replica is not the leader")
        meta = _meta(obj)
        namespace = meta.get("namespace") or ""
        if resource.namespaced and namespace != self.host_namespace:
            raise self._refuse(
                resource,
                "namespace",
                f"{what} is in namespace {namespace!r}, not {self.host_namespace!r}",
            )
        if not self._translator.is_owned(obj, kind_string=resource.kind_string):
            raise self._refuse(
                resource, "not_owned", f"{what} {meta.get('name')!r} is not managed by this syncer"
            )

    async def _send(self, write: Callable[[], Awaitable[Json]]) -> Json:
        """``write()`` within a slot of the in-flight limit, if any."""
        limit = self._limit
        if limit is None:
            return await write()
        token = await limit.acquire()
        overloaded = False
        try:
            return await write()
        except TooManyRequests:
            overloaded = True
            raise
        finally:
            limit.release(token, overloaded=overloaded)

    def _namespace(self, resource: Resource) -> str | None:
        return self.host_namespace if resource.namespaced else None

    async def create(self, resource: Resource, *, body: Json) -> Json:
        """Create ``body``, which must be fully translated (marker label, provenance)."""
        self._check(resource, body, what="new object")
        if self._anchor is not None and resource.namespaced and not _owners(body):
            body = _owned_by(body, _controlling(await self._anchor.reference(), body))
        namespace = self._namespace(resource)
        return await self._send(
            lambda: self._client.create(resource, namespace=namespace, body=body)
        )

    async def update(self, resource: Resource, *, current: Mapping[str, Any], body: Json) -> Json:
        """Replace ``current`` (ours) with ``body``: still ours, same name."""
        self._check(resource, current, what="existing object")
        self._check(resource, body, what="updated object")
        name = _meta(current).get("name")
        if _meta(body).get("name") != name:
            raise self._refuse(resource, "not_owned", "an update may not rename an object")
        if self._anchor is not None and resource.namespaced and not _owners(body):
            owners = _owners(current)
            if not owners:
                try:
                    owners = [_controlling(await self._anchor.reference(), body)]
                except AnchorMissing:
                    owners = []  # adopted by a later update; this one does not wait
            if owners:
                body = _owned_by(body, *owners)
        namespace = self._namespace(resource)
        return await self._send(
            lambda: self._client.update(resource, namespace=namespace, name=str(name), body=body)
        )

    async def update_status(
        self, resource: Resource, *, current: Mapping[str, Any], body: Json
    ) -> Json:
        """Replace the status of ``current`` (ours) with ``body``'s."""
        self._check(resource, current, what="existing object")
        name = str(_meta(current).get("name"))
        namespace = self._namespace(resource)
        return await self._send(
            lambda: self._client.update_status(resource, namespace=namespace, name=name, body=body)
        )

    async def delete(
        self,
        resource: Resource,
        *,
        current: Mapping[str, Any],
        grace_period_seconds: int | None = None,
    ) -> Json:
        """Delete ``current`` (ours), preconditioned on its UID."""
        self._check(resource, current, what="existing object")
        meta = _meta(current)
        namespace = self._namespace(resource)
        return await self._send(
            lambda: self._client.delete(
                resource,
                namespace=namespace,
                name=str(meta.get("name")),
                uid=str(meta.get("uid")) if meta.get("uid") else None,
                grace_period_seconds=grace_period_seconds,
            )
        )
