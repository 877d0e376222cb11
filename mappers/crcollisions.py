"""Host-name collisions in the name patches of a toHost custom resource.

A ``rewriteName`` or ``reference`` patch (:mod:`mappers.crpatches`) turns a
virtual name into ``<name>-x-<namespace>-x-<vcluster>``; another virtual
namespace's object can have that same host name (:mod:`mappers.collisions`:
``c/a-x-b`` and ``b-x-c/a``, or two hashed names), and the host controller
reading the custom resource would then act on that other tenant's object.
The rule is the one Ingresses follow (:func:`mappers.ingresses.check_references`):

* ``reference`` (the kind is known): an ambiguous name
  (:func:`~mappers.collisions.is_ambiguous`) passes only while the host copy
  under its host name is this vcluster's copy of exactly that virtual object
  (:func:`~mappers.collisions.holds`); otherwise the custom resource is
  refused (``reference_collision``, looked at again after
  :data:`~mappers.collisions.PARTNER_RETRY` seconds, since the other copy may go);
* ``rewriteName`` (no kind: whose copy holds the name cannot be checked): an
  ambiguous name is refused (``reference_collision``) until the object
  changes; a ``reference`` patch with a kind is the way to name such an object.

Unambiguous names pass: no other virtual object maps to them.  Pure but for
cache reads; nothing is written.
"""

from __future__ import annotations

from mappers.collisions import PARTNER_RETRY, cached_host, holds, is_ambiguous
from syncer.api import Refused, Resource, SyncContext, Translator


def ambiguous_rewrite(
    translator: Translator, *, namespace: str, name: str, path: str
) -> Refused | None:
    """A ``reference_collision`` refusal when ``rewriteName`` at ``path`` would turn ``name``
    (of ``namespace``) into a host name another virtual object could have; else ``None``."""
    if not is_ambiguous(translator, namespace, name):
        return None
    return Refused(
        reason="reference_collision",
        message=(
            f"{path}: the host name of {name!r} ({translator.host_name(namespace, name)}) could "
            "be another virtual namespace's object; name it with a reference patch of its kind"
        ),
    )


def reference_collision(
    ctx: SyncContext, *, resource: Resource, namespace: str, name: str, path: str
) -> Refused | None:
    """A ``reference_collision`` refusal when ``reference`` at ``path`` names ``name`` (a
    ``resource`` of ``namespace``) by an ambiguous host name that its own copy does not hold."""
    if not is_ambiguous(ctx.translator, namespace, name):
        return None
    p_name = ctx.translator.host_name(namespace, name)
    p_obj = cached_host(ctx, resource, p_name)
    if p_obj is not None and holds(
        ctx.translator, p_obj, resource=resource, namespace=namespace, name=name
    ):
        return None
    return Refused(
        reason="reference_collision",
        message=(
            f"{path}: host {resource.kind.lower()} {p_name} could be another virtual "
            f"namespace's, and this namespace's {name} is not synced there"
        ),
        retry_after=PARTNER_RETRY,
    )
