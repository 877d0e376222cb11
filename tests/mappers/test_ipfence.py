"""The isolation fence check: an ipBlock passes exactly when it admits no address outside."""

from __future__ import annotations

import ipaddress

from hypothesis import given
from hypothesis import strategies as st

from mappers.ipfence import outside

PRIVATE = ("100.64.0.0/10", "127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
PUBLIC = ("0.0.0.0/0", PRIVATE)


def test_everything_is_outside_a_fence_of_public_addresses() -> None:
    assert outside(("0.0.0.0/0", ()), fence=[PUBLIC]) == "10.0.0.0"


def test_the_public_internet_with_the_private_ranges_excepted_is_inside() -> None:
    assert outside(("0.0.0.0/0", PRIVATE), fence=[PUBLIC]) is None
    assert outside(("8.8.8.0/24", ()), fence=[PUBLIC]) is None


def test_a_private_range_is_inside_only_when_allow_listed() -> None:
    assert outside(("10.1.0.0/16", ()), fence=[PUBLIC]) == "10.1.0.0"
    assert outside(("10.1.2.0/24", ()), fence=[PUBLIC, ("10.1.0.0/16", ())]) is None


def test_ipv6_is_outside_unless_allow_listed() -> None:
    assert outside(("2001:db8::/32", ()), fence=[PUBLIC]) == "2001:db8::"
    assert outside(("2001:db8::/48", ()), fence=[PUBLIC, ("2001:db8::/32", ())]) is None


def test_no_fence_admits_nothing() -> None:
    assert outside(("203.0.113.0/24", ()), fence=[]) == "203.0.113.0"


@given(
    st.ip_addresses(v=4),
    st.integers(min_value=0, max_value=32),
    st.lists(st.tuples(st.ip_addresses(v=4), st.integers(min_value=8, max_value=32)), max_size=3),
)
def test_the_answer_agrees_with_testing_addresses_one_by_one(
    base: ipaddress.IPv4Address, prefix: int, cuts: list[tuple[ipaddress.IPv4Address, int]]
) -> None:
    """Whatever the block, a returned address is admitted by it and private; ``None`` means
    no sampled address of the block is private."""
    cidr = str(ipaddress.ip_network(f"{base}/{prefix}", strict=False))
    excepts = tuple(str(ipaddress.ip_network(f"{a}/{p}", strict=False)) for a, p in cuts)
    found = outside((cidr, excepts), fence=[PUBLIC])
    net = ipaddress.ip_network(cidr)
    private = [ipaddress.ip_network(p) for p in PRIVATE]
    cut_nets = [ipaddress.ip_network(e) for e in excepts]

    def admitted(a: ipaddress.IPv4Address) -> bool:
        return a in net and not any(a in c for c in cut_nets)

    if found is not None:
        address = ipaddress.IPv4Address(found)
        assert admitted(address)
        assert any(address in p for p in private)
    else:
        for p in private:
            for edge in (p.network_address, p.broadcast_address):
                assert not admitted(ipaddress.IPv4Address(int(edge)))
