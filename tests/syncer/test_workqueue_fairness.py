"""Tests for syncer.workqueue fairness: round robin over namespaces or a custom fairness key."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from syncer.clock import FakeClock
from syncer.keys import ObjectKey
from syncer.workqueue import WorkQueue, namespace_of
from tests.syncer.workqueue_support import key, make_queue

# A safety net only: a broken queue should fail the test, not hang the run.
pytestmark = pytest.mark.timeout(30)


async def test_busy_namespace_cannot_starve_a_quiet_one() -> None:
    """With 1000 keys of namespace A queued, B's single key is served within 2 gets."""
    queue = make_queue()
    for i in range(1000):
        queue.add(key("a", str(i)))
    queue.add(key("b", "only"))
    served = [await queue.get() for _ in range(2)]
    assert key("b", "only") in served


async def test_round_robin_over_many_namespaces_is_fifo_within_each() -> None:
    """get cycles through namespaces with ready keys, FIFO inside each namespace."""
    queue = make_queue()
    for i in range(3):
        for namespace in ("x", "y", "z"):
            queue.add(key(namespace, str(i)))
    served = [await queue.get() for _ in range(9)]
    assert [k.namespace for k in served] == ["x", "y", "z"] * 3
    for namespace in ("x", "y", "z"):
        assert [k.name for k in served if k.namespace == namespace] == ["0", "1", "2"]


@settings(max_examples=50, deadline=None)
@given(busy=st.lists(st.integers(1, 50), min_size=1, max_size=8), served_first=st.integers(0, 40))
async def test_quiet_key_is_served_within_active_namespace_count(
    busy: list[int], served_first: int
) -> None:
    """A new namespace's key is served within (#namespaces with ready keys) gets."""
    queue = make_queue()
    added = [key(f"busy-{index}", str(i)) for index, count in enumerate(busy) for i in range(count)]
    for item in added:
        queue.add(item)
    served: set[ObjectKey] = set()
    for _ in range(min(served_first, len(queue))):
        item = await queue.get()
        served.add(item)
        queue.done(item)
    active = len({item.namespace for item in added if item not in served}) + 1
    queue.add(key("quiet", "1"))
    for _ in range(active):
        if await queue.get() == key("quiet", "1"):
            break
    else:
        pytest.fail(f"quiet key not served within {active} gets")


async def test_custom_fairness_key() -> None:
    """fairness_key can group keys by something other than the namespace."""
    queue: WorkQueue[str] = WorkQueue(clock=FakeClock(), fairness_key=lambda k: k[0])
    for name in ("a1", "a2", "a3", "b1"):
        queue.add(name)
    assert [await queue.get() for _ in range(4)] == ["a1", "b1", "a2", "a3"]


def test_default_fairness_key() -> None:
    """The default group is the key's namespace, or "" for keys without one."""
    assert namespace_of(key("ns", "n")) == "ns"
    assert namespace_of("plain") == ""
    assert namespace_of(42) == ""
