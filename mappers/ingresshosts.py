"""Which host names and ingress classes a tenant's Ingress may claim on the host.

An Ingress's ``rules[].host`` and ``tls[].hosts[]`` claim host names on the
host's ingress controller, which serves every tenant of that controller: an
Ingress for another tenant's name (or a wildcard over it, or a rule without a
host, which serves every name) can take that tenant's traffic or certificate.
vcluster passes hosts and ``ingressClassName`` through; vsyncer does too by
default, and confines them when the platform says how:

* :func:`check_hosts` — with ``VSYNCER_INGRESS_HOSTS`` patterns set, every
  host must match one (:func:`fnmatch.fnmatchcase`: ``*`` also matches dots
  and the ``*`` of a wildcard host, so ``*.team-a.example.com`` admits
  ``shop.team-a.example.com``, ``a.b.team-a.example.com`` and
  ``*.team-a.example.com``, never ``team-b.example.com`` or
  ``*.example.com``), and a rule without a host is refused; refused as
  ``ingress_host`` naming the field;
* :func:`check_class` — with ``VSYNCER_INGRESS_CLASSES`` set,
  ``ingressClassName`` must be one of them; an Ingress without one would get
  the host's default class, which the list may not include, so it is refused
  too (``ingress_class``).

Both are pure, and are lifted only by a change of the Ingress (its event
brings it back), since settings do not change at run time.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator, Mapping
from typing import Any

from syncer.api import Refused
from syncer.kit import items, mapping


def ingress_hosts(spec: Mapping[str, Any]) -> Iterator[tuple[str | None, str]]:
    """Every host name ``spec`` claims, with its JSON path; ``None`` for a rule without one."""
    for i, rule in enumerate(items(spec.get("rules"))):
        host = mapping(rule).get("host")
        yield (host if isinstance(host, str) and host else None), f"spec.rules[{i}].host"
    for i, tls in enumerate(items(spec.get("tls"))):
        for j, host in enumerate(items(mapping(tls).get("hosts"))):
            yield (host if isinstance(host, str) and host else None), f"spec.tls[{i}].hosts[{j}]"


def check_hosts(spec: Mapping[str, Any], *, allowed: tuple[str, ...]) -> None:
    """Raise :class:`Refused` (``ingress_host``) for a host outside ``allowed`` (empty: any)."""
    if not allowed:
        return
    for host, path in ingress_hosts(spec):
        if host is None:
            raise Refused(
                reason="ingress_host",
                message=f"{path}: a rule without a host serves every host name; name one matching"
                f" {', '.join(allowed)} (VSYNCER_INGRESS_HOSTS)",
            )
        if not any(fnmatch.fnmatchcase(host.lower(), pattern) for pattern in allowed):
            raise Refused(
                reason="ingress_host",
                message=f"{path}: host {host!r} matches none of {', '.join(allowed)}"
                " (VSYNCER_INGRESS_HOSTS)",
            )


def check_class(spec: Mapping[str, Any], *, allowed: tuple[str, ...]) -> None:
    """Raise :class:`Refused` (``ingress_class``) for a class outside ``allowed`` (empty: any)."""
    if not allowed:
        return
    name = spec.get("ingressClassName")
    if not isinstance(name, str) or not name:
        raise Refused(
            reason="ingress_class",
            message="spec.ingressClassName: not set, so the host's default class would serve it;"
            f" name one of {', '.join(allowed)} (VSYNCER_INGRESS_CLASSES)",
        )
    if name not in allowed:
        raise Refused(
            reason="ingress_class",
            message=f"spec.ingressClassName: {name!r} is not one of {', '.join(allowed)}"
            " (VSYNCER_INGRESS_CLASSES)",
        )
