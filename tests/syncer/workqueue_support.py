"""Shared by the syncer.workqueue tests: keys, a queue on a fake clock, exact settling."""

from __future__ import annotations

import asyncio

from syncer.clock import FakeClock
from syncer.keys import ObjectKey
from syncer.ratelimit import ItemExponential
from syncer.workqueue import WorkQueue


def key(namespace: str, name: str) -> ObjectKey:
    return ObjectKey("ConfigMap", namespace, name)


def make_queue(clock: FakeClock | None = None) -> WorkQueue[ObjectKey]:
    return WorkQueue(
        name="test",
        clock=clock or FakeClock(),
        rate_limiter=ItemExponential(base=1.0, cap=60.0),
    )


async def settle() -> None:
    """Let every ready callback run; the loop has no real timers here, so this is exact."""
    for _ in range(5):
        await asyncio.sleep(0)


async def take(queue: WorkQueue[ObjectKey]) -> ObjectKey:
    """get() a key that must already be ready (after due timers have run)."""
    await settle()
    assert len(queue), "no key is ready"
    return await queue.get()
