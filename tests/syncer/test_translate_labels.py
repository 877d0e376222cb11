"""Tests for syncer.translate labels and selectors: renamed keys, markers, selector terms."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from syncer.translate import (
    COLLIDING_LABEL_KEYS,
    MANAGED_BY_LABEL,
    NAMESPACE_LABEL,
    Translator,
)
from tests.syncer.translate_support import (
    QUALIFIED_NAME_PART,
    TRANSLATOR,
    dns_labels,
    sha10,
)


@pytest.mark.parametrize("key", sorted(COLLIDING_LABEL_KEYS))
def test_colliding_label_keys_are_renamed(key: str) -> None:
    """The four reserved keys become vcluster.loft.sh/label-<vc>-x-<hash>."""
    assert TRANSLATOR.translate_label_key(key) == f"vcluster.loft.sh/label-dev-x-{sha10(key)}"


@pytest.mark.parametrize(
    "key",
    [
        "vcluster.loft.sh/other",
        "vcluster.loft.sh/ns-label-dev-x-0123456789",
        "vcluster.loft.sh/fake-node",
        "vsyncer.dev/service-account-token",
    ],
)
def test_tenant_keys_in_the_syncers_key_space_are_renamed(key: str) -> None:
    """A tenant label cannot pose as a marker, a namespace-label copy or a token secret's."""
    assert TRANSLATOR.translate_label_key(key) == f"vcluster.loft.sh/label-dev-x-{sha10(key)}"


@pytest.mark.parametrize("key", ["app", "app.kubernetes.io/name", "loft.sh/x", "dev/x"])
def test_other_label_keys_are_unchanged(key: str) -> None:
    """Every other key is copied as it is."""
    assert TRANSLATOR.translate_label_key(key) == key


@given(vcluster=dns_labels(), key=st.sampled_from(sorted(COLLIDING_LABEL_KEYS)), other=st.text())
def test_translated_keys_are_qualified_names(vcluster: str, key: str, other: str) -> None:
    """Renamed and namespace-label keys are valid label keys for any vcluster name."""
    translator = Translator(vcluster=vcluster, host_namespace="host")
    for translated in (translator.translate_label_key(key), translator.namespace_label_key(other)):
        prefix, _, name = translated.partition("/")
        assert prefix == "vcluster.loft.sh"
        assert len(name) <= 63
        assert QUALIFIED_NAME_PART.fullmatch(name)


def test_translate_labels_adds_markers_and_keeps_values() -> None:
    """User labels (values untouched) plus managed-by and namespace markers."""
    labels = {"app": "web", "release": "v1", MANAGED_BY_LABEL: "spoof"}
    assert TRANSLATOR.translate_labels(labels, namespace="shop") == {
        "app": "web",
        TRANSLATOR.translate_label_key("release"): "v1",
        TRANSLATOR.translate_label_key(MANAGED_BY_LABEL): "spoof",
        MANAGED_BY_LABEL: "dev",
        NAMESPACE_LABEL: "shop",
    }


def test_cluster_scoped_labels_have_no_namespace_marker() -> None:
    """namespace='' (cluster-scoped) gets only the managed-by marker."""
    assert TRANSLATOR.translate_labels(None, namespace="") == {MANAGED_BY_LABEL: "dev"}


def test_namespace_labels_are_prefixed() -> None:
    """Labels of the virtual namespace become ns-label keys with the same values."""
    assert TRANSLATOR.translate_namespace_labels({"team": "a"}) == {
        "vcluster.loft.sh/ns-label-dev-x-ca8b22d0db": "a"
    }


@pytest.mark.parametrize("selector", [None, {}])
def test_missing_service_selector_stays_empty(selector: dict[str, str] | None) -> None:
    """No selector means 'endpoints managed elsewhere': no marker terms are added."""
    assert TRANSLATOR.translate_selector(selector, namespace="shop") == {}


def test_service_selector_gains_marker_terms() -> None:
    """Keys are translated; managed-by and namespace terms confine it to one namespace."""
    assert TRANSLATOR.translate_selector({"app": "web", "release": "v1"}, namespace="shop") == {
        "app": "web",
        "vcluster.loft.sh/label-dev-x-a4d451ec23": "v1",
        MANAGED_BY_LABEL: "dev",
        NAMESPACE_LABEL: "shop",
    }


def test_label_selector_translates_expressions() -> None:
    """matchExpressions keys are translated, values copied, and the input is untouched."""
    selector: dict[str, Any] = {
        "matchLabels": {"app": "web"},
        "matchExpressions": [
            {"key": "release", "operator": "In", "values": ["v1", "v2"]},
            {"key": "tier", "operator": "Exists"},
        ],
    }
    before = repr(selector)
    host = TRANSLATOR.translate_label_selector(selector, namespace="shop")
    assert repr(selector) == before
    assert host == {
        "matchLabels": {"app": "web", MANAGED_BY_LABEL: "dev", NAMESPACE_LABEL: "shop"},
        "matchExpressions": [
            {
                "key": TRANSLATOR.translate_label_key("release"),
                "operator": "In",
                "values": ["v1", "v2"],
            },
            {"key": "tier", "operator": "Exists"},
        ],
    }
    assert host["matchExpressions"][0]["values"] is not selector["matchExpressions"][0]["values"]


def test_empty_label_selector_matches_only_the_namespace() -> None:
    """An empty selector ('every pod') becomes 'every pod of this virtual namespace'."""
    assert TRANSLATOR.translate_label_selector({}, namespace="shop") == {
        "matchLabels": {MANAGED_BY_LABEL: "dev", NAMESPACE_LABEL: "shop"}
    }


def test_selectors_need_a_namespace() -> None:
    """A selector without a virtual namespace could match across namespaces: refused."""
    with pytest.raises(ValueError, match="namespace"):
        TRANSLATOR.translate_label_selector({}, namespace="")
