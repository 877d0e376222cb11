"""Support for the end-to-end sync tests: the real daemon, in-process, on a per-test namespace.

:func:`run_syncer` starts :class:`syncer.daemon.Daemon` as an asyncio task with
the built-in mappers (found through their entry points), the test's namespace
as the host namespace, ephemeral metrics/probe ports and no signal handlers;
it yields once both sides' caches have synced and stops the daemon (graceful
stop, exit code 0 asserted) afterwards.  The tests in this module check that
lifecycle itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any

from syncer.daemon import Daemon
from syncer.errors import NotFound
from syncer.kube import KubeClient
from syncer.resources import EVENTS, NAMESPACES, PODS, SERVICEACCOUNTS, Resource
from syncer.settings import Settings
from syncer.translate import Translator
from tests.kubehelpers import wait_for_object
from tests.owneranchors import create_owner_anchor_for

Json = dict[str, Any]
VCLUSTER = "vc"
ALL_KINDS = (
    "pods",
    "services",
    "endpoints",
    "configmaps",
    "secrets",
    "persistentvolumeclaims",
    "events",
    "nodes",
)


def translator(host_namespace: str) -> Translator:
    return Translator(vcluster=VCLUSTER, host_namespace=host_namespace)


@contextlib.asynccontextmanager
async def run_syncer(
    *,
    host_namespace: str,
    host_kubeconfig: Path,
    virtual_kubeconfig: Path,
    kinds: Sequence[str] = ALL_KINDS,
    within: float = 60.0,
    ready: Callable[[Daemon], bool] | None = None,
    **extra: Any,
) -> AsyncIterator[Daemon]:
    """The daemon, running until the block ends; yields once its caches have synced.

    ``extra`` are further :class:`~syncer.settings.Settings` fields (e.g.
    ``service_external_ip_cidrs=("192.0.2.0/24",)``); ``ready``: when to yield
    instead (default: once ``Daemon.ready()`` says so).
    """
    settings = Settings(
        vcluster_name=VCLUSTER,
        host_namespace=host_namespace,
        host_kubeconfig=host_kubeconfig,
        virtual_kubeconfig=virtual_kubeconfig,
        kinds=tuple(kinds),
        metrics_bind="127.0.0.1:0",
        probes_bind="127.0.0.1:0",
        shutdown_grace=10,
        **extra,
    )
    await create_owner_anchor_for(settings)
    daemon = Daemon(settings=settings)
    task = asyncio.create_task(daemon.run(install_signals=False))
    try:
        async with asyncio.timeout(within):
            while not (ready(daemon) if ready is not None else daemon.ready()[0]):
                if task.done():
                    raise AssertionError(f"daemon exited early with {task.result()}")
                await asyncio.sleep(0.05)  # a bounded readiness poll, not a guess
        yield daemon
    finally:
        daemon.request_stop()
        code = await asyncio.wait_for(task, 60)
    assert code == 0, daemon._failure


async def virtual_namespace(virtual: KubeClient, *, labels: Json | None = None) -> str:
    """A fresh virtual namespace, once its default service account exists."""
    name = f"v-{secrets.token_hex(4)}"
    body = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": name, "labels": labels or {}},
    }
    await virtual.create(NAMESPACES, namespace=None, body=body)
    await wait_for_object(
        virtual, SERVICEACCOUNTS, namespace=name, name="default", predicate=lambda o: o is not None
    )
    return name


async def remove_virtual_namespace(virtual: KubeClient, name: str) -> None:
    """Delete a virtual namespace; its pods go at once (no kubelet would ever finish them)."""
    listed = await virtual.list(PODS, namespace=name)
    for item in listed.get("items", []):
        with contextlib.suppress(NotFound):
            await virtual.delete(
                PODS, namespace=name, name=item["metadata"]["name"], grace_period_seconds=0
            )
    with contextlib.suppress(NotFound):
        await virtual.delete(NAMESPACES, namespace=None, name=name)


@contextlib.asynccontextmanager
async def tenant_namespace(
    virtual: KubeClient, *, labels: Json | None = None
) -> AsyncIterator[str]:
    """A fresh virtual namespace for the block, removed afterwards (test modules' ``v_ns``)."""
    name = await virtual_namespace(virtual, labels=labels)
    try:
        yield name
    finally:
        await remove_virtual_namespace(virtual, name)


async def get_or_none(
    kube: KubeClient, resource: Resource, *, namespace: str | None, name: str
) -> Json | None:
    try:
        return await kube.get(resource, namespace=namespace, name=name)
    except NotFound:
        return None


def pod(name: str, **spec: Any) -> Json:
    """A minimal virtual pod; ``spec`` keys override or extend the default one-container spec."""
    body: Json = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {"containers": [{"name": "main", "image": "registry.example/app:1"}]},
    }
    body["spec"].update(spec)
    return body


def exists(obj: Json | None) -> bool:
    return obj is not None


def gone(obj: Json | None) -> bool:
    return obj is None


def where(check: Callable[[Json], bool]) -> Callable[[Json | None], bool]:
    """A predicate that holds for an existing object passing ``check``."""
    return lambda obj: obj is not None and check(obj)


async def wait_for_event(
    kube: KubeClient, *, namespace: str, reason: str, name: str, within: float = 60.0
) -> Json:
    """The first event in ``namespace`` with ``reason`` about the object named ``name``."""

    def matches(event: Json) -> bool:
        involved = event.get("involvedObject") or {}
        return bool(event.get("reason") == reason and involved.get("name") == name)

    async def run() -> Json:
        listed = await kube.list(EVENTS, namespace=namespace)
        for event in listed.get("items", []):
            if matches(event):
                return dict(event)
        rv = listed["metadata"]["resourceVersion"]
        while True:
            async for change in kube.watch(
                EVENTS, namespace=namespace, resource_version=rv, timeout_seconds=30
            ):
                if change["type"] == "BOOKMARK":
                    rv = change["object"]["metadata"]["resourceVersion"]
                    continue
                rv = change["object"]["metadata"]["resourceVersion"]
                if change["type"] != "DELETED" and matches(change["object"]):
                    return dict(change["object"])

    return await asyncio.wait_for(run(), within)


async def test_daemon_with_every_builtin_mapper_starts_and_stops(
    namespace_with_sa: str, host_kubeconfig: Path, virtual_kubeconfig: Path
) -> None:
    """All built-in mappers load from their entry points; the daemon syncs and stops cleanly."""
    async with run_syncer(
        host_namespace=namespace_with_sa,
        host_kubeconfig=host_kubeconfig,
        virtual_kubeconfig=virtual_kubeconfig,
    ) as daemon:
        assert set(daemon.syncs) == set(ALL_KINDS)
        assert daemon.healthy()
