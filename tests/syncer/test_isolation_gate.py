"""Tests for syncer.isolation_gate: pod creates wait while isolation is pending, nothing else."""

from __future__ import annotations

import pytest

from syncer.errors import Refused
from syncer.isolation_gate import RETRY, RETRY_MAXIMUM, PodFence
from syncer.kit.testing import FakeContext, host_copy
from syncer.resources import CONFIGMAPS, PODS

POD = host_copy(PODS, namespace="ns", name="p")
CONFIGMAP = host_copy(CONFIGMAPS, namespace="ns", name="c")


async def test_a_pod_create_waits_while_isolation_is_pending_then_passes() -> None:
    fake = FakeContext()
    pending: list[str | None] = ["ResourceQuota vc-vc missing"]
    fence = PodFence(writer=fake.host, pending=lambda: pending[0])
    with pytest.raises(Refused) as refused:
        await fence.create(PODS, body=POD)
    assert refused.value.reason == "isolation_pending"
    assert "ResourceQuota vc-vc missing" in refused.value.message
    assert (refused.value.retry_after, refused.value.retry_max) == (RETRY, RETRY_MAXIMUM)
    assert fake.recorder.calls == []  # nothing was sent
    pending[0] = None
    await fence.create(PODS, body=POD)
    assert fake.recorder.calls == [("host", "create", POD["metadata"]["name"])]


async def test_other_kinds_and_other_pod_writes_proceed_while_pending() -> None:
    fake = FakeContext()
    fence = PodFence(writer=fake.host, pending=lambda: "LimitRange vc-vc missing")
    await fence.create(CONFIGMAPS, body=CONFIGMAP)
    await fence.update(PODS, current=POD, body=POD)
    await fence.update_status(PODS, current=POD, body=POD)
    await fence.delete(PODS, current=POD)
    pod = POD["metadata"]["name"]
    assert fake.recorder.calls == [
        ("host", "create", CONFIGMAP["metadata"]["name"]),
        ("host", "update", pod),
        ("host", "update_status", pod),
        ("host", "delete(grace=None)", pod),
    ]
    assert fence.host_namespace == "host-ns"
