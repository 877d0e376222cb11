"""Virtual pod → host pod, by the sync path's cache and ownership rule.

Pure and synchronous: reads one cache, never the API.  A virtual
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


class PodResolver:
    """Resolves virtual pods against the host pods cache (``None``: no cache yet)."""

    def __init__(self, *, translator: Translator, host_pods: PodCache | None) -> None:
        self._translator = translator
        self._pods = host_pods

    def resolve(self, *, namespace: str, pod: str) -> HostPod | None:
        """The host twin of virtual pod ``namespace/pod``, or ``None`` (see the module doc)."""
        if self._pods is None or not (_is_name(namespace) and _is_name(pod)):
            return None
        t = self._translator
        p_name = t.host_name(namespace, pod)
        p_obj = self._pods.get(t.host_namespace, p_name)
        if p_obj is None or not t.is_owned(p_obj, kind_string=POD_KIND):
            return None
        if t.virtual_key_from_host(p_obj) != (namespace, pod):
            return None
        return HostPod(namespace=t.host_namespace, name=p_name)


def _is_name(value: str) -> bool:
    return len(value) <= 253 and _SUBDOMAIN.fullmatch(value) is not None
