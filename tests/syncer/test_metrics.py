"""Tests for syncer.metrics."""

from __future__ import annotations

import platform

from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from syncer import __version__
from syncer.clock import FakeClock
from syncer.keys import ObjectKey
from syncer.metrics import CONTENT_TYPE, Metrics
from syncer.workqueue import WorkQueue


class FakeQueue:
    """Answers the scrape-time questions with fixed numbers and counts the calls."""

    def __init__(self, name: str, *, unfinished: float, longest: float) -> None:
        self.name = name
        self._unfinished = unfinished
        self._longest = longest
        self.calls = 0

    def unfinished_work_seconds(self) -> float:
        self.calls += 1
        return self._unfinished

    def longest_running_processor_seconds(self) -> float:
        self.calls += 1
        return self._longest


def samples(metrics: Metrics) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of the rendered text, by name and label set."""
    body, _ = metrics.render()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(body.decode())
        for sample in family.samples
    }


def value(metrics: Metrics, metric: str, /, **labels: str) -> float | None:
    return samples(metrics).get((metric, frozenset(labels.items())))


def test_render_is_prometheus_text() -> None:
    """render() returns the text exposition and its content type."""
    metrics = Metrics()
    metrics.set_leader(True)
    body, content_type = metrics.render()
    assert content_type == CONTENT_TYPE
    assert b"# TYPE vsyncer_leader gauge" in body


def test_instances_do_not_share_values() -> None:
    """Two Metrics have separate registries: one's observations never show in the other."""
    first, second = Metrics(), Metrics()
    first.reconcile(kind="pods", result="success", seconds=0.1)
    first.queue_metrics("pods").add()
    assert value(first, "vsyncer_reconcile_total", kind="pods", result="success") == 1
    assert value(second, "vsyncer_reconcile_total", kind="pods", result="success") is None
    assert value(second, "workqueue_adds_total", name="pods") is None


def test_injected_registry_is_used() -> None:
    """A registry passed in receives the families."""
    registry = CollectorRegistry()
    Metrics(registry=registry).set_leader(True)
    assert registry.get_sample_value("vsyncer_leader") == 1


def test_queue_metrics_families() -> None:
    """The queue adapter feeds the workqueue_* families under the queue's name."""
    metrics = Metrics()
    observer = metrics.queue_metrics("pods")
    observer.add()
    observer.add()
    observer.depth(5)
    observer.queue_latency(0.25)
    observer.work_duration(1.5)
    observer.retry()
    assert value(metrics, "workqueue_adds_total", name="pods") == 2
    assert value(metrics, "workqueue_depth", name="pods") == 5
    assert value(metrics, "workqueue_queue_duration_seconds_count", name="pods") == 1
    assert value(metrics, "workqueue_queue_duration_seconds_sum", name="pods") == 0.25
    assert value(metrics, "workqueue_work_duration_seconds_sum", name="pods") == 1.5
    assert value(metrics, "workqueue_retries_total", name="pods") == 1


def test_queue_metrics_is_cached_per_name() -> None:
    """Asking twice for one name returns the same adapter."""
    metrics = Metrics()
    assert metrics.queue_metrics("pods") is metrics.queue_metrics("pods")
    assert metrics.queue_metrics("pods") is not metrics.queue_metrics("services")


def test_scrape_time_gauges_ask_the_queues() -> None:
    """The unfinished-work and longest-running gauges are read from the queue at each scrape."""
    metrics = Metrics()
    queue = FakeQueue("pods", unfinished=3.5, longest=2.0)
    metrics.register_queue(queue)
    assert queue.calls == 0
    assert value(metrics, "workqueue_unfinished_work_seconds", name="pods") == 3.5
    assert value(metrics, "workqueue_longest_running_processor_seconds", name="pods") == 2.0
    assert queue.calls == 4  # two scrapes, two questions each


def test_scrape_time_gauges_follow_a_real_queue() -> None:
    """A WorkQueue reports the time its held keys have been worked on."""
    clock = FakeClock()
    metrics = Metrics()
    queue: WorkQueue[ObjectKey] = WorkQueue(
        name="pods", clock=clock, metrics=metrics.queue_metrics("pods")
    )
    metrics.register_queue(queue)
    queue.add(ObjectKey("pods", "a", "b"))
    assert value(metrics, "workqueue_depth", name="pods") == 1
    assert value(metrics, "workqueue_longest_running_processor_seconds", name="pods") == 0


async def test_scrape_time_gauges_while_a_key_is_held() -> None:
    """A held key adds to unfinished work as the clock advances."""
    clock = FakeClock()
    metrics = Metrics()
    queue: WorkQueue[ObjectKey] = WorkQueue(name="pods", clock=clock)
    metrics.register_queue(queue)
    queue.add(ObjectKey("pods", "a", "b"))
    await queue.get()
    clock.advance(4.0)
    assert value(metrics, "workqueue_unfinished_work_seconds", name="pods") == 4.0
    assert value(metrics, "workqueue_longest_running_processor_seconds", name="pods") == 4.0


def test_unregister_queue() -> None:
    """An unregistered queue is no longer read; unregistering a replaced queue is a no-op."""
    metrics = Metrics()
    old = FakeQueue("pods", unfinished=1, longest=1)
    new = FakeQueue("pods", unfinished=2, longest=2)
    metrics.register_queue(old)
    metrics.register_queue(new)
    metrics.unregister_queue(old)
    assert value(metrics, "workqueue_unfinished_work_seconds", name="pods") == 2
    metrics.unregister_queue(new)
    assert value(metrics, "workqueue_unfinished_work_seconds", name="pods") is None


def test_rest_metrics() -> None:
    """Each request counts by cluster, verb and code, and times by cluster and verb."""
    metrics = Metrics()
    rest = metrics.rest_metrics()
    rest.request(cluster="host", verb="GET", code="200", seconds=0.01)
    rest.request(cluster="host", verb="GET", code="200", seconds=0.03)
    rest.request(cluster="virtual", verb="PATCH", code="409", seconds=0.02)
    labels = {"cluster": "host", "verb": "GET"}
    assert value(metrics, "vsyncer_rest_requests_total", code="200", **labels) == 2
    assert value(metrics, "vsyncer_rest_request_duration_seconds_count", **labels) == 2
    assert (
        value(metrics, "vsyncer_rest_requests_total", cluster="virtual", verb="PATCH", code="409")
        == 1
    )


def test_reflector_metrics() -> None:
    """Events and restarts are counted under the reflector's cluster and kind."""
    metrics = Metrics()
    reflector = metrics.reflector_metrics(cluster="host", kind="pods")
    reflector.event(type_="ADDED")
    reflector.event(type_="ADDED")
    reflector.event(type_="DELETED")
    reflector.restart(reason="expired")
    on = {"cluster": "host", "kind": "pods"}
    assert value(metrics, "vsyncer_informer_events_total", type="ADDED", **on) == 2
    assert value(metrics, "vsyncer_informer_events_total", type="DELETED", **on) == 1
    assert value(metrics, "vsyncer_watch_restarts_total", reason="expired", **on) == 1


def test_reconcile_metrics() -> None:
    """A reconcile counts by kind and result and is timed by kind."""
    metrics = Metrics()
    metrics.reconcile(kind="pods", result="success", seconds=0.2)
    metrics.reconcile(kind="pods", result="error", seconds=0.4)
    assert value(metrics, "vsyncer_reconcile_total", kind="pods", result="error") == 1
    assert value(metrics, "vsyncer_reconcile_duration_seconds_count", kind="pods") == 2
    assert value(metrics, "vsyncer_reconcile_duration_seconds_sum", kind="pods") == 0.2 + 0.4


def test_sync_lag_skipped_and_refused() -> None:
    """Lag is a histogram by kind and direction; skips and refusals count by reason."""
    metrics = Metrics()
    metrics.sync_lag(kind="pods", direction="toHost", seconds=1.5)
    metrics.skipped(kind="pods", reason="unmappable")
    metrics.refused(kind="secrets", reason="not-owned")
    assert value(metrics, "vsyncer_sync_lag_seconds_sum", kind="pods", direction="toHost") == 1.5
    assert value(metrics, "vsyncer_skipped_objects_total", kind="pods", reason="unmappable") == 1
    assert (
        value(metrics, "vsyncer_host_writes_refused_total", kind="secrets", reason="not-owned") == 1
    )


def test_leader_and_synced_gauges() -> None:
    """The leader and informer-synced gauges are 0 or 1."""
    metrics = Metrics()
    metrics.set_leader(True)
    metrics.set_synced(cluster="virtual", kind="pods", synced=True)
    metrics.set_synced(cluster="host", kind="pods", synced=False)
    assert value(metrics, "vsyncer_leader") == 1
    assert value(metrics, "vsyncer_informer_synced", cluster="virtual", kind="pods") == 1
    assert value(metrics, "vsyncer_informer_synced", cluster="host", kind="pods") == 0
    metrics.set_leader(False)
    assert value(metrics, "vsyncer_leader") == 0


def test_every_family_is_declared() -> None:
    """Each family is in the output with its type, even before any observation."""
    metrics = Metrics()
    metrics.register_queue(FakeQueue("q", unfinished=0, longest=0))
    body = metrics.render()[0].decode()
    expected = {
        "workqueue_depth": "gauge",
        "workqueue_adds_total": "counter",
        "workqueue_queue_duration_seconds": "histogram",
        "workqueue_work_duration_seconds": "histogram",
        "workqueue_retries_total": "counter",
        "workqueue_unfinished_work_seconds": "gauge",
        "workqueue_longest_running_processor_seconds": "gauge",
        "vsyncer_reconcile_total": "counter",
        "vsyncer_reconcile_duration_seconds": "histogram",
        "vsyncer_informer_events_total": "counter",
        "vsyncer_watch_restarts_total": "counter",
        "vsyncer_rest_requests_total": "counter",
        "vsyncer_rest_request_duration_seconds": "histogram",
        "vsyncer_sync_lag_seconds": "histogram",
        "vsyncer_skipped_objects_total": "counter",
        "vsyncer_host_writes_refused_total": "counter",
        "vsyncer_leader": "gauge",
        "vsyncer_informer_synced": "gauge",
    }
    for name, kind in expected.items():
        # prometheus_client before 0.22 declares a counter without its _total suffix.
        declared = {f"# TYPE {name} {kind}", f"# TYPE {name.removesuffix('_total')} {kind}"}
        assert any(line in body for line in declared), name


def test_process_and_runtime_collectors_are_on_the_own_registry() -> None:
    """process_* (CPU, RSS, fds) and python_* come with every Metrics, on its own registry."""
    found = {name for name, _ in samples(Metrics())}
    assert {
        "process_cpu_seconds_total",
        "process_resident_memory_bytes",
        "process_open_fds",
        "process_start_time_seconds",
        "python_info",
        "python_gc_collections_total",
    } <= found


def test_build_info_names_the_package_version() -> None:
    """vsyncer_build_info is 1, labelled with syncer.__version__ and the running Python."""
    labels = frozenset(
        {
            ("version", __version__),
            ("python", platform.python_version()),
            ("implementation", platform.python_implementation()),
        }
    )
    assert samples(Metrics())[("vsyncer_build_info", labels)] == 1


def test_dry_run_writes_are_counted_by_cluster_kind_and_verb() -> None:
    """Each left-out write adds one to its (cluster, kind, verb) series only."""
    m = Metrics()
    m.dry_run_write(cluster="host", kind="Pod", verb="create")
    m.dry_run_write(cluster="host", kind="Pod", verb="create")
    m.dry_run_write(cluster="virtual", kind="Pod", verb="update_status")
    got = samples(m)
    host = frozenset({("cluster", "host"), ("kind", "Pod"), ("verb", "create")})
    virtual = frozenset({("cluster", "virtual"), ("kind", "Pod"), ("verb", "update_status")})
    assert got[("vsyncer_dry_run_writes_total", host)] == 2
    assert got[("vsyncer_dry_run_writes_total", virtual)] == 1
