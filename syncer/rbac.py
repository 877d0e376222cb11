"""The host RBAC vsyncer needs for its settings: the one table of every host call it makes.

:func:`host_rules` answers, for a :class:`~syncer.settings.Settings`, the rules
of the Role in the host namespace and of the ClusterRole; :func:`manifests`
turns them into the Role and ClusterRole objects ``vsyncer rbac`` prints.
The Helm chart renders the same rules from its values (``deploy/chart/templates/_rbac.tpl``);
``tests/deploy`` asserts, for several settings combinations, that the chart's
rendered Role and ClusterRole equal what this module answers for the settings
the chart passes to vsyncer, and that every host write the code makes is in
the table (:data:`KIND_RULES`).

Rules are ``{(apiGroup, resource): verbs}``; ``resource:name`` stands for a rule
restricted to one object (``resourceNames``).  Guarantees: least privilege per
enabled kind (vcluster's chart grants per enabled kind the same way); writes
only in the host namespace, except toHost priority classes (cluster-scoped by
nature); cluster-wide reads only for kinds read cluster-wide (nodes, the
fromHost classes and custom resources, the CRDs of the configured custom
resources); the host Namespace only by name, with isolation's namespace label.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from syncer.settings import Settings

Rules = dict[tuple[str, str], frozenset[str]]

READ = frozenset({"get", "list", "watch"})
WRITE = READ | {"create", "update", "delete"}
#: What isolation and the pods' token Secrets do: read, create and update, never delete.
KEEP = READ | {"create", "update"}
#: A metadata-only watch cache of a kind's objects (syncer/hostlookup.py).
LOOKUP = frozenset({"list", "watch"})

#: Namespaced, per kind (syncer/hostwriter.py: create, update, delete; no patch, no status).
KIND_RULES: dict[str, Rules] = {
    # mappers/pods.py + syncer/kit/copysync.py; the pod's token Secret: mappers/podtokens.py
    # (create, update; the garbage collector removes it with its owner, the host pod).
    # The workload service account is read by name (mappers/workloadsa.py): workload_rules.
    # The host names of the configmaps and PVCs pods reference are looked up in a watch of
    # the namespace's objects when their kinds are off (syncer/hostlookup.py): list, watch.
    "pods": {
        ("", "pods"): WRITE,
        ("", "secrets"): KEEP,
        ("", "configmaps"): LOOKUP,
        ("", "persistentvolumeclaims"): LOOKUP,
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
    "serviceaccounts": {("", "serviceaccounts"): WRITE},  # mappers/serviceaccounts.py (the kit)
    # fromHost: read cluster-wide only (below)
    "storageclasses.storage.k8s.io": {},
    "ingressclasses.networking.k8s.io": {},
    "runtimeclasses.node.k8s.io": {},
    "priorityclasses.scheduling.k8s.io": {},
    "customresourcedefinitions.apiextensions.k8s.io": {},
}
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
#: The CRD kind, run whenever custom resources are configured (syncer/plugins.py).
CRDS_KIND = "customresourcedefinitions.apiextensions.k8s.io"
#: toHost priority classes (``VSYNCER_TO_HOST_PRIORITY_CLASSES``): the tenant's classes are
#: written cluster-wide (mappers/priorityclasses_tohost.py through the kit).
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
    ("", "resourcequotas"): KEEP,
    ("", "limitranges"): KEEP,
    ("networking.k8s.io", "networkpolicies"): KEEP,
}


def merged(parts: Iterable[Rules]) -> Rules:
    """The union of ``parts``: a key's verbs are those of every part naming it."""
    out: dict[tuple[str, str], frozenset[str]] = {}
    for part in parts:
        for key, verbs in part.items():
            out[key] = out.get(key, frozenset()) | verbs
    return out


def role_rules(
    kinds: Iterable[str],
    *,
    workload_account: str,
    kubelet: bool = True,
    isolation: bool = False,
    lease: str | None = None,
    owner_anchor: bool = True,
    to_host_customs: Iterable[tuple[str, str]] = (),
) -> Rules:
    """The host namespace's rules for ``kinds`` and the features; ``to_host_customs``:
    ``(group, plural)`` of the toHost custom resources."""
    kinds = list(kinds)
    parts = [KIND_RULES.get(k, {}) for k in kinds]
    parts += [{(group, plural): WRITE} for group, plural in to_host_customs]
    if owner_anchor:
        parts.append(OWNER_ANCHOR)
    if "pods" in kinds:
        parts.append({("", f"serviceaccounts:{workload_account}"): frozenset({"get"})})
        if kubelet:
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


def cluster_role_rules(
    kinds: Iterable[str],
    *,
    namespace: str | None = None,
    to_host_priority_classes: bool = False,
    from_host_customs: Iterable[tuple[str, str]] = (),
) -> Rules:
    """The cluster-wide rules: reads of the kinds read cluster-wide; the one Namespace
    with ``namespace`` (isolation's label); ``from_host_customs``: ``(group, plural)`` of
    the cluster-scoped fromHost custom resources."""
    kinds = list(kinds)
    parts = [KIND_CLUSTER_RULES.get(k, {}) for k in kinds]
    parts += [{(group, plural): READ} for group, plural in from_host_customs]
    if to_host_priority_classes:
        parts.append(TO_HOST_PRIORITY_CLASSES)
    if namespace is not None:
        parts.append({("", f"namespaces:{namespace}"): READ | {"patch"}})
    return merged(parts)


@dataclass(frozen=True, slots=True)
class HostRules:
    """The rules of the Role in the host namespace and of the ClusterRole."""

    namespaced: Rules
    cluster: Rules


def host_rules(settings: Settings) -> HostRules:
    """What vsyncer run with ``settings`` calls on the host (see the module)."""
    s = settings
    customs = s.custom_resource_list()
    kinds = list(s.kinds)
    if customs and CRDS_KIND not in kinds:
        kinds.append(CRDS_KIND)
    to_host = [(c.resource.group, c.resource.plural) for c in customs if c.direction == "toHost"]
    from_host = [
        (c.resource.group, c.resource.plural) for c in customs if c.direction == "fromHost"
    ]
    namespaced = role_rules(
        kinds,
        workload_account=s.workload_service_account or f"vc-workload-{s.vcluster_name}",
        kubelet=s.kubelet_client_ca is not None,
        isolation=s.isolation,
        lease=s.leader_election_id if s.leader_elect else None,
        owner_anchor=s.set_owner,
        to_host_customs=to_host,
    )
    cluster = cluster_role_rules(
        kinds,
        namespace=s.host_namespace if s.isolation and s.isolation_label_namespace else None,
        to_host_priority_classes=s.to_host_priority_classes,
        from_host_customs=from_host,
    )
    return HostRules(namespaced=namespaced, cluster=cluster)


def rule_list(rules: Rules) -> list[dict[str, Any]]:
    """Kubernetes ``PolicyRule`` objects, one per key, sorted; verbs sorted."""
    out: list[dict[str, Any]] = []
    for (group, resource), verbs in sorted(rules.items()):
        plural, _, name = resource.partition(":")
        rule: dict[str, Any] = {"apiGroups": [group], "resources": [plural]}
        if name:
            rule["resourceNames"] = [name]
        rule["verbs"] = sorted(verbs)
        out.append(rule)
    return out


def manifests(settings: Settings) -> list[dict[str, Any]]:
    """The Role (``vc-<vcluster>`` in the host namespace) and, when anything is read or
    written cluster-wide, the ClusterRole (``vc-<vcluster>-<host namespace>``), named as the
    chart names them."""
    rules = host_rules(settings)
    name = f"vc-{settings.vcluster_name}"
    group = "rbac.authorization.k8s.io/v1"
    out: list[dict[str, Any]] = [
        {
            "apiVersion": group,
            "kind": "Role",
            "metadata": {"name": name, "namespace": settings.host_namespace},
            "rules": rule_list(rules.namespaced),
        }
    ]
    if rules.cluster:
        out.append(
            {
                "apiVersion": group,
                "kind": "ClusterRole",
                "metadata": {"name": f"{name}-{settings.host_namespace}"},
                "rules": rule_list(rules.cluster),
            }
        )
    return out
