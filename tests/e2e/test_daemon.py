"""The daemon end to end: a plugin mapper synced between the real clusters, probes,
metrics, graceful and forced stop, leader election hand-over, bad settings."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from syncer.api import DONE, Mapper, Obj, ObjectKey, Result, SyncContext, Translator, thaw
from syncer.daemon import Daemon
from syncer.errors import NotFound
from syncer.kube import KubeClient
from syncer.resources import CONFIGMAPS, LEASES, NAMESPACES
from syncer.settings import Settings, load_settings
from tests.kubehelpers import wait_for_object
from tests.owneranchors import create_owner_anchor_for


class CopyConfigMaps:
    """A minimal plugin: copies every virtual configmap's data to the host namespace."""

    resource = CONFIGMAPS

    def __init__(
        self, *, translator: Translator, gate: asyncio.Event | None = None, gated: str = ""
    ) -> None:
        self.t = translator
        self.gate = gate
        self.gated = gated
        self.started = asyncio.Event()

    def virtual_to_host(self, key: ObjectKey) -> str | None:
        return None if key.name == "kube-root-ca.crt" else self.t.host_name(key.namespace, key.name)

    def host_to_virtual(self, p_obj: Obj) -> ObjectKey | None:
        found = self.t.virtual_key_from_host(p_obj)
        return ObjectKey("configmaps", *found) if found else None

    def is_managed(self, p_obj: Obj) -> bool:
        return self.t.is_owned(p_obj, kind_string=CONFIGMAPS.kind_string)

    def _host_body(self, v_obj: Obj) -> dict[str, Any]:
        meta = v_obj["metadata"]
        name = self.t.host_name(meta["namespace"], meta["name"])
        return {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": name,
                "namespace": self.t.host_namespace,
                "labels": self.t.translate_labels(meta.get("labels"), namespace=meta["namespace"]),
                "annotations": self.t.provenance_annotations(
                    kind_string=CONFIGMAPS.kind_string,
                    namespace=meta["namespace"],
                    name=meta["name"],
                    uid=meta["uid"],
                    host_name=name,
                ),
            },
            "data": dict(v_obj.get("data") or {}),
        }

    async def sync_to_host(self, ctx: SyncContext, v_obj: Obj) -> Result:
        if self.gate is not None and v_obj["metadata"]["name"] == self.gated:
            self.started.set()
            await self.gate.wait()
        await ctx.host.create(CONFIGMAPS, body=self._host_body(v_obj))
        return DONE

    async def sync(self, ctx: SyncContext, v_obj: Obj, p_obj: Obj) -> Result:
        if dict(v_obj.get("data") or {}) != dict(p_obj.get("data") or {}):
            body = thaw(p_obj)
            body["data"] = dict(v_obj.get("data") or {})
            await ctx.host.update(CONFIGMAPS, current=p_obj, body=body)
        return DONE

    async def sync_to_virtual(self, ctx: SyncContext, key: ObjectKey, p_obj: Obj) -> Result:
        await ctx.host.delete(CONFIGMAPS, current=p_obj)
        return DONE


def _settings(host_ns: str, host_kc: Path, virtual_kc: Path, **extra: str) -> Settings:
    env = {
        "VSYNCER_VCLUSTER_NAME": "t",
        "VSYNCER_HOST_NAMESPACE": host_ns,
        "VSYNCER_HOST_KUBECONFIG": str(host_kc),
        "VSYNCER_VIRTUAL_KUBECONFIG": str(virtual_kc),
        "VSYNCER_KINDS": "configmaps",
        "VSYNCER_METRICS_BIND": "127.0.0.1:0",
        "VSYNCER_PROBES_BIND": "127.0.0.1:0",
        "VSYNCER_SHUTDOWN_GRACE": "20",
        **extra,
    }
    return load_settings(env=env)


@contextlib.asynccontextmanager
async def daemon_running(
    settings: Settings, factory: Callable[..., Mapper], *, identity: str = "a"
) -> AsyncIterator[tuple[Daemon, asyncio.Task[int]]]:
    await create_owner_anchor_for(settings)
    daemon = Daemon(settings=settings, factories={"configmaps": factory}, identity=identity)
    task = asyncio.create_task(daemon.run(install_signals=False))
    try:
        yield daemon, task
    finally:
        if not task.done():
            daemon.request_stop()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(task, 60)


async def _until(check: Callable[[], bool], task: asyncio.Task[int] | None = None) -> None:
    async with asyncio.timeout(60):
        while not check():
            assert task is None or not task.done(), "daemon exited early"
            await asyncio.sleep(0.05)


async def _http_get(port: int, path: str) -> tuple[int, str]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    await writer.drain()
    raw = await reader.read()
    writer.close()
    head, _, body = raw.decode().partition("\r\n\r\n")
    return int(head.split()[1]), body


@pytest.fixture
async def vns(virtual: KubeClient) -> AsyncIterator[str]:
    """A fresh virtual namespace."""
    name = f"v-{os.urandom(3).hex()}"
    await virtual.create(NAMESPACES, namespace=None, body={"metadata": {"name": name}})
    yield name
    await virtual.delete(NAMESPACES, namespace=None, name=name)


def _cm(name: str, value: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name},
        "data": {"v": value},
    }


async def test_syncs_create_update_delete_with_probes_and_metrics(
    host: KubeClient,
    virtual: KubeClient,
    namespace: str,
    vns: str,
    host_kubeconfig: Path,
    virtual_kubeconfig: Path,
) -> None:
    """A virtual object's lifecycle is mirrored on the host; /readyz and /metrics tell about it."""
    settings = _settings(namespace, host_kubeconfig, virtual_kubeconfig)
    t = Translator(vcluster="t", host_namespace=namespace)
    p_name = t.host_name(vns, "app")
    async with daemon_running(settings, CopyConfigMaps) as (daemon, task):
        await _until(lambda: daemon.ready()[0], task)
        assert daemon.server is not None
        assert await _http_get(daemon.server.probes_port, "/readyz") == (200, "ok")
        assert (await _http_get(daemon.server.probes_port, "/healthz"))[0] == 200
        await virtual.create(CONFIGMAPS, namespace=vns, body=_cm("app", "1"))
        await wait_for_object(
            host, CONFIGMAPS, namespace=namespace, name=p_name, predicate=lambda o: o is not None
        )
        await virtual.patch(CONFIGMAPS, namespace=vns, name="app", body={"data": {"v": "2"}})
        await wait_for_object(
            host,
            CONFIGMAPS,
            namespace=namespace,
            name=p_name,
            predicate=lambda o: o is not None and o["data"] == {"v": "2"},
        )
        await virtual.delete(CONFIGMAPS, namespace=vns, name="app")
        await wait_for_object(
            host, CONFIGMAPS, namespace=namespace, name=p_name, predicate=lambda o: o is None
        )
        status, text = await _http_get(daemon.server.metrics_port, "/metrics")
    assert status == 200
    for needle in (
        'workqueue_adds_total{name="configmaps"}',
        'vsyncer_reconcile_total{kind="configmaps",result="success"}',
        'vsyncer_informer_events_total{cluster="virtual",kind="configmaps",type="ADDED"}',
        'vsyncer_rest_requests_total{cluster="host",code="201",verb="create"}',
        'vsyncer_sync_lag_seconds_count{direction="toHost",kind="configmaps"}',
    ):
        assert needle in text, needle
    assert task.result() == 0


async def test_orphans_collected_on_start(
    host: KubeClient,
    virtual: KubeClient,
    namespace: str,
    vns: str,
    host_kubeconfig: Path,
    virtual_kubeconfig: Path,
) -> None:
    """A managed host object whose virtual object vanished during downtime is deleted."""
    settings = _settings(namespace, host_kubeconfig, virtual_kubeconfig)
    t = Translator(vcluster="t", host_namespace=namespace)
    async with daemon_running(settings, CopyConfigMaps) as (_daemon, task):
        await virtual.create(CONFIGMAPS, namespace=vns, body=_cm("keep", "1"))
        await virtual.create(CONFIGMAPS, namespace=vns, body=_cm("drop", "1"))
        for name in ("keep", "drop"):
            await wait_for_object(
                host,
                CONFIGMAPS,
                namespace=namespace,
                name=t.host_name(vns, name),
                predicate=lambda o: o is not None,
            )
    assert task.result() == 0
    await virtual.delete(CONFIGMAPS, namespace=vns, name="drop")
    async with daemon_running(settings, CopyConfigMaps) as (_daemon, task):
        await wait_for_object(
            host,
            CONFIGMAPS,
            namespace=namespace,
            name=t.host_name(vns, "drop"),
            predicate=lambda o: o is None,
        )
        assert (await host.get(CONFIGMAPS, namespace=namespace, name=t.host_name(vns, "keep")))[
            "data"
        ] == {"v": "1"}


async def test_graceful_stop_drains_in_flight_then_forced_stop(
    host: KubeClient,
    virtual: KubeClient,
    namespace: str,
    vns: str,
    host_kubeconfig: Path,
    virtual_kubeconfig: Path,
) -> None:
    """A first stop waits for the in-flight reconcile to finish; a second forces exit 1."""
    settings = _settings(namespace, host_kubeconfig, virtual_kubeconfig)
    t = Translator(vcluster="t", host_namespace=namespace)
    gate = asyncio.Event()
    mappers: list[CopyConfigMaps] = []

    gated = "slow"

    def factory(*, translator: Translator) -> CopyConfigMaps:
        mappers.append(CopyConfigMaps(translator=translator, gate=gate, gated=gated))
        return mappers[-1]

    async with daemon_running(settings, factory) as (daemon, task):
        await _until(lambda: daemon.ready()[0], task)
        await virtual.create(CONFIGMAPS, namespace=vns, body=_cm("slow", "1"))
        await asyncio.wait_for(mappers[0].started.wait(), 30)
        daemon.request_stop()
        await asyncio.sleep(0)
        assert not task.done()
        gate.set()
        assert await asyncio.wait_for(task, 30) == 0
    assert await host.get(CONFIGMAPS, namespace=namespace, name=t.host_name(vns, "slow"))

    gate = asyncio.Event()
    gated = "stuck"
    async with daemon_running(settings, factory) as (daemon, task):
        await _until(lambda: daemon.ready()[0], task)
        await virtual.create(CONFIGMAPS, namespace=vns, body=_cm("stuck", "1"))
        await asyncio.wait_for(mappers[-1].started.wait(), 30)
        daemon.request_stop()
        daemon.request_stop()
        assert await asyncio.wait_for(task, 30) == 1
    with pytest.raises(NotFound):
        await host.get(CONFIGMAPS, namespace=namespace, name=t.host_name(vns, "stuck"))


async def test_crashed_task_takes_the_daemon_down(
    namespace: str, host_kubeconfig: Path, virtual_kubeconfig: Path
) -> None:
    """A guarded long-running task that dies stops the daemon with exit code 1."""
    settings = _settings(namespace, host_kubeconfig, virtual_kubeconfig)

    async def boom() -> None:
        raise RuntimeError("informer exploded")

    async with daemon_running(settings, CopyConfigMaps) as (daemon, task):
        await _until(lambda: daemon.ready()[0], task)
        daemon._guard(boom(), name="test task")
        assert await asyncio.wait_for(task, 30) == 1
        assert not daemon.healthy()


async def test_leader_election_hands_over(
    host: KubeClient,
    virtual: KubeClient,
    namespace: str,
    vns: str,
    host_kubeconfig: Path,
    virtual_kubeconfig: Path,
) -> None:
    """Only the leader writes; when it stops, the standby takes the lease and carries on."""
    extra = {
        "VSYNCER_LEADER_ELECT": "true",
        "VSYNCER_LEASE_DURATION": "6",
        "VSYNCER_RENEW_DEADLINE": "4",
        "VSYNCER_RETRY_PERIOD": "0.5",
    }
    settings = _settings(namespace, host_kubeconfig, virtual_kubeconfig, **extra)
    t = Translator(vcluster="t", host_namespace=namespace)
    async with daemon_running(settings, CopyConfigMaps, identity="a") as (a, a_task):
        await _until(lambda: a.elector is not None and a.elector.is_leader, a_task)
        async with daemon_running(settings, CopyConfigMaps, identity="b") as (b, b_task):
            await _until(lambda: b.ready()[0], b_task)
            assert b.elector is not None
            assert not b.elector.is_leader
            assert not b.elector.may_write()
            await virtual.create(CONFIGMAPS, namespace=vns, body=_cm("first", "1"))
            await wait_for_object(
                host,
                CONFIGMAPS,
                namespace=namespace,
                name=t.host_name(vns, "first"),
                predicate=lambda o: o is not None,
            )
            a.request_stop()
            assert await asyncio.wait_for(a_task, 60) == 0
            await _until(lambda: b.elector is not None and b.elector.is_leader, b_task)
            await virtual.create(CONFIGMAPS, namespace=vns, body=_cm("second", "1"))
            await wait_for_object(
                host,
                CONFIGMAPS,
                namespace=namespace,
                name=t.host_name(vns, "second"),
                predicate=lambda o: o is not None,
            )
            lease = await host.get(LEASES, namespace=namespace, name="vsyncer-leader")
            assert lease["spec"]["holderIdentity"] == "b"


def test_bad_setting_exits_2_with_one_line() -> None:
    """``vsyncer run`` with an invalid setting prints one line naming it and exits 2."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VSYNCER_")}
    env.update(
        {"VSYNCER_VCLUSTER_NAME": "t", "VSYNCER_HOST_NAMESPACE": "h", "VSYNCER_WORKERS": "0"}
    )
    proc = subprocess.run(
        [sys.executable, "-m", "syncer", "run"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "VSYNCER_WORKERS" in lines[0]
