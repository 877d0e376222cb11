"""The local control plane: two distinct, fully working clusters, kwok pods, clean teardown."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from syncer.errors import NotFound
from syncer.kube import KubeClient
from syncer.localcluster import ControlPlane, build, cached
from syncer.localcluster.build import Progress
from syncer.localcluster.processes import pid_alive
from syncer.resources import CONFIGMAPS, PODS
from tests.kubehelpers import wait_for_object


def _configmap(name: str, value: str = "1") -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name},
        "data": {"k": value},
    }


async def test_clusters_are_distinct(host: KubeClient, virtual: KubeClient, namespace: str) -> None:
    """An object created in one cluster is absent from the other, both ways."""
    await virtual.create(CONFIGMAPS, namespace=namespace, body=_configmap("only-virtual"))
    await host.create(CONFIGMAPS, namespace=namespace, body=_configmap("only-host"))
    assert (await virtual.get(CONFIGMAPS, namespace=namespace, name="only-virtual"))["data"] == {
        "k": "1"
    }
    with pytest.raises(NotFound):
        await host.get(CONFIGMAPS, namespace=namespace, name="only-virtual")
    with pytest.raises(NotFound):
        await virtual.get(CONFIGMAPS, namespace=namespace, name="only-host")
    assert host.server != virtual.server


@pytest.mark.parametrize("side", ["host", "virtual"])
async def test_create_update_delete_list(
    side: str, host: KubeClient, virtual: KubeClient, namespace: str
) -> None:
    """Each cluster serves create, update, list and delete."""
    kube = host if side == "host" else virtual
    created = await kube.create(CONFIGMAPS, namespace=namespace, body=_configmap("cud"))
    created["data"] = {"k": "2"}
    updated = await kube.update(CONFIGMAPS, namespace=namespace, name="cud", body=created)
    assert updated["data"] == {"k": "2"}
    assert int(updated["metadata"]["resourceVersion"]) > int(created["metadata"]["resourceVersion"])
    listed = await kube.list(CONFIGMAPS, namespace=namespace)
    assert "cud" in {item["metadata"]["name"] for item in listed["items"]}
    await kube.delete(CONFIGMAPS, namespace=namespace, name="cud")
    await wait_for_object(
        kube, CONFIGMAPS, namespace=namespace, name="cud", predicate=lambda o: o is None
    )


@pytest.mark.parametrize("side", ["host", "virtual"])
async def test_watch_sees_events_and_bookmarks(
    side: str, host: KubeClient, virtual: KubeClient, namespace: str
) -> None:
    """A watch delivers ADDED/MODIFIED/DELETED, and a bookmark advances past writes elsewhere."""
    kube = host if side == "host" else virtual
    rv = (await kube.list(CONFIGMAPS, namespace=namespace))["metadata"]["resourceVersion"]
    seen: list[tuple[str, str]] = []
    bookmark_rv = 0
    elsewhere_rv = 0

    async def writer() -> None:
        await kube.create(CONFIGMAPS, namespace=namespace, body=_configmap("w"))
        await kube.patch(CONFIGMAPS, namespace=namespace, name="w", body={"data": {"k": "2"}})
        await kube.delete(CONFIGMAPS, namespace=namespace, name="w")
        # A write outside the watched namespace: only a bookmark can tell the watcher about it.
        other = await kube.create(
            CONFIGMAPS, namespace="default", body=_configmap(f"bm-{namespace}")
        )
        nonlocal elsewhere_rv
        elsewhere_rv = int(other["metadata"]["resourceVersion"])

    task = asyncio.create_task(writer())
    async for event in kube.watch(
        CONFIGMAPS,
        namespace=namespace,
        resource_version=rv,
        timeout_seconds=8,
        allow_bookmarks=True,
    ):
        if event["type"] == "BOOKMARK":
            bookmark_rv = int(event["object"]["metadata"]["resourceVersion"])
        elif event["object"]["metadata"]["name"] == "w":
            seen.append((event["type"], event["object"].get("data", {}).get("k", "")))
    await task
    await kube.delete(CONFIGMAPS, namespace="default", name=f"bm-{namespace}")
    assert seen == [("ADDED", "1"), ("MODIFIED", "2"), ("DELETED", "2")]
    assert bookmark_rv >= elsewhere_rv > 0


async def test_kwok_runs_host_pods(host: KubeClient, namespace_with_sa: str) -> None:
    """kwok schedules a host pod, makes it Running and gives it an IP and a node."""
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "runner"},
        "spec": {"containers": [{"name": "c", "image": "registry.example/app:1"}]},
    }
    await host.create(PODS, namespace=namespace_with_sa, body=pod)
    running = await wait_for_object(
        host,
        PODS,
        namespace=namespace_with_sa,
        name="runner",
        predicate=lambda o: o is not None and o.get("status", {}).get("phase") == "Running",
    )
    assert running is not None
    assert running["status"]["podIP"]
    assert running["spec"]["nodeName"].startswith("kwok-node-")


def test_second_build_reuses_cache(control_plane: ControlPlane) -> None:
    """With the binaries cached, build() runs no go command and rebuilds nothing."""
    before = {p.name: p.stat().st_mtime_ns for p in control_plane.binaries.directory.iterdir()}
    calls: list[Sequence[str]] = []

    def runner(argv: Sequence[str], cwd: Path, log: Path, progress: Progress, label: str) -> int:
        calls.append(argv)
        return 1

    result = build(runner=runner)
    assert result.built == ()
    assert calls == []
    assert cached() == result.binaries
    after = {p.name: p.stat().st_mtime_ns for p in control_plane.binaries.directory.iterdir()}
    assert after == before


def _start_plane(run_dir: Path) -> tuple[subprocess.Popen[bytes], list[int]]:
    with (run_dir.parent / f"{run_dir.name}.err").open("wb") as err:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "syncer.localcluster",
                "up",
                "--virtual-only",
                "--run-dir",
                str(run_dir),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    deadline = time.monotonic() + 120
    while not (run_dir / "ready").exists():
        assert proc.poll() is None, (
            f"control plane exited early; see {run_dir.parent / f'{run_dir.name}.err'}"
        )
        assert time.monotonic() < deadline, "control plane did not become ready"
        time.sleep(0.1)
    pids = [int(line.split()[0]) for line in (run_dir / "pids").read_text().splitlines()]
    assert pids
    assert all(pid_alive(pid) for pid in pids)
    return proc, pids


def _wait_all_gone(pids: list[int], *, timeout: float) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        alive = [pid for pid in pids if pid_alive(pid)]
        if not alive:
            return []
        time.sleep(0.1)
    return [pid for pid in pids if pid_alive(pid)]


@pytest.mark.parametrize("how", ["sigint", "sigkill"])
def test_teardown_leaves_no_process(tmp_path: Path, how: str) -> None:
    """Interrupting (SIGINT) or killing (SIGKILL) the harness leaves none of its processes."""
    proc, pids = _start_plane(tmp_path / "plane")
    os.kill(proc.pid, signal.SIGINT if how == "sigint" else signal.SIGKILL)
    rc = proc.wait(timeout=60)
    assert rc == (0 if how == "sigint" else -signal.SIGKILL)
    assert _wait_all_gone(pids, timeout=20) == []
