"""Tests for syncer.isolation_gate: pod creates wait while isolation is pending, nothing else."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from syncer.errors import Refused
from syncer.isolation_gate import RETRY, RETRY_MAXIMUM, PodFence
from syncer.resources import CONFIGMAPS, PODS, Resource

Json = dict[str, Any]


class Writer:
    """Records the writes that reached it."""

    host_namespace = "host-ns"

    def __init__(self) -> None:
        self.writes: list[tuple[str, str]] = []

    async def create(self, resource: Resource, *, body: Json) -> Json:
        self.writes.append(("create", resource.plural))
        return body

    async def update(self, resource: Resource, *, current: Mapping[str, Any], body: Json) -> Json:
        self.writes.append(("update", resource.plural))
        return body

    async def update_status(
        self, resource: Resource, *, current: Mapping[str, Any], body: Json
    ) -> Json:
        self.writes.append(("update_status", resource.plural))
        return body

    async def delete(
        self,
        resource: Resource,
        *,
        current: Mapping[str, Any],
        grace_period_seconds: int | None = None,
    ) -> Json:
        self.writes.append(("delete", resource.plural))
        return {}


async def test_a_pod_create_waits_while_isolation_is_pending_then_passes() -> None:
    writer = Writer()
    pending: list[str | None] = ["ResourceQuota vc-vc missing"]
    fence = PodFence(writer=writer, pending=lambda: pending[0])
    with pytest.raises(Refused) as refused:
        await fence.create(PODS, body={"metadata": {"name": "p"}})
    assert refused.value.reason == "isolation_pending"
    assert "ResourceQuota vc-vc missing" in refused.value.message
    assert (refused.value.retry_after, refused.value.retry_max) == (RETRY, RETRY_MAXIMUM)
    assert writer.writes == []  # nothing was sent
    pending[0] = None
    await fence.create(PODS, body={"metadata": {"name": "p"}})
    assert writer.writes == [("create", "pods")]


async def test_other_kinds_and_other_pod_writes_proceed_while_pending() -> None:
    writer = Writer()
    fence = PodFence(writer=writer, pending=lambda: "LimitRange vc-vc missing")
    await fence.create(CONFIGMAPS, body={})
    await fence.update(PODS, current={}, body={})
    await fence.update_status(PODS, current={}, body={})
    await fence.delete(PODS, current={})
    assert writer.writes == [
        ("create", "configmaps"),
        ("update", "pods"),
        ("update_status", "pods"),
        ("delete", "pods"),
    ]
    assert fence.host_namespace == "host-ns"
