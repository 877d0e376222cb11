"""The workload of a fault cell: bursts of virtual objects, recorded in the ledger.

Every write goes to the virtual API server directly (never through a fault
proxy: the syncer is under test, not the test) and is retried while the API
server is unreachable or answers 5xx/429, so a control-plane fault cannot make
the test lose its own writes.  A create answered "already exists" after a
retry counts as done (the first attempt's answer was lost).  Each success is
recorded in the :class:`~tests.faults.ledger.Ledger` before the call returns.

Shapes: a pod runs one ``nginx`` container, is labelled ``app=<name>`` and
mounts configmap ``<prefix>-cm-<i mod configmaps>`` (so every configmap of a
burst is referenced once there are as many pods); a service selects
``app=<its name>`` on port 80.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from syncer.api import ObjectKey
from syncer.errors import AlreadyExists, NotFound, ServerError, TooManyRequests
from syncer.kube import KubeClient
from syncer.resources import CONFIGMAPS, NAMESPACES, PODS, SERVICEACCOUNTS, SERVICES, Resource
from tests.faults.ledger import Ledger

T = TypeVar("T")
_RETRY_FOR = 120.0


@dataclass(frozen=True, slots=True)
class Burst:
    """How many objects of each kind one burst creates."""

    services: int
    pods: int
    configmaps: int

    @property
    def total(self) -> int:
        return self.services + self.pods + self.configmaps


async def retrying(call: Callable[[], Awaitable[T]]) -> T:
    """``call()`` retried every 0.2 s on connection errors, 5xx and 429, for up to 120 s."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + _RETRY_FOR
    while True:
        try:
            return await call()
        except (OSError, TimeoutError, ServerError, TooManyRequests):
            if loop.time() > deadline:
                raise
            await asyncio.sleep(0.2)


def configmap(name: str, value: str = "1") -> dict[str, Any]:
    return {"metadata": {"name": name}, "data": {"value": value}}


def service(name: str) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "labels": {"burst": "yes"}},
        "spec": {"selector": {"app": name}, "ports": [{"port": 80, "targetPort": 8080}]},
    }


def pod(name: str, *, configmap: str | None) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [{"name": "app", "image": "nginx:1.27"}]}
    if configmap:
        spec["volumes"] = [{"name": "conf", "configMap": {"name": configmap}}]
        spec["containers"][0]["volumeMounts"] = [{"name": "conf", "mountPath": "/conf"}]
    return {"metadata": {"name": name, "labels": {"app": name}}, "spec": spec}


class Load:
    """Writes to the virtual cluster on behalf of one cell, and keeps its ledger."""

    def __init__(self, *, virtual: KubeClient, ledger: Ledger) -> None:
        self.virtual = virtual
        self.ledger = ledger

    async def namespace(self, name: str) -> str:
        """Create a virtual namespace and wait for its default service account (pods need it)."""
        with contextlib.suppress(AlreadyExists):
            await retrying(
                lambda: self.virtual.create(
                    NAMESPACES, namespace=None, body={"metadata": {"name": name}}
                )
            )
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60
        while True:
            try:
                await self.virtual.get(SERVICEACCOUNTS, namespace=name, name="default")
                return name
            except (NotFound, OSError, ServerError):
                if loop.time() > deadline:
                    raise
                await asyncio.sleep(0.1)

    async def create(self, resource: Resource, *, namespace: str, body: dict[str, Any]) -> None:
        """Create one object (retried; a lost answer's "already exists" counts) and record it."""
        attempts = 0

        async def once() -> None:
            nonlocal attempts
            attempts += 1
            try:
                await self.virtual.create(resource, namespace=namespace, body=body)
            except AlreadyExists:
                if attempts == 1:
                    raise

        await retrying(once)
        self.ledger.created(ObjectKey(resource.plural, namespace, body["metadata"]["name"]))

    async def delete(self, resource: Resource, *, namespace: str, name: str) -> None:
        """Delete one object (retried; already gone counts) and record it."""
        with contextlib.suppress(NotFound):
            await retrying(lambda: self.virtual.delete(resource, namespace=namespace, name=name))
        self.ledger.deleted(ObjectKey(resource.plural, namespace, name))

    async def patch(self, resource: Resource, *, namespace: str, name: str, body: Any) -> None:
        await retrying(
            lambda: self.virtual.patch(resource, namespace=namespace, name=name, body=body)
        )

    async def burst(
        self, *, namespace: str, prefix: str, size: Burst, concurrency: int = 8
    ) -> list[ObjectKey]:
        """Create one burst: configmaps, services and pods interleaved, ``concurrency`` at once."""
        jobs: list[tuple[Resource, dict[str, Any]]] = []
        cms = [f"{prefix}-cm-{i}" for i in range(size.configmaps)]
        for i in range(max(size.services, size.pods, size.configmaps)):
            if i < size.configmaps:
                jobs.append((CONFIGMAPS, configmap(cms[i])))
            if i < size.services:
                jobs.append((SERVICES, service(f"{prefix}-svc-{i}")))
            if i < size.pods:
                ref = cms[i % len(cms)] if cms else None
                jobs.append((PODS, pod(f"{prefix}-pod-{i}", configmap=ref)))
        queue: asyncio.Queue[tuple[Resource, dict[str, Any]]] = asyncio.Queue()
        for job in jobs:
            queue.put_nowait(job)

        async def worker() -> None:
            while not queue.empty():
                resource, body = queue.get_nowait()
                await self.create(resource, namespace=namespace, body=body)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return [ObjectKey(r.plural, namespace, b["metadata"]["name"]) for r, b in jobs]


__all__ = ["Burst", "Load", "retrying"]
