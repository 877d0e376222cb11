"""Resource descriptors: which URL serves a kind, and how it is scoped.

A :class:`Resource` is a frozen value; the catalogue :data:`CORE` lists the
kinds vsyncer knows out of the box.  Plugins may describe more.  A kind is
named by :attr:`Resource.qualified`: the plural for the core group (``pods``),
the plural and the group otherwise (``ingresses.networking.k8s.io``,
``widgets.example.com``), so two groups' kinds of one plural stay apart.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Resource:
    """One REST resource: ``group``/``version``/``plural``, its ``kind`` and scope."""

    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool = True

    @property
    def qualified(self) -> str:
        """The kind's name: ``pods`` for the core group, ``widgets.example.com`` otherwise."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def kind_string(self) -> str:
        """The form vcluster writes in ``vcluster.loft.sh/object-kind``: ``/v1, Kind=Pod``."""
        return f"{self.group}/{self.version}, Kind={self.kind}"

    def path(
        self,
        *,
        namespace: str | None = None,
        name: str | None = None,
        subresource: str | None = None,
    ) -> str:
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced and namespace:
            base += f"/namespaces/{namespace}"
        base += f"/{self.plural}"
        if name is not None:
            base += f"/{name}"
            if subresource:
                base += f"/{subresource}"
        return base


PODS = Resource("", "v1", "pods", "Pod")
SERVICES = Resource("", "v1", "services", "Service")
ENDPOINTS = Resource("", "v1", "endpoints", "Endpoints")
CONFIGMAPS = Resource("", "v1", "configmaps", "ConfigMap")
SECRETS = Resource("", "v1", "secrets", "Secret")
PVCS = Resource("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim")
EVENTS = Resource("", "v1", "events", "Event")
SERVICEACCOUNTS = Resource("", "v1", "serviceaccounts", "ServiceAccount")
NAMESPACES = Resource("", "v1", "namespaces", "Namespace", namespaced=False)
NODES = Resource("", "v1", "nodes", "Node", namespaced=False)
LEASES = Resource("coordination.k8s.io", "v1", "leases", "Lease")
#: Optional toHost kinds (off unless named in ``VSYNCER_KINDS`` by their qualified names).
INGRESSES = Resource("networking.k8s.io", "v1", "ingresses", "Ingress")
NETWORKPOLICIES = Resource("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy")
PDBS = Resource("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget")
#: Optional fromHost kinds: cluster-scoped classes copied up read-only.
STORAGECLASSES = Resource("storage.k8s.io", "v1", "storageclasses", "StorageClass", False)
INGRESSCLASSES = Resource("networking.k8s.io", "v1", "ingressclasses", "IngressClass", False)
RUNTIMECLASSES = Resource("node.k8s.io", "v1", "runtimeclasses", "RuntimeClass", False)
PRIORITYCLASSES = Resource("scheduling.k8s.io", "v1", "priorityclasses", "PriorityClass", False)
#: The definitions of the custom resources vsyncer syncs (copied from host to virtual).
CRDS = Resource(
    "apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition", False
)

CORE: dict[str, Resource] = {
    r.plural: r
    for r in (
        PODS,
        SERVICES,
        ENDPOINTS,
        CONFIGMAPS,
        SECRETS,
        PVCS,
        EVENTS,
        SERVICEACCOUNTS,
        NAMESPACES,
        NODES,
        LEASES,
    )
}
