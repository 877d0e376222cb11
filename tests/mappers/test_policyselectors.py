"""Policy selectors: never another vcluster's or namespace's pods, exactly the tenant's."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mappers.policyselectors import namespaced_pod_selector, pod_selector
from syncer.api import MANAGED_BY_LABEL, NAMESPACE_LABEL, Refused
from syncer.kit.testing import TRANSLATOR as T
from tests.mappers.labelselectors import selects

Json = dict[str, Any]

#: Tenant keys, including the ones the host renames (colliding, reserved prefixes).
KEYS = st.sampled_from(
    [
        "app",
        "tier",
        "release",
        "kubernetes.io/metadata.name",
        MANAGED_BY_LABEL,
        NAMESPACE_LABEL,
        "vcluster.loft.sh/controlled-by",
        "vsyncer.dev/anything",
    ]
)
VALUES = st.sampled_from(["a", "b", "vc", "other", "shop", "tea"])
NAMESPACES = st.sampled_from(["shop", "tea", "other"])
LABELS = st.dictionaries(KEYS, VALUES, max_size=4)


@st.composite
def requirements(draw: st.DrawFn) -> Json:
    operator = draw(st.sampled_from(["In", "NotIn", "Exists", "DoesNotExist"]))
    requirement: Json = {"key": draw(KEYS), "operator": operator}
    if operator in ("In", "NotIn"):
        requirement["values"] = draw(st.lists(VALUES, min_size=1, max_size=3, unique=True))
    return requirement


@st.composite
def selectors(draw: st.DrawFn) -> Json:
    selector: Json = {}
    if draw(st.booleans()):
        selector["matchLabels"] = draw(LABELS)
    if draw(st.booleans()):
        selector["matchExpressions"] = draw(st.lists(requirements(), max_size=3))
    return selector


@st.composite
def host_pod_labels(draw: st.DrawFn) -> dict[str, str]:
    """Labels any host pod may carry: this or another vcluster's markers, copies, host keys."""
    keys = st.one_of(
        KEYS,
        KEYS.map(T.translate_label_key),
        KEYS.map(T.namespace_label_key),
        st.just(MANAGED_BY_LABEL),
        st.just(NAMESPACE_LABEL),
    )
    return draw(st.dictionaries(keys, VALUES, max_size=8))


def host_labels_of(labels: dict[str, str], *, namespace: str, ns_labels: dict[str, str]) -> Json:
    """What the pods mapper puts on the host pod of a virtual pod (labels and namespace labels)."""
    return {
        **T.translate_labels(labels, namespace=namespace),
        **T.translate_namespace_labels(ns_labels),
    }


@given(selector=selectors(), namespace=NAMESPACES, labels=host_pod_labels())
def test_a_pod_selector_never_matches_another_vcluster_or_namespace(
    selector: Json, namespace: str, labels: dict[str, str]
) -> None:
    """Whatever the host pod's labels: selected → managed by this vcluster, in this namespace."""
    host = pod_selector(selector, namespace=namespace, translator=T, path="spec.podSelector")
    if selects(host, labels):
        assert labels.get(MANAGED_BY_LABEL) == T.vcluster
        assert labels.get(NAMESPACE_LABEL) == namespace


@given(pods=st.none() | selectors(), namespaces=selectors(), labels=host_pod_labels())
def test_a_namespace_peer_never_matches_another_vclusters_pod(
    pods: Json | None, namespaces: Json, labels: dict[str, str]
) -> None:
    """Selected → managed by this vcluster (the host's own pods carry no marker)."""
    host = namespaced_pod_selector(pods=pods, namespaces=namespaces, translator=T, path="p")
    if selects(host, labels):
        assert labels.get(MANAGED_BY_LABEL) == T.vcluster


@given(
    selector=selectors(),
    namespace=NAMESPACES,
    pod_namespace=NAMESPACES,
    labels=LABELS,
    ns_labels=LABELS,
)
def test_a_pod_selector_selects_exactly_the_tenants_pods_of_its_namespace(
    selector: Json, namespace: str, pod_namespace: str, labels: Json, ns_labels: Json
) -> None:
    """On the host it picks a tenant pod iff it picks that pod in virtual, in its namespace."""
    host = pod_selector(selector, namespace=namespace, translator=T, path="spec.podSelector")
    on_host = host_labels_of(labels, namespace=pod_namespace, ns_labels=ns_labels)
    assert selects(host, on_host) == (selects(selector, labels) and pod_namespace == namespace)


@given(
    pods=st.none() | selectors(),
    namespaces=selectors(),
    pod_namespace=NAMESPACES,
    labels=LABELS,
    ns_labels=LABELS,
)
def test_a_namespace_peer_selects_exactly_the_pods_of_the_namespaces_it_picks(
    pods: Json | None, namespaces: Json, pod_namespace: str, labels: Json, ns_labels: Json
) -> None:
    """Picked on the host iff its namespace's labels and its own labels are picked in virtual."""
    host = namespaced_pod_selector(pods=pods, namespaces=namespaces, translator=T, path="p")
    on_host = host_labels_of(labels, namespace=pod_namespace, ns_labels=ns_labels)
    in_virtual = selects(namespaces, ns_labels) and (pods is None or selects(pods, labels))
    assert selects(host, on_host) == in_virtual


def test_an_empty_namespace_selector_is_every_pod_of_this_vcluster() -> None:
    host = namespaced_pod_selector(pods=None, namespaces={}, translator=T, path="p")
    assert host == {"matchLabels": {MANAGED_BY_LABEL: T.vcluster}}


def test_an_empty_pod_selector_is_every_pod_of_its_namespace() -> None:
    host = pod_selector({}, namespace="shop", translator=T, path="spec.podSelector")
    assert host == {"matchLabels": {MANAGED_BY_LABEL: T.vcluster, NAMESPACE_LABEL: "shop"}}


@pytest.mark.parametrize(
    ("selector", "path"),
    [
        ({"matchFields": []}, "spec.podSelector.matchFields"),
        (
            {"matchExpressions": [{"key": "a", "operator": "Exists", "x": 1}]},
            "spec.podSelector.matchExpressions[0].x",
        ),
    ],
)
def test_an_unknown_selector_field_is_refused(selector: Json, path: str) -> None:
    with pytest.raises(Refused) as refused:
        pod_selector(selector, namespace="shop", translator=T, path="spec.podSelector")
    assert refused.value.reason == "unknown_field"
    assert refused.value.message.startswith(path + ":")
