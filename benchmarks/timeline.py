"""One P1 burst over time: vsyncer's pod queue depth, host creates per second, its CPU.

:func:`sampled` runs a coroutine while scraping the syncer's ``/metrics``
(``workqueue_depth{name="pods"}``, ``vsyncer_rest_requests_total`` for host
creates) and ``/proc`` (its CPU seconds) every :data:`INTERVAL` seconds;
:func:`plot` draws the three series against seconds since the burst started
(rates as differences between samples).  Not a test.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Awaitable
from pathlib import Path
from typing import TypeVar

from benchmarks.harness import SyncerProcess

INTERVAL = 0.5
T = TypeVar("T")


def _host_creates(metrics: dict[str, float]) -> float:
    return sum(
        v
        for k, v in metrics.items()
        if k.startswith("vsyncer_rest_requests_total{")
        and 'cluster="host"' in k
        and 'verb="create"' in k
    )


async def sampled(syncer: SyncerProcess, work: Awaitable[T], samples: list[dict[str, float]]) -> T:
    """Await ``work`` while appending ``{t, queue, host_creates, cpu_s}`` samples."""
    started = time.monotonic()

    async def sample() -> None:
        while True:
            metrics = await asyncio.to_thread(syncer.metrics)
            samples.append(
                {
                    "t": time.monotonic() - started,
                    "queue": metrics.get('workqueue_depth{name="pods"}', 0.0),
                    "host_creates": _host_creates(metrics),
                    "cpu_s": syncer.cpu_seconds(),
                }
            )
            await asyncio.sleep(INTERVAL)

    task = asyncio.create_task(sample())
    try:
        return await work
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def plot(samples: list[dict[str, float]], path: Path, *, title: str) -> None:
    """Three stacked panels sharing the time axis."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pairs = list(itertools.pairwise(samples))
    t = [b["t"] for _, b in pairs]
    creates = [(b["host_creates"] - a["host_creates"]) / (b["t"] - a["t"]) for a, b in pairs]
    cpu = [(b["cpu_s"] - a["cpu_s"]) / (b["t"] - a["t"]) for a, b in pairs]
    fig, axes = plt.subplots(3, 1, figsize=(9, 7), sharex=True)
    axes[0].plot([s["t"] for s in samples], [s["queue"] for s in samples])
    axes[0].set_ylabel("pod queue depth")
    axes[1].plot(t, creates)
    axes[1].set_ylabel("host creates / s")
    axes[2].plot(t, cpu)
    axes[2].set_ylabel("syncer CPU (cores)")
    axes[2].set_xlabel("seconds since the burst started")
    for ax in axes:
        ax.grid(True, alpha=0.3)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
