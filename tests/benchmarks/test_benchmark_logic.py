"""The benchmarks' pure logic: the vcluster config merge, the relay's twin, the load split."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from benchmarks.load import busy_cpu_seconds
from benchmarks.relay import twin
from benchmarks.vcluster import config, merged
from syncer.translate import MANAGED_BY_LABEL, host_name

_keys = st.sampled_from(["a", "b", "c", "d"])
_trees: st.SearchStrategy[dict[str, Any]] = st.recursive(
    st.dictionaries(_keys, st.integers(), max_size=3),
    lambda inner: st.dictionaries(_keys, inner | st.integers(), max_size=3),
    max_leaves=12,
)


def _leaves(tree: dict[str, Any], prefix: tuple[str, ...] = ()) -> dict[tuple[str, ...], Any]:
    out: dict[tuple[str, ...], Any] = {}
    for key, value in tree.items():
        if isinstance(value, dict):  # an empty mapping merges into nothing: no leaf
            out.update(_leaves(value, (*prefix, key)))
        else:
            out[(*prefix, key)] = value
    return out


@given(base=_trees, overrides=_trees)
def test_merge_keeps_every_override_leaf_and_leaves_the_inputs_alone(
    base: dict[str, Any], overrides: dict[str, Any]
) -> None:
    before = repr(base), repr(overrides)
    out = merged(base, overrides)
    for path, value in _leaves(overrides).items():
        node: Any = out
        for key in path:
            node = node[key]
        assert node == value
    assert (repr(base), repr(overrides)) == before


@given(base=_trees)
def test_merge_keeps_base_keys_no_override_touches(base: dict[str, Any]) -> None:
    assert merged(base, {}) == base
    assert merged({"keep": 1, **base}, {"other": {"x": 2}})["keep"] == 1


def test_config_turns_off_what_our_control_plane_replaces() -> None:
    values = {"controlPlane": {"proxy": {"bindAddress": "0.0.0.0", "port": 8443, "extraSANs": []}}}
    certs = {
        k: Path(f"/x/{k}")
        for k in (
            "etcd-ca",
            "etcd-client",
            "etcd-client-key",
            "virtual-kubeconfig",
            "virtual-ca",
            "virtual-ca-key",
        )
    }
    out = merged(values, config(etcd="127.0.0.1:2379", certs=certs, proxy_port=1234))
    k8s = out["controlPlane"]["distro"]["k8s"]
    assert k8s["apiServer"]["enabled"] is False
    assert k8s["controllerManager"]["enabled"] is False
    assert out["controlPlane"]["proxy"] == {
        "bindAddress": "127.0.0.1",
        "port": 1234,
        "extraSANs": [],
    }
    assert out["controlPlane"]["backingStore"]["etcd"]["external"]["endpoint"] == "127.0.0.1:2379"
    assert out["telemetry"]["enabled"] is False


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


def test_busy_cpu_excludes_idle_and_iowait() -> None:
    # user nice system idle iowait irq softirq steal (ticks)
    stat = "cpu  100 10 50 1000 40 5 5 0 0 0\ncpu0 1 2 3 4 5 6 7 8 0 0\n"
    assert busy_cpu_seconds(stat) == 170 / os.sysconf("SC_CLK_TCK")
