"""An in-memory :class:`~syncer.api.SyncContext`, so a mapper can be unit-tested without a cluster.

:class:`FakeContext` holds the caches a reconcile reads (``virtual`` and
``host``, by plural) and records what the reconcile did as ``(side, verb,
name)`` tuples in :attr:`FakeContext.calls`, so a test states "before" (the
caches) and "after" (the writes and events) and calls a Syncer method in
between.  It does not apply writes to its caches: a test that wants the next
step puts the object it expects there itself.

Guarantees:

* host writes obey the rule of the real guarded host writer: the object (the
  current one and the new body) must be in the host namespace when the kind is
  namespaced and owned by this vcluster for this kind (marker label and
  provenance that re-translates to its own name); an update may not rename.
  A refused write raises :class:`~syncer.api.HostWriteRefused` and is not
  recorded.  ``also_owned`` admits further objects (a rule of a plugin's own,
  such as a pod's token Secret), and only those;
* a virtual GET answers from :attr:`FakeContext.live` (initially every object
  of the ``virtual`` caches), a virtual delete removes from it, a virtual
  create of a name ``live`` holds raises :class:`~syncer.api.AlreadyExists`;
* a live host read (``host_read``) answers from :attr:`FakeContext.host_live`
  and is recorded as ``("host", "get", name)``;
* an entry ``(side, verb)`` or ``(side, verb, name)`` in
  :attr:`Recorder.fail` makes that call raise the given exception instead;
* events are recorded as ``(type, reason)`` in :attr:`FakeContext.events`;
* the enabled kinds (``ctx.enabled``, what ``ctx.serves`` answers) are those a
  test names in ``enabled``, by default every built-in kind whose plural keys
  ``virtual`` or ``host``; a host cache exists exactly for an enabled kind
  and for a kind in ``host_reads`` (a mapper's ``Capabilities.host_reads``,
  which the wiring runs whatever is enabled); another raises
  :class:`~syncer.api.NotServed`, a ``KeyError``, as at run time; a virtual
  cache not given reads as empty (at run time a kind's virtual cache also
  runs when an enabled mapper watches it);
* given ``reads`` (the kinds a mapper may ask for: its own, its host kind, the
  kinds it watches, its ``reads`` and ``may_read``), asking for the cache of
  any other kind raises :class:`~syncer.api.UndeclaredRead`, as at run time.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from syncer.api import (
    CORE,
    AlreadyExists,
    CacheHandles,
    CacheUser,
    HostWriteRefused,
    NotFound,
    NotServed,
    Obj,
    Resource,
    SyncContext,
    Translator,
    UndeclaredRead,
)
from syncer.kit.objects import Json

#: The translator the fakes use unless given another.
TRANSLATOR = Translator(vcluster="vc", host_namespace="host-ns")
#: The built-in kinds by plural: what a ``virtual``/``host`` key enables by default.
BUILT_IN: Mapping[str, Resource] = CORE
#: Extra ownership rule of the fake host writer: ``(resource, obj) -> admitted``.
OwnershipRule = Callable[[Resource, Mapping[str, Any]], bool]
_M = TypeVar("_M")


class FakeCache:
    """A read-only store: ``(namespace, name) → object`` plus named index functions."""

    def __init__(self, objs: Iterable[Json] = ()) -> None:
        self.objs: dict[tuple[str, str], Json] = {}
        #: Index name → function from an object to its index values (as an Indexer declares).
        self.indexes: dict[str, Callable[[Obj], Iterable[str]]] = {}
        for obj in objs:
            self.put(obj)

    def put(self, obj: Json) -> None:
        meta = obj["metadata"]
        self.objs[(meta.get("namespace") or "", meta["name"])] = obj

    def get(self, namespace: str, name: str) -> Obj | None:
        return self.objs.get((namespace, name))

    def list(self) -> list[Obj]:
        return list(self.objs.values())

    def by_index(self, name: str, value: str) -> builtins.list[Obj]:
        fn = self.indexes[name]  # KeyError for an unknown index, like the real store
        return [o for o in self.objs.values() if value in fn(o)]

    def keys_by_index(self, name: str, value: str) -> builtins.list[tuple[str, str]]:
        fn = self.indexes[name]
        return [k for k, o in self.objs.items() if value in fn(o)]

    def has_indexed(self, name: str, value: str) -> bool:
        return bool(self.keys_by_index(name, value))


class Recorder:
    """The calls and events of one fake context, and the calls that must fail."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str]] = []
        self.events: list[tuple[str, str]] = []
        #: ``(side, verb)`` fails every such call; ``(side, verb, name)`` only the one on that name.
        self.fail: dict[tuple[str, ...], Exception] = {}

    def record(self, side: str, verb: str, name: str) -> None:
        error = self.fail.get((side, verb, name)) or self.fail.get((side, verb))
        if error is not None:
            raise error
        self.calls.append((side, verb, name))


class FakeHost:
    """The guarded host writer's interface, with its namespace and ownership checks."""

    def __init__(
        self, *, recorder: Recorder, translator: Translator, also_owned: OwnershipRule | None
    ) -> None:
        self._r = recorder
        self._t = translator
        self._also_owned = also_owned
        self.created: list[Json] = []
        self.updated: list[Json] = []

    @property
    def host_namespace(self) -> str:
        return self._t.host_namespace

    def _check(self, resource: Resource, obj: Mapping[str, Any]) -> None:
        meta = obj.get("metadata") or {}
        if resource.namespaced and (meta.get("namespace") or "") != self.host_namespace:
            raise HostWriteRefused(f"not in the host namespace {self.host_namespace!r}")
        if self._also_owned is not None and self._also_owned(resource, obj):
            return
        if not self._t.is_owned(obj, kind_string=resource.kind_string):
            raise HostWriteRefused("not ours")

    async def create(self, resource: Resource, *, body: Json) -> Json:
        self._check(resource, body)
        self._r.record("host", "create", body["metadata"]["name"])
        self.created.append(body)
        created = dict(body)
        created["metadata"] = {**body["metadata"], "uid": "p-new", "resourceVersion": "1"}
        return created

    async def update(self, resource: Resource, *, current: Mapping[str, Any], body: Json) -> Json:
        self._check(resource, current)
        self._check(resource, body)
        if body["metadata"]["name"] != current["metadata"]["name"]:
            raise HostWriteRefused("an update may not rename an object")
        self._r.record("host", "update", body["metadata"]["name"])
        self.updated.append(body)
        return body

    async def update_status(
        self, resource: Resource, *, current: Mapping[str, Any], body: Json
    ) -> Json:
        self._check(resource, current)
        self._r.record("host", "update_status", body["metadata"]["name"])
        return body

    async def delete(
        self,
        resource: Resource,
        *,
        current: Mapping[str, Any],
        grace_period_seconds: int | None = None,
    ) -> Json:
        self._check(resource, current)
        self._r.record("host", f"delete(grace={grace_period_seconds})", current["metadata"]["name"])
        return {}


class FakeVirtual:
    """The virtual API's interface; ``live`` answers GETs; request bodies land in ``bodies``."""

    def __init__(self, *, recorder: Recorder, live: FakeCache) -> None:
        self._r = recorder
        self._live = live
        self.bodies: list[Json] = []

    async def get(self, resource: Resource, *, namespace: str | None, name: str) -> Json:
        obj = self._live.get(namespace or "", name)
        if obj is None:
            raise NotFound(status=404)
        return dict(obj)

    async def create(self, resource: Resource, *, namespace: str | None, body: Any) -> Json:
        self._r.record("virtual", "create", body["metadata"]["name"])
        self.bodies.append(body)
        if self._live.get(namespace or "", body["metadata"]["name"]) is not None:
            raise AlreadyExists(status=409, reason="AlreadyExists")
        return {**body, "metadata": {**body["metadata"], "uid": "v-new"}}

    async def update(
        self, resource: Resource, *, namespace: str | None, name: str, body: Any
    ) -> Json:
        self._r.record("virtual", "update", name)
        self.bodies.append(body)
        return dict(body)

    async def update_status(
        self, resource: Resource, *, namespace: str | None, name: str, body: Any
    ) -> Json:
        self._r.record("virtual", "update_status", name)
        self.bodies.append(body)
        return dict(body)

    async def patch(self, resource: Resource, **kw: Any) -> Json:
        self._r.record("virtual", "patch", str(kw.get("name")))
        return {}

    async def delete(
        self, resource: Resource, *, namespace: str | None, name: str, **kw: Any
    ) -> Json:
        self._r.record("virtual", f"delete(grace={kw.get('grace_period_seconds')})", name)
        self._live.objs.pop((namespace or "", name), None)
        return {}

    async def create_subresource(
        self, resource: Resource, *, namespace: str | None, name: str, subresource: str, body: Any
    ) -> Json:
        self._r.record("virtual", subresource, name)
        self.bodies.append(body)
        if subresource == "token":
            return {"status": {"token": "t0ken", "expirationTimestamp": "2099-01-01T00:00:00Z"}}
        return {}


class FakeContext:
    """A :class:`~syncer.api.SyncContext` (``.ctx``) over in-memory caches.

    ``virtual`` and ``host`` map a plural to the objects of its cache.
    ``enabled`` names the kinds whose mappers run (default: the built-in kinds
    named in ``virtual`` or ``host``); ``reads``, when given, the only kinds
    whose caches the reconcile may ask for (see the module).
    """

    def __init__(
        self,
        *,
        virtual: Mapping[str, list[Json]] | None = None,
        host: Mapping[str, list[Json]] | None = None,
        host_live: list[Json] | None = None,
        translator: Translator = TRANSLATOR,
        also_owned: OwnershipRule | None = None,
        enabled: Iterable[Resource] | None = None,
        reads: Iterable[Resource] | None = None,
        host_reads: Iterable[Resource] = (),
    ) -> None:
        if enabled is None:
            named = [*(virtual or {}), *(host or {})]
            enabled = [BUILT_IN[plural] for plural in named if plural in BUILT_IN]
        self.enabled = frozenset((r.group, r.plural) for r in enabled)
        self.host_served = self.enabled | {(r.group, r.plural) for r in host_reads}
        self.reads = None if reads is None else frozenset((r.group, r.plural) for r in reads)
        self.translator = translator
        self.recorder = Recorder()
        self.virtual_caches = {k: FakeCache(v) for k, v in (virtual or {}).items()}
        self.host_caches = {k: FakeCache(v) for k, v in (host or {}).items()}
        self.live = FakeCache([o for objs in (virtual or {}).values() for o in objs])
        self.host_live = FakeCache(host_live or ())
        self.host = FakeHost(recorder=self.recorder, translator=translator, also_owned=also_owned)
        self.virtual = FakeVirtual(recorder=self.recorder, live=self.live)
        self.ctx = SyncContext(
            translator=translator,
            host=self.host,
            virtual=self.virtual,
            virtual_cache=self._virtual_cache,
            host_cache=self._host_cache,
            record_event=self._record_event,
            log=None,
            host_read=self._host_read,
            enabled=self.enabled,
        )

    def bind(self, mapper: _M) -> _M:
        """``mapper``, handed this context's caches as the wiring would at start-up
        (``use_caches``, for a :class:`~syncer.api.CacheUser`); raises what that raises."""
        if isinstance(mapper, CacheUser):
            mapper.use_caches(
                caches=CacheHandles(
                    virtual_cache=self._virtual_cache,
                    host_cache=self._host_cache,
                    enabled=self.enabled,
                )
            )
        return mapper

    def _check_read(self, resource: Resource, *, cluster: str) -> None:
        if self.reads is not None and (resource.group, resource.plural) not in self.reads:
            raise UndeclaredRead(
                f"read the {cluster} cache of {resource.qualified!r}, "
                "which is not declared in reads or may_read"
            )

    def _virtual_cache(self, resource: Resource) -> FakeCache:
        self._check_read(resource, cluster="virtual")
        return self.virtual_caches.setdefault(resource.plural, FakeCache())

    def _host_cache(self, resource: Resource) -> FakeCache:
        self._check_read(resource, cluster="host")
        if (resource.group, resource.plural) not in self.host_served:
            raise NotServed(f"no host cache of {resource.qualified!r} runs here")
        return self.host_caches.setdefault(resource.plural, FakeCache())

    async def _record_event(self, obj: Any, **kw: Any) -> None:
        del obj
        self.recorder.events.append((str(kw.get("type_")), str(kw.get("reason"))))

    async def _host_read(self, resource: Resource, *, name: str) -> Json:
        self.recorder.record("host", "get", name)
        obj = self.host_live.get(self.translator.host_namespace, name)
        if obj is None:
            raise NotFound(status=404)
        return dict(obj)

    @property
    def calls(self) -> list[tuple[str, str, str]]:
        return self.recorder.calls

    @property
    def events(self) -> list[tuple[str, str]]:
        return self.recorder.events


def host_copy(
    resource: Resource,
    *,
    namespace: str,
    name: str,
    uid: str = "v-uid",
    translator: Translator = TRANSLATOR,
) -> Json:
    """This vcluster's host copy of virtual ``namespace/name`` (metadata only)."""
    p_name = translator.host_name(namespace, name)
    return {
        "apiVersion": resource.api_version,
        "kind": resource.kind,
        "metadata": {
            "name": p_name,
            "namespace": translator.host_namespace,
            "uid": f"p-{p_name}",
            "labels": translator.translate_labels({}, namespace=namespace),
            "annotations": translator.provenance_annotations(
                kind_string=resource.kind_string,
                namespace=namespace,
                name=name,
                uid=uid,
                host_name=p_name,
            ),
        },
    }


def foreign(resource: Resource, *, name: str, translator: Translator = TRANSLATOR) -> Json:
    """A host object under ``name`` that no syncer made (no marker label, no provenance)."""
    return {
        "apiVersion": resource.api_version,
        "kind": resource.kind,
        "metadata": {"name": name, "namespace": translator.host_namespace, "uid": f"f-{name}"},
    }
