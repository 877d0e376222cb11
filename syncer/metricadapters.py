"""The observers the hot paths call, and the work-queue gauges computed at scrape time.

:class:`~syncer.metrics.Metrics` owns the metric families; the objects here are
what it hands out.  Each observer binds its label values once and keeps the
children it has looked up, so one observation is one dictionary lookup at most
(``labels()`` is slow).  :class:`QueueGauges` reads every registered
:class:`TimedQueue` when the registry is collected, so it must be collected on
the event loop's thread (the queues are not thread-safe).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Protocol

from prometheus_client import Counter, Gauge, Histogram
from prometheus_client.metrics_core import GaugeMetricFamily, Metric

__all__ = ["QueueGauges", "QueueObserver", "ReflectorObserver", "RestObserver", "TimedQueue"]


class TimedQueue(Protocol):
    """What the scrape-time gauges read from a queue (:class:`~syncer.workqueue.WorkQueue`)."""

    @property
    def name(self) -> str: ...

    def unfinished_work_seconds(self) -> float: ...

    def longest_running_processor_seconds(self) -> float: ...


class QueueObserver:
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


class RestObserver:
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


class ReflectorObserver:
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


class QueueGauges:
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
