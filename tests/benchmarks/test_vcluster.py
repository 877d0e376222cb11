"""benchmarks.vcluster: the config merge and the overrides vcluster's syncer starts with."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from benchmarks.vcluster import config, merged

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
