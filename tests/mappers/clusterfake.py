"""A stateful two-cluster double for reconciles that must survive a crash at any step.

Unlike :mod:`tests.mappers.fakes` (which records calls against fixed caches),
this keeps real state: objects with UIDs and resource versions, optimistic
concurrency (stale ``resourceVersion`` → 409), UID preconditions on delete,
``AlreadyExists`` on create, and cluster-IP allocation from a per-cluster
service range (a requested IP outside it, or taken, is a 422 as the real API
server answers).  Caches are live views (no lag).  Every API call counts; the
call numbered ``crash_at`` raises :class:`Crash` instead of running — the
process dying mid-reconcile.  :func:`converge` plays the engine's dispatch.
"""

from __future__ import annotations

import builtins
import ipaddress
import itertools
from collections.abc import Callable, Mapping
from typing import Any

from syncer.api import (
    DONE,
    AlreadyExists,
    ApiError,
    Conflict,
    HostWriteRefused,
    Invalid,
    NotFound,
    Obj,
    ObjectKey,
    Resource,
    Result,
    SyncContext,
    Syncer,
    Translator,
    thaw,
)

Json = dict[str, Any]


class Crash(BaseException):
    """The process died here (a BaseException, like a cancellation: nothing catches it)."""


class Store:
    """One cluster's objects by (plural, namespace, name)."""

    def __init__(self, *, service_cidr: str, uid_prefix: str) -> None:
        self.objs: dict[tuple[str, str, str], Json] = {}
        self.network = ipaddress.ip_network(service_cidr)
        self._uids = (f"{uid_prefix}-{n}" for n in itertools.count(1))
        self._rv = itertools.count(1)
        self._next_ip = itertools.count(10)

    def allocated(self) -> set[str]:
        return {
            str(o["spec"].get("clusterIP"))
            for (plural, _, _), o in self.objs.items()
            if plural == "services"
        }

    def create(self, plural: str, namespace: str, body: Json) -> Json:
        obj = thaw(body)
        meta = obj.setdefault("metadata", {})
        meta["namespace"] = namespace
        key = (plural, namespace, meta["name"])
        if key in self.objs:
            raise AlreadyExists(status=409, reason="AlreadyExists")
        if plural == "services":
            self._allocate(obj["spec"])
        meta["uid"] = next(self._uids)
        meta["resourceVersion"] = str(next(self._rv))
        self.objs[key] = obj
        return thaw(obj)

    def _allocate(self, spec: Json) -> None:
        if spec.get("type") == "ExternalName" or spec.get("clusterIP") == "None":
            return
        requested = spec.get("clusterIP")
        if requested:
            if ipaddress.ip_address(requested) not in self.network:
                raise Invalid(status=422, message="provided IP is not in the valid range")
            if requested in self.allocated():
                raise Invalid(status=422, message="provided IP is already allocated")
        else:
            while True:
                candidate = str(self.network[next(self._next_ip)])
                if candidate not in self.allocated():
                    requested = candidate
                    break
        spec["clusterIP"], spec["clusterIPs"] = requested, [requested]
        spec["ipFamilies"] = ["IPv4"]

    def update(self, plural: str, namespace: str, name: str, body: Mapping[str, Any]) -> Json:
        current = self.objs.get((plural, namespace, name))
        if current is None:
            raise NotFound(status=404)
        if body["metadata"].get("resourceVersion") != current["metadata"]["resourceVersion"]:
            raise Conflict(status=409, reason="Conflict")
        obj = thaw(body)
        obj["metadata"]["uid"] = current["metadata"]["uid"]
        obj["metadata"]["resourceVersion"] = str(next(self._rv))
        if plural == "services" and obj["spec"].get("clusterIP") != current["spec"].get(
            "clusterIP"
        ):
            raise Invalid(status=422, message="spec.clusterIP: field is immutable")
        self.objs[(plural, namespace, name)] = obj
        return thaw(obj)

    def delete(self, plural: str, namespace: str, name: str, uid: str | None) -> None:
        current = self.objs.get((plural, namespace, name))
        if current is None:
            raise NotFound(status=404)
        if uid and current["metadata"]["uid"] != uid:
            raise Conflict(status=409, reason="Conflict", message="precondition failed: UID")
        del self.objs[(plural, namespace, name)]


class View:
    """A cache over one kind of a store: always current."""

    def __init__(self, store: Store, plural: str) -> None:
        self._store, self._plural = store, plural

    def get(self, namespace: str, name: str) -> Obj | None:
        return self._store.objs.get((self._plural, namespace, name))

    def list(self) -> list[Obj]:
        return [o for (p, _, _), o in self._store.objs.items() if p == self._plural]

    def by_index(self, name: str, value: str) -> builtins.list[Obj]:
        raise KeyError(name)

    def keys_by_index(self, name: str, value: str) -> builtins.list[tuple[str, str]]:
        raise KeyError(name)

    def has_indexed(self, name: str, value: str) -> bool:
        raise KeyError(name)


class Clusters:
    """Host and virtual stores, the API surfaces a reconcile uses, and the crash switch."""

    def __init__(
        self,
        *,
        translator: Translator,
        virtual_cidr: str = "10.1.0.0/16",
        host_cidr: str = "10.96.0.0/16",
        host_kinds: tuple[str, ...] = ("services", "endpoints"),
        endpoints_controller: bool = True,
    ) -> None:
        self.endpoints_controller = endpoints_controller
        self.translator = translator
        self.virtual = Store(service_cidr=virtual_cidr, uid_prefix="v")
        self.host = Store(service_cidr=host_cidr, uid_prefix="p")
        self.calls = 0
        self.log: list[tuple[str, str]] = []
        self.crash_at: int | None = None
        self.fail: dict[tuple[str, str], list[Exception]] = {}
        #: Run before the next call of (side, verb): a concurrent actor's move.
        self.before: dict[tuple[str, str], Callable[[], object]] = {}
        self.events: list[tuple[str, str, str]] = []
        self.host_kinds = host_kinds

    def _call(self, side: str, verb: str) -> None:
        self.calls += 1
        if self.crash_at is not None and self.calls >= self.crash_at:
            raise Crash(f"crash at call {self.calls} ({side} {verb})")
        self.log.append((side, verb))
        hook = self.before.pop((side, verb), None)
        if hook is not None:
            hook()
        pending = self.fail.get((side, verb))
        if pending:
            raise pending.pop(0)

    def context(self) -> SyncContext:
        clusters = self
        ns = self.translator.host_namespace

        class HostApi:
            host_namespace = ns

            async def create(self, resource: Resource, *, body: Json) -> Json:
                clusters._call("host", "create")
                clusters._owned(resource, body)
                return clusters.host.create(resource.plural, ns, body)

            async def update(
                self, resource: Resource, *, current: Mapping[str, Any], body: Json
            ) -> Json:
                clusters._call("host", "update")
                clusters._owned(resource, current)
                clusters._owned(resource, body)
                return clusters.host.update(resource.plural, ns, body["metadata"]["name"], body)

            update_status = update

            async def delete(
                self,
                resource: Resource,
                *,
                current: Mapping[str, Any],
                grace_period_seconds: int | None = None,
            ) -> Json:
                clusters._call("host", "delete")
                clusters._owned(resource, current)
                meta = current["metadata"]
                clusters.host.delete(resource.plural, ns, meta["name"], meta.get("uid"))
                return {}

        class VirtualApi:
            async def get(self, resource: Resource, *, namespace: str | None, name: str) -> Json:
                clusters._call("virtual", "get")
                obj = clusters.virtual.objs.get((resource.plural, namespace or "", name))
                if obj is None:
                    raise NotFound(status=404)
                return thaw(obj)

            async def create(self, resource: Resource, *, namespace: str | None, body: Any) -> Json:
                clusters._call("virtual", "create")
                return clusters.virtual.create(resource.plural, namespace or "", body)

            async def update(
                self, resource: Resource, *, namespace: str | None, name: str, body: Any
            ) -> Json:
                clusters._call("virtual", "update")
                return clusters.virtual.update(resource.plural, namespace or "", name, body)

            update_status = update

            async def delete(
                self,
                resource: Resource,
                *,
                namespace: str | None,
                name: str,
                uid: str | None = None,
                **kw: Any,
            ) -> Json:
                clusters._call("virtual", "delete")
                clusters.virtual.delete(resource.plural, namespace or "", name, uid)
                if resource.plural == "services" and clusters.endpoints_controller:
                    # The virtual endpoints controller removes a missing service's Endpoints.
                    clusters.virtual.objs.pop(("endpoints", namespace or "", name), None)
                return {}

        async def record_event(obj: Any, **kw: Any) -> None:
            self.events.append((str(kw.get("type_")), str(kw.get("reason")), str(kw["message"])))

        def host_cache(resource: Resource) -> View:
            if resource.plural not in self.host_kinds:
                raise KeyError(resource.plural)
            return View(self.host, resource.plural)

        return SyncContext(
            translator=self.translator,
            host=HostApi(),
            virtual=VirtualApi(),  # type: ignore[arg-type]
            virtual_cache=lambda r: View(self.virtual, r.plural),
            host_cache=host_cache,
            record_event=record_event,
            log=None,
        )

    def _owned(self, resource: Resource, obj: Mapping[str, Any]) -> None:
        if not self.translator.is_owned(obj, kind_string=resource.kind_string):
            raise HostWriteRefused("not ours")


async def reconcile(
    syncer: Syncer, clusters: Clusters, key: ObjectKey, resource: Resource
) -> Result:
    """The engine's dispatch on which side exists (no cache lag here)."""
    ctx = clusters.context()
    v_obj = clusters.virtual.objs.get((resource.plural, key.namespace, key.name))
    p_name = clusters.translator.host_name(key.namespace, key.name)
    p_obj = clusters.host.objs.get((resource.plural, clusters.translator.host_namespace, p_name))
    if v_obj is not None and p_obj is not None:
        return await syncer.sync(ctx, thaw(v_obj), thaw(p_obj))
    if v_obj is not None:
        return await syncer.sync_to_host(ctx, thaw(v_obj))
    if p_obj is not None:
        return await syncer.sync_to_virtual(ctx, key, thaw(p_obj))
    return DONE


def snapshot(store: Store) -> dict[tuple[str, str, str], str]:
    return {k: str(v["metadata"]["resourceVersion"]) for k, v in store.objs.items()}


async def converge(
    syncer: Syncer, clusters: Clusters, key: ObjectKey, resource: Resource, *, rounds: int = 12
) -> None:
    """Reconcile ``key`` until a round writes nothing and asks for nothing; fail if it never does.

    A round that raises an API error is retried, as the engine's backoff would.
    """
    for _ in range(rounds):
        before = (snapshot(clusters.virtual), snapshot(clusters.host))
        try:
            result = await reconcile(syncer, clusters, key, resource)
        except ApiError:
            continue
        after = (snapshot(clusters.virtual), snapshot(clusters.host))
        if before == after and not result.requeue and result.requeue_after is None:
            return
    raise AssertionError(f"{key} did not converge in {rounds} rounds")
