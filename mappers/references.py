"""What a pod refers to: configmaps, secrets, PVCs and its node — read from the pod spec.

These are pure functions over a virtual pod.  The pods mapper registers them as
indexes on the virtual *pods* store (values ``"<namespace>/<name>"``, or the node
name), so that:

* the configmaps and secrets mappers can ask "does any pod still reference
  ``ns/name``?" with one index lookup instead of scanning pods, and are told
  (as :class:`~syncer.api.Watcher`\\ s of pods) which of their keys a pod change
  touches — both the references a pod had and the ones it has now;
* the nodes mapper can ask "does any synced pod run on node N?" the same way.

Everything a pod can name is covered: volumes (``configMap``, ``secret``,
``persistentVolumeClaim``, projected ``configMap``/``secret`` sources, CSI
``nodePublishSecretRef``), ``env[].valueFrom`` and ``envFrom`` of every
container, init container and ephemeral container, and ``imagePullSecrets``.
The virtual ``kube-root-ca.crt`` is never indexed: it is not synced (the host
namespace has its own).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple

from mappers.generic import items, mapping, meta
from syncer.api import Obj

CONFIGMAP_INDEX = "vsyncer.pods/configmaps"
SECRET_INDEX = "vsyncer.pods/secrets"
PVC_INDEX = "vsyncer.pods/persistentvolumeclaims"
NODE_INDEX = "vsyncer.pods/node"

#: The CA bundle configmap every namespace has on both sides; never synced.
ROOT_CA_CONFIGMAP = "kube-root-ca.crt"

CONTAINER_FIELDS = ("initContainers", "containers", "ephemeralContainers")


class PodReferences(NamedTuple):
    """The names (in the pod's own namespace) one pod refers to."""

    configmaps: frozenset[str]
    secrets: frozenset[str]
    pvcs: frozenset[str]


def containers(spec: Any) -> Iterator[Mapping[str, Any]]:
    """Every container of a pod spec, init and ephemeral ones included."""
    for field in CONTAINER_FIELDS:
        yield from (mapping(c) for c in items(mapping(spec).get(field)))


def _names(value: Any, field: str) -> Iterator[str]:
    name = mapping(value).get(field)
    if isinstance(name, str) and name:
        yield name


def pod_references(pod: Obj) -> PodReferences:
    """Every configmap, secret and PVC ``pod`` refers to."""
    spec = mapping(pod.get("spec"))
    configmaps: set[str] = set()
    secrets: set[str] = set()
    pvcs: set[str] = set()
    for volume in items(spec.get("volumes")):
        volume = mapping(volume)
        configmaps.update(_names(volume.get("configMap"), "name"))
        secrets.update(_names(volume.get("secret"), "secretName"))
        pvcs.update(_names(volume.get("persistentVolumeClaim"), "claimName"))
        secrets.update(_names(mapping(volume.get("csi")).get("nodePublishSecretRef"), "name"))
        for source in items(mapping(volume.get("projected")).get("sources")):
            source = mapping(source)
            configmaps.update(_names(source.get("configMap"), "name"))
            secrets.update(_names(source.get("secret"), "name"))
    for container in containers(spec):
        for env in items(container.get("env")):
            value_from = mapping(mapping(env).get("valueFrom"))
            configmaps.update(_names(value_from.get("configMapKeyRef"), "name"))
            secrets.update(_names(value_from.get("secretKeyRef"), "name"))
        for env_from in items(container.get("envFrom")):
            env_from = mapping(env_from)
            configmaps.update(_names(env_from.get("configMapRef"), "name"))
            secrets.update(_names(env_from.get("secretRef"), "name"))
    for pull in items(spec.get("imagePullSecrets")):
        secrets.update(_names(pull, "name"))
    configmaps.discard(ROOT_CA_CONFIGMAP)
    return PodReferences(frozenset(configmaps), frozenset(secrets), frozenset(pvcs))


def _qualified(pod: Obj, names: frozenset[str]) -> list[str]:
    namespace = str(meta(pod).get("namespace") or "")
    return sorted(f"{namespace}/{name}" for name in names)


def index_configmaps(pod: Obj) -> list[str]:
    """Index function: ``ns/name`` of every configmap the pod refers to."""
    return _qualified(pod, pod_references(pod).configmaps)


def index_secrets(pod: Obj) -> list[str]:
    """Index function: ``ns/name`` of every secret the pod refers to."""
    return _qualified(pod, pod_references(pod).secrets)


def index_pvcs(pod: Obj) -> list[str]:
    """Index function: ``ns/name`` of every PVC the pod refers to."""
    return _qualified(pod, pod_references(pod).pvcs)


class PodReferenceIndexes:
    """The configmap, secret and PVC index functions over one walk of each pod.

    The store calls every index function on the same object in turn; this
    walks the pod's spec once for all three (a one-entry memo that holds the
    last object, so its identity cannot be reused while it is remembered).
    The results equal :func:`index_configmaps`, :func:`index_secrets` and
    :func:`index_pvcs`.
    """

    def __init__(self) -> None:
        self._last: tuple[Obj, PodReferences] | None = None

    def _references(self, pod: Obj) -> PodReferences:
        last = self._last
        if last is not None and last[0] is pod:
            return last[1]
        references = pod_references(pod)
        self._last = (pod, references)
        return references

    def configmaps(self, pod: Obj) -> list[str]:
        return _qualified(pod, self._references(pod).configmaps)

    def secrets(self, pod: Obj) -> list[str]:
        return _qualified(pod, self._references(pod).secrets)

    def pvcs(self, pod: Obj) -> list[str]:
        return _qualified(pod, self._references(pod).pvcs)


def index_node(pod: Obj) -> list[str]:
    """Index function: the node the pod is bound to, if any."""
    node = mapping(pod.get("spec")).get("nodeName")
    return [node] if isinstance(node, str) and node else []


def qualified(namespace: str, name: str) -> str:
    """The index value of ``namespace/name``."""
    return f"{namespace}/{name}"
