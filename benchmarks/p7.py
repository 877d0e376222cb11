"""P7: vsyncer against vcluster's own syncer on the same burst, each alone, paired rounds.

Each round runs vcluster's syncer (:mod:`benchmarks.vcluster`) and then
vsyncer, each alone against the same clusters with the same host client limits
(:data:`HOST_QPS`, :data:`HOST_BURST`), each into a fresh host namespace, on
the P1 burst (``run.n(2000)`` pods in 10 namespaces, 32 creates in flight).
Per syncer: time to host (first create → last host twin seen), time to
Running (→ last virtual pod Running), its CPU seconds to Running, and its RSS
growth per pod.  The row reports medians over the rounds as vsyncer ÷
vcluster (lower is better for vsyncer), with every round's figures.  After a
round, everything it made is removed (:func:`benchmarks.run.remove_round`):
virtual pods (force-deleted, no syncer runs then), their namespaces, the
virtual nodes the syncer made, the host namespace.  When vcluster cannot be
built, the row is ``not_run`` with the reason and the run goes on.  Not a
test: nothing here asserts.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import time
from typing import Protocol

from benchmarks.harness import (
    PodObserver,
    SyncerProcess,
    ensure_namespaces,
    wait_for_default_sa,
)
from benchmarks.run import NAMESPACES, VCLUSTER, Run, create_virtual, pod_names, remove_round
from benchmarks.vcluster import VclusterSyncer
from benchmarks.vclusterbuild import VclusterBinary, vcluster_binary
from syncer.errors import AlreadyExists
from syncer.localcluster.gotool import BuildError
from syncer.owneranchor import stand_in
from syncer.resources import SERVICES

HOST_QPS = 2000
HOST_BURST = 4000
MEASURES = ("to_host_s", "to_running_s", "cpu_s", "rss_per_pod_bytes")


class Measured(Protocol):
    def cpu_seconds(self) -> float: ...

    def rss_bytes(self) -> int: ...


async def scenario_p7(run: Run) -> None:
    try:
        binary = await asyncio.to_thread(vcluster_binary)
    except (BuildError, OSError) as exc:
        run.results["P7"] = {"not_run": f"vcluster's syncer could not be built: {exc}"}
        return
    n = run.n(2000)
    # vcluster runs as nobody and must reach its files under the run's directory.
    run.workdir.chmod(0o711)
    rounds: dict[str, list[dict[str, float]]] = {"vcluster": [], "vsyncer": []}
    for r in range(run.repeats):
        try:
            rounds["vcluster"].append(await vcluster_round(run, binary, n=n, tag=str(r)))
        except RuntimeError as exc:
            run.results["P7"] = {"not_run": f"vcluster's syncer did not run: {exc}"}
            return
        rounds["vsyncer"].append(await vsyncer_round(run, n=n, tag=str(r)))
    medians = {
        who: {m: statistics.median(x[m] for x in figures) for m in MEASURES}
        for who, figures in rounds.items()
    }
    run.results["P7"] = {
        "n": n,
        "rounds": run.repeats,
        "host_qps": HOST_QPS,
        "vcluster": medians["vcluster"],
        "vsyncer": medians["vsyncer"],
        "ratio": {m: medians["vsyncer"][m] / medians["vcluster"][m] for m in MEASURES},
        "per_round": rounds,
    }


async def vcluster_round(run: Run, binary: VclusterBinary, *, n: int, tag: str) -> dict[str, float]:
    """vcluster's syncer alone on an ``n``-pod burst (``tag`` names its namespaces)."""
    syncer = VclusterSyncer(
        binary=binary,
        plane=run.plane,
        directory=run.workdir / f"p7-vcluster-{tag}",
        name="p7vc",
        host_namespace=f"p7-vcluster-{tag}",
        host_qps=HOST_QPS,
        host_burst=HOST_BURST,
    )
    try:
        await asyncio.to_thread(syncer.start)
        return await _burst(run, syncer, n=n, prefix=f"p7vc{tag}", host_ns=syncer.host_namespace)
    finally:
        await asyncio.to_thread(syncer.stop)
        await remove_round(
            run, virtual_namespaces=_namespaces(f"p7vc{tag}"), host_namespace=syncer.host_namespace
        )


async def vsyncer_round(run: Run, *, n: int, tag: str) -> dict[str, float]:
    """A vsyncer of its own, alone on an ``n``-pod burst (``tag`` names its namespaces)."""
    host_ns = f"p7-vsyncer-{tag}"
    await ensure_namespaces(run.host, [host_ns])
    await wait_for_default_sa(run.host, [host_ns])
    with contextlib.suppress(AlreadyExists):
        await run.host.create(
            SERVICES, namespace=host_ns, body=stand_in(namespace=host_ns, name=VCLUSTER)
        )
    syncer = SyncerProcess(
        host_kubeconfig=run.plane.host.kubeconfig,
        virtual_kubeconfig=run.plane.virtual.kubeconfig,
        host_namespace=host_ns,
        vcluster=VCLUSTER,
        log=run.workdir / f"p7-vsyncer-{tag}.log",
        workers=run.workers,
        host_qps=HOST_QPS,
        host_burst=HOST_BURST,
    )
    try:
        await asyncio.to_thread(syncer.start)
        return await _burst(run, syncer, n=n, prefix=f"p7vs{tag}", host_ns=host_ns)
    finally:
        await asyncio.to_thread(syncer.stop)
        await remove_round(
            run, virtual_namespaces=_namespaces(f"p7vs{tag}"), host_namespace=host_ns
        )


async def _burst(
    run: Run, syncer: Measured, *, n: int, prefix: str, host_ns: str
) -> dict[str, float]:
    v_ns = _namespaces(prefix)
    await ensure_namespaces(run.virtual, v_ns)
    await wait_for_default_sa(run.virtual, v_ns)
    names = pod_names(prefix, n, v_ns)
    host = PodObserver(client=run.host, namespace=host_ns, selector=None)
    virtual = PodObserver(client=run.virtual, namespace=None, selector=None)
    await host.start()
    await virtual.start()
    try:
        already = len(virtual.running)
        await asyncio.sleep(1.0)
        cpu0, rss0 = syncer.cpu_seconds(), syncer.rss_bytes()
        started = time.monotonic()
        await create_virtual(run, names)
        run.created -= n  # removed again after the round: not part of later scenarios' count
        last = await host.wait_count(n)
        await virtual.wait_running(already + n)
        running = time.monotonic()
        return {
            "to_host_s": last - started,
            "to_running_s": running - started,
            "cpu_s": syncer.cpu_seconds() - cpu0,
            "rss_per_pod_bytes": (syncer.rss_bytes() - rss0) / n,
        }
    finally:
        await host.stop()
        await virtual.stop()


def _namespaces(prefix: str) -> list[str]:
    return [f"{prefix}-{i}" for i in range(NAMESPACES)]
