"""Which built-in kinds the drift check compares, and what the claims' comparison adds."""

from __future__ import annotations

from typing import Any

import pytest

from mappers import configmaps, endpoints, events, nodes, pods, pvcs, secrets, services
from mappers.pvcs import PersistentVolumeClaimMapper
from syncer.api import DriftDetector, thaw
from tests.mappers.fakes import Fake, T

Json = dict[str, Any]


@pytest.mark.parametrize(
    ("factory", "compared"),
    [
        (pods.make, True),
        (services.make, True),
        (endpoints.make, True),
        (configmaps.make, True),
        (secrets.make, True),
        (pvcs.make, True),
        # fromHost kinds keyed by host names: every host node or event without a virtual
        # counterpart would count as an orphan (their docstrings say why none is needed).
        (nodes.make, False),
        (events.make, False),
    ],
)
def test_which_builtin_kinds_are_drift_detectors(factory: Any, compared: bool) -> None:
    assert isinstance(factory(translator=T), DriftDetector) is compared


def v_claim(**status: Any) -> Json:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "data", "namespace": "shop", "uid": "v-uid"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
        "status": status,
    }


def p_claim(mapper: PersistentVolumeClaimMapper, v: Json, **status: Any) -> Json:
    body = mapper.desired_host(Fake().ctx, v, None)
    assert body is not None
    body["metadata"]["uid"] = "p-uid"
    body["spec"]["volumeName"] = "pv-1"  # set by the host's binder: not ours to compare
    body["status"] = status
    return body


def test_a_claim_whose_virtual_status_shows_the_host_status_is_no_drift() -> None:
    mapper = PersistentVolumeClaimMapper(translator=T)
    v = v_claim(phase="Bound")
    assert mapper.drift(Fake().ctx, v, p_claim(mapper, v, phase="Bound")) is None


def test_a_host_claim_status_not_copied_up_is_drift() -> None:
    mapper = PersistentVolumeClaimMapper(translator=T)
    v = v_claim(phase="Pending")
    assert mapper.drift(Fake().ctx, v, p_claim(mapper, v, phase="Bound")) == "status"


def test_a_claim_keeps_the_copied_kinds_comparison_first() -> None:
    mapper = PersistentVolumeClaimMapper(translator=T)
    v = v_claim(phase="Pending")
    p = p_claim(mapper, v, phase="Bound")
    grown = thaw(v)
    grown["spec"]["resources"]["requests"]["storage"] = "2Gi"
    assert mapper.drift(Fake().ctx, grown, p) == "spec"
    assert mapper.drift(Fake().ctx, v, None) == "missing"
