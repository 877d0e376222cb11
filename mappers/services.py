"""Services: the host service is created first; the virtual one then carries its addresses.

Guarantees (vcluster's Service rules; README "Security"):

* toHost: the spec flows down as :mod:`mappers.servicespec` rules (selector
  translated, node ports and health-check node port left to the host, hijack
  inputs and unknown fields refused with :class:`~syncer.api.Refused` before
  any host write, so an existing host copy is never updated with them).  A new
  host service asks for the virtual service's own cluster IP(s); only if the
  host refuses them (422: outside its service range, already allocated) does
  it allocate its own.  Where both clusters share a service range, a virtual
  service therefore never needs re-creating.
* fromHost: the virtual service shows the host's cluster IP(s), IP families,
  node ports and health-check node port.  Node ports are updated in place; a
  different cluster IP (immutable) makes the syncer re-create the virtual
  service crash-safely (:mod:`mappers.serviceintent`: the intent is recorded on
  the host object before the virtual one is deleted, and whoever finds it
  finishes the job).  If the virtual API server refuses the host's IP, the
  service is created with an address of its own, marked so that it is not
  retried in a loop, and a Warning event says why; the same happens, without
  any deletion, when the intent would not fit the host object's annotations.
  ``status.loadBalancer`` flows up.
* No tenant Service is deleted by vsyncer unless its own spec says so: a host
  service carrying an intent whose virtual service is missing (live read) gets
  it back from the intent instead of being collected as an orphan — unless the
  virtual namespace is gone or terminating.
* Re-creating a selector-less service races the virtual endpoints controller,
  which deletes the Endpoints of a service it finds missing: the tenant's
  hand-made Endpoints are recorded in the intent and restored if missing, and
  restored once more if they vanish within :data:`ENDPOINTS_GUARD_SECONDS`
  (this mapper watches virtual endpoints for that; see :class:`EndpointsGuard`).
* A host service whose provenance UID differs from the virtual one is adopted
  (updated), not deleted: the UID changes whenever the syncer re-creates the
  virtual service.  Orphans without an intent are deleted as for every copied
  kind.
* ``default/kubernetes`` is never copied to the host.  With
  ``MapperConfig.virtual_service_host`` set, its cluster IP, port and
  Endpoints follow the host Service that fronts the virtual API server
  (:mod:`mappers.apiservice`; its "host object" is that Service, which is only
  read); unset, it is left to the virtual API server.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from mappers.addresspolicy import AddressPolicy, host_node_addresses, host_service_addresses
from mappers.apiservice import (
    CLUSTER_IP_MISMATCH_ANNOTATION,
    KUBERNETES_SERVICE,
    ApiService,
    is_api_service,
)
from mappers.endpointsguard import ENDPOINTS_GUARD_SECONDS, EndpointsGuard
from mappers.serviceintent import (
    RECREATE_INTENT_ANNOTATION,
    Intent,
    create_from_intent,
    keep_own_ip,
    namespace_gone,
    namespace_terminating,
    recreated,
    restorable,
    restore_endpoints,
    with_intent,
    without_intent,
)
from mappers.servicespec import (
    HOST_ALLOCATED,
    check_service_spec,
    host_spec,
    node_ports,
    requested_ips,
    virtual_spec,
)
from syncer.api import (
    DONE,
    ENDPOINTS,
    NAMESPACES,
    NODES,
    SERVICES,
    AlreadyExists,
    Invalid,
    MapperConfig,
    NotFound,
    Obj,
    ObjectKey,
    Refused,
    Resource,
    Result,
    SyncContext,
    Translator,
    thaw,
)
from syncer.kit import (
    CACHE_LAG_RETRY,
    CopySyncer,
    Json,
    annotations_of,
    create_on_host,
    delete_on_host,
    is_terminating,
    key_of_virtual,
    mapping,
    name_of,
    namespace_of,
    no_keys,
    uid_of,
    virtual_is_gone,
    with_metadata,
    without_annotations,
)

__all__ = [
    "CLUSTER_IP_MISMATCH_ANNOTATION",
    "ENDPOINTS_GUARD_SECONDS",
    "HOST_ALLOCATED",
    "KUBERNETES_SERVICE",
    "RECREATE_INTENT_ANNOTATION",
    "EndpointsGuard",
    "ServiceMapper",
    "host_spec",
    "make",
    "node_ports",
    "recreated",
    "virtual_spec",
]


class ServiceMapper(CopySyncer):
    # Namespaces and endpoints are watched; host node addresses are checked while nodes run.
    reads: frozenset[Resource] = frozenset()
    may_read: frozenset[Resource] = frozenset({NODES})

    def __init__(self, *, translator: Translator, config: MapperConfig | None = None) -> None:
        super().__init__(resource=SERVICES, translator=translator)
        self.endpoints_guard = EndpointsGuard()
        self.config = config or MapperConfig()
        self.policy = AddressPolicy.from_config(self.config)
        self.api_service = (
            ApiService(config=self.config) if self.config.virtual_service_host else None
        )

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

    def host_metadata(self, v_obj: Obj, p_obj: Obj | None = None, **kw: Any) -> Json:
        """As for every kind, but the intent annotation is never copied, nor kept from the host.

        Only :meth:`recreate_virtual` writes it, explicitly: a tenant cannot forge one.
        """
        v_view = without_annotations(v_obj, (RECREATE_INTENT_ANNOTATION,))
        metadata = super().host_metadata(v_view, p_obj, **kw)
        metadata["annotations"].pop(RECREATE_INTENT_ANNOTATION, None)
        return metadata

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

    def check(self, ctx: SyncContext, v_obj: Obj) -> None:
        """Raise :class:`~syncer.api.Refused` if ``v_obj``'s spec must not reach the host.

        Node and service addresses are gathered only for a spec that names addresses.
        """
        spec = mapping(v_obj.get("spec"))
        named = any(spec.get(f) for f in ("externalIPs", "loadBalancerIP", "externalName"))
        check_service_spec(
            spec,
            allowed_external_cidrs=self.config.service_external_ip_cidrs,
            policy=self.policy,
            node_addresses=(host_node_addresses(ctx) if named else None) or frozenset(),
            service_addresses=host_service_addresses(ctx) if named else frozenset(),
        )

    def drift(self, ctx: SyncContext, v_obj: Obj, p_obj: Obj | None) -> str | None:
        """As for copied kinds, plus the spec; refused services and ``default/kubernetes`` never."""
        try:
            if is_api_service(v_obj):
                return None  # its host object is only read
            self.check(ctx, v_obj)
        except Refused:
            return None  # not synced on purpose
        found = super().drift(ctx, v_obj, p_obj)
        if found is not None or p_obj is None or is_terminating(p_obj):
            return found
        spec = self.host_service(v_obj, p_obj)["spec"]
        return "spec" if spec != thaw(mapping(p_obj.get("spec"))) else None

    def must_recreate(self, p_obj: Obj, desired: Json) -> bool:
        # Switching to or from ExternalName changes whether a cluster IP exists at all.
        types = (mapping(p_obj.get("spec")).get("type"), desired["spec"].get("type"))
        return types[0] != types[1] and "ExternalName" in types

    async def sync_to_host(self, ctx: SyncContext, v_obj: Obj) -> Result:
        if is_terminating(v_obj):
            return DONE
        if is_api_service(v_obj):
            return await self.api_service.sync(ctx, v_obj) if self.api_service else DONE
        self.check(ctx, v_obj)
        await self.endpoints_guard.restore(ctx, v_obj)
        created = await self.create_host(ctx, v_obj)
        if created is None:
            return CACHE_LAG_RETRY
        return await self.align_virtual(ctx, v_obj, created)

    async def create_host(self, ctx: SyncContext, v_obj: Obj) -> Json | None:
        """Create the host service with the virtual cluster IP(s), else with the host's own.

        The second attempt is :func:`create_on_host`, which also tells our own
        existing copy (returned; ``None`` while not visible yet) from an object in
        the way (:class:`AlreadyExists` propagates).
        """
        body = self.host_service(v_obj, None)
        ips = requested_ips(v_obj.get("spec"))
        if ips and body["spec"].get("clusterIP") != "None":
            pinned = thaw(body)
            pinned["spec"]["clusterIP"], pinned["spec"]["clusterIPs"] = ips[0], ips
            try:
                created = await ctx.host.create(SERVICES, body=pinned)
            except (Invalid, AlreadyExists):
                pass  # IP refused (other range, taken): the host allocates; or see below
            else:
                self.recent.remember(key_of_virtual(SERVICES, v_obj))
                return created
        return await create_on_host(ctx, SERVICES, v_obj=v_obj, body=body, recent=self.recent)

    async def sync(self, ctx: SyncContext, v_obj: Obj, p_obj: Obj) -> Result:
        if is_terminating(p_obj):
            return DONE
        if is_terminating(v_obj):
            await delete_on_host(ctx, SERVICES, p_obj)
            return DONE
        intent = Intent.of(p_obj)
        if intent is not None:
            # A re-creation was under way: the virtual service exists, so adopt it (and
            # put back the Endpoints the endpoints controller may have removed meanwhile).
            if intent.old_uid != uid_of(v_obj):
                await restore_endpoints(ctx, intent)
            p_obj = await self.repoint(ctx, v_obj, p_obj)
        self.check(ctx, v_obj)
        desired = self.host_service(v_obj, p_obj)
        if self.must_recreate(p_obj, desired):
            await delete_on_host(ctx, SERVICES, p_obj)
            return DONE
        await self.endpoints_guard.restore(ctx, v_obj)
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
                return await self.recreate_virtual(ctx, v_obj, p_obj)
            return DONE
        spec = virtual_spec(v_spec, p_spec)
        if refused == p_ip:
            for field in ("clusterIP", "clusterIPs", "ipFamilies"):
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
        intent = Intent.of(p_obj)
        if intent is not None and (namespace_of(intent.service), name_of(intent.service)) != (
            key.namespace,
            key.name,
        ):
            intent = None  # not this key's: never acted on
        if intent is None or is_terminating(p_obj):
            self.endpoints_guard.forget(key)
            return await super().sync_to_virtual(ctx, key, p_obj)
        if not await virtual_is_gone(ctx, SERVICES, key):
            return Result(requeue=True)  # the virtual cache lags; look again
        if await namespace_gone(ctx, key.namespace):
            # The tenant deleted the namespace: its services go with it.
            p_obj = await self.drop_intent(ctx, p_obj)
            return await super().sync_to_virtual(ctx, key, p_obj)
        if intent.endpoints is not None:
            self.endpoints_guard.arm(key, intent.endpoints)
        return await self.complete(ctx, p_obj, intent)

    async def recreate_virtual(self, ctx: SyncContext, v_obj: Obj, p_obj: Obj) -> Result:
        """Replace the virtual service by one with the host's cluster IP, crash-safely.

        Steps (:mod:`mappers.serviceintent`): record the intent on the host
        object (must succeed first), delete the virtual service (UID
        precondition), create it from the intent, re-point the host object.
        """
        namespace, name = namespace_of(v_obj), name_of(v_obj)
        key = ObjectKey(SERVICES.plural, namespace, name)
        selectorless = not mapping(v_obj.get("spec")).get("selector")
        endpoints = ctx.virtual_cache(ENDPOINTS).get(namespace, name) if selectorless else None
        intent = Intent(
            old_uid=uid_of(v_obj),
            service=recreated(v_obj, virtual_spec(v_obj.get("spec"), p_obj.get("spec"))),
            endpoints=restorable(endpoints) if endpoints is not None else None,
        )
        body = self.updated_host(p_obj, self.host_service(v_obj, p_obj))
        if mapping(v_obj.get("metadata")).get("finalizers"):
            # Deleting it would only mark it terminating until others remove their finalizers.
            await keep_own_ip(ctx, v_obj, p_obj, why="it has finalizers")
            return DONE
        if not with_intent(body, intent):
            await keep_own_ip(
                ctx,
                v_obj,
                p_obj,
                why="the re-creation record would pass the 256 KiB annotation limit of the "
                "host Service",
            )
            return DONE
        p_obj = await ctx.host.update(SERVICES, current=p_obj, body=body)
        if selectorless:
            self.endpoints_guard.arm(key, endpoints)
        try:
            await ctx.virtual.delete(
                SERVICES, namespace=namespace, name=name, uid=uid_of(v_obj), grace_period_seconds=0
            )
        except NotFound:
            # The tenant deleted it meanwhile: never resurrect it.
            await self.drop_intent(ctx, p_obj)
            return DONE
        return await self.complete(ctx, p_obj, intent)

    async def complete(self, ctx: SyncContext, p_obj: Obj, intent: Intent) -> Result:
        """Steps 3 and 4: create the virtual service from the intent, re-point the host."""
        p_ip = str(mapping(p_obj.get("spec")).get("clusterIP") or "")
        created = await create_from_intent(ctx, intent, host_ip=p_ip)
        if created is None:
            return Result(requeue=True)  # another service of that name stands: adopt it
        await restore_endpoints(ctx, intent)
        with contextlib.suppress(NotFound):  # the host service went: its delete event follows
            await self.repoint(ctx, created, p_obj)
        return DONE

    async def repoint(self, ctx: SyncContext, v_obj: Obj, p_obj: Obj) -> Json:
        """Point the host service's provenance at ``v_obj`` and drop any intent (step 4)."""
        body = without_intent(with_metadata(p_obj, self.host_metadata(v_obj, p_obj)))
        return await ctx.host.update(SERVICES, current=p_obj, body=body)

    async def drop_intent(self, ctx: SyncContext, p_obj: Obj) -> Obj:
        """Remove the intent from the host service (gone already is fine)."""
        try:
            return await ctx.host.update(SERVICES, current=p_obj, body=without_intent(thaw(p_obj)))
        except NotFound:
            return p_obj


def make(*, translator: Translator, config: MapperConfig | None = None) -> ServiceMapper:
    """Entry-point factory."""
    return ServiceMapper(translator=translator, config=config)
