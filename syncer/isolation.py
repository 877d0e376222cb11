"""Isolation mode: the quota, limit range, network policy and namespace label, kept in place.

With ``VSYNCER_ISOLATION=true`` the daemon runs one :class:`IsolationController`
(as a guarded task, only while it may write: leading, with leader election).
It owns the objects :mod:`syncer.isolation_objects` builds in the host
namespace and, with ``VSYNCER_ISOLATION_LABEL_NAMESPACE=true``, one label of
the host Namespace.

Guarantees:

* Host informers watch the three kinds in the host namespace (every object of
  them there, so an object that loses its labels is still seen) and the host
  Namespace itself; every event about one of the wanted names, and every
  ``resync`` seconds every name, goes through a work queue to a
  :class:`~syncer.controller.Controller` (one worker; the one retry policy of
  :mod:`syncer.reconcile`).  So an object deleted or edited on the host is
  restored as soon as its watch event arrives, at the latest after ``resync``.
* An object missing is created; one of ours (:func:`~syncer.isolation_objects.is_ours`)
  that differs in spec or ownership labels is replaced with what is wanted
  (labels and annotations others added are kept), preconditioned on the
  resourceVersion read, so a concurrent edit is a conflict and a fresh retry.
  A version this controller wrote itself is not compared again, so an object
  the API server stores in a canonical form (``0.5`` CPU as ``500m``) costs
  one no-op update, not a loop.
* An object under a wanted name that is not ours (an admin's own quota named
  ``vc-<vcluster>``) is never modified or deleted: counted in
  ``vsyncer_host_writes_refused_total{kind,reason="not_owned"}``, logged once,
  looked at again after ``resync``.
* Namespaced objects are created in the host namespace only, with an
  ownerReference to the owner anchor when there is one
  (:mod:`syncer.owneranchor`, as every host object vsyncer creates).  The
  Namespace write is a merge patch of the one label
  ``pod-security.kubernetes.io/enforce`` (set to ``VSYNCER_POD_SECURITY_LEVEL``),
  sent only when the label is missing or less strict (a stricter level an admin set
  is kept); nothing else of the Namespace is written.
* Restores are counted as ``vsyncer_drift_detected_total{kind,reason}``
  (``missing``, ``content``) and ``vsyncer_drift_repaired_total{kind}``, with
  the kind's plural; reconciles as ``vsyncer_reconcile_total{kind="isolation"}``.
* No write while ``may_write()`` says no; the key is looked at again after ``resync``.
  A dry run (``VSYNCER_DRY_RUN``) sends none: each is logged and counted instead.
* :attr:`IsolationController.settled` is set once every key has been
  reconciled successfully once (the objects are in place, or a name is held by
  an object that is not ours and was reported): the daemon starts
  the kinds' workers then (or after ``cache_sync_timeout``).
* :meth:`IsolationController.pending` names what of the quota, limit range and policies is
  not in place as ours (cached); while any is not, pod creates are refused
  (:mod:`syncer.isolation_gate`) and ``/readyz`` says so.  Never in a dry run.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import structlog

from syncer.controller import Controller, ReconcileMetrics
from syncer.dryrun import DryRunApi
from syncer.errors import AlreadyExists
from syncer.informer import Informer
from syncer.isolation_objects import (
    DEFAULT_LIMITS,
    DEFAULT_QUOTA,
    DEFAULT_REQUESTS,
    IsolationSpec,
    desired_objects,
    is_ours,
    merged,
    namespace_label_patch,
    needs_update,
    updated,
)
from syncer.keys import ObjectKey
from syncer.kube import KubeClient
from syncer.listwatch import ListerWatcher
from syncer.owneranchor import AnchorMissing, OwnerAnchor, anchor_for
from syncer.reconcile import DONE, Result
from syncer.reflector import ReflectorMetrics
from syncer.resources import NAMESPACES, Resource
from syncer.settings import Settings
from syncer.store import Obj
from syncer.workqueue import WorkQueue

Json = dict[str, Any]

#: The controller's name in metrics and logs.
KIND = "isolation"


def spec_from(settings: Settings) -> IsolationSpec:
    """The :class:`IsolationSpec` the ``VSYNCER_ISOLATION*`` settings describe."""
    s = settings
    return IsolationSpec(
        vcluster=s.vcluster_name,
        host_namespace=s.host_namespace,
        quota=merged(DEFAULT_QUOTA, s.isolation_quota),
        limits=merged(DEFAULT_LIMITS, s.isolation_limit_default),
        requests=merged(DEFAULT_REQUESTS, s.isolation_limit_default_request),
        network_policy=s.isolation_network_policy,
        public_egress=s.isolation_public_egress,
        allow_cidrs=s.isolation_allow_cidrs,
        allow_namespaces=s.isolation_allow_namespaces,
        control_plane=dict(entry.split("=", 1) for entry in s.isolation_control_plane_labels),
        pod_security_level=s.pod_security_level if s.isolation_label_namespace else None,
    )


class IsolationWrites(Protocol):
    """The writes the controller sends (:class:`~syncer.kube.KubeClient`'s, or a dry run's)."""

    async def create(self, resource: Resource, *, namespace: str | None, body: Any) -> Json: ...

    async def update(
        self, resource: Resource, *, namespace: str | None, name: str, body: Any
    ) -> Json: ...

    async def patch(
        self,
        resource: Resource,
        *,
        namespace: str | None,
        name: str,
        body: Any,
        patch_type: str = "merge",
        subresource: str | None = None,
    ) -> Json: ...


class IsolationClient(IsolationWrites, ListerWatcher, Protocol):
    """What the controller needs of the host API server (:class:`~syncer.kube.KubeClient`)."""

    async def get(self, resource: Resource, *, namespace: str | None, name: str) -> Json: ...


class IsolationMetrics(ReconcileMetrics, Protocol):
    """The counters the controller moves (:class:`~syncer.metrics.Metrics` has them all)."""

    def refused(self, *, kind: str, reason: str) -> None: ...
    def drift_detected(self, *, kind: str, reason: str) -> None: ...
    def drift_repaired(self, *, kind: str) -> None: ...
    def reflector_metrics(self, *, cluster: str, kind: str) -> ReflectorMetrics: ...
    def dry_run_write(self, *, cluster: str, kind: str, verb: str) -> None: ...


def _meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    meta = obj.get("metadata")
    return meta if isinstance(meta, Mapping) else {}


class _Enqueue:
    """Informer handler: an event about a wanted name enqueues that name's key."""

    def __init__(self, *, kind: str, wanted: set[ObjectKey], add: Callable[[ObjectKey], None]):
        self._kind, self._wanted, self._add = kind, wanted, add

    def _key(self, obj: Obj) -> None:
        meta = _meta(obj)
        key = ObjectKey(self._kind, str(meta.get("namespace") or ""), str(meta.get("name")))
        if key in self._wanted:
            self._add(key)

    def on_add(self, obj: Obj) -> None:
        self._key(obj)

    def on_update(self, old: Obj, new: Obj) -> None:
        self._key(new)

    def on_delete(self, obj: Obj) -> None:
        self._key(obj)


class IsolationController:
    """Keeps :func:`~syncer.isolation_objects.desired_objects` of ``spec`` in place."""

    def __init__(
        self,
        *,
        spec: IsolationSpec,
        client: IsolationClient,
        metrics: IsolationMetrics,
        may_write: Callable[[], bool] = lambda: True,
        anchor: OwnerAnchor | None = None,
        resync: float = 60.0,
        writes: IsolationWrites | None = None,
    ) -> None:
        """``writes``: where writes go (default: ``client``; a dry run's API leaves them out)."""
        self.spec = spec
        self._client = client
        self._writes: IsolationWrites = writes if writes is not None else client
        self._metrics = metrics
        self._may_write = may_write
        self._anchor = anchor
        self._resync = resync
        self._log = structlog.get_logger("vsyncer.isolation").bind(
            vcluster=spec.vcluster, host_namespace=spec.host_namespace
        )
        ns = spec.host_namespace
        self._wanted: dict[ObjectKey, tuple[Resource, Json]] = {
            ObjectKey(resource.plural, ns, name): (resource, body)
            for (resource, name), body in desired_objects(spec).items()
        }
        self._namespace_key = ObjectKey(NAMESPACES.plural, "", ns)
        keys = set(self._wanted) | ({self._namespace_key} if spec.pod_security_level else set())
        self.keys = frozenset(keys)
        self.queue: WorkQueue[ObjectKey] = WorkQueue(name=KIND)
        self.informers: dict[str, Informer] = {}
        for resource in {resource for resource, _ in self._wanted.values()}:
            self.informers[resource.plural] = self._informer(resource, namespace=ns)
        if spec.pod_security_level:
            self.informers[NAMESPACES.plural] = self._informer(
                NAMESPACES, field_selector=f"metadata.name={ns}"
            )
        for kind, informer in self.informers.items():
            informer.add_handler(_Enqueue(kind=kind, wanted=set(keys), add=self.queue.add))
        self.controller = Controller(
            kind=KIND, reconciler=self, queue=self.queue, workers=1, metrics=metrics
        )
        self._written: dict[ObjectKey, str] = {}  # key -> resourceVersion we wrote last
        self._seen: set[ObjectKey] = set()  # keys found or made once: their absence is drift
        self._not_ours: set[ObjectKey] = set()  # keys whose foreign object was logged
        self._unsettled = set(self.keys)  # keys not reconciled successfully yet
        self.settled = asyncio.Event()

    def _informer(
        self, resource: Resource, *, namespace: str | None = None, field_selector: str | None = None
    ) -> Informer:
        return Informer(
            cluster=self._client.cluster,
            client=self._client,
            resource=resource,
            namespace=namespace,
            field_selector=field_selector,
            metrics=self._metrics.reflector_metrics(
                cluster=self._client.cluster, kind=resource.plural
            ),
        )

    async def run(self) -> None:
        """Start the informers, then reconcile every key now, on events and every ``resync``."""
        async with asyncio.TaskGroup() as group:
            for informer in self.informers.values():
                group.create_task(informer.run(), name=f"isolation informer {informer.name}")
            await asyncio.gather(*(i.wait_synced() for i in self.informers.values()))
            self._log.info("isolation objects watched", keys=sorted(map(str, self.keys)))
            group.create_task(self.controller.run(), name="isolation controller")
            while True:
                for key in sorted(self.keys):
                    self.queue.add(key)
                await asyncio.sleep(self._resync)

    def pending(self) -> str | None:
        """``None`` once every isolation object is cached and ours, else what is not."""
        if isinstance(self._writes, DryRunApi):
            return None  # nothing is written, pods neither
        missing = [
            f"{resource.kind} {key.name} "
            + ("missing" if current is None else "held by an object that is not vsyncer's")
            for key, (resource, _) in sorted(self._wanted.items())
            for current in [self.informers[resource.plural].get(key.namespace, key.name)]
            if current is None or not is_ours(current, vcluster=self.spec.vcluster)
        ]
        return "; ".join(missing) or None

    async def wait_settled(self, *, stop: asyncio.Event, at_most: float) -> None:
        """Until :attr:`settled` or ``stop`` is set, at most ``at_most`` seconds."""
        waiters = {asyncio.ensure_future(self.settled.wait()), asyncio.ensure_future(stop.wait())}
        try:
            await asyncio.wait(waiters, timeout=at_most, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
        if not self.settled.is_set() and not stop.is_set():
            self._log.warning(
                "isolation objects not in place; pod creates wait", why=self.pending()
            )

    async def reconcile(self, key: ObjectKey) -> Result:
        """Make the object of ``key`` (or the namespace label) what isolation wants."""
        result = await self._reconcile(key)
        if (result == DONE or key in self._not_ours) and key in self._unsettled:
            self._unsettled.discard(key)
            if not self._unsettled:
                self.settled.set()
        return result

    async def _reconcile(self, key: ObjectKey) -> Result:
        if key not in self.keys:
            return DONE
        if not self._may_write():
            return Result(requeue_after=self._resync)
        if key == self._namespace_key:
            return await self._label_namespace()
        resource, desired = self._wanted[key]
        current = self.informers[resource.plural].get(key.namespace, key.name)
        log = self._log.bind(key=str(key))
        if current is None:
            return await self._create(key, resource, desired, log)
        self._seen.add(key)
        if not is_ours(current, vcluster=self.spec.vcluster):
            self._metrics.refused(kind=resource.kind, reason="not_owned")
            if key not in self._not_ours:
                self._not_ours.add(key)
                log.error("an object that is not vsyncer's holds an isolation object's name")
            return Result(requeue_after=self._resync)
        self._not_ours.discard(key)
        version = str(_meta(current).get("resourceVersion") or "")
        if self._written.get(key) == version or not needs_update(current, desired):
            self._written[key] = version
            return DONE
        body = updated(current, desired)
        if not _meta(body).get("ownerReferences"):
            body = await self._owned(body, wait=False)
        written = await self._writes.update(
            resource, namespace=key.namespace, name=key.name, body=body
        )
        self._written[key] = str(_meta(written).get("resourceVersion") or "")
        self._metrics.drift_detected(kind=resource.plural, reason="content")
        self._metrics.drift_repaired(kind=resource.plural)
        log.warning("isolation object restored", change="content")
        return DONE

    async def _create(self, key: ObjectKey, resource: Resource, desired: Json, log: Any) -> Result:
        body = await self._owned(desired, wait=True)
        try:
            created = await self._writes.create(resource, namespace=key.namespace, body=body)
        except AlreadyExists:
            return Result(requeue=True)  # the cache is behind: its event brings the key back
        self._written[key] = str(_meta(created).get("resourceVersion") or "")
        if key in self._seen:
            self._metrics.drift_detected(kind=resource.plural, reason="missing")
            self._metrics.drift_repaired(kind=resource.plural)
            log.warning("isolation object restored", change="missing")
        else:
            log.info("isolation object created")
        self._seen.add(key)
        return DONE

    async def _owned(self, body: Json, *, wait: bool) -> Json:
        """``body`` with an ownerReference to the anchor; without one if the anchor is
        missing and ``wait`` is false (``AnchorMissing`` propagates otherwise)."""
        if self._anchor is None:
            return body
        try:
            owner = await self._anchor.reference()
        except AnchorMissing:
            if wait:
                raise
            return body
        return {**body, "metadata": {**_meta(body), "ownerReferences": [dict(owner)]}}

    async def _label_namespace(self) -> Result:
        level = self.spec.pod_security_level
        name = self._namespace_key.name
        current = self.informers[NAMESPACES.plural].get("", name)
        if level is None or current is None:
            return DONE if level is None else Result(requeue_after=self._resync)
        patch = namespace_label_patch(current, level)
        if patch is None:
            return DONE
        await self._writes.patch(NAMESPACES, namespace=None, name=name, body=patch)
        self._log.info("host namespace labelled", label=patch["metadata"]["labels"])
        return DONE


def isolation_for(
    *,
    settings: Settings,
    host: KubeClient,
    may_write: Callable[[], bool],
    metrics: IsolationMetrics,
) -> IsolationController | None:
    """The daemon's isolation controller when ``VSYNCER_ISOLATION`` is on, else ``None``.

    Its objects are owned by the same anchor as every other host object
    (``VSYNCER_SET_OWNER`` / ``VSYNCER_OWNER_ANCHOR``); with ``VSYNCER_DRY_RUN`` its
    writes are logged and counted, never sent (:mod:`syncer.dryrun`).
    """
    s = settings
    if not s.isolation:
        return None
    return IsolationController(
        spec=spec_from(s),
        client=host,
        metrics=metrics,
        may_write=may_write,
        anchor=anchor_for(s, client=host),
        resync=s.isolation_resync,
        writes=DryRunApi(client=host, cluster="host", metrics=metrics) if s.dry_run else host,
    )
