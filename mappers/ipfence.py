"""Whether a tenant's ``ipBlock`` stays inside the isolation fence's address space.

NetworkPolicies only add allowances: a tenant policy whose ``ipBlock`` admits
an address the isolation policy keeps out (a private range: the host's nodes,
its API server, other namespaces' pods) would cancel the fence for the pods it
selects.  With isolation on, the fence is the set of addresses the isolation
NetworkPolicy lets workloads reach (vcluster's isolated mode: ``0.0.0.0/0``
except the private, shared and loopback ranges, plus the allow-list), given as
``(cidr, except)`` blocks; an ``ipBlock`` passes when every address it admits
(its ``cidr`` minus its ``except``) is in one of those blocks.

Pure: integer interval arithmetic over :mod:`ipaddress` networks, IPv4 and
IPv6 kept apart; at most a few dozen intervals per check.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

#: ``(cidr, except)``: the addresses of ``cidr`` that are in none of ``except``.
Block = tuple[str, Sequence[str]]
_Interval = tuple[int, int, int]  # (IP version, first, last)


def _interval(cidr: str) -> _Interval:
    """``cidr`` as an interval; raises ValueError for a malformed CIDR."""
    net = ipaddress.ip_network(cidr, strict=False)
    return (net.version, int(net.network_address), int(net.broadcast_address))


def _minus(have: list[_Interval], cut: _Interval) -> list[_Interval]:
    version, lo, hi = cut
    out: list[_Interval] = []
    for v, a, b in have:
        if v != version or b < lo or a > hi:
            out.append((v, a, b))
            continue
        if a < lo:
            out.append((v, a, lo - 1))
        if b > hi:
            out.append((v, hi + 1, b))
    return out


def _admitted(block: Block) -> list[_Interval]:
    cidr, excepts = block
    have = [_interval(cidr)]
    for cut in excepts:
        have = _minus(have, _interval(cut))
    return have


def outside(block: Block, *, fence: Iterable[Block]) -> str | None:
    """The first address ``block`` admits that no block of ``fence`` does, or ``None`` when
    ``block`` stays inside the fence.  Raises ValueError for a malformed CIDR."""
    rest = _admitted(block)
    for allowed in fence:
        for cut in _admitted(allowed):
            rest = _minus(rest, cut)
            if not rest:
                return None
    if not rest:
        return None
    version, first, _ = min(rest)
    return str(ipaddress.IPv6Address(first) if version == 6 else ipaddress.IPv4Address(first))
