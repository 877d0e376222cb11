"""Isolation objects: what vsyncer owns in its host namespace when isolation is on (pure).

With ``VSYNCER_ISOLATION=true`` the syncer keeps, in its host namespace, the
objects vcluster's isolated mode deploys (its chart's ``policies`` /
``isolation`` block), built here from an :class:`IsolationSpec`:

* a ResourceQuota ``vc-<vcluster>`` whose ``spec.hard`` is vcluster's default
  quota (:data:`DEFAULT_QUOTA`) with the operator's overrides;
* a LimitRange ``vc-<vcluster>`` giving every container vcluster's default
  limits and requests (:data:`DEFAULT_LIMITS`, :data:`DEFAULT_REQUESTS`), so a
  tenant pod without resources is still accounted by the quota;
* a NetworkPolicy ``vc-work-<vcluster>`` over this vcluster's workloads (host
  pods whose marker label ``vcluster.loft.sh/managed-by`` names it — a label
  tenants cannot set, :mod:`syncer.translate` renames it), both directions
  fenced as vcluster's ``vc-work-`` policy does: ingress from its own pods and
  the control plane pod; egress to its own pods, the control plane pod, the
  host's DNS (``kube-system`` pods ``k8s-app=kube-dns``, port 53 UDP/TCP) and,
  with public egress, ``0.0.0.0/0`` except private, loopback and shared ranges
  (:data:`PRIVATE_RANGES`).  The allow-list (CIDRs, host namespaces) is added
  to both directions.  Pods of other namespaces or other vclusters match no
  rule, so they are neither reached nor let in.

Every object carries the marker label (``vcluster.loft.sh/managed-by`` = the
vcluster) and :data:`ISOLATION_LABEL` = the vcluster: :func:`is_ours` trusts
exactly that pair.  :func:`needs_update` answers whether an existing object
differs from what is wanted in anything vsyncer owns (its spec, its two
labels); labels and annotations others add are kept by :func:`updated`.

:func:`selects` evaluates a ``LabelSelector`` (``matchLabels`` and
``matchExpressions``, as the API server does) against a set of labels.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from syncer.resources import Resource
from syncer.translate import MANAGED_BY_LABEL

Json = dict[str, Any]

RESOURCEQUOTAS = Resource("", "v1", "resourcequotas", "ResourceQuota")
LIMITRANGES = Resource("", "v1", "limitranges", "LimitRange")
NETWORKPOLICIES = Resource("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy")

#: Second ownership label of isolation objects; its value is the vcluster's name.
ISOLATION_LABEL = "vsyncer.dev/isolation"
#: The Pod Security admission label vsyncer may set on its host namespace.
PSA_ENFORCE_LABEL = "pod-security.kubernetes.io/enforce"
#: The label every namespace carries with its own name (Kubernetes 1.22+).
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"

#: vcluster's default isolated-mode quota (chart ``policies.resourceQuota.quota``).
DEFAULT_QUOTA: Mapping[str, str] = {
    "requests.cpu": "10",
    "requests.memory": "20Gi",
    "requests.storage": "100Gi",
    "requests.ephemeral-storage": "60Gi",
    "limits.cpu": "20",
    "limits.memory": "40Gi",
    "limits.ephemeral-storage": "160Gi",
    "services.nodeports": "0",
    "services.loadbalancers": "1",
    "count/endpoints": "40",
    "count/pods": "20",
    "count/services": "20",
    "count/secrets": "100",
    "count/configmaps": "100",
    "count/persistentvolumeclaims": "20",
}
#: vcluster's default container limits and requests (chart ``policies.limitRange``).
DEFAULT_LIMITS: Mapping[str, str] = {"cpu": "1", "memory": "512Mi", "ephemeral-storage": "8Gi"}
DEFAULT_REQUESTS: Mapping[str, str] = {
    "cpu": "100m",
    "memory": "128Mi",
    "ephemeral-storage": "3Gi",
}
#: Ranges public egress excludes (vcluster's ``outgoingConnections.ipBlock.except``).
PRIVATE_RANGES = ("100.64.0.0/10", "127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")

_QUANTITY = re.compile(
    r"[+]?(\d+(\.\d*)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?\d+)?"
)
_SUFFIXES = {
    **{s: Decimal(1024) ** (i + 1) for i, s in enumerate(("Ki", "Mi", "Gi", "Ti", "Pi", "Ei"))},
    **{s: Decimal(1000) ** (i + 1) for i, s in enumerate(("k", "M", "G", "T", "P", "E"))},
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
}
_RESOURCE_NAME = re.compile(r"[a-z0-9]([-a-z0-9._/]*[a-z0-9])?")


def check_quantity(value: str) -> str:
    """``value`` if it is a Kubernetes quantity (``100m``, ``20Gi``, ``1e3``); else ValueError."""
    if not _QUANTITY.fullmatch(value):
        raise ValueError(f"{value!r} is not a quantity such as 500m, 2 or 20Gi")
    return value


def quantity_value(value: str) -> Decimal:
    """The number a quantity stands for (``500m`` and ``0.5`` both give 0.5); ValueError if
    ``value`` is not a quantity."""
    match = _QUANTITY.fullmatch(value)
    if match is None:
        raise ValueError(f"{value!r} is not a quantity such as 500m, 2 or 20Gi")
    number, suffix = match.group(1), match.group(3) or ""
    try:
        if len(suffix) > 1 and suffix[0] in "eE":
            return Decimal(number + suffix)
        return Decimal(number) * _SUFFIXES.get(suffix, Decimal(1))
    except InvalidOperation:
        raise ValueError(f"{value!r} is out of range") from None


def parse_overrides(entries: Iterable[str]) -> dict[str, str | None]:
    """``resource=quantity`` entries as a mapping; ``resource=`` maps to ``None`` (remove).

    Raises ValueError (one line naming the entry) for a malformed entry.
    """
    parsed: dict[str, str | None] = {}
    for entry in entries:
        name, sep, value = entry.partition("=")
        name, value = name.strip(), value.strip()
        if not sep or not _RESOURCE_NAME.fullmatch(name) or len(name) > 253:
            raise ValueError(f"{entry!r} is not resource=quantity (such as requests.cpu=10)")
        parsed[name] = check_quantity(value) if value else None
    return parsed


def merged(defaults: Mapping[str, str], entries: Iterable[str]) -> dict[str, str]:
    """``defaults`` with the overrides of :func:`parse_overrides` applied."""
    result = dict(defaults)
    for name, value in parse_overrides(entries).items():
        if value is None:
            result.pop(name, None)
        else:
            result[name] = value
    return result


@dataclass(frozen=True, slots=True)
class IsolationSpec:
    """What isolation wants in one host namespace.

    ``control_plane``: the labels selecting the control plane pod(s);
    ``pod_security_level``: the level to enforce on the host namespace, or
    ``None`` when vsyncer may not label its namespace.
    """

    vcluster: str
    host_namespace: str
    quota: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_QUOTA))
    limits: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_LIMITS))
    requests: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_REQUESTS))
    network_policy: bool = True
    public_egress: bool = True
    allow_cidrs: tuple[str, ...] = ()
    allow_namespaces: tuple[str, ...] = ()
    control_plane: Mapping[str, str] = field(default_factory=dict)
    pod_security_level: str | None = None

    @property
    def quota_name(self) -> str:
        return f"vc-{self.vcluster}"

    @property
    def limit_range_name(self) -> str:
        return f"vc-{self.vcluster}"

    @property
    def network_policy_name(self) -> str:
        return f"vc-work-{self.vcluster}"

    @property
    def control_plane_labels(self) -> dict[str, str]:
        """The control plane's labels: vcluster's ``release=<vcluster>`` unless set."""
        return dict(self.control_plane) or {"release": self.vcluster}


def _metadata(spec: IsolationSpec, name: str) -> Json:
    return {
        "name": name,
        "namespace": spec.host_namespace,
        "labels": {MANAGED_BY_LABEL: spec.vcluster, ISOLATION_LABEL: spec.vcluster},
    }


def resource_quota(spec: IsolationSpec) -> Json:
    """The ResourceQuota: ``spec.hard`` is :attr:`IsolationSpec.quota`."""
    return {
        "apiVersion": "v1",
        "kind": "ResourceQuota",
        "metadata": _metadata(spec, spec.quota_name),
        "spec": {"hard": dict(spec.quota)},
    }


def limit_range(spec: IsolationSpec) -> Json:
    """The LimitRange: one ``Container`` item with the default limits and requests."""
    item: Json = {"type": "Container"}
    if spec.limits:
        item["default"] = dict(spec.limits)
    if spec.requests:
        item["defaultRequest"] = dict(spec.requests)
    return {
        "apiVersion": "v1",
        "kind": "LimitRange",
        "metadata": _metadata(spec, spec.limit_range_name),
        "spec": {"limits": [item]},
    }


def workload_selector(vcluster: str) -> Json:
    """The pod selector of one vcluster's workloads: its marker label."""
    return {"matchLabels": {MANAGED_BY_LABEL: vcluster}}


def network_policy(spec: IsolationSpec) -> Json:
    """The workloads' NetworkPolicy (see the module docstring for its rules)."""
    own = {"podSelector": workload_selector(spec.vcluster)}
    control_plane = {"podSelector": {"matchLabels": spec.control_plane_labels}}
    dns = {
        "namespaceSelector": {"matchLabels": {NAMESPACE_NAME_LABEL: "kube-system"}},
        "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
    }
    ingress: list[Json] = [{"from": [own, control_plane]}]
    egress: list[Json] = [
        {"to": [own, control_plane]},
        {
            "to": [dns],
            "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
        },
    ]
    if spec.public_egress:
        egress.append({"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": list(PRIVATE_RANGES)}}]})
    allowed: list[Json] = [{"ipBlock": {"cidr": cidr}} for cidr in spec.allow_cidrs]
    allowed += [
        {"namespaceSelector": {"matchLabels": {NAMESPACE_NAME_LABEL: namespace}}}
        for namespace in spec.allow_namespaces
    ]
    if allowed:
        ingress.append({"from": allowed})
        egress.append({"to": allowed})
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": _metadata(spec, spec.network_policy_name),
        "spec": {
            "podSelector": workload_selector(spec.vcluster),
            "policyTypes": ["Ingress", "Egress"],
            "ingress": ingress,
            "egress": egress,
        },
    }


def desired_objects(spec: IsolationSpec) -> dict[tuple[Resource, str], Json]:
    """Every namespaced object isolation wants, by ``(resource, name)``."""
    wanted = [(RESOURCEQUOTAS, resource_quota(spec)), (LIMITRANGES, limit_range(spec))]
    if spec.network_policy:
        wanted.append((NETWORKPOLICIES, network_policy(spec)))
    return {(resource, body["metadata"]["name"]): body for resource, body in wanted}


def _labels(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    labels = (obj.get("metadata") or {}).get("labels")
    return labels if isinstance(labels, Mapping) else {}


def is_ours(obj: Mapping[str, Any], *, vcluster: str) -> bool:
    """Whether ``obj`` carries both ownership labels naming ``vcluster``."""
    labels = _labels(obj)
    return labels.get(MANAGED_BY_LABEL) == vcluster and labels.get(ISOLATION_LABEL) == vcluster


def needs_update(current: Mapping[str, Any], desired: Mapping[str, Any]) -> bool:
    """Whether ``current`` differs from ``desired`` in its spec or ownership labels.

    Quantities compare by value, as the API server stores them in canonical form
    (``0.5`` as ``500m``), so that form is not a difference.
    """
    if _canonical(current.get("spec")) != _canonical(desired.get("spec")):
        return True
    labels = _labels(current)
    return any(labels.get(k) != v for k, v in _labels(desired).items())


def updated(current: Mapping[str, Any], desired: Mapping[str, Any]) -> Json:
    """``desired`` over ``current``: its spec and labels; others' labels, annotations,
    owner references and the resourceVersion (for the update's precondition) kept."""
    meta = dict(current.get("metadata") or {})
    labels = {**_labels(current), **_labels(desired)}
    keep = ("name", "namespace", "resourceVersion", "annotations", "ownerReferences", "uid")
    metadata = {k: _plain(meta[k]) for k in keep if k in meta}
    metadata["labels"] = labels
    return {**_plain(dict(desired)), "metadata": metadata}


#: Pod Security Standards levels, least strict first (Kubernetes' ``privileged``,
#: ``baseline``, ``restricted``).
PSA_LEVELS = ("privileged", "baseline", "restricted")


def namespace_label_patch(current: Mapping[str, Any], level: str) -> Json | None:
    """The merge patch raising the namespace's enforce label to ``level``.

    ``None`` when the label already names ``level`` or a stricter level (a host
    admin's ``restricted`` is never lowered to ``baseline``); a missing label, an
    unknown value or a less strict level is replaced.
    """
    present = _labels(current).get(PSA_ENFORCE_LABEL)
    if present in PSA_LEVELS and level in PSA_LEVELS:
        if PSA_LEVELS.index(present) >= PSA_LEVELS.index(level):
            return None
    elif present == level:
        return None
    return {"metadata": {"labels": {PSA_ENFORCE_LABEL: level}}}


def selects(selector: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    """Whether a ``LabelSelector`` selects ``labels``; an empty selector selects all."""
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions") or ():
        key, operator = expression["key"], expression["operator"]
        values = set(expression.get("values") or ())
        if operator == "In" and labels.get(key) not in values:
            return False
        if operator == "NotIn" and key in labels and labels[key] in values:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
    return True


def _canonical(value: Any) -> Any:
    """A plain copy of ``value`` in which every quantity string is its :class:`Decimal`."""
    if isinstance(value, Mapping):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    if isinstance(value, str) and _QUANTITY.fullmatch(value):
        return ("quantity", quantity_value(value))
    return value


def _plain(value: Any) -> Any:
    """A plain JSON copy (dicts and lists) of a possibly frozen cached value."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value
