"""Condition taints of fake nodes, kept as the node lifecycle controller keeps them."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mappers.nodetaints import (
    MANAGED,
    NO_EXECUTE,
    NO_SCHEDULE,
    NOT_READY,
    UNREACHABLE,
    UNSCHEDULABLE,
    condition_taints,
    taints_stale,
)
from mappers.tokens import format_time

Json = dict[str, Any]
NOW = 1_800_000_000.0
TENANT = {"key": "example.com/gpu", "value": "a100", "effect": NO_SCHEDULE}
ADMITTED = {"key": NOT_READY, "effect": NO_SCHEDULE}


def node(*, ready: str | None, taints: list[Json], **extra: Any) -> Json:
    conditions = [] if ready is None else [{"type": "Ready", "status": ready}]
    conditions += [{"type": t, "status": s} for t, s in extra.pop("conditions", {}).items()]
    return {"spec": {"taints": taints, **extra}, "status": {"conditions": conditions}}


def pairs(taints: list[Json]) -> set[tuple[str, str]]:
    return {(t["key"], t["effect"]) for t in taints}


def test_a_ready_node_loses_the_admission_taint_and_keeps_the_tenants() -> None:
    """Ready True: not-ready NoSchedule goes, a tenant's taint stays in place."""
    v_node = node(ready="True", taints=[TENANT, ADMITTED])
    assert taints_stale(v_node, now=NOW)
    assert condition_taints(v_node, now=NOW) == [TENANT]


@pytest.mark.parametrize(
    ("ready", "expected"),
    [
        ("False", {(NOT_READY, NO_SCHEDULE), (NOT_READY, NO_EXECUTE)}),
        ("Unknown", {(UNREACHABLE, NO_SCHEDULE), (UNREACHABLE, NO_EXECUTE)}),
        (None, {(UNREACHABLE, NO_SCHEDULE), (UNREACHABLE, NO_EXECUTE)}),
        ("True", set()),
    ],
)
def test_ready_condition_table(ready: str | None, expected: set[tuple[str, str]]) -> None:
    """Ready False → not-ready, Unknown or missing → unreachable, both effects."""
    stale = [
        {"key": UNREACHABLE, "effect": NO_EXECUTE},
        {"key": NOT_READY, "effect": NO_SCHEDULE},
    ]
    taints = condition_taints(node(ready=ready, taints=stale), now=NOW)
    assert pairs(taints) == expected
    for taint in taints:
        if taint["effect"] == NO_EXECUTE and taint not in stale:
            assert taint["timeAdded"] == format_time(NOW)


def test_pressure_conditions_and_cordon_bring_their_taints() -> None:
    """MemoryPressure / DiskPressure / PIDPressure / NetworkUnavailable True and
    spec.unschedulable each bring their NoSchedule taint; False removes it."""
    pressed = node(
        ready="True",
        taints=[],
        unschedulable=True,
        conditions={
            "MemoryPressure": "True",
            "DiskPressure": "True",
            "PIDPressure": "True",
            "NetworkUnavailable": "True",
        },
    )
    assert pairs(condition_taints(pressed, now=NOW)) == {
        ("node.kubernetes.io/memory-pressure", NO_SCHEDULE),
        ("node.kubernetes.io/disk-pressure", NO_SCHEDULE),
        ("node.kubernetes.io/pid-pressure", NO_SCHEDULE),
        ("node.kubernetes.io/network-unavailable", NO_SCHEDULE),
        (UNSCHEDULABLE, NO_SCHEDULE),
    }
    relieved = node(
        ready="True",
        taints=condition_taints(pressed, now=NOW),
        conditions={"MemoryPressure": "False", "DiskPressure": "False"},
    )
    assert condition_taints(relieved, now=NOW) == []


def test_a_kept_noexecute_taint_keeps_its_time_added() -> None:
    """A managed taint that stays is not re-stamped."""
    old = {"key": NOT_READY, "effect": NO_EXECUTE, "timeAdded": "2020-01-01T00:00:00Z"}
    v_node = node(ready="False", taints=[old, {"key": NOT_READY, "effect": NO_SCHEDULE}])
    assert not taints_stale(v_node, now=NOW)
    assert old in condition_taints(v_node, now=NOW)


KEYS = st.sampled_from(
    [NOT_READY, UNREACHABLE, UNSCHEDULABLE, "node.kubernetes.io/disk-pressure", "example.com/x"]
)
EFFECTS = st.sampled_from([NO_SCHEDULE, NO_EXECUTE, "PreferNoSchedule"])
TAINTS = st.lists(
    st.fixed_dictionaries({"key": KEYS, "effect": EFFECTS}),
    unique_by=lambda t: (t["key"], t["effect"]),
    max_size=8,
)
STATUSES = st.sampled_from(["True", "False", "Unknown"])
NODES = st.builds(
    lambda ready, taints, cordoned, disk: node(
        ready=ready, taints=taints, unschedulable=cordoned, conditions={"DiskPressure": disk}
    ),
    st.one_of(st.none(), STATUSES),
    TAINTS,
    st.booleans(),
    STATUSES,
)


@given(v_node=NODES)
def test_applying_twice_changes_nothing(v_node: Json) -> None:
    """Idempotent: the result is what the conditions call for, whatever the taints were."""
    once = condition_taints(v_node, now=NOW)
    again = {**v_node, "spec": {**v_node["spec"], "taints": once}}
    assert not taints_stale(again, now=NOW + 60)
    assert condition_taints(again, now=NOW + 60) == once


@given(v_node=NODES)
def test_unmanaged_taints_are_kept_in_order(v_node: Json) -> None:
    """Every taint outside MANAGED survives, in its order; no (key, effect) twice."""
    before = [t for t in v_node["spec"]["taints"] if (t["key"], t["effect"]) not in MANAGED]
    after = condition_taints(v_node, now=NOW)
    assert [t for t in after if (t["key"], t["effect"]) not in MANAGED] == before
    assert len(pairs(after)) == len(after)


@given(v_node=NODES)
def test_ready_nodes_carry_no_not_ready_or_unreachable_taint(v_node: Json) -> None:
    """Ready True ⇒ no not-ready/unreachable NoSchedule or NoExecute taint."""
    ready = [c["status"] for c in v_node["status"]["conditions"] if c["type"] == "Ready"]
    keys = {
        t["key"]
        for t in condition_taints(v_node, now=NOW)
        if t["effect"] in (NO_SCHEDULE, NO_EXECUTE)
    }
    has = bool(keys & {NOT_READY, UNREACHABLE})
    assert has == (ready != ["True"])
