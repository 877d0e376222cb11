"""The scale curve: P1's time per pod and P4's memory per pod against N.

For each N of :data:`SIZES` (``run.n`` of 1,000 / 5,000 / 20,000, and 50,000
with ``--scale-50k``; ``--scale-sizes`` names others), each alone on the
same clusters: the dual-write baseline, a fresh vsyncer and a fresh vcluster syncer (when it builds;
:mod:`benchmarks.p7`) on an N-pod burst.  Per point: seconds per pod to reach
the host, and RSS growth per pod at Running (and each side's P7 figures).
The curve must stay flat: the row's measure is vsyncer's worst per-pod cost
at the largest N ÷ at the smallest.  Everything a point made is removed
before the next.  A PNG of both curves is drawn when the run has a plot
directory.  Not a test.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from benchmarks.baselines import measure_baseline_p1
from benchmarks.p7 import vcluster_round, vsyncer_round
from benchmarks.run import Run, remove_round, stop_syncer
from benchmarks.vclusterbuild import VclusterBinary, vcluster_binary
from syncer.localcluster.gotool import BuildError

SIZES = (1000, 5000, 20000)
LARGEST = 50000


async def scenario_scale(run: Run) -> None:
    sizes = list(run.scale_sizes or ()) or [
        run.n(s) for s in (*SIZES, *((LARGEST,) if run.scale_50k else ()))
    ]
    binary: VclusterBinary | None = None
    vcluster_note = ""
    try:
        binary = await asyncio.to_thread(vcluster_binary)
        run.workdir.chmod(0o711)
    except (BuildError, OSError) as exc:
        vcluster_note = f"vcluster's syncer could not be built: {exc}"
    points: list[dict[str, Any]] = []
    for n in sizes:
        await stop_syncer(run)
        tag = f"s{n}"
        dual = await measure_baseline_p1(run, tag=tag, n=n)
        for ns in (f"direct-host-{tag}", f"direct-dw-{tag}"):
            await remove_round(run, virtual_namespaces=[], host_namespace=ns, nodes=False)
        vs = await vsyncer_round(run, n=n, tag=tag)
        point: dict[str, Any] = {
            "n": n,
            "dual_write_ms_per_pod": dual["dual_write_s"] / n * 1000,
            "vsyncer_ms_per_pod": vs["to_host_s"] / n * 1000,
            "vsyncer_kb_per_pod": vs["rss_per_pod_bytes"] / 1024,
            "vsyncer": vs,
        }
        if binary is not None and not vcluster_note:
            try:
                vc = await vcluster_round(run, binary, n=n, tag=tag)
                point["vcluster_ms_per_pod"] = vc["to_host_s"] / n * 1000
                point["vcluster_kb_per_pod"] = vc["rss_per_pod_bytes"] / 1024
                point["vcluster"] = vc
            except RuntimeError as exc:
                vcluster_note = f"vcluster's syncer did not run: {exc}"
        points.append(point)
    first, last = points[0], points[-1]
    growth = max(
        last["vsyncer_ms_per_pod"] / first["vsyncer_ms_per_pod"],
        last["vsyncer_kb_per_pod"] / max(first["vsyncer_kb_per_pod"], 1e-9),
    )
    run.results["SCALE"] = {
        "sizes": sizes,
        "points": points,
        "growth": growth,
        **({"vcluster_note": vcluster_note} if vcluster_note else {}),
    }
    if run.plots is not None:
        await asyncio.to_thread(plot, points, run.plots / "scale.png")


def plot(points: list[dict[str, Any]], path: Path) -> None:
    """Two panels, time per pod and memory per pod against N (log x), one line per side."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (time_ax, mem_ax) = plt.subplots(1, 2, figsize=(11, 4.2))
    ns = [p["n"] for p in points]
    sides = (("vsyncer", "o-", "C0"), ("dual_write", "s--", "C1"), ("vcluster", "^-.", "C2"))
    for side, style, color in sides:
        for ax, unit in ((time_ax, "ms_per_pod"), (mem_ax, "kb_per_pod")):
            key = f"{side}_{unit}"
            if all(key in p for p in points):
                label = side.replace("_", "-")
                ax.plot(ns, [p[key] for p in points], style, color=color, label=label)
    time_ax.set(xscale="log", xlabel="pods in the burst (N)", ylabel="ms per pod to the host")
    mem_ax.set(xscale="log", xlabel="pods in the burst (N)", ylabel="syncer RSS growth, KB per pod")
    for ax in (time_ax, mem_ax):
        ax.grid(True, alpha=0.3)
        ax.legend()
    fig.suptitle("Scale curve: per-pod cost against N (flat is the goal)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
