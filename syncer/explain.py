"""``vsyncer explain``: one object's mapping, owner and drift, from the live clusters.

``vsyncer explain KIND/NAMESPACE/NAME`` (``KIND/NAME`` for a cluster-scoped
kind) starts from the virtual object; ``vsyncer explain KIND --host NAME``
from the host object of that name in the host namespace.  ``KIND`` is the name
``VSYNCER_KINDS`` gives the kind (``pods``, ``widgets.example.com``); the
settings are ``vsyncer run``'s (``VSYNCER_*`` and ``--config``).

It builds the daemon's own pipelines (:func:`syncer.pipeline.build`) with every
write left out (:mod:`syncer.dryrun`: explain never writes), lists and watches
every informer until the caches have synced — the mappers' decisions read them,
exactly as in a reconcile — then reads the host object *live* (the host caches
hold only managed objects) and prints:

* the mapping both ways: the virtual key → its host name
  (``Mapper.virtual_to_host``), and the host object → the virtual key its
  provenance names (``Mapper.host_to_virtual``);
* the ownership verdict (:func:`syncer.explaindiff.ownership`: ours, foreign,
  another vcluster, spoofed, missing);
* the mapper's own drift answer (:class:`~syncer.api.DriftDetector`: what the
  periodic check would repair), and the field-level difference between the
  host object the mapper wants (its ``desired_host``, the translation of the
  virtual object) and the live one (:func:`syncer.explaindiff.field_diff`).

Exit codes (:attr:`Report.code`): 0 in sync (also: a virtual object vsyncer
does not sync, and no host object), 1 drifted (the drift answer or a field
differs, the host copy is missing, or it is ours but its virtual object is
gone), 2 not ours (foreign, another vcluster's, spoofed) — and 2 when neither
side has the object (``verdict: not found``), or for a bad target or setting,
with one line naming it, as everywhere in the CLI.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from syncer import pipeline
from syncer.api import DriftDetector, Mapper, Obj, SyncContext
from syncer.blocked import BLOCKED_INITIAL
from syncer.capabilities import capabilities_of
from syncer.errors import ConfigError, NotFound
from syncer.explaindiff import Difference, Ownership, Verdict, field_diff, ownership
from syncer.keys import ObjectKey
from syncer.metrics import Metrics
from syncer.plugins import discover
from syncer.settings import Settings

__all__ = ["EXIT_DRIFTED", "EXIT_IN_SYNC", "EXIT_NOT_OURS", "Report", "Target", "explain"]

EXIT_IN_SYNC, EXIT_DRIFTED, EXIT_NOT_OURS = 0, 1, 2
#: The longest explain waits for the caches, whatever ``cache_sync_timeout`` says.
SYNC_WAIT = 60.0


@runtime_checkable
class DesiredHost(Protocol):
    """A mapper that can say which host object it wants (the kit's ``CopySyncer``)."""

    def desired_host(
        self, ctx: SyncContext, v_obj: Obj, p_obj: Obj | None
    ) -> dict[str, Any] | None: ...


@dataclass(frozen=True, slots=True)
class Target:
    """What to explain: a kind and either a virtual ``namespace``/``name`` or a host name."""

    kind: str
    namespace: str = ""
    name: str = ""
    host_name: str = ""

    @classmethod
    def parse(cls, text: str, *, host_name: str | None = None) -> Target:
        """``KIND/NAMESPACE/NAME``, ``KIND/NAME``, or ``KIND`` with ``host_name``; ConfigError
        (naming the argument) otherwise."""
        parts = text.split("/")
        if host_name is not None:
            if len(parts) != 1 or not parts[0] or not host_name:
                raise ConfigError("--host", "takes a host name, with KIND alone as the target")
            return cls(kind=parts[0], host_name=host_name)
        if len(parts) == 3 and all(parts):
            return cls(kind=parts[0], namespace=parts[1], name=parts[2])
        if len(parts) == 2 and all(parts):
            return cls(kind=parts[0], name=parts[1])
        raise ConfigError("TARGET", f"{text!r} is not KIND/NAMESPACE/NAME or KIND/NAME")


@dataclass(frozen=True, slots=True)
class Report:
    """Everything explain found; :meth:`lines` is its text, :attr:`code` its exit code."""

    key: ObjectKey | None
    host_name: str | None
    host_key: ObjectKey | None
    virtual_exists: bool
    verdict: Verdict
    drift: str | None
    differences: tuple[Difference, ...]
    diff_known: bool

    @property
    def code(self) -> int:
        owner = self.verdict.ownership
        if owner in (Ownership.FOREIGN, Ownership.OTHER_VCLUSTER, Ownership.SPOOFED):
            return EXIT_NOT_OURS
        if owner is Ownership.MISSING:
            if not self.virtual_exists:
                return EXIT_NOT_OURS  # neither side has it: nothing to explain
            return EXIT_DRIFTED if self.drift else EXIT_IN_SYNC
        if not self.virtual_exists or self.drift or self.differences:
            return EXIT_DRIFTED
        return EXIT_IN_SYNC

    @property
    def verdict_text(self) -> str:
        """``in sync``, ``drifted``, ``not ours`` or ``not found`` (neither side has it)."""
        if self.verdict.ownership is Ownership.MISSING and not self.virtual_exists:
            return "not found"
        return {EXIT_IN_SYNC: "in sync", EXIT_DRIFTED: "drifted", EXIT_NOT_OURS: "not ours"}[
            self.code
        ]

    def as_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data (``vsyncer explain -o json``); keys are camelCase."""
        return {
            "virtual": str(self.key) if self.key else None,
            "virtualExists": self.virtual_exists,
            "hostName": self.host_name,
            "hostKey": str(self.host_key) if self.host_key else None,
            "owner": self.verdict.ownership.value,
            "ownerReason": self.verdict.reason,
            "drift": self.drift,
            "diffKnown": self.diff_known,
            "differences": [
                {"path": d.path, "want": d.want, "have": d.have, "onlyOnHost": d.only_on_host}
                for d in self.differences
            ],
            "verdict": self.verdict_text,
            "code": self.code,
        }

    def lines(self) -> list[str]:
        shown = "(not found)" if self.key is not None and not self.virtual_exists else ""
        gone = self.host_name and self.verdict.ownership is Ownership.MISSING
        missing = " (not found)" if gone else ""
        out = [
            f"virtual: {self.key or '(none)'} {shown}".rstrip(),
            f"  -> host name: {self.host_name or '(not synced)'}",
            f"host:    {self.host_name or '(none)'}{missing}",
            f"  -> virtual key: {self.host_key or '(none)'}",
            f"owner:   {self.verdict.ownership.value} ({self.verdict.reason})",
            f"drift:   {self.drift or 'none'}",
        ]
        if not self.diff_known:
            out.append("diff:    (the mapper does not say which host object it wants)")
        elif self.differences:
            out.append("diff:")
            out.extend(f"  {difference}" for difference in self.differences)
        else:
            out.append("diff:    none")
        out.append(f"verdict: {self.verdict_text}")
        return out


async def explain(
    *,
    settings: Settings,
    target: Target,
    factories: Mapping[str, Callable[..., Mapper]] | None = None,
) -> Report:
    """Explain ``target`` against the clusters of ``settings``; ConfigError for a kind that is
    not enabled or caches that do not sync within :data:`SYNC_WAIT`."""
    settings = settings.model_copy(update={"dry_run": True})  # explain never writes
    if target.kind not in settings.kinds:
        raise ConfigError("TARGET", f"kind {target.kind!r} is not in VSYNCER_KINDS")
    metrics = Metrics()
    virtual, host = await pipeline.connect(settings=settings, metrics=metrics)
    tasks: list[asyncio.Task[None]] = []
    try:
        wiring = pipeline.build(
            settings=settings,
            factories=factories if factories is not None else discover(),
            virtual=virtual,
            host=host,
            may_write=lambda: False,
            metrics=metrics,
            blocked_initial=BLOCKED_INITIAL,
        )
        line = wiring.kinds[target.kind]
        tasks = [asyncio.create_task(i.run()) for i in wiring.informers.values()]
        wait = min(settings.cache_sync_timeout, SYNC_WAIT)
        try:
            async with asyncio.timeout(wait):
                await asyncio.gather(*(i.wait_synced() for i in wiring.informers.values()))
        except TimeoutError:
            late = sorted(i.name for i in wiring.informers.values() if not i.has_synced)
            raise ConfigError(
                "VSYNCER_KINDS", f"caches not synced within {wait:g} s: {', '.join(late)}"
            ) from None
        mapper, sync = line.sync.mapper, line.sync
        host_resource = capabilities_of(mapper).host_resource or mapper.resource
        namespace = settings.host_namespace if host_resource.namespaced else None

        async def read_host(name: str) -> Obj | None:
            with contextlib.suppress(NotFound):
                return await host.get(host_resource, namespace=namespace, name=name)
            return None

        if target.host_name:
            p_name: str | None = target.host_name
            p_obj = await read_host(target.host_name)
            key = mapper.host_to_virtual(p_obj) if p_obj is not None else None
        else:
            key = ObjectKey(mapper.resource.plural, target.namespace, target.name)
            p_name = mapper.virtual_to_host(key)
            p_obj = await read_host(p_name) if p_name else None
        v_obj = sync.virtual.get(key.namespace, key.name) if key is not None else None
        return _report(
            mapper=mapper, ctx=sync.context, key=key, p_name=p_name, v_obj=v_obj, p_obj=p_obj
        )
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for client in (virtual, host):
            with contextlib.suppress(Exception):
                await client.close()


def _report(
    *,
    mapper: Mapper,
    ctx: SyncContext,
    key: ObjectKey | None,
    p_name: str | None,
    v_obj: Obj | None,
    p_obj: Obj | None,
) -> Report:
    verdict = ownership(
        p_obj,
        vcluster=ctx.vcluster,
        is_managed=mapper.is_managed,
        host_to_virtual=mapper.host_to_virtual,
        key=key if v_obj is not None else None,
    )
    ours = verdict.ownership in (Ownership.OURS, Ownership.MISSING)
    drift: str | None = None
    differences: tuple[Difference, ...] = ()
    diff_known = isinstance(mapper, DesiredHost)
    if v_obj is not None and ours:
        if isinstance(mapper, DriftDetector):
            drift = mapper.drift(ctx, v_obj, p_obj)
        elif p_obj is None and p_name:
            drift = "missing"
        if isinstance(mapper, DesiredHost) and p_obj is not None:
            desired = mapper.desired_host(ctx, v_obj, p_obj)
            if desired is None:
                drift = drift or "not wanted on the host"
            else:
                differences = tuple(field_diff(desired, p_obj))
    return Report(
        key=key,
        host_name=p_name,
        host_key=mapper.host_to_virtual(p_obj) if p_obj is not None else None,
        virtual_exists=v_obj is not None,
        verdict=verdict,
        drift=drift,
        differences=differences,
        diff_known=diff_known,
    )
