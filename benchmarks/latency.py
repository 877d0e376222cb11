"""P2 and P6: latency through vsyncer as a ratio against the relay, paired rounds.

The baseline is :mod:`benchmarks.relay` (one watch, one create per pod, a FIFO
drained by as many workers as vsyncer has), run alone on the same clusters,
back to back with vsyncer in each round (``run.repeats`` rounds); each
measures virtual create acknowledged → host twin first seen by a watch.

* P2 — steady state: pods created at 25 % of the dual-write burst throughput
  measured in the same run (so the machine can sustain the rate) for 60 s
  (6 s with ``--quick``).  Goal: vsyncer p50 ≤ relay p50 + 5 ms and p99 ≤
  1.5 x relay p99, at the medians over the rounds.
* P6 — fairness: during a ``run.n(2000)``-pod burst into namespace A, one pod
  every 0.2 s into namespace B; B's p99 through vsyncer ÷ B's p99 through the
  relay under the same burst.  Goal ≤ 1.0: vsyncer's fair queue must serve B
  better than the relay's FIFO.

The relay's rounds and their pods are removed before vsyncer starts again (it
must not find them); vsyncer is settled (empty queue) before each of its
rounds.  Not a test: nothing here asserts.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable

from benchmarks.baselines import baseline_p1
from benchmarks.harness import (
    PodObserver,
    ensure_namespaces,
    percentile,
    wait_for_default_sa,
)
from benchmarks.pods import pod
from benchmarks.relay import RelayProcess
from benchmarks.run import (
    VCLUSTER,
    Run,
    create_virtual,
    ensure_syncer,
    pod_names,
    remove_round,
    settle,
    stop_syncer,
)
from syncer.resources import PODS

#: A round: given the observer of the host side and a name prefix, the latencies in seconds.
Round = Callable[[Run, PodObserver, str], Awaitable[list[float]]]


async def scenario_p2(run: Run) -> None:
    if "P1" not in run.results:
        await stop_syncer(run)
        await baseline_p1(run)
    p1 = run.results["P1"]
    rate = max(1.0, 0.25 * p1["n"] / p1["dual_write_s"])
    seconds = 6 if run.quick else 60

    async def steady(run: Run, observer: PodObserver, prefix: str) -> list[float]:
        return await _steady(run, observer, prefix=prefix, rate=rate, seconds=seconds)

    relay, vsyncer = await _paired(run, "p2", steady)
    run.results["P2"] = {
        "rate": rate,
        "seconds": seconds,
        **_summary(relay, vsyncer),
    }


async def scenario_p6(run: Run) -> None:
    n = run.n(2000)

    async def fair(run: Run, observer: PodObserver, prefix: str) -> list[float]:
        return await _fair(run, observer, prefix=prefix, burst=n)

    relay, vsyncer = await _paired(run, "p6", fair)
    summary = _summary(relay, vsyncer)
    run.results["P6"] = {
        "burst": n,
        "quiet_pods": len(vsyncer[0]),
        **summary,
        "ratio": summary["p99_ms"] / summary["relay_p99_ms"],
    }


async def _paired(run: Run, sid: str, measure: Round) -> tuple[list[list[float]], ...]:
    """``run.repeats`` rounds of (relay, vsyncer); each side's latencies per round."""
    relay: list[list[float]] = []
    vsyncer: list[list[float]] = []
    for r in range(run.repeats):
        await stop_syncer(run)
        host_ns = f"{sid}-relay-{r}"
        await ensure_namespaces(run.host, [host_ns])
        await wait_for_default_sa(run.host, [host_ns])
        process = RelayProcess(
            host_kubeconfig=run.plane.host.kubeconfig,
            virtual_kubeconfig=run.plane.virtual.kubeconfig,
            host_namespace=host_ns,
            vcluster=VCLUSTER,
            log=run.workdir / f"{host_ns}.log",
            workers=run.workers or 32,
        )
        observer = PodObserver(client=run.host, namespace=host_ns, selector=None)
        await observer.start()
        prefix = f"{sid}r{r}"
        created = run.created
        try:
            await asyncio.to_thread(process.start)
            relay.append(await measure(run, observer, prefix))
        finally:
            await asyncio.to_thread(process.stop)
            await observer.stop()
        run.created = created  # the relay's pods are removed now
        await remove_round(
            run, virtual_namespaces=_namespaces(prefix), host_namespace=host_ns, nodes=False
        )
        await ensure_syncer(run)
        await settle(run)
        assert run.observer is not None
        vsyncer.append(await measure(run, run.observer, f"{sid}v{r}"))
    return relay, vsyncer


def _namespaces(prefix: str) -> list[str]:
    return [f"{prefix}-a", f"{prefix}-b"]


def _summary(relay: list[list[float]], vsyncer: list[list[float]]) -> dict[str, float]:
    """Median over rounds of each round's p50/p99 (ms), and the spread of vsyncer's p99."""

    def med(rounds: list[list[float]], q: float) -> float:
        return statistics.median(percentile(lat, q) * 1000 for lat in rounds)

    p99s = [percentile(lat, 0.99) * 1000 for lat in vsyncer]
    return {
        "rounds": len(vsyncer),
        "p50_ms": med(vsyncer, 0.5),
        "p99_ms": med(vsyncer, 0.99),
        "relay_p50_ms": med(relay, 0.5),
        "relay_p99_ms": med(relay, 0.99),
        "p99_min_ms": min(p99s),
        "p99_max_ms": max(p99s),
    }


async def _steady(
    run: Run, observer: PodObserver, *, prefix: str, rate: float, seconds: int
) -> list[float]:
    ns = _namespaces(prefix)[0]
    await ensure_namespaces(run.virtual, [ns])
    await wait_for_default_sa(run.virtual, [ns])
    acked: dict[str, float] = {}

    async def one(name: str) -> None:
        await run.virtual.create(PODS, namespace=ns, body=pod(name, namespace=ns))
        acked[name] = time.monotonic()

    tasks: list[asyncio.Task[None]] = []
    started = time.monotonic()
    for i in range(int(rate * seconds)):
        delay = started + i / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(f"{prefix}-{i}")))
    await asyncio.gather(*tasks)
    run.created += len(acked)
    return await _latencies(run, observer, ns, acked)


async def _fair(run: Run, observer: PodObserver, *, prefix: str, burst: int) -> list[float]:
    ns_a, ns_b = _namespaces(prefix)
    await ensure_namespaces(run.virtual, [ns_a, ns_b])
    await wait_for_default_sa(run.virtual, [ns_a, ns_b])
    loud = asyncio.create_task(create_virtual(run, pod_names(f"{prefix}a", burst, [ns_a])))
    quiet: dict[str, float] = {}
    i = 0
    while not loud.done() or i < 5:
        name = f"{prefix}b-{i}"
        await run.virtual.create(PODS, namespace=ns_b, body=pod(name, namespace=ns_b))
        quiet[name] = time.monotonic()
        run.created += 1
        i += 1
        await asyncio.sleep(0.2)
    await loud
    # The burst's twins too, so the next round starts on an idle syncer.
    loud_names = pod_names(f"{prefix}a", burst, [ns_a])
    await observer.wait_for(run.t.host_name(ns_a, name) for _, name in loud_names)
    return await _latencies(run, observer, ns_b, quiet)


async def _latencies(
    run: Run, observer: PodObserver, ns: str, acked: dict[str, float]
) -> list[float]:
    await observer.wait_for(run.t.host_name(ns, name) for name in acked)
    return [observer.first_seen[run.t.host_name(ns, name)] - t for name, t in acked.items()]
