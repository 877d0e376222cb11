"""Virtual pod → host pod, by the sync path's cache and ownership rule.

Pure and synchronous: reads two caches, never the API.  A virtual
``(namespace, pod)`` resolves to a host pod only when all of these hold
(vcluster's rule for "ours", :meth:`~syncer.translate.Translator.is_owned`):

* both names are DNS-1123 subdomains of at most 253 characters (anything
  else names no virtual pod; this also keeps the translation total);
* the host cache holds a pod named ``Translator.host_name(namespace, pod)``
  in the host namespace;
* that pod carries this vcluster's marker label, ``object-kind`` ``/v1,
  Kind=Pod``, and provenance annotations naming exactly ``namespace/pod``.

Otherwise the answer is ``None`` (the server's 404): the kubelet proxy never
sends a request about a host object that is not a synced pod of this
vcluster.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from syncer.translate import Translator, object_kind

POD_KIND = object_kind("v1", kind="Pod")
_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")


class PodCache(Protocol):
    """The host pods cache (an informer's :class:`~syncer.store.Store`)."""

    def get(self, namespace: str, name: str) -> Mapping[str, Any] | None: ...


@dataclass(frozen=True, slots=True)
class HostPod:
    """The host pod a virtual pod resolved to."""

    namespace: str
    name: str
    #: container names of the virtual pod's spec, of every kind
    containers: frozenset[str] = frozenset()


class PodResolver:
    """Resolves virtual pods against the host and virtual pods caches (``None``: none yet)."""

    def __init__(
        self,
        *,
        translator: Translator,
        host_pods: PodCache | None,
        virtual_pods: PodCache | None,
    ) -> None:
        self._translator = translator
        self._pods = host_pods
        self._virtual = virtual_pods

    def resolve(self, *, namespace: str, pod: str) -> HostPod | None:
        """The host twin of virtual pod ``namespace/pod``, or ``None`` (see the module doc)."""
        if self._pods is None or self._virtual is None:
            return None
        if not (_is_name(namespace) and _is_name(pod)):
            return None
        t = self._translator
        p_name = t.host_name(namespace, pod)
        p_obj = self._pods.get(t.host_namespace, p_name)
        if p_obj is None or not t.is_owned(p_obj, kind_string=POD_KIND):
            return None
        if t.virtual_key_from_host(p_obj) != (namespace, pod):
            return None
        v_obj = self._virtual.get(namespace, pod)
        if v_obj is None:
            return None
        return HostPod(namespace=t.host_namespace, name=p_name, containers=container_names(v_obj))


def container_names(pod: Mapping[str, Any]) -> frozenset[str]:
    """The names in ``spec.containers``, ``initContainers`` and ``ephemeralContainers``."""
    spec = pod.get("spec")
    if not isinstance(spec, Mapping):
        return frozenset()
    names: set[str] = set()
    for field in ("containers", "initContainers", "ephemeralContainers"):
        entries = spec.get(field)
        if not isinstance(entries, list):
            continue
        for entry in entries:
            name = entry.get("name") if isinstance(entry, Mapping) else None
            if isinstance(name, str):
                names.add(name)
    return frozenset(names)


def _is_name(value: str) -> bool:
    return len(value) <= 253 and _SUBDOMAIN.fullmatch(value) is not None
