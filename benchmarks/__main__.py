"""``python -m benchmarks [--quick] [--only P1,P4] [--json PATH]``.

Starts its own host and virtual clusters through :mod:`syncer.localcluster`,
runs the scenarios of the benchmarks issue against them with the syncer as a
separate process, and compares with a baseline measured in the same run on the
same API servers: a direct client doing the same API work with the same
concurrency.  Prints a table (target, measured, pass/fail) and writes JSON.

The scenarios run in the order of :data:`SCENARIOS`, the registry.  The parts:
the run's state and load in :mod:`benchmarks.run`, the baseline in
:mod:`benchmarks.baselines`, the scenarios in :mod:`benchmarks.scenarios` (P8/P9,
the kubelet API, in :mod:`benchmarks.kubeletapi`), the targets, table and
RESULTS.md section in :mod:`benchmarks.report`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import sys
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.customresources import scenario_p10
from benchmarks.harness import ensure_namespaces, wait_for_default_sa
from benchmarks.kubeletapi import scenario_p8_p9
from benchmarks.latency import scenario_p2, scenario_p6
from benchmarks.load import LoadMeter, describe
from benchmarks.p7 import scenario_p7
from benchmarks.report import table, write_results
from benchmarks.run import HOST_NS, Run, Scenario, run_scenario, stop_syncer
from benchmarks.scale import scenario_scale
from benchmarks.scenarios import scenario_p1_p5, scenario_p3, scenario_p4
from benchmarks.sleep import scenario_p11
from syncer.kube import KubeClient
from syncer.localcluster import ControlPlane, build
from syncer.localcluster.build import KUBERNETES_VERSION

#: The scenarios in run order: the ids each serves, its coroutine, whether vsyncer runs during
#: it.  A new scenario is one line here (and its target in benchmarks.report).
SCENARIOS: tuple[Scenario, ...] = (
    Scenario(ids=("P7",), run=scenario_p7, with_syncer=False),
    Scenario(ids=("SCALE",), run=scenario_scale, with_syncer=False),
    Scenario(ids=("P1", "P5"), run=scenario_p1_p5, with_syncer=False),
    Scenario(ids=("P6",), run=scenario_p6, with_syncer=False),
    Scenario(ids=("P2",), run=scenario_p2, with_syncer=False),
    Scenario(ids=("P4",), run=scenario_p4),
    Scenario(ids=("P3",), run=scenario_p3),
    Scenario(ids=("P8", "P9"), run=scenario_p8_p9),
    Scenario(ids=("P10",), run=scenario_p10, with_syncer=False),
    Scenario(ids=("P11",), run=scenario_p11, with_syncer=False),
)


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    binaries = build().binaries
    only = {s.strip().upper() for s in args.only.split(",")} if args.only else set()
    meter = LoadMeter()
    await meter.start()
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
                repeats=args.repeats,
                plots=args.plots,
                scale_50k=args.scale_50k,
                scale_sizes=tuple(int(x) for x in args.scale_sizes.split(",") if x.strip()) or None,
            )
            await ensure_namespaces(host, [HOST_NS])
            await wait_for_default_sa(host, [HOST_NS])
            try:
                for scenario in SCENARIOS:
                    if any(run.wants(sid) for sid in scenario.ids):
                        try:
                            await run_scenario(run, scenario)
                        except Exception as exc:  # one scenario's failure is its row, not the run's
                            for sid in scenario.ids:
                                run.results[sid] = {"not_run": f"failed: {exc!r}"}
            finally:
                await stop_syncer(run)
                await host.close()
                await virtual.close()
        finally:
            await asyncio.to_thread(plane.stop)
    load = await meter.stop()
    results = {k: v for k, v in run.results.items() if not only or k in only}
    return {
        "kubernetes": KUBERNETES_VERSION,
        "python": platform.python_version(),
        "quick": bool(args.quick),
        "workers": args.workers,
        "repeats": args.repeats,
        "load": load,
        "scenarios": results,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("--quick", action="store_true", help="scale N down 10x")
    parser.add_argument("--only", default="", help="comma-separated scenario ids, e.g. P1,P4")
    parser.add_argument("--json", type=Path, default=None, help="write results here")
    parser.add_argument("--results", type=Path, default=None, help="refresh this RESULTS.md")
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="syncer workers per kind (default: vsyncer's own default, as users run it)",
    )
    parser.add_argument(
        "--repeats", type=int, default=3, help="paired rounds of each ratio scenario (median)"
    )
    parser.add_argument(
        "--plots", type=Path, default=None, help="draw the scale and P1-over-time PNGs here"
    )
    parser.add_argument("--scale-50k", action="store_true", help="add N=50,000 to the scale curve")
    parser.add_argument(
        "--scale-sizes", default="", help="the scale curve's N, comma-separated (as given)"
    )
    args = parser.parse_args(argv)
    report = asyncio.run(main_async(args))
    print(table(report["scenarios"]))
    print(describe(report["load"]))
    if args.json is not None:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    if args.results is not None:
        write_results(args.results, report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
