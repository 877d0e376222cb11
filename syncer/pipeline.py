"""The wiring: one declared pipeline per kind, built from what its mapper declares.

:func:`connect` makes the two API clients; :func:`build` instantiates the
mappers of ``VSYNCER_KINDS`` (:mod:`syncer.plugins`), reads their declared
capabilities (:mod:`syncer.capabilities`) and assembles for every kind

    virtual informer → host informer → event-to-key → work queue → controller

as a :class:`KindPipeline`.  Informers are shared: one per (cluster, resource),
whichever kinds need it.  Nothing here runs anything: the daemon
(:mod:`syncer.daemon`) starts, runs and stops what :func:`build` returns,
bringing each kind up on its own (:mod:`syncer.availability`, probing the
resources in :attr:`KindPipeline.probes`).

A pod, from its watch event to the host write, file by file:

1. ``syncer/reflector.py`` — the virtual ``pods`` informer's reflector reads
   an ``ADDED`` event from ``KubeClient.watch`` (``syncer/kube.py``), stores
   the pod in the informer's store (``syncer/store.py``) and calls
   ``on_add`` on the informer's fan-out (``syncer/informer.py``), which calls
   every handler registered on that informer.
2. ``syncer/sync.py`` — the pods :class:`~syncer.sync.KindSync` registered
   one there: it drops the event if the pods mapper skips its own echoes and
   this version is one the syncer wrote (``syncer/echoes.py``), else turns the
   pod into its *virtual* key (``pods:<namespace>/<name>``) and calls
   ``enqueue``.  This is the one place events become keys: host events are
   mapped through the mapper's ``host_to_virtual``, and other kinds' events
   through a :class:`~syncer.api.Watcher`'s functions, in the same class.
3. ``syncer/workqueue.py`` — ``enqueue`` is the kind's queue's ``add``: the
   key is deduplicated, waits its namespace's turn (namespaces are served
   round-robin) and, when a worker of the kind's
   :class:`~syncer.controller.Controller` (``syncer/controller.py``) asks
   ``get()``, handed to that one worker, which calls
   ``KindSync.reconcile(key)`` under ``reconcile_timeout`` and applies
   :func:`syncer.reconcile.decide` to the outcome (forget, requeue, back off).
4. ``syncer/sync.py`` — ``reconcile`` reads the pod from the virtual cache and
   its host name's object from the host cache; only the virtual one exists, so
   it calls the mapper's ``sync_to_host`` (``mappers/pods.py``) with the
   kind's :class:`~syncer.api.SyncContext`, whose ``log`` adds this
   reconcile's key and id to every line (``syncer/reconcilelog.py``).
5. ``mappers/pods.py`` checks and translates the pod (refusing it, or waiting
   for the objects it references, where it must) and creates it through
   ``create_on_host`` (``syncer/kit/copysync.py``), i.e. ``ctx.host.create``:
   the :class:`~syncer.hostwriter.HostWriter` (``syncer/hostwriter.py``)
   checks that this replica may write (leads, with leader election), that the
   body stays in the host namespace and carries this vcluster's marker and
   provenance, and hands it to the host :class:`~syncer.echoes.RecordingApi`
   (``syncer/echoes.py``), whose ``KubeClient.create`` (``syncer/kube.py``)
   sends the ``POST`` to the host API server; the returned resourceVersion is
   recorded as the syncer's own write.  The created pod's watch event arrives
   through step 1 on the host ``pods`` informer; step 2 drops it as the echo
   of this very write (pods skip their own echoes), where another kind's
   would be mapped back to the same key.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import structlog

from syncer.api import (
    Cache,
    CacheUser,
    Indexer,
    Mapper,
    SyncContext,
    Watcher,
)
from syncer.availability import Probe
from syncer.caches import CacheHandles
from syncer.capabilities import (
    Capabilities,
    CapabilityError,
    NotServed,
    UndeclaredRead,
    capabilities_of,
)
from syncer.controller import Controller
from syncer.dryrun import write_paths
from syncer.echoes import OwnWrites, RecordingApi
from syncer.errors import ApiError, ConfigError
from syncer.events import EventRecorder
from syncer.hostlabels import HostLabelDenylist
from syncer.hostlookup import HostLookup
from syncer.hostwriter import HostWriter
from syncer.inflight import AdaptiveLimit
from syncer.informer import Informer
from syncer.isolation_gate import PodFence
from syncer.keys import ObjectKey
from syncer.kube import KubeClient
from syncer.mappersettings import mapper_config
from syncer.metrics import Metrics
from syncer.owneranchor import anchor_for
from syncer.plugins import PluginError, build_mappers, with_custom_resources
from syncer.ratelimit import Throttle
from syncer.reconcilelog import ReconcileLogger
from syncer.resources import Resource
from syncer.settings import Settings
from syncer.sync import KindSync
from syncer.translate import MANAGED_BY_LABEL, Translator
from syncer.workqueue import WorkQueue


@dataclass(frozen=True, slots=True)
class KindPipeline:
    """One kind's pipeline: its informers (virtual, host, watched), sync and controller."""

    kind: str
    informers: tuple[Informer, ...]
    probes: tuple[Probe, ...]
    sync: KindSync
    controller: Controller


@dataclass(frozen=True, slots=True)
class Wiring:
    """Every kind's pipeline, by the name ``VSYNCER_KINDS`` gives it, and the shared
    informers, keyed ``(cluster, resource.qualified)``."""

    kinds: Mapping[str, KindPipeline]
    informers: Mapping[tuple[str, str], Informer]


class _Informers:
    """Creates each (cluster, resource) informer once and remembers how to probe it."""

    def __init__(self, *, metrics: Metrics) -> None:
        self.made: dict[tuple[str, str], Informer] = {}
        self.probes: dict[tuple[str, str], Probe] = {}
        self._metrics = metrics

    def get(
        self,
        *,
        client: KubeClient,
        resource: Resource,
        namespace: str | None = None,
        label_selector: str | None = None,
    ) -> tuple[Informer, Probe]:
        key = (client.cluster, resource.qualified)
        informer = self.made.get(key)
        if informer is None:
            informer = Informer(
                cluster=client.cluster,
                client=client,
                resource=resource,
                namespace=namespace,
                label_selector=label_selector,
                metrics=self._metrics.reflector_metrics(cluster=client.cluster, kind=key[1]),
            )
            self.made[key] = informer

            async def ask() -> object:
                return await client.list(
                    resource, namespace=namespace, label_selector=label_selector, limit=1
                )

            self.probes[key] = Probe(where=f"{client.cluster} {resource.qualified}", ask=ask)
        return informer, self.probes[key]

    def cache(
        self, *, cluster: str, kind: str, allowed: frozenset[tuple[str, str]] | None
    ) -> Callable[[Resource], Cache]:
        """``kind``'s cache accessor: only ``allowed`` kinds (when declared), only caches
        that run (:class:`NotServed`, a ``KeyError``, otherwise)."""

        def cache(r: Resource) -> Cache:
            if allowed is not None and (r.group, r.plural) not in allowed:
                raise UndeclaredRead(
                    f"mapper {kind!r} read the {cluster} cache of {r.qualified!r}, "
                    "which it does not declare in reads or may_read"
                )
            informer = self.made.get((cluster, r.qualified))
            if informer is None:
                raise NotServed(f"no {cluster} cache of {r.qualified!r} runs here")
            return informer.store

        return cache


async def connect(*, settings: Settings, metrics: Metrics) -> tuple[KubeClient, KubeClient]:
    """The virtual and the host client; a client that cannot be configured is a ConfigError."""
    s = settings
    if s.virtual_kubeconfig is None:
        raise ConfigError("VSYNCER_VIRTUAL_KUBECONFIG", "is required")
    rest = metrics.rest_metrics()
    try:
        virtual = await KubeClient.connect(
            cluster="virtual",
            kubeconfig=str(s.virtual_kubeconfig),
            metrics=rest,
            write_throttle=Throttle(s.virtual_qps, s.virtual_burst),
        )
    except ApiError as exc:
        raise ConfigError("VSYNCER_VIRTUAL_KUBECONFIG", exc.message) from exc
    try:
        host = await KubeClient.connect(
            cluster="host",
            kubeconfig=str(s.host_kubeconfig) if s.host_kubeconfig else None,
            metrics=rest,
            write_throttle=Throttle(s.host_qps, s.host_burst),
        )
    except ApiError as exc:
        await virtual.close()
        raise ConfigError("VSYNCER_HOST_KUBECONFIG", exc.message) from exc
    return virtual, host


def _gp(resource: Resource) -> tuple[str, str]:
    return (resource.group, resource.plural)


def check_reads(
    mappers: Mapping[str, Mapper], caps: Mapping[str, Capabilities]
) -> frozenset[tuple[str, str]]:
    """The enabled kinds as ``(group, plural)``; raises :class:`CapabilityError` (one line,
    naming mapper and kind) when a mapper's declared ``reads`` names a kind that is not."""
    enabled = frozenset(_gp(m.resource) for m in mappers.values())
    for kind, mapper in mappers.items():
        for resource in sorted(caps[kind].reads or (), key=_gp):
            if _gp(resource) not in enabled and resource != mapper.resource:
                raise CapabilityError(
                    f"mapper {kind!r} reads {resource.qualified!r}, which is not enabled: "
                    f"enable it or declare it in may_read"
                )
    return enabled


def allowed_reads(mapper: Mapper, caps: Capabilities) -> frozenset[tuple[str, str]] | None:
    """The caches ``mapper`` may ask for: ``None`` (any) unless it declares its reads."""
    if caps.reads is None and not caps.may_read:
        return None
    own = {mapper.resource, caps.host_resource or mapper.resource}
    watched = set(mapper.watches()) if isinstance(mapper, Watcher) else set()
    declared = (caps.reads or set()) | caps.may_read | caps.host_reads
    return frozenset(_gp(r) for r in own | watched | declared)


def build(
    *,
    settings: Settings,
    factories: Mapping[str, Callable[..., Mapper]],
    virtual: KubeClient,
    host: KubeClient,
    may_write: Callable[[], bool],
    metrics: Metrics,
    blocked_initial: float,
    pod_fence: Callable[[], str | None] | None = None,
) -> Wiring:
    """The pipelines of ``settings.kinds``; raises ``PluginError`` for a bad mapper.

    Every host write goes through one :class:`HostWriter`, gated on ``may_write()``
    (holding the lease, with leader election); with ``pod_fence`` (isolation mode's
    pending objects) pod creates wait while it names any (:mod:`syncer.isolation_gate`).
    """
    s = settings
    translator = Translator(
        vcluster=s.vcluster_name,
        host_namespace=s.host_namespace,
        label_denylist=HostLabelDenylist.of(s.host_label_denylist),
    )
    # The sync layer writes through these, so each cluster's own writes are known (echoes);
    # a dry run sends none of them (syncer/dryrun.py).
    v_out, p_out = write_paths(virtual=virtual, host=host, metrics=metrics, dry_run=s.dry_run)
    v_api = RecordingApi(client=v_out, writes=OwnWrites())
    p_api = RecordingApi(client=p_out, writes=OwnWrites())
    anchor = anchor_for(s, client=host)
    writer = HostWriter(
        client=p_api,
        translator=translator,
        may_write=may_write,
        metrics=metrics,
        anchor=anchor,
        limit=AdaptiveLimit(),
    )
    host_writes = writer if pod_fence is None else PodFence(writer=writer, pending=pod_fence)
    names, factories = with_custom_resources(
        kinds=s.kinds, factories=factories, custom_resources=s.custom_resource_list()
    )
    mappers = build_mappers(
        kinds=names, factories=factories, translator=translator, config=mapper_config(s)
    )
    informers = _Informers(metrics=metrics)
    recorder = EventRecorder(client=v_out)
    log = structlog.get_logger("vsyncer.daemon").bind(
        vcluster=s.vcluster_name, host_namespace=s.host_namespace
    )

    async def host_read(resource: Resource, *, name: str) -> dict[str, Any]:
        namespace = s.host_namespace if resource.namespaced else None
        return await host.get(resource, namespace=namespace, name=name)

    try:
        caps = {kind: capabilities_of(mapper) for kind, mapper in mappers.items()}
        enabled = check_reads(mappers, caps)
    except CapabilityError as exc:
        raise PluginError(str(exc)) from exc
    lookup = HostLookup(live=host_read, client=host, translator=translator)
    kinds: dict[str, KindPipeline] = {}
    for kind, mapper in mappers.items():
        v_inf, v_probe = informers.get(client=virtual, resource=mapper.resource)
        host_resource = caps[kind].host_resource or mapper.resource
        p_inf, p_probe = informers.get(
            client=host,
            resource=host_resource,
            namespace=s.host_namespace if host_resource.namespaced else None,
            label_selector=caps[kind].host_selector(
                managed=f"{MANAGED_BY_LABEL}={s.vcluster_name}"
            ),
        )
        allowed = allowed_reads(mapper, caps[kind])
        if isinstance(mapper, Indexer):
            for name, fn in mapper.indexes().items():
                v_inf.add_index(name, fn)
        queue: WorkQueue[ObjectKey] = WorkQueue(name=kind, metrics=metrics.queue_metrics(kind))
        metrics.register_queue(queue)
        context = SyncContext(
            translator=translator,
            host=host_writes,
            virtual=v_api,
            virtual_cache=informers.cache(cluster="virtual", kind=kind, allowed=allowed),
            host_cache=informers.cache(cluster="host", kind=kind, allowed=allowed),
            record_event=recorder.record,
            log=ReconcileLogger(log.bind(kind=kind)),
            host_read=host_read,
            host_lookup=lookup,
            enabled=enabled,
        )
        sync = KindSync(
            mapper=mapper,
            virtual=v_inf,
            host=p_inf,
            context=context,
            enqueue=queue.add,
            metrics=metrics,
            virtual_writes=v_api.writes,
            host_writes=p_api.writes,
            blocked_initial=blocked_initial,
            label=kind,
        )
        pipeline_informers, probes = [v_inf, p_inf], [v_probe, p_probe]
        for resource in sorted(caps[kind].host_reads, key=_gp):
            # The host objects it reads whatever kinds run; shared with that kind's mapper.
            other, probe = informers.get(
                client=host,
                resource=resource,
                namespace=s.host_namespace if resource.namespaced else None,
                label_selector=f"{MANAGED_BY_LABEL}={s.vcluster_name}",
            )
            if other not in pipeline_informers:
                pipeline_informers.append(other)
                probes.append(probe)
        host_side = list(zip(pipeline_informers[1:], probes[1:], strict=True))
        more = lookup.informers_for(host=host_side, served=enabled)
        pipeline_informers += [i for i, _ in more]  # the host objects pods may name
        probes += [p for _, p in more]
        if isinstance(mapper, Watcher):
            for resource, keys_of in mapper.watches().items():
                other, probe = informers.get(client=virtual, resource=resource)
                sync.watch(other, keys_of)
                if other not in pipeline_informers:
                    pipeline_informers.append(other)
                    probes.append(probe)
        controller = Controller(
            kind=kind,
            reconciler=sync,
            queue=queue,
            workers=s.workers,
            reconcile_timeout=s.reconcile_timeout,
            metrics=metrics,
            start_gate=anchor.wait if anchor is not None else None,
        )
        kinds[kind] = KindPipeline(
            kind=kind,
            informers=tuple(pipeline_informers),
            probes=tuple(probes),
            sync=sync,
            controller=controller,
        )
    for kind, mapper in mappers.items():
        if not isinstance(mapper, CacheUser):
            continue
        allowed = allowed_reads(mapper, caps[kind])
        handles = CacheHandles(
            virtual_cache=informers.cache(cluster="virtual", kind=kind, allowed=allowed),
            host_cache=informers.cache(cluster="host", kind=kind, allowed=allowed),
            enabled=enabled,
        )
        try:
            mapper.use_caches(caches=handles)
        except (UndeclaredRead, NotServed) as exc:
            raise PluginError(f"start-up: {exc}") from exc
    return Wiring(kinds=kinds, informers=dict(informers.made))
