"""The four fromHost class kinds: their entry points, resources, selector setting, and the
priority classes' globalDefault rule."""

from __future__ import annotations

import pytest

from mappers import ingressclasses, priorityclasses, runtimeclasses, storageclasses
from syncer.api import (
    INGRESSCLASSES,
    PRIORITYCLASSES,
    RUNTIMECLASSES,
    STORAGECLASSES,
    MapperConfig,
    Resource,
)
from syncer.kit import FROM_HOST_LABEL, FromHostCopier
from syncer.kit.testing import TRANSLATOR
from syncer.plugins import build_mappers, discover

KINDS = {
    "storageclasses.storage.k8s.io": STORAGECLASSES,
    "ingressclasses.networking.k8s.io": INGRESSCLASSES,
    "runtimeclasses.node.k8s.io": RUNTIMECLASSES,
    "priorityclasses.scheduling.k8s.io": PRIORITYCLASSES,
}


@pytest.mark.parametrize(("kind", "resource"), KINDS.items())
def test_each_kind_is_registered_and_cluster_scoped(kind: str, resource: Resource) -> None:
    """Enabled by its qualified name: a cluster-scoped copier with the setting's selector."""
    config = MapperConfig(from_host_label_selector="shared=yes")
    mapper = build_mappers(
        kinds=[kind], factories=discover(), translator=TRANSLATOR, config=config
    )[kind]
    assert isinstance(mapper, FromHostCopier)
    assert mapper.resource == resource
    assert not resource.namespaced
    assert mapper.host_label_selector == "shared=yes"


@pytest.mark.parametrize(
    "module", [storageclasses, ingressclasses, runtimeclasses, priorityclasses]
)
def test_without_a_config_every_host_object_is_copied(module: object) -> None:
    """No selector unless the setting gives one."""
    mapper = module.make(translator=TRANSLATOR)  # type: ignore[attr-defined]
    assert mapper.host_label_selector is None


@pytest.mark.parametrize("default", [True, False, None])
def test_a_priority_class_is_never_the_virtual_global_default(default: bool | None) -> None:
    """globalDefault is false on every copy; value, preemption policy and labels as on the host."""
    p_obj = {
        "metadata": {"name": "high", "uid": "u", "labels": {"team": "a"}},
        "value": 1000,
        "preemptionPolicy": "Never",
        "description": "host class",
    }
    if default is not None:
        p_obj["globalDefault"] = default
    copier = priorityclasses.make(translator=TRANSLATOR)
    assert isinstance(copier, priorityclasses.PriorityClassCopier)
    body = copier.virtual_copy(p_obj)
    assert "globalDefault" not in body  # false, as the API server writes it
    assert body["value"] == 1000
    assert body["preemptionPolicy"] == "Never"
    assert body["metadata"]["labels"] == {"team": "a", FROM_HOST_LABEL: "true"}
