"""Tests for syncer.translate names: safe_concat, host names and their collisions."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from syncer.translate import (
    host_cluster_name,
    host_name,
    object_kind,
    safe_concat,
)
from tests.syncer.translate_support import (
    DNS1035_LABEL,
    DNS1123_LABEL,
    DNS1123_SUBDOMAIN,
    POD,
    TRANSLATOR,
    dns1035_labels,
    dns_labels,
    dns_subdomains,
    dotted_at_cut,
    host_object,
    sha10,
)

# -- safe_concat and host names: fixed vectors ------------------------------------


def test_safe_concat_joins_short_parts_with_dashes() -> None:
    """Up to 63 characters the parts are simply joined with '-'."""
    assert safe_concat("web", "x", "shop", "x", "dev") == "web-x-shop-x-dev"
    assert safe_concat("a" * 63) == "a" * 63


def test_safe_concat_hashes_from_64_characters() -> None:
    """At 64 characters the result is the 52-character cut, '-', and 10 hex digits."""
    joined = "a" * 64
    assert safe_concat(joined) == "a" * 52 + "-" + sha10(joined)


def test_long_host_name_vector() -> None:
    """A 60-character name: 63 characters, the cut of the joined string, and its hash."""
    joined = "a" * 60 + "-x-shop-x-dev"
    result = host_name(name="a" * 60, namespace="shop", vcluster="dev")
    assert len(result) == 63
    assert result[:52] == joined[:52]
    assert result[52:] == "-" + sha10(joined)
    assert result == "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-6595e6b3a2"


def test_cut_ending_in_a_dot_loses_the_dot() -> None:
    """When the 52-character cut ends in '.', the '.-' becomes '-' (62 characters)."""
    name = "a" * 51 + "." + "b" * 20
    joined = name + "-x-shop-x-dev"
    assert joined[51] == "."
    result = host_name(name=name, namespace="shop", vcluster="dev")
    assert result == "a" * 51 + "-" + sha10(joined)
    assert len(result) == 62
    assert result == "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-194103718a"
    assert DNS1123_LABEL.fullmatch(result)


def test_documented_literals() -> None:
    """Literal host names and keys, for readers (each re-derived with hashlib)."""
    deployment_pod = "my-very-long-deployment-name-7d9f8c6b5-abcde"
    joined = f"{deployment_pod}-x-production-eu-x-dev"
    expected = joined[:52] + "-" + sha10(joined)
    assert expected == "my-very-long-deployment-name-7d9f8c6b5-abcde-x-produ-6d874e7d12"
    assert host_name(name=deployment_pod, namespace="production-eu", vcluster="dev") == expected
    assert TRANSLATOR.host_name("shop", "web-0") == "web-0-x-shop-x-dev"
    assert TRANSLATOR.host_cluster_name("fast-ssd") == "vcluster-fast-ssd-x-vcluster-dev-x-dev"
    assert host_cluster_name(name="fast-ssd", host_namespace="vcluster-dev", vcluster="dev") == (
        "vcluster-fast-ssd-x-vcluster-dev-x-dev"
    )
    assert sha10("release") == "a4d451ec23"
    assert TRANSLATOR.translate_label_key("release") == "vcluster.loft.sh/label-dev-x-a4d451ec23"
    assert sha10("team") == "ca8b22d0db"
    assert TRANSLATOR.namespace_label_key("team") == "vcluster.loft.sh/ns-label-dev-x-ca8b22d0db"


def test_short_results_are_not_rewritten() -> None:
    """'.-' is only replaced in the hashed branch, exactly as vcluster does."""
    assert safe_concat("a.", "b") == "a.-b"


def test_dotted_short_name_is_a_subdomain_not_a_label() -> None:
    """A pod named 'web.v1' keeps its dot on the host: a valid subdomain, not a label."""
    result = TRANSLATOR.host_name("shop", "web.v1")
    assert result == "web.v1-x-shop-x-dev"
    assert DNS1123_SUBDOMAIN.fullmatch(result)
    assert not DNS1123_LABEL.fullmatch(result)


def test_non_ascii_names_are_rejected() -> None:
    """Go counts bytes, Python characters; they agree only on ASCII, so nothing else goes."""
    with pytest.raises(ValueError, match="ASCII"):
        safe_concat("café")


def test_object_kind_is_go_gvk_string() -> None:
    """The core group is empty: '/v1, Kind=Pod'."""
    assert object_kind("v1", kind="Pod") == POD
    assert object_kind("apps/v1", kind="Deployment") == "apps/v1, Kind=Deployment"


# -- host names: properties ---------------------------------------------------------


@given(name=dns_subdomains(), namespace=dns_labels(), vcluster=dns_labels())
@example(name="a" * 51 + ".b", namespace="shop", vcluster="dev")
@example(name="a" * 63 + "." + "b" * 63, namespace="c" * 63, vcluster="d" * 63)
def test_host_name_is_a_short_subdomain(name: str, namespace: str, vcluster: str) -> None:
    """Always ≤ 63 characters and a DNS-1123 subdomain; a label exactly when dot-free."""
    result = host_name(name=name, namespace=namespace, vcluster=vcluster)
    assert len(result) <= 63
    assert DNS1123_SUBDOMAIN.fullmatch(result)
    assert bool(DNS1123_LABEL.fullmatch(result)) == ("." not in result)


@given(name=dns_subdomains(), namespace=dns_labels(), vcluster=dns_labels())
def test_dots_survive_exactly_where_the_name_survives(
    name: str, namespace: str, vcluster: str
) -> None:
    """The result has a dot iff the name has one in the kept part (all of it, or 51 chars)."""
    joined = f"{name}-x-{namespace}-x-{vcluster}"
    kept = name if len(joined) <= 63 else name[:51]
    assert ("." in host_name(name=name, namespace=namespace, vcluster=vcluster)) == ("." in kept)


@given(name=dns_labels(), namespace=dns_labels(), vcluster=dns_labels())
def test_dot_free_names_give_labels(name: str, namespace: str, vcluster: str) -> None:
    """A virtual name without dots always yields a DNS-1123 label."""
    assert DNS1123_LABEL.fullmatch(host_name(name=name, namespace=namespace, vcluster=vcluster))


@given(name=dns1035_labels(), namespace=dns_labels(), vcluster=dns_labels())
def test_service_names_give_dns1035_labels(name: str, namespace: str, vcluster: str) -> None:
    """A DNS-1035 name (every service) yields a DNS-1035 label."""
    assert DNS1035_LABEL.fullmatch(host_name(name=name, namespace=namespace, vcluster=vcluster))


@given(name=dotted_at_cut(), namespace=dns_labels(), vcluster=dns_labels())
def test_dot_at_the_cut_is_dropped(name: str, namespace: str, vcluster: str) -> None:
    """A cut ending in '.' gives 51 characters + '-' + hash: 62 characters, a valid name."""
    result = host_name(name=name, namespace=namespace, vcluster=vcluster)
    assert len(result) == 62
    assert result[51:] == "-" + sha10(f"{name}-x-{namespace}-x-{vcluster}")
    assert DNS1123_SUBDOMAIN.fullmatch(result)


@given(name=dns_subdomains(), host_namespace=dns_labels(), vcluster=dns_labels())
def test_cluster_names_are_short_subdomains(name: str, host_namespace: str, vcluster: str) -> None:
    """Cluster-scoped host names obey the same bounds."""
    result = host_cluster_name(name=name, host_namespace=host_namespace, vcluster=vcluster)
    assert len(result) <= 63
    assert DNS1123_SUBDOMAIN.fullmatch(result)


@given(
    first=st.tuples(dns_labels(), dns_subdomains()),
    second=st.tuples(dns_labels(), dns_subdomains()),
    vcluster=dns_labels(),
)
def test_collisions_need_equal_joined_strings(
    first: tuple[str, str], second: tuple[str, str], vcluster: str
) -> None:
    """Equal host names mean equal 'name-x-namespace' (hash collisions aside)."""
    (ns1, name1), (ns2, name2) = first, second
    same = host_name(name=name1, namespace=ns1, vcluster=vcluster) == host_name(
        name=name2, namespace=ns2, vcluster=vcluster
    )
    assert same == (f"{name1}-x-{ns1}" == f"{name2}-x-{ns2}")
    if "-x-" not in ns1 and "-x-" not in ns2:
        assert same == (first == second)


def test_x_separators_inside_names_are_ambiguous() -> None:
    """'a-x-b' in 'c' and 'a' in 'b-x-c' share a host name; annotations tell them apart."""
    assert TRANSLATOR.host_name("c", "a-x-b") == TRANSLATOR.host_name("b-x-c", "a")


@given(a=dns_labels(max_size=20), b=dns_labels(max_size=20), c=dns_labels(max_size=20))
def test_ambiguous_pairs_round_trip_through_annotations(a: str, b: str, c: str) -> None:
    """Each of two colliding objects maps back to its own key, not the other's."""
    one, other = (c, f"{a}-x-{b}"), (f"{b}-x-{c}", a)
    assert TRANSLATOR.host_name(*one) == TRANSLATOR.host_name(*other)
    for key in (one, other):
        assert TRANSLATOR.virtual_key_from_host(host_object(TRANSLATOR, *key)) == key


# -- labels and selectors -----------------------------------------------------------
