"""Host-name collisions between virtual objects, and who really holds a host name.

A namespaced virtual object ``ns/name`` lives on the host as
``safe_concat(name, "x", ns, "x", vcluster)`` (vcluster's naming rule).  Two
different virtual objects share that host name exactly when ``name-x-ns`` is
the same string for both — which needs ``-x-`` in one object's name and in the
other's namespace (virtual secret ``a-x-b`` of namespace ``c`` and secret ``a``
of namespace ``b-x-c``) — or when both names were hashed and 40 bits of
SHA-256 coincide (:mod:`syncer.translate`).  A host name alone is therefore no
proof of whose object it is; the provenance annotations are.

Guarantees:

* :func:`is_ambiguous` is true for every host name that another virtual
  object of the same kind could also map to (never a false "unambiguous");
* :func:`colliding_keys` lists every *other* ``(namespace, name)`` whose
  unhashed host name equals this one's (hashed names are not enumerable);
* :func:`holds` accepts a host object only when it is ours (marker label,
  kind, provenance that re-translates to its own name) *and* its provenance
  names exactly the expected virtual namespace and name;
* :func:`read_host` sees every host object under a name: the host cache
  (managed objects only) first, then the runtime's lookup of the others (a
  watch cache of the host namespace's unmarked objects, or a live read), so
  a foreign object in the way is seen too;
* :func:`claimed_by_partner` refuses a referenced-copy mapper the host name of
  an object whose colliding partner is referenced by a pod that runs on the
  host (that pod mounts the host name), so a running pod never starts to read
  another namespace's object after its own copy went.  Hashed partners cannot
  be enumerated; pods wait for the copy of a hashed reference to exist before
  they are created (:mod:`mappers.podguard`).
"""

from __future__ import annotations

from syncer.api import PODS, NotFound, Obj, Refused, Resource, SyncContext, Translator
from syncer.kit import mapping

SEPARATOR = "-x-"
#: Seconds after which a copy refused for a partner in use is looked at again.
PARTNER_RETRY = 60.0


def is_hashed(translator: Translator, namespace: str, name: str) -> bool:
    """Whether the host name of ``namespace/name`` was shortened with a hash."""
    joined = f"{name}{SEPARATOR}{namespace}{SEPARATOR}{translator.vcluster}"
    return translator.host_name(namespace, name) != joined


def is_ambiguous(translator: Translator, namespace: str, name: str) -> bool:
    """Whether another virtual ``(namespace, name)`` could share this host name.

    Hashed, or some other split of ``name-x-namespace`` exists — which also
    catches separators that straddle the boundary (``("x-0", "0-x")``: ``0-x-x-0-x-…``).
    """
    return is_hashed(translator, namespace, name) or bool(colliding_keys(namespace, name))


def colliding_keys(namespace: str, name: str) -> list[tuple[str, str]]:
    """Every other ``(namespace, name)`` whose unhashed host name equals this one's.

    They are the splits of ``name-x-namespace`` at each ``-x-`` (overlapping
    ones included) other than the pair itself; e.g. ``("c", "a-x-b")`` →
    ``[("b-x-c", "a")]``.  Pairs with an empty part are left out.
    """
    joined = f"{name}{SEPARATOR}{namespace}"
    found: list[tuple[str, str]] = []
    start = joined.find(SEPARATOR)
    while start != -1:
        other_name, other_namespace = joined[:start], joined[start + len(SEPARATOR) :]
        pair = (other_namespace, other_name)
        if other_name and other_namespace and pair != (namespace, name):
            found.append(pair)
        start = joined.find(SEPARATOR, start + 1)
    return found


def holds(
    translator: Translator, p_obj: Obj, *, resource: Resource, namespace: str, name: str
) -> bool:
    """Whether host object ``p_obj`` is this vcluster's copy of virtual ``namespace/name``."""
    if not translator.is_owned(p_obj, kind_string=resource.kind_string):
        return False
    return translator.virtual_key_from_host(p_obj) == (namespace, name)


def cached_host(ctx: SyncContext, resource: Resource, p_name: str) -> Obj | None:
    """The host cache's object under ``p_name`` (``None`` also when no mapper caches the kind)."""
    if not ctx.serves(resource):
        return None  # that kind's mapper is off: no host cache of it
    return ctx.host_cache(resource).get(ctx.host_namespace, p_name)


async def read_host(ctx: SyncContext, resource: Resource, p_name: str) -> Obj | None:
    """The host object under ``p_name``, ours or not; ``None`` when there is none.

    The host cache first (it holds only objects with this vcluster's marker
    label), then ``ctx.host_lookup`` (the runtime's watch caches of the other
    objects, :mod:`syncer.hostlookup`, live where it watches none) or else a
    live GET through ``ctx.host_read``.  Without either a foreign object cannot
    be seen and ``None`` is answered for it.  Errors other than 404 propagate.
    """
    found = cached_host(ctx, resource, p_name)
    lookup = ctx.host_lookup or ctx.host_read
    if found is not None or lookup is None:
        return found
    try:
        live = await lookup(resource, name=p_name)
    except NotFound:
        return None
    return live if mapping(live.get("metadata")) else None


def claimed_by_partner(
    ctx: SyncContext, *, resource: Resource, index: str, namespace: str, name: str
) -> Refused | None:
    """A ``reference_collision`` refusal when a host pod uses this host name for another object.

    ``index`` is the virtual pods index of ``resource`` (values ``ns/name``).
    For each colliding ``(ns', name')`` the pods referencing it are looked up
    in the index, and each one's host pod in the host pods cache.  Without the
    pods mapper (no index, no host pods cache) no pod is synced: ``None``.
    """
    if not ctx.serves(PODS):
        return None  # no pods mapper: no index, no synced pod
    pods = ctx.virtual_cache(PODS)
    p_pods = ctx.host_cache(PODS)
    for other_namespace, other_name in colliding_keys(namespace, name):
        for pod_namespace, pod_name in pods.keys_by_index(index, f"{other_namespace}/{other_name}"):
            p_pod = ctx.translator.host_name(pod_namespace, pod_name)
            if p_pods.get(ctx.host_namespace, p_pod) is None:
                continue
            kind = resource.kind.lower()
            p_name = ctx.translator.host_name(namespace, name)
            return Refused(
                reason="reference_collision",
                message=(
                    f"metadata.name: host {kind} {p_name} is used by pods of another "
                    "virtual namespace"
                ),
                retry_after=PARTNER_RETRY,
            )
    return None
