"""Tests for syncer.sleep: when the controller falls asleep and wakes, on an in-memory server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from syncer.activity import ActivityTracker
from syncer.clock import FakeClock
from syncer.dryrun import merge_patch
from syncer.fakelistwatch import FakeListerWatcher
from syncer.informer import Informer
from syncer.keys import ObjectKey
from syncer.metrics import Metrics
from syncer.resources import NAMESPACES, PODS, Resource
from syncer.sleep import DEPLOYMENTS, MARKER, SleepController
from syncer.sleep_plan import EXCLUDE_LABEL, REPLICAS_ANNOTATION
from syncer.sleep_pods import POD_MARK

Json = dict[str, Any]
WEB = ObjectKey("deployments", "shop", "web")


class PatchingFake:
    """Merge patches on the fake server: get, apply (RFC 7386), update with the version."""

    def __init__(self, fake: FakeListerWatcher) -> None:
        self.fake = fake
        self.patches: list[tuple[str, str]] = []

    async def patch(
        self,
        resource: Resource,
        *,
        namespace: str | None,
        name: str,
        body: Any,
        patch_type: str = "merge",
        subresource: str | None = None,
    ) -> Json:
        current = await self.fake.get(resource, namespace=namespace, name=name)
        wanted_rv = (body.get("metadata") or {}).get("resourceVersion")
        merged: Json = merge_patch(current, body)
        merged["metadata"]["resourceVersion"] = wanted_rv or current["metadata"]["resourceVersion"]
        self.patches.append((resource.plural, name))
        return await self.fake.update(resource, namespace=namespace, name=name, body=merged)


def namespace(name: str, **labels: str) -> Json:
    return {"metadata": {"name": name, "labels": labels}}


def deployment(ns: str, replicas: int) -> Json:
    return {"metadata": {"name": "web", "namespace": ns}, "spec": {"replicas": replicas}}


class Setup:
    def __init__(
        self, fake: FakeListerWatcher, clock: FakeClock, *, pods: Informer | None = None
    ) -> None:
        self.fake, self.clock, self.pods = fake, clock, pods
        self.registry = CollectorRegistry()
        self.tracker = ActivityTracker(clock=clock, registry=self.registry)
        self.writes = PatchingFake(fake)
        self.controller = SleepController(
            client=fake,
            tracker=self.tracker,
            sleep_after=10,
            metrics=Metrics(),
            registry=self.registry,
            writes=self.writes,
            now=clock.now,
            pods=pods,
        )

    async def marked(self) -> bool:
        ns = await self.fake.get(NAMESPACES, namespace=None, name="default")
        return MARKER in (ns["metadata"].get("annotations") or {})

    async def settle(self) -> None:
        await self.fake.settle(watches=len(self.controller.informers) + bool(self.pods))


@pytest.fixture
async def fake() -> FakeListerWatcher:
    server = FakeListerWatcher(cluster="virtual")
    for name in ("default", "shop"):
        await server.create(NAMESPACES, namespace=None, body=namespace(name))
    await server.create(
        NAMESPACES, namespace=None, body=namespace("kept", **{EXCLUDE_LABEL: "true"})
    )
    await server.create(DEPLOYMENTS, namespace="shop", body=deployment("shop", 3))
    await server.create(DEPLOYMENTS, namespace="kept", body=deployment("kept", 2))
    return server


@pytest.fixture
async def running(fake: FakeListerWatcher) -> AsyncIterator[Setup]:
    setup = Setup(fake, FakeClock())
    tasks = [asyncio.create_task(i.run()) for i in setup.controller.informers.values()]
    await asyncio.gather(*(i.wait_synced() for i in setup.controller.informers.values()))
    yield setup
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def test_idle_long_enough_falls_asleep_and_scales_all_but_excluded(running: Setup) -> None:
    s = running
    await s.controller.check()
    assert not await s.marked()  # not idle yet
    s.clock.advance(10)
    await s.controller.check()
    assert await s.marked()
    await s.settle()
    assert s.controller.asleep
    await s.controller.reconcile(WEB)
    await s.controller.reconcile(ObjectKey("deployments", "kept", "web"))
    web = await s.fake.get(DEPLOYMENTS, namespace="shop", name="web")
    assert web["spec"]["replicas"] == 0
    assert web["metadata"]["annotations"][REPLICAS_ANNOTATION] == "3"
    kept = await s.fake.get(DEPLOYMENTS, namespace="kept", name="web")
    assert kept["spec"]["replicas"] == 2  # an excluded namespace keeps running
    await s.settle()
    assert s.tracker.last_touch is None  # the marker and the patch are no activity


async def test_activity_after_falling_asleep_wakes_and_restores(running: Setup) -> None:
    s = running
    s.clock.advance(10)
    await s.controller.check()
    await s.settle()
    await s.controller.reconcile(WEB)
    await s.settle()
    await s.controller.check()
    assert await s.marked()  # nothing happened since: still asleep
    s.clock.advance(1)
    s.tracker.touch(source="kubelet")
    await s.controller.check()
    assert not await s.marked()
    await s.settle()
    await s.controller.reconcile(WEB)
    web = await s.fake.get(DEPLOYMENTS, namespace="shop", name="web")
    assert web["spec"]["replicas"] == 3
    assert REPLICAS_ANNOTATION not in (web["metadata"].get("annotations") or {})


async def test_a_restart_while_asleep_does_not_wake_but_later_use_does(
    fake: FakeListerWatcher,
) -> None:
    patch = {"metadata": {"annotations": {MARKER: "2026-01-01T00:00:00Z"}}}
    ns = merge_patch(await fake.get(NAMESPACES, namespace=None, name="default"), patch)
    await fake.update(NAMESPACES, namespace=None, name="default", body=ns)
    clock = FakeClock()
    s = Setup(fake, clock)
    tasks = [asyncio.create_task(i.run()) for i in s.controller.informers.values()]
    try:
        await asyncio.gather(*(i.wait_synced() for i in s.controller.informers.values()))
        await s.controller.check()
        clock.advance(100)
        await s.controller.check()
        assert await s.marked()
        clock.advance(1)
        s.tracker.keep_awake("shop", on=True)  # a keep-awake namespace is use too
        await s.controller.check()
        assert not await s.marked()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def test_removing_the_marker_counts_as_use(running: Setup) -> None:
    s = running
    s.clock.advance(10)
    await s.controller.check()
    await s.settle()
    assert s.registry.get_sample_value("vsyncer_sleeping") == 1
    ns = await s.fake.get(NAMESPACES, namespace=None, name="default")
    del ns["metadata"]["annotations"][MARKER]
    await s.fake.update(NAMESPACES, namespace=None, name="default", body=ns)
    await s.settle()
    assert s.registry.get_sample_value("vsyncer_sleeping") == 0
    assert s.tracker.idle_seconds() == 0
    await s.controller.check()
    assert not await s.marked()  # not straight back to sleep


def bare_pod(ns: str, name: str, *, owner: str | None = None) -> Json:
    obj: Json = {"metadata": {"name": name, "namespace": ns}, "status": {"phase": "Running"}}
    if owner:
        ref = {"apiVersion": "apps/v1", "kind": owner, "name": "o", "uid": "u", "controller": True}
        obj["metadata"]["ownerReferences"] = [ref]
    return obj


async def test_bare_pods_are_marked_asleep_and_unmarked_awake(fake: FakeListerWatcher) -> None:
    """A bare pod is marked while the cluster sleeps (not one a ReplicaSet owns, not one of
    an excluded namespace) and unmarked on wake; the marks are no activity."""
    for ns, name, owner in (("shop", "bare", None), ("shop", "owned", "ReplicaSet")):
        await fake.create(PODS, namespace=ns, body=bare_pod(ns, name, owner=owner))
    await fake.create(PODS, namespace="kept", body=bare_pod("kept", "bare"))
    metrics = Metrics()
    pods = Informer(
        cluster="virtual",
        client=fake,
        resource=PODS,
        metrics=metrics.reflector_metrics(cluster="virtual", kind="pods"),
    )
    s = Setup(fake, FakeClock(), pods=pods)
    informers = [*s.controller.informers.values(), pods]
    tasks = [asyncio.create_task(i.run()) for i in informers]

    async def marks() -> set[tuple[str, str]]:
        listed = (await fake.list(PODS, namespace=None))["items"]
        return {
            (p["metadata"]["namespace"], p["metadata"]["name"])
            for p in listed
            if POD_MARK in (p["metadata"].get("annotations") or {})
        }

    async def reconcile_pods() -> None:
        await s.settle()
        for ns, name in (("shop", "bare"), ("shop", "owned"), ("kept", "bare")):
            await s.controller.reconcile(ObjectKey("pods", ns, name))
        await s.settle()

    try:
        await asyncio.gather(*(i.wait_synced() for i in informers))
        s.clock.advance(10)
        await s.controller.check()
        await reconcile_pods()
        assert await marks() == {("shop", "bare")}
        await reconcile_pods()  # idempotent: nothing more is written
        assert s.writes.patches.count(("pods", "bare")) == 1
        assert s.tracker.last_touch is None
        s.clock.advance(1)
        s.tracker.touch(source="kubelet")
        await s.controller.check()
        await reconcile_pods()
        assert await marks() == set()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
