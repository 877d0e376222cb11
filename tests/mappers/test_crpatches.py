"""Field patches of toHost custom resources: selectors confined, names rewritten, bad shapes
refused, paths through lists, absent paths skipped."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mappers.crpatches import apply_patches
from syncer.api import MANAGED_BY_LABEL, NAMESPACE_LABEL, FieldPatch, Refused
from syncer.kit.testing import TRANSLATOR

SELECTOR = FieldPatch(path="spec.selector", type="labelSelector")
NAMES = FieldPatch(path="spec.targets[*].secretName", type="rewriteName")


def _patch(body: dict[str, Any], *patches: FieldPatch) -> dict[str, Any]:
    return apply_patches(body, patches, namespace="shop", translator=TRANSLATOR)


def test_a_label_selector_is_confined_to_the_namespace_of_this_vcluster() -> None:
    """matchLabels gain the marker terms; the input is unchanged."""
    body = {"spec": {"selector": {"matchLabels": {"app": "web"}}}}
    out = _patch(body, SELECTOR)
    labels = out["spec"]["selector"]["matchLabels"]
    assert labels[MANAGED_BY_LABEL] == TRANSLATOR.vcluster
    assert labels[NAMESPACE_LABEL] == "shop"
    assert body == {"spec": {"selector": {"matchLabels": {"app": "web"}}}}


def test_a_plain_map_selector_is_translated_like_a_services() -> None:
    out = _patch({"spec": {"selector": {"app": "web"}}}, SELECTOR)
    assert out["spec"]["selector"] == TRANSLATOR.translate_selector(
        {"app": "web"}, namespace="shop"
    )


def test_names_in_every_list_element_become_host_names() -> None:
    body = {"spec": {"targets": [{"secretName": "a"}, {"secretName": "b"}, {"other": 1}]}}
    out = _patch(body, NAMES)
    assert out["spec"]["targets"] == [
        {"secretName": TRANSLATOR.host_name("shop", "a")},
        {"secretName": TRANSLATOR.host_name("shop", "b")},
        {"other": 1},
    ]


def test_absent_paths_are_skipped() -> None:
    assert _patch({"spec": {}}, SELECTOR, NAMES) == {"spec": {}}


@pytest.mark.parametrize(
    ("body", "patch"),
    [
        ({"spec": {"selector": "app=web"}}, SELECTOR),
        ({"spec": {"selector": {"app": 3}}}, SELECTOR),
        ({"spec": {"selector": {"matchLabels": {}, "unknown": 1}}}, SELECTOR),
        ({"spec": {"targets": {"secretName": "a"}}}, NAMES),
        ({"spec": {"targets": [{"secretName": 7}]}}, NAMES),
        ({"spec": {"targets": [{"secretName": ""}]}}, NAMES),
    ],
)
def test_a_value_of_the_wrong_shape_refuses_the_object(
    body: dict[str, Any], patch: FieldPatch
) -> None:
    with pytest.raises(Refused):
        _patch(body, patch)


_labels = st.dictionaries(
    st.from_regex(r"[a-z]{1,6}", fullmatch=True), st.from_regex(r"[a-z0-9]{1,6}", fullmatch=True)
)


@given(match=_labels)
def test_a_patched_selector_always_requires_this_vcluster_and_namespace(
    match: dict[str, str],
) -> None:
    """Whatever the tenant writes, the host selector names this vcluster and this namespace."""
    out = _patch({"spec": {"selector": {"matchLabels": match}}}, SELECTOR)
    labels = out["spec"]["selector"]["matchLabels"]
    assert labels[MANAGED_BY_LABEL] == TRANSLATOR.vcluster
    assert labels[NAMESPACE_LABEL] == "shop"
