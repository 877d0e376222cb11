"""The drift check looks only at the kinds its caller counts active (the daemon: ready ones)."""

from __future__ import annotations

import asyncio
from typing import Any

from syncer.clock import FakeClock
from syncer.drift import DriftChecker
from syncer.sync import KindSync
from tests.syncer.test_drift import v_cm, world


async def test_a_kind_that_is_not_active_is_not_listed_until_it_is() -> None:
    """No LIST and no drift while inactive; the next pass after it turns active finds it."""
    sync, live, _queued, counts, _mapper = world()
    sync.virtual.store.add(v_cm("lost"))
    lists: list[str] = []
    real_list = live.list

    async def counted(resource: Any, **kw: Any) -> Any:
        lists.append(resource.plural)
        return await real_list(resource, **kw)

    live.list = counted  # type: ignore[method-assign]
    ready = False

    def active(checked: KindSync) -> bool:
        assert checked is sync
        return ready

    clock = FakeClock()
    checker = DriftChecker(
        syncs=[sync], metrics=counts, interval=30, grace=0, clock=clock, active=active
    )
    task = asyncio.create_task(checker.run())
    await clock.wait_for_sleepers()
    clock.advance(30)
    await clock.wait_for_sleepers()
    assert (lists, counts.detected) == ([], [])
    ready = True
    clock.advance(30)
    await clock.wait_for_sleepers()
    task.cancel()
    assert lists == ["configmaps"]
    assert counts.detected == [("configmaps", "missing")]
