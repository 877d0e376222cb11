"""Leader election on a host ``coordination.k8s.io/v1`` Lease, for two or more replicas.

Guarantees (client-go's leaderelection semantics):

* At most one replica believes it leads at any time, given clocks that run at
  the same rate: a replica takes the lease only after it has seen the same
  holder record unchanged for a full ``lease_duration`` on its *own* clock.
* :meth:`LeaderElector.may_write` turns false the moment the last successful
  renewal is older than ``renew_deadline`` — before any other replica can take
  the lease (``renew_deadline < lease_duration``) — so a leader that cannot
  renew stops writing at once, without waiting for its loop to notice.
* On a clean stop the leader releases the lease (empty holder, 1 s duration),
  so a standby takes over within one ``retry_period``.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import random
from collections.abc import Callable
from typing import Any, Protocol

import structlog

from syncer.clock import Clock, RealClock
from syncer.errors import ApiError, NotFound
from syncer.resources import LEASES, Resource

Json = dict[str, Any]


class LeaseClient(Protocol):
    """The three Lease calls the elector makes.

    :class:`~syncer.kube.KubeClient` in production,
    :class:`~syncer.fakelistwatch.FakeListerWatcher` in tests.  ``get`` raises
    :class:`~syncer.errors.NotFound` for a missing lease; ``update`` must refuse
    a stale ``metadata.resourceVersion`` with :class:`~syncer.errors.Conflict`.
    """

    async def get(self, resource: Resource, *, namespace: str | None, name: str) -> Json: ...

    async def create(self, resource: Resource, *, namespace: str | None, body: Any) -> Json: ...

    async def update(
        self, resource: Resource, *, namespace: str | None, name: str, body: Any
    ) -> Json: ...


def _micro_time() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class LeaderElector:
    """Acquires and renews one Lease; exposes whether this replica may write."""

    def __init__(
        self,
        *,
        client: LeaseClient,
        namespace: str,
        name: str,
        identity: str,
        lease_duration: float = 15.0,
        renew_deadline: float = 10.0,
        retry_period: float = 2.0,
        clock: Clock | None = None,
        on_change: Callable[[bool], None] | None = None,
    ) -> None:
        if not retry_period < renew_deadline < lease_duration:
            raise ValueError("leader election needs retry_period < renew_deadline < lease_duration")
        self._client = client
        self._namespace = namespace
        self._name = name
        self.identity = identity
        self._duration = lease_duration
        self._deadline = renew_deadline
        self._retry = retry_period
        self._clock = clock or RealClock()
        self._on_change = on_change or (lambda _leading: None)
        self._observed: tuple[str, str] | None = None
        self._observed_at = 0.0
        self._last_renew: float | None = None
        self._leading = False
        self._became_leader = asyncio.Event()
        self.attempts_failed = 0
        self._log = structlog.get_logger("vsyncer.leader").bind(
            lease=f"{namespace}/{name}", identity=identity
        )

    @property
    def is_leader(self) -> bool:
        return self._leading

    async def wait_leading(self) -> None:
        """Return once this replica has acquired the lease."""
        await self._became_leader.wait()

    def may_write(self) -> bool:
        """True while leading and the last renewal is fresher than ``renew_deadline``."""
        last = self._last_renew
        return self._leading and last is not None and self._clock.now() - last < self._deadline

    def healthy(self) -> bool:
        """A standby is healthy while it keeps reaching the API server; a leader while it renews."""
        return self.attempts_failed < 5 or self.may_write()

    async def run(self) -> None:
        """Acquire, then renew until the lease is lost (returns) or cancelled (releases)."""
        try:
            while not await self._try():
                await self._clock.sleep(self._retry * (1.0 + 0.2 * random.random()))
            self._set_leading(True)
            while True:
                await self._clock.sleep(self._retry)
                if await self._try():
                    continue
                last = self._last_renew or 0.0
                if self._clock.now() - last >= self._deadline:
                    self._log.error("lost the lease: renewal deadline passed")
                    self._set_leading(False)
                    return
        finally:
            if self._leading:
                self._set_leading(False)
                with contextlib.suppress(ApiError, asyncio.CancelledError):
                    await asyncio.shield(self._release())

    def _set_leading(self, leading: bool) -> None:
        if leading != self._leading:
            self._leading = leading
            if leading:
                self._became_leader.set()
            else:
                self._became_leader.clear()
                self._last_renew = None
            self._log.info("leading" if leading else "stopped leading")
            self._on_change(leading)

    async def _try(self) -> bool:
        now = self._clock.now()
        try:
            try:
                lease = await self._client.get(LEASES, namespace=self._namespace, name=self._name)
            except NotFound:
                await self._client.create(
                    LEASES, namespace=self._namespace, body=self._record(None)
                )
                self._renewed(now)
                return True
            spec = lease.get("spec") or {}
            holder = spec.get("holderIdentity") or ""
            seen = (holder, str(spec.get("renewTime", "")))
            if seen != self._observed:
                self._observed, self._observed_at = seen, now
            duration = float(spec.get("leaseDurationSeconds") or self._duration)
            if holder and holder != self.identity and now - self._observed_at < duration:
                self.attempts_failed = 0
                return False
            lease["spec"] = self._record(lease)["spec"]
            await self._client.update(
                LEASES, namespace=self._namespace, name=self._name, body=lease
            )
        except ApiError as exc:
            self.attempts_failed += 1
            self._log.debug("lease attempt failed", error=str(exc))
            return False
        self._renewed(now)
        return True

    def _renewed(self, now: float) -> None:
        self._last_renew = now
        self.attempts_failed = 0

    def _record(self, lease: Json | None) -> Json:
        now = _micro_time()
        spec = (lease or {}).get("spec") or {}
        mine = spec.get("holderIdentity") == self.identity
        transitions = int(spec.get("leaseTransitions") or 0)
        return {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": self._name, "namespace": self._namespace},
            "spec": {
                "holderIdentity": self.identity,
                "leaseDurationSeconds": int(self._duration),
                "acquireTime": spec.get("acquireTime", now) if mine else now,
                "renewTime": now,
                "leaseTransitions": transitions if mine or lease is None else transitions + 1,
            },
        }

    async def _release(self) -> None:
        lease = await self._client.get(LEASES, namespace=self._namespace, name=self._name)
        spec = lease.get("spec") or {}
        if spec.get("holderIdentity") != self.identity:
            return
        spec.update({"holderIdentity": "", "leaseDurationSeconds": 1, "renewTime": _micro_time()})
        await self._client.update(LEASES, namespace=self._namespace, name=self._name, body=lease)
        self._log.info("released the lease")
