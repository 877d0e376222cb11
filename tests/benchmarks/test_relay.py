"""benchmarks.relay: the host twin the relay creates."""

from __future__ import annotations

from benchmarks.relay import twin
from syncer.translate import MANAGED_BY_LABEL, host_name


def test_relay_twin_is_translated_and_carries_no_node_or_priority() -> None:
    pod = {
        "metadata": {"name": "web", "namespace": "shop", "labels": {"app": "web"}, "uid": "u"},
        "spec": {"containers": [{"name": "c"}], "nodeName": "n1", "priority": 0},
        "status": {"phase": "Running"},
    }
    out = twin(pod, host_namespace="vc-host", vcluster="vc")
    assert out["metadata"] == {
        "name": host_name(name="web", namespace="shop", vcluster="vc"),
        "namespace": "vc-host",
        "labels": {MANAGED_BY_LABEL: "vc"},
    }
    assert out["spec"] == {"containers": [{"name": "c"}]}
    assert "status" not in out
