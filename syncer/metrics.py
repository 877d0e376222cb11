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

The registry also carries prometheus_client's standard process and runtime
collectors, as every Kubernetes component exports them: ``process_*`` (CPU
seconds, resident and virtual memory, open file descriptors, start time; read
from ``/proc``, so only on Linux), ``python_info`` and ``python_gc_*``, and
``vsyncer_build_info{version,python,implementation}`` = 1 (the ``*_build_info``
convention of Kubernetes' own ``kubernetes_build_info``).

The adapters handed to the queue, the REST client and the reflectors
(:meth:`Metrics.queue_metrics`, :meth:`Metrics.rest_metrics`,
:meth:`Metrics.reflector_metrics`) sit on hot paths: they bind label values
once and keep the children, so an observation is one dictionary lookup at
most.  :meth:`Metrics.render` must run on the event loop's thread, because
the scrape-time gauges read the queues, which are not thread-safe.
"""

from __future__ import annotations

import platform
from typing import TYPE_CHECKING, Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)

from syncer import __version__
from syncer.metricadapters import (
    QueueGauges,
    QueueObserver,
    ReflectorObserver,
    RestObserver,
    TimedQueue,
)

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


class Metrics:
    """The syncer's metric families, registered on one registry of their own."""

    def __init__(self, *, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        ProcessCollector(registry=r)
        PlatformCollector(registry=r)
        GCCollector(registry=r)
        Gauge(
            "vsyncer_build_info",
            "1, labelled with the vsyncer version and the Python that runs it.",
            ["version", "python", "implementation"],
            registry=r,
        ).labels(__version__, platform.python_version(), platform.python_implementation()).set(1)
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
        self._queues = QueueGauges()
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
        self._dry_run_writes = Counter(
            "vsyncer_dry_run_writes_total",
            "Writes a dry run (vsyncer run --dry-run) would have made and did not.",
            ["cluster", "kind", "verb"],
            registry=r,
        )
        self._queue_adapters: dict[str, QueueObserver] = {}
        self._rest = RestObserver(requests=self._rest_requests, durations=self._rest_time)

    def queue_metrics(self, name: str) -> QueueMetrics:
        """The observer for the queue called ``name``; the same object for the same name."""
        adapter = self._queue_adapters.get(name)
        if adapter is None:
            adapter = self._queue_adapters[name] = QueueObserver(
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
        return ReflectorObserver(
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

    def dry_run_write(self, *, cluster: str, kind: str, verb: str) -> None:
        """A dry run left out a ``verb`` (create, update, ...) of ``kind`` on ``cluster``."""
        self._dry_run_writes.labels(cluster, kind, verb).inc()

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
