"""What a pod refers to: configmaps, secrets, PVCs, downward-API fields, its node.

**One walk** (:func:`spec_sites`) finds every place of a pod spec that names
an object or reads a downward-API field, as :class:`Site`\\ s.  The pod
translation (:mod:`mappers.podspec`) renames and rewrites exactly those places
and refuses the pod at a ``refused`` site; the indexes here list the names of
the same walk.  So "what is synced while a pod refers to it" and "what the host
pod names" cannot drift apart.

The walk knows every volume source of ``core/v1`` in Kubernetes v1.36:

* named objects, renamed to their host names: ``secret.secretName``,
  ``configMap.name``, ``persistentVolumeClaim.claimName``,
  ``csi.nodePublishSecretRef``, ``flexVolume``/``cephfs``/``rbd``/``iscsi``/
  ``scaleIO``/``storageos``/``cinder`` ``.secretRef``, ``azureFile.secretName``,
  projected ``secret``/``configMap`` sources, and an ``ephemeral`` claim
  template's ``dataSource``/``dataSourceRef`` naming a claim of the namespace;
* sources that name no object pass (whether they are *safe* is the Pod
  Security check's question): ``emptyDir``, ``hostPath``, ``image``, ``nfs``,
  ``gitRepo``, ``awsElasticBlockStore``, ``gcePersistentDisk``, ``azureDisk``,
  ``fc``, ``flocker``, ``photonPersistentDisk``, ``portworxVolume``,
  ``quobyte``, ``vsphereVolume``; ``downwardAPI`` items and projected
  ``serviceAccountToken`` sources (the translation rewrites them);
* refused (reason ``volume_source``): what reads host state the tenant must not
  see — ``glusterfs`` (names an Endpoints object; the plugin is gone since
  v1.26), projected ``clusterTrustBundle`` (cluster-scoped host objects) and
  ``podCertificate`` (a certificate of the *host* pod's identity), an ephemeral
  template binding a PersistentVolume by ``volumeName``, a data source in
  another namespace or of a kind vsyncer does not sync — and any key it does
  not know (a future source).

Containers (init, regular, ephemeral): ``env[].valueFrom``
``configMapKeyRef``/``secretKeyRef`` are named objects, ``fieldRef`` a
downward-API field, ``resourceFieldRef``/``fileKeyRef`` name nothing; ``envFrom``
``configMapRef``/``secretRef`` are named objects; an unknown key is refused
(reason ``env_source``).  ``imagePullSecrets`` are named secrets;
``resourceClaims`` (objects vsyncer does not sync) are refused (reason
``resource_claim``).  The virtual ``kube-root-ca.crt`` is never a reference
(:func:`is_synced`): the host namespace has its own.

The pods mapper registers the indexes on the virtual *pods* store (values
``"<namespace>/<name>"``, or the node name): the configmaps, secrets and PVCs
mappers ask "does any pod still reference ``ns/name``?" with one lookup and
are told which of their keys a pod change touches; the nodes mapper asks
"does any synced pod run on node N?".  Everything here is pure and never
raises on malformed input (missing or odd fields read as empty).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple

from syncer.api import Obj
from syncer.kit import items, mapping, meta

CONFIGMAP_INDEX = "vsyncer.pods/configmaps"
SECRET_INDEX = "vsyncer.pods/secrets"
PVC_INDEX = "vsyncer.pods/persistentvolumeclaims"
NODE_INDEX = "vsyncer.pods/node"

#: The CA bundle configmap every namespace has on both sides; never synced.
ROOT_CA_CONFIGMAP = "kube-root-ca.crt"

CONTAINER_FIELDS = ("initContainers", "containers", "ephemeralContainers")

#: :attr:`Site.kind` values: a named object (the resource's plural), a field, a refusal.
CONFIGMAP = "configmaps"
SECRET = "secrets"
PVC = "persistentvolumeclaims"
FIELD_REF = "fieldRef"
REFUSED = "refused"

#: Volume sources that name no object.
PLAIN_VOLUME_SOURCES = frozenset(
    {
        "emptyDir",
        "hostPath",
        "image",
        "nfs",
        "gitRepo",
        "awsElasticBlockStore",
        "gcePersistentDisk",
        "azureDisk",
        "fc",
        "flocker",
        "photonPersistentDisk",
        "portworxVolume",
        "quobyte",
        "vsphereVolume",
    }
)
#: Volume sources naming one object: source key → (kind, path to the name inside it).
NAMED_VOLUME_SOURCES: Mapping[str, tuple[str, tuple[str, ...]]] = {
    "secret": (SECRET, ("secretName",)),
    "configMap": (CONFIGMAP, ("name",)),
    "persistentVolumeClaim": (PVC, ("claimName",)),
    "csi": (SECRET, ("nodePublishSecretRef", "name")),
    "azureFile": (SECRET, ("secretName",)),
    **dict.fromkeys(
        ("flexVolume", "cephfs", "rbd", "iscsi", "scaleIO", "storageos", "cinder"),
        (SECRET, ("secretRef", "name")),
    ),
}
#: Volume sources refused, with why.
REFUSED_VOLUME_SOURCES: Mapping[str, str] = {
    "glusterfs": "names an Endpoints object of the host namespace (and the plugin is gone)",
}
#: Projected sources refused, with why.
REFUSED_PROJECTIONS: Mapping[str, str] = {
    "clusterTrustBundle": "reads ClusterTrustBundles, cluster-scoped objects of the host",
    "podCertificate": "would certify the host pod's identity, not the virtual pod's",
}
_PLAIN_ENV_SOURCES = frozenset({"resourceFieldRef", "fileKeyRef"})

Where = tuple[str | int, ...]


class Site(NamedTuple):
    """One place in a pod spec that names an object, reads a field, or is refused.

    ``holder[field]`` is the name (kinds :data:`CONFIGMAP`, :data:`SECRET`,
    :data:`PVC`) or the ``fieldPath`` (:data:`FIELD_REF`); for :data:`REFUSED`,
    ``reason`` is the metric label and ``problem`` says why.  ``where`` is the
    path below ``spec``; :attr:`path` spells it as JSON path.
    """

    kind: str
    holder: Any
    field: str
    where: Where
    reason: str = ""
    problem: str = ""

    @property
    def path(self) -> str:
        """``spec.volumes[3].flexVolume.secretRef.name``-style."""
        return "spec" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in self.where)

    @property
    def value(self) -> str:
        return str(self.holder[self.field])


def is_synced(kind: str, name: str) -> bool:
    """Whether a named reference is synced (and renamed): all but ``kube-root-ca.crt``."""
    return not (kind == CONFIGMAP and name == ROOT_CA_CONFIGMAP)


def _named(kind: str, holder: Any, field: str, where: Where) -> Iterator[Site]:
    if isinstance(holder, Mapping):
        name = holder.get(field)
        if isinstance(name, str) and name:
            yield Site(kind, holder, field, (*where, field))


def _refused(reason: str, holder: Any, where: Where, problem: str) -> Site:
    return Site(REFUSED, holder, "", where, reason, problem)


def _field_ref(holder: Any, where: Where) -> Iterator[Site]:
    if isinstance(holder, Mapping) and isinstance(holder.get("fieldPath"), str):
        yield Site(FIELD_REF, holder, "fieldPath", (*where, "fieldPath"))


def _downward_items(source: Any, where: Where) -> Iterator[Site]:
    for index, item in enumerate(items(mapping(source).get("items"))):
        yield from _field_ref(mapping(item).get("fieldRef"), (*where, "items", index, "fieldRef"))


def _projected(source: Any, where: Where) -> Iterator[Site]:
    for index, projection in enumerate(items(mapping(source).get("sources"))):
        at: Where = (*where, "sources", index)
        for key, value in mapping(projection).items():
            if key == "secret":
                yield from _named(SECRET, value, "name", (*at, key))
            elif key == "configMap":
                yield from _named(CONFIGMAP, value, "name", (*at, key))
            elif key == "downwardAPI":
                yield from _downward_items(value, (*at, key))
            elif key != "serviceAccountToken":
                why = REFUSED_PROJECTIONS.get(key, "is not a projection vsyncer knows")
                yield _refused("volume_source", projection, (*at, key), why)


def _ephemeral(source: Any, where: Where) -> Iterator[Site]:
    at: Where = (*where, "volumeClaimTemplate", "spec")
    spec = mapping(mapping(mapping(source).get("volumeClaimTemplate")).get("spec"))
    if spec.get("volumeName"):
        yield _refused(
            "volume_source", spec, (*at, "volumeName"), "binds a host PersistentVolume by name"
        )
    for field in ("dataSource", "dataSourceRef"):
        ref = spec.get(field)
        if not isinstance(ref, Mapping):
            continue
        if ref.get("namespace"):
            yield _refused("volume_source", ref, (*at, field), "names another namespace")
        elif ref.get("kind") == "PersistentVolumeClaim" and not ref.get("apiGroup"):
            yield from _named(PVC, ref, "name", (*at, field))
        else:
            why = f"a data source of kind {ref.get('kind')!r} is not synced to the host"
            yield _refused("volume_source", ref, (*at, field), why)


def _volume(volume: Mapping[str, Any], where: Where) -> Iterator[Site]:
    for key, source in volume.items():
        if key == "name" or key in PLAIN_VOLUME_SOURCES:
            continue
        at: Where = (*where, key)
        named = NAMED_VOLUME_SOURCES.get(key)
        if named is not None:
            kind, path = named
            holder = source
            for step in path[:-1]:
                holder = mapping(holder).get(step)
            yield from _named(kind, holder, path[-1], (*at, *path[:-1]))
        elif key == "downwardAPI":
            yield from _downward_items(source, at)
        elif key == "projected":
            yield from _projected(source, at)
        elif key == "ephemeral":
            yield from _ephemeral(source, at)
        else:
            why = REFUSED_VOLUME_SOURCES.get(key, "is not a volume source vsyncer knows")
            yield _refused("volume_source", volume, at, why)


def _container(container: Mapping[str, Any], where: Where) -> Iterator[Site]:
    for index, var in enumerate(items(container.get("env"))):
        value_from = mapping(var).get("valueFrom")
        at: Where = (*where, "env", index, "valueFrom")
        for key, ref in mapping(value_from).items():
            if key == "configMapKeyRef":
                yield from _named(CONFIGMAP, ref, "name", (*at, key))
            elif key == "secretKeyRef":
                yield from _named(SECRET, ref, "name", (*at, key))
            elif key == "fieldRef":
                yield from _field_ref(ref, (*at, key))
            elif key not in _PLAIN_ENV_SOURCES:
                yield _refused("env_source", value_from, (*at, key), "is not an env source")
    for index, source in enumerate(items(container.get("envFrom"))):
        at = (*where, "envFrom", index)
        for key, ref in mapping(source).items():
            if key == "configMapRef":
                yield from _named(CONFIGMAP, ref, "name", (*at, key))
            elif key == "secretRef":
                yield from _named(SECRET, ref, "name", (*at, key))
            elif key != "prefix":
                yield _refused("env_source", source, (*at, key), "is not an envFrom source")


def spec_sites(spec: Any) -> Iterator[Site]:
    """Every :class:`Site` of a pod spec, in document order."""
    spec = mapping(spec)
    for index, volume in enumerate(items(spec.get("volumes"))):
        yield from _volume(mapping(volume), ("volumes", index))
    for field in CONTAINER_FIELDS:
        for index, container in enumerate(items(spec.get(field))):
            yield from _container(mapping(container), (field, index))
    for index, pull in enumerate(items(spec.get("imagePullSecrets"))):
        yield from _named(SECRET, pull, "name", ("imagePullSecrets", index))
    for index, claim in enumerate(items(spec.get("resourceClaims"))):
        why = "names a ResourceClaim, which vsyncer does not sync to the host"
        yield _refused("resource_claim", claim, ("resourceClaims", index), why)


class PodReferences(NamedTuple):
    """The names (in the pod's own namespace) one pod refers to, and the fields it reads."""

    configmaps: frozenset[str]
    secrets: frozenset[str]
    pvcs: frozenset[str]
    field_paths: frozenset[str] = frozenset()


def containers(spec: Any) -> Iterator[Mapping[str, Any]]:
    """Every container of a pod spec, init and ephemeral ones included."""
    for field in CONTAINER_FIELDS:
        yield from (mapping(c) for c in items(mapping(spec).get(field)))


def pod_references(pod: Obj) -> PodReferences:
    """Every synced configmap, secret and PVC ``pod`` names, and its downward-API fields."""
    found: dict[str, set[str]] = {CONFIGMAP: set(), SECRET: set(), PVC: set(), FIELD_REF: set()}
    for site in spec_sites(pod.get("spec")):
        if site.kind == FIELD_REF or (site.kind != REFUSED and is_synced(site.kind, site.value)):
            found[site.kind].add(site.value)
    return PodReferences(
        frozenset(found[CONFIGMAP]),
        frozenset(found[SECRET]),
        frozenset(found[PVC]),
        frozenset(found[FIELD_REF]),
    )


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
