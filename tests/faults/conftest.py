"""Fixtures of the fault lab: a :class:`~tests.faults.lab.Lab` per test, its vsyncer, results.

``lab`` gives a fresh vcluster world on the session's control plane (seed from
``FAULTS_SEED`` or random, printed); ``lab_syncer`` is that lab's vsyncer
subprocess, started and ready — kill, pause and restart it through its methods.
Both are meant for reuse by other suites (e.g. a hostile-tenant suite).
"""

from __future__ import annotations

import os
import random
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from syncer.kube import KubeClient
from syncer.localcluster import ControlPlane
from tests.faults.lab import Lab
from tests.faults.results import ROWS, full_run, table, write_results
from tests.faults.syncerproc import SyncerProcess


@pytest.fixture
async def lab(
    control_plane: ControlPlane, host: KubeClient, virtual: KubeClient, tmp_path: Path
) -> AsyncIterator[Lab]:
    """A fresh lab: its own host namespace and vcluster name, seeded RNG, ledger, checker."""
    seed = int(os.environ.get("FAULTS_SEED") or random.SystemRandom().randrange(1 << 31))
    print(f"fault lab seed: {seed} (replay with FAULTS_SEED={seed})")
    world = await Lab(
        plane=control_plane,
        host=host,
        virtual=virtual,
        run_dir=tmp_path,
        seed=seed,
        name=f"f{secrets.token_hex(3)}",
    ).open()
    try:
        yield world
    finally:
        await world.close()


@pytest.fixture
async def lab_syncer(lab: Lab) -> SyncerProcess:
    """The lab's vsyncer subprocess against both clusters directly, ready."""
    return await lab.start_syncer()


def pytest_configure(config: pytest.Config) -> None:
    config.stash[ROWS] = []


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    rows = terminalreporter.config.stash.get(ROWS, [])
    if not rows:
        return
    terminalreporter.write_sep("=", "fault matrix")
    terminalreporter.write_line(table(rows))
    if full_run():
        write_results(rows)
