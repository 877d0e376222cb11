"""The scenarios P1, P3, P4, P5 of the benchmarks issue, measured against vsyncer.

P1/P5 run ``run.repeats`` paired rounds (baselines, then vsyncer) and report
medians with the spread; P3/P4 measure the running vsyncer once.

Each scenario drives load into the virtual cluster, watches the host side or
the syncer's ``/metrics``, and stores its figures in ``run.results[<id>]``.
"""

from __future__ import annotations

import asyncio
import statistics
import time

from benchmarks import timeline
from benchmarks.baselines import measure_baseline_p1
from benchmarks.harness import (
    PodObserver,
    SyncerProcess,
    ensure_namespaces,
    wait_for_default_sa,
)
from benchmarks.run import (
    HOST_NS,
    NAMESPACES,
    Run,
    create_virtual,
    ensure_syncer,
    fill_to,
    pod_names,
    settle,
    start_syncer,
    stop_syncer,
)
from syncer.resources import PODS


async def scenario_p1_p5(run: Run) -> None:
    """P1 and P5 in ``run.repeats`` paired rounds: the baselines, then vsyncer's burst."""
    rounds: list[dict[str, float]] = []
    for r in range(run.repeats):
        await stop_syncer(run)
        base = await measure_baseline_p1(run, tag=str(r))
        await ensure_syncer(run)
        await settle(run)
        samples: list[dict[str, float]] = []
        burst = await _p1_burst(run, prefix=f"p1r{r}", samples=samples)
        if r == 0 and run.plots is not None:
            title = f"One P1 burst of {run.n(2000)} pods through vsyncer"
            await asyncio.to_thread(
                timeline.plot, samples, run.plots / "p1-timeline.png", title=title
            )
        syncer_s = burst["syncer_s"]
        rounds.append(
            {
                **base,
                **burst,
                "ratio": syncer_s / base["dual_write_s"],
                "host_ratio": syncer_s / base["host_only_s"],
            }
        )
    keys = ("host_only_s", "dual_write_s", "syncer_s", "ratio", "host_ratio")
    run.results["P1"] = {
        "n": run.n(2000),
        "rounds": len(rounds),
        **{k: statistics.median(x[k] for x in rounds) for k in keys},
        **{f"{k}_spread": [min(x[k] for x in rounds), max(x[k] for x in rounds)] for k in keys},
        "per_round": [{k: x[k] for k in keys} for x in rounds],
    }
    cpu = [x["cpu_s_per_1000"] for x in rounds]
    last = rounds[-1]
    run.results["P5"] = {
        "n": run.n(2000),
        "rounds": len(rounds),
        "cpu_s_per_1000": statistics.median(cpu),
        "cpu_s_per_1000_spread": [min(cpu), max(cpu)],
        # Where the CPU goes, per pod (the last round): reconciles of any kind, API requests.
        **{k: v for k, v in last.items() if k.endswith("_per_pod")},
    }


async def _p1_burst(run: Run, *, prefix: str, samples: list[dict[str, float]]) -> dict[str, float]:
    n = run.n(2000)
    assert run.syncer is not None and run.observer is not None
    v_ns = [f"{prefix}-{i}" for i in range(NAMESPACES)]
    await ensure_namespaces(run.virtual, v_ns)
    await wait_for_default_sa(run.virtual, v_ns)
    names = pod_names(prefix, n, v_ns)
    virtual_running = PodObserver(client=run.virtual, namespace=None, selector=None)
    await virtual_running.start()
    already_running = len(virtual_running.running)
    counts0 = await asyncio.to_thread(_work_counts, run.syncer)
    cpu0 = run.syncer.cpu_seconds()
    started = time.monotonic()

    async def burst() -> float:
        assert run.observer is not None
        await create_virtual(run, names)
        last = await run.observer.wait_for(run.t.host_name(ns, name) for ns, name in names)
        await virtual_running.wait_running(already_running + n)
        return last

    last = await timeline.sampled(run.syncer, burst(), samples)
    syncer_s = last - started
    cpu = run.syncer.cpu_seconds() - cpu0
    counts = await asyncio.to_thread(_work_counts, run.syncer)
    await virtual_running.stop()
    return {
        "syncer_s": syncer_s,
        "cpu_s": cpu,
        "cpu_s_per_1000": cpu / n * 1000,
        **{
            f"{what}_per_pod": (counts[what] - counts0.get(what, 0.0)) / n
            for what in sorted(counts)
        },
    }


def _work_counts(syncer: SyncerProcess) -> dict[str, float]:
    """Reconciles (all kinds) and API requests (both clusters, watches excluded) so far."""
    m = syncer.metrics()
    counts = {
        "reconciles": sum(v for k, v in m.items() if k.startswith("vsyncer_reconcile_total{")),
        "requests": sum(
            v
            for k, v in m.items()
            if k.startswith("vsyncer_rest_requests_total{") and 'verb="watch"' not in k
        ),
    }
    for k, v in m.items():
        labels = _labels(k)
        if k.startswith("vsyncer_rest_requests_total{") and labels.get("verb") != "watch":
            what = f"requests_{labels.get('cluster')}_{labels.get('verb')}"
            counts[what] = counts.get(what, 0.0) + v
        elif k.startswith("vsyncer_reconcile_total{"):
            what = f"reconciles_{labels.get('kind')}"
            counts[what] = counts.get(what, 0.0) + v
    return counts


def _labels(sample: str) -> dict[str, str]:
    inner = sample.partition("{")[2].rstrip("}")
    pairs = (part.split("=", 1) for part in inner.split(",") if "=" in part)
    return {name: value.strip('"') for name, value in pairs}


async def scenario_p4(run: Run) -> None:
    assert run.syncer is not None
    n = run.n(10000)
    await fill_to(run, n)
    await settle(run)
    rss = run.syncer.rss_bytes()
    run.results["P4"] = {
        "n": run.created,
        "rss_empty_bytes": run.rss_empty,
        "rss_bytes": rss,
        "bytes_per_pod": (rss - run.rss_empty) / run.created,
    }


async def scenario_p3(run: Run) -> None:
    assert run.syncer is not None
    n = run.n(10000)
    await fill_to(run, n)
    await settle(run)
    await asyncio.to_thread(run.syncer.stop)
    started = time.monotonic()
    total = 0
    for client, ns in ((run.virtual, None), (run.host, HOST_NS)):
        token = None
        while True:
            page = await client.list(PODS, namespace=ns, limit=500, continue_token=token)
            total += len(page["items"])
            token = page["metadata"].get("continue")
            if not token:
                break
    list_s = time.monotonic() - started
    started = time.monotonic()
    await start_syncer(run)
    syncer = run.syncer
    while True:
        m = await asyncio.to_thread(syncer.metrics)
        reconciled = sum(
            v for k, v in m.items() if k.startswith('vsyncer_reconcile_total{kind="pods"')
        )
        if (
            reconciled >= run.created
            and m.get('workqueue_depth{name="pods"}', 1) == 0
            and m.get('workqueue_unfinished_work_seconds{name="pods"}', 1) == 0
        ):
            break
        if time.monotonic() - started > 600:
            raise TimeoutError("restart did not converge")
        await asyncio.sleep(0.05)
    converge_s = time.monotonic() - started
    writes = sum(
        v
        for k, v in m.items()
        if k.startswith("vsyncer_rest_requests_total{")
        and 'cluster="host"' in k
        and any(f'verb="{verb}"' in k for verb in ("create", "update", "patch", "delete"))
    )
    run.results["P3"] = {
        "n": run.created,
        "listed": total,
        "converge_s": converge_s,
        "list_s": list_s,
        "ratio": converge_s / list_s,
        "host_writes": writes,
    }
