"""Services: the host service is created first; the virtual one then carries its addresses.

Guarantees (REFERENCE.md "Services"):

* toHost: the spec flows down with the selector translated (confined to this
  vcluster and the virtual namespace; an empty selector stays empty) and
  without what the host allocates itself (cluster IPs, IP families, node ports,
  health-check node port): those are kept as the host chose them.
* fromHost: the virtual service shows the host's cluster IP(s), IP families,
  node ports and health-check node port.  Node ports are updated in place; a
  different cluster IP (immutable) makes the syncer re-create the virtual
  service — same metadata (owner references included) and spec, the host's
  addresses — and re-point the host object at the new UID in the same
  reconcile.  If the virtual API server refuses the host's IP (not in its
  service range, already taken), the service is restored with an address of
  its own, marked so that it is not retried in a loop, and a Warning event says
  why.  ``status.loadBalancer`` flows up.
* Re-creating a selector-less service races the virtual endpoints controller,
  which deletes the Endpoints of a service it finds missing: the tenant's
  hand-made Endpoints, as last seen, are restored once if they vanish within
  :data:`ENDPOINTS_GUARD_SECONDS` of the re-creation (this mapper watches
  virtual endpoints for that; see :class:`EndpointsGuard`).
* A host service whose provenance UID differs from the virtual one is adopted
  (updated), not deleted: the UID changes whenever the syncer re-creates the
  virtual service.  Orphans are deleted as for every copied kind.
* ``default/kubernetes`` is never copied to the host.  With
  ``MapperConfig.virtual_service_host`` set, its cluster IP, port and
  Endpoints follow the host Service that fronts the virtual API server
  (:mod:`mappers.apiservice`; its "host object" is that Service, which is only
  read); unset, it is left to the virtual API server.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from mappers.apiservice import (
    CLUSTER_IP_MISMATCH_ANNOTATION,
    KUBERNETES_SERVICE,
    ApiService,
    is_api_service,
)
from mappers.copysync import (
    CACHE_LAG_RETRY,
    CopySyncer,
    create_on_host,
    delete_on_host,
)
from mappers.generic import (
    Json,
    annotations_of,
    is_terminating,
    items,
    mapping,
    name_of,
    namespace_of,
    no_keys,
    uid_of,
)
from syncer.api import (
    DONE,
    ENDPOINTS,
    NAMESPACES,
    SERVICES,
    AlreadyExists,
    ApiError,
    MapperConfig,
    NotFound,
    Obj,
    ObjectKey,
    Resource,
    Result,
    SyncContext,
    Translator,
    thaw,
)

__all__ = ["CLUSTER_IP_MISMATCH_ANNOTATION", "KUBERNETES_SERVICE", "ServiceMapper", "make"]

#: How long Endpoints of a re-created selector-less service are restored if they vanish.
ENDPOINTS_GUARD_SECONDS = 30.0
#: Spec fields the host allocates; the virtual service copies them from the host.
HOST_ALLOCATED = ("clusterIP", "clusterIPs", "ipFamilies", "healthCheckNodePort")
_SERVER_METADATA = (
    "uid",
    "resourceVersion",
    "creationTimestamp",
    "managedFields",
    "generation",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "selfLink",
)


def _port_key(port: Any) -> tuple[str, object, str]:
    port = mapping(port)
    return (str(port.get("name") or ""), port.get("port"), str(port.get("protocol") or "TCP"))


def node_ports(spec: Any) -> dict[tuple[str, object, str], int]:
    """Node port of every port that has one, by (name, port, protocol)."""
    return {
        _port_key(p): int(mapping(p)["nodePort"])
        for p in items(mapping(spec).get("ports"))
        if mapping(p).get("nodePort")
    }


def host_spec(v_spec: Any, *, namespace: str, translator: Translator, p_spec: Any) -> Json:
    """The host spec: selector translated, host-allocated fields taken from ``p_spec``."""
    spec = thaw(mapping(v_spec))
    selector = translator.translate_selector(mapping(spec.get("selector")), namespace=namespace)
    if selector:
        spec["selector"] = selector
    else:
        spec.pop("selector", None)
    headless = spec.get("clusterIP") == "None"
    current = mapping(p_spec)
    for field in HOST_ALLOCATED:
        if headless and field in ("clusterIP", "clusterIPs"):
            continue
        if field in current:
            spec[field] = thaw({field: current[field]})[field]
        else:
            spec.pop(field, None)
    allocated = node_ports(current)
    for port in items(spec.get("ports")):
        node_port = allocated.get(_port_key(port))
        if node_port:
            port["nodePort"] = node_port
        else:
            port.pop("nodePort", None)
    return spec


def virtual_spec(v_spec: Any, p_spec: Any) -> Json:
    """The virtual spec carrying the host's addresses and node ports."""
    spec = thaw(mapping(v_spec))
    current = mapping(p_spec)
    for field in HOST_ALLOCATED:
        if field in current:
            spec[field] = thaw({field: current[field]})[field]
    allocated = node_ports(current)
    for port in items(spec.get("ports")):
        node_port = allocated.get(_port_key(port))
        if node_port:
            port["nodePort"] = node_port
    return spec


def recreated(v_obj: Obj, spec: Json) -> Json:
    """A new virtual service like ``v_obj`` (minus server-set metadata) with ``spec``."""
    body = thaw(v_obj)
    for field in _SERVER_METADATA:
        body["metadata"].pop(field, None)
    body["spec"] = spec
    body.pop("status", None)
    return body


def namespace_terminating(ctx: SyncContext, namespace: str) -> bool:
    """Whether the virtual namespace is being deleted (nothing may be created in it)."""
    v_namespace = ctx.virtual_cache(NAMESPACES).get("", namespace)
    return v_namespace is not None and is_terminating(v_namespace)


def restorable(endpoints: Obj) -> Json:
    """A copy of virtual Endpoints that can be created again (no server-set metadata)."""
    body = thaw(endpoints)
    for field in _SERVER_METADATA:
        body.get("metadata", {}).pop(field, None)
    return body


class EndpointsGuard:
    """Hand-made Endpoints of services being re-created, to restore if they vanish.

    A key is *armed* when its service is re-created; while armed (for
    :data:`ENDPOINTS_GUARD_SECONDS`), every virtual Endpoints object of that
    name the watch delivers is remembered — by reference, cached objects are
    read-only — so one deleted by the endpoints controller can be put back once.
    """

    def __init__(self, *, seconds: float = ENDPOINTS_GUARD_SECONDS) -> None:
        self._seconds = seconds
        self._armed: dict[ObjectKey, tuple[float, Obj | None]] = {}

    def arm(self, key: ObjectKey, current: Obj | None) -> None:
        self._armed[key] = (time.monotonic() + self._seconds, current)

    def observe(self, key: ObjectKey, endpoints: Obj) -> None:
        entry = self._armed.get(key)
        if entry is not None and entry[0] > time.monotonic():
            self._armed[key] = (entry[0], endpoints)

    def forget(self, key: ObjectKey) -> None:
        self._armed.pop(key, None)

    def saved(self, key: ObjectKey) -> Obj | None:
        """The last Endpoints seen for an armed key, if it is still armed."""
        entry = self._armed.get(key)
        if entry is None:
            return None
        if entry[0] <= time.monotonic():
            del self._armed[key]
            return None
        return entry[1]


class ServiceMapper(CopySyncer):
    def __init__(self, *, translator: Translator, config: MapperConfig | None = None) -> None:
        super().__init__(resource=SERVICES, translator=translator)
        self.endpoints_guard = EndpointsGuard()
        config = config or MapperConfig()
        self.api_service = ApiService(config=config) if config.virtual_service_host else None

    def watches(self) -> Mapping[Resource, Callable[[Obj], Iterable[ObjectKey]]]:
        return {
            NAMESPACES: no_keys,  # read: a terminating namespace is left alone
            ENDPOINTS: self.keys_of_endpoints,  # see EndpointsGuard
        }

    def keys_of_endpoints(self, endpoints: Obj) -> list[ObjectKey]:
        """The service of these endpoints (remembered while its key is guarded)."""
        key = ObjectKey(SERVICES.plural, namespace_of(endpoints), name_of(endpoints))
        self.endpoints_guard.observe(key, endpoints)
        return [key]

    def virtual_to_host(self, key: ObjectKey) -> str | None:
        if (key.namespace, key.name) == KUBERNETES_SERVICE:
            # Its stand-in on the host is the configured Service (read, never written).
            return self.api_service.host if self.api_service is not None else None
        return super().virtual_to_host(key)

    def desired_host(self, ctx: SyncContext, v_obj: Obj, p_obj: Obj | None) -> Json | None:
        return self.host_service(v_obj, p_obj)

    def host_service(self, v_obj: Obj, p_obj: Obj | None) -> Json:
        """The host service for ``v_obj``, keeping what ``p_obj`` (if any) was allocated."""
        return {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": self.host_metadata(v_obj, p_obj),
            "spec": host_spec(
                v_obj.get("spec"),
                namespace=namespace_of(v_obj),
                translator=self.translator,
                p_spec=p_obj.get("spec") if p_obj is not None else None,
            ),
        }

    def must_recreate(self, p_obj: Obj, desired: Json) -> bool:
        # Switching to or from ExternalName changes whether a cluster IP exists at all.
        types = (mapping(p_obj.get("spec")).get("type"), desired["spec"].get("type"))
        return types[0] != types[1] and "ExternalName" in types

    async def sync_to_host(self, ctx: SyncContext, v_obj: Obj) -> Result:
        if is_terminating(v_obj):
            return DONE
        if is_api_service(v_obj):
            return await self.api_service.sync(ctx, v_obj) if self.api_service else DONE
        await self.guard_endpoints(ctx, v_obj)
        body = self.host_service(v_obj, None)
        created = await create_on_host(ctx, SERVICES, v_obj=v_obj, body=body, recent=self.recent)
        if created is None:
            return CACHE_LAG_RETRY
        return await self.align_virtual(ctx, v_obj, created)

    async def sync(self, ctx: SyncContext, v_obj: Obj, p_obj: Obj) -> Result:
        if is_terminating(p_obj):
            return DONE
        desired = self.host_service(v_obj, p_obj)
        if is_terminating(v_obj) or self.must_recreate(p_obj, desired):
            await delete_on_host(ctx, SERVICES, p_obj)
            return DONE
        await self.guard_endpoints(ctx, v_obj)
        body = self.updated_host(p_obj, desired)
        body["spec"] = desired["spec"]
        if body != thaw(p_obj):
            p_obj = await ctx.host.update(SERVICES, current=p_obj, body=body)
        return await self.align_virtual(ctx, v_obj, p_obj)

    async def align_virtual(self, ctx: SyncContext, v_obj: Obj, p_obj: Obj) -> Result:
        """Make the virtual service carry the host's addresses, node ports and status."""
        v_spec, p_spec = mapping(v_obj.get("spec")), mapping(p_obj.get("spec"))
        p_ip = p_spec.get("clusterIP")
        refused = annotations_of(v_obj).get(CLUSTER_IP_MISMATCH_ANNOTATION)
        if p_ip and v_spec.get("clusterIP") != p_ip and refused != p_ip:
            if not namespace_terminating(ctx, namespace_of(v_obj)):
                await self.recreate_virtual(ctx, v_obj, p_obj)
            return DONE
        spec = virtual_spec(v_spec, p_spec)
        if refused == p_ip:
            for field in ("clusterIP", "clusterIPs"):
                if field in v_spec:
                    spec[field] = thaw({field: v_spec[field]})[field]
        namespace, name = namespace_of(v_obj), name_of(v_obj)
        if spec != thaw(v_spec):
            body = thaw(v_obj)
            body["spec"] = spec
            v_obj = await ctx.virtual.update(SERVICES, namespace=namespace, name=name, body=body)
        balancer = thaw(mapping(mapping(p_obj.get("status")).get("loadBalancer")))
        if balancer != thaw(mapping(mapping(v_obj.get("status")).get("loadBalancer"))):
            body = thaw(v_obj)
            body.setdefault("status", {})["loadBalancer"] = balancer
            await ctx.virtual.update_status(SERVICES, namespace=namespace, name=name, body=body)
        return DONE

    async def sync_to_virtual(self, ctx: SyncContext, key: ObjectKey, p_obj: Obj) -> Result:
        self.endpoints_guard.forget(key)
        return await super().sync_to_virtual(ctx, key, p_obj)

    async def guard_endpoints(self, ctx: SyncContext, v_obj: Obj) -> None:
        """Restore remembered Endpoints that vanished while the service was re-created."""
        key = ObjectKey(SERVICES.plural, namespace_of(v_obj), name_of(v_obj))
        saved = self.endpoints_guard.saved(key)
        if saved is None or ctx.virtual_cache(ENDPOINTS).get(key.namespace, key.name):
            return
        self.endpoints_guard.forget(key)
        try:
            await ctx.virtual.create(ENDPOINTS, namespace=key.namespace, body=restorable(saved))
        except AlreadyExists:
            return  # someone made new ones: theirs stand

    async def recreate_virtual(self, ctx: SyncContext, v_obj: Obj, p_obj: Obj) -> None:
        """Replace the virtual service by one with the host's cluster IP; re-point the host."""
        namespace = namespace_of(v_obj)
        spec = virtual_spec(v_obj.get("spec"), p_obj.get("spec"))
        if not mapping(v_obj.get("spec")).get("selector"):
            key = ObjectKey(SERVICES.plural, namespace, name_of(v_obj))
            self.endpoints_guard.arm(key, ctx.virtual_cache(ENDPOINTS).get(namespace, key.name))
        try:
            await ctx.virtual.delete(
                SERVICES,
                namespace=namespace,
                name=name_of(v_obj),
                uid=uid_of(v_obj),
                grace_period_seconds=0,
            )
        except NotFound:
            return  # the tenant deleted it meanwhile: never resurrect it
        try:
            created = await ctx.virtual.create(
                SERVICES, namespace=namespace, body=recreated(v_obj, spec)
            )
        except ApiError as exc:
            created = await self.restore_virtual(ctx, v_obj, p_obj, exc)
        desired = self.host_service(created, p_obj)
        body = self.updated_host(p_obj, desired)
        body["spec"] = desired["spec"]
        try:
            await ctx.host.update(SERVICES, current=p_obj, body=body)
        except NotFound:
            return

    async def restore_virtual(
        self, ctx: SyncContext, v_obj: Obj, p_obj: Obj, error: ApiError
    ) -> Json:
        """The virtual API refused the host's IP: bring the service back with its own address."""
        p_ip = str(mapping(p_obj.get("spec")).get("clusterIP"))
        spec = thaw(mapping(v_obj.get("spec")))
        if spec.get("clusterIP") != "None":
            for field in ("clusterIP", "clusterIPs"):
                spec.pop(field, None)
        body = recreated(v_obj, spec)
        body["metadata"].setdefault("annotations", {})[CLUSTER_IP_MISMATCH_ANNOTATION] = p_ip
        created = await ctx.virtual.create(SERVICES, namespace=namespace_of(v_obj), body=body)
        await ctx.record_event(
            created,
            type_="Warning",
            reason="SyncError",
            message=f"cannot give this service the host cluster IP {p_ip}: {error.message}",
            kind="Service",
        )
        return created


def make(*, translator: Translator, config: MapperConfig | None = None) -> ServiceMapper:
    """Entry-point factory."""
    return ServiceMapper(translator=translator, config=config)
