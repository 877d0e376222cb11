"""PodDisruptionBudgets: the selector is confined on the host; the status stays each side's."""

from __future__ import annotations

from typing import Any

import pytest

from mappers.pdbs import (
    PodDisruptionBudgetMapper,
    blocking_field,
    counted_minimum,
    host_budget_spec,
    make,
)
from syncer.api import DONE, MANAGED_BY_LABEL, NAMESPACE_LABEL, PDBS, MapperConfig, Refused
from syncer.kit.testing import TRANSLATOR as T
from syncer.kit.testing import FakeContext

Json = dict[str, Any]
MINE = {MANAGED_BY_LABEL: "vc", NAMESPACE_LABEL: "shop"}


def v_budget(**spec: Any) -> Json:
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"namespace": "shop", "name": "web", "uid": "v-uid", "generation": 2},
        "spec": spec or {"minAvailable": 1, "selector": {"matchLabels": {"app": "web"}}},
        "status": {"observedGeneration": 2, "disruptionsAllowed": 1, "expectedPods": 2},
    }


@pytest.mark.parametrize(
    ("spec", "host"),
    [
        (
            {"minAvailable": 1, "selector": {"matchLabels": {"app": "web"}}},
            {"minAvailable": 1, "selector": {"matchLabels": {"app": "web", **MINE}}},
        ),
        (
            {"maxUnavailable": "50%", "selector": {}, "unhealthyPodEvictionPolicy": "AlwaysAllow"},
            {
                "maxUnavailable": "50%",
                "selector": {"matchLabels": MINE},
                "unhealthyPodEvictionPolicy": "AlwaysAllow",
            },
        ),
        ({"minAvailable": 1}, {"minAvailable": 1}),
        (
            {
                "maxUnavailable": 1,
                "selector": {"matchExpressions": [{"key": "release", "operator": "Exists"}]},
            },
            {
                "maxUnavailable": 1,
                "selector": {
                    "matchLabels": MINE,
                    "matchExpressions": [
                        {"key": T.translate_label_key("release"), "operator": "Exists"}
                    ],
                },
            },
        ),
    ],
    ids=["matchLabels", "empty-selector-is-the-namespace", "no-selector-stays-none", "renamed-key"],
)
def test_host_budget_spec(spec: Json, host: Json) -> None:
    assert host_budget_spec(spec, namespace="shop", translator=T) == host


@pytest.mark.parametrize(
    ("spec", "path"),
    [
        ({"minAvailable": 1, "priority": 3}, "spec.priority"),
        ({"selector": {"matchFields": []}}, "spec.selector.matchFields"),
    ],
)
def test_unknown_fields_are_refused(spec: Json, path: str) -> None:
    with pytest.raises(Refused) as refused:
        host_budget_spec(spec, namespace="shop", translator=T)
    assert refused.value.reason == "unknown_field"
    assert refused.value.message.startswith(path + ":")


async def test_spec_down_and_the_virtual_status_left_to_the_virtual_cluster() -> None:
    mapper = PodDisruptionBudgetMapper(translator=T)
    v_obj = v_budget()
    fake = FakeContext(virtual={}, enabled=[PDBS])
    assert await mapper.sync_to_host(fake.ctx, v_obj) == DONE
    [created] = fake.host.created
    assert created["spec"]["selector"] == {"matchLabels": {"app": "web", **MINE}}
    assert "status" not in created
    # The host's disruption controller counts differently: nothing of it comes up.
    p_obj = {**created, "status": {"observedGeneration": 1, "disruptionsAllowed": 0}}
    assert mapper.drift(fake.ctx, v_obj, p_obj) is None
    assert await mapper.sync(fake.ctx, v_obj, p_obj) == DONE
    assert fake.calls == [("host", "create", T.host_name("shop", "web"))]

    changed = v_budget(minAvailable=2, selector={"matchLabels": {"app": "web"}})
    assert mapper.drift(fake.ctx, changed, p_obj) == "spec"
    assert await mapper.sync(fake.ctx, changed, p_obj) == DONE
    assert fake.host.updated[-1]["spec"]["minAvailable"] == 2
    assert fake.host.updated[-1]["status"] == p_obj["status"]  # the host's own, untouched


def counted(spec: Json, **status: Any) -> Json:
    """A virtual budget of generation 2 whose controller wrote ``status``."""
    budget = v_budget(**spec)
    budget["status"] = {
        "observedGeneration": 2,
        "expectedPods": 3,
        "desiredHealthy": 2,
        "conditions": [{"type": "DisruptionAllowed", "status": "True", "reason": "SufficientPods"}],
        **status,
    }
    return budget


@pytest.mark.parametrize(
    ("v_obj", "minimum"),
    [
        (counted({"maxUnavailable": 1}), 2),
        (counted({"minAvailable": "50%"}), 2),
        (counted({"maxUnavailable": "100%"}, desiredHealthy=0), 0),
        (counted({"minAvailable": 2}), None),  # a number already: kept
        (counted({"maxUnavailable": 1}, observedGeneration=1), None),  # an older generation's
        (counted({"maxUnavailable": 1}, expectedPods=0), None),  # nothing counted
        (counted({"maxUnavailable": 1}, desiredHealthy=True), None),
        (
            counted(
                {"maxUnavailable": 1},
                conditions=[
                    {"type": "DisruptionAllowed", "status": "False", "reason": "SyncFailed"}
                ],
            ),
            None,
        ),
    ],
    ids=[
        "maxUnavailable",
        "percentage",
        "all-may-go",
        "number",
        "stale",
        "no-pods",
        "not-a-count",
        "sync-failed",
    ],
)
def test_counted_minimum(v_obj: Json, minimum: int | None) -> None:
    assert counted_minimum(v_obj) == minimum


async def test_a_counted_budget_reaches_the_host_as_a_minimum() -> None:
    """maxUnavailable needs the pods' controllers, which the host does not have."""
    mapper = PodDisruptionBudgetMapper(translator=T)
    v_obj = counted({"maxUnavailable": 1, "selector": {}})
    fake = FakeContext(virtual={}, enabled=[PDBS])
    await mapper.sync_to_host(fake.ctx, v_obj)
    assert fake.host.created[0]["spec"] == {"minAvailable": 2, "selector": {"matchLabels": MINE}}
    uncounted = v_budget(maxUnavailable=1, selector={})
    assert mapper.drift(fake.ctx, uncounted, fake.host.created[0]) == "spec"


@pytest.mark.parametrize(
    ("v_obj", "blocking"),
    [
        (v_budget(maxUnavailable=0), "spec.maxUnavailable"),
        (v_budget(maxUnavailable="0%"), "spec.maxUnavailable"),
        (v_budget(minAvailable="100%"), "spec.minAvailable"),
        (counted({"minAvailable": 3}, desiredHealthy=3), "spec.minAvailable"),
        (counted({"minAvailable": "90%"}, desiredHealthy=3), "spec.minAvailable"),
        (counted({"minAvailable": 2}), None),
        (counted({"maxUnavailable": 1}), None),
        (counted({"minAvailable": 3}, desiredHealthy=3, observedGeneration=1), None),
    ],
    ids=["max-0", "max-0%", "min-100%", "min-all", "rounds-to-all", "min-2", "max-1", "stale"],
)
def test_budgets_allowing_no_disruption(v_obj: Json, blocking: str | None) -> None:
    found = blocking_field(v_obj)
    assert (found.split(":")[0] if found else None) == blocking


@pytest.mark.parametrize(
    ("spec", "host_minimum"),
    [({"maxUnavailable": 0}, 2), ({"minAvailable": 3}, 2), ({"minAvailable": "100%"}, 2)],
)
async def test_clamp_lets_one_pod_go_at_a_time(spec: Json, host_minimum: int) -> None:
    """The default: a counted budget that keeps all 3 pods reaches the host as 2 of 3."""
    mapper = PodDisruptionBudgetMapper(translator=T)
    v_obj = counted({**spec, "selector": {}}, desiredHealthy=3)
    fake = FakeContext(virtual={}, enabled=[PDBS])
    await mapper.sync_to_host(fake.ctx, v_obj)
    assert fake.host.created[0]["spec"] == {
        "minAvailable": host_minimum,
        "selector": {"matchLabels": MINE},
    }


async def test_refuse_keeps_it_off_the_host_and_allow_passes_it() -> None:
    v_obj = counted({"maxUnavailable": 0, "selector": {}}, desiredHealthy=3)
    refuse = make(translator=T, config=MapperConfig(pdb_no_disruption="refuse"))
    fake = FakeContext(virtual={}, enabled=[PDBS])
    with pytest.raises(Refused) as refused:
        await refuse.sync_to_host(fake.ctx, v_obj)
    assert refused.value.reason == "pdb_no_disruption"
    assert refused.value.message.startswith("spec.maxUnavailable:")
    assert "VSYNCER_PDB_NO_DISRUPTION" in refused.value.message
    assert fake.calls == []
    assert refuse.drift(fake.ctx, v_obj, None) is None
    # A budget that lets a pod go is not affected.
    assert await refuse.sync_to_host(fake.ctx, counted({"maxUnavailable": 1})) == DONE

    allow = make(translator=T, config=MapperConfig(pdb_no_disruption="allow"))
    await allow.sync_to_host(fake.ctx, v_obj)
    assert fake.host.created[-1]["spec"]["minAvailable"] == 3  # the count, as vcluster keeps it
