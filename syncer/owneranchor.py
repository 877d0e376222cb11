"""The owner anchor: the one host object every host object vsyncer creates is owned by.

vcluster's rule (its syncer's global owner, ``experimental.syncSettings.setOwner``,
on by default): the syncer reads the host Service named like the virtual
cluster in the host namespace, and every *namespaced* host object it creates
carries an ``ownerReference`` to it (``apiVersion: v1``, ``kind: Service``,
name, uid).  Deleting that Service — uninstalling the virtual cluster — lets
the host's garbage collector delete every synced object (background cascading
deletion).  A cluster-scoped object cannot have a namespaced owner (the
garbage collector treats such a reference as unresolvable), so it gets none.

Guarantees:

* The anchor is only ever read (one GET of ``services/<name>`` in the host
  namespace); vsyncer never creates, changes or deletes it.
* It is read before the workers start (:meth:`OwnerAnchor.wait`, the
  controllers' start gate), by one request however many wait.  While it is
  missing (or unreadable) the workers do not start: a warning naming the
  Service and the setting is logged, and it is looked for again with a
  doubling delay (1 s to :data:`MAX_WAIT` s).
* Once found, it is read again (one GET, by the first write that needs it) when
  the reference is older than :data:`REFRESH_SECONDS`.  vcluster reads its owner
  once at start; we do not, because a Service deleted and re-created under the
  same name (a ``kubectl replace --force``, a re-install) has a new uid, and
  references to the old one are references to a deleted owner: the host's
  garbage collector deletes every object carrying one, including each object
  re-created with it, for as long as the process lives.  So: a new uid is
  taken (a warning names both uids) and objects are created with it from then
  on; the objects owned by the old uid are the garbage collector's to delete
  (as on any uninstall) and their reconciles re-create them owned by the new
  one, at most :data:`REFRESH_SECONDS` after the Service came back.  A Service
  found gone (404) is missing again (below: creates wait, so nothing is
  re-created while an uninstall's garbage collection runs); any other failed
  re-read keeps the known reference (a warning) until the next look.
* Should a write need it while it is missing, :meth:`OwnerAnchor.reference`
  raises :class:`AnchorMissing` (one line naming the Service and the
  setting), and the write is not sent.  The Service is looked up again at
  most once per :data:`RETRY_SECONDS`, so a burst of writes does not become a
  burst of GETs.
* The reference has ``blockOwnerDeletion: false`` (deleting the anchor never
  waits for its dependents) and ``controller: false``; the host writer sets
  ``controller`` as vcluster does, true exactly when the virtual object has a
  controlling owner (:mod:`syncer.hostwriter`).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, Protocol

import structlog

from syncer.clock import Clock, RealClock
from syncer.errors import ApiError, NotFound, VsyncerError
from syncer.resources import SERVICES, Resource

if TYPE_CHECKING:
    from syncer.settings import Settings

Json = dict[str, Any]

#: Seconds between two looks for a missing anchor.
RETRY_SECONDS = 1.0
#: The longest wait between two looks while the workers wait for the anchor.
MAX_WAIT = 30.0
#: Age in seconds after which a found anchor is read again (its uid may have changed).
REFRESH_SECONDS = 10.0


class ReadClient(Protocol):
    """The one read the anchor needs (:class:`~syncer.kube.KubeClient`'s ``get``)."""

    async def get(self, resource: Resource, *, namespace: str | None, name: str) -> Json: ...


class AnchorMissing(VsyncerError):
    """The anchor Service cannot be read: host creates wait until it can."""


class AnchorGone(AnchorMissing):
    """The anchor Service does not exist (404)."""


class OwnerAnchor:
    """The host Service ``name`` in ``namespace``, as an ownerReference; cached, re-read when
    older than ``refresh_seconds`` (the module docstring).

    ``setting`` is the name of the setting that chose the Service, quoted in
    :class:`AnchorMissing` messages.
    """

    def __init__(
        self,
        *,
        client: ReadClient,
        namespace: str,
        name: str,
        setting: str,
        clock: Clock | None = None,
        refresh_seconds: float = REFRESH_SECONDS,
    ) -> None:
        self.namespace = namespace
        self.name = name
        self._client = client
        self._setting = setting
        self._clock = clock if clock is not None else RealClock()
        self._refresh = refresh_seconds
        self._reference: Json | None = None
        self._fresh_until = float("-inf")  # when the reference is to be read again
        self._lock = asyncio.Lock()
        self._missing: AnchorMissing | None = None
        self._missing_until = float("-inf")
        self._log = structlog.get_logger("vsyncer.owneranchor").bind(anchor=f"{namespace}/{name}")

    @property
    def known(self) -> Json | None:
        """The reference, if the anchor has been found (no I/O)."""
        return self._reference

    async def reference(self) -> Json:
        """A fresh copy of the anchor's ownerReference; :class:`AnchorMissing` if not found."""
        if self._reference is None or self._clock.now() >= self._fresh_until:
            async with self._lock:  # one GET at a time; the waiters then see its answer
                await self._resolve()
        assert self._reference is not None
        return dict(self._reference)

    async def wait(self) -> None:
        """Return once the anchor is found; until then log why and look again, backing off."""
        delay = RETRY_SECONDS
        while True:
            try:
                await self.reference()
            except AnchorMissing as exc:
                self._log.warning("waiting for the owner anchor", error=str(exc), retry_in=delay)
                await self._clock.sleep(delay)
                delay = min(MAX_WAIT, delay * 2)
            else:
                return

    async def _resolve(self) -> None:
        now = self._clock.now()
        if self._reference is not None and now < self._fresh_until:
            return  # another waiter's GET answered while this one waited for the lock
        if self._reference is None and self._missing is not None and now < self._missing_until:
            raise self._missing
        try:
            found = await self._read()
        except AnchorMissing as exc:
            if self._reference is not None and not isinstance(exc, AnchorGone):
                self._log.warning("owner anchor not re-read; keeping its uid", error=str(exc))
                self._fresh_until = now + RETRY_SECONDS
                return
            if self._reference is not None:
                self._log.warning("owner anchor gone; host creates wait for it", error=str(exc))
            self._reference = None
            self._missing, self._missing_until = exc, now + RETRY_SECONDS
            raise
        if self._reference is not None and self._reference["uid"] != found["uid"]:
            self._log.warning(
                "owner anchor re-created; new host objects are owned by its new uid",
                old_uid=self._reference["uid"],
                uid=found["uid"],
            )
        self._reference, self._fresh_until = found, now + self._refresh

    async def _read(self) -> Json:
        where = f"host Service {self.namespace}/{self.name}"
        try:
            service = await self._client.get(SERVICES, namespace=self.namespace, name=self.name)
        except NotFound:
            raise AnchorGone(
                f"{self._setting}: {where} not found; host objects are created once it exists"
            ) from None
        except ApiError as exc:
            raise AnchorMissing(f"{self._setting}: cannot read {where}: {exc}") from exc
        meta = service.get("metadata")
        uid = meta.get("uid") if isinstance(meta, dict) else None
        if not uid:
            raise AnchorMissing(f"{self._setting}: {where} has no uid")
        return owner_reference(name=self.name, uid=str(uid))


def anchor_for(settings: Settings, *, client: ReadClient) -> OwnerAnchor | None:
    """The anchor ``settings`` choose: ``VSYNCER_OWNER_ANCHOR``, else the Service named like
    the vcluster, in the host namespace; ``None`` when ``VSYNCER_SET_OWNER`` is false."""
    if not settings.set_owner:
        return None
    return OwnerAnchor(
        client=client,
        namespace=settings.host_namespace,
        name=settings.owner_anchor or settings.vcluster_name,
        setting="VSYNCER_OWNER_ANCHOR",
    )


def owner_reference(*, name: str, uid: str) -> Json:
    """The ownerReference to the anchor Service ``name`` with ``uid``."""
    return {
        "apiVersion": SERVICES.api_version,
        "kind": SERVICES.kind,
        "name": name,
        "uid": uid,
        "controller": False,
        "blockOwnerDeletion": False,
    }


def stand_in(*, namespace: str, name: str) -> Json:
    """A Service to be the anchor where no chart makes one (``vsyncer dev``, the tests).

    Selector-less ClusterIP, port 443: it stands for the virtual cluster and
    fronts nothing.  vsyncer itself never creates it.
    """
    return {
        "apiVersion": SERVICES.api_version,
        "kind": SERVICES.kind,
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"ports": [{"name": "https", "port": 443, "protocol": "TCP"}]},
    }
