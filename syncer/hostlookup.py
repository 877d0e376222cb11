"""Host lookups by name from watch caches: the host namespace's objects, ours or not.

The host caches of the sync path hold only objects carrying this vcluster's
marker label (``vcluster.loft.sh/managed-by=<vcluster>``).  The tenant
boundary also needs the *other* objects in the host namespace: a pod may only
reference a secret, configmap or PVC whose host name is free or held by this
vcluster's copy of that very object (:mod:`mappers.podguard`), so a foreign
object under that name must be seen.  Asking the host API server on every pod
made two 404 GETs per pod; here the other objects are watched instead, with
the label selector ``vcluster.loft.sh/managed-by!=<vcluster>`` (Kubernetes
matches objects without the label too), so the two caches together hold every
object of the kind in the host namespace.

Guarantees:

* :func:`unmanaged_informer` watches exactly the host namespace's objects of
  one kind that lack this vcluster's marker, keeping only their metadata
  (:func:`metadata_only`: name, namespace, uid, resourceVersion, labels,
  annotations, owner references), so a large foreign secret costs a few
  hundred bytes;
* :class:`HostLookup` answers a lookup of a kind it watches from the two
  caches (the managed one first) once both have synced, raising
  :class:`~syncer.errors.NotFound` when neither holds the name; for any other
  kind, or before both caches have synced, it reads live through the
  :class:`~syncer.api.HostReader` it wraps.  A cache answer is as fresh as
  the watch (milliseconds behind the server); the live read it replaces was
  stale by the time the pod was created, too;
* with pods synced, a :data:`REFERENCED` kind whose own mapper is off (no
  managed cache, e.g. ``VSYNCER_KINDS=pods,nodes``) is watched whole
  (:func:`namespace_informer`, no selector, metadata only) in the pods
  pipeline, so its lookups need ``list``/``watch`` on the host (the pods rows
  of :mod:`syncer.rbac`), never a live GET per pod once it has synced (the
  pods workers wait for it).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from syncer.api import HostReader
from syncer.availability import Probe
from syncer.errors import NotFound
from syncer.informer import Informer
from syncer.listwatch import ListerWatcher
from syncer.reflector import ReflectorMetrics
from syncer.resources import CONFIGMAPS, PODS, PVCS, SECRETS, Resource
from syncer.translate import MANAGED_BY_LABEL, Translator

Json = dict[str, Any]

#: The kinds a pod references by name (volumes, env, envFrom, data sources).
REFERENCED: tuple[Resource, ...] = (SECRETS, CONFIGMAPS, PVCS)
_KEPT = ("name", "namespace", "uid", "resourceVersion", "labels", "annotations", "ownerReferences")


def metadata_only(obj: Json) -> Json:
    """``obj`` reduced to ``apiVersion``, ``kind`` and the metadata a lookup reads."""
    metadata = obj.get("metadata")
    kept = {k: metadata[k] for k in _KEPT if k in metadata} if isinstance(metadata, dict) else {}
    return {"apiVersion": obj.get("apiVersion"), "kind": obj.get("kind"), "metadata": kept}


def unmanaged_selector(vcluster: str) -> str:
    """The label selector of host objects that do not carry ``vcluster``'s marker."""
    return f"{MANAGED_BY_LABEL}!={vcluster}"


def unmanaged_informer(
    *,
    client: ListerWatcher,
    resource: Resource,
    namespace: str,
    vcluster: str,
    metrics: ReflectorMetrics | None = None,
) -> Informer:
    """An informer of ``resource`` objects in ``namespace`` without ``vcluster``'s marker,
    metadata only."""
    return Informer(
        cluster="host",
        client=client,
        resource=resource,
        namespace=namespace,
        label_selector=unmanaged_selector(vcluster),
        transform=metadata_only,
        metrics=metrics,
        name=f"host/{resource.plural}/unmanaged",
    )


def namespace_informer(*, client: ListerWatcher, resource: Resource, namespace: str) -> Informer:
    """An informer of every ``resource`` object in ``namespace``, ours or not, metadata only."""
    return Informer(
        cluster="host",
        client=client,
        resource=resource,
        namespace=namespace,
        transform=metadata_only,
        name=f"host/{resource.plural}/lookup",
    )


class HostLookup:
    """A ``HostReader`` answering from host caches where it can, live otherwise.

    ``live`` is the live GET it falls back to; ``client`` lists and watches the
    host; ``translator`` names the vcluster (the marker) and the host namespace.
    Per kind it answers from the managed cache and its unmarked twin
    (:meth:`watch_unmarked`), or from the one informer of the whole namespace
    :meth:`informers_for` makes for the pods pipeline when the kind is off; any
    other kind is read live.
    """

    def __init__(self, *, live: HostReader, client: ListerWatcher, translator: Translator) -> None:
        self._live = live
        self._client = client
        self._vcluster = translator.vcluster
        self._namespace = translator.host_namespace
        #: ``(group, plural)`` → the informers that together hold every object of the kind
        self._caches: dict[tuple[str, str], tuple[Informer, ...]] = {}

    def watch_unmarked(self, managed: Informer) -> Informer | None:
        """The informer of the unmarked objects of ``managed``'s kind, made on first ask.

        ``None`` unless ``managed`` is a host informer of a :data:`REFERENCED`
        kind; the informer returned must run for lookups of that kind to be
        answered from caches (until it has synced they are read live).
        """
        resource = managed.resource
        if managed.cluster != "host" or resource not in REFERENCED:
            return None
        key = (resource.group, resource.plural)
        if key not in self._caches:
            unmarked = unmanaged_informer(
                client=self._client,
                resource=resource,
                namespace=self._namespace,
                vcluster=self._vcluster,
            )
            self._caches[key] = (managed, unmarked)
        return self._caches[key][-1]

    def informers_for(
        self, *, host: Sequence[tuple[Informer, Probe]], served: Collection[tuple[str, str]]
    ) -> list[tuple[Informer, Probe]]:
        """What a pipeline must also run for its ``host`` informers, with the probe of each:
        the unmarked twin of each one of a :data:`REFERENCED` kind; for the host pods
        informer, with that probe, a :func:`namespace_informer` of each :data:`REFERENCED`
        kind neither in ``served`` (``(group, plural)`` of the enabled kinds) nor cached yet."""
        extra: list[tuple[Informer, Probe]] = []
        for informer, probe in host:
            twin = self.watch_unmarked(informer)
            if twin is not None:
                extra.append((twin, probe))
        for informer, probe in host:
            if informer.cluster != "host" or informer.resource != PODS:
                continue
            for resource in REFERENCED:
                key = (resource.group, resource.plural)
                if key in served or key in self._caches:
                    continue
                whole = namespace_informer(
                    client=self._client, resource=resource, namespace=self._namespace
                )
                self._caches[key] = (whole,)
                extra.append((whole, probe))
        return extra

    async def __call__(self, resource: Resource, *, name: str) -> Json:
        informers = self._caches.get((resource.group, resource.plural), ())
        if not informers or not all(informer.has_synced for informer in informers):
            found: Json = await self._live(resource, name=name)
            return found
        for informer in informers:
            cached = informer.get(self._namespace, name)
            if cached is not None:
                return dict(cached)
        raise NotFound(status=404, reason="NotFound", message=f"{resource.plural} {name!r}")
