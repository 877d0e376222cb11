"""Metrics: every family the syncer exports, on a registry owned by one :class:`Metrics`.

A :class:`Metrics` never touches prometheus_client's global ``REGISTRY``: it
creates (or is given) its own :class:`~prometheus_client.CollectorRegistry`,
so two instances — two tests — never share a value.

The work-queue families carry Kubernetes' own names and a ``name`` label (the
queue's name): ``workqueue_depth``, ``workqueue_adds_total``,
``workqueue_queue_duration_seconds``, ``workqueue_work_duration_seconds``,
``workqueue_retries_total``, and two gauges computed when scraped by asking
every queue given to :meth:`Metrics.register_queue`:
``workqueue_unfinished_work_seconds`` and
``workqueue_longest_running_processor_seconds``.  The syncer's own families
are prefixed ``vsyncer_``; see :meth:`Metrics.__init__` for their labels.

The adapters handed to the queue, the REST client and the reflectors
(:meth:`Metrics.queue_metrics`, :meth:`Metrics.rest_metrics`,
:meth:`Metrics.reflector_metrics`) sit on hot paths: they bind label values
once and keep the children, so an observation is one dictionary lookup at
most.  :meth:`Metrics.render` must run on the event loop's thread, because
the scrape-time gauges read the queues, which are not thread-safe.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any, Protocol

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.metrics_core import GaugeMetricFamily, Metric

if TYPE_CHECKING:  # protocols only: importing syncer.kube at run time would load the client
    from syncer.kube import RestMetrics
    from syncer.reflector import ReflectorMetrics
    from syncer.workqueue import QueueMetrics

__all__ = ["CONTENT_TYPE", "Metrics", "TimedQueue"]

# The classic text format generate_latest writes; every Prometheus version accepts it.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# client-go's workqueue buckets: 10 ns to 10 s, by factors of ten.
_QUEUE_BUCKETS = tuple(10.0**exponent for exponent in range(-8, 2))
_RECONCILE_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
# client-go's rest_client_request_duration_seconds buckets.
_REST_BUCKETS = (0.005, 0.025, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60)
_LAG_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)


class TimedQueue(Protocol):
    """What the scrape-time gauges read from a queue (:class:`~syncer.workqueue.WorkQueue`)."""

    @property
    def name(self) -> str: ...

    def unfinished_work_seconds(self) -> float: ...

    def longest_running_processor_seconds(self) -> float: ...


class Metrics:
    """The syncer's metric families, registered on one registry of their own."""

    def __init__(self, *, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self._queue_depth = Gauge(
            "workqueue_depth", "Current depth of the work queue.", ["name"], registry=r
        )
        self._queue_adds = Counter(
            "workqueue_adds_total", "Adds handled by the work queue.", ["name"], registry=r
        )
        self._queue_latency = Histogram(
            "workqueue_queue_duration_seconds",
            "How long an item stays in the work queue before being requested.",
            ["name"],
            buckets=_QUEUE_BUCKETS,
            registry=r,
        )
        self._queue_work = Histogram(
            "workqueue_work_duration_seconds",
            "How long processing an item from the work queue takes.",
            ["name"],
            buckets=_QUEUE_BUCKETS,
            registry=r,
        )
        self._queue_retries = Counter(
            "workqueue_retries_total", "Retries handled by the work queue.", ["name"], registry=r
        )
        self._queues = _QueueCollector()
        r.register(self._queues)
        self._reconciles = Counter(
            "vsyncer_reconcile_total", "Reconciles by result.", ["kind", "result"], registry=r
        )
        self._reconcile_time = Histogram(
            "vsyncer_reconcile_duration_seconds",
            "How long one reconcile takes.",
            ["kind"],
            buckets=_RECONCILE_BUCKETS,
            registry=r,
        )
        self._informer_events = Counter(
            "vsyncer_informer_events_total",
            "Watch events received, by type (ADDED, MODIFIED, DELETED, BOOKMARK).",
            ["cluster", "kind", "type"],
            registry=r,
        )
        self._watch_restarts = Counter(
            "vsyncer_watch_restarts_total",
            "Watches restarted, by reason (expired, closed, error, ...).",
            ["cluster", "kind", "reason"],
            registry=r,
        )
        self._rest_requests = Counter(
            "vsyncer_rest_requests_total",
            "Requests to an API server, by verb and status code.",
            ["cluster", "verb", "code"],
            registry=r,
        )
        self._rest_time = Histogram(
            "vsyncer_rest_request_duration_seconds",
            "Latency of requests to an API server.",
            ["cluster", "verb"],
            buckets=_REST_BUCKETS,
            registry=r,
        )
        self._sync_lag = Histogram(
            "vsyncer_sync_lag_seconds",
            "Time from a change on one side to its sync to the other (toHost, fromHost).",
            ["kind", "direction"],
            buckets=_LAG_BUCKETS,
            registry=r,
        )
        self._skipped = Counter(
            "vsyncer_skipped_objects_total",
            "Objects not synced because no mapping applies or the mapper failed.",
            ["kind", "reason"],
            registry=r,
        )
        self._reconcile_children: dict[tuple[str, str], tuple[Any, Any]] = {}
        self._lag_children: dict[tuple[str, str], Any] = {}
        self._own_write_events = Counter(
            "vsyncer_own_write_events_total",
            "Watch events of versions this syncer wrote itself, not reconciled again.",
            ["kind"],
            registry=r,
        )
        self._refused = Counter(
            "vsyncer_host_writes_refused_total",
            "Host writes the guarded writer refused.",
            ["kind", "reason"],
            registry=r,
        )
        self._refused_objects = Counter(
            "vsyncer_refused_objects_total",
            "Virtual objects vsyncer refused to sync (tenant-boundary rules), by reason.",
            ["kind", "reason"],
            registry=r,
        )
        self._drift_detected = Counter(
            "vsyncer_drift_detected_total",
            "Keys the periodic drift check found out of sync, by reason "
            "(stale_cache, missing, orphan, content).",
            ["kind", "reason"],
            registry=r,
        )
        self._drift_repaired = Counter(
            "vsyncer_drift_repaired_total",
            "Drifted keys whose next reconcile succeeded and whose live re-check found no drift.",
            ["kind"],
            registry=r,
        )
        self._leader = Gauge(
            "vsyncer_leader", "1 while this replica holds the leader lease.", registry=r
        )
        self._synced = Gauge(
            "vsyncer_informer_synced",
            "1 once an informer's cache has synced.",
            ["cluster", "kind"],
            registry=r,
        )
        self._kind_ready = Gauge(
            "vsyncer_kind_ready",
            "1 while a kind is ready (its API is served and its informers have synced).",
            ["kind"],
            registry=r,
        )
        self._queue_adapters: dict[str, _QueueMetrics] = {}
        self._rest = _RestMetrics(requests=self._rest_requests, durations=self._rest_time)

    def queue_metrics(self, name: str) -> QueueMetrics:
        """The observer for the queue called ``name``; the same object for the same name."""
        adapter = self._queue_adapters.get(name)
        if adapter is None:
            adapter = self._queue_adapters[name] = _QueueMetrics(
                depth=self._queue_depth.labels(name),
                adds=self._queue_adds.labels(name),
                latency=self._queue_latency.labels(name),
                work=self._queue_work.labels(name),
                retries=self._queue_retries.labels(name),
            )
        return adapter

    def register_queue(self, queue: TimedQueue) -> None:
        """Read ``queue`` at every scrape; a later queue with the same name replaces it."""
        self._queues.queues[queue.name] = queue

    def unregister_queue(self, queue: TimedQueue) -> None:
        """Stop reading ``queue``; a no-op unless it is the one registered under its name."""
        if self._queues.queues.get(queue.name) is queue:
            del self._queues.queues[queue.name]

    def rest_metrics(self) -> RestMetrics:
        """The observer for both clusters' REST clients."""
        return self._rest

    def reflector_metrics(self, *, cluster: str, kind: str) -> ReflectorMetrics:
        """The observer for the reflector of ``kind`` on ``cluster``."""
        return _ReflectorMetrics(
            cluster=cluster,
            kind=kind,
            events=self._informer_events,
            restarts=self._watch_restarts,
        )

    def reconcile(self, *, kind: str, result: str, seconds: float) -> None:
        """One reconcile of ``kind`` ended with ``result`` after ``seconds``."""
        # Children are looked up once per label set: ``labels()`` is slow on the hot path.
        children = self._reconcile_children.get((kind, result))
        if children is None:
            children = self._reconcile_children[(kind, result)] = (
                self._reconciles.labels(kind, result),
                self._reconcile_time.labels(kind),
            )
        children[0].inc()
        children[1].observe(seconds)

    def sync_lag(self, *, kind: str, direction: str, seconds: float) -> None:
        """A change reached the other side ``seconds`` after it was made (toHost, fromHost)."""
        child = self._lag_children.get((kind, direction))
        if child is None:
            child = self._lag_children[(kind, direction)] = self._sync_lag.labels(kind, direction)
        child.observe(seconds)

    def skipped(self, *, kind: str, reason: str) -> None:
        """An object was not synced: unmappable, or its mapper failed."""
        self._skipped.labels(kind, reason).inc()

    def own_write_event(self, *, kind: str) -> None:
        """A watch event echoed a write of ours and was not reconciled (``skip_own_echoes``)."""
        self._own_write_events.labels(kind).inc()

    def refused(self, *, kind: str, reason: str) -> None:
        """The guarded host writer refused a write."""
        self._refused.labels(kind, reason).inc()

    def refused_object(self, *, kind: str, reason: str) -> None:
        """A virtual object was refused (``Refused``): not synced as it is."""
        self._refused_objects.labels(kind, reason).inc()

    def drift_detected(self, *, kind: str, reason: str) -> None:
        """The drift check found a key of ``kind`` out of sync for ``reason``."""
        self._drift_detected.labels(kind, reason).inc()

    def drift_repaired(self, *, kind: str) -> None:
        """A drifted key was reconciled and a live re-check found it in sync."""
        self._drift_repaired.labels(kind).inc()

    def set_leader(self, leader: bool) -> None:
        """Whether this replica leads now."""
        self._leader.set(1 if leader else 0)

    def set_synced(self, *, cluster: str, kind: str, synced: bool) -> None:
        """Whether the informer of ``kind`` on ``cluster`` has synced."""
        self._synced.labels(cluster, kind).set(1 if synced else 0)

    def set_kind_ready(self, *, kind: str, ready: bool) -> None:
        """Whether ``kind`` is ready (:mod:`syncer.availability`)."""
        self._kind_ready.labels(kind).set(1 if ready else 0)

    def render(self) -> tuple[bytes, str]:
        """The registry in the Prometheus text format, with its content type."""
        return generate_latest(self.registry), CONTENT_TYPE


class _QueueMetrics:
    """A :class:`~syncer.workqueue.QueueMetrics` with its label children bound once."""

    __slots__ = ("_adds", "_depth", "_latency", "_retries", "_work")

    def __init__(
        self, *, depth: Gauge, adds: Counter, latency: Histogram, work: Histogram, retries: Counter
    ) -> None:
        self._depth = depth
        self._adds = adds
        self._latency = latency
        self._work = work
        self._retries = retries

    def add(self) -> None:
        self._adds.inc()

    def depth(self, n: int) -> None:
        self._depth.set(n)

    def queue_latency(self, seconds: float) -> None:
        self._latency.observe(seconds)

    def work_duration(self, seconds: float) -> None:
        self._work.observe(seconds)

    def retry(self) -> None:
        self._retries.inc()


class _RestMetrics:
    """A :class:`~syncer.kube.RestMetrics` caching one pair of children per label set."""

    __slots__ = ("_children", "_durations", "_requests")

    def __init__(self, *, requests: Counter, durations: Histogram) -> None:
        self._requests = requests
        self._durations = durations
        self._children: dict[tuple[str, str, str], tuple[Counter, Histogram]] = {}

    def request(self, *, cluster: str, verb: str, code: str, seconds: float) -> None:
        labels = (cluster, verb, code)
        children = self._children.get(labels)
        if children is None:
            children = self._children[labels] = (
                self._requests.labels(cluster, verb, code),
                self._durations.labels(cluster, verb),
            )
        children[0].inc()
        children[1].observe(seconds)


class _ReflectorMetrics:
    """A :class:`~syncer.reflector.ReflectorMetrics` for one (cluster, kind)."""

    __slots__ = ("_cluster", "_event_children", "_events", "_kind", "_restarts")

    def __init__(self, *, cluster: str, kind: str, events: Counter, restarts: Counter) -> None:
        self._cluster = cluster
        self._kind = kind
        self._events = events
        self._restarts = restarts
        self._event_children: dict[str, Counter] = {}

    def event(self, *, type_: str) -> None:
        child = self._event_children.get(type_)
        if child is None:
            child = self._event_children[type_] = self._events.labels(
                self._cluster, self._kind, type_
            )
        child.inc()

    def restart(self, *, reason: str) -> None:
        self._restarts.labels(self._cluster, self._kind, reason).inc()


class _QueueCollector:
    """The two work-queue gauges that depend on the time of the scrape."""

    def __init__(self) -> None:
        self.queues: dict[str, TimedQueue] = {}

    def describe(self) -> Iterable[Metric]:
        return self._families()

    def collect(self) -> Iterable[Metric]:
        unfinished, longest = self._families()
        for name, queue in self.queues.items():
            unfinished.add_metric([name], queue.unfinished_work_seconds())
            longest.add_metric([name], queue.longest_running_processor_seconds())
        return iter((unfinished, longest))

    @staticmethod
    def _families() -> Iterator[GaugeMetricFamily]:
        yield GaugeMetricFamily(
            "workqueue_unfinished_work_seconds",
            "Seconds of work in progress not yet observed by work_duration; "
            "large values suggest stuck workers.",
            labels=["name"],
        )
        yield GaugeMetricFamily(
            "workqueue_longest_running_processor_seconds",
            "How long the longest-running processor of the work queue has been running.",
            labels=["name"],
        )
