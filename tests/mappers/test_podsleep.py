"""The pods reconcile and drift check of bare pods sleep mode marked, as a table."""

from __future__ import annotations

from typing import Any

import pytest

from mappers.pods import PodMapper, has_started
from syncer.api import SLEEP_POD_MARK, is_slept, slept_status
from tests.mappers.fakes import Fake, pod_calls
from tests.mappers.test_pods import P_NAME, p_pod, v_pod

Json = dict[str, Any]
NOW = "2026-01-01T00:00:00Z"


def marked(pod: Json) -> Json:
    pod["metadata"]["annotations"] = {SLEEP_POD_MARK: "true"}
    return pod


def slept(pod: Json) -> Json:
    pod["status"] = slept_status(pod, now=NOW)
    return pod


def running() -> Json:
    return v_pod(node="n1", phase="Running")


def host_twin(*, terminating: int | None = None) -> Json:
    return p_pod(v_pod(), node="n1", phase="Running", terminating=terminating)


CASES: list[tuple[str, Json, Json | None, list[tuple[str, str, str]]]] = [
    (
        "marked, host running → slept status first, then the host pod deleted",
        marked(running()),
        host_twin(),
        [("virtual", "update_status", "web"), ("host", "delete(grace=None)", P_NAME)],
    ),
    (
        "marked and slept (killed before the delete) → the host pod deleted",
        marked(slept(running())),
        host_twin(),
        [("host", "delete(grace=None)", P_NAME)],
    ),
    (
        "marked, host terminating → wait, the virtual pod kept",
        marked(slept(running())),
        host_twin(terminating=30),
        [],
    ),
    ("marked, no host pod → nothing re-created", marked(slept(running())), None, []),
    (
        "marked, started, no host pod → the virtual pod kept all the same",
        marked(running()),
        None,
        [],
    ),
    (
        "woken (mark gone), no host pod → re-created",
        slept(running()),
        None,
        [("host", "create", P_NAME)],
    ),
    (
        "woken while the slept twin still terminates → wait, the virtual pod kept",
        slept(running()),
        host_twin(terminating=30),
        [],
    ),
    (
        "marked but deleted by the tenant → the host pod goes with its grace period",
        marked(v_pod(terminating=12, node="n1", phase="Running")),
        host_twin(),
        [("host", "delete(grace=12)", P_NAME)],
    ),
]


@pytest.mark.parametrize(("case", "v", "p", "writes"), CASES, ids=[c[0] for c in CASES])
async def test_reconcile_of_sleeping_pods(
    case: str, v: Json, p: Json | None, writes: list[tuple[str, str, str]]
) -> None:
    """Before (caches) → after (writes)."""
    node = {"metadata": {"name": "n1"}}  # a woken pod is made again on its node
    fake = Fake(
        virtual={"pods": [v]}, host={"pods": [p] if p else [], "secrets": [], "nodes": [node]}
    )
    mapper = PodMapper(translator=fake.translator)
    if p is not None:
        await mapper.sync(fake.ctx, v, p)
    else:
        await mapper.sync_to_host(fake.ctx, v)
    assert pod_calls(fake) == writes, case


async def test_the_status_written_before_the_delete_is_the_slept_one() -> None:
    """What goes up first: not started (so a wake re-creates it), the Sleeping condition."""
    v, p = marked(running()), host_twin()
    fake = Fake(virtual={"pods": [v]}, host={"pods": [p], "secrets": []})
    await PodMapper(translator=fake.translator).sync(fake.ctx, v, p)
    written = fake.virtual.bodies[-1]
    assert is_slept(written)
    assert not has_started(written)
    assert written["status"]["qosClass"] == "Burstable"


@pytest.mark.parametrize(
    ("v", "p", "drift"),
    [
        (marked(slept(running())), None, None),
        (marked(slept(running())), host_twin(terminating=3), None),
        (
            marked(running()),
            host_twin(),
            f"metadata.annotations[{SLEEP_POD_MARK}]: the host pod of a sleeping pod",
        ),
        (slept(running()), None, "missing"),
    ],
    ids=["asleep", "twin-going", "twin-due-to-go", "woken"],
)
def test_drift_skips_sleeping_pods(v: Json, p: Json | None, drift: str | None) -> None:
    """Asleep without a host twin is no drift; a woken pod's missing twin is."""
    fake = Fake(virtual={"pods": [v]}, host={"pods": [p] if p else [], "secrets": []})
    assert PodMapper(translator=fake.translator).drift(fake.ctx, v, p) == drift
