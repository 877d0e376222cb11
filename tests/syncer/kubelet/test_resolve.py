"""Tests for syncer.kubelet.resolve: virtual pod → host pod by the cache and ownership rule."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from syncer.kubelet.resolve import HostPod, PodResolver, container_names
from syncer.translate import MANAGED_BY_LABEL, OBJECT_KIND_ANNOTATION, OBJECT_NAME_ANNOTATION
from tests.syncer.translate_support import TRANSLATOR, host_object


class DictCache:
    """A host pods cache keyed (namespace, name)."""

    def __init__(self, *objs: Mapping[str, Any]) -> None:
        self.items = {(o["metadata"]["namespace"], o["metadata"]["name"]): o for o in objs}

    def get(self, namespace: str, name: str) -> Mapping[str, Any] | None:
        return self.items.get((namespace, name))


def virtual_pod(
    namespace: str, name: str, *, containers: Sequence[str] = ("app",), **more: Sequence[str]
) -> dict[str, Any]:
    """A virtual pod whose spec names ``containers`` (``initContainers=...`` etc. in ``more``)."""
    spec: dict[str, Any] = {"containers": [{"name": c, "image": "busybox"} for c in containers]}
    for field, names in more.items():
        spec[field] = [{"name": c, "image": "busybox"} for c in names]
    return {"metadata": {"namespace": namespace, "name": name}, "spec": spec}


def twins(namespace: str, name: str) -> tuple[DictCache, DictCache]:
    """The host pods and virtual pods caches of one synced pod with one container, ``app``."""
    return DictCache(host_object(TRANSLATOR, namespace, name)), DictCache(
        virtual_pod(namespace, name)
    )


def _resolver(*objs: Mapping[str, Any]) -> PodResolver:
    """Every host pod in ``objs`` with the virtual pod its provenance names."""
    keys = [TRANSLATOR.virtual_key_from_host(o) for o in objs]
    virtual = [virtual_pod(*key) for key in keys if key is not None]
    return PodResolver(
        translator=TRANSLATOR, host_pods=DictCache(*objs), virtual_pods=DictCache(*virtual)
    )


def test_synced_pod_resolves_to_its_host_name() -> None:
    """A host pod exactly as the syncer creates it is the twin."""
    resolver = _resolver(host_object(TRANSLATOR, "shop", "web"))
    assert resolver.resolve(namespace="shop", pod="web") == HostPod(
        namespace="vcluster-dev",
        name=TRANSLATOR.host_name("shop", "web"),
        containers=frozenset({"app"}),
    )


def test_no_cache_or_no_host_pod_is_none() -> None:
    """Before the caches exist, or without a host pod, nothing resolves."""
    host, virtual = twins("a", "b")
    for host_pods, virtual_pods in ((None, virtual), (host, None)):
        resolver = PodResolver(
            translator=TRANSLATOR, host_pods=host_pods, virtual_pods=virtual_pods
        )
        assert resolver.resolve(namespace="a", pod="b") is None
    assert _resolver().resolve(namespace="shop", pod="web") is None


def test_a_host_pod_whose_virtual_pod_is_gone_is_none() -> None:
    """The host copy outlives its virtual pod for a moment (deletion): nothing to reach."""
    resolver = PodResolver(
        translator=TRANSLATOR,
        host_pods=DictCache(host_object(TRANSLATOR, "shop", "web")),
        virtual_pods=DictCache(),
    )
    assert resolver.resolve(namespace="shop", pod="web") is None


def test_containers_are_those_of_the_virtual_spec_only() -> None:
    """Every kind of container the tenant declared; never one only the host copy has."""
    host = host_object(TRANSLATOR, "shop", "web")
    host["spec"] = {"containers": [{"name": "app"}, {"name": "istio-proxy"}]}
    v_pod = virtual_pod(
        "shop",
        "web",
        containers=("app",),
        initContainers=("init",),
        ephemeralContainers=("debugger",),
    )
    resolver = PodResolver(
        translator=TRANSLATOR, host_pods=DictCache(host), virtual_pods=DictCache(v_pod)
    )
    found = resolver.resolve(namespace="shop", pod="web")
    assert found is not None
    assert found.containers == {"app", "init", "debugger"}


@given(
    st.one_of(
        st.none(),
        st.integers(),
        st.lists(st.one_of(st.none(), st.text(), st.dictionaries(st.text(), st.integers()))),
        st.dictionaries(st.sampled_from(["containers", "initContainers"]), st.integers()),
    )
)
def test_container_names_of_any_shape_never_raise(spec: Any) -> None:
    """A malformed spec names no container instead of failing the request."""
    names = container_names({"spec": spec})
    assert all(isinstance(name, str) for name in names)


def _tampered(change: str) -> dict[str, Any]:
    p_obj = copy.deepcopy(host_object(TRANSLATOR, "shop", "web"))
    meta = p_obj["metadata"]
    if change == "other vcluster":
        meta["labels"][MANAGED_BY_LABEL] = "other"
    elif change == "no marker":
        del meta["labels"][MANAGED_BY_LABEL]
    elif change == "kind":
        meta["annotations"][OBJECT_KIND_ANNOTATION] = "/v1, Kind=Secret"
    elif change == "provenance":
        meta["annotations"][OBJECT_NAME_ANNOTATION] = "db"
    return p_obj


@pytest.mark.parametrize("change", ["other vcluster", "no marker", "kind", "provenance"])
def test_host_pod_that_is_not_ours_is_none(change: str) -> None:
    """A host pod under the translated name that fails the ownership rule is not a twin."""
    assert _resolver(_tampered(change)).resolve(namespace="shop", pod="web") is None


def test_name_collision_resolves_only_the_pod_named_by_provenance() -> None:
    """Two virtual pods whose host names collide: only the one the provenance names resolves."""
    assert TRANSLATOR.host_name("x-b", "a") == TRANSLATOR.host_name("b", "a-x")  # a-x-x-b-x-dev
    resolver = _resolver(host_object(TRANSLATOR, "x-b", "a"))
    assert resolver.resolve(namespace="x-b", pod="a") is not None
    assert resolver.resolve(namespace="b", pod="a-x") is None


@pytest.mark.parametrize(
    ("namespace", "pod"),
    [("", "web"), ("shop", ""), ("Shop", "web"), ("shop", "we b"), ("shop", "wéb"), ("..", "a")],
)
def test_names_that_are_not_kubernetes_names_are_none(namespace: str, pod: str) -> None:
    """Anything but DNS-1123 names names no pod (and is never translated)."""
    assert (
        _resolver(host_object(TRANSLATOR, "shop", "web")).resolve(namespace=namespace, pod=pod)
        is None
    )
