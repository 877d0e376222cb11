"""benchmarks.load: the machine's busy CPU read from /proc/stat."""

from __future__ import annotations

import os

from benchmarks.load import busy_cpu_seconds


def test_busy_cpu_excludes_idle_and_iowait() -> None:
    # user nice system idle iowait irq softirq steal (ticks)
    stat = "cpu  100 10 50 1000 40 5 5 0 0 0\ncpu0 1 2 3 4 5 6 7 8 0 0\n"
    assert busy_cpu_seconds(stat) == 170 / os.sysconf("SC_CLK_TCK")
