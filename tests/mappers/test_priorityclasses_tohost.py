"""toHost PriorityClasses: cluster-scoped host copies, the value cap, never a global default."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mappers import priorityclasses
from mappers.priorityclasses_tohost import (
    MAX_VALUE,
    PriorityClassMapper,
    check_priority_class,
    host_priority_class_name,
)
from syncer.api import (
    DONE,
    MANAGED_BY_LABEL,
    NAMESPACE_LABEL,
    OBJECT_HOST_NAME_ANNOTATION,
    OBJECT_NAMESPACE_ANNOTATION,
    PRIORITYCLASSES,
    MapperConfig,
    ObjectKey,
    Refused,
)
from syncer.kit.testing import TRANSLATOR as T
from syncer.kit.testing import FakeContext

Json = dict[str, Any]


def v_class(name: str = "high", value: int = 1000, **fields: Any) -> Json:
    return {
        "apiVersion": "scheduling.k8s.io/v1",
        "kind": "PriorityClass",
        "metadata": {"name": name, "uid": "v-uid", "labels": {"team": "a"}},
        "value": value,
        **fields,
    }


def test_the_factory_picks_the_direction() -> None:
    """The setting turns the kind around; without it the host's classes are copied up."""
    down = priorityclasses.make(translator=T, config=MapperConfig(to_host_priority_classes=True))
    assert isinstance(down, PriorityClassMapper)
    up = priorityclasses.make(translator=T, config=MapperConfig())
    assert isinstance(up, priorityclasses.PriorityClassCopier)


async def test_a_class_goes_down_cluster_scoped_without_global_default() -> None:
    mapper = PriorityClassMapper(translator=T)
    fake = FakeContext(virtual={}, enabled=[PRIORITYCLASSES])
    v_obj = v_class(globalDefault=True, description="d", preemptionPolicy="Never")
    assert await mapper.sync_to_host(fake.ctx, v_obj) == DONE
    [created] = fake.host.created
    p_name = T.host_cluster_name("high")
    assert p_name == f"vcluster-high-x-{T.host_namespace}-x-{T.vcluster}"
    metadata = created["metadata"]
    assert metadata["name"] == p_name
    assert "namespace" not in metadata
    assert metadata["labels"] == {"team": "a", MANAGED_BY_LABEL: T.vcluster}
    assert NAMESPACE_LABEL not in metadata["labels"]
    assert metadata["annotations"][OBJECT_HOST_NAME_ANNOTATION] == p_name
    assert OBJECT_NAMESPACE_ANNOTATION not in metadata["annotations"]
    assert "globalDefault" not in created
    assert (created["value"], created["preemptionPolicy"]) == (1000, "Never")
    # The way back: the copy maps to the virtual key and is ours.
    assert mapper.is_managed(created)
    assert mapper.host_to_virtual(created) == ObjectKey("priorityclasses", "", "high")
    assert mapper.virtual_to_host(ObjectKey("priorityclasses", "", "high")) == p_name
    assert mapper.drift(fake.ctx, v_obj, created) is None


@pytest.mark.parametrize("value", [MAX_VALUE, 2_000_000_000, 2_000_001_000])
async def test_a_value_from_the_system_range_up_is_refused(value: int) -> None:
    """Refused with a reason counted and evented by the engine; nothing reaches the host."""
    mapper = PriorityClassMapper(translator=T)
    fake = FakeContext(virtual={}, enabled=[PRIORITYCLASSES])
    with pytest.raises(Refused) as refused:
        await mapper.sync_to_host(fake.ctx, v_class(value=value))
    assert refused.value.reason == "priority_value"
    assert refused.value.message.startswith("value:")
    assert refused.value.retry_after is None  # the class itself must change (a new object)
    assert fake.calls == []
    assert mapper.drift(fake.ctx, v_class(value=value), None) is None  # refused, not drift


def test_unknown_fields_are_refused() -> None:
    with pytest.raises(Refused) as refused:
        check_priority_class(v_class(spec={"x": 1}))
    assert refused.value.reason == "unknown_field"


async def test_system_classes_are_never_synced() -> None:
    mapper = PriorityClassMapper(translator=T)
    fake = FakeContext(virtual={}, enabled=[PRIORITYCLASSES])
    system = v_class(name="system-node-critical", value=2_000_001_000)
    assert await mapper.sync_to_host(fake.ctx, system) == DONE
    assert fake.calls == []


async def test_a_changed_value_replaces_the_host_copy() -> None:
    """value and preemptionPolicy are immutable: the copy is deleted, then made again."""
    mapper = PriorityClassMapper(translator=T)
    fake = FakeContext(virtual={}, enabled=[PRIORITYCLASSES])
    await mapper.sync_to_host(fake.ctx, v_class())
    p_obj = {**fake.host.created[0], "metadata": {**fake.host.created[0]["metadata"], "uid": "p"}}
    assert await mapper.sync(fake.ctx, v_class(value=5), p_obj) == DONE
    assert fake.calls[-1] == ("host", "delete(grace=None)", T.host_cluster_name("high"))
    assert mapper.drift(fake.ctx, v_class(value=5), p_obj) == "immutable content"
    described = v_class(description="new")
    assert await mapper.sync(fake.ctx, described, p_obj) == DONE
    assert fake.host.updated[-1]["description"] == "new"


@given(name=st.from_regex(r"[a-z0-9]([-a-z0-9.]{0,250}[a-z0-9])?", fullmatch=True))
def test_host_names_are_valid_and_system_names_kept(name: str) -> None:
    """A host class name is a DNS-1123 subdomain of at most 63 characters (cluster-scoped
    rule), or the system class's own name."""
    host = host_priority_class_name(name, translator=T)
    if name.startswith("system-"):
        assert host == name
    else:
        assert host == T.host_cluster_name(name)
        assert len(host) <= 63
        assert host.startswith("vcluster-")
