"""Host-name collisions: which virtual objects can share a host name, and who holds one."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from mappers.collisions import colliding_keys, holds, is_ambiguous, is_hashed, read_host
from syncer.api import CONFIGMAPS, PVCS, SECRETS
from tests.mappers.fakes import Fake, T, foreign, host_copy

parts = st.from_regex(r"[a-z0-9]([a-z0-9]{0,6}[a-z0-9])?", fullmatch=True)
names = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?", fullmatch=True)


def test_the_textbook_collision() -> None:
    """Secret a-x-b of namespace c and secret a of namespace b-x-c share one host name."""
    assert T.host_name("c", "a-x-b") == T.host_name("b-x-c", "a")
    assert colliding_keys("c", "a-x-b") == [("b-x-c", "a")]
    assert colliding_keys("b-x-c", "a") == [("c", "a-x-b")]
    assert is_ambiguous(T, "c", "a-x-b")
    assert is_ambiguous(T, "b-x-c", "a")
    assert not is_ambiguous(T, "c", "a")
    assert colliding_keys("c", "a") == []


def test_overlapping_separators_are_all_listed() -> None:
    """``a-x-x-b`` in ``c``: every split at a ``-x-`` is a possible partner."""
    assert colliding_keys("c", "a-x-x-b") == [("x-b-x-c", "a"), ("b-x-c", "a-x")]


def test_hashed_names_are_ambiguous() -> None:
    """A hashed host name could be another object's by a hash coincidence."""
    long = "n" * 60
    assert is_hashed(T, "shop", long)
    assert is_ambiguous(T, "shop", long)
    assert not is_hashed(T, "shop", "web")


@given(a=parts, b=parts, c=parts)
def test_constructed_collisions_are_found_from_both_sides(a: str, b: str, c: str) -> None:
    """Any (c, a-x-b) / (b-x-c, a) pair: same host name, both ambiguous, each lists the other."""
    one, other = ("c-" + c, f"{a}-x-{b}"), (f"{b}-x-c-{c}", a)
    if len(T.host_name(*one)) == len(f"{one[1]}-x-{one[0]}-x-{T.vcluster}"):
        assert T.host_name(*one) == T.host_name(*other)
        assert other in colliding_keys(*one)
        assert one in colliding_keys(*other)
    assert is_ambiguous(T, *one)
    assert is_ambiguous(T, *other)


@given(namespace=names, name=names)
def test_every_listed_partner_really_collides(namespace: str, name: str) -> None:
    """A listed partner differs from the pair and has the same unhashed joined name."""
    for partner in colliding_keys(namespace, name):
        assert partner != (namespace, name)
        assert f"{partner[1]}-x-{partner[0]}" == f"{name}-x-{namespace}"
    if not is_ambiguous(T, namespace, name):
        assert colliding_keys(namespace, name) == []


def test_holds_needs_the_exact_virtual_object_and_kind() -> None:
    """Only our copy of that very (namespace, name) and kind holds the host name."""
    copy = host_copy(SECRETS, namespace="b-x-c", name="a")
    assert holds(T, copy, resource=SECRETS, namespace="b-x-c", name="a")
    assert not holds(T, copy, resource=SECRETS, namespace="c", name="a-x-b")
    assert not holds(T, copy, resource=CONFIGMAPS, namespace="b-x-c", name="a")
    assert not holds(T, foreign(SECRETS, name=T.host_name("c", "x")), resource=SECRETS,
                     namespace="c", name="x")  # fmt: skip


async def test_read_host_sees_cached_then_live_objects() -> None:
    """The cache answers first; a name it lacks is read live (a foreign object shows up)."""
    cached = host_copy(SECRETS, namespace="c", name="s")
    outsider = foreign(PVCS, name=T.host_name("c", "claim"))
    fake = Fake(host={"secrets": [cached]}, host_live=[outsider])
    assert await read_host(fake.ctx, SECRETS, cached["metadata"]["name"]) == cached
    assert fake.calls == []
    assert await read_host(fake.ctx, PVCS, outsider["metadata"]["name"]) == outsider
    assert await read_host(fake.ctx, SECRETS, "nothing-here") is None
    assert fake.calls == [
        ("host", "get", outsider["metadata"]["name"]),
        ("host", "get", "nothing-here"),
    ]
