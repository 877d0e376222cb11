"""The consistency checker: read both clusters, judge them, wait for convergence.

:class:`Checker` lists (all pages) the virtual namespaces in scope, the whole
virtual cluster's pods and nodes, and the host namespace, and judges the
snapshot with :func:`tests.faults.consistency.compare`.  A read error (an API
server being restarted) is not a verdict: that round is simply not clean.

:meth:`Checker.converge` polls until two consecutive rounds are clean (the two
clusters are listed one after the other, so one clean round could be a lucky
interleaving) and returns the seconds from its call to the first of them; past
the deadline it raises :class:`NotConverged` carrying the last report.
"""

from __future__ import annotations

import asyncio
from typing import Any

from syncer.errors import ApiError
from syncer.kube import KubeClient
from syncer.resources import CORE, EVENTS, NODES, PODS, Resource
from syncer.translate import Translator
from tests.faults.consistency import COPIED, Report, Snapshot, compare
from tests.faults.ledger import Ledger


class NotConverged(AssertionError):
    """The clusters did not become consistent in time; ``report`` says how they differ."""

    def __init__(self, report: Report | None, *, timeout: float, error: str = "") -> None:
        self.report = report
        detail = report.summary() if report is not None else f"no complete read: {error}"
        super().__init__(f"not consistent after {timeout:.0f}s:\n{detail}")


async def list_all(kube: KubeClient, resource: Resource, *, namespace: str | None) -> list[Any]:
    """Every item of a list, following ``continue`` tokens."""
    out: list[Any] = []
    token: str | None = None
    while True:
        page = await kube.list(resource, namespace=namespace, continue_token=token)
        out += page.get("items") or []
        token = page.get("metadata", {}).get("continue")
        if not token:
            return out


class Checker:
    """Judges one vcluster's host namespace against its virtual namespaces in scope."""

    def __init__(
        self,
        *,
        host: KubeClient,
        virtual: KubeClient,
        translator: Translator,
        ledger: Ledger,
        namespaces: frozenset[str] | None = None,
    ) -> None:
        self.host = host
        self.virtual = virtual
        self.translator = translator
        self.ledger = ledger
        self._namespaces = namespaces
        self.last: Report | None = None

    @property
    def namespaces(self) -> frozenset[str]:
        """The scope: given explicitly, else every namespace the ledger names."""
        return self._namespaces if self._namespaces is not None else self.ledger.namespaces()

    async def snapshot(self) -> Snapshot:
        scope = self.namespaces
        virtual: dict[str, list[Any]] = {"pods": [], "events": []}
        for kind in (*(k for k in COPIED if k != "pods"), "events"):
            virtual[kind] = []
            for ns in sorted(scope):
                virtual[kind] += await list_all(self.virtual, CORE[kind], namespace=ns)
        virtual["pods"] = await list_all(self.virtual, PODS, namespace=None)
        virtual["nodes"] = await list_all(self.virtual, NODES, namespace=None)
        host: dict[str, list[Any]] = {}
        for kind in COPIED:
            host[kind] = await list_all(
                self.host, CORE[kind], namespace=self.translator.host_namespace
            )
        host["events"] = await list_all(self.host, EVENTS, namespace=self.translator.host_namespace)
        return Snapshot(namespaces=scope, virtual=virtual, host=host)

    async def check(self) -> Report:
        """One complete read of both clusters, judged; also kept as :attr:`last`."""
        snap = await self.snapshot()
        self.last = compare(snapshot=snap, ledger=self.ledger, translator=self.translator)
        return self.last

    # The deadline bounds a polling loop whose last verdict is the error's payload.
    async def converge(self, *, timeout: float, interval: float = 0.5) -> float:  # noqa: ASYNC109
        """Seconds until consistent (two clean rounds in a row); :class:`NotConverged` if not."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        first_clean: float | None = None
        error = ""
        while True:
            try:
                report = await self.check()
            except (ApiError, OSError, TimeoutError) as exc:
                error, report = repr(exc), None
            if report is not None and report.clean:
                if first_clean is not None:
                    return first_clean - started
                first_clean = loop.time()
            else:
                first_clean = None
            if loop.time() - started > timeout:
                raise NotConverged(self.last, timeout=timeout, error=error)
            await asyncio.sleep(interval)
