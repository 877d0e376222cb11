"""Placement of new host pods: a tenant-set nodeName against the host node's taints, and the
runtime class the pod names."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mappers.podplacement import (
    RUNTIME_CLASS_RETRY,
    TAINT_RETRY,
    TAINT_RETRY_MAX,
    PodPlacement,
    describe,
    tolerates,
    untolerated,
)
from mappers.pods import PodMapper, make
from syncer.api import NODES, PODS, RUNTIMECLASSES, MapperConfig, Refused
from tests.mappers.fakes import Fake, T, pod_created
from tests.mappers.test_pods import v_pod

Json = dict[str, Any]
DEDICATED = {"key": "dedicated", "value": "platform", "effect": "NoSchedule"}


def node(name: str = "n1", *taints: Json, unschedulable: bool = False) -> Json:
    spec: Json = {"taints": list(taints)}
    if unschedulable:
        spec["unschedulable"] = True
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}, "spec": spec}


def runtime_class(name: str) -> Json:
    return {"apiVersion": "node.k8s.io/v1", "kind": "RuntimeClass", "metadata": {"name": name}}


#: (what, toleration, taint, tolerated) — Kubernetes' Toleration.ToleratesTaint, row by row.
TOLERATIONS: list[tuple[str, Json, Json, bool]] = [
    ("Equal, same key/value/effect", {"key": "dedicated", "value": "platform",
     "effect": "NoSchedule"}, DEDICATED, True),
    ("no operator means Equal", {"key": "dedicated", "value": "platform"}, DEDICATED, True),
    ("Equal, other value", {"key": "dedicated", "value": "x"}, DEDICATED, False),
    ("Equal, no value vs a value", {"key": "dedicated", "operator": "Equal"}, DEDICATED, False),
    ("Exists on the key, any value", {"key": "dedicated", "operator": "Exists"}, DEDICATED, True),
    ("other effect", {"key": "dedicated", "operator": "Exists", "effect": "NoExecute"},
     DEDICATED, False),
    ("other key", {"key": "gpu", "operator": "Exists"}, DEDICATED, False),
    ("Exists without a key: every taint", {"operator": "Exists"}, DEDICATED, True),
    ("an unknown operator tolerates nothing", {"key": "dedicated", "operator": "Gt",
     "value": "1"}, DEDICATED, False),
    ("Equal on a value-less taint", {"key": "node.kubernetes.io/unschedulable",
     "operator": "Equal"}, {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"},
     True),
]  # fmt: skip


@pytest.mark.parametrize(("what", "toleration", "taint", "tolerated"), TOLERATIONS)
def test_toleration_matching_follows_kubernetes(
    what: str, toleration: Json, taint: Json, tolerated: bool
) -> None:
    """Each row: the toleration tolerates the taint exactly as the API's ToleratesTaint says."""
    assert tolerates(toleration, taint) is tolerated, what


def test_only_scheduling_taints_count_and_unschedulable_is_one() -> None:
    """PreferNoSchedule is ignored; NoExecute counts; spec.unschedulable acts as its taint."""
    soft = {"key": "soft", "effect": "PreferNoSchedule"}
    hard = {"key": "evict", "effect": "NoExecute"}
    assert untolerated(node("n", soft), []) == []
    assert untolerated(node("n", soft, hard), []) == [hard]
    cordoned = untolerated(node("n", unschedulable=True), [])
    assert [describe(t) for t in cordoned] == ["node.kubernetes.io/unschedulable:NoSchedule"]
    tolerating = [{"key": "node.kubernetes.io/unschedulable", "operator": "Exists"}]
    assert untolerated(node("n", unschedulable=True), tolerating) == []


@given(
    key=st.sampled_from(["a", "b", "dedicated"]),
    value=st.sampled_from(["", "x", "y"]),
    effect=st.sampled_from(["NoSchedule", "NoExecute"]),
    tolerations=st.lists(
        st.fixed_dictionaries(
            {},
            optional={
                "key": st.sampled_from(["a", "b", "dedicated"]),
                "operator": st.sampled_from(["Equal", "Exists", "Lt"]),
                "value": st.sampled_from(["", "x", "y"]),
                "effect": st.sampled_from(["", "NoSchedule", "NoExecute", "PreferNoSchedule"]),
            },
        ),
        max_size=4,
    ),
)
def test_a_taint_is_left_exactly_when_no_toleration_tolerates_it(
    key: str, value: str, effect: str, tolerations: list[Json]
) -> None:
    """untolerated() keeps a hard taint iff every toleration fails ToleratesTaint on it."""
    taint = (
        {"key": key, "value": value, "effect": effect} if value else {"key": key, "effect": effect}
    )
    left = untolerated(node("n", taint), tolerations)
    assert (left == [taint]) is not any(tolerates(t, taint) for t in tolerations)


def test_a_tainted_node_refuses_a_pod_that_does_not_tolerate_it() -> None:
    """nodeName of a NoSchedule-tainted node: refused (node_taint, growing retry) naming the
    taint; the same pod tolerating it passes; an untainted node passes."""
    fake = Fake(host={"nodes": [node("n1", DEDICATED), node("n2")]})
    placement = PodPlacement()
    refusal = placement.refusal(fake.ctx, v_pod(node="n1"))
    assert refusal is not None
    assert (refusal.reason, refusal.retry_after, refusal.retry_max) == (
        "node_taint",
        TAINT_RETRY,
        TAINT_RETRY_MAX,
    )
    assert refusal.message.startswith(
        "spec.nodeName: node 'n1' has the taint dedicated=platform:NoSchedule, which"
    )
    tolerating = [{"key": "dedicated", "operator": "Exists", "effect": "NoSchedule"}]
    assert placement.refusal(fake.ctx, v_pod(node="n1", tolerations=tolerating)) is None
    assert placement.refusal(fake.ctx, v_pod(node="n2")) is None
    assert placement.refusal(fake.ctx, v_pod()) is None


def test_a_missing_node_is_still_node_name() -> None:
    """The missing-node refusal comes first and is unchanged."""
    refusal = PodPlacement().refusal(Fake(host={"nodes": []}).ctx, v_pod(node="ghost"))
    assert refusal is not None
    assert refusal.reason == "node_name"


def test_without_the_nodes_kind_a_tenant_node_name_is_refused() -> None:
    """No host nodes cache: the taints cannot be checked → node_name, until the pod changes."""
    fake = Fake(host={"pods": []}, enabled=[PODS])
    refusal = PodPlacement().refusal(fake.ctx, v_pod(node="n1"))
    assert refusal is not None
    assert (refusal.reason, refusal.retry_after) == ("node_name", None)
    assert "nodes kind is off" in refusal.message
    assert PodPlacement().refusal(fake.ctx, v_pod()) is None


def test_runtime_classes_pass_only_when_copied_or_listed() -> None:
    """Copied from the host (fromHost kind on, host cache holds it) or listed → fine; any
    other → runtime_class, retried while classes are copied; no class → fine."""
    copying = Fake(
        host={"runtimeclasses": [runtime_class("gvisor")]}, enabled=[PODS, RUNTIMECLASSES]
    )
    off = Fake(host={"pods": []}, enabled=[PODS])
    placement = PodPlacement(runtime_classes=("kata",))
    assert placement.refusal(copying.ctx, v_pod(runtimeClassName="gvisor")) is None
    assert placement.refusal(off.ctx, v_pod(runtimeClassName="kata")) is None
    assert placement.refusal(off.ctx, v_pod()) is None
    refused = placement.refusal(copying.ctx, v_pod(runtimeClassName="control-plane"))
    assert refused is not None
    assert (refused.reason, refused.retry_after) == ("runtime_class", RUNTIME_CLASS_RETRY)
    assert refused.message.startswith("spec.runtimeClassName: runtime class 'control-plane'")
    not_copied = placement.refusal(off.ctx, v_pod(runtimeClassName="gvisor"))
    assert not_copied is not None
    assert (not_copied.reason, not_copied.retry_after) == ("runtime_class", None)


async def test_the_pods_mapper_creates_nothing_for_a_refused_placement() -> None:
    """Through the reconcile: refused pods write nothing; the tolerated one is created on n1."""
    fake = Fake(host={"pods": [], "secrets": [], "nodes": [node("n1", DEDICATED)]})
    mapper = make(translator=T, config=MapperConfig(pod_runtime_classes=("kata",)))
    for refused in (v_pod(node="n1"), v_pod(runtimeClassName="gvisor")):
        with pytest.raises(Refused):
            await mapper.sync_to_host(fake.ctx, refused)
    assert pod_created(fake) == []
    tolerating = [{"key": "dedicated", "operator": "Equal", "value": "platform"}]
    await mapper.sync_to_host(
        fake.ctx, v_pod(node="n1", tolerations=tolerating, runtimeClassName="kata")
    )
    assert [p["spec"]["nodeName"] for p in pod_created(fake)] == ["n1"]


def test_the_mapper_declares_what_placement_reads() -> None:
    """The host caches placement reads are in may_read (the wiring allows exactly those)."""
    assert {NODES, RUNTIMECLASSES} <= PodMapper.may_read
