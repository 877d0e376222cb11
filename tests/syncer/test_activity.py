"""Tests for syncer.activity: what counts as tenant activity, and when it last happened."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, Counter

from syncer.activity import (
    KEEP_AWAKE_ANNOTATION,
    ActivityTracker,
    CounterActivity,
    is_activity,
)
from syncer.clock import FakeClock

Json = dict[str, Any]


def obj(**meta: Any) -> Json:
    body: Json = {
        "metadata": {"namespace": "shop", "name": "web", "resourceVersion": "1", **meta},
        "spec": {"replicas": 2, "template": {"spec": {"containers": [{"name": "c"}]}}},
    }
    return body


def changed(body: Json, **updates: Any) -> Json:
    return {**body, **updates}


CONTROLLED = [{"kind": "ReplicaSet", "name": "web-1", "controller": True}]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=8,
)


@pytest.mark.parametrize(
    ("plural", "old", "new", "counts"),
    [
        ("deployments", None, obj(), True),
        ("deployments", obj(), None, True),
        ("deployments", obj(), changed(obj(), spec={"replicas": 5}), True),
        (
            "deployments",
            obj(),
            {**obj(), "metadata": {**obj()["metadata"], "labels": {"a": "b"}}},
            True,
        ),
        ("deployments", obj(), changed(obj(), status={"readyReplicas": 2}), False),
        (
            "deployments",
            obj(),
            {**obj(), "metadata": {**obj()["metadata"], "resourceVersion": "9", "generation": 3}},
            False,
        ),
        (
            "deployments",
            obj(),
            {**obj(), "metadata": {**obj()["metadata"], "annotations": {"vsyncer.dev/x": "1"}}},
            False,
        ),
        ("pods", None, obj(ownerReferences=CONTROLLED), False),
        ("pods", obj(ownerReferences=CONTROLLED), None, False),
        ("pods", obj(), changed(obj(), spec={**obj()["spec"], "nodeName": "n1"}), False),
        ("events", None, obj(), False),
        ("nodes", None, obj(), False),
        (
            "endpoints",
            None,
            obj(annotations={"endpoints.kubernetes.io/last-change-trigger-time": "t"}),
            False,
        ),
        ("endpoints", None, obj(), True),
        ("pods", None, None, False),
        ("configmaps", obj(), {**obj(), "kind": "ConfigMap", "apiVersion": "v1"}, False),
    ],
)
def test_what_counts(plural: str, old: Json | None, new: Json | None, counts: bool) -> None:
    assert is_activity(plural=plural, old=old, new=new) is counts


@given(
    old=json_values, new=json_values, key=st.sampled_from(["vcluster.loft.sh/a", "vsyncer.dev/b"])
)
def test_status_and_reserved_metadata_never_count(old: Any, new: Any, key: str) -> None:
    """Whatever status and reserved labels/annotations become, it is no tenant activity."""
    before = {**obj(labels={key: "1"}), "status": old}
    after = {**obj(labels={key: "2"}, annotations={key: "x"}), "status": new}
    assert not is_activity(plural="configmaps", old=before, new=after)


def test_idle_time_follows_the_clock_and_resets_on_activity() -> None:
    clock = FakeClock(start=100.0)
    registry = CollectorRegistry()
    tracker = ActivityTracker(clock=clock, wall=lambda: 1_700_000_000.0, registry=registry)
    assert tracker.idle_seconds() == 0
    assert registry.get_sample_value("vsyncer_last_activity_timestamp_seconds") == 1_700_000_000
    clock.advance(30)
    assert tracker.idle_seconds() == 30
    tracker.touch(source="kubelet")
    assert tracker.idle_seconds() == 0
    assert tracker.sources == {"kubelet": 1}


def test_a_keep_awake_namespace_keeps_idle_time_at_zero() -> None:
    clock = FakeClock()
    tracker = ActivityTracker(clock=clock, registry=CollectorRegistry())
    tracker.keep_awake("shop", on=True)
    clock.advance(3600)
    assert tracker.idle_seconds() == 0
    tracker.keep_awake("shop", on=False)
    assert tracker.idle_seconds() == 3600


def test_the_handler_ignores_the_initial_list_and_tracks_keep_awake() -> None:
    clock = FakeClock()
    registry = CollectorRegistry()
    tracker = ActivityTracker(clock=clock, wall=lambda: clock.now(), registry=registry)
    synced = False
    pods = tracker.handler(plural="pods", synced=lambda: synced)
    namespaces = tracker.handler(plural="namespaces", synced=lambda: synced)
    clock.advance(10)
    pods.on_add(obj())  # the initial list
    awake = {"metadata": {"name": "shop", "annotations": {KEEP_AWAKE_ANNOTATION: "true"}}}
    namespaces.on_add(awake)  # listed: no activity, but it keeps the cluster awake
    assert tracker.sources == {}
    assert tracker.kept_awake_by == {"shop"}
    synced = True
    clock.advance(5)
    pods.on_update(obj(), changed(obj(), spec={"replicas": 1}))
    assert tracker.sources == {"pods": 1}
    assert registry.get_sample_value("vsyncer_last_activity_timestamp_seconds") == 15
    namespaces.on_update(awake, {"metadata": {"name": "shop"}})
    assert tracker.kept_awake_by == frozenset()
    namespaces.on_add(awake)
    namespaces.on_delete(awake)
    assert tracker.kept_awake_by == frozenset()


def test_kubelet_requests_counted_on_the_registry_are_activity() -> None:
    """The kubelet API's request counter growing between polls is one activity; no family,
    or no growth, is none."""
    clock = FakeClock()
    registry = CollectorRegistry()
    tracker = ActivityTracker(clock=clock, registry=registry)
    poll = CounterActivity(
        tracker=tracker, registry=registry, family="vsyncer_kubelet_requests", source="kubelet"
    )
    poll.poll()
    assert touched(tracker) is None
    requests = Counter(
        "vsyncer_kubelet_requests_total", "requests", ["verb", "code"], registry=registry
    )
    poll.poll()
    assert touched(tracker) is None
    clock.advance(5)
    requests.labels(verb="containerLogs", code="200").inc()
    requests.labels(verb="exec", code="101").inc()
    poll.poll()
    assert touched(tracker) == 5
    assert tracker.sources == {"kubelet": 1}
    clock.advance(5)
    poll.poll()
    assert touched(tracker) == 5


def touched(tracker: ActivityTracker) -> float | None:
    return tracker.last_touch
