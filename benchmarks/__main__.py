"""``python -m benchmarks [--quick] [--only P1,P4] [--json PATH]``.

Starts its own host and virtual clusters through :mod:`syncer.localcluster`,
runs the scenarios of the benchmarks issue against them with the syncer as a
separate process, and compares with a baseline measured in the same run on the
same API servers: a direct client doing the same API work with the same
concurrency.  Prints a table (target, measured, pass/fail) and writes JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.harness import (
    PodObserver,
    SyncerProcess,
    bounded,
    ensure_namespaces,
    host_observer,
    percentile,
    wait_for_default_sa,
)
from benchmarks.pods import pod
from syncer.kube import KubeClient
from syncer.localcluster import ControlPlane, build
from syncer.localcluster.build import KUBERNETES_VERSION
from syncer.resources import NAMESPACES as NAMESPACES_R
from syncer.resources import PODS
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
    workers: int = CONCURRENCY

    def n(self, full: int) -> int:
        return max(1, full // 10) if self.quick else full

    def wants(self, sid: str) -> bool:
        return not self.only or sid in self.only


async def _create_virtual(run: Run, names: list[tuple[str, str]]) -> dict[str, float]:
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


def _names(prefix: str, n: int, namespaces: list[str]) -> list[tuple[str, str]]:
    return [(namespaces[i % len(namespaces)], f"{prefix}-{i}") for i in range(n)]


async def _start_syncer(run: Run) -> float:
    syncer = SyncerProcess(
        host_kubeconfig=run.plane.host.kubeconfig,
        virtual_kubeconfig=run.plane.virtual.kubeconfig,
        host_namespace=HOST_NS,
        vcluster=VCLUSTER,
        log=run.workdir / "vsyncer.log",
        workers=run.workers,
    )
    seconds = await asyncio.to_thread(syncer.start)
    run.syncer = syncer
    return seconds


async def baseline_p1(run: Run, n: int) -> None:
    """Host-only and dual-write creation of n pods with the same client and concurrency."""
    host_ns = ["direct-host"]
    await ensure_namespaces(run.host, host_ns)
    await wait_for_default_sa(run.host, host_ns)

    def host_job(i: int) -> Callable[[], Any]:
        async def create() -> None:
            body = pod(f"h-{i}", namespace="direct-host")
            await run.host.create(PODS, namespace="direct-host", body=body)

        return create

    started = time.monotonic()
    await bounded((host_job(i) for i in range(n)), concurrency=CONCURRENCY)
    host_only = time.monotonic() - started

    v_ns = [f"dw-{i}" for i in range(NAMESPACES)]
    await ensure_namespaces(run.virtual, v_ns)
    await ensure_namespaces(run.host, ["direct-dw"])
    await wait_for_default_sa(run.virtual, v_ns)
    await wait_for_default_sa(run.host, ["direct-dw"])

    def job(ns: str, name: str) -> Callable[[], Any]:
        async def both() -> None:
            await run.virtual.create(PODS, namespace=ns, body=pod(name, namespace=ns))
            twin = pod(run.t.host_name(ns, name), namespace="direct-dw")
            await run.host.create(PODS, namespace="direct-dw", body=twin)

        return both

    started = time.monotonic()
    await bounded((job(ns, name) for ns, name in _names("dw", n, v_ns)), concurrency=CONCURRENCY)
    run.results["P1"] = {
        "n": n,
        "host_only_s": host_only,
        "dual_write_s": time.monotonic() - started,
    }
    # The syncer must not find the baseline's virtual pods: remove them before it starts.
    for ns in v_ns:
        await run.virtual.delete(NAMESPACES_R, namespace=None, name=ns)
    async with asyncio.timeout(300):
        for ns in v_ns:
            while (await run.virtual.list(PODS, namespace=ns, limit=1))["items"]:
                await asyncio.sleep(0.5)


async def scenario_p1_p5(run: Run) -> None:
    n = run.n(2000)
    assert run.syncer is not None and run.observer is not None
    v_ns = [f"p1-{i}" for i in range(NAMESPACES)]
    await ensure_namespaces(run.virtual, v_ns)
    await wait_for_default_sa(run.virtual, v_ns)
    names = _names("p1", n, v_ns)
    virtual_running = PodObserver(client=run.virtual, namespace=None, selector=None)
    await virtual_running.start()
    already_running = len(virtual_running.running)
    counts0 = await asyncio.to_thread(_work_counts, run.syncer)
    cpu0 = run.syncer.cpu_seconds()
    started = time.monotonic()
    await _create_virtual(run, names)
    last = await run.observer.wait_for(run.t.host_name(ns, name) for ns, name in names)
    syncer_s = last - started
    await virtual_running.wait_running(already_running + n)
    cpu = run.syncer.cpu_seconds() - cpu0
    counts = await asyncio.to_thread(_work_counts, run.syncer)
    await virtual_running.stop()
    p1 = run.results["P1"]
    p1.update({"syncer_s": syncer_s, "ratio": syncer_s / p1["dual_write_s"]})
    run.results["P5"] = {
        "n": n,
        "cpu_s": cpu,
        "cpu_s_per_1000": cpu / n * 1000,
        # Where the CPU goes, per pod: reconciles of any kind, and API requests.
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


async def scenario_p6(run: Run) -> None:
    assert run.observer is not None
    n = run.n(2000)
    await ensure_namespaces(run.virtual, ["p6-a", "p6-b"])
    await wait_for_default_sa(run.virtual, ["p6-a", "p6-b"])
    burst = asyncio.create_task(_create_virtual(run, _names("p6a", n, ["p6-a"])))
    quiet: dict[str, float] = {}
    i = 0
    while not burst.done() or i < 5:
        name = f"p6b-{i}"
        await run.virtual.create(PODS, namespace="p6-b", body=pod(name, namespace="p6-b"))
        quiet[name] = time.monotonic()
        run.created += 1
        i += 1
        await asyncio.sleep(0.2)
    await burst
    await run.observer.wait_for(run.t.host_name("p6-b", name) for name in quiet)
    latencies = [run.observer.first_seen[run.t.host_name("p6-b", k)] - v for k, v in quiet.items()]
    run.results["P6"] = {
        "burst": n,
        "quiet_pods": len(quiet),
        "p50_ms": percentile(latencies, 0.5) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
    }


async def scenario_p2(run: Run) -> None:
    assert run.observer is not None
    rate, seconds = 50, (6 if run.quick else 60)
    await ensure_namespaces(run.virtual, ["p2"])
    await wait_for_default_sa(run.virtual, ["p2"])
    acked: dict[str, float] = {}
    tasks: list[asyncio.Task[None]] = []

    async def one(name: str) -> None:
        await run.virtual.create(PODS, namespace="p2", body=pod(name, namespace="p2"))
        acked[name] = time.monotonic()

    started = time.monotonic()
    for i in range(rate * seconds):
        delay = started + i / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(f"p2-{i}")))
    await asyncio.gather(*tasks)
    run.created += len(acked)
    await run.observer.wait_for(run.t.host_name("p2", name) for name in acked)
    latencies = [run.observer.first_seen[run.t.host_name("p2", k)] - v for k, v in acked.items()]
    run.results["P2"] = {
        "rate": rate,
        "seconds": seconds,
        "p50_ms": percentile(latencies, 0.5) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
    }


async def _fill_to(run: Run, total: int) -> None:
    assert run.observer is not None
    missing = total - run.created
    if missing <= 0:
        return
    v_ns = [f"fill-{i}" for i in range(NAMESPACES)]
    await ensure_namespaces(run.virtual, v_ns)
    await wait_for_default_sa(run.virtual, v_ns)
    names = _names("fill", missing, v_ns)
    await _create_virtual(run, names)
    await run.observer.wait_for(run.t.host_name(ns, name) for ns, name in names)


async def scenario_p4(run: Run) -> None:
    assert run.syncer is not None
    n = run.n(10000)
    await _fill_to(run, n)
    await _settle(run)
    rss = run.syncer.rss_bytes()
    run.results["P4"] = {
        "n": run.created,
        "rss_empty_bytes": run.rss_empty,
        "rss_bytes": rss,
        "bytes_per_pod": (rss - run.rss_empty) / run.created,
    }


async def _settle(run: Run, *, within: float = 600) -> None:
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


async def scenario_p3(run: Run) -> None:
    assert run.syncer is not None
    n = run.n(10000)
    await _fill_to(run, n)
    await _settle(run)
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
    await _start_syncer(run)
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


TARGETS: dict[str, tuple[str, Callable[[dict[str, Any]], float], float]] = {
    "P1": ("syncer ÷ dual-write ≤ 1.10", lambda r: r["ratio"], 1.10),
    "P2": ("p99 ≤ 100 ms (p50 ≤ 20 ms)", lambda r: r["p99_ms"], 100.0),
    "P3": ("converge ÷ list ≤ 1.3", lambda r: r["ratio"], 1.3),
    "P4": ("≤ 8 KB per pod", lambda r: r["bytes_per_pod"] / 1024, 8.0),
    "P5": ("≤ 2.0 CPU-s per 1,000 pods", lambda r: r["cpu_s_per_1000"], 2.0),
    "P6": ("B's p99 ≤ 1 s", lambda r: r["p99_ms"] / 1000, 1.0),
}


def _passes(sid: str, result: dict[str, Any]) -> bool:
    _, measure, limit = TARGETS[sid]
    ok = measure(result) <= limit
    if sid == "P2":
        ok = ok and result["p50_ms"] <= 20.0
    return ok


def _shown(sid: str, r: dict[str, Any]) -> str:
    if sid == "P1":
        return f"{r['syncer_s']:.1f} s vs {r['dual_write_s']:.1f} s → {r['ratio']:.2f}"
    if sid == "P2":
        return f"p50 {r['p50_ms']:.0f} ms, p99 {r['p99_ms']:.0f} ms"
    if sid == "P3":
        return f"{r['converge_s']:.1f} s vs list {r['list_s']:.1f} s → {r['ratio']:.2f}"
    if sid == "P4":
        return f"{r['bytes_per_pod'] / 1024:.1f} KB per pod ({r['n']} pods)"
    if sid == "P5":
        return f"{r['cpu_s_per_1000']:.2f} CPU-s per 1,000"
    return f"p99 {r['p99_ms']:.0f} ms (p50 {r['p50_ms']:.0f} ms)"


def table(results: dict[str, dict[str, Any]]) -> str:
    lines = ["| id | target | measured | pass |", "|---|---|---|---|"]
    for sid in sorted(results):
        r = results[sid]
        verdict = "pass" if _passes(sid, r) else "FAIL"
        lines.append(f"| {sid} | {TARGETS[sid][0]} | {_shown(sid, r)} | {verdict} |")
    return "\n".join(lines)


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    binaries = build().binaries
    only = {s.strip().upper() for s in args.only.split(",")} if args.only else set()
    with tempfile.TemporaryDirectory(prefix="vsyncer-bench-") as tmp:
        workdir = Path(tmp)
        plane = ControlPlane(binaries=binaries, run_dir=workdir / "plane", nodes=3)
        await asyncio.to_thread(plane.start)
        try:
            host = await KubeClient.connect(
                cluster="host", kubeconfig=str(plane.host.kubeconfig), pool_size=64
            )
            virtual = await KubeClient.connect(
                cluster="virtual", kubeconfig=str(plane.virtual.kubeconfig), pool_size=64
            )
            run = Run(
                quick=args.quick,
                only=only,
                host=host,
                virtual=virtual,
                plane=plane,
                workdir=workdir,
                workers=args.workers,
            )
            await ensure_namespaces(host, [HOST_NS])
            await wait_for_default_sa(host, [HOST_NS])
            if run.wants("P1"):
                await baseline_p1(run, run.n(2000))
            await _start_syncer(run)
            assert run.syncer is not None
            await asyncio.sleep(1.0)
            run.rss_empty = run.syncer.rss_bytes()
            run.observer = host_observer(host, namespace=HOST_NS, vcluster=VCLUSTER)
            await run.observer.start()
            try:
                if run.wants("P1") or run.wants("P5"):
                    await scenario_p1_p5(run)
                if run.wants("P6"):
                    await scenario_p6(run)
                if run.wants("P2"):
                    await scenario_p2(run)
                if run.wants("P4"):
                    await scenario_p4(run)
                if run.wants("P3"):
                    await scenario_p3(run)
            finally:
                await run.observer.stop()
                if run.syncer is not None:
                    await asyncio.to_thread(run.syncer.stop)
                await host.close()
                await virtual.close()
        finally:
            await asyncio.to_thread(plane.stop)
    results = {k: v for k, v in run.results.items() if not only or k in only}
    return {
        "kubernetes": KUBERNETES_VERSION,
        "python": platform.python_version(),
        "quick": bool(args.quick),
        "workers": args.workers,
        "scenarios": results,
    }


BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"


def write_results(path: Path, report: dict[str, Any]) -> None:
    """Refresh the generated section of RESULTS.md, keeping the hand-written rest."""
    import datetime as dt
    import os
    import subprocess

    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    machine = (
        f"{platform.machine()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}"
    )
    section = "\n".join(
        [
            BEGIN,
            f"Run {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC on commit `{commit or 'unknown'}`; "
            f"machine: {machine}; Python {report['python']}; Kubernetes {report['kubernetes']}"
            f"{'; --quick' if report['quick'] else ''}.",
            "",
            table(report["scenarios"]),
            "",
            "```json",
            json.dumps(report["scenarios"], indent=2),
            "```",
            END,
        ]
    )
    text = path.read_text() if path.exists() else f"# Benchmark results\n\n{BEGIN}\n{END}\n"
    if BEGIN in text and END in text:
        head, _, rest = text.partition(BEGIN)
        _, _, tail = rest.partition(END)
        text = head + section + tail
    else:
        text += "\n" + section + "\n"
    path.write_text(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("--quick", action="store_true", help="scale N down 10x")
    parser.add_argument("--only", default="", help="comma-separated scenario ids, e.g. P1,P4")
    parser.add_argument("--json", type=Path, default=None, help="write results here")
    parser.add_argument("--results", type=Path, default=None, help="refresh this RESULTS.md")
    parser.add_argument(
        "--workers",
        type=int,
        default=CONCURRENCY,
        help=f"syncer workers per kind (default {CONCURRENCY}: the baselines' concurrency)",
    )
    args = parser.parse_args(argv)
    report = asyncio.run(main_async(args))
    print(table(report["scenarios"]))
    if args.json is not None:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    if args.results is not None:
        write_results(args.results, report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
