"""Child processes: one child stopped, killed, paused and started again alone."""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path

import pytest

from syncer.localcluster.processes import ProcessGroup, pid_alive

_SLEEPER = [sys.executable, "-c", "import time; time.sleep(600)"]


def _state(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]


def _until(check: object, *, within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.02)


def test_kill_one_then_start_again_reuses_argv_and_env(tmp_path: Path) -> None:
    """A killed child is gone at once and comes back with the same argv and environment."""
    group = ProcessGroup(run_dir=tmp_path)
    try:
        first = group.start("a", _SLEEPER, tier=1, env={"MARK": "x"})
        other = group.start("b", _SLEEPER)
        group.kill_one("a")
        assert not pid_alive(first.proc.pid)
        assert first.proc.returncode == -signal.SIGKILL
        assert group.names() == ["b"]
        again = group.start_again("a")
        assert again.proc.pid != first.proc.pid
        assert (again.argv, again.env, again.tier) == (tuple(_SLEEPER), {"MARK": "x"}, 1)
        assert sorted(group.names()) == ["a", "b"]
        assert pid_alive(other.proc.pid)
        with pytest.raises(KeyError):
            group.start_again("a")
    finally:
        group.stop(timeout=5)
    assert group.names() == []


def test_stop_one_is_graceful_and_pause_resume(tmp_path: Path) -> None:
    """SIGSTOP pauses a child, SIGCONT resumes it; stop_one ends it with SIGTERM."""
    group = ProcessGroup(run_dir=tmp_path)
    try:
        child = group.start("a", _SLEEPER)
        group.signal_one("a", signal.SIGSTOP)
        _until(lambda: _state(child.proc.pid) == "T")
        group.signal_one("a", signal.SIGCONT)
        _until(lambda: _state(child.proc.pid) in ("S", "R"))
        group.stop_one("a", timeout=5)
        assert child.proc.returncode == -signal.SIGTERM
        assert group.start_again("a").proc.poll() is None
    finally:
        group.stop(timeout=5)
    with pytest.raises(KeyError):
        group.start_again("a")
