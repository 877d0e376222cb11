"""Leader election against the in-memory Lease API, fake clock: acquire, renew, lose, hand over."""

from __future__ import annotations

import asyncio
import contextlib
import copy
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from syncer.clock import FakeClock
from syncer.errors import ServerError
from syncer.fakelistwatch import FakeListerWatcher
from syncer.leader import LeaderElector
from syncer.resources import LEASES, Resource

Json = dict[str, Any]
NS, NAME = "vcluster-dev", "vsyncer-dev"


def _elector(
    fake: FakeListerWatcher, clock: FakeClock, identity: str, changes: list[bool] | None = None
) -> LeaderElector:
    return LeaderElector(
        client=fake,
        namespace=NS,
        name=NAME,
        identity=identity,
        lease_duration=15.0,
        renew_deadline=10.0,
        retry_period=2.0,
        clock=clock,
        on_change=None if changes is None else changes.append,
    )


@asynccontextmanager
async def running(elector: LeaderElector) -> AsyncIterator[asyncio.Task[None]]:
    """Run the elector for the block; cancel it after (a no-op if it has returned)."""
    task = asyncio.create_task(elector.run())
    try:
        async with asyncio.timeout(10):
            yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def _leads(elector: LeaderElector) -> bool:
    return elector.is_leader


async def _lease(fake: FakeListerWatcher) -> Json:
    spec: Json = (await fake.get(LEASES, namespace=NS, name=NAME))["spec"]
    return spec


async def test_the_first_replica_creates_the_lease_and_leads() -> None:
    """With no lease, the elector creates one naming itself and may write at once."""
    fake, clock = FakeListerWatcher(), FakeClock()
    changes: list[bool] = []
    elector = _elector(fake, clock, "a", changes)
    async with running(elector):
        await elector.wait_leading()
        assert elector.is_leader
        assert elector.may_write()
        spec = await _lease(fake)
        assert spec["holderIdentity"] == "a"
        assert spec["leaseDurationSeconds"] == 15
        assert spec["leaseTransitions"] == 0
    assert changes == [True, False]


async def test_the_leader_renews_every_retry_period() -> None:
    """Each retry period the leader writes a new renewTime and keeps acquireTime."""
    fake, clock = FakeListerWatcher(), FakeClock()
    elector = _elector(fake, clock, "a")
    async with running(elector):
        await elector.wait_leading()
        await clock.wait_for_sleepers()
        first = await _lease(fake)
        version = fake.resource_version
        clock.advance(2.0)
        await clock.wait_for_sleepers()
        renewed = await _lease(fake)
        assert fake.resource_version == str(int(version) + 1)
        assert renewed["acquireTime"] == first["acquireTime"]
        assert renewed["holderIdentity"] == "a"
        clock.advance(9.0)  # 9 s after the last renewal, before its own next retry
        assert elector.may_write()


async def test_a_standby_waits_for_a_full_lease_duration_of_silence() -> None:
    """A held lease is taken only once its record stayed unchanged 15 s on the standby's clock."""
    fake, clock = FakeListerWatcher(), FakeClock()
    leader, standby = _elector(fake, clock, "a"), _elector(fake, clock, "b")
    async with running(leader) as leader_task:
        await leader.wait_leading()
        await clock.wait_for_sleepers()
        async with running(standby):
            await clock.wait_for_sleepers(2)
            for _ in range(10):  # 20+ s: the leader keeps renewing, the standby keeps waiting
                clock.advance(2.5)
                await clock.wait_for_sleepers(2)
            assert not standby.is_leader
            assert standby.healthy()
            # The leader hangs: its task stops without releasing (a frozen process).
            leader_task.cancel()
            fake.fail_next("get", ServerError(status=0, reason="Transport"))
            with pytest.raises(asyncio.CancelledError):
                await leader_task
            held = await _lease(fake)
            assert held["holderIdentity"] == "a"
            stopped_at = clock.now()  # the last renewal was at most 2.5 s before this
            while not _leads(standby):
                assert clock.now() < 100
                clock.advance(1.0)
                await clock.wait_for_sleepers(1)
            taken = await _lease(fake)
            assert clock.now() >= stopped_at - 2.5 + 15
    assert taken["holderIdentity"] == "b"
    assert taken["leaseTransitions"] == 1


async def test_a_leader_that_cannot_renew_stops_writing_before_anyone_can_take_over() -> None:
    """may_write turns false the moment the renew deadline passes; the elector then returns."""
    fake, clock = FakeListerWatcher(), FakeClock()
    changes: list[bool] = []
    elector = _elector(fake, clock, "a", changes)
    async with running(elector) as task:
        await elector.wait_leading()
        await clock.wait_for_sleepers()
        for _ in range(5):
            fake.fail_next("get", ServerError(status=500))
        writable = []
        for _ in range(4):  # t = 2, 4, 6, 8: renewals fail, the last success (t = 0) is fresh
            clock.advance(2.0)
            writable.append(elector.may_write())
            await clock.wait_for_sleepers()
        clock.advance(2.0)  # t = 10: the deadline has passed, before the loop has even woken
        writable.append(elector.may_write())
        await task
    assert writable == [True, True, True, True, False]
    assert changes == [True, False]
    assert not elector.is_leader
    assert (await _lease(fake))["holderIdentity"] == "a"  # lost, not released


async def test_a_clean_stop_hands_the_lease_over_within_one_retry_period() -> None:
    """Cancelling the leader releases the lease; the standby then takes it at its next try."""
    fake, clock = FakeListerWatcher(), FakeClock()
    leader, standby = _elector(fake, clock, "a"), _elector(fake, clock, "b")
    async with running(leader) as leader_task:
        await leader.wait_leading()
        async with running(standby):
            await clock.wait_for_sleepers(2)
            assert not standby.is_leader
            leader_task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await leader_task
            released = await _lease(fake)
            assert released["holderIdentity"] == ""
            assert released["leaseDurationSeconds"] == 1
            clock.advance(2.4)  # one retry period with its largest jitter
            await standby.wait_leading()
            taken = await _lease(fake)
    assert taken["holderIdentity"] == "b"


class StaleReads:
    """A Lease client whose reads return one old copy; writes go to the fake."""

    def __init__(self, fake: FakeListerWatcher, snapshot: Json) -> None:
        self._fake = fake
        self._snapshot = snapshot

    async def get(self, resource: Resource, *, namespace: str | None, name: str) -> Json:
        return copy.deepcopy(self._snapshot)

    async def create(self, resource: Resource, *, namespace: str | None, body: Any) -> Json:
        return await self._fake.create(resource, namespace=namespace, body=body)

    async def update(
        self, resource: Resource, *, namespace: str | None, name: str, body: Any
    ) -> Json:
        return await self._fake.update(resource, namespace=namespace, name=name, body=body)


async def test_a_candidate_acting_on_a_stale_read_does_not_lead() -> None:
    """An update from an outdated copy of the lease is a Conflict: the candidate stays standby."""
    fake, clock = FakeListerWatcher(), FakeClock()
    released = {
        "metadata": {"name": NAME},
        "spec": {"holderIdentity": "", "leaseDurationSeconds": 1},
    }
    await fake.create(LEASES, namespace=NS, body=released)
    snapshot = await fake.get(LEASES, namespace=NS, name=NAME)
    winner = _elector(fake, clock, "a")
    late = LeaderElector(
        client=StaleReads(fake, snapshot),
        namespace=NS,
        name=NAME,
        identity="b",
        clock=clock,
    )
    async with running(winner):
        await winner.wait_leading()
        async with running(late):
            await clock.wait_for_sleepers(2)
            assert not late.is_leader
            assert late.attempts_failed == 1
            assert (await _lease(fake))["holderIdentity"] == "a"


def test_timings_must_nest() -> None:
    """retry_period < renew_deadline < lease_duration is checked at construction."""
    with pytest.raises(ValueError, match="retry_period < renew_deadline < lease_duration"):
        LeaderElector(
            client=FakeListerWatcher(),
            namespace=NS,
            name=NAME,
            identity="a",
            lease_duration=10.0,
            renew_deadline=10.0,
        )
