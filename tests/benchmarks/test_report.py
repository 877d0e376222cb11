"""benchmarks.report: the table renders every row shape, and a row that did not run."""

from __future__ import annotations

from benchmarks.report import table


def test_p7_row_shows_each_ratio_and_fails_when_one_is_over_one() -> None:
    side = {"to_host_s": 10.0, "to_running_s": 20.0, "cpu_s": 5.0, "rss_per_pod_bytes": 8192.0}
    slower = {**side, "to_host_s": 12.0}
    ratio = {k: slower[k] / side[k] for k in side}
    row = table({"P7": {"vsyncer": slower, "vcluster": side, "ratio": ratio, "rounds": 3}})
    assert "host 12.0 vs 10.0 s → 1.20" in row
    assert "RSS 8.0 vs 8.0 KB/pod → 1.00" in row
    assert row.rstrip().endswith("| FAIL |")


def test_p1_row_needs_both_ratios() -> None:
    r = {
        "syncer_s": 10.0,
        "host_only_s": 9.0,
        "dual_write_s": 9.0,
        "ratio": 1.11,
        "host_ratio": 1.11,
    }
    assert table({"P1": r}).rstrip().endswith("| FAIL |")
    r_ok = {**r, "ratio": 1.0, "dual_write_s": 10.0}
    assert table({"P1": r_ok}).rstrip().endswith("| pass |")


def test_a_row_that_did_not_run_says_why() -> None:
    row = table({"SCALE": {"not_run": "failed: TimeoutError()"}})
    assert "not run: failed: TimeoutError()" in row
