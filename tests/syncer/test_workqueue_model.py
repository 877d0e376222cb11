"""Tests for syncer.workqueue against a simple set-based model, on random operation sequences."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from syncer.clock import FakeClock
from syncer.keys import ObjectKey
from tests.syncer.workqueue_support import key, make_queue, settle

# A safety net only: a broken queue should fail the test, not hang the run.
pytestmark = pytest.mark.timeout(30)

NAMES = st.sampled_from([key(ns, n) for ns in ("a", "b", "c") for n in ("1", "2", "3")])
OPS = st.one_of(
    st.tuples(st.just("add"), NAMES),
    st.tuples(st.just("get"), st.none()),
    st.tuples(st.just("done"), st.integers(0, 8)),
    st.tuples(st.just("add_after"), st.tuples(NAMES, st.sampled_from([0.0, 1.0, 2.5, 4.0]))),
    st.tuples(st.just("advance"), st.sampled_from([0.5, 1.0, 3.0])),
    st.tuples(st.just("retry"), NAMES),
    st.tuples(st.just("forget"), NAMES),
)


@settings(max_examples=150, deadline=None)
@given(ops=st.lists(OPS, max_size=60))
async def test_random_operations_match_a_simple_model(ops: list[tuple[str, object]]) -> None:
    """Random op sequences leave the queue in the state a set-based model predicts."""
    clock = FakeClock()
    queue = make_queue(clock)
    ready: set[ObjectKey] = set()
    dirty: set[ObjectKey] = set()
    processing: list[ObjectKey] = []
    delayed: dict[ObjectKey, float] = {}
    requeues: dict[ObjectKey, int] = {}

    def model_add(item: ObjectKey) -> None:
        if item not in dirty:
            dirty.add(item)
            if item not in processing:
                ready.add(item)

    def model_add_after(item: ObjectKey, delay: float) -> None:
        if delay <= 0:
            model_add(item)
        else:
            delayed[item] = min(delayed.get(item, float("inf")), clock.now() + delay)

    for op, arg in ops:
        if op == "add":
            assert isinstance(arg, ObjectKey)
            queue.add(arg)
            model_add(arg)
        elif op == "get" and ready:
            got = await queue.get()
            assert got in ready
            ready.remove(got)
            dirty.remove(got)
            processing.append(got)
        elif op == "done" and processing:
            assert isinstance(arg, int)
            item = processing.pop(arg % len(processing))
            queue.done(item)
            if item in dirty:
                ready.add(item)
        elif op == "add_after":
            assert isinstance(arg, tuple)
            queue.add_after(arg[0], arg[1])
            model_add_after(arg[0], arg[1])
        elif op == "advance":
            assert isinstance(arg, float)
            clock.advance(arg)
            await settle()
            for item, deadline in list(delayed.items()):
                if deadline <= clock.now():
                    del delayed[item]
                    model_add(item)
        elif op == "retry":
            assert isinstance(arg, ObjectKey)
            queue.add_rate_limited(arg)
            model_add_after(arg, 2.0 ** requeues.get(arg, 0))
            requeues[arg] = requeues.get(arg, 0) + 1
        elif op == "forget":
            assert isinstance(arg, ObjectKey)
            queue.forget(arg)
            requeues.pop(arg, None)
        assert len(queue) == len(ready)
        assert queue.in_flight == len(processing)
        assert queue.delayed == len(delayed)
        for item in requeues:
            assert queue.num_requeues(item) == requeues[item]
    await queue.shut_down(drain=False)
