"""What a mapper declares to the wiring beyond the :class:`~syncer.api.Mapper` protocol.

A mapper declares its capabilities in one of two ways:

* a ``capabilities`` attribute holding a :class:`Capabilities` value, or
* the plain class attributes of the same names (``host_resource``,
  ``host_label_selector``, ``skip_own_echoes``, ``reads``, ``may_read``); the
  built-in mappers use these.

:func:`capabilities_of` is the one place that reads them, checks their types
and fills the defaults: a mapper that declares nothing gets
``Capabilities()``.  A declaration of the wrong type is a start-up error
(:class:`CapabilityError`) naming the mapper and the attribute.

Reads: a mapper's reconcile may read the caches (virtual and host) of its own
kind, of its host resource and of the kinds it watches.  ``reads`` lists the
other kinds it needs, ``may_read`` those it uses when they are enabled (it asks
``ctx.serves(kind)`` first).  A mapper that declares either is held to them:
start-up fails if a kind of ``reads`` is not served by the kinds that run, and
asking for any undeclared cache raises :class:`UndeclaredRead` (terminal: not
retried) naming the mapper and the kind.  A mapper that declares neither
(``reads is None``) may ask for any cache that exists; one that does not exist
raises :class:`NotServed`, a ``KeyError``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from syncer.errors import TerminalError, VsyncerError
from syncer.resources import Resource


class CapabilityError(VsyncerError):
    """A mapper declares a capability wrongly, or reads a kind nothing serves."""


class UndeclaredRead(TerminalError):
    """A mapper with declared reads asked for a cache it did not declare."""


class NotServed(KeyError):
    """No cache of that kind runs in this syncer (its mapper is not enabled)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "not served"


@dataclass(frozen=True, slots=True)
class Capabilities:
    """A mapper's declarations; every default is what a mapper declaring nothing gets.

    * ``host_resource`` — the host kind the mapper's objects live as; ``None``:
      its own resource (nodes map virtual nodes to host nodes, for instance).
    * ``host_label_selector`` / ``host_selects_managed`` — the host informer's
      label selector.  By default (``host_selects_managed=True``) only objects
      carrying this vcluster's marker label; otherwise ``host_label_selector``
      (``None``: every object of the host kind in scope).
    * ``skip_own_echoes`` — see :class:`~syncer.api.Syncer`.
    * ``reads`` / ``may_read`` — other kinds whose caches the reconcile reads
      (required / when enabled); ``reads=None`` declares nothing (see the module).
    * ``host_reads`` — host kinds whose objects carrying this vcluster's marker
      label the reconcile reads whichever kinds are enabled (the pods mapper's
      own token Secrets): the wiring runs those host informers for this kind
      itself, shared with the kind's own mapper when that runs too.
    """

    host_resource: Resource | None = None
    host_label_selector: str | None = None
    host_selects_managed: bool = True
    skip_own_echoes: bool = False
    reads: frozenset[Resource] | None = None
    may_read: frozenset[Resource] = frozenset()
    host_reads: frozenset[Resource] = frozenset()

    def host_selector(self, *, managed: str) -> str | None:
        """The host informer's selector; ``managed`` is the marker-label selector."""
        return managed if self.host_selects_managed else self.host_label_selector


#: Marks an attribute a mapper does not have (``None`` is a declaration of its own).
_UNSET: Any = object()


def _name(mapper: object) -> str:
    resource = getattr(mapper, "resource", None)
    return resource.plural if isinstance(resource, Resource) else type(mapper).__name__


def _resources(mapper: object, attribute: str, value: Any) -> frozenset[Resource]:
    if not isinstance(value, (frozenset, set, tuple, list)) or not all(
        isinstance(r, Resource) for r in value
    ):
        raise CapabilityError(
            f"mapper {_name(mapper)!r}: {attribute} must be a set of Resource, not {value!r}"
        )
    return frozenset(value)


def capabilities_of(mapper: object) -> Capabilities:
    """``mapper``'s declared capabilities, type-checked; raises :class:`CapabilityError`."""
    declared = getattr(mapper, "capabilities", None)
    if declared is not None:
        if not isinstance(declared, Capabilities):
            raise CapabilityError(
                f"mapper {_name(mapper)!r}: capabilities must be a Capabilities value"
            )
        return declared
    host_resource = getattr(mapper, "host_resource", None)
    if host_resource is not None and not isinstance(host_resource, Resource):
        raise CapabilityError(f"mapper {_name(mapper)!r}: host_resource must be a Resource")
    selector = getattr(mapper, "host_label_selector", _UNSET)
    if selector is not _UNSET and selector is not None and not isinstance(selector, str):
        raise CapabilityError(f"mapper {_name(mapper)!r}: host_label_selector must be a str")
    echoes = getattr(mapper, "skip_own_echoes", False)
    if not isinstance(echoes, bool):
        raise CapabilityError(f"mapper {_name(mapper)!r}: skip_own_echoes must be a bool")
    reads = getattr(mapper, "reads", None)
    return Capabilities(
        host_resource=host_resource,
        host_label_selector=None if selector is _UNSET else selector,
        host_selects_managed=selector is _UNSET,
        skip_own_echoes=echoes,
        reads=None if reads is None else _resources(mapper, "reads", reads),
        may_read=_resources(mapper, "may_read", getattr(mapper, "may_read", frozenset())),
        host_reads=_resources(mapper, "host_reads", getattr(mapper, "host_reads", frozenset())),
    )
