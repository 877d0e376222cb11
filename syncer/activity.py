"""Tenant activity: when did someone last use the virtual cluster?

Sleep mode (``VSYNCER_SLEEP_AFTER``) puts an idle virtual cluster to sleep;
this module decides what counts as use and remembers when it last happened.

Activity is:

* a change a tenant makes in the virtual cluster: a create, a delete, or an
  update that changes more than what controllers and vsyncer write
  (:func:`is_activity`): not ``status``, not the bookkeeping metadata
  (``resourceVersion``, ``generation``, ``managedFields``, ``kind`` and
  ``apiVersion``, which list items lack), not labels or
  annotations under ``vcluster.loft.sh/`` or ``vsyncer.dev/``, not a pod's
  ``spec.nodeName`` (vsyncer binds pods).  Objects a controller owns (an
  ownerReference with ``controller: true``: a Deployment's ReplicaSets and
  their pods, a CronJob's Jobs), Endpoints the endpoints controller keeps, sleep
  mode's own record-and-scale patches (:func:`syncer.sleep_plan.is_sleep_write`), and
  the kinds only controllers and vsyncer write (:data:`IGNORED_KINDS`) never
  count, so a CronJob firing on its schedule does not keep the cluster awake;
* anything a caller reports with :meth:`ActivityTracker.touch`, and requests
  through the kubelet API (logs, exec, attach, port-forward), seen as the growth
  of ``vsyncer_kubelet_requests_total`` (:class:`CounterActivity`, polled);
* a virtual namespace annotated ``vsyncer.dev/keep-awake: "true"``: while one
  exists the cluster counts as active all the time.

Guarantees:

* Only the virtual informers' events after their first complete list count:
  the initial list (and so a restart of vsyncer) is no activity.
* :attr:`ActivityTracker.last_touch` is the monotonic time of the last
  activity actually seen (``None`` before any), for waking a sleeping cluster.
* :meth:`ActivityTracker.idle_seconds` is 0 while a namespace keeps the
  cluster awake, else the monotonic seconds since the last activity (or since
  the tracker was made, which counts as activity: a restart never makes the
  cluster look idle longer than it was).
* ``vsyncer_last_activity_timestamp_seconds`` is the Unix time of the last
  activity (the tracker's creation at first).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Gauge

from syncer.clock import Clock, RealClock
from syncer.informer import Informer
from syncer.reflector import EventHandler
from syncer.sleep_plan import is_sleep_write
from syncer.store import Obj
from syncer.translate import is_reserved_key

#: A virtual namespace annotated with this (value ``"true"``) keeps the cluster awake.
KEEP_AWAKE_ANNOTATION = "vsyncer.dev/keep-awake"
#: Kinds only controllers and vsyncer write: their changes are never activity.
IGNORED_KINDS = frozenset({"events", "nodes", "leases", "endpointslices"})
#: The endpoints controller's mark on the Endpoints it keeps.
_ENDPOINTS_TRIGGER = "endpoints.kubernetes.io/last-change-trigger-time"
_BOOKKEEPING = ("resourceVersion", "generation", "managedFields")


def _meta(obj: Mapping[str, Any] | None) -> Mapping[str, Any]:
    meta = obj.get("metadata") if obj is not None else None
    return meta if isinstance(meta, Mapping) else {}


def _controlled(obj: Mapping[str, Any]) -> bool:
    owners = _meta(obj).get("ownerReferences") or ()
    return any(isinstance(o, Mapping) and o.get("controller") is True for o in owners)


def _tenant_view(plural: str, obj: Mapping[str, Any]) -> dict[str, Any]:
    """What of ``obj`` only a tenant changes: no status, bookkeeping or reserved keys."""
    # A list's items carry no kind and apiVersion, a watch event's objects do.
    view = {k: v for k, v in obj.items() if k not in ("status", "kind", "apiVersion")}
    meta = {k: v for k, v in _meta(obj).items() if k not in _BOOKKEEPING}
    for field in ("labels", "annotations"):
        values = meta.get(field)
        values = values if isinstance(values, Mapping) else {}
        kept = {k: v for k, v in values.items() if not is_reserved_key(k)}
        meta.pop(field, None)
        if kept:
            meta[field] = kept
    view["metadata"] = meta
    spec = obj.get("spec")
    if plural == "pods" and isinstance(spec, Mapping):
        view["spec"] = {k: v for k, v in spec.items() if k != "nodeName"}
    return view


def is_activity(
    *, plural: str, old: Mapping[str, Any] | None, new: Mapping[str, Any] | None
) -> bool:
    """Whether a change of a virtual object (``old`` → ``new``; ``None``: absent) is a
    tenant's (see the module docstring)."""
    obj = new if new is not None else old
    if obj is None or plural in IGNORED_KINDS or _controlled(obj):
        return False
    if plural == "endpoints" and _ENDPOINTS_TRIGGER in (_meta(obj).get("annotations") or {}):
        return False
    if old is None or new is None:
        return True
    if is_sleep_write(plural, old, new):
        return False
    return _tenant_view(plural, old) != _tenant_view(plural, new)


def keeps_awake(namespace: Mapping[str, Any]) -> bool:
    """Whether a virtual namespace carries the keep-awake annotation (and is not going)."""
    meta = _meta(namespace)
    annotations = meta.get("annotations") or {}
    return annotations.get(KEEP_AWAKE_ANNOTATION) == "true" and not meta.get("deletionTimestamp")


class ActivityTracker:
    """The time of the last tenant activity, and the namespaces keeping the cluster awake."""

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        wall: Callable[[], float] = time.time,
        registry: CollectorRegistry | None = None,
    ) -> None:
        self.clock: Clock = clock if clock is not None else RealClock()
        self._wall = wall
        self._gauge = Gauge(
            "vsyncer_last_activity_timestamp_seconds",
            "Unix time of the last tenant activity in the virtual cluster.",
            registry=registry,
        )
        self._last = self.clock.now()
        self._gauge.set(self._wall())
        self.last_touch: float | None = None  # monotonic time of the last activity seen
        self._awake: set[str] = set()
        self.sources: dict[str, int] = {}  # activity counted per source, for logs and tests

    def touch(self, *, source: str) -> None:
        """Record activity now; ``source`` names it (``pods``, ``kubelet``…)."""
        self._last = self.last_touch = self.clock.now()
        self._gauge.set(self._wall())
        self.sources[source] = self.sources.get(source, 0) + 1

    def keep_awake(self, namespace: str, *, on: bool) -> None:
        """Record whether virtual ``namespace`` keeps the cluster awake."""
        if on:
            self._awake.add(namespace)
        else:
            self._awake.discard(namespace)

    @property
    def kept_awake_by(self) -> frozenset[str]:
        return frozenset(self._awake)

    def idle_seconds(self) -> float:
        """0 while a namespace keeps the cluster awake, else seconds since the last activity."""
        return 0.0 if self._awake else max(0.0, self.clock.now() - self._last)

    def handler(self, *, plural: str, synced: Callable[[], bool]) -> EventHandler:
        """An informer handler counting the events of kind ``plural`` once ``synced()``."""
        return _ActivityHandler(tracker=self, plural=plural, synced=synced)


class _ActivityHandler:
    def __init__(self, *, tracker: ActivityTracker, plural: str, synced: Callable[[], bool]):
        self._tracker, self._plural, self._synced = tracker, plural, synced

    def _change(self, old: Obj | None, new: Obj | None) -> None:
        if self._plural == "namespaces":
            obj = new if new is not None else old
            name = str(_meta(obj).get("name") or "")
            self._tracker.keep_awake(name, on=new is not None and keeps_awake(new))
        if self._synced() and is_activity(plural=self._plural, old=old, new=new):
            self._tracker.touch(source=self._plural)

    def on_add(self, obj: Obj) -> None:
        self._change(None, obj)

    def on_update(self, old: Obj, new: Obj) -> None:
        self._change(old, new)

    def on_delete(self, obj: Obj) -> None:
        self._change(obj, None)


def watch_activity(*, tracker: ActivityTracker, informers: Iterable[Informer]) -> None:
    """Count the events of every virtual informer in ``informers`` as activity."""
    for informer in informers:
        if informer.cluster == "virtual":
            handler = tracker.handler(plural=informer.resource.plural, synced=_synced_of(informer))
            informer.add_handler(handler)


def _synced_of(informer: Informer) -> Callable[[], bool]:
    return lambda: informer.has_synced


class CounterActivity:
    """Activity seen as the growth of a counter family on a registry.

    The kubelet API (:mod:`syncer.kubelet`) counts every request it finished for a
    caller with a verified client certificate in ``vsyncer_kubelet_requests_total``
    (a 401 is counted only in ``vsyncer_kubelet_unauthorized_total``, so it is not
    activity); :meth:`poll` turns growth of that total
    since the last poll into one :meth:`ActivityTracker.touch`.  A family that
    is not registered (the kubelet API is off) counts 0.
    """

    def __init__(
        self, *, tracker: ActivityTracker, registry: CollectorRegistry, family: str, source: str
    ) -> None:
        """``family``: the counter's name without ``_total`` (``vsyncer_kubelet_requests``)."""
        self._tracker, self._registry = tracker, registry
        self._family, self._source = family, source
        self._last = self._total()

    def _total(self) -> float:
        return sum(
            sample.value
            for metric in self._registry.collect()
            if metric.name == self._family
            for sample in metric.samples
            if sample.name == f"{self._family}_total"
        )

    def poll(self) -> None:
        total = self._total()
        if total > self._last:
            self._tracker.touch(source=self._source)
        self._last = total
