"""One benchmark run: its state, the syncer process it starts, the virtual pods it creates.

A :class:`Run` holds the clients of both clusters, the results so far and the
syncer and host-side observer once started.  Pods are created with the
baselines' concurrency; :func:`settle` waits until the syncer's pod queue is
empty with nothing in flight.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.harness import (
    PodObserver,
    SyncerProcess,
    bounded,
    ensure_namespaces,
    host_observer,
    wait_for_default_sa,
)
from benchmarks.pods import pod
from syncer.errors import AlreadyExists, NotFound, ServerError
from syncer.kube import KubeClient
from syncer.localcluster import ControlPlane
from syncer.localcluster.processes import free_port
from syncer.owneranchor import stand_in
from syncer.resources import NAMESPACES as NAMESPACES_R
from syncer.resources import NODES, PODS, SERVICES
from syncer.translate import Translator

VCLUSTER = "bench"
HOST_NS = "vcluster-bench"
CONCURRENCY = 32
NAMESPACES = 10


@dataclass
class Run:
    quick: bool
    only: set[str]
    host: KubeClient
    virtual: KubeClient
    plane: ControlPlane
    workdir: Path
    t: Translator = field(
        default_factory=lambda: Translator(vcluster=VCLUSTER, host_namespace=HOST_NS)
    )
    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    created: int = 0
    syncer: SyncerProcess | None = None
    observer: PodObserver | None = None
    rss_empty: int = 0
    workers: int | None = None  # None: vsyncer's default
    #: rounds of each paired (baseline, syncer) ratio scenario; medians are reported
    repeats: int = 3
    #: where the PNGs go (None: no plots)
    plots: Path | None = None
    scale_50k: bool = False
    #: the scale curve's N, as given (None: SIZES, scaled by --quick)
    scale_sizes: tuple[int, ...] | None = None

    def n(self, full: int) -> int:
        return max(1, full // 10) if self.quick else full

    def wants(self, sid: str) -> bool:
        return not self.only or sid in self.only


@dataclass(frozen=True)
class Scenario:
    """One entry of the benchmark's registry: the coroutine and the ids it measures.

    ``with_syncer``: True runs it while vsyncer runs (started if needed, with the
    host-side observer); False runs it with vsyncer stopped (a baseline, or a
    scenario that starts its own processes).
    """

    ids: tuple[str, ...]
    run: Callable[[Run], Awaitable[None]]
    with_syncer: bool = True


async def run_scenario(run: Run, scenario: Scenario) -> None:
    """Bring vsyncer into the state the scenario needs, then run it."""
    if scenario.with_syncer:
        await ensure_syncer(run)
    else:
        await stop_syncer(run)
    await scenario.run(run)


async def ensure_syncer(run: Run) -> None:
    """Start vsyncer and the host-side observer unless they run; record the RSS of the first
    start (an empty virtual cluster) for P4."""
    if run.syncer is None:
        syncer = await start_syncer(run)
        if not run.rss_empty:
            # Only the first start finds an empty virtual cluster; later ones list what it holds.
            await asyncio.sleep(1.0)
            run.rss_empty = syncer.rss_bytes()
    if run.observer is None:
        run.observer = host_observer(run.host, namespace=HOST_NS, vcluster=VCLUSTER)
        await run.observer.start()


async def stop_syncer(run: Run) -> None:
    """Stop the host-side observer and vsyncer if they run."""
    if run.observer is not None:
        await run.observer.stop()
        run.observer = None
    if run.syncer is not None:
        await asyncio.to_thread(run.syncer.stop)
        run.syncer = None


async def create_virtual(run: Run, names: list[tuple[str, str]]) -> dict[str, float]:
    """Create pods in virtual; return each pod's create-acknowledged time."""
    acked: dict[str, float] = {}

    def job(ns: str, name: str) -> Callable[[], Any]:
        async def create() -> None:
            await run.virtual.create(
                PODS, namespace=ns, body=pod(name, namespace=ns, index=len(acked))
            )
            acked[name] = time.monotonic()

        return create

    await bounded((job(ns, name) for ns, name in names), concurrency=CONCURRENCY)
    run.created += len(names)
    return acked


def pod_names(prefix: str, n: int, namespaces: list[str]) -> list[tuple[str, str]]:
    return [(namespaces[i % len(namespaces)], f"{prefix}-{i}") for i in range(n)]


async def start_syncer(run: Run) -> SyncerProcess:
    """Start vsyncer (with its owner anchor) and wait until it is ready; ``run.syncer`` is it."""
    # The owner anchor a chart would create (syncer.owneranchor): vsyncer creates nothing before.
    with contextlib.suppress(AlreadyExists):
        await run.host.create(
            SERVICES, namespace=HOST_NS, body=stand_in(namespace=HOST_NS, name=VCLUSTER)
        )
    syncer = SyncerProcess(
        host_kubeconfig=run.plane.host.kubeconfig,
        virtual_kubeconfig=run.plane.virtual.kubeconfig,
        host_namespace=HOST_NS,
        vcluster=VCLUSTER,
        log=run.workdir / "vsyncer.log",
        workers=run.workers,
        extra_env=kubelet_env(run.plane, port=free_port()),
    )
    await asyncio.to_thread(syncer.start)
    run.syncer = syncer
    return syncer


def kubelet_env(plane: ControlPlane, *, port: int) -> dict[str, str]:
    """The settings that turn on vsyncer's kubelet server on 127.0.0.1:``port`` (for P8/P9)."""
    return {
        "VSYNCER_KUBELET_BIND": f"127.0.0.1:{port}",
        "VSYNCER_KUBELET_ADDRESS": "127.0.0.1",
        "VSYNCER_KUBELET_CLIENT_CA": str(plane.virtual.kubelet_client_ca),
    }


async def fill_to(run: Run, total: int) -> None:
    assert run.observer is not None
    missing = total - run.created
    if missing <= 0:
        return
    v_ns = [f"fill-{i}" for i in range(NAMESPACES)]
    await ensure_namespaces(run.virtual, v_ns)
    await wait_for_default_sa(run.virtual, v_ns)
    names = pod_names("fill", missing, v_ns)
    await create_virtual(run, names)
    await run.observer.wait_for(run.t.host_name(ns, name) for ns, name in names)


async def settle(run: Run, *, within: float = 600) -> None:
    """Wait until the syncer's pod queue is empty with nothing in flight."""
    assert run.syncer is not None
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        m = await asyncio.to_thread(run.syncer.metrics)
        if (
            m.get('workqueue_depth{name="pods"}', 1) == 0
            and m.get('workqueue_unfinished_work_seconds{name="pods"}', 1) == 0
        ):
            return
        await asyncio.sleep(0.2)
    raise TimeoutError("the syncer did not settle")


async def remove_round(
    run: Run, *, virtual_namespaces: list[str], host_namespace: str | None, nodes: bool = True
) -> None:
    """Remove a round's virtual pods (force-deleted: no syncer runs then) and namespaces, the
    virtual nodes (unless ``nodes`` is False) and the host namespace with its pods (ours, made
    by the round; force-deleted); wait until they are gone."""
    force = {"apiVersion": "v1", "kind": "DeleteOptions", "gracePeriodSeconds": 0}
    for ns in virtual_namespaces:
        # A loaded API server may time a large collection delete out (504): the namespace's
        # deletion removes what is left, and the wait below covers both.
        with contextlib.suppress(NotFound, ServerError):
            await run.virtual.request("delete", "DELETE", PODS.path(namespace=ns), body=force)
        with contextlib.suppress(NotFound):
            await run.virtual.delete(NAMESPACES_R, namespace=None, name=ns)
    if nodes:
        for node in (await run.virtual.list(NODES)).get("items", []):
            with contextlib.suppress(NotFound):
                await run.virtual.delete(NODES, namespace=None, name=node["metadata"]["name"])
    gone = [(run.virtual, ns) for ns in virtual_namespaces]
    if host_namespace is not None:
        # Force-deleted too: kwok's graceful deletion of thousands of pods takes minutes.
        with contextlib.suppress(NotFound, ServerError):
            path = PODS.path(namespace=host_namespace)
            await run.host.request("delete", "DELETE", path, body=force)
        with contextlib.suppress(NotFound):
            await run.host.delete(NAMESPACES_R, namespace=None, name=host_namespace)
        gone.append((run.host, host_namespace))
    async with asyncio.timeout(1200):
        for client, name in gone:
            while True:
                try:
                    await client.get(NAMESPACES_R, namespace=None, name=name)
                except NotFound:
                    break
                await asyncio.sleep(0.5)
