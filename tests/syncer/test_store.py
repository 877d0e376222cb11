"""Tests for syncer.store."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from syncer.store import NAMESPACE_INDEX, TRAIN_AT, Obj, Store, key_of, thaw


def obj(namespace: str, name: str, **spec: Any) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name}
    if namespace:
        metadata["namespace"] = namespace
    return {"metadata": metadata, "spec": dict(spec)}


def mounted_configmaps(pod: Obj) -> Iterable[str]:
    """Index: the configmaps a pod mounts, as "namespace/name"."""
    namespace = pod["metadata"].get("namespace", "")
    return [f"{namespace}/{name}" for name in pod["spec"].get("configmaps", [])]


def names(objs: Iterable[Obj]) -> list[str]:
    return [o["metadata"]["name"] for o in objs]


def test_key_of_reads_metadata() -> None:
    """key_of is (namespace, name), with "" for cluster-scoped objects."""
    assert key_of(obj("ns", "a")) == ("ns", "a")
    assert key_of(obj("", "node-1")) == ("", "node-1")
    with pytest.raises(ValueError, match=r"metadata\.name"):
        key_of({"metadata": {"namespace": "ns"}})
    with pytest.raises(ValueError, match=r"metadata\.name"):
        key_of({})


def test_add_get_update_delete() -> None:
    """Objects are stored by key, replaced by update and removed by delete."""
    store = Store()
    store.add(obj("ns", "a", v=1))
    store.add(obj("ns", "b", v=1))
    assert len(store) == 2
    assert ("ns", "a") in store
    cached = store.get("ns", "a")
    assert cached is not None
    assert cached["spec"] == {"v": 1}
    store.update(obj("ns", "a", v=2))
    updated = store.get("ns", "a")
    assert updated is not None
    assert updated["spec"] == {"v": 2}
    removed = store.delete(obj("ns", "a"))
    assert removed is not None
    assert removed["spec"] == {"v": 2}
    assert store.get("ns", "a") is None
    assert store.delete(obj("ns", "a")) is None
    assert store.keys() == [("ns", "b")]
    assert names(store.list()) == ["b"]


def test_replace_returns_vanished_objects() -> None:
    """replace holds exactly the new list and returns what disappeared, for delete events."""
    store = Store()
    for name in ("a", "b", "c"):
        store.add(obj("ns", name))
    vanished = store.replace([obj("ns", "b", v=2), obj("ns", "d")], "42")
    assert sorted(names(vanished)) == ["a", "c"]
    assert sorted(store.keys()) == [("ns", "b"), ("ns", "d")]
    cached = store.get("ns", "b")
    assert cached is not None
    assert cached["spec"] == {"v": 2}
    assert store.resource_version == "42"
    assert store.by_index(NAMESPACE_INDEX, "ns") == store.list()


def test_replace_with_duplicates_keeps_the_last() -> None:
    """A list with the same key twice stores the last copy."""
    store = Store()
    store.replace([obj("ns", "a", v=1), obj("ns", "a", v=2)], "1")
    cached = store.get("ns", "a")
    assert cached is not None
    assert cached["spec"] == {"v": 2}


def test_namespace_index_is_built_in() -> None:
    """Every store indexes by namespace, cluster-scoped objects under ""."""
    store = Store()
    store.add(obj("x", "a"))
    store.add(obj("y", "b"))
    store.add(obj("x", "c"))
    store.add(obj("", "node"))
    assert names(store.by_index(NAMESPACE_INDEX, "x")) == ["a", "c"]
    assert store.keys_by_index(NAMESPACE_INDEX, "") == [("", "node")]
    assert store.by_index(NAMESPACE_INDEX, "absent") == []
    assert sorted(store.index_values(NAMESPACE_INDEX)) == ["", "x", "y"]
    with pytest.raises(ValueError, match="already exists"):
        store.add_index(NAMESPACE_INDEX, lambda o: [])


def test_custom_index_follows_updates_and_deletes() -> None:
    """An update that changes an object's index values moves it between buckets."""
    store = Store()
    store.add_index("configmap", mounted_configmaps)
    store.add(obj("ns", "pod-1", configmaps=["a", "b"]))
    store.add(obj("ns", "pod-2", configmaps=["b"]))
    assert names(store.by_index("configmap", "ns/b")) == ["pod-1", "pod-2"]
    store.update(obj("ns", "pod-1", configmaps=["c", "c"]))
    assert store.by_index("configmap", "ns/a") == []
    assert names(store.by_index("configmap", "ns/b")) == ["pod-2"]
    assert names(store.by_index("configmap", "ns/c")) == ["pod-1"]
    assert sorted(store.index_values("configmap")) == ["ns/b", "ns/c"]
    store.delete(obj("ns", "pod-2"))
    assert store.index_values("configmap") == ["ns/c"]
    assert store.keys_by_index("configmap", "ns/c") == [("ns", "pod-1")]


def test_add_index_back_fills_existing_objects() -> None:
    """An index added to a non-empty store covers the objects already cached."""
    store = Store()
    store.add(obj("ns", "pod-1", configmaps=["a"]))
    store.add_index("configmap", mounted_configmaps)
    assert names(store.by_index("configmap", "ns/a")) == ["pod-1"]


def test_unknown_index_is_an_error() -> None:
    """Looking up an index that was never added raises KeyError."""
    with pytest.raises(KeyError, match="no index named"):
        Store().by_index("nope", "x")


def test_cached_objects_are_read_only() -> None:
    """The store hands out read-only views; thaw gives an independent mutable deep copy."""
    store = Store()
    store.add(obj("ns", "a", items=[1, 2], nested={"k": "v"}))
    cached = store.get("ns", "a")
    assert cached is not None
    with pytest.raises(TypeError):
        cached["spec"] = {}  # type: ignore[index]
    copy = thaw(cached)
    copy["spec"]["items"].append(3)
    copy["spec"]["nested"]["k"] = "changed"
    copy["metadata"]["labels"] = {"x": "y"}
    assert cached["spec"] == {"items": [1, 2], "nested": {"k": "v"}}
    assert "labels" not in cached["metadata"]
    assert store.add(cached) is cached


def test_thaw_falls_back_for_values_json_cannot_hold() -> None:
    """thaw still deep-copies objects orjson refuses (integers beyond 64 bits)."""
    store = Store()
    cached = store.add(obj("ns", "a", huge=2**70, tags=("x", "y")))
    copy = thaw(cached)
    assert copy["spec"] == {"huge": 2**70, "tags": ["x", "y"]}
    copy["spec"]["huge"] = 0
    assert cached["spec"]["huge"] == 2**70


NAMESPACES = st.sampled_from(["", "a", "b"])
POD_NAMES = st.sampled_from(["p1", "p2", "p3", "p4"])
PODS = st.builds(
    lambda ns, name, cms: obj(ns, name, configmaps=cms),
    NAMESPACES,
    POD_NAMES,
    st.lists(st.sampled_from(["x", "y", "z"]), max_size=3),
)
STORE_OPS = st.one_of(
    st.tuples(st.just("add"), PODS),
    st.tuples(st.just("delete"), PODS),
    st.tuples(st.just("replace"), st.lists(PODS, max_size=6)),
    st.tuples(st.just("add_index"), st.none()),
)


def recompute(store: Store, fn: Any) -> dict[str, set[tuple[str, str]]]:
    expected: dict[str, set[tuple[str, str]]] = {}
    for cached in store.list():
        for value in fn(cached):
            expected.setdefault(value, set()).add(key_of(cached))
    return expected


@settings(max_examples=200, deadline=None)
@given(ops=st.lists(STORE_OPS, max_size=40))
def test_indexes_always_match_a_recomputation(ops: list[tuple[str, Any]]) -> None:
    """After any op sequence every index equals one rebuilt from scratch, and contents match."""
    store = Store()
    model: dict[tuple[str, str], dict[str, Any]] = {}
    indexes: dict[str, Any] = {NAMESPACE_INDEX: lambda o: [key_of(o)[0]]}
    for op, arg in ops:
        if op == "add":
            store.add(arg)
            model[key_of(arg)] = arg
        elif op == "delete":
            store.delete(arg)
            model.pop(key_of(arg), None)
        elif op == "replace":
            before = dict(model)
            model = {key_of(o): o for o in arg}
            vanished = store.replace(arg, "rv")
            assert sorted(key_of(o) for o in vanished) == sorted(set(before) - set(model))
        elif op == "add_index" and "configmap" not in indexes:
            store.add_index("configmap", mounted_configmaps)
            indexes["configmap"] = mounted_configmaps
        assert {key_of(o): dict(o) for o in store.list()} == model
        for index, fn in indexes.items():
            expected = recompute(store, fn)
            assert set(store.index_values(index)) == set(expected)
            for value, keys in expected.items():
                assert set(store.keys_by_index(index, value)) == keys
                assert len(store.by_index(index, value)) == len(keys)
                assert store.has_indexed(index, value) == bool(keys)
            assert not store.has_indexed(index, "no such value")


def pod_like(n: int) -> dict[str, Any]:
    """Similar but not identical objects, like the pods of a few deployments."""
    return {
        "metadata": {
            "namespace": f"ns-{n % 7}",
            "name": f"web-{n}",
            "uid": f"{n:08x}-0000-4000-8000-{n * 7919:012x}",
            "resourceVersion": str(1000 + n),
            "labels": {"app": f"app-{n % 5}", "pod-template-hash": f"{n % 3:x}7d9f8c6b5d"},
        },
        "spec": {
            "containers": [{"name": "app", "image": f"registry.example/app-{n % 5}:1.{n % 4}"}],
            "configmaps": [f"cm-{n % 11}"],
            "nodeName": f"node-{n % 3}",
        },
        "status": {"phase": "Running", "podIP": f"10.0.{n // 250}.{n % 250}"},
    }


def test_a_large_store_compresses_and_every_read_is_exact() -> None:
    """Past TRAIN_AT objects the store keeps zstd frames; reads, indexes, updates stay exact."""
    store = Store()
    store.add_index("configmap", mounted_configmaps)
    model = {}
    for n in range(TRAIN_AT * 3):
        model[key_of(pod_like(n))] = pod_like(n)
        store.add(pod_like(n))
    assert store.compressed
    plain = sum(len(json.dumps(o, separators=(",", ":"))) for o in model.values())
    assert store.stored_bytes() * 4 < plain
    changed = pod_like(5)
    changed["status"]["phase"] = "Succeeded"
    store.update(changed)
    model[key_of(changed)] = changed
    store.delete(pod_like(6))
    del model[key_of(pod_like(6))]
    assert {key_of(o): thaw(o) for o in store.list()} == model
    assert thaw(store.get("ns-5", "web-5") or {}) == changed
    assert len(store.by_index("configmap", "ns-0/cm-0")) == len(
        [o for o in model.values() if "ns-0/cm-0" in mounted_configmaps(o)]
    )
    store.replace(list(model.values())[:10], "99")
    assert {key_of(o): thaw(o) for o in store.list()} == dict(list(model.items())[:10])


def test_objects_too_small_to_train_on_stay_plain_json() -> None:
    """If no dictionary can be trained, the store works uncompressed."""
    store = Store()
    for n in range(TRAIN_AT):
        store.add({"metadata": {"name": f"{n}"}})
    assert store.get("", "7") == {"metadata": {"name": "7"}}
    assert len(store.list()) == TRAIN_AT


def test_replace_files_every_object_under_every_index() -> None:
    """A relist rebuilds all indexes at once, object by object, to the same result as adds."""
    seen: list[tuple[str, str]] = []

    def tracing(index: str) -> Any:
        def fn(o: Obj) -> list[str]:
            seen.append((index, o["metadata"]["name"]))
            return list(mounted_configmaps(o))

        return fn

    store = Store()
    store.add_index("a", tracing("a"))
    store.add_index("b", tracing("b"))
    seen.clear()
    store.replace([pod_like(1), pod_like(2)], "5")
    assert seen == [("a", "web-1"), ("b", "web-1"), ("a", "web-2"), ("b", "web-2")]
    assert store.keys_by_index("a", "ns-1/cm-1") == [("ns-1", "web-1")]
    assert store.keys_by_index("b", "ns-2/cm-2") == [("ns-2", "web-2")]
