"""Tests for syncer.workqueue metrics: what the queue reports, and the no-op metrics."""

from __future__ import annotations

import pytest

from syncer.clock import FakeClock
from syncer.keys import ObjectKey
from syncer.ratelimit import ItemExponential
from syncer.workqueue import NoopQueueMetrics, QueueMetrics, WorkQueue
from tests.syncer.workqueue_support import key

# A safety net only: a broken queue should fail the test, not hang the run.
pytestmark = pytest.mark.timeout(30)


class RecordingMetrics:
    def __init__(self) -> None:
        self.adds = 0
        self.retries = 0
        self.depths: list[int] = []
        self.latencies: list[float] = []
        self.durations: list[float] = []

    def add(self) -> None:
        self.adds += 1

    def depth(self, n: int) -> None:
        self.depths.append(n)

    def queue_latency(self, seconds: float) -> None:
        self.latencies.append(seconds)

    def work_duration(self, seconds: float) -> None:
        self.durations.append(seconds)

    def retry(self) -> None:
        self.retries += 1


async def test_metrics_are_reported() -> None:
    """Adds, depth, latency, work duration, retries and in-flight gauges are reported."""
    clock = FakeClock()
    metrics = RecordingMetrics()
    recorded: QueueMetrics = metrics
    queue: WorkQueue[ObjectKey] = WorkQueue(
        name="pods", clock=clock, metrics=recorded, rate_limiter=ItemExponential(base=1.0)
    )
    assert queue.name == "pods"
    queue.add(key("a", "1"))
    queue.add(key("a", "1"))
    queue.add(key("a", "2"))
    clock.advance(2)
    first = await queue.get()
    clock.advance(1)
    await queue.get()
    assert queue.unfinished_work_seconds() == 1.0
    assert queue.longest_running_processor_seconds() == 1.0
    clock.advance(3)
    queue.done(first)
    queue.add_rate_limited(first)
    assert metrics.adds == 2
    assert metrics.retries == 1
    assert metrics.depths == [1, 2, 1, 0]
    assert metrics.latencies == [2.0, 3.0]
    assert metrics.durations == [4.0]
    assert queue.unfinished_work_seconds() == 3.0
    await queue.shut_down(drain=False)


def test_noop_metrics_accept_everything() -> None:
    """NoopQueueMetrics implements the protocol and does nothing."""
    metrics: QueueMetrics = NoopQueueMetrics()
    metrics.add()
    metrics.depth(3)
    metrics.queue_latency(1.0)
    metrics.work_duration(1.0)
    metrics.retry()
