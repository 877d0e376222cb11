"""Read-only informer caches as mappers see them, and the handles a mapper takes at start-up.

:class:`Cache` is an informer's store, read-only.  A reconcile reaches caches
through ``ctx.virtual_cache(kind)`` / ``ctx.host_cache(kind)``; those are
checked when asked (:class:`~syncer.capabilities.UndeclaredRead`, terminal).

A mapper may instead take its handles once, at wiring time — controller-runtime's
``SetupWithManager`` step, where a controller asks the manager for the informers
it will read.  A :class:`CacheUser` gets :meth:`CacheUser.use_caches` called by
the wiring (:mod:`syncer.pipeline`) after every informer of the process exists
and before any starts, with a :class:`Caches` that applies the same declared-reads
rule (:mod:`syncer.capabilities`) *then*: asking for a kind the mapper did not
declare, or for a cache no enabled kind runs, fails start-up with one line
naming the mapper and the kind (``PluginError``; ``vsyncer run`` exits 2), never
``KeyError`` mid-reconcile.  A handle is the informer's store itself: the same
object for the life of the process, filled by its reflector, read without copying.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from syncer.resources import Resource
from syncer.store import Obj


class Cache(Protocol):
    """Read-only access to an informer's store."""

    def get(self, namespace: str, name: str) -> Obj | None: ...
    def list(self) -> list[Obj]: ...
    def by_index(self, name: str, value: str) -> builtins.list[Obj]: ...
    def keys_by_index(self, name: str, value: str) -> builtins.list[tuple[str, str]]:
        """The keys filed under ``value``: cheap, decodes nothing."""
        ...

    def has_indexed(self, name: str, value: str) -> bool:
        """Whether anything is filed under ``value``: O(1), copies nothing."""
        ...


class Caches(Protocol):
    """The caches a :class:`CacheUser` may take at start-up.

    ``virtual`` / ``host`` raise :class:`~syncer.capabilities.UndeclaredRead` for a
    kind the mapper does not declare and :class:`~syncer.capabilities.NotServed`
    for one no enabled kind runs (ask ``serves`` first for a ``may_read`` kind);
    the wiring turns either into a start-up failure.
    """

    def virtual(self, resource: Resource) -> Cache: ...
    def host(self, resource: Resource) -> Cache: ...
    def serves(self, resource: Resource) -> bool:
        """Whether kind ``resource`` is enabled here (its mapper runs)."""
        ...


@runtime_checkable
class CacheUser(Protocol):
    """A mapper that takes its cache handles once, at wiring time."""

    def use_caches(self, *, caches: Caches) -> None:
        """Keep the handles this mapper reads; raises what :class:`Caches` raises."""
        ...


@dataclass(frozen=True, slots=True)
class CacheHandles:
    """A :class:`Caches` over a kind's reconcile-time accessors (the wiring's and the
    in-memory test context's): the same checks, asked once at start-up.

    ``enabled`` holds the enabled kinds as ``(group, plural)``; ``None``: a kind is
    served when its virtual cache exists.
    """

    virtual_cache: Callable[[Resource], Cache]
    host_cache: Callable[[Resource], Cache]
    enabled: frozenset[tuple[str, str]] | None = None

    def virtual(self, resource: Resource) -> Cache:
        return self.virtual_cache(resource)

    def host(self, resource: Resource) -> Cache:
        return self.host_cache(resource)

    def serves(self, resource: Resource) -> bool:
        if self.enabled is not None:
            return (resource.group, resource.plural) in self.enabled
        try:
            self.virtual_cache(resource)
        except KeyError:
            return False
        return True
