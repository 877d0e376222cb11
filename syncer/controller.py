"""The controller: keys from a fair work queue, N workers, one retry policy.

Guarantees:

* The queue holds virtual-side keys only; the same key is never reconciled by
  two workers at once and an event during a reconcile is never lost (the
  work-queue contract).  The controller only consumes the queue: whoever
  builds it (:mod:`syncer.pipeline`) feeds it.
* Each reconcile runs with a timeout (a timeout counts as a failure).  Any
  :class:`Exception` the reconciler raises is caught, counted and turned into
  a queue action by :func:`syncer.reconcile.decide`; only cancellation (and
  other non-``Exception`` errors) propagates.
* Each reconcile gets a number from a per-controller counter and runs between
  :func:`syncer.reconcilelog.enter` and ``leave``, so every line a
  :class:`~syncer.reconcilelog.ReconcileLogger` logs during it (the context's
  ``log``, the sync layer's) carries its key and that reconcile id.
* A failed reconcile is logged on the controller's logger (``controller=<kind>``,
  the key, the reconcile id) with its exception's traceback exactly when it
  matters: at the first failure of a key's streak (from its last success, timed
  revisit or drop) at warning, and when it is dropped (terminal) at error.  A
  later retry is one warning line without traceback, with the error and the
  requeue count; a conflict is one debug line (and starts no streak).
  Successful reconciles log nothing here.
* :meth:`Controller.run` first awaits its ``start_gate``, if any (the owner
  anchor must be found before anything is written, :mod:`syncer.owneranchor`),
  then starts ``workers`` coroutines (not a task per key) and returns once the
  queue is shut down and every worker has finished its current key.  Keys
  added meanwhile wait in the queue.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Awaitable, Callable
from typing import Protocol

import structlog

from syncer.keys import ObjectKey
from syncer.reconcile import Action, Outcome, Reconciler, decide
from syncer.reconcilelog import ReconcileLogger, enter, leave
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
        start_gate: Callable[[], Awaitable[object]] | None = None,
    ) -> None:
        self.kind = kind
        self._start_gate = start_gate
        self.queue = queue
        self._reconciler = reconciler
        self._workers = workers
        self._timeout = reconcile_timeout
        self._metrics = metrics or NoopReconcileMetrics()
        base = structlog.get_logger("vsyncer.controller").bind(controller=kind)
        self._log = ReconcileLogger(base)
        self._ids = itertools.count(1)
        # Keys whose failure streak logged its traceback; a key leaves when it is forgotten
        # (success, a timed revisit, or dropped), so its next failure is a first one again.
        self._traced: set[ObjectKey] = set()

    async def run(self) -> None:
        """Work until the queue is shut down (once the start gate, if any, has opened)."""
        if self._start_gate is not None:
            await self._start_gate()
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
        scope = enter(key=key, reconcile_id=reconcile_id)
        try:
            async with asyncio.timeout(self._timeout):
                result = await self._reconciler.reconcile(key)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            decision = decide(error=exc)
            self._log_failure(key, exc, decision.outcome)
        else:
            decision = decide(result=result)
        finally:
            leave(scope)
        self._metrics.reconcile(
            kind=self.kind, result=decision.outcome.value, seconds=time.perf_counter() - started
        )
        if decision.action is Action.RATE_LIMITED:
            self.queue.add_rate_limited(key)
            return
        self.queue.forget(key)
        if self._traced:
            self._traced.discard(key)
        if decision.action is Action.FORGET_AND_ADD_AFTER:
            self.queue.add_after(key, decision.delay)

    def _log_failure(self, key: ObjectKey, exc: Exception, outcome: Outcome) -> None:
        """One line per failure; the traceback at the first failure and at the drop."""
        log = self._log
        if outcome is Outcome.TERMINAL:
            log.error("reconcile failed permanently; dropped", error=str(exc), exc_info=exc)
        elif outcome is Outcome.CONFLICT:
            log.debug("conflict; retrying from fresh cache state", error=str(exc))
        else:
            first = key not in self._traced
            if first:
                self._traced.add(key)
            log.warning(
                "reconcile failed; will retry",
                error=repr(exc),
                outcome=outcome.value,
                requeues=self.queue.num_requeues(key),
                exc_info=exc if first else None,
            )
