"""Where host pods reach the virtual API server: the pods mapper's own reading.

A host pod's ``KUBERNETES_SERVICE_HOST``/``_PORT`` and ``hostAliases``
(:mod:`mappers.podspec`) name the virtual API server as the host's pods reach
it.  With ``MapperConfig.virtual_service_host`` configured that is the host
Service of that name (its cluster IP and API port, by
:func:`mappers.apiservice.address_of_service`) or that IP itself.  The pods
mapper reads it itself (:class:`PodApiAddress`) rather than from the virtual
``default/kubernetes`` that the services kind aligns, so host pods never depend
on the services mapper: without it that virtual service keeps a *virtual*
cluster IP, which on the host may be the host's own API server.

Guarantees:

* configured: before a host pod is created the address is known, read live at
  most every :data:`~mappers.apiservice.RECHECK_SECONDS`; while the host
  Service is missing or has no cluster IP the pod is refused (reason
  ``api_service``: a Warning event, the metric) and looked at again after
  :data:`~mappers.apiservice.RETRY_SECONDS` — never pointed elsewhere;
* unconfigured: the virtual ``default/kubernetes`` as the watched services
  cache holds it (its cluster IP, its ``https`` port else its first, else 443).
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable

from mappers.apiservice import RECHECK_SECONDS, RETRY_SECONDS, ApiAddress, ApiService
from syncer.api import MapperConfig, Obj, Refused, SyncContext
from syncer.kit import items, mapping


def cluster_ip(service: Obj | None) -> str | None:
    """``service``'s cluster IP when it is an IP address (not ``None`` / ``"None"``)."""
    ip = mapping(service.get("spec") if service else None).get("clusterIP")
    try:
        ipaddress.ip_address(str(ip))
    except ValueError:
        return None
    return str(ip)


def https_port(service: Obj | None) -> int:
    """``service``'s port named ``https``, else its first, else 443."""
    ports = items(mapping(service.get("spec") if service else None).get("ports"))
    for port in ports:
        if mapping(port).get("name") == "https":
            return int(port["port"])
    return int(mapping(ports[0]).get("port", 443)) if ports else 443


class PodApiAddress:
    """The virtual API server's address for new host pods (see the module)."""

    def __init__(
        self, *, config: MapperConfig | None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        configured = config is not None and config.virtual_service_host is not None
        self._service = ApiService(config=config) if configured and config else None
        self._clock = clock
        self._known: ApiAddress | None = None
        self._at = 0.0

    async def refresh(self, ctx: SyncContext) -> None:
        """Read the configured address when due; raises :class:`Refused` while unknown."""
        if self._service is None:
            return
        if self._known is not None and self._clock() - self._at < RECHECK_SECONDS:
            return
        found = await self._service.address(ctx)
        if found is None:
            raise Refused(
                reason="api_service",
                message=(
                    f"host service {ctx.host_namespace}/{self._service.host} of the virtual "
                    "API server is missing or has no cluster IP (VSYNCER_VIRTUAL_SERVICE_HOST)"
                ),
                retry_after=RETRY_SECONDS,
                event_reason="SyncError",
            )
        self._known, self._at = found, self._clock()

    def for_pods(self, kubernetes: Obj | None) -> tuple[str | None, int]:
        """``(host, port)`` for host pods: the configured address once read, else the
        virtual ``default/kubernetes`` service ``kubernetes`` (may be ``None``)."""
        if self._known is not None:
            return self._known.ip, self._known.port
        return cluster_ip(kubernetes), https_port(kubernetes)
