"""The daemon's lifecycle: start-up → main → shutdown.

The wiring (what runs for each kind) is :mod:`syncer.pipeline`'s; this module
only starts, runs and stops it.

Guarantees:

* Start-up order: metrics/probe server, both API clients and the pipelines
  (:func:`syncer.pipeline.connect` and :func:`~syncer.pipeline.build`), then
  each kind is brought up on its own (:mod:`syncer.availability`): its
  resources are probed on both clusters, retried with backoff while the
  server does not serve or forbids them, and its informers (shared when
  several kinds need the same one) are started once they are served.  A kind
  whose API is missing does not stop the others and starts syncing once it
  appears, without a restart.
* Leader election (if on) and the workers start once every kind has been
  found ready or unavailable (bounded by ``cache_sync_timeout``); a kind's
  workers run only once its own informers have synced, and, with leader
  election, while leading; every host write is gated on holding a fresh lease.
* ``/readyz`` is true while every required kind is ready (kinds in
  ``optional_kinds`` never block it) and, with leader election, while leading
  or standing by healthily; its reason names each kind that is not ready and
  why.  ``/healthz`` is true while no guarded task has died.
* Every long-running task is guarded: if one ends unexpectedly (an informer
  crashes, the lease is lost) it is logged and the daemon stops with exit
  code 1 instead of running on as a zombie.
* With ``drift_interval`` > 0, a guarded drift check (:mod:`syncer.drift`)
  runs alongside the workers, only while they do.
* With ``VSYNCER_SLEEP_AFTER`` set, every virtual informer's events feed the
  activity tracker (:mod:`syncer.activity`) from the pipelines' build on, and
  the guarded sleep controller (:mod:`syncer.sleep`) starts with the workers.
* With ``VSYNCER_ISOLATION=true``, the guarded isolation controller
  (:mod:`syncer.isolation`) starts when the workers would, and the workers
  wait (at most ``cache_sync_timeout``) until its objects are in place; pod
  creates wait as long as any is not (:mod:`syncer.isolation_gate`, ``/readyz``).
* With ``VSYNCER_KUBELET_CLIENT_CA`` set, the fake nodes' kubelet API
  (:mod:`syncer.kubelet`) serves once the pipelines are built, over the host
  pods informer's cache, and stops (its streams ended) before the clients close.
* First stop request (SIGTERM/SIGINT): stop taking work, let in-flight
  reconciles finish within ``shutdown_grace``, then cancel what is left, stop
  informers, release the lease and close the clients.  A second request
  cancels everything at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import signal
import socket
from collections.abc import Callable, Coroutine, Mapping
from typing import Any

import structlog

from syncer import pipeline
from syncer.activity import ActivityTracker
from syncer.api import Mapper
from syncer.availability import KindBook, bring_up
from syncer.blocked import BLOCKED_INITIAL
from syncer.controller import Controller
from syncer.drift import DriftChecker
from syncer.informer import Informer
from syncer.isolation import IsolationController, isolation_for
from syncer.kube import KubeClient
from syncer.kubelet.server import KubeletServer
from syncer.kubelet.startup import start_kubelet
from syncer.leader import LeaderElector
from syncer.metrics import Metrics
from syncer.pipeline import KindPipeline
from syncer.plugins import discover
from syncer.probes import HttpServer
from syncer.settings import Settings
from syncer.sleep import SleepController, sleep_for
from syncer.sync import KindSync


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
        self.pipelines: dict[str, KindPipeline] = {}
        self.informers: dict[tuple[str, str], Informer] = {}
        self.controllers: dict[str, Controller] = {}
        self.syncs: dict[str, KindSync] = {}
        self.kinds = KindBook(kinds=())
        self._running: set[str] = set()  # informers started, by name
        self._controlling: set[str] = set()  # kinds whose controller runs
        self._working = False  # leading (or no election) and past the start-up wait
        self.elector: LeaderElector | None = None
        self.drift: DriftChecker | None = None
        self.isolation: IsolationController | None = None
        self.activity: ActivityTracker | None = None
        self.sleep: SleepController | None = None
        self.server: HttpServer | None = None
        self.kubelet: KubeletServer | None = None
        self._main: asyncio.Task[int] | None = None

    # -- health -------------------------------------------------------------------------

    def healthy(self) -> bool:
        return self._failure is None

    def ready(self) -> tuple[bool, str]:
        if not self.pipelines:
            return False, "starting"
        ok, reason = self.kinds.verdict()
        if not ok:
            return False, reason
        if self.elector is not None and not (self.elector.is_leader or self.elector.healthy()):
            return False, "leader election unhealthy"
        if self.isolation and self.leading and (pending := self.isolation.pending()):
            return False, f"isolation objects not in place, pod creates wait: {pending}"
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

    def _guard(
        self, coro: Coroutine[Any, Any, None], *, name: str, may_end: bool = False
    ) -> asyncio.Task[None]:
        """Run ``coro`` as a task whose crash (or end, unless ``may_end``) stops the daemon."""

        async def guarded() -> None:
            try:
                await coro
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._fail(f"{name} crashed: {exc!r}")
                self._log.exception("task crashed", task=name)
                return
            if not may_end and not self._stop.is_set():
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
            virtual, host = await pipeline.connect(settings=self.settings, metrics=self.metrics)
            clients = [virtual, host]
            await self._build(virtual=virtual, host=host)
            await self._start_kubelet(host)
            self._bring_up_all()
            await self._wait_settled()
            if not self._stop.is_set():
                await self._lead_then_work()
            await self._stop.wait()
            await self._drain()
        except asyncio.CancelledError:
            self._failure = self._failure or "forced exit"
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

    async def _start_kubelet(self, host: KubeClient) -> None:
        pods = self.informers.get((host.cluster, "pods"))
        v_pods = self.informers.get(("virtual", "pods"))
        self.kubelet = await start_kubelet(
            settings=self.settings,
            host=host,
            host_pods=pods.store if pods is not None else None,
            virtual_pods=v_pods.store if v_pods is not None else None,
            registry=self.metrics.registry,
        )
        if self.kubelet is None:
            self._log.info("kubelet API off: VSYNCER_KUBELET_CLIENT_CA is not set")
        else:
            self._log.info("kubelet API serving", port=self.kubelet.port)

    async def _build(self, *, virtual: KubeClient, host: KubeClient) -> None:
        s = self.settings
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
        may_write = elector.may_write if elector is not None else (lambda: True)
        self.isolation = isolation_for(
            settings=s, host=host, may_write=may_write, metrics=self.metrics
        )
        wiring = pipeline.build(
            settings=s,
            factories=self._factories if self._factories is not None else discover(),
            virtual=virtual,
            host=host,
            may_write=may_write,
            metrics=self.metrics,
            blocked_initial=self._blocked_initial,
            pod_fence=self.isolation.pending if self.isolation is not None else None,
        )
        self.pipelines = dict(wiring.kinds)
        self.informers = dict(wiring.informers)
        self.syncs = {kind: p.sync for kind, p in wiring.kinds.items()}
        self.controllers = {kind: p.controller for kind, p in wiring.kinds.items()}
        self.kinds = KindBook(
            kinds=wiring.kinds,
            optional=s.optional_kinds,
            set_ready=self.metrics.set_kind_ready,
        )
        self.sleep = sleep_for(
            settings=s, virtual=virtual, informers=self.informers.values(), metrics=self.metrics
        )
        self.activity = self.sleep.tracker if self.sleep is not None else None

    # -- per-kind bring-up ----------------------------------------------------------------

    def _bring_up_all(self) -> None:
        """Start bringing every kind up on its own (:mod:`syncer.availability`)."""
        for kind, line in self.pipelines.items():
            self._guard(
                bring_up(
                    kind=kind,
                    probes=line.probes,
                    start=functools.partial(self._start_informers, line),
                    book=self.kinds,
                    on_ready=self._kind_ready,
                ),
                name=f"bring-up {kind}",
                may_end=True,
            )

    async def _start_informers(self, line: KindPipeline) -> None:
        for informer in line.informers:
            if informer.name not in self._running:
                self._running.add(informer.name)
                self._guard(informer.run(), name=f"informer {informer.name}")
        await asyncio.gather(*(i.wait_synced() for i in line.informers))
        for informer in line.informers:
            self.metrics.set_synced(
                cluster=informer.cluster, kind=informer.resource.plural, synced=True
            )

    def _kind_ready(self, kind: str) -> None:
        if self._working:
            self._start_controller(kind)

    def _start_controller(self, kind: str) -> None:
        if kind not in self._controlling:
            self._controlling.add(kind)
            self._guard(self.controllers[kind].run(), name=f"controller {kind}")

    async def _wait_settled(self) -> None:
        """Until every kind is ready or was found unavailable, at most ``cache_sync_timeout``."""

        waiter = asyncio.ensure_future(self.kinds.wait_settled())
        stopper = asyncio.ensure_future(self._stop.wait())
        try:
            await asyncio.wait(
                {waiter, stopper},
                timeout=self.settings.cache_sync_timeout,
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            stopper.cancel()
            waiter.cancel()
        ready = [k for k in self.pipelines if self.kinds.is_ready(k)]
        waiting = [k for k in self.pipelines if not self.kinds.is_ready(k)]
        self._log.info("start-up settled", ready=ready, not_ready=waiting)

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
        if self.isolation is not None:
            self._guard(self.isolation.run(), name="isolation")
            await self.isolation.wait_settled(
                stop=self._stop, at_most=self.settings.cache_sync_timeout
            )
            if self._stop.is_set():
                return
        self._working = True
        if self.sleep is not None:
            self._guard(self.sleep.run(), name="sleep")
        for kind in self.controllers:
            if self.kinds.is_ready(kind):
                self._start_controller(kind)
        self._log.info("workers started", kinds=sorted(self._controlling))
        if self.settings.drift_interval > 0:
            self.drift = DriftChecker(
                syncs=list(self.syncs.values()),
                metrics=self.metrics,
                interval=self.settings.drift_interval,
                active=lambda sync: self.kinds.is_ready(sync.label),
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
        if self.kubelet is not None:
            await self.kubelet.stop()
        for client in clients:
            with contextlib.suppress(Exception):
                await client.close()
        if self.server is not None:
            await self.server.stop()
        self._log.info("stopped", failure=self._failure)
