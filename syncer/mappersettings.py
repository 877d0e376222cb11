"""The :class:`~syncer.api.MapperConfig` of a :class:`~syncer.settings.Settings`.

The one place the settings mappers may read are picked out of the daemon's
settings (mappers never see :class:`~syncer.settings.Settings` itself); the
wiring (:mod:`syncer.pipeline`) hands the result to every factory that accepts
``config``.
"""

from __future__ import annotations

from syncer.binds import parse_bind
from syncer.isolation_objects import PRIVATE_RANGES
from syncer.kubelet.address import advertised_address
from syncer.mapperconfig import MapperConfig
from syncer.settings import Settings


def mapper_config(settings: Settings) -> MapperConfig:
    """The settings a mapper may read."""
    s = settings
    return MapperConfig(
        virtual_service_host=s.virtual_service_host,
        virtual_service_port=s.virtual_service_port,
        pod_security_level=s.pod_security_level,
        pod_security_allow=s.pod_security_allow,
        pod_runtime_classes=s.pod_runtime_classes,
        service_external_ip_cidrs=s.service_external_ip_cidrs,
        host_service_cidrs=s.host_service_cidrs,
        endpoints_deny_cidrs=s.endpoints_deny_cidrs,
        kubelet_address=advertised_address(s.kubelet_address),
        kubelet_port=parse_bind(s.kubelet_bind).port,
        kinds=s.kinds,
        workload_service_account=s.workload_service_account,
        from_host_label_selector=s.from_host_label_selector,
        custom_resources=s.custom_resource_list(),
        ingress_annotations=s.ingress_annotations,
        isolation_ip_fence=ip_fence(s),
        to_host_priority_classes=s.to_host_priority_classes,
        ingress_hosts=s.ingress_hosts,
        ingress_classes=s.ingress_classes,
        pdb_no_disruption=s.pdb_no_disruption,
        service_account_annotations=s.service_account_annotations,
    )


def ip_fence(settings: Settings) -> tuple[tuple[str, tuple[str, ...]], ...] | None:
    """The address blocks isolation's NetworkPolicy lets workloads reach (public addresses,
    when ``VSYNCER_ISOLATION_PUBLIC_EGRESS``, and the allow-list); ``None`` without it."""
    s = settings
    if not (s.isolation and s.isolation_network_policy):
        return None
    public = (("0.0.0.0/0", PRIVATE_RANGES),) if s.isolation_public_egress else ()
    return public + tuple((cidr, ()) for cidr in s.isolation_allow_cidrs)
