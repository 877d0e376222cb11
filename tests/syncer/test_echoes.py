"""Own writes: only versions we wrote, of tracked kinds, each recognised once, bounded."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from syncer.echoes import OwnWrites


def obj(name: str, rv: str, namespace: str = "ns") -> dict[str, object]:
    return {"metadata": {"namespace": namespace, "name": name, "resourceVersion": rv}}


def test_a_written_version_is_an_echo_exactly_once() -> None:
    writes = OwnWrites()
    writes.track("pods")
    writes.record("pods", obj("a", "10"))
    assert writes.is_echo("pods", obj("a", "10"))
    assert not writes.is_echo("pods", obj("a", "10"))
    assert len(writes) == 0


def test_other_versions_names_namespaces_and_kinds_are_not_echoes() -> None:
    writes = OwnWrites()
    writes.track("pods")
    writes.record("pods", obj("a", "10"))
    assert not writes.is_echo("pods", obj("a", "11"))
    assert not writes.is_echo("pods", obj("b", "10"))
    assert not writes.is_echo("pods", obj("a", "10", namespace="other"))
    assert not writes.is_echo("secrets", obj("a", "10"))
    assert writes.is_echo("pods", obj("a", "10"))


def test_untracked_kinds_and_objects_without_a_version_are_not_recorded() -> None:
    writes = OwnWrites()
    writes.track("pods")
    writes.record("secrets", obj("a", "1"))
    writes.record("pods", {"metadata": {"name": "a"}})
    writes.record("pods", {"kind": "Status"})
    assert len(writes) == 0
    assert not writes.is_echo("pods", {"metadata": {"name": "a"}})


def test_several_versions_of_one_object_are_each_recognised() -> None:
    writes = OwnWrites()
    writes.track("pods")
    writes.record("pods", obj("a", "10"))
    writes.record("pods", obj("a", "12"))
    assert writes.is_echo("pods", obj("a", "12"))
    assert writes.is_echo("pods", obj("a", "10"))


@given(st.lists(st.integers(min_value=0, max_value=50), max_size=200), st.integers(1, 20))
def test_memory_is_bounded_and_the_newest_are_kept(versions: list[int], capacity: int) -> None:
    writes = OwnWrites(capacity=capacity)
    writes.track("pods")
    for version in versions:
        writes.record("pods", obj("a", str(version)))
    assert len(writes) <= capacity
    newest = list(dict.fromkeys(reversed(versions)))[:capacity]
    for version in newest:
        assert writes.is_echo("pods", obj("a", str(version)))
