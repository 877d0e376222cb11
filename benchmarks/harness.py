"""Benchmark plumbing: the syncer as a measured subprocess, a host-side observer, load.

Nothing here is a test.  The syncer runs as its own process (``vsyncer run``) so
that its CPU time and RSS are its own; the benchmark talks to it only through
its ``/readyz`` and ``/metrics`` endpoints and to the clusters through the
project's raw-JSON client.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any

from syncer.errors import AlreadyExists
from syncer.kube import KubeClient
from syncer.localcluster.processes import free_port
from syncer.resources import NAMESPACES, PODS
from syncer.translate import MANAGED_BY_LABEL

_CLK_TCK = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


def _stat(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (``/proc/<pid>/stat``)."""
    fields = _stat(pid)
    return (int(fields[11]) + int(fields[12])) / _CLK_TCK


def process_rss_bytes(pid: int) -> int:
    """Resident set size of process ``pid`` in bytes (``/proc/<pid>/stat``)."""
    return int(_stat(pid)[21]) * _PAGE


class SyncerProcess:
    """``vsyncer run`` between the two local clusters, observed from outside."""

    def __init__(
        self,
        *,
        host_kubeconfig: Path,
        virtual_kubeconfig: Path,
        host_namespace: str,
        vcluster: str,
        log: Path,
        workers: int | None = None,
        host_qps: float | None = None,
        host_burst: int | None = None,
        kinds: str = "pods,nodes",
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.metrics_port = free_port()
        self.probes_port = free_port()
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("VSYNCER_")},
            "VSYNCER_VCLUSTER_NAME": vcluster,
            "VSYNCER_HOST_NAMESPACE": host_namespace,
            "VSYNCER_HOST_KUBECONFIG": str(host_kubeconfig),
            "VSYNCER_VIRTUAL_KUBECONFIG": str(virtual_kubeconfig),
            "VSYNCER_KINDS": kinds,
            # Unless a run asks otherwise, vsyncer runs with its own defaults, as users run it.
            **{
                name: str(value)
                for name, value in (
                    ("VSYNCER_WORKERS", workers),
                    ("VSYNCER_HOST_QPS", host_qps),
                    ("VSYNCER_HOST_BURST", host_burst),
                )
                if value is not None
            },
            "VSYNCER_METRICS_BIND": f"127.0.0.1:{self.metrics_port}",
            "VSYNCER_PROBES_BIND": f"127.0.0.1:{self.probes_port}",
            "VSYNCER_LOG_LEVEL": "warning",
            "VSYNCER_LOG_FORMAT": "json",
            **(extra_env or {}),
        }
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> float:
        """Start and wait for ``/readyz``; return the seconds that took."""
        started = time.monotonic()
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "syncer", "run"],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"vsyncer exited with {self.proc.returncode}; log: {self.log}")
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{self.probes_port}/readyz", timeout=1
                ) as r:
                    if r.status == 200:
                        return time.monotonic() - started
            except OSError:
                pass
            if time.monotonic() - started > 300:
                raise RuntimeError(f"vsyncer not ready after 300s; log: {self.log}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def cpu_seconds(self) -> float:
        assert self.proc is not None
        return process_cpu_seconds(self.proc.pid)

    def rss_bytes(self) -> int:
        assert self.proc is not None
        return process_rss_bytes(self.proc.pid)

    def metrics(self) -> dict[str, float]:
        """The scraped samples, ``name{labels}`` → value."""
        with urllib.request.urlopen(
            f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5
        ) as r:
            text = r.read().decode()
        samples: dict[str, float] = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                samples[name] = float(value)
        return samples

    def metric_sum(self, pattern: str) -> float:
        regex = re.compile(pattern)
        return sum(v for k, v in self.metrics().items() if regex.fullmatch(k))


class PodObserver:
    """Watches pods and records when each name was first seen, and which are Running."""

    def __init__(self, *, client: KubeClient, namespace: str | None, selector: str | None) -> None:
        self._client = client
        self._namespace = namespace
        self._selector = selector
        self.first_seen: dict[str, float] = {}
        self.running: set[str] = set()
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        listed = await self._client.list(
            PODS, namespace=self._namespace, label_selector=self._selector
        )
        now = time.monotonic()
        for item in listed.get("items", []):
            self._saw(item, now)
        self._task = asyncio.create_task(self._watch(listed["metadata"]["resourceVersion"]))

    async def _watch(self, rv: str) -> None:
        while True:
            async for event in self._client.watch(
                PODS,
                namespace=self._namespace,
                resource_version=rv,
                timeout_seconds=600,
                label_selector=self._selector,
            ):
                obj = event["object"]
                rv = obj["metadata"].get("resourceVersion", rv)
                if event["type"] in ("ADDED", "MODIFIED"):
                    self._saw(obj, time.monotonic())
                    self._changed.set()

    def _saw(self, obj: dict[str, Any], now: float) -> None:
        name = obj["metadata"]["name"]
        self.first_seen.setdefault(name, now)
        if (obj.get("status") or {}).get("phase") == "Running":
            self.running.add(name)

    async def wait_for(self, names: Iterable[str], *, within: float = 600) -> float:
        """Wait until every name has been seen; return the monotonic time of the last one."""
        wanted = set(names)
        async with asyncio.timeout(within):
            while not wanted <= self.first_seen.keys():
                self._changed.clear()
                await self._changed.wait()
        return max(self.first_seen[n] for n in wanted)

    async def wait_count(self, count: int, *, within: float = 900) -> float:
        """Wait until ``count`` names have been seen; return the monotonic time of the last."""
        async with asyncio.timeout(within):
            while len(self.first_seen) < count:
                self._changed.clear()
                await self._changed.wait()
        return max(self.first_seen.values())

    async def wait_running(self, count: int, *, within: float = 900) -> None:
        async with asyncio.timeout(within):
            while len(self.running) < count:
                self._changed.clear()
                await self._changed.wait()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)


async def bounded(jobs: Iterable[Callable[[], Awaitable[Any]]], *, concurrency: int) -> None:
    """Run the jobs with at most ``concurrency`` in flight."""
    queue: asyncio.Queue[Callable[[], Awaitable[Any]]] = asyncio.Queue()
    for job in jobs:
        queue.put_nowait(job)

    async def worker() -> None:
        while not queue.empty():
            job = queue.get_nowait()
            await job()

    await asyncio.gather(*(worker() for _ in range(concurrency)))


async def ensure_namespaces(client: KubeClient, names: Iterable[str]) -> None:
    for name in names:
        with contextlib.suppress(AlreadyExists):
            await client.create(NAMESPACES, namespace=None, body={"metadata": {"name": name}})


async def wait_for_default_sa(client: KubeClient, namespaces: Iterable[str]) -> None:
    """Pods need the namespace's default service account (created by the controller-manager)."""
    from syncer.resources import SERVICEACCOUNTS

    for ns in namespaces:
        for _ in range(600):
            try:
                await client.get(SERVICEACCOUNTS, namespace=ns, name="default")
                break
            except Exception:
                await asyncio.sleep(0.05)


def host_observer(client: KubeClient, *, namespace: str, vcluster: str) -> PodObserver:
    return PodObserver(
        client=client, namespace=namespace, selector=f"{MANAGED_BY_LABEL}={vcluster}"
    )


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]
