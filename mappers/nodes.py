"""Nodes (fromHost): one fake virtual Node per host node that runs a synced pod.

A virtual pod is bound (by the pods mapper) to the host node its host pod runs
on; the virtual cluster then needs a Node of that name, or its pod garbage
collector would delete pods bound to a missing node.  Fake nodes carry no real
data about the host beyond what scheduling-aware tenants read: the host node's
OS/arch/zone/region/instance-type labels, capacity, allocatable and nodeInfo
(without the machine's identifiers, :data:`HOST_IDENTITY`), plus a Ready
condition of its own.  The host node's addresses and kubelet port are never
copied: each fake node advertises this syncer as its kubelet (as
vcluster's fake nodes do), so the virtual API server sends ``pods/log``,
``pods/exec``, ``pods/attach``, ``pods/portforward`` and ``nodes/proxy`` there.

Guarantees:

* a virtual Node labelled ``vcluster.loft.sh/fake-node=true`` exists exactly
  while some virtual pod is bound to that node name (one lookup in the pods
  store's node index, see :mod:`mappers.references`); it is created only from
  a host node that exists (a reconcile with no host node creates nothing), and
  deleted when the last such pod goes; without the pods mapper no node is
  needed;
* this mapper watches virtual pods, so a binding or a pod deletion is noticed;
* while needed, the fake node's Ready condition follows its host node's
  (:func:`host_ready`: ``Unknown`` once the host node is gone) and its
  heartbeat is renewed every :data:`HEARTBEAT_SECONDS`, as a kubelet's would
  be (the virtual cluster runs no node lifecycle controller, but tenants'
  tools read them);
* the taints Kubernetes' node lifecycle controller keeps (``not-ready`` /
  ``unreachable`` NoSchedule and NoExecute, the pressure and ``unschedulable``
  taints) follow the fake node's conditions and spec, as that controller
  (disabled in the virtual cluster) would keep them; other taints are kept
  (:mod:`mappers.nodetaints`);
* ``status.addresses`` is exactly ``[InternalIP: MapperConfig.kubelet_address,
  Hostname: <node name>]`` and ``status.daemonEndpoints.kubeletEndpoint.Port``
  is ``MapperConfig.kubelet_port``; a fake node that says otherwise (made by an
  older version, or changed by a tenant) is corrected at its next reconcile;
* host nodes are only read; a virtual Node without the fake-node label is
  never touched;
* not a :class:`~syncer.api.DriftDetector`: keys are host node names, and most
  host nodes rightly have no virtual Node, so the drift check's missing/orphan
  comparison does not fit; a needed fake node is revisited every
  :data:`HEARTBEAT_SECONDS` anyway, and the drift check's live LIST of host
  nodes still corrects a host cache that a dead watch left stale.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping

from mappers.nodetaints import condition_taints, taints_stale
from mappers.references import NODE_INDEX, index_node
from mappers.tokens import format_time, parse_time
from syncer.api import (
    DONE,
    FAKE_NODE_LABEL,
    NODES,
    PODS,
    AlreadyExists,
    MapperConfig,
    Obj,
    ObjectKey,
    Resource,
    Result,
    SyncContext,
    Translator,
    thaw,
)
from syncer.kit import (
    Json,
    delete_virtual,
    labels_of,
    mapping,
    name_of,
)

HEARTBEAT_SECONDS = 20.0
#: ``nodeInfo`` fields that identify the host machine, never copied to a fake node.
HOST_IDENTITY = ("machineID", "systemUUID", "bootID")
COPIED_LABELS = (
    "kubernetes.io/os",
    "kubernetes.io/arch",
    "topology.kubernetes.io/zone",
    "topology.kubernetes.io/region",
    "node.kubernetes.io/instance-type",
)


def is_fake(v_node: Obj) -> bool:
    return labels_of(v_node).get(FAKE_NODE_LABEL) == "true"


#: Ready status → (reason, message) of a fake node's Ready condition.
_READY: Mapping[str, tuple[str, str]] = {
    "True": ("KubeletReady", "fake node of a virtual cluster"),
    "False": ("KubeletNotReady", "the host node is not ready"),
    "Unknown": ("NodeStatusUnknown", "the host node stopped reporting or is gone"),
}


def host_ready(p_node: Obj | None) -> str:
    """The Ready status a fake node takes from its host node ``p_node``.

    The host node's own Ready status (``True``, ``False``, anything else
    ``Unknown``); ``Unknown`` when the host node is gone, as the node lifecycle
    controller marks a node that stopped reporting; ``True`` while the host node
    reports no Ready condition at all.
    """
    if p_node is None:
        return "Unknown"
    for condition in mapping(p_node.get("status")).get("conditions") or []:
        if mapping(condition).get("type") == "Ready":
            status = mapping(condition).get("status")
            return status if status in ("True", "False") else "Unknown"
    return "True"


def ready_condition(now: float, *, status: str = "True") -> Json:
    """A fresh Ready condition of ``status`` (``True``, ``False`` or ``Unknown``) at ``now``."""
    stamp = format_time(now)
    reason, message = _READY.get(status, _READY["Unknown"])
    return {
        "type": "Ready",
        "status": status,
        "reason": reason,
        "message": message,
        "lastHeartbeatTime": stamp,
        "lastTransitionTime": stamp,
    }


def kubelet_status(name: str, *, config: MapperConfig) -> Json:
    """The ``addresses`` and ``daemonEndpoints`` of fake node ``name``: this syncer's kubelet.

    The InternalIP is ``config.kubelet_address``, the port ``config.kubelet_port``
    (``status.daemonEndpoints.kubeletEndpoint.Port``, the field the API server reads
    to reach a node's kubelet).
    """
    return {
        "addresses": [
            {"type": "InternalIP", "address": config.kubelet_address},
            {"type": "Hostname", "address": name},
        ],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": config.kubelet_port}},
    }


def kubelet_stale(v_node: Obj, *, config: MapperConfig) -> bool:
    """Whether ``v_node``'s advertised kubelet differs from :func:`kubelet_status`."""
    status = mapping(v_node.get("status"))
    want = kubelet_status(name_of(v_node), config=config)
    return thaw({field: status.get(field) for field in want}) != want


def fake_node(name: str, *, p_node: Obj, now: float, config: MapperConfig) -> Json:
    """The fake virtual node for host node ``name`` (``p_node``), advertising
    ``config``'s kubelet; of the host node only labels in :data:`COPIED_LABELS`,
    capacity, allocatable and nodeInfo (less :data:`HOST_IDENTITY`) are read."""
    labels = {FAKE_NODE_LABEL: "true", "kubernetes.io/hostname": name}
    ready = ready_condition(now, status=host_ready(p_node))
    status: Json = {"conditions": [ready], **kubelet_status(name, config=config)}
    host_labels = labels_of(p_node)
    labels.update({k: host_labels[k] for k in COPIED_LABELS if k in host_labels})
    p_status = mapping(p_node.get("status"))
    for field in ("capacity", "allocatable", "nodeInfo"):
        if field in p_status:
            status[field] = thaw({field: p_status[field]})[field]
    for field in HOST_IDENTITY:
        status.get("nodeInfo", {}).pop(field, None)
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": labels},
        "spec": {},
        "status": status,
    }


def heartbeat_due(v_node: Obj, *, now: float, ready: str = "True") -> bool:
    """Whether ``v_node``'s Ready condition is not ``ready`` or its heartbeat is stale."""
    for condition in mapping(v_node.get("status")).get("conditions") or []:
        if mapping(condition).get("type") == "Ready":
            if mapping(condition).get("status") != ready:
                return True
            beat = parse_time(mapping(condition).get("lastHeartbeatTime"))
            return beat is None or now - beat >= HEARTBEAT_SECONDS
    return True


class NodeMapper:
    """Fake nodes; the key is the node name, the same on both sides."""

    resource = NODES
    host_resource = NODES
    host_label_selector: str | None = None  # host nodes are read, never written
    # Each step carries on with the node its write returned (create → taints, status →
    # taints), so the watch events of those writes need no reconcile of their own.
    skip_own_echoes = True
    # Pods are watched; their node index answers "needed" while the pods mapper runs.
    reads: frozenset[Resource] = frozenset()
    may_read: frozenset[Resource] = frozenset({PODS})

    def __init__(self, *, translator: Translator, config: MapperConfig | None = None) -> None:
        self.translator = translator
        self.config = config if config is not None else MapperConfig()

    def virtual_to_host(self, key: ObjectKey) -> str | None:
        return key.name

    def host_to_virtual(self, p_obj: Obj) -> ObjectKey | None:
        return ObjectKey(NODES.plural, "", name_of(p_obj))

    def is_managed(self, p_obj: Obj) -> bool:
        return True  # only read: its name is the node name in both clusters

    def watches(self) -> Mapping[Resource, Callable[[Obj], Iterable[ObjectKey]]]:
        return {PODS: self.keys_of_pod}

    @staticmethod
    def keys_of_pod(pod: Obj) -> list[ObjectKey]:
        return [ObjectKey(NODES.plural, "", node) for node in index_node(pod)]

    @staticmethod
    def needed(ctx: SyncContext, name: str) -> bool:
        if not ctx.serves(PODS):
            return False  # no pods mapper: nothing is bound by us
        return ctx.virtual_cache(PODS).has_indexed(NODE_INDEX, name)

    async def sync_to_virtual(self, ctx: SyncContext, key: ObjectKey, p_obj: Obj) -> Result:
        if not self.needed(ctx, key.name):
            return DONE
        now = time.time()
        try:
            created = await ctx.virtual.create(
                NODES,
                namespace=None,
                body=fake_node(key.name, p_node=p_obj, now=now, config=self.config),
            )
        except AlreadyExists:
            return Result(requeue=True)  # the cache lags
        # Admission gave it the not-ready taint; once it is Ready that goes at once.
        await self._keep_taints(ctx, created, now=now)
        return Result(requeue_after=HEARTBEAT_SECONDS)

    async def sync(self, ctx: SyncContext, v_obj: Obj, p_obj: Obj) -> Result:
        return await self._keep_or_remove(ctx, v_obj, p_obj)

    async def sync_to_host(self, ctx: SyncContext, v_obj: Obj) -> Result:
        return await self._keep_or_remove(ctx, v_obj, None)  # the host node is gone

    async def _keep_or_remove(self, ctx: SyncContext, v_obj: Obj, p_obj: Obj | None) -> Result:
        if not is_fake(v_obj):
            return DONE
        name = name_of(v_obj)
        if not self.needed(ctx, name):
            await delete_virtual(ctx, NODES, v_obj)
            return DONE
        now = time.time()
        want = host_ready(p_obj)
        if heartbeat_due(v_obj, now=now, ready=want) or kubelet_stale(v_obj, config=self.config):
            body = thaw(v_obj)
            status = body.setdefault("status", {})
            status.update(kubelet_status(name, config=self.config))
            conditions = status.get("conditions") or []
            ready = ready_condition(now, status=want)
            for old in conditions:
                if old.get("type") == "Ready" and old.get("status") == want:
                    ready["lastTransitionTime"] = old.get(
                        "lastTransitionTime", ready["lastTransitionTime"]
                    )
            others = [c for c in conditions if c.get("type") != "Ready"]
            status["conditions"] = [ready, *others]
            v_obj = await ctx.virtual.update_status(NODES, namespace=None, name=name, body=body)
        await self._keep_taints(ctx, v_obj, now=now)
        return Result(requeue_after=HEARTBEAT_SECONDS)

    @staticmethod
    async def _keep_taints(ctx: SyncContext, v_obj: Obj, *, now: float) -> None:
        """Bring ``v_obj``'s condition taints in line with its conditions (a 409 requeues)."""
        if taints_stale(v_obj, now=now):
            body = thaw(v_obj)
            body.setdefault("spec", {})["taints"] = condition_taints(v_obj, now=now)
            await ctx.virtual.update(NODES, namespace=None, name=name_of(v_obj), body=body)


def make(*, translator: Translator, config: MapperConfig | None = None) -> NodeMapper:
    """Entry-point factory."""
    return NodeMapper(translator=translator, config=config)
