"""The fault matrix's results table: one row per cell, printed and written as Markdown.

Rows live in the pytest ``config.stash`` (no module state); the session's
terminal summary prints them and, for a full run (``FAULTS_FULL=1``), writes
``tests/faults/RESULTS.md``.  A cell that did not converge still records its
counts, with the seconds column saying it timed out.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.faults.consistency import Report

ROWS = pytest.StashKey[list["Row"]]()
RESULTS_FILE = Path(__file__).with_name("RESULTS.md")


def full_run() -> bool:
    """Whether the full matrix was asked for (``make faults`` sets ``FAULTS_FULL=1``)."""
    return os.environ.get("FAULTS_FULL", "") not in ("", "0")


@dataclass(frozen=True, slots=True)
class Row:
    """One cell's outcome."""

    fault: str
    seed: int
    report: Report
    seconds: float | None

    def cells(self) -> list[str]:
        c = self.report.counts()
        converged = f"{self.seconds:.1f}" if self.seconds is not None else "did not converge"
        return [
            self.fault,
            str(c["created"]),
            str(c["lost"]),
            str(c["duplicated"]),
            str(c["orphaned"]),
            str(c["mismatched"]),
            converged,
            str(self.seed),
        ]


HEADER = [
    "fault",
    "objects created",
    "lost",
    "duplicated",
    "orphaned",
    "mismatched",
    "seconds to converge",
    "seed",
]


def table(rows: list[Row]) -> str:
    """A Markdown table of ``rows``."""
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(row.cells()) + " |" for row in rows]
    return "\n".join(lines)


def write_results(rows: list[Row]) -> None:
    """Write RESULTS.md: what the matrix is, and the table of this run."""
    RESULTS_FILE.write_text(
        "# Fault matrix results\n\n"
        "Written by `make faults` (the full matrix of `tests/faults/test_matrix.py`). Each cell\n"
        "ends with the consistency checker (`tests/faults/checker.py`) judging both clusters\n"
        "against the test's ledger; a clean cell has zero lost, duplicated, orphaned and\n"
        "mismatched objects. Replay a cell with `FAULTS_SEED=<seed>`.\n\n" + table(rows) + "\n"
    )
