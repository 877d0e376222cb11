"""The targets of the scenarios, the pass/fail table and the generated part of RESULTS.md."""

from __future__ import annotations

import json
import platform
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.load import describe

TARGETS: dict[str, tuple[str, Callable[[dict[str, Any]], float], float]] = {
    "P1": ("syncer ÷ host-only ≤ 1.28, ÷ dual-write ≤ 1.05", lambda r: r["host_ratio"], 1.28),
    "P2": (
        "p99 ≤ 1.5 x relay p99, p50 ≤ relay p50 + 5 ms",
        lambda r: r["p99_ms"] / r["relay_p99_ms"],
        1.5,
    ),
    "P3": ("converge ÷ list ≤ 1.3", lambda r: r["ratio"], 1.3),
    "P4": ("≤ 8 KB per pod", lambda r: r["bytes_per_pod"] / 1024, 8.0),
    "P5": ("≤ 2.0 CPU-s per 1,000 pods", lambda r: r["cpu_s_per_1000"], 2.0),
    "P6": ("B's p99 ÷ relay's under the same burst ≤ 1.0", lambda r: r["ratio"], 1.0),
    "P7": (
        "vsyncer ÷ vcluster ≤ 1.0 (to host, to Running, CPU, RSS per pod)",
        lambda r: max(r["ratio"].values()),
        1.0,
    ),
    "SCALE": ("vsyncer per pod at largest N ÷ smallest ≤ 1.25", lambda r: r["growth"], 1.25),
    "P8": ("logs via vsyncer ÷ direct ≥ 0.8", lambda r: r["ratio"], 0.8),
    "P9": ("port-forward ÷ direct ≥ 0.8; exec +p50 ≤ 20 ms", lambda r: r["ratio"], 0.8),
    # benchmarks/customresources.py: within ± 10 % of P1's ratio (no P1 in the run: no verdict)
    "P10": ("CR syncer ÷ dual-write = P1's ± 10 %", lambda r: abs(r.get("vs_p1", 9.0) - 1), 0.10),
    # benchmarks/sleep.py: waking costs no more than creating the same pods from scratch
    "P11": ("wake ÷ create from scratch ≤ 1.0 (1,000 pods)", lambda r: r["ratio"], 1.0),
}
#: scenarios whose measure must be at least the limit (the others: at most)
AT_LEAST = frozenset({"P8", "P9"})


def _passes(sid: str, result: dict[str, Any]) -> bool:
    _, measure, limit = TARGETS[sid]
    ok = measure(result) >= limit if sid in AT_LEAST else measure(result) <= limit
    if sid == "P1":
        ok = ok and result["ratio"] <= 1.05
    if sid == "P2":
        ok = ok and result["p50_ms"] <= result["relay_p50_ms"] + 5.0
    if sid == "P9":
        ok = ok and result["exec_added_p50_ms"] <= 20.0
    return ok


def _spread(r: dict[str, Any], key: str) -> str:
    """`` (a-b over N)``: the range of a median's rounds, when it has more than one."""
    spread = r.get(f"{key}_spread")
    if not spread or r.get("rounds", 1) < 2:
        return ""
    return f" ({spread[0]:.2f}-{spread[1]:.2f} over {r['rounds']})"


def _scale_point(p: dict[str, Any]) -> str:
    shown = f"N={p['n']}: {p['vsyncer_ms_per_pod']:.1f} ms, {p['vsyncer_kb_per_pod']:.1f} KB/pod"
    if "vcluster_ms_per_pod" in p:
        shown += f" (vcluster {p['vcluster_ms_per_pod']:.1f} ms, {p['vcluster_kb_per_pod']:.0f} KB)"
    return shown


def _shown(sid: str, r: dict[str, Any]) -> str:
    if sid == "P11":
        return (
            f"create {r['create_s']:.1f} s; wake {r['wake_s']:.1f} s → {r['ratio']:.2f}"
            f"{_spread(r, 'wake_s')}; sleep {r['sleep_s']:.1f} s → {r['sleep_ratio']:.2f} "
            f"({r['n']} pods)"
        )
    if sid == "P10":
        vs = f", ÷ P1's {r['vs_p1']:.2f}" if "vs_p1" in r else ", P1 not run"
        return f"{r['syncer_s']:.1f} s vs {r['dual_write_s']:.1f} s → {r['ratio']:.2f}{vs}"
    if sid == "P1":
        return (
            f"{r['syncer_s']:.1f} s vs host-only {r['host_only_s']:.1f} s → "
            f"{r['host_ratio']:.2f}{_spread(r, 'host_ratio')}, vs dual-write "
            f"{r['dual_write_s']:.1f} s → {r['ratio']:.2f}{_spread(r, 'ratio')}"
        )
    if sid in ("P2", "P6"):
        return (
            f"p50 {r['p50_ms']:.0f} vs relay {r['relay_p50_ms']:.0f} ms, "
            f"p99 {r['p99_ms']:.0f} vs relay {r['relay_p99_ms']:.0f} ms "
            f"(vsyncer p99 {r['p99_min_ms']:.0f}-{r['p99_max_ms']:.0f} ms over {r['rounds']})"
        )
    if sid == "P3":
        return f"{r['converge_s']:.1f} s vs list {r['list_s']:.1f} s → {r['ratio']:.2f}"
    if sid == "P4":
        return f"{r['bytes_per_pod'] / 1024:.1f} KB per pod ({r['n']} pods)"
    if sid == "P5":
        return f"{r['cpu_s_per_1000']:.2f} CPU-s per 1,000{_spread(r, 'cpu_s_per_1000')}"
    if sid == "SCALE":
        return "; ".join(_scale_point(p) for p in r["points"]) + f" → {r['growth']:.2f}"
    if sid == "P7":
        vs, vc, ratio = r["vsyncer"], r["vcluster"], r["ratio"]
        return (
            "; ".join(
                f"{label} {vs[key] * scale:.{digits}f} vs {vc[key] * scale:.{digits}f} {unit}"
                f" → {ratio[key]:.2f}"
                for label, key, scale, digits, unit in (
                    ("host", "to_host_s", 1, 1, "s"),
                    ("Running", "to_running_s", 1, 1, "s"),
                    ("CPU", "cpu_s", 1, 1, "CPU-s"),
                    ("RSS", "rss_per_pod_bytes", 1 / 1024, 1, "KB/pod"),
                )
            )
            + f" (median of {r['rounds']})"
        )
    if sid in ("P8", "P9"):
        via, direct = r["vsyncer_mb_s"]["median"], r["direct_mb_s"]["median"]
        shown = f"{via:.0f} vs {direct:.0f} MB/s → {r['ratio']:.2f}"
        if sid == "P9":
            shown += f"; exec +{r['exec_added_p50_ms']:.1f} ms at p50"
        return shown
    return f"p99 {r['p99_ms']:.0f} ms (p50 {r['p50_ms']:.0f} ms)"


def table(results: dict[str, dict[str, Any]]) -> str:
    lines = ["| id | target | measured | pass |", "|---|---|---|---|"]
    for sid in sorted(results):
        r = results[sid]
        if "not_run" in r:
            lines.append(f"| {sid} | {TARGETS[sid][0]} | not run: {r['not_run']} | — |")
            continue
        verdict = "pass" if _passes(sid, r) else "FAIL"
        lines.append(f"| {sid} | {TARGETS[sid][0]} | {_shown(sid, r)} | {verdict} |")
    return "\n".join(lines)


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
            describe(report["load"]) if "load" in report else "",
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
