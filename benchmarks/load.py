"""The machine's load during a benchmark run, so RESULTS.md can state it.

:class:`LoadMeter` samples ``/proc/loadavg`` every few seconds while the run
lasts and, at the end, splits the machine's busy CPU time (``/proc/stat``)
into the benchmark's own (this process and every child it started and reaped:
the control plane, the syncers, the baselines) and everyone else's: other
processes competing for the same cores, which is what makes a run "under
load".  Linux only.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_CLK_TCK = os.sysconf("SC_CLK_TCK")


def busy_cpu_seconds(stat: str) -> float:
    """Busy CPU seconds of all cores from the text of ``/proc/stat`` (idle and iowait excluded).

    The first line is ``cpu user nice system idle iowait irq softirq steal …`` in clock ticks.
    """
    fields = [int(x) for x in stat.splitlines()[0].split()[1:9]]
    idle = fields[3] + fields[4]
    return (sum(fields) - idle) / _CLK_TCK


def own_cpu_seconds() -> float:
    """CPU seconds of this process and of its children that have been waited for."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def machine_busy_seconds() -> float:
    return busy_cpu_seconds(Path("/proc/stat").read_text())


def load_1m() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


@dataclass
class LoadMeter:
    """``start`` before the run, ``stop`` after every child is gone; ``summary`` for the report."""

    interval: float = 5.0
    samples: list[float] = field(default_factory=list)
    _t0: float = 0.0
    _busy0: float = 0.0
    _own0: float = 0.0
    _summary: dict[str, Any] = field(default_factory=dict)
    _task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._t0 = time.monotonic()
        self._busy0 = machine_busy_seconds()
        self._own0 = own_cpu_seconds()
        self._task = asyncio.create_task(self._sample())

    async def _sample(self) -> None:
        while True:
            self.samples.append(load_1m())
            await asyncio.sleep(self.interval)

    async def stop(self) -> dict[str, Any]:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        elapsed = time.monotonic() - self._t0
        busy = machine_busy_seconds() - self._busy0
        own = own_cpu_seconds() - self._own0
        cores = os.cpu_count() or 1
        others = max(0.0, busy - own)
        self._summary = {
            "seconds": elapsed,
            "cores": cores,
            "loadavg_1m_median": statistics.median(self.samples) if self.samples else load_1m(),
            "loadavg_1m_max": max(self.samples, default=load_1m()),
            "own_cpu_s": own,
            "other_cpu_s": others,
            "other_cpu_share": others / (elapsed * cores) if elapsed > 0 else 0.0,
        }
        return self._summary


def describe(load: dict[str, Any]) -> str:
    """One sentence for RESULTS.md."""
    return (
        f"Machine load during the run ({load['seconds'] / 60:.0f} min, {load['cores']} cores): "
        f"1-minute load average median {load['loadavg_1m_median']:.1f} "
        f"(max {load['loadavg_1m_max']:.1f}); the benchmark's own processes used "
        f"{load['own_cpu_s']:.0f} CPU-s, other processes {load['other_cpu_s']:.0f} CPU-s "
        f"({load['other_cpu_share']:.0%} of the machine)."
    )
