"""Event-driven waits for tests: watch until a condition holds, bounded by a deadline."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from syncer.errors import NotFound
from syncer.kube import KubeClient
from syncer.resources import Resource

Json = dict[str, Any]


async def wait_for_object(
    kube: KubeClient,
    resource: Resource,
    *,
    namespace: str | None,
    name: str,
    predicate: Callable[[Json | None], bool],
    within: float = 60.0,
) -> Json | None:
    """Watch one object until ``predicate(obj)`` holds (``obj`` is None while absent)."""

    async def run() -> Json | None:
        while True:
            try:
                obj: Json | None = await kube.get(resource, namespace=namespace, name=name)
            except NotFound:
                obj = None
            if predicate(obj):
                return obj
            listed = await kube.list(
                resource, namespace=namespace, field_selector=f"metadata.name={name}"
            )
            rv = listed["metadata"]["resourceVersion"]
            items = listed.get("items", [])
            current: Json | None = items[0] if items else None
            if predicate(current):
                return current
            async for event in kube.watch(
                resource,
                namespace=namespace,
                resource_version=rv,
                timeout_seconds=30,
                field_selector=f"metadata.name={name}",
            ):
                if event["type"] == "BOOKMARK":
                    continue
                current = None if event["type"] == "DELETED" else event["object"]
                if predicate(current):
                    return current

    return await asyncio.wait_for(run(), within)
