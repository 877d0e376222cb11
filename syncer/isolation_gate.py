"""Isolation's gate on the host writer: no tenant pod reaches the host unfenced.

With ``VSYNCER_ISOLATION=true`` every kind writes to the host through a
:class:`PodFence` around the one :class:`~syncer.hostwriter.HostWriter`.

Guarantees:

* While ``pending()`` (the isolation controller's
  :meth:`~syncer.isolation.IsolationController.pending`) names an isolation
  object that is not in place as vsyncer's — the ResourceQuota, LimitRange or
  a NetworkPolicy missing, or its name held by an object that is not ours
  (a host admission rule refusing it, an admin's own object) — a host *pod*
  create is refused with :class:`~syncer.errors.Refused` ``isolation_pending``
  before anything is sent.  The sync engine turns that into a Warning event on
  the virtual pod, ``vsyncer_refused_objects_total{kind="pods",reason="isolation_pending"}``
  and a retry after :data:`RETRY` seconds doubling to :data:`RETRY_MAXIMUM`,
  so the pod is created once the objects are in place, never lost.
* Every other write, of every kind (pod updates, status and deletes too:
  they let no new workload in), passes straight to the writer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from syncer.api import HostWriterApi
from syncer.errors import Refused
from syncer.resources import PODS, Resource

Json = dict[str, Any]
#: Seconds before a pod refused for pending isolation is looked at again, doubling to the maximum.
RETRY = 1.0
RETRY_MAXIMUM = 30.0


class PodFence:
    """A :class:`~syncer.api.HostWriterApi` that holds pod creates back while isolation is
    pending (see the module docstring)."""

    def __init__(self, *, writer: HostWriterApi, pending: Callable[[], str | None]) -> None:
        self._writer = writer
        self._pending = pending
        # Every other write is the writer's own (bound methods, not wrappers).
        self.update = writer.update
        self.update_status = writer.update_status
        self.delete = writer.delete

    @property
    def host_namespace(self) -> str:
        return self._writer.host_namespace

    async def create(self, resource: Resource, *, body: Json) -> Json:
        """The writer's create; for a pod, :class:`Refused` while isolation is pending."""
        if resource.qualified == PODS.qualified:
            pending = self._pending()
            if pending is not None:
                raise Refused(
                    reason="isolation_pending",
                    message=(
                        "the host namespace is not fenced yet (isolation mode: "
                        f"{pending}); the pod is created once it is"
                    ),
                    retry_after=RETRY,
                    retry_max=RETRY_MAXIMUM,
                )
        return await self._writer.create(resource, body=body)
