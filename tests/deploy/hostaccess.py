"""What vsyncer does on the host, per enabled kind, for the chart's release ``vc``.

The table itself is the product's, :mod:`syncer.rbac` (what ``vsyncer rbac``
prints); here are the chart's kind lists and the rules for the release ``vc``
(its workload service account ``vc-workload-vc``).  ``test_chart_rbac`` checks
the table against the code (every host write call the mappers and the kit
make, and the leader's Lease calls) and the chart's rendered Role and
ClusterRole against the table.
"""

from __future__ import annotations

from collections.abc import Iterable

from syncer.rbac import (
    ISOLATION,
    KIND_CLUSTER_RULES,
    KIND_RULES,
    KUBELET,
    LEASE_VERBS,
    OWNER_ANCHOR,
    READ,
    TO_HOST_PRIORITY_CLASSES,
    WRITE,
    Rules,
    cluster_role_rules,
    merged,
    role_rules,
)

__all__ = [
    "BUILTIN",
    "DEFAULT",
    "ISOLATION",
    "KIND_CLUSTER_RULES",
    "KIND_RULES",
    "KUBELET",
    "LEASE_VERBS",
    "MADE_BY_THE_CHART",
    "OWNER_ANCHOR",
    "READ",
    "TO_HOST_PRIORITY_CLASSES",
    "WORKLOAD",
    "WRITE",
    "Rules",
    "expected_cluster_role",
    "expected_role",
    "merged",
    "values_key",
]

#: The chart's workload service account for the release ``vc``.
WORKLOAD = "vc-workload-vc"

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
    "serviceaccounts",
    "storageclasses.storage.k8s.io",
    "ingressclasses.networking.k8s.io",
    "runtimeclasses.node.k8s.io",
    "priorityclasses.scheduling.k8s.io",
    "customresourcedefinitions.apiextensions.k8s.io",
)


def values_key(kind: str) -> str:
    return kind.split(".")[0]


#: Host writes the code can make that the chart makes unneeded: it creates the object itself.
MADE_BY_THE_CHART = {("create", "SERVICEACCOUNTS")}  # the workload service account


def expected_role(
    kinds: Iterable[str], *, kubelet: bool = True, isolation: bool = False, lease: str | None = None
) -> Rules:
    """The namespaced rules for ``kinds`` of release ``vc`` (the anchor, kubelet, isolation,
    lease as asked)."""
    return role_rules(
        kinds, workload_account=WORKLOAD, kubelet=kubelet, isolation=isolation, lease=lease
    )


def expected_cluster_role(kinds: Iterable[str], *, namespace: str | None = None) -> Rules:
    """The cluster-wide rules: nodes read with nodes; the one Namespace with ``namespace``."""
    return cluster_role_rules(kinds, namespace=namespace)
