"""Per-kind availability: a kind whose API is missing or forbidden degrades alone.

Each kind the daemon runs is in one of four states, kept by :class:`KindBook`:

======================  ==============================================================
``waiting``             not probed yet
``unavailable(cause)``  the last probe of one of its resources failed: the server does
                        not serve it (404: a CRD not installed), forbids it (403) or
                        answered another API error; ``cause`` says which, and where
``syncing``             every resource answered; its informers are filling
``ready``               every informer of the kind has synced: its controller may run
======================  ==============================================================

Guarantees:

* :func:`bring_up` probes a kind's resources (one ``LIST`` with ``limit=1``
  each, on the cluster and with the selector its informer uses) until all
  answer, waiting :class:`~syncer.backoff.Backoff` delays in between
  (0.8 s doubling to 30 s, jittered); only then are its informers started,
  and once they have synced the kind is ``ready``.  It never gives up and
  never raises for an API error: a CRD installed later is picked up without a
  restart.  A kind that is ``ready`` stays ready (a later outage is the
  reflector's to retry; the cache keeps serving).
* One log line per change of state or cause, naming the kind and the cause:
  retries with the same cause are silent.
* ``vsyncer_kind_ready{kind}`` (through ``set_ready``) is 1 exactly while the
  kind is ``ready``, 0 otherwise, from the moment the book is created.
* :meth:`KindBook.verdict` is ready iff every *required* kind is ``ready``;
  the reason names every kind that is not, required ones first, with its state
  and cause.  Optional kinds never block readiness.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

import structlog

from syncer.backoff import Backoff
from syncer.clock import Clock, RealClock
from syncer.errors import ApiError


class KindState(enum.Enum):
    WAITING = "waiting"
    UNAVAILABLE = "unavailable"
    SYNCING = "syncing"
    READY = "ready"


@dataclass(frozen=True, slots=True)
class KindStatus:
    """Where one kind stands; ``cause`` is set only when it is unavailable."""

    state: KindState = KindState.WAITING
    cause: str = ""

    def describe(self) -> str:
        return f"{self.state.value} ({self.cause})" if self.cause else self.state.value


class ReadyGauge(Protocol):
    """Sets ``vsyncer_kind_ready{kind}`` (:meth:`syncer.metrics.Metrics.set_kind_ready`)."""

    def __call__(self, *, kind: str, ready: bool) -> None: ...


class KindBook:
    """The state of every kind, the readiness verdict and the ``kind_ready`` gauge.

    ``set_ready(kind=…, ready=…)`` is called on every change that flips the gauge.
    """

    def __init__(
        self,
        *,
        kinds: Iterable[str],
        optional: Iterable[str] = (),
        set_ready: ReadyGauge | None = None,
    ) -> None:
        self._status: dict[str, KindStatus] = {kind: KindStatus() for kind in kinds}
        self._optional = frozenset(optional)
        self._set_ready = set_ready
        self._log = structlog.get_logger("vsyncer.availability")
        # Kinds found ready or unavailable at least once; all of them: the start-up is settled.
        self._seen: set[str] = set()
        self._settled = asyncio.Event()
        for kind in self._status:
            self._gauge(kind, False)
        if not self._status:
            self._settled.set()

    def _gauge(self, kind: str, ready: bool) -> None:
        if self._set_ready is not None:
            self._set_ready(kind=kind, ready=ready)

    def status(self, kind: str) -> KindStatus:
        return self._status[kind]

    def is_ready(self, kind: str) -> bool:
        return self._status[kind].state is KindState.READY

    def required(self, kind: str) -> bool:
        return kind not in self._optional

    @property
    def settled(self) -> bool:
        """Whether every kind has been found ready or unavailable at least once."""
        return self._settled.is_set()

    async def wait_settled(self) -> None:
        await self._settled.wait()

    def _move(self, kind: str, status: KindStatus) -> bool:
        old = self._status[kind]
        if old == status or old.state is KindState.READY:
            return False
        self._status[kind] = status
        if status.state in (KindState.READY, KindState.UNAVAILABLE):
            self._seen.add(kind)
            if len(self._seen) == len(self._status):
                self._settled.set()
        if status.state is KindState.READY:
            self._gauge(kind, True)
        return True

    def unavailable(self, kind: str, *, cause: str) -> None:
        if self._move(kind, KindStatus(KindState.UNAVAILABLE, cause)):
            self._log.warning(
                "kind unavailable; retrying",
                kind=kind,
                cause=cause,
                required=self.required(kind),
            )

    def syncing(self, kind: str) -> None:
        if self._move(kind, KindStatus(KindState.SYNCING)):
            self._log.info("kind served; syncing its caches", kind=kind)

    def ready(self, kind: str) -> None:
        if self._move(kind, KindStatus(KindState.READY)):
            self._log.info("kind ready", kind=kind)

    def verdict(self) -> tuple[bool, str]:
        """``(True, "")`` when every required kind is ready, else ``False`` and the reason."""
        waiting = [k for k, s in self._status.items() if s.state is not KindState.READY]
        required = [k for k in waiting if self.required(k)]
        if not required:
            return True, ""
        ordered = required + [k for k in waiting if not self.required(k)]
        parts = [
            f"{k}{'' if self.required(k) else ' (optional)'}: {self._status[k].describe()}"
            for k in ordered
        ]
        return False, "kinds not ready: " + "; ".join(parts)


@dataclass(frozen=True, slots=True)
class Probe:
    """One resource a kind needs, asked once: raises :class:`ApiError` when not served."""

    where: str  # "virtual widgets.example.com", for the cause
    ask: Callable[[], Awaitable[object]]


async def bring_up(
    *,
    kind: str,
    probes: Sequence[Probe],
    start: Callable[[], Awaitable[None]],
    book: KindBook,
    on_ready: Callable[[str], None] | None = None,
    backoff: Backoff | None = None,
    clock: Clock | None = None,
) -> None:
    """Probe until every resource of ``kind`` answers, then ``start()`` it and mark it ready.

    ``start`` starts the kind's informers (those not running yet) and returns
    once they have synced.  ``on_ready(kind)`` is called once the kind is ready,
    then this returns; cancel to abandon.
    """
    clock = clock or RealClock()
    backoff = backoff or Backoff(clock=clock)
    while True:
        cause = await _first_failure(probes)
        if cause is None:
            break
        book.unavailable(kind, cause=cause)
        await clock.sleep(backoff.next())
    book.syncing(kind)
    await start()
    book.ready(kind)
    if on_ready is not None:
        on_ready(kind)


async def _first_failure(probes: Sequence[Probe]) -> str | None:
    for probe in probes:
        try:
            await probe.ask()
        except ApiError as exc:
            what = exc.message or exc.reason or "error"
            return f"{probe.where}: {exc.status} {what}"
    return None
