"""Tests for syncer.sleep_pods: which pods are marked, the patches, the slept status."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from mappers.podstatus import has_started
from syncer.dryrun import merge_patch
from syncer.sleep_pods import (
    POD_MARK,
    SLEEP_REASON,
    SLEEPING_CONDITION,
    is_marked,
    is_slept,
    pod_sleep_patch,
    pod_wake_patch,
    slept_status,
)

Json = dict[str, Any]
NOW = "2026-01-01T00:00:00Z"


def pod(*, owner: str | None = None, phase: str = "Running", **meta: Any) -> Json:
    obj: Json = {
        "metadata": {"name": "p", "namespace": "shop", "resourceVersion": "5", **meta},
        "spec": {"containers": [{"name": "c"}]},
        "status": {"phase": phase, "startTime": NOW, "podIP": "10.0.0.1", "qosClass": "BestEffort"},
    }
    if owner:
        ref = {"kind": owner, "name": "o", "uid": "u", "apiVersion": "v1", "controller": True}
        obj["metadata"]["ownerReferences"] = [ref]
    return obj


def test_a_bare_pod_is_marked_then_unmarked_with_its_version() -> None:
    bare = pod()
    patch = pod_sleep_patch(bare)
    assert patch == {"metadata": {"resourceVersion": "5", "annotations": {POD_MARK: "true"}}}
    asleep = merge_patch(bare, patch)
    assert is_marked(asleep)
    assert pod_sleep_patch(asleep) is None
    awake = merge_patch(asleep, pod_wake_patch(asleep))
    assert not is_marked(awake)
    assert pod_wake_patch(awake) is None
    assert awake["metadata"].get("annotations") == {}


def test_owned_terminating_and_finished_pods_are_never_marked() -> None:
    assert pod_sleep_patch(pod(owner="ReplicaSet")) is None
    assert pod_sleep_patch(pod(deletionTimestamp=NOW)) is None
    assert pod_sleep_patch(pod(phase="Succeeded")) is None
    assert pod_sleep_patch(pod(phase="Failed")) is None
    # An owner reference that is not a controller's leaves the pod bare.
    loose = pod()
    loose["metadata"]["ownerReferences"] = [{"kind": "ConfigMap", "name": "c", "uid": "u"}]
    assert pod_sleep_patch(loose) is not None


def test_the_slept_status_is_pending_not_started_not_ready() -> None:
    running = pod()
    running["status"]["conditions"] = [
        {"type": "PodScheduled", "status": "True"},
        {"type": "Ready", "status": "True"},
    ]
    running["status"]["containerStatuses"] = [
        {"name": "c", "ready": True, "restartCount": 2, "state": {"running": {"startedAt": NOW}}}
    ]
    status = slept_status(running, now=NOW)
    assert status["phase"] == "Pending"
    assert "podIP" not in status
    assert "startTime" not in status
    assert status["qosClass"] == "BestEffort"
    types = {c["type"]: c["status"] for c in status["conditions"]}
    assert types == {
        "PodScheduled": "True",
        "Ready": "False",
        "ContainersReady": "False",
        SLEEPING_CONDITION: "True",
    }
    (container,) = status["containerStatuses"]
    assert container["state"]["waiting"]["reason"] == SLEEP_REASON
    assert (container["ready"], container["restartCount"]) == (False, 2)


def test_a_terminated_container_of_a_pod_that_never_restarts_stays_terminated() -> None:
    """The API server refuses terminated → waiting unless the pod restarts always."""
    never = pod()
    never["spec"]["restartPolicy"] = "Never"
    done = {"name": "c", "state": {"terminated": {"exitCode": 0}}}
    never["status"]["containerStatuses"] = [done]
    assert slept_status(never, now=NOW)["containerStatuses"] == [done]


@given(
    phase=st.sampled_from(["Pending", "Running"]),
    conditions=st.lists(
        st.fixed_dictionaries(
            {
                "type": st.sampled_from(["Ready", "PodScheduled", SLEEPING_CONDITION, "x.io/G"]),
                "status": st.sampled_from(["True", "False"]),
            }
        ),
        max_size=5,
    ),
)
def test_any_slept_status_is_slept_and_never_started(phase: str, conditions: list[Json]) -> None:
    """Whatever the pod showed: the result reads as slept and not started, and is stable."""
    obj = pod(phase=phase)
    obj["status"]["conditions"] = conditions
    asleep = {**obj, "status": slept_status(obj, now=NOW)}
    assert is_slept(asleep)
    assert not has_started(asleep)
    assert sum(c["type"] == SLEEPING_CONDITION for c in asleep["status"]["conditions"]) == 1
    assert slept_status(asleep, now=NOW) == asleep["status"]
