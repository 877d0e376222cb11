"""Tests for syncer.sleep_plan: sleep and wake patches restore exactly, and are idempotent."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from syncer.dryrun import merge_patch
from syncer.sleep_plan import (
    EXCLUDE_LABEL,
    PIN_LABEL,
    REPLICAS_ANNOTATION,
    SUSPEND_ANNOTATION,
    excluded,
    is_asleep,
    is_sleep_write,
    is_target,
    sleep_patch,
    wake_patch,
)

Json = dict[str, Any]
scaled_kinds = st.sampled_from(["deployments", "statefulsets", "replicasets"])
replicas_st = st.none() | st.integers(min_value=0, max_value=1000)
others = st.dictionaries(st.sampled_from(["team", "app"]), st.text(max_size=3), max_size=2)


def workload(replicas: int | None, *, annotations: Json | None = None, rv: str = "7") -> Json:
    spec: Json = {"selector": {"matchLabels": {"app": "w"}}, "template": {"spec": {}}}
    if replicas is not None:
        spec["replicas"] = replicas
    return {
        "metadata": {
            "name": "w",
            "namespace": "shop",
            "resourceVersion": rv,
            **({"annotations": annotations} if annotations else {}),
        },
        "spec": spec,
    }


def cronjob(suspend: bool | None, *, annotations: Json | None = None) -> Json:
    body = workload(None, annotations=annotations)
    body["spec"] = {"schedule": "* * * * *", "jobTemplate": {}}
    if suspend is not None:
        body["spec"]["suspend"] = suspend
    return body


def apply(obj: Json, patch: Json | None) -> Json:
    assert patch is not None
    assert patch["metadata"]["resourceVersion"] == obj["metadata"]["resourceVersion"]
    body = dict(patch)
    body["metadata"] = {k: v for k, v in patch["metadata"].items() if k != "resourceVersion"}
    result: Json = merge_patch(obj, body)
    if not result["metadata"].get("annotations"):
        result["metadata"].pop("annotations", None)
    return result


@given(plural=scaled_kinds, replicas=replicas_st, notes=others)
def test_sleep_then_wake_restores_the_replicas_exactly(
    plural: str, replicas: int | None, notes: Json
) -> None:
    before = workload(replicas, annotations=notes or None)
    asleep = apply(before, sleep_patch(plural, before))
    assert asleep["spec"]["replicas"] == 0
    assert asleep["metadata"]["annotations"][REPLICAS_ANNOTATION] == str(
        1 if replicas is None else replicas
    )
    assert is_asleep(plural, asleep)
    assert sleep_patch(plural, asleep) is None  # idempotent
    assert is_sleep_write(plural, before, asleep)
    awake = apply(asleep, wake_patch(plural, asleep))
    expected = dict(
        before, spec={**before["spec"], "replicas": 1 if replicas is None else replicas}
    )
    assert awake == expected
    assert wake_patch(plural, awake) is None  # idempotent
    assert is_sleep_write(plural, asleep, awake)


@given(plural=scaled_kinds, replicas=replicas_st, tenant=st.integers(min_value=1, max_value=50))
def test_a_count_the_tenant_set_while_asleep_is_kept(
    plural: str, replicas: int | None, tenant: int
) -> None:
    asleep = apply(workload(replicas), sleep_patch(plural, workload(replicas)))
    edited = {**asleep, "spec": {**asleep["spec"], "replicas": tenant}}
    assert not is_sleep_write(plural, asleep, edited)
    awake = apply(edited, wake_patch(plural, edited))
    assert awake["spec"]["replicas"] == tenant
    assert not is_asleep(plural, awake)


@given(suspend=st.none() | st.booleans())
def test_cronjobs_are_suspended_and_restored(suspend: bool | None) -> None:
    before = cronjob(suspend)
    asleep = apply(before, sleep_patch("cronjobs", before))
    assert asleep["spec"]["suspend"] is True
    assert asleep["metadata"]["annotations"][SUSPEND_ANNOTATION] == str(bool(suspend)).lower()
    assert sleep_patch("cronjobs", asleep) is None
    awake = apply(asleep, wake_patch("cronjobs", asleep))
    assert awake["spec"]["suspend"] is bool(suspend)
    assert wake_patch("cronjobs", awake) is None


def test_a_cronjob_the_tenant_resumed_while_asleep_stays_resumed() -> None:
    asleep = apply(cronjob(True), sleep_patch("cronjobs", cronjob(True)))
    resumed = {**asleep, "spec": {**asleep["spec"], "suspend": False}}
    assert apply(resumed, wake_patch("cronjobs", resumed))["spec"]["suspend"] is False


def test_a_record_that_is_not_ours_is_dropped_and_the_spec_kept() -> None:
    odd = workload(0, annotations={REPLICAS_ANNOTATION: "lots"})
    assert apply(odd, wake_patch("deployments", odd))["spec"]["replicas"] == 0


def test_targets() -> None:
    owned = workload(3)
    owned["metadata"]["ownerReferences"] = [{"kind": "Deployment", "name": "w", "controller": True}]
    assert not is_target("replicasets", owned)
    assert sleep_patch("replicasets", owned) is None
    assert is_target("replicasets", workload(3))
    assert is_target("deployments", owned)  # only ReplicaSets defer to their Deployment
    assert not is_target("pods", workload(1))
    assert sleep_patch("replicationcontrollers", workload(1)) is None
    assert wake_patch("pods", workload(1)) is None


def test_excluded_namespaces() -> None:
    assert excluded({"metadata": {"labels": {EXCLUDE_LABEL: "true"}}})
    assert not excluded({"metadata": {"labels": {EXCLUDE_LABEL: "yes"}}})
    assert not excluded({"metadata": {}})
    assert not excluded(None)


def test_a_tenant_edit_is_no_sleep_write() -> None:
    before = workload(3)
    assert not is_sleep_write("deployments", before, {**before, "spec": {"replicas": 0}})
    asleep = apply(before, sleep_patch("deployments", before))
    changed = {**asleep, "spec": {**asleep["spec"], "template": {"spec": {"x": 1}}}}
    assert not is_sleep_write("deployments", asleep, changed)


def test_running_jobs_are_suspended_and_finished_ones_left_alone() -> None:
    running = cronjob(None)
    asleep = apply(running, sleep_patch("jobs", running))
    assert asleep["spec"]["suspend"] is True
    assert apply(asleep, wake_patch("jobs", asleep))["spec"]["suspend"] is False
    done = {**running, "status": {"conditions": [{"type": "Complete", "status": "True"}]}}
    assert not is_target("jobs", done)
    assert sleep_patch("jobs", done) is None
    failed = {**running, "status": {"conditions": [{"type": "Failed", "status": "True"}]}}
    assert sleep_patch("jobs", failed) is None
    finished_asleep = {**asleep, "status": done["status"]}
    assert is_target("jobs", finished_asleep)
    assert wake_patch("jobs", finished_asleep) is not None


selectors = st.dictionaries(
    st.sampled_from(["disk", "zone", "kubernetes.io/os"]), st.sampled_from(["a", "b"]), max_size=3
)


@given(selector=selectors)
def test_daemonsets_are_pinned_nowhere_and_unpinned_exactly(selector: Json) -> None:
    before = workload(None)
    before["spec"]["template"]["spec"] = {"nodeSelector": selector} if selector else {}
    asleep = apply(before, sleep_patch("daemonsets", before))
    pinned = asleep["spec"]["template"]["spec"]["nodeSelector"]
    assert pinned == {**selector, PIN_LABEL: "true"}
    assert is_asleep("daemonsets", asleep)
    assert sleep_patch("daemonsets", asleep) is None
    assert is_sleep_write("daemonsets", before, asleep)
    awake = apply(asleep, wake_patch("daemonsets", asleep))
    assert (awake["spec"]["template"]["spec"].get("nodeSelector") or {}) == selector
    assert not is_asleep("daemonsets", awake)
    assert wake_patch("daemonsets", awake) is None
    assert is_sleep_write("daemonsets", asleep, awake)
    edited = {**asleep, "spec": {**asleep["spec"], "template": {"spec": {"hostNetwork": True}}}}
    assert not is_sleep_write("daemonsets", asleep, edited)
