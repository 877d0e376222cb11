"""Test doubles for a reconcile's :class:`~syncer.api.SyncContext`: caches and recorded writes.

The fakes keep what a Syncer method did as a list of ``(side, verb, name)``
tuples, so table-driven tests can state "before" (the caches) and "after" (the
writes) without a cluster.  Host writes go through the real ownership rules
(:meth:`Translator.is_owned`), as the guarded host writer would apply them.
Live host reads (``host_read``) answer from ``host_live`` and are recorded as
``("host", "get", name)``.  Token Secrets of pods pass under their own
ownership rule (:func:`mappers.tokens.token_secret_owner`), as the host writer
must let them.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from typing import Any

from mappers.tokens import token_secret_owner
from syncer.api import (
    SECRETS,
    AlreadyExists,
    HostWriteRefused,
    NotFound,
    Obj,
    Resource,
    SyncContext,
    Translator,
)

Json = dict[str, Any]
T = Translator(vcluster="vc", host_namespace="host-ns")


class FakeCache:
    """A read-only store: ``(namespace, name) → object`` plus named indexes."""

    def __init__(self, objs: list[Json] | None = None) -> None:
        self.objs: dict[tuple[str, str], Json] = {}
        self.indexes: dict[str, Any] = {}
        for obj in objs or []:
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
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str]] = []
        self.events: list[tuple[str, str]] = []
        # (side, verb) fails every such call; (side, verb, name) only the one on that name.
        self.fail: dict[tuple[str, ...], Exception] = {}

    def record(self, side: str, verb: str, name: str) -> None:
        error = self.fail.get((side, verb, name)) or self.fail.get((side, verb))
        if error is not None:
            raise error
        self.calls.append((side, verb, name))


class FakeHost:
    """The guarded host writer's interface; refuses writes to objects that are not ours."""

    def __init__(self, recorder: Recorder) -> None:
        self._r = recorder
        self.created: list[Json] = []
        self.updated: list[Json] = []

    @property
    def host_namespace(self) -> str:
        return T.host_namespace

    def _check(self, resource: Resource, obj: Mapping[str, Any]) -> None:
        if resource == SECRETS and token_secret_owner(T, obj) is not None:
            return  # a pod's token Secret, under its own ownership rule (mappers.tokens)
        if not T.is_owned(obj, kind_string=resource.kind_string):
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
        self._r.record("host", "update", body["metadata"]["name"])
        self.updated.append(body)
        return body

    async def update_status(
        self, resource: Resource, *, current: Mapping[str, Any], body: Json
    ) -> Json:
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
    """The virtual client's interface; ``live`` answers GETs."""

    def __init__(self, recorder: Recorder, live: FakeCache) -> None:
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


class Fake:
    """A SyncContext over fake caches; ``calls`` lists the writes a reconcile made."""

    def __init__(
        self,
        *,
        virtual: Mapping[str, list[Json]] | None = None,
        host: Mapping[str, list[Json]] | None = None,
        host_live: list[Json] | None = None,
    ) -> None:
        self.recorder = Recorder()
        self.virtual_caches = {k: FakeCache(v) for k, v in (virtual or {}).items()}
        self.host_caches = {k: FakeCache(v) for k, v in (host or {}).items()}
        self.live = FakeCache([o for objs in (virtual or {}).values() for o in objs])
        self.host = FakeHost(self.recorder)
        self.virtual = FakeVirtual(self.recorder, self.live)

        async def record_event(obj: Any, **kw: Any) -> None:
            self.recorder.events.append((str(kw.get("type_")), str(kw.get("reason"))))

        self.host_live = FakeCache(host_live)

        async def host_read(resource: Resource, *, name: str) -> Json:
            self.recorder.record("host", "get", name)
            obj = self.host_live.get(T.host_namespace, name)
            if obj is None:
                raise NotFound(status=404)
            return dict(obj)

        self.ctx = SyncContext(
            translator=T,
            host=self.host,
            virtual=self.virtual,
            virtual_cache=lambda r: self.virtual_caches.setdefault(r.plural, FakeCache()),
            host_cache=lambda r: self.host_caches[r.plural],
            record_event=record_event,
            log=None,
            host_read=host_read,
        )

    @property
    def calls(self) -> list[tuple[str, str, str]]:
        return self.recorder.calls

    @property
    def events(self) -> list[tuple[str, str]]:
        return self.recorder.events


def host_copy(resource: Resource, *, namespace: str, name: str, uid: str = "v-uid") -> Json:
    """This vcluster's host copy of virtual ``namespace/name`` of ``resource``."""
    p_name = T.host_name(namespace, name)
    return {
        "apiVersion": resource.api_version,
        "kind": resource.kind,
        "metadata": {
            "name": p_name,
            "namespace": T.host_namespace,
            "uid": f"p-{p_name}",
            "labels": T.translate_labels({}, namespace=namespace),
            "annotations": T.provenance_annotations(
                kind_string=resource.kind_string,
                namespace=namespace,
                name=name,
                uid=uid,
                host_name=p_name,
            ),
        },
    }


def foreign(resource: Resource, *, name: str) -> Json:
    """A host object under ``name`` that no syncer made (no marker label, no provenance)."""
    return {
        "apiVersion": resource.api_version,
        "kind": resource.kind,
        "metadata": {"name": name, "namespace": T.host_namespace, "uid": f"f-{name}"},
    }
