"""The controller: keys from a fair work queue, N workers, one retry policy.

Guarantees:

* The queue holds virtual-side keys only; the same key is never reconciled by
  two workers at once and an event during a reconcile is never lost (the
  work-queue contract).  The controller only consumes the queue: whoever
  builds it (:mod:`syncer.pipeline`) feeds it.
* Each reconcile runs with a timeout (a timeout counts as a failure).  Any
  :class:`Exception` the reconciler raises is caught, counted and turned into
  a queue action by :func:`syncer.reconcile.decide`; only cancellation (and
  other non-``Exception`` errors) propagates.  Each reconcile gets a number
  from a per-controller counter; a failed one is logged — terminal at error,
  conflict at debug, anything retried at warning, without a traceback — on the
  controller's logger bound to ``controller=<kind>``, the key and that reconcile id.
  Successful reconciles log nothing here, and the reconciler is handed no
  logger by the controller.
* :meth:`Controller.run` starts ``workers`` coroutines (not a task per key)
  and returns once the queue is shut down and every worker has finished its
  current key.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from typing import Protocol

import structlog

from syncer.keys import ObjectKey
from syncer.reconcile import Action, Reconciler, decide
from syncer.workqueue import ShutDown, WorkQueue


class ReconcileMetrics(Protocol):
    def reconcile(self, *, kind: str, result: str, seconds: float) -> None: ...


class NoopReconcileMetrics:
    def reconcile(self, *, kind: str, result: str, seconds: float) -> None:
        return None


class Controller:
    """Runs a :class:`~syncer.reconcile.Reconciler` for one kind over a work queue."""

    def __init__(
        self,
        *,
        kind: str,
        reconciler: Reconciler,
        queue: WorkQueue[ObjectKey],
        workers: int = 10,
        reconcile_timeout: float = 30.0,
        metrics: ReconcileMetrics | None = None,
    ) -> None:
        self.kind = kind
        self.queue = queue
        self._reconciler = reconciler
        self._workers = workers
        self._timeout = reconcile_timeout
        self._metrics = metrics or NoopReconcileMetrics()
        self._log = structlog.get_logger("vsyncer.controller").bind(controller=kind)
        self._ids = itertools.count(1)

    async def run(self) -> None:
        """Work until the queue is shut down."""
        async with asyncio.TaskGroup() as group:
            for n in range(self._workers):
                group.create_task(self._worker(), name=f"{self.kind}-worker-{n}")

    async def _worker(self) -> None:
        queue = self.queue
        while True:
            try:
                key = await queue.get()
            except ShutDown:
                return
            try:
                await self.process(key)
            finally:
                queue.done(key)

    async def process(self, key: ObjectKey) -> None:
        """Reconcile ``key`` once and apply the retry policy; the caller marks it done."""
        reconcile_id = next(self._ids)
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self._timeout):
                result = await self._reconciler.reconcile(key)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            decision = decide(error=exc)
            # Bound only when there is something to say: binding costs on every reconcile.
            log = self._log.bind(key=str(key), reconcile_id=reconcile_id)
            if decision.outcome.value == "terminal":
                log.error("reconcile failed permanently; dropped", error=str(exc))
            elif decision.outcome.value == "conflict":
                log.debug("conflict; retrying from fresh cache state", error=str(exc))
            else:
                log.warning(
                    "reconcile failed; will retry",
                    error=repr(exc),
                    outcome=decision.outcome.value,
                    requeues=self.queue.num_requeues(key),
                )
        else:
            decision = decide(result=result)
        self._metrics.reconcile(
            kind=self.kind, result=decision.outcome.value, seconds=time.perf_counter() - started
        )
        if decision.action is Action.FORGET:
            self.queue.forget(key)
        elif decision.action is Action.FORGET_AND_ADD_AFTER:
            self.queue.forget(key)
            self.queue.add_after(key, decision.delay)
        else:
            self.queue.add_rate_limited(key)
