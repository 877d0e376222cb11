"""Tests for syncer.translate merges: the managed-keys annotation, merge_managed, three-way."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from syncer.translate import (
    managed_keys_annotation,
    merge_managed,
    parse_managed_keys,
    three_way_merge,
)

# -- managed keys and merges -----------------------------------------------------------

_KEYS = st.sampled_from(["a", "b", "c", "d", "e"])
_MAPS = st.dictionaries(_KEYS, st.sampled_from(["1", "2", "3"]))


def test_managed_keys_annotation_is_sorted_lines() -> None:
    """Newline-separated, sorted, without duplicates; parsing inverts it."""
    assert managed_keys_annotation(["b", "a", "b"]) == "a\nb"
    assert parse_managed_keys("a\nb") == {"a", "b"}
    assert parse_managed_keys(None) == set()
    assert parse_managed_keys("") == set()


@given(keys=st.sets(st.text(st.characters(exclude_characters="\n"), min_size=1)))
def test_managed_keys_round_trip(keys: set[str]) -> None:
    """parse(annotation(keys)) == keys for any keys without newlines."""
    assert parse_managed_keys(managed_keys_annotation(keys)) == keys


@pytest.mark.parametrize(
    ("desired", "current_host", "previously_managed", "expected"),
    [
        ({"a": "1"}, {}, set(), {"a": "1"}),
        ({"a": "1"}, {"a": "1", "h": "x"}, {"a"}, {"a": "1", "h": "x"}),
        ({}, {"a": "1", "h": "x"}, {"a"}, {"h": "x"}),
        ({"a": "2"}, {"a": "1"}, {"a"}, {"a": "2"}),
        ({"h": "v"}, {"h": "x"}, set(), {"h": "v"}),
        ({}, {"a": "changed-on-host"}, {"a"}, {}),
    ],
    ids=["create", "host-key-survives", "removed-in-virtual", "update", "conflict", "remove"],
)
def test_merge_managed_table(
    desired: dict[str, str],
    current_host: dict[str, str],
    previously_managed: set[str],
    expected: dict[str, str],
) -> None:
    """Before/after cases for managed-key bookkeeping."""
    assert (
        merge_managed(
            desired=desired, current_host=current_host, previously_managed=previously_managed
        )
        == expected
    )


@given(desired=_MAPS, current_host=_MAPS, previously_managed=st.sets(_KEYS))
def test_merge_managed_properties(
    desired: dict[str, str], current_host: dict[str, str], previously_managed: set[str]
) -> None:
    """Desired wins, host-only keys survive, removed keys go, nothing else appears."""
    merged = merge_managed(
        desired=desired, current_host=current_host, previously_managed=previously_managed
    )
    assert desired.items() <= merged.items()
    for key, value in current_host.items():
        if key not in desired and key not in previously_managed:
            assert merged[key] == value
    assert not (previously_managed - desired.keys()) & merged.keys()
    assert merged.keys() <= desired.keys() | current_host.keys()


@pytest.mark.parametrize(
    ("last", "virtual", "host", "expected"),
    [
        ({"a": "1"}, {"a": "1"}, {"a": "1"}, {"a": "1"}),
        ({"a": "1"}, {"a": "2"}, {"a": "1"}, {"a": "2"}),
        ({"a": "1"}, {"a": "1"}, {"a": "3"}, {"a": "3"}),
        ({"a": "1"}, {"a": "2"}, {"a": "3"}, {"a": "2"}),
        ({"a": "1"}, {}, {"a": "1"}, {}),
        ({"a": "1"}, {"a": "1"}, {}, {}),
        ({}, {}, {"h": "1"}, {"h": "1"}),
        ({}, {"v": "1"}, {}, {"v": "1"}),
        ({}, {"k": "v"}, {"k": "h"}, {"k": "v"}),
        ({"a": "1"}, {}, {"a": "3"}, {}),
        ({"a": "1"}, {"a": "2"}, {}, {"a": "2"}),
    ],
    ids=[
        "unchanged",
        "virtual-changed",
        "host-changed",
        "conflict-virtual-wins",
        "virtual-deleted",
        "host-deleted",
        "host-added",
        "virtual-added",
        "both-added-virtual-wins",
        "virtual-deleted-host-changed",
        "host-deleted-virtual-changed",
    ],
)
def test_three_way_merge_table(
    last: dict[str, str], virtual: dict[str, str], host: dict[str, str], expected: dict[str, str]
) -> None:
    """Before/after cases for maps that change on both sides."""
    assert three_way_merge(last=last, virtual=virtual, host=host) == expected


@given(last=_MAPS, virtual=_MAPS, host=_MAPS)
def test_three_way_merge_properties(
    last: dict[str, str], virtual: dict[str, str], host: dict[str, str]
) -> None:
    """One-sided changes (deletions too) propagate; true conflicts go to virtual."""
    merged = three_way_merge(last=last, virtual=virtual, host=host)
    for key in last.keys() | virtual.keys() | host.keys():
        base, v_value, p_value = last.get(key), virtual.get(key), host.get(key)
        if v_value == base:
            assert merged.get(key) == p_value
        else:
            assert merged.get(key) == v_value
    if host == last:
        assert merged == virtual
    if virtual == last:
        assert merged == host
    assert three_way_merge(last=merged, virtual=merged, host=merged) == merged
