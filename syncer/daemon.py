"""The daemon's lifecycle: start → sync both caches → work → drain → stop.

Guarantees:

* Start-up order: metrics/probe server, both API clients, one informer per
  (cluster, kind) — shared when several mappers need the same one — and
  workers only after the informers of **both** clusters have synced (bounded
  by ``cache_sync_timeout``).  With leader election, workers start only while
  leading; every host write is gated on holding a fresh lease.
* ``/readyz`` is true once both sides have synced and, with leader election,
  while leading or standing by healthily.  ``/healthz`` is true while no
  guarded task has died.
* Every long-running task is guarded: if one ends unexpectedly (an informer
  crashes, the lease is lost) it is logged and the daemon stops with exit
  code 1 instead of running on as a zombie.
* With ``drift_interval`` > 0, a guarded drift check (:mod:`syncer.drift`)
  runs alongside the workers, only while they do.
* First stop request (SIGTERM/SIGINT): stop taking work, let in-flight
  reconciles finish within ``shutdown_grace``, then cancel what is left, stop
  informers, release the lease and close the clients.  A second request
  cancels everything at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
from collections.abc import Callable, Coroutine, Mapping
from typing import Any

import structlog

from syncer.api import Indexer, Mapper, MapperConfig, SyncContext, Watcher
from syncer.blocked import BLOCKED_INITIAL
from syncer.controller import Controller
from syncer.drift import DriftChecker
from syncer.errors import ApiError, ConfigError
from syncer.events import EventRecorder
from syncer.hostwriter import HostWriter
from syncer.informer import Informer, wait_all_synced
from syncer.keys import ObjectKey
from syncer.kube import KubeClient
from syncer.leader import LeaderElector
from syncer.metrics import Metrics
from syncer.plugins import build_mappers, discover
from syncer.probes import HttpServer
from syncer.ratelimit import Throttle
from syncer.resources import Resource
from syncer.settings import Settings
from syncer.sync import KindSync
from syncer.translate import MANAGED_BY_LABEL, Translator
from syncer.workqueue import WorkQueue


class Daemon:
    """One syncer process.  ``await run()`` returns the exit code."""

    def __init__(
        self,
        *,
        settings: Settings,
        factories: Mapping[str, Callable[..., Mapper]] | None = None,
        metrics: Metrics | None = None,
        identity: str | None = None,
        blocked_initial: float = BLOCKED_INITIAL,
    ) -> None:
        """``blocked_initial``: seconds before a key whose host name is taken is looked at
        again (doubling per retry, :mod:`syncer.blocked`)."""
        self.settings = settings
        self.metrics = metrics or Metrics()
        self.identity = identity or f"{socket.gethostname()}-{os.getpid()}"
        self._factories = factories
        self._blocked_initial = blocked_initial
        self._log = structlog.get_logger("vsyncer.daemon").bind(
            vcluster=settings.vcluster_name, host_namespace=settings.host_namespace
        )
        self._stop = asyncio.Event()
        self._stops_requested = 0
        self._failure: str | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self.informers: dict[tuple[str, str], Informer] = {}
        self.controllers: dict[str, Controller] = {}
        self.syncs: dict[str, KindSync] = {}
        self.elector: LeaderElector | None = None
        self.drift: DriftChecker | None = None
        self.server: HttpServer | None = None
        self._synced = False
        self._main: asyncio.Task[int] | None = None

    # -- health -------------------------------------------------------------------------

    def healthy(self) -> bool:
        return self._failure is None

    def ready(self) -> tuple[bool, str]:
        if not self._synced:
            missing = [i.name for i in self.informers.values() if not i.has_synced]
            return False, f"informers not synced: {', '.join(missing) or 'starting'}"
        if self.elector is not None and not (self.elector.is_leader or self.elector.healthy()):
            return False, "leader election unhealthy"
        return True, ""

    @property
    def leading(self) -> bool:
        return self.elector is None or self.elector.is_leader

    # -- stop ---------------------------------------------------------------------------

    def request_stop(self) -> None:
        """First call: graceful stop.  Second call: cancel everything now."""
        self._stops_requested += 1
        if self._stops_requested == 1:
            self._log.info("stopping: draining in-flight work")
            self._stop.set()
        elif self._main is not None:
            self._log.warning("second stop request: exiting now")
            self._main.cancel()

    def _install_signals(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, self.request_stop)

    def _remove_signals(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)

    def _guard(self, coro: Coroutine[Any, Any, None], *, name: str) -> asyncio.Task[None]:
        async def guarded() -> None:
            try:
                await coro
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._fail(f"{name} crashed: {exc!r}")
                self._log.exception("task crashed", task=name)
                return
            if not self._stop.is_set():
                self._fail(f"{name} ended unexpectedly")

        task = asyncio.create_task(guarded(), name=name)
        self._tasks.append(task)
        return task

    def _fail(self, reason: str) -> None:
        if self._failure is None:
            self._failure = reason
            self._log.error("stopping after a failure", reason=reason)
        self._stop.set()

    # -- run ----------------------------------------------------------------------------

    async def run(self, *, install_signals: bool = True) -> int:
        self._main = asyncio.current_task()
        if install_signals:
            self._install_signals()
        clients: list[KubeClient] = []
        try:
            await self._start_server()
            virtual, host = await self._connect()
            clients = [virtual, host]
            await self._build(virtual=virtual, host=host)
            for informer in self.informers.values():
                self._guard(informer.run(), name=f"informer {informer.name}")
            await self._wait_synced()
            if not self._stop.is_set():
                await self._lead_then_work()
            await self._stop.wait()
            await self._drain()
        except asyncio.CancelledError:
            self._failure = self._failure or "forced exit"
        except TimeoutError as exc:
            self._fail(str(exc))
        finally:
            await self._shutdown(clients)
            if install_signals:
                self._remove_signals()
        return 0 if self._failure is None else 1

    async def _start_server(self) -> None:
        self.server = HttpServer(
            metrics_bind=self.settings.metrics_bind,
            probes_bind=self.settings.probes_bind,
            metrics=self.metrics.render,
            healthy=self.healthy,
            ready=self.ready,
        )
        await self.server.start()

    async def _connect(self) -> tuple[KubeClient, KubeClient]:
        s = self.settings
        if s.virtual_kubeconfig is None:
            raise ConfigError("VSYNCER_VIRTUAL_KUBECONFIG", "is required")
        rest = self.metrics.rest_metrics()
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

    def _informer(
        self, *, cluster: str, client: KubeClient, resource: Resource, **kw: Any
    ) -> Informer:
        key = (cluster, resource.plural)
        informer = self.informers.get(key)
        if informer is None:
            informer = Informer(
                cluster=cluster,
                client=client,
                resource=resource,
                metrics=self.metrics.reflector_metrics(cluster=cluster, kind=resource.plural),
                **kw,
            )
            self.informers[key] = informer
        return informer

    async def _build(self, *, virtual: KubeClient, host: KubeClient) -> None:
        s = self.settings
        translator = Translator(vcluster=s.vcluster_name, host_namespace=s.host_namespace)
        factories = self._factories if self._factories is not None else discover()
        config = MapperConfig(
            virtual_service_host=s.virtual_service_host,
            virtual_service_port=s.virtual_service_port,
            pod_security_level=s.pod_security_level,
            pod_security_allow=s.pod_security_allow,
            service_external_ip_cidrs=s.service_external_ip_cidrs,
            host_service_cidrs=s.host_service_cidrs,
            endpoints_deny_cidrs=s.endpoints_deny_cidrs,
        )
        mappers = build_mappers(
            kinds=s.kinds, factories=factories, translator=translator, config=config
        )
        if s.leader_elect:
            self.elector = LeaderElector(
                client=host,
                namespace=s.host_namespace,
                name=s.leader_election_id,
                identity=self.identity,
                lease_duration=s.lease_duration,
                renew_deadline=s.renew_deadline,
                retry_period=s.retry_period,
                on_change=self.metrics.set_leader,
            )
        elector = self.elector
        writer = HostWriter(
            client=host,
            translator=translator,
            may_write=elector.may_write if elector is not None else (lambda: True),
            metrics=self.metrics,
        )
        recorder = EventRecorder(client=virtual)
        managed = f"{MANAGED_BY_LABEL}={s.vcluster_name}"
        for kind, mapper in mappers.items():
            v_inf = self._informer(cluster="virtual", client=virtual, resource=mapper.resource)
            host_resource: Resource = getattr(mapper, "host_resource", mapper.resource)
            p_inf = self._informer(
                cluster="host",
                client=host,
                resource=host_resource,
                namespace=s.host_namespace if host_resource.namespaced else None,
                label_selector=getattr(mapper, "host_label_selector", managed),
            )
            if isinstance(mapper, Indexer):
                for name, fn in mapper.indexes().items():
                    v_inf.add_index(name, fn)
            queue: WorkQueue[ObjectKey] = WorkQueue(
                name=kind, metrics=self.metrics.queue_metrics(kind)
            )
            self.metrics.register_queue(queue)
            context = SyncContext(
                translator=translator,
                host=writer,
                virtual=virtual,
                # Only informers created while building (a mapper's own kind and what it
                # watches) run; asking for any other cache is a programming error.
                virtual_cache=lambda r: self.informers[("virtual", r.plural)].store,
                host_cache=lambda r: self.informers[("host", r.plural)].store,
                record_event=recorder.record,
                log=self._log.bind(kind=kind),
                host_read=lambda r, *, name: host.get(
                    r, namespace=s.host_namespace if r.namespaced else None, name=name
                ),
            )
            sync = KindSync(
                mapper=mapper,
                virtual=v_inf,
                host=p_inf,
                context=context,
                enqueue=queue.add,
                metrics=self.metrics,
                virtual_writes=virtual.own_writes,
                host_writes=host.own_writes,
                blocked_initial=self._blocked_initial,
            )
            self.syncs[kind] = sync
            self.controllers[kind] = Controller(
                kind=kind,
                reconciler=sync,
                queue=queue,
                workers=s.workers,
                reconcile_timeout=s.reconcile_timeout,
                metrics=self.metrics,
            )
            if isinstance(mapper, Watcher):
                for resource, keys_of in mapper.watches().items():
                    other = self._informer(cluster="virtual", client=virtual, resource=resource)
                    sync.watch(other, keys_of)

    async def _wait_synced(self) -> None:
        informers = list(self.informers.values())
        waiter = asyncio.ensure_future(
            wait_all_synced(informers, within=self.settings.cache_sync_timeout)
        )
        stopper = asyncio.ensure_future(self._stop.wait())
        try:
            await asyncio.wait({waiter, stopper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopper.cancel()
        if not waiter.done():
            waiter.cancel()
            return
        waiter.result()  # raises TimeoutError naming the informers that did not sync
        self._synced = True
        for informer in informers:
            self.metrics.set_synced(
                cluster=informer.cluster, kind=informer.resource.plural, synced=True
            )
        self._log.info("caches synced", informers=len(informers))

    async def _lead_then_work(self) -> None:
        if self.elector is not None:
            self._guard(self.elector.run(), name="leader election")
            stopper = asyncio.ensure_future(self._stop.wait())
            waiter = asyncio.ensure_future(self.elector.wait_leading())
            try:
                await asyncio.wait({waiter, stopper}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                stopper.cancel()
                waiter.cancel()
            if self._stop.is_set():
                return
        for kind, controller in self.controllers.items():
            self._guard(controller.run(), name=f"controller {kind}")
        self._log.info("workers started", kinds=list(self.controllers))
        if self.settings.drift_interval > 0:
            self.drift = DriftChecker(
                syncs=list(self.syncs.values()),
                metrics=self.metrics,
                interval=self.settings.drift_interval,
            )
            self._guard(self.drift.run(), name="drift check")

    async def _drain(self) -> None:
        queues = [c.queue.shut_down(drain=True) for c in self.controllers.values()]
        try:
            async with asyncio.timeout(self.settings.shutdown_grace):
                await asyncio.gather(*queues)
        except TimeoutError:
            self._log.warning("grace period over; cancelling in-flight work")

    async def _shutdown(self, clients: list[KubeClient]) -> None:
        for controller in self.controllers.values():
            if not controller.queue.shutting_down:
                await controller.queue.shut_down(drain=False)
        tasks = [t for t in self._tasks if not t.done()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for client in clients:
            with contextlib.suppress(Exception):
                await client.close()
        if self.server is not None:
            await self.server.stop()
        self._log.info("stopped", failure=self._failure)
