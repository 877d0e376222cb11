"""Tests for syncer.kubelet.resolve: virtual pod → host pod by the cache and ownership rule."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import pytest

from syncer.kubelet.resolve import HostPod, PodResolver
from syncer.translate import MANAGED_BY_LABEL, OBJECT_KIND_ANNOTATION, OBJECT_NAME_ANNOTATION
from tests.syncer.translate_support import TRANSLATOR, host_object


class DictCache:
    """A host pods cache keyed (namespace, name)."""

    def __init__(self, *objs: Mapping[str, Any]) -> None:
        self.items = {(o["metadata"]["namespace"], o["metadata"]["name"]): o for o in objs}

    def get(self, namespace: str, name: str) -> Mapping[str, Any] | None:
        return self.items.get((namespace, name))


def _resolver(*objs: Mapping[str, Any]) -> PodResolver:
    return PodResolver(translator=TRANSLATOR, host_pods=DictCache(*objs))


def test_synced_pod_resolves_to_its_host_name() -> None:
    """A host pod exactly as the syncer creates it is the twin."""
    resolver = _resolver(host_object(TRANSLATOR, "shop", "web"))
    assert resolver.resolve(namespace="shop", pod="web") == HostPod(
        namespace="vcluster-dev", name=TRANSLATOR.host_name("shop", "web")
    )


def test_no_cache_or_no_host_pod_is_none() -> None:
    """Before the host cache exists, or without a host pod, nothing resolves."""
    assert (
        PodResolver(translator=TRANSLATOR, host_pods=None).resolve(namespace="a", pod="b") is None
    )
    assert _resolver().resolve(namespace="shop", pod="web") is None


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
