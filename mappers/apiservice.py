"""``default/kubernetes`` in virtual: the virtual API server as the host's pods reach it.

As in vcluster: the virtual ``default/kubernetes`` service points at
the virtual API server's service on the host.  It is configured
(:class:`~syncer.api.MapperConfig`): ``virtual_service_host`` names that Service
in the host namespace (or is its IP address, with ``virtual_service_port``).

Guarantees, when configured:

* the virtual service's cluster IP is the host Service's.  A cluster IP is
  immutable, so a different one makes the syncer delete the virtual service
  (UID precondition) and create it again with the host's IP, as vcluster does;
  the virtual API server re-creates a missing ``default/kubernetes`` only
  after a while, and one it wins the race with is simply looked at again.  If
  the virtual API server refuses that IP (outside its service range, taken),
  the service is restored with its old IP, marked with the refused one so that
  it is not retried in a loop, and a Warning event says why;
* that re-creation needs no recorded intent (:mod:`mappers.serviceintent`):
  ``default/kubernetes`` is not a tenant's object but the virtual API
  server's, which creates it again by itself if the syncer stops between the
  delete and the create;
* its one port, ``https``, is the host Service's port (the one named
  ``https``, else the one equal to ``virtual_service_port``, else the first),
  so pods see the right ``KUBERNETES_SERVICE_HOST``/``_PORT``
  (:mod:`mappers.podspec` reads them from this service);
* its Endpoints hold the host Service's cluster IP and that port.  The virtual
  API server must not reconcile them itself (``--endpoint-reconciler-type=none``,
  as vcluster runs it);
* the host Service is read live (the host caches hold only managed objects),
  once per reconcile, and again every :data:`RECHECK_SECONDS` (a host Service
  can be replaced without any virtual event); while it is missing or has no
  cluster IP, the key is looked at again after :data:`RETRY_SECONDS`.  The host
  Service is never written.

Unconfigured, ``default/kubernetes`` and its Endpoints are left to the virtual
API server entirely.
"""

from __future__ import annotations

import contextlib
import ipaddress
from dataclasses import dataclass
from typing import Any

from syncer.api import (
    DONE,
    ENDPOINTS,
    SERVICES,
    AlreadyExists,
    ApiError,
    MapperConfig,
    NotFound,
    Obj,
    Result,
    SyncContext,
    thaw,
)
from syncer.kit import Json, annotations_of, items, mapping, name_of, namespace_of, uid_of

KUBERNETES_SERVICE = ("default", "kubernetes")
#: On a virtual service the host's cluster IP could not be given to: that IP.
CLUSTER_IP_MISMATCH_ANNOTATION = "vsyncer.dev/host-cluster-ip"
RECHECK_SECONDS = 60.0
RETRY_SECONDS = 10.0
_SERVER_METADATA = ("uid", "resourceVersion", "creationTimestamp", "managedFields")


def is_api_service(obj: Obj) -> bool:
    return (namespace_of(obj), name_of(obj)) == KUBERNETES_SERVICE


def _ip(value: object) -> str | None:
    try:
        return str(ipaddress.ip_address(str(value)))
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class ApiAddress:
    """Where the host's pods reach the virtual API server."""

    ip: str
    port: int
    ips: tuple[str, ...]


def address_of_service(p_svc: Obj, *, preferred_port: int) -> ApiAddress | None:
    """The cluster IP(s) and API port of the host Service; ``None`` if it has no cluster IP."""
    spec = mapping(p_svc.get("spec"))
    ip = _ip(spec.get("clusterIP"))
    if ip is None:
        return None
    ips = tuple(i for i in (_ip(x) for x in items(spec.get("clusterIPs"))) if i) or (ip,)
    ports = [mapping(p) for p in items(spec.get("ports")) if mapping(p).get("port")]
    chosen = (
        next((p for p in ports if p.get("name") == "https"), None)
        or next((p for p in ports if p.get("port") == preferred_port), None)
        or (ports[0] if ports else None)
    )
    port = int(chosen["port"]) if chosen else preferred_port
    return ApiAddress(ip=ip, port=port, ips=ips)


def service_ports(address: ApiAddress) -> list[Json]:
    return [{"name": "https", "port": address.port, "protocol": "TCP", "targetPort": address.port}]


def endpoint_subsets(address: ApiAddress) -> list[Json]:
    return [
        {
            "addresses": [{"ip": address.ip}],
            "ports": [{"name": "https", "port": address.port, "protocol": "TCP"}],
        }
    ]


def _comparable_ports(ports: Any) -> list[tuple[object, ...]]:
    return [
        (p.get("name"), p.get("port"), p.get("protocol") or "TCP", p.get("targetPort"))
        for p in (mapping(x) for x in items(ports))
    ]


def recreated_service(v_svc: Obj, *, ips: tuple[str, ...], ports: list[Json]) -> Json:
    """``v_svc`` as a new object with the given cluster IP(s) and ports."""
    body = thaw(v_svc)
    for field in _SERVER_METADATA:
        body["metadata"].pop(field, None)
    body.pop("status", None)
    spec = body.setdefault("spec", {})
    for field in ("ipFamilies", "ipFamilyPolicy"):  # derived again from the new IPs
        spec.pop(field, None)
    spec["clusterIP"], spec["clusterIPs"] = ips[0], list(ips)
    spec["ports"] = ports
    return body


class ApiService:
    """Keeps the virtual ``default/kubernetes`` service and Endpoints on the host's address."""

    def __init__(self, *, config: MapperConfig) -> None:
        if config.virtual_service_host is None:
            raise ValueError("ApiService needs config.virtual_service_host")
        self.host = config.virtual_service_host
        self.port = config.virtual_service_port
        self.fixed_ip = _ip(self.host)

    async def address(self, ctx: SyncContext) -> ApiAddress | None:
        """The configured address, or the host Service's read live; ``None`` while unknown."""
        if self.fixed_ip is not None:
            return ApiAddress(ip=self.fixed_ip, port=self.port, ips=(self.fixed_ip,))
        if ctx.host_read is None:
            raise RuntimeError("the runtime offers no host reads (SyncContext.host_read)")
        try:
            p_svc = await ctx.host_read(SERVICES, name=self.host)
        except NotFound:
            p_svc = None
        found = address_of_service(p_svc, preferred_port=self.port) if p_svc else None
        if found is None and ctx.log is not None:
            ctx.log.warning(
                "host service for the virtual API server not found or without cluster IP",
                host_service=self.host,
            )
        return found

    async def sync(self, ctx: SyncContext, v_svc: Obj) -> Result:
        address = await self.address(ctx)
        if address is None:
            return Result(requeue_after=RETRY_SECONDS)
        done = DONE if self.fixed_ip is not None else Result(requeue_after=RECHECK_SECONDS)
        spec = mapping(v_svc.get("spec"))
        refused = annotations_of(v_svc).get(CLUSTER_IP_MISMATCH_ANNOTATION)
        if spec.get("clusterIP") != address.ip and refused != address.ip:
            return await self.recreate(ctx, v_svc, address) or done
        ports = service_ports(address)
        if _comparable_ports(spec.get("ports")) != _comparable_ports(ports):
            body = thaw(v_svc)
            body["spec"]["ports"] = ports
            await ctx.virtual.update(SERVICES, namespace="default", name="kubernetes", body=body)
        await self.sync_endpoints(ctx, address)
        return done

    async def recreate(self, ctx: SyncContext, v_svc: Obj, address: ApiAddress) -> Result | None:
        """Delete and create the virtual service with the host's IP; a result to return early."""
        try:
            await ctx.virtual.delete(
                SERVICES,
                namespace="default",
                name="kubernetes",
                uid=uid_of(v_svc) or None,
                grace_period_seconds=0,
            )
        except NotFound:
            return Result(requeue=True)  # replaced meanwhile: look at the new one
        body = recreated_service(v_svc, ips=address.ips, ports=service_ports(address))
        try:
            await ctx.virtual.create(SERVICES, namespace="default", body=body)
        except AlreadyExists:
            return Result(requeue=True)  # the virtual API server re-created it first
        except ApiError as exc:
            await self.restore(ctx, v_svc, address, exc)
            return None
        await self.sync_endpoints(ctx, address)
        return None

    async def restore(
        self, ctx: SyncContext, v_svc: Obj, address: ApiAddress, error: ApiError
    ) -> None:
        """The host's IP was refused: bring the service back as it was, marked, with a warning."""
        spec = mapping(v_svc.get("spec"))
        old_ips = tuple(str(ip) for ip in items(spec.get("clusterIPs")))
        ports = thaw({"p": items(spec.get("ports"))})["p"]
        body = recreated_service(
            v_svc, ips=old_ips or (str(spec.get("clusterIP") or ""),), ports=ports
        )
        body["metadata"].setdefault("annotations", {})[CLUSTER_IP_MISMATCH_ANNOTATION] = address.ip
        try:
            created = await ctx.virtual.create(SERVICES, namespace="default", body=body)
        except AlreadyExists:
            return  # the virtual API server re-created it; the next reconcile sees it
        await ctx.record_event(
            created,
            type_="Warning",
            reason="SyncError",
            message=f"cannot give default/kubernetes the host cluster IP {address.ip}: "
            f"{error.message}",
            kind="Service",
        )

    async def sync_endpoints(self, ctx: SyncContext, address: ApiAddress) -> None:
        """Virtual ``default/kubernetes`` Endpoints: the host Service's IP and port."""
        subsets = endpoint_subsets(address)
        current = ctx.virtual_cache(ENDPOINTS).get(*KUBERNETES_SERVICE)
        if current is None:
            body: Json = {
                "apiVersion": "v1",
                "kind": "Endpoints",
                "metadata": {"name": "kubernetes", "namespace": "default"},
                "subsets": subsets,
            }
            with contextlib.suppress(AlreadyExists):  # the cache lags; its event brings us back
                await ctx.virtual.create(ENDPOINTS, namespace="default", body=body)
            return
        if thaw({"s": items(current.get("subsets"))})["s"] != subsets:
            body = thaw(current)
            body["subsets"] = subsets
            await ctx.virtual.update(ENDPOINTS, namespace="default", name="kubernetes", body=body)
