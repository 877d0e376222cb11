"""Sleep mode: an idle virtual cluster's workloads stop, and start again on first use.

With ``VSYNCER_SLEEP_AFTER`` set the daemon runs one :class:`SleepController`
(a guarded task, only while it may write: leading, with leader election).

The one piece of cluster state is the *sleep marker*: the annotation
:data:`MARKER` on the virtual Namespace ``default`` (its value the UTC time the
cluster fell asleep).  Everything else is per object (:mod:`syncer.sleep_plan`).

Guarantees:

* **Falling asleep**: once the activity tracker (:mod:`syncer.activity`) has
  seen no activity for ``sleep_after`` seconds, the marker is written first;
  then every Deployment, StatefulSet, ReplicaSet no Deployment owns, CronJob,
  unfinished Job and DaemonSet outside the namespaces labelled ``vsyncer.dev/sleep-exclude=true``
  is put to sleep with its own record-and-scale patch; their controllers then
  delete the pods, and vsyncer their host twins.  Bare pods (no controller
  owns them) are kept and marked sleeping, and the pods mapper deletes their
  host twins (:mod:`syncer.sleep_pods`); so the host namespace runs no tenant pod.
* **Waking**: on the first activity seen after the cluster fell asleep (a
  tenant's write, a kubelet API request, a keep-awake namespace), or when
  anyone removes the marker, the marker goes first (kubelet API requests are
  seen within a second); then every object is
  restored from its own record, and every bare pod's mark removed (the pods
  mapper re-creates its host twin).
* **Crash-safe and idempotent**: every object converges, on every event and
  on every start, to what the marker says: asleep while it is there, awake
  otherwise.  A patch records and scales in one write, preconditioned on the
  version it was computed from, so a process killed at any point leaves each
  object either fully asleep (count recorded) or fully awake, and the next
  process — this one or another — finishes the job; a tenant's count is never
  lost.  A restart is no activity: a sleeping cluster stays asleep across it.
* ``vsyncer_sleeping`` is 1 while the marker is there.  Sleep and wake are
  logged; each object's patch is a reconcile counted as
  ``vsyncer_reconcile_total{kind="sleep"}``.
* With ``VSYNCER_DRY_RUN`` no write is sent (each is logged and counted).
"""

from __future__ import annotations

import asyncio
import datetime
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

import structlog
from prometheus_client import CollectorRegistry, Gauge

from syncer.activity import ActivityTracker, CounterActivity, watch_activity
from syncer.controller import Controller, ReconcileMetrics
from syncer.dryrun import DryRunApi
from syncer.errors import ApiError, ConfigError, NotFound
from syncer.informer import Informer
from syncer.keys import ObjectKey
from syncer.kube import KubeClient
from syncer.listwatch import ListerWatcher
from syncer.metrics import Metrics
from syncer.reconcile import DONE, Result
from syncer.reflector import ReflectorMetrics
from syncer.resources import NAMESPACES, PODS, Resource
from syncer.settings import Settings
from syncer.sleep_plan import excluded, is_target, sleep_patch, wake_patch
from syncer.sleep_pods import pod_sleep_patch, pod_wake_patch
from syncer.store import NAMESPACE_INDEX, Obj
from syncer.workqueue import WorkQueue

Json = dict[str, Any]

#: The sleep marker, on the virtual Namespace :data:`MARKER_NAMESPACE`.
MARKER = "vsyncer.dev/sleeping"
MARKER_NAMESPACE = "default"
KIND = "sleep"
#: Seconds our own marker write may take to reach the cache before it is written again.
_CACHE_LAG = 30.0
DEPLOYMENTS = Resource("apps", "v1", "deployments", "Deployment")
STATEFULSETS = Resource("apps", "v1", "statefulsets", "StatefulSet")
REPLICASETS = Resource("apps", "v1", "replicasets", "ReplicaSet")
CRONJOBS = Resource("batch", "v1", "cronjobs", "CronJob")
JOBS = Resource("batch", "v1", "jobs", "Job")
DAEMONSETS = Resource("apps", "v1", "daemonsets", "DaemonSet")
WORKLOADS = (DEPLOYMENTS, STATEFULSETS, REPLICASETS, CRONJOBS, JOBS, DAEMONSETS)


class PatchClient(Protocol):
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


class SleepMetrics(ReconcileMetrics, Protocol):
    def reflector_metrics(self, *, cluster: str, kind: str) -> ReflectorMetrics: ...


def marker_patch(*, asleep_since: str | None) -> Json:
    """The merge patch setting (a time) or removing (``None``) the sleep marker."""
    return {"metadata": {"annotations": {MARKER: asleep_since}}}


def _meta(obj: Mapping[str, Any] | None) -> Mapping[str, Any]:
    meta = obj.get("metadata") if obj is not None else None
    return meta if isinstance(meta, Mapping) else {}


class SleepController:
    """Puts the virtual cluster to sleep after ``sleep_after`` idle seconds, wakes it on use."""

    def __init__(
        self,
        *,
        client: ListerWatcher,
        tracker: ActivityTracker,
        sleep_after: float,
        metrics: SleepMetrics,
        registry: CollectorRegistry | None = None,
        writes: PatchClient,
        may_write: Callable[[], bool] = lambda: True,
        check_every: float = 1.0,
        now: Callable[[], float] | None = None,
        polls: Iterable[CounterActivity] = (),
        pods: Informer | None = None,
    ) -> None:
        """``client`` lists and watches the virtual cluster, ``writes`` gets the patches (the
        client itself, or a dry run's API); ``now``: monotonic time, the tracker's clock
        by default; ``polls``: activity read from counters, polled before every check;
        ``pods``: the virtual pods informer whose bare pods sleep (run by its owner; none:
        pods are left alone)."""
        self._polls = tuple(polls)
        self._writes = writes
        self.tracker = self._tracker = tracker
        self._sleep_after = sleep_after
        self._may_write = may_write
        self._check_every = check_every
        self._now = now or tracker.clock.now
        self._log = structlog.get_logger("vsyncer.sleep")
        self._gauge = Gauge(
            "vsyncer_sleeping",
            "1 while the virtual cluster is asleep (sleep mode).",
            registry=registry,
        )
        self.informers: dict[str, Informer] = {
            r.plural: Informer(
                cluster=client.cluster,
                client=client,
                resource=r,
                metrics=metrics.reflector_metrics(cluster=client.cluster, kind=r.plural),
            )
            for r in (*WORKLOADS, NAMESPACES)
        }
        self._resources = {r.plural: r for r in WORKLOADS}
        self.queue: WorkQueue[ObjectKey] = WorkQueue(name=KIND)
        for plural in self._resources:
            self.informers[plural].add_handler(_Keys(plural=plural, add=self.queue.add))
        self._pods = pods
        if pods is not None:
            pods.add_handler(_Keys(plural=PODS.plural, add=self.queue.add))
        self.informers[NAMESPACES.plural].add_handler(_Keys(plural="", add=self._marker_event))
        watch_activity(tracker=tracker, informers=self.informers.values())
        self.controller = Controller(kind=KIND, reconciler=self, queue=self.queue, metrics=metrics)
        self._asleep_at: float | None = None  # monotonic time the marker was seen set
        self._was_asleep = False  # the marker as last seen, to notice it going

    @property
    def asleep(self) -> bool:
        """Whether the marker is on the virtual ``default`` Namespace (as cached)."""
        namespace = self.informers[NAMESPACES.plural].get("", MARKER_NAMESPACE)
        annotations = _meta(namespace).get("annotations") or {}
        return isinstance(annotations, Mapping) and MARKER in annotations

    def _marker_event(self, key: ObjectKey) -> None:
        """A namespace changed: the marker (every workload follows) or an exclusion label
        (that namespace's workloads follow)."""
        if key.name != MARKER_NAMESPACE:
            self.enqueue_all(namespace=key.name)
            return
        asleep = self.asleep
        if self._was_asleep and not asleep:
            self._asleep_at = None
            self._tracker.touch(source="wake")  # removing the marker is using the cluster
        self._was_asleep = asleep
        self._gauge.set(1 if asleep else 0)
        self.enqueue_all()

    def _store(self, plural: str) -> Informer:
        return self._pods if plural == PODS.plural and self._pods else self.informers[plural]

    def enqueue_all(self, *, namespace: str | None = None) -> None:
        """Enqueue every workload and bare pod, or only those of ``namespace``."""
        # Bare pods first: each takes two more writes (status, host delete) after its mark.
        plurals = [*([PODS.plural] if self._pods else []), *self._resources]
        for plural in plurals:
            store = self._store(plural).store
            keys = (
                store.keys()
                if namespace is None
                else store.keys_by_index(NAMESPACE_INDEX, namespace)
            )
            for ns, name in keys:
                self.queue.add(ObjectKey(plural, ns, name))

    async def run(self) -> None:
        """Start the informers; then reconcile on events and check idleness every second."""
        async with asyncio.TaskGroup() as group:
            for informer in self.informers.values():
                group.create_task(informer.run(), name=f"sleep informer {informer.name}")
            await asyncio.gather(*(i.wait_synced() for i in self.informers.values()))
            self._was_asleep = self.asleep
            self._gauge.set(1 if self.asleep else 0)
            self._log.info("sleep mode on", sleep_after=self._sleep_after, asleep=self.asleep)
            self.enqueue_all()
            group.create_task(self.controller.run(), name="sleep controller")
            while True:
                await self.check()
                await asyncio.sleep(self._check_every)

    async def check(self) -> None:
        """Fall asleep when idle long enough; wake on activity after falling asleep."""
        for poll in self._polls:
            poll.poll()
        if not self._may_write():
            return
        tracker = self._tracker
        if not self.asleep:
            if self._asleep_at is not None and self._now() - self._asleep_at > _CACHE_LAG:
                self._asleep_at = None  # our marker never showed up (removed at once)
            if self._asleep_at is None and tracker.idle_seconds() >= self._sleep_after:
                since = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
                await self._set_marker(since)
                self._asleep_at = self._now()
                self._log.info("going to sleep", idle_seconds=tracker.idle_seconds())
            return
        if self._asleep_at is None:
            self._asleep_at = self._now()  # found asleep (a restart): only later use wakes
        touched = tracker.last_touch
        if tracker.kept_awake_by or (touched is not None and touched > self._asleep_at):
            await self._set_marker(None)
            self._asleep_at = None
            self._log.info("waking up", sources=dict(tracker.sources))

    async def _set_marker(self, since: str | None) -> None:
        await self._writes.patch(
            NAMESPACES, namespace=None, name=MARKER_NAMESPACE, body=marker_patch(asleep_since=since)
        )

    async def reconcile(self, key: ObjectKey) -> Result:
        """Make one workload or bare pod match the marker: asleep (unless excluded) or awake."""
        pods = key.kind == PODS.plural and self._pods is not None
        resource = PODS if pods else self._resources.get(key.kind)
        obj = self._store(key.kind).get(key.namespace, key.name) if resource else None
        if resource is None or obj is None or not (pods or is_target(key.kind, obj)):
            return DONE
        namespace = self.informers[NAMESPACES.plural].get("", key.namespace)
        if self.asleep and not excluded(namespace):
            patch = pod_sleep_patch(obj) if pods else sleep_patch(key.kind, obj)
        else:
            patch = pod_wake_patch(obj) if pods else wake_patch(key.kind, obj)
        if patch is None:
            return DONE
        if not self._may_write():
            return Result(requeue_after=self._check_every)
        try:
            await self._writes.patch(resource, namespace=key.namespace, name=key.name, body=patch)
        except NotFound:
            return DONE
        return DONE


class _Keys:
    """Informer handler: every event's key to ``add`` (``plural`` "" for namespaces)."""

    def __init__(self, *, plural: str, add: Callable[[ObjectKey], None]) -> None:
        self._plural, self._add = plural, add

    def _key(self, obj: Obj) -> None:
        meta = _meta(obj)
        self._add(ObjectKey(self._plural, str(meta.get("namespace") or ""), str(meta.get("name"))))

    def on_add(self, obj: Obj) -> None:
        self._key(obj)

    def on_update(self, old: Obj, new: Obj) -> None:
        self._key(new)

    def on_delete(self, obj: Obj) -> None:
        self._key(obj)


def sleep_for(
    *,
    settings: Settings,
    virtual: KubeClient,
    informers: Iterable[Informer],
    metrics: Metrics,
) -> SleepController | None:
    """The daemon's sleep controller when ``VSYNCER_SLEEP_AFTER`` is set, else ``None``.

    Its activity tracker counts the events of the virtual ``informers`` (the
    pipelines') as well as its own informers'; the bare pods it puts to sleep
    are those of the virtual pods informer among them (none: pods are not
    synced).  The controller writes only while the daemon runs it (leading);
    with ``VSYNCER_DRY_RUN`` its patches are logged and counted, never sent.
    """
    if settings.sleep_after is None:
        return None
    informers = tuple(informers)
    tracker = ActivityTracker(registry=metrics.registry)
    watch_activity(tracker=tracker, informers=informers)
    pods = [i for i in informers if i.cluster == "virtual" and i.resource.plural == PODS.plural]
    kubelet = CounterActivity(
        tracker=tracker,
        registry=metrics.registry,
        family="vsyncer_kubelet_requests",
        source="kubelet",
    )
    dry = DryRunApi(client=virtual, cluster="virtual", metrics=metrics)
    return SleepController(
        client=virtual,
        tracker=tracker,
        sleep_after=settings.sleep_after,
        metrics=metrics,
        registry=metrics.registry,
        writes=dry if settings.dry_run else virtual,
        polls=(kubelet,),
        pods=pods[0] if pods else None,
    )


async def wake(*, settings: Settings) -> bool:
    """Remove the sleep marker (``vsyncer wake``); whether the cluster was asleep.

    The running syncer then restores every workload.  Raises
    :class:`~syncer.errors.ConfigError` when the virtual cluster cannot be reached.
    """
    if settings.virtual_kubeconfig is None:
        raise ConfigError("VSYNCER_VIRTUAL_KUBECONFIG", "is required")
    try:
        virtual = await KubeClient.connect(
            cluster="virtual", kubeconfig=str(settings.virtual_kubeconfig)
        )
    except ApiError as exc:
        raise ConfigError("VSYNCER_VIRTUAL_KUBECONFIG", exc.message) from exc
    try:
        namespace = await virtual.get(NAMESPACES, namespace=None, name=MARKER_NAMESPACE)
        if MARKER not in (_meta(namespace).get("annotations") or {}):
            return False
        await virtual.patch(
            NAMESPACES, namespace=None, name=MARKER_NAMESPACE, body=marker_patch(asleep_since=None)
        )
        return True
    finally:
        await virtual.close()
