"""The settings a mapper may read (:class:`MapperConfig`), one frozen value per process.

Built once from :class:`~syncer.settings.Settings` by the wiring
(:func:`syncer.mappersettings.mapper_config`) and handed to every mapper factory that
accepts a ``config`` keyword; re-exported by :mod:`syncer.api`.
"""

from __future__ import annotations

from dataclasses import dataclass

from syncer.customresources import CustomResource
from syncer.kind_settings import DEFAULT_SERVICE_ACCOUNT_ANNOTATIONS


@dataclass(frozen=True, slots=True)
class MapperConfig:
    """The settings a mapper may read, handed to factories that accept ``config``.

    ``virtual_service_host`` names the Service in the host namespace that fronts
    the virtual API server (an IP address is taken as that address itself);
    ``None`` leaves the virtual ``default/kubernetes`` service to the virtual API
    server.  ``virtual_service_port`` is its port when given an address, and
    the preferred port of the Service when it has no port named ``https``.
    """

    virtual_service_host: str | None = None
    virtual_service_port: int = 443
    #: The Pod Security Standards level a virtual pod must meet to be synced, and the
    #: controls or fields allowed past it (``VSYNCER_POD_SECURITY_*``).
    pod_security_level: str = "baseline"
    pod_security_allow: tuple[str, ...] = ()
    #: The ``runtimeClassName``s a virtual pod may use besides the classes copied from the
    #: host (``VSYNCER_POD_RUNTIME_CLASSES``).
    pod_runtime_classes: tuple[str, ...] = ()
    #: CIDRs a Service's ``externalIPs`` may use; empty refuses every external IP.
    service_external_ip_cidrs: tuple[str, ...] = ()
    #: Endpoints addresses refused besides loopback, link-local and node addresses.
    host_service_cidrs: tuple[str, ...] = ("10.96.0.0/12",)
    endpoints_deny_cidrs: tuple[str, ...] = ()
    #: Where the virtual API server reaches this syncer's kubelet API: the address
    #: and port each fake virtual Node advertises (``status.addresses`` and
    #: ``status.daemonEndpoints.kubeletEndpoint.Port``; ``VSYNCER_KUBELET_*``).
    kubelet_address: str = "127.0.0.1"
    kubelet_port: int = 10250
    #: The enabled kinds (``VSYNCER_KINDS``), so a mapper can watch another kind only
    #: while that kind runs (secrets watch ingresses for their TLS references).
    kinds: tuple[str, ...] = ()
    #: The host service account synced pods run as (``VSYNCER_WORKLOAD_SERVICE_ACCOUNT``);
    #: ``None``: ``vc-workload-<vcluster>``, as vcluster's chart names it.
    workload_service_account: str | None = None
    #: Which host objects the fromHost class kinds copy (``VSYNCER_FROM_HOST_LABEL_SELECTOR``).
    from_host_label_selector: str | None = None
    #: The custom resources synced without a plugin (``VSYNCER_CUSTOM_RESOURCES``).
    custom_resources: tuple[CustomResource, ...] = ()
    #: Annotation key patterns a virtual Ingress may carry to the host besides unprefixed
    #: keys (``VSYNCER_INGRESS_ANNOTATIONS``); ``None``: every key (no such setting given).
    ingress_annotations: tuple[str, ...] | None = None
    #: With isolation's NetworkPolicy on: the ``(cidr, except)`` blocks it lets workloads
    #: reach, which a tenant policy's ``ipBlock`` must stay inside; ``None``: no fence.
    isolation_ip_fence: tuple[tuple[str, tuple[str, ...]], ...] | None = None
    #: Tenant PriorityClasses are synced to the host (``VSYNCER_TO_HOST_PRIORITY_CLASSES``).
    to_host_priority_classes: bool = False
    #: Host name patterns and IngressClass names a virtual Ingress may use; empty: any.
    ingress_hosts: tuple[str, ...] = ()
    ingress_classes: tuple[str, ...] = ()
    #: A budget allowing no disruption: ``clamp``, ``refuse`` or ``allow`` (``VSYNCER_PDB_*``).
    pdb_no_disruption: str = "clamp"
    #: Annotation key patterns the host copy of a ServiceAccount carries
    #: (``VSYNCER_SERVICE_ACCOUNT_ANNOTATIONS``): by default the workload-identity keys.
    service_account_annotations: tuple[str, ...] = DEFAULT_SERVICE_ACCOUNT_ANNOTATIONS
