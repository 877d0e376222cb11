"""The public plugin surface: everything a mapper author needs, and nothing else.

A mapper translates one kind between the virtual cluster and the host
namespace.  Its required part (:class:`Mapper`) is small, pure and
synchronous: which kind, virtual key → host name, host object → virtual key,
and whether a host object is managed.  "Not ours" is an explicit ``None``.
Optional capabilities are further Protocols a mapper may also implement:

* :class:`Syncer` — the reconcile step, dispatched on which side exists
  (both → ``sync``, virtual only → ``sync_to_host``, host only →
  ``sync_to_virtual``);
* :class:`Indexer` — indexes to register on the virtual informer's store;
* :class:`Watcher` — other kinds whose changes should enqueue keys of this kind
  (a key, or :class:`NamespaceKeys` for every key of this kind in a namespace);
* :class:`DriftDetector` — how a host object differs from what the syncer would
  make of its virtual object (read by the periodic drift check).

A mapper declares what else the wiring reads (host resource and selector, echo
opt-out, other kinds' caches) as :class:`Capabilities` (:mod:`syncer.capabilities`);
a :class:`CacheUser` takes its cache handles at start-up (:mod:`syncer.caches`).

A factory that accepts a ``config`` keyword gets the :class:`MapperConfig`
(the settings mappers may read); one that takes only ``translator`` keeps
working (see :mod:`syncer.plugins`).

Mappers are discovered through the ``vsyncer.mappers`` entry-point group; the built-in ones
register the same way.  ``mappers/`` imports only this module (and :mod:`syncer.kit`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from syncer.caches import Cache, CacheHandles, Caches, CacheUser
from syncer.capabilities import Capabilities, NotServed, UndeclaredRead
from syncer.customresources import CustomResource, FieldPatch
from syncer.errors import (
    AlreadyExists,
    ApiError,
    Conflict,
    Forbidden,
    HostWriteRefused,
    Invalid,
    NotFound,
    Refused,
    TerminalError,
)
from syncer.keys import ObjectKey
from syncer.mapperconfig import MapperConfig
from syncer.podsecurity import LEVELS as POD_SECURITY_LEVELS
from syncer.podsecurity import Violation as PodSecurityViolation
from syncer.podsecurity import check_pod as check_pod_security
from syncer.reconcile import DONE, Result
from syncer.resources import (
    CONFIGMAPS,
    CORE,
    CRDS,
    ENDPOINTS,
    EVENTS,
    INGRESSCLASSES,
    INGRESSES,
    NAMESPACES,
    NETWORKPOLICIES,
    NODES,
    PDBS,
    PODS,
    PRIORITYCLASSES,
    PVCS,
    RUNTIMECLASSES,
    SECRETS,
    SERVICEACCOUNTS,
    SERVICES,
    STORAGECLASSES,
    Resource,
)
from syncer.sleep_pods import POD_MARK as SLEEP_POD_MARK
from syncer.sleep_pods import is_marked as is_sleep_marked
from syncer.sleep_pods import is_slept, slept_status
from syncer.store import Obj, thaw
from syncer.translate import (
    COLLIDING_LABEL_KEYS,
    FAKE_NODE_LABEL,
    MANAGED_ANNOTATIONS_ANNOTATION,
    MANAGED_BY_LABEL,
    MANAGED_LABELS_ANNOTATION,
    NAMESPACE_LABEL,
    OBJECT_HOST_NAME_ANNOTATION,
    OBJECT_HOST_NAMESPACE_ANNOTATION,
    OBJECT_KIND_ANNOTATION,
    OBJECT_NAME_ANNOTATION,
    OBJECT_NAMESPACE_ANNOTATION,
    OBJECT_UID_ANNOTATION,
    OWNER_REFERENCES_ANNOTATION,
    TOKEN_SECRET_KIND,
    WORKLOAD_SERVICE_ACCOUNT_KIND,
    Translator,
    is_reserved_key,
    managed_keys_annotation,
    merge_managed,
    parse_managed_keys,
    three_way_merge,
    token_host_name,
)

__all__ = [
    "COLLIDING_LABEL_KEYS",
    "CONFIGMAPS",
    "CORE",
    "CRDS",
    "DONE",
    "ENDPOINTS",
    "EVENTS",
    "FAKE_NODE_LABEL",
    "INGRESSCLASSES",
    "INGRESSES",
    "MANAGED_ANNOTATIONS_ANNOTATION",
    "MANAGED_BY_LABEL",
    "MANAGED_LABELS_ANNOTATION",
    "NAMESPACES",
    "NAMESPACE_LABEL",
    "NETWORKPOLICIES",
    "NODES",
    "OBJECT_HOST_NAMESPACE_ANNOTATION",
    "OBJECT_HOST_NAME_ANNOTATION",
    "OBJECT_KIND_ANNOTATION",
    "OBJECT_NAMESPACE_ANNOTATION",
    "OBJECT_NAME_ANNOTATION",
    "OBJECT_UID_ANNOTATION",
    "OWNER_REFERENCES_ANNOTATION",
    "PDBS",
    "PODS",
    "POD_SECURITY_LEVELS",
    "PRIORITYCLASSES",
    "PVCS",
    "RUNTIMECLASSES",
    "SECRETS",
    "SERVICEACCOUNTS",
    "SERVICES",
    "SLEEP_POD_MARK",
    "STORAGECLASSES",
    "TOKEN_SECRET_KIND",
    "WORKLOAD_SERVICE_ACCOUNT_KIND",
    "AlreadyExists",
    "ApiError",
    "Cache",
    "CacheHandles",
    "CacheUser",
    "Caches",
    "Capabilities",
    "Conflict",
    "CustomResource",
    "DriftDetector",
    "FieldPatch",
    "Forbidden",
    "HostReader",
    "HostWriteRefused",
    "IndexFunc",
    "Indexer",
    "Invalid",
    "Mapper",
    "MapperConfig",
    "NamespaceKeys",
    "NotFound",
    "NotServed",
    "Obj",
    "ObjectKey",
    "PodSecurityViolation",
    "Refused",
    "Resource",
    "Result",
    "SyncContext",
    "Syncer",
    "TerminalError",
    "Translator",
    "UndeclaredRead",
    "Watcher",
    "check_pod_security",
    "is_reserved_key",
    "is_sleep_marked",
    "is_slept",
    "keys_in_namespace",
    "managed_keys_annotation",
    "merge_managed",
    "parse_managed_keys",
    "slept_status",
    "thaw",
    "three_way_merge",
    "token_host_name",
]

Json = dict[str, Any]
IndexFunc = Callable[[Obj], Iterable[str]]


@runtime_checkable
class Mapper(Protocol):
    """The required part of a plugin: name translation for one kind.  Pure, no I/O."""

    resource: Resource

    def virtual_to_host(self, key: ObjectKey) -> str | None:
        """The host object's name for a virtual key, or ``None`` if it is not synced."""
        ...

    def host_to_virtual(self, p_obj: Obj) -> ObjectKey | None:
        """The virtual key a host object belongs to, or ``None`` if it is not ours."""
        ...

    def is_managed(self, p_obj: Obj) -> bool:
        """Whether a host object was created by this syncer for this kind."""
        ...


class HostReader(Protocol):
    """A live, read-only GET of one object in the host namespace (any owner)."""

    async def __call__(self, resource: Resource, *, name: str) -> Json: ...


class HostWriterApi(Protocol):
    """The guarded host writer as plugins see it."""

    @property
    def host_namespace(self) -> str: ...

    async def create(self, resource: Resource, *, body: Json) -> Json: ...
    async def update(
        self, resource: Resource, *, current: Mapping[str, Any], body: Json
    ) -> Json: ...
    async def update_status(
        self, resource: Resource, *, current: Mapping[str, Any], body: Json
    ) -> Json: ...
    async def delete(
        self,
        resource: Resource,
        *,
        current: Mapping[str, Any],
        grace_period_seconds: int | None = None,
    ) -> Json: ...


class VirtualApi(Protocol):
    """Writes to the virtual cluster (status, bindings, events, virtual objects)."""

    async def get(self, resource: Resource, *, namespace: str | None, name: str) -> Json: ...
    async def create(self, resource: Resource, *, namespace: str | None, body: Any) -> Json: ...
    async def update(
        self, resource: Resource, *, namespace: str | None, name: str, body: Any
    ) -> Json: ...
    async def update_status(
        self, resource: Resource, *, namespace: str | None, name: str, body: Any
    ) -> Json: ...
    async def patch(
        self,
        resource: Resource,
        *,
        namespace: str | None,
        name: str,
        body: Any,
        patch_type: str = "merge",
        subresource: str | None = None,
    ) -> Json: ...
    async def delete(
        self,
        resource: Resource,
        *,
        namespace: str | None,
        name: str,
        uid: str | None = None,
        resource_version: str | None = None,
        grace_period_seconds: int | None = None,
        propagation: str | None = None,
    ) -> Json: ...
    async def create_subresource(
        self, resource: Resource, *, namespace: str | None, name: str, subresource: str, body: Any
    ) -> Json: ...


@dataclass(frozen=True, slots=True)
class SyncContext:
    """What a reconcile step may use; frozen, passed down, never global."""

    translator: Translator
    host: HostWriterApi
    virtual: VirtualApi
    virtual_cache: Callable[[Resource], Cache]
    host_cache: Callable[[Resource], Cache]
    record_event: Callable[..., Any]
    #: A structlog logger (None in fakes); the daemon's binds each reconcile's key and id.
    log: Any
    #: Reads one host object that the host caches do not hold (they hold only managed
    #: ones); ``None`` where the runtime offers no live host reads.
    host_read: HostReader | None = None
    #: Looks one host object up by name, ours or not, like ``host_read`` but answered from
    #: watch caches for the kinds pods reference (:mod:`syncer.hostlookup`), live otherwise;
    #: ``None`` where the runtime offers none (then ``host_read`` is the way).
    host_lookup: HostReader | None = None
    #: ``(group, plural)`` of the kinds whose mappers run; ``None``: not said (see serves).
    enabled: frozenset[tuple[str, str]] | None = None

    def serves(self, resource: Resource) -> bool:
        """Whether kind ``resource`` is enabled here (its mapper runs, its caches exist);
        without ``enabled``, whether its virtual cache exists."""
        if self.enabled is not None:
            return (resource.group, resource.plural) in self.enabled
        try:
            self.virtual_cache(resource)
        except KeyError:
            return False
        return True

    @property
    def vcluster(self) -> str:
        return self.translator.vcluster

    @property
    def host_namespace(self) -> str:
        return self.translator.host_namespace


@runtime_checkable
class Syncer(Protocol):
    """Optional: the reconcile step for a kind, dispatched on which side exists.

    Own-write events: by default every watch event reconciles the key again,
    including the event that a write of this very reconcile caused.  A syncer
    whose reconcile carries on with the objects its writes return (so that
    running it again on them would write nothing) may set the class attribute
    ``skip_own_echoes = True``; the watch events of versions the syncer itself
    created, updated or patched (of its own kind, on either side) then do not
    enqueue the key.  Changes by anyone else always do, and so do deletions.
    """

    async def sync_to_host(self, ctx: SyncContext, v_obj: Obj) -> Result: ...
    async def sync(self, ctx: SyncContext, v_obj: Obj, p_obj: Obj) -> Result: ...
    async def sync_to_virtual(self, ctx: SyncContext, key: ObjectKey, p_obj: Obj) -> Result: ...


@runtime_checkable
class Indexer(Protocol):
    """Optional: indexes to register on the virtual store of this kind."""

    def indexes(self) -> Mapping[str, IndexFunc]: ...


@dataclass(frozen=True, slots=True)
class NamespaceKeys:
    """A :class:`Watcher` function's answer: every key of the *watching* kind in ``namespace``.

    The engine expands it from the watching kind's virtual cache (its namespace
    index: only that namespace's keys are looked at).  Use it when the content
    of a mapper's host objects depends on another object of their namespace
    (the pods mapper copies the virtual namespace's labels onto host pods).
    """

    namespace: str


def keys_in_namespace(namespace_obj: Obj) -> list[NamespaceKeys]:
    """A :class:`Watcher` function for ``NAMESPACES``: every key of the watching kind in it.

    A virtual Namespace's name is the namespace; a change of it (labels, say)
    then reconciles everything of the watching kind in that namespace.
    """
    metadata = namespace_obj.get("metadata") or {}
    name = metadata.get("name")
    return [NamespaceKeys(name)] if isinstance(name, str) and name else []


@runtime_checkable
class Watcher(Protocol):
    """Optional: changes of other virtual kinds that should enqueue keys of this kind.

    Each function maps a changed object of the watched kind to keys of this
    kind, or to :class:`NamespaceKeys` for all of them in one namespace.  On an
    update it is called with the old and with the new object.
    """

    def watches(
        self,
    ) -> Mapping[Resource, Callable[[Obj], Iterable[ObjectKey | NamespaceKeys]]]: ...


@runtime_checkable
class DriftDetector(Protocol):
    """Optional: what a periodic check compares, for a syncer of this kind.

    ``drift(ctx, v_obj, p_obj)`` is pure (no I/O) and answers ``None`` when the
    host side is what the syncer wants for ``v_obj`` — ``p_obj`` is the host
    copy, ``None`` when there is none — else one line naming the first
    difference by its field path (``data``, ``metadata.labels``, ``missing``).
    Server-set fields (resourceVersion, uid, managedFields, status …) never
    count, and neither does anything while either side is terminating.  The
    engine enqueues a drifted key; the normal reconcile repairs it.
    """

    def drift(self, ctx: SyncContext, v_obj: Obj, p_obj: Obj | None) -> str | None: ...
