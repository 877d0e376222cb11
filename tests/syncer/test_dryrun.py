"""The dry run's local answers: RFC 7386 merge patches, applied without a server."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from syncer.dryrun import merge_patch

scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=4)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=10,
)
objects = st.dictionaries(st.text(max_size=3), values, max_size=4)


def test_the_rfc_7386_examples() -> None:
    """RFC 7386 section 3's example: replace, remove with null, add, nested merge."""
    target = {"title": "Goodbye!", "author": {"givenName": "John", "familyName": "Doe"},
              "tags": ["example", "sample"], "content": "This will be unchanged"}  # fmt: skip
    patch = {"title": "Hello!", "phoneNumber": "+01-123-456-7890",
             "author": {"familyName": None}, "tags": ["example"]}  # fmt: skip
    assert merge_patch(target, patch) == {
        "title": "Hello!",
        "author": {"givenName": "John"},
        "tags": ["example"],
        "content": "This will be unchanged",
        "phoneNumber": "+01-123-456-7890",
    }


@given(objects, objects)
def test_a_patch_is_idempotent_and_leaves_its_inputs_alone(target: Any, patch: Any) -> None:
    """Applying a patch twice is applying it once; neither argument is changed."""
    before_target, before_patch = copy.deepcopy(target), copy.deepcopy(patch)
    once = merge_patch(target, patch)
    assert merge_patch(once, patch) == once
    assert (target, patch) == (before_target, before_patch)


@given(objects)
def test_the_empty_patch_changes_nothing(target: Any) -> None:
    """``{}`` is the identity."""
    assert merge_patch(target, {}) == target
