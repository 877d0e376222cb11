"""Support for the hostile-tenant suite: what of the host is not ours, and proof it was not written.

A :class:`HostSnapshot` records, for every object of :data:`KINDS` in the
given host namespaces that vsyncer does *not* own, its ``resourceVersion``
(Kubernetes bumps it on every write, labels and annotations included).  In
the syncer's host namespace "not owned" is :meth:`Translator.is_owned` false
— no marker label, another vcluster's marker, or provenance that does not
re-translate to the object's name; in any other namespace every object counts.
:meth:`HostSnapshot.changes` lists what was written or deleted since, and
objects that appeared and look like someone's copy without being ours (a
marker label of any vcluster, or provenance annotations); an empty list is the
proof that the host outside vsyncer's own objects stayed untouched.

Host Endpoints of vsyncer's Services are left out, and Endpoints and events
out of "appeared": the host's endpoints controller keeps Endpoints for every
synced Service (with the Service's labels, without provenance), and the
scheduler and kwok record events.  Foreign pods
made here are gated (``schedulingGates``), so no host controller writes them.

:func:`hostile_daemon` runs the real daemon with every built-in kind and a
short first backoff for blocked keys, so a retry is observable within seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from syncer.daemon import Daemon
from syncer.kube import KubeClient
from syncer.resources import (
    CONFIGMAPS,
    ENDPOINTS,
    PODS,
    PVCS,
    SECRETS,
    SERVICEACCOUNTS,
    SERVICES,
    Resource,
)
from syncer.settings import Settings
from syncer.translate import MANAGED_BY_LABEL, OBJECT_NAME_ANNOTATION, Translator
from tests.e2e.test_sync_support import ALL_KINDS, VCLUSTER
from tests.owneranchors import create_owner_anchor_for

Json = dict[str, Any]
KINDS: tuple[Resource, ...] = (
    CONFIGMAPS,
    SECRETS,
    PODS,
    SERVICES,
    ENDPOINTS,
    PVCS,
    SERVICEACCOUNTS,
)
#: Kinds whose new objects in the syncer's namespace are made by host controllers too.
_MADE_BY_HOST_CONTROLLERS = frozenset({ENDPOINTS.plural})
#: First revisit of a key whose host name is taken (seconds; the daemon's default is 30).
BLOCKED_INITIAL = 1.0

#: ``(kind plural, namespace, name)`` of one host object.
ObjRef = tuple[str, str, str]


def _meta(obj: Json) -> Json:
    meta = obj.get("metadata")
    return meta if isinstance(meta, dict) else {}


def looks_like_a_copy(obj: Json) -> bool:
    """Whether ``obj`` carries a marker label of any vcluster or provenance annotations."""
    meta = _meta(obj)
    return MANAGED_BY_LABEL in (meta.get("labels") or {}) or OBJECT_NAME_ANNOTATION in (
        meta.get("annotations") or {}
    )


@dataclass(frozen=True, slots=True)
class HostSnapshot:
    """Resource versions of the host objects vsyncer does not own, per ``(kind, ns, name)``."""

    translator: Translator
    namespaces: tuple[str, ...]
    versions: dict[ObjRef, str]

    @classmethod
    async def take(
        cls, host: KubeClient, *, translator: Translator, namespaces: Iterable[str]
    ) -> HostSnapshot:
        """List :data:`KINDS` in ``namespaces`` (the syncer's own among them)."""
        listed = tuple(namespaces)
        objects = await _objects(host, listed)
        # The host endpoints controller keeps Endpoints for our Services: theirs to change.
        derived = {
            (ENDPOINTS.plural, namespace, name)
            for (plural, namespace, name), obj in objects
            if plural == SERVICES.plural and _is_ours(translator, (plural, namespace, name), obj)
        }
        versions: dict[ObjRef, str] = {}
        for ref, obj in objects:
            if ref not in derived and not _is_ours(translator, ref, obj):
                versions[ref] = str(_meta(obj).get("resourceVersion"))
        return cls(translator=translator, namespaces=listed, versions=versions)

    async def changes(self, host: KubeClient) -> list[str]:
        """What happened since to objects vsyncer does not own; empty when nothing did."""
        now = dict(await _objects(host, self.namespaces))
        found: list[str] = []
        for ref, version in sorted(self.versions.items()):
            obj = now.get(ref)
            if obj is None:
                found.append(f"deleted {'/'.join(ref)}")
            elif str(_meta(obj).get("resourceVersion")) != version:
                found.append(f"written {'/'.join(ref)}: resourceVersion {version} → "
                             f"{_meta(obj).get('resourceVersion')}")  # fmt: skip
        for ref, obj in sorted(now.items()):
            if ref in self.versions or _is_ours(self.translator, ref, obj):
                continue
            own_namespace = ref[1] == self.translator.host_namespace
            if own_namespace and (
                ref[0] in _MADE_BY_HOST_CONTROLLERS or not looks_like_a_copy(obj)
            ):
                continue
            found.append(f"appeared {'/'.join(ref)} (not vsyncer's to make)")
        return found


def _is_ours(translator: Translator, ref: ObjRef, obj: Json) -> bool:
    if ref[1] != translator.host_namespace:
        return False
    resource = next(r for r in KINDS if r.plural == ref[0])
    return translator.is_owned(obj, kind_string=resource.kind_string)


async def _objects(host: KubeClient, namespaces: tuple[str, ...]) -> list[tuple[ObjRef, Json]]:
    found: list[tuple[ObjRef, Json]] = []
    for namespace in namespaces:
        for resource in KINDS:
            listed = await host.list(resource, namespace=namespace)
            for obj in listed.get("items", []):
                found.append(((resource.plural, namespace, str(_meta(obj)["name"])), obj))
    return found


@contextlib.asynccontextmanager
async def hostile_daemon(
    *, host_namespace: str, host_kubeconfig: Path, virtual_kubeconfig: Path
) -> AsyncIterator[Daemon]:
    """The daemon with every built-in kind until the block ends; yields once caches synced.

    Blocked keys are first revisited after :data:`BLOCKED_INITIAL` seconds; the
    drift check is off (it would only add writes to vsyncer's own objects).  The
    daemon must stop cleanly (exit code 0).
    """
    settings = Settings(
        vcluster_name=VCLUSTER,
        host_namespace=host_namespace,
        host_kubeconfig=host_kubeconfig,
        virtual_kubeconfig=virtual_kubeconfig,
        kinds=ALL_KINDS,
        metrics_bind="127.0.0.1:0",
        probes_bind="127.0.0.1:0",
        shutdown_grace=10,
        drift_interval=0,
    )
    await create_owner_anchor_for(settings)
    daemon = Daemon(settings=settings, blocked_initial=BLOCKED_INITIAL)
    task = asyncio.create_task(daemon.run(install_signals=False))
    try:
        async with asyncio.timeout(60):
            while not daemon.ready()[0]:
                assert not task.done(), f"daemon exited early with {task.result()}"
                await asyncio.sleep(0.05)  # a bounded readiness poll
        yield daemon
    finally:
        daemon.request_stop()
        code = await asyncio.wait_for(task, 60)
    assert code == 0, daemon._failure


def refused(daemon: Daemon, *, kind: str, reason: str) -> float:
    """``vsyncer_refused_objects_total{kind,reason}`` of ``daemon`` (0 when never counted)."""
    value = daemon.metrics.registry.get_sample_value(
        "vsyncer_refused_objects_total", {"kind": kind, "reason": reason}
    )
    return value or 0.0


async def until(check: Any, *, within: float = 60.0, what: str = "condition") -> None:
    """Poll the zero-argument ``check`` (sync or async) until truthy; fail after ``within`` s."""
    try:
        async with asyncio.timeout(within):
            while True:
                result = check()
                if asyncio.iscoroutine(result):
                    result = await result
                if result:
                    return
                await asyncio.sleep(0.2)
    except TimeoutError:
        raise AssertionError(f"{what} did not hold within {within} s") from None
