"""What vsyncer does on the host, per enabled kind: the table the chart's RBAC is checked against.

The rows are for the release ``vc`` (its workload service account ``vc-workload-vc``).

Each row cites the code it comes from; ``test_chart_rbac`` checks the rows
against the code (every host write call the mappers and the kit make, and the
leader's Lease calls) and the chart's rendered Role and ClusterRole against
the rows.  ``(group, resource)`` keys; ``resource:name`` for a rule restricted
to one object.
"""

from __future__ import annotations

from collections.abc import Iterable

Rules = dict[tuple[str, str], frozenset[str]]

READ = frozenset({"get", "list", "watch"})
WRITE = READ | {"create", "update", "delete"}

#: The built-in kinds on by default, in VSYNCER_KINDS order.
DEFAULT = (
    "pods",
    "services",
    "endpoints",
    "configmaps",
    "secrets",
    "persistentvolumeclaims",
    "events",
    "nodes",
)
#: Every built-in kind (the optional ones off by default); the chart's values key is the plural.
BUILTIN = (
    *DEFAULT,
    "networkpolicies.networking.k8s.io",
    "ingresses.networking.k8s.io",
    "poddisruptionbudgets.policy",
    "storageclasses.storage.k8s.io",
    "ingressclasses.networking.k8s.io",
    "runtimeclasses.node.k8s.io",
    "priorityclasses.scheduling.k8s.io",
    "customresourcedefinitions.apiextensions.k8s.io",
)


def values_key(kind: str) -> str:
    return kind.split(".")[0]


#: Namespaced, per kind (syncer/hostwriter.py: create, update, delete; no patch, no status).
KIND_RULES: dict[str, Rules] = {
    # mappers/pods.py + syncer/kit/copysync.py; the pod's token Secret: mappers/podtokens.py
    # (create, update; the garbage collector removes it with its owner, the host pod).
    # The workload service account is read by name (mappers/workloadsa.py).
    "pods": {
        ("", "pods"): WRITE,
        ("", "secrets"): READ | {"create", "update"},
        ("", "serviceaccounts:vc-workload-vc"): frozenset({"get"}),
    },
    "services": {("", "services"): WRITE},  # mappers/services.py
    "endpoints": {("", "endpoints"): WRITE},  # mappers/endpoints.py (the kit)
    "configmaps": {("", "configmaps"): WRITE},  # mappers/configmaps.py (the kit)
    "secrets": {("", "secrets"): WRITE},  # mappers/secrets.py (the kit)
    "persistentvolumeclaims": {("", "persistentvolumeclaims"): WRITE},  # mappers/pvcs.py
    "events": {("", "events"): READ},  # mappers/events.py: host events flow up only
    "nodes": {},
    # toHost through the kit: mappers/networkpolicies.py, ingresses.py, pdbs.py
    "networkpolicies.networking.k8s.io": {("networking.k8s.io", "networkpolicies"): WRITE},
    "ingresses.networking.k8s.io": {("networking.k8s.io", "ingresses"): WRITE},
    "poddisruptionbudgets.policy": {("policy", "poddisruptionbudgets"): WRITE},
    # fromHost: read cluster-wide only (below)
    "storageclasses.storage.k8s.io": {},
    "ingressclasses.networking.k8s.io": {},
    "runtimeclasses.node.k8s.io": {},
    "priorityclasses.scheduling.k8s.io": {},
    "customresourcedefinitions.apiextensions.k8s.io": {},
}
#: Host writes the code can make that the chart makes unneeded: it creates the object itself.
MADE_BY_THE_CHART = {("create", "SERVICEACCOUNTS")}  # the workload service account
#: Cluster-wide, per kind: fake nodes read the host nodes (mappers/nodes.py).
KIND_CLUSTER_RULES: dict[str, Rules] = {
    "nodes": {("", "nodes"): READ},
    # the fromHost class copies (mappers/storageclasses.py, ingressclasses.py, ...)
    "storageclasses.storage.k8s.io": {("storage.k8s.io", "storageclasses"): READ},
    "ingressclasses.networking.k8s.io": {("networking.k8s.io", "ingressclasses"): READ},
    "runtimeclasses.node.k8s.io": {("node.k8s.io", "runtimeclasses"): READ},
    "priorityclasses.scheduling.k8s.io": {("scheduling.k8s.io", "priorityclasses"): READ},
    # the CRDs of the configured custom resources (mappers/customresourcedefinitions.py)
    "customresourcedefinitions.apiextensions.k8s.io": {
        ("apiextensions.k8s.io", "customresourcedefinitions"): READ
    },
}
#: toHost priority classes (``sync.priorityclassesToHost``): the tenant's classes are written
#: cluster-wide (mappers/priorityclasses_tohost.py through the kit).
TO_HOST_PRIORITY_CLASSES: Rules = {("scheduling.k8s.io", "priorityclasses"): WRITE}
#: The owner anchor Service is read (syncer/owneranchor.py).
OWNER_ANCHOR: Rules = {("", "services"): frozenset({"get"})}
#: The kubelet API of the fake nodes, with pods (syncer/kubelet/).
KUBELET: Rules = {
    ("", "pods/log"): frozenset({"get"}),
    ("", "pods/exec"): frozenset({"create", "get"}),
    ("", "pods/attach"): frozenset({"create", "get"}),
    ("", "pods/portforward"): frozenset({"create", "get"}),
}
#: Leader election: its one Lease (syncer/leader.py); create cannot name the object.
LEASE_VERBS = frozenset({"get", "create", "update"})
#: Isolation mode (syncer/isolation.py): its three kinds; the Namespace with labelNamespace.
ISOLATION: Rules = {
    ("", "resourcequotas"): READ | {"create", "update"},
    ("", "limitranges"): READ | {"create", "update"},
    ("networking.k8s.io", "networkpolicies"): READ | {"create", "update"},
}


def merged(parts: Iterable[Rules]) -> Rules:
    out: dict[tuple[str, str], frozenset[str]] = {}
    for part in parts:
        for key, verbs in part.items():
            out[key] = out.get(key, frozenset()) | verbs
    return out


def expected_role(
    kinds: Iterable[str], *, kubelet: bool = True, isolation: bool = False, lease: str | None = None
) -> Rules:
    """The namespaced rules for ``kinds`` (and the anchor, kubelet, isolation and lease)."""
    kinds = list(kinds)
    parts = [KIND_RULES[k] for k in kinds] + [OWNER_ANCHOR]
    if kubelet and "pods" in kinds:
        parts.append(KUBELET)
    if isolation:
        parts.append(ISOLATION)
    if lease is not None:
        parts.append(
            {
                ("coordination.k8s.io", f"leases:{lease}"): LEASE_VERBS - {"create"},
                ("coordination.k8s.io", "leases"): frozenset({"create"}),
            }
        )
    return merged(parts)


def expected_cluster_role(kinds: Iterable[str], *, namespace: str | None = None) -> Rules:
    """The cluster-wide rules: nodes read with nodes; the one Namespace with ``namespace``."""
    parts = [KIND_CLUSTER_RULES.get(k, {}) for k in kinds]
    if namespace is not None:
        parts.append({("", f"namespaces:{namespace}"): READ | {"patch"}})
    return merged(parts)
