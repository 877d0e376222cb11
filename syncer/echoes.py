"""Own writes: recognising the watch event that a write of ours caused.

Every successful create, update, status update or patch returns the object as
the API server stored it, with its new ``metadata.resourceVersion``.  The sync
layer makes its writes through a :class:`RecordingApi` per cluster, which
records each of those in that cluster's :class:`OwnWrites`; the client
(:class:`syncer.kube.KubeClient`) under it is a pure transport and keeps no
such state.  :mod:`syncer.pipeline` puts one around the virtual client (the
``SyncContext.virtual`` mappers write through) and one around the host client
(under the :class:`~syncer.hostwriter.HostWriter`).  Writes that bypass them —
the Events the :class:`~syncer.events.EventRecorder` creates, leader election's
Lease — are not recorded; their watch events are reconciled as anyone else's.

The informer later sees the very same version as an ADDED or MODIFIED event:
the *echo* of the write.  A reconcile that carries on with the objects its
writes return already knows everything that echo says, so reconciling the key
again for it is pure cost (for a pod, about half of all reconciles).  This
module is the bookkeeping that lets :class:`~syncer.sync.KindSync` skip those
events for mappers that opt in, in the spirit of client-go's controller
expectations.

Guarantees:

* Only versions this process wrote are recognised, and each at most once:
  :meth:`OwnWrites.is_echo` consumes the entry it matches.  Any other
  version — a change by anyone else, or a later change of ours that raced —
  is not an echo, so skipping can never hide a change made by someone else.
* Only kinds that were asked for with :meth:`OwnWrites.track` are recorded.
* Memory is bounded: at most ``capacity`` versions are remembered; the
  oldest are forgotten first, which costs at most one extra reconcile each.
* Deletions are never recorded (their events always reach the reconciler), nor
  subresource creates (bindings, evictions), nor failed writes.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from syncer.api import VirtualApi
from syncer.resources import Resource

Json = dict[str, Any]
_Entry = tuple[str, str, str, str]  # (kind plural, namespace, name, resourceVersion)


def _identity(plural: str, obj: Mapping[str, Any]) -> _Entry | None:
    meta = obj.get("metadata")
    if not isinstance(meta, Mapping):
        return None
    name = meta.get("name")
    version = meta.get("resourceVersion")
    if not isinstance(name, str) or not isinstance(version, str) or not version:
        return None
    return (plural, meta.get("namespace") or "", name, version)


class OwnWrites:
    """The object versions written to one cluster, for the kinds being tracked."""

    def __init__(self, *, capacity: int = 16384) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self._capacity = capacity
        self._tracked: set[str] = set()
        self._versions: OrderedDict[_Entry, None] = OrderedDict()

    def track(self, plural: str) -> None:
        """Record writes of kind ``plural`` from now on."""
        self._tracked.add(plural)

    def __len__(self) -> int:
        return len(self._versions)

    def record(self, plural: str, obj: Mapping[str, Any]) -> None:
        """Remember that ``obj`` (as the API server returned it) was written by us."""
        if plural not in self._tracked:
            return
        entry = _identity(plural, obj)
        if entry is None:
            return
        self._versions[entry] = None
        self._versions.move_to_end(entry)
        if len(self._versions) > self._capacity:
            self._versions.popitem(last=False)

    def is_echo(self, plural: str, obj: Mapping[str, Any]) -> bool:
        """Whether ``obj`` is exactly a version we wrote; the entry is consumed."""
        entry = _identity(plural, obj)
        if entry is None or entry not in self._versions:
            return False
        del self._versions[entry]
        return True


class RecordingApi:
    """One cluster's API, recording the answer of every create, update and patch.

    Reads, deletes and subresource creates pass through unrecorded.
    """

    def __init__(self, *, client: VirtualApi, writes: OwnWrites) -> None:
        self._client = client
        #: What this cluster's writes recorded (for the kinds someone tracks).
        self.writes = writes

    async def get(self, resource: Resource, *, namespace: str | None, name: str) -> Json:
        return await self._client.get(resource, namespace=namespace, name=name)

    async def create(self, resource: Resource, *, namespace: str | None, body: Any) -> Json:
        created = await self._client.create(resource, namespace=namespace, body=body)
        self.writes.record(resource.plural, created)
        return created

    async def update(
        self, resource: Resource, *, namespace: str | None, name: str, body: Any
    ) -> Json:
        updated = await self._client.update(resource, namespace=namespace, name=name, body=body)
        self.writes.record(resource.plural, updated)
        return updated

    async def update_status(
        self, resource: Resource, *, namespace: str | None, name: str, body: Any
    ) -> Json:
        updated = await self._client.update_status(
            resource, namespace=namespace, name=name, body=body
        )
        self.writes.record(resource.plural, updated)
        return updated

    async def patch(
        self,
        resource: Resource,
        *,
        namespace: str | None,
        name: str,
        body: Any,
        patch_type: str = "merge",
        subresource: str | None = None,
    ) -> Json:
        patched = await self._client.patch(
            resource,
            namespace=namespace,
            name=name,
            body=body,
            patch_type=patch_type,
            subresource=subresource,
        )
        self.writes.record(resource.plural, patched)
        return patched

    async def delete(
        self,
        resource: Resource,
        *,
        namespace: str | None,
        name: str,
        uid: str | None = None,
        resource_version: str | None = None,
        grace_period_seconds: int | None = None,
        propagation: str | None = None,
    ) -> Json:
        return await self._client.delete(
            resource,
            namespace=namespace,
            name=name,
            uid=uid,
            resource_version=resource_version,
            grace_period_seconds=grace_period_seconds,
            propagation=propagation,
        )

    async def create_subresource(
        self, resource: Resource, *, namespace: str | None, name: str, subresource: str, body: Any
    ) -> Json:
        return await self._client.create_subresource(
            resource, namespace=namespace, name=name, subresource=subresource, body=body
        )
