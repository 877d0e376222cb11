"""Waiting for the virtual kubeconfig: returns when it appears, logs every 10 s, bounded."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from syncer.errors import ConfigError
from syncer.kubeconfigwait import wait_for_virtual_kubeconfig


class Lines:
    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []

    def info(self, event: str, **fields: Any) -> None:
        self.seen.append({"event": event, **fields})


class FakeTime:
    """A clock that advances only when slept on; ``at`` makes the file appear then."""

    def __init__(self, *, path: Path, at: float | None) -> None:
        self.now = 0.0
        self.path = path
        self.at = at

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds > 0
        self.now += seconds
        if self.at is not None and self.now >= self.at:
            self.path.write_text("apiVersion: v1\n")


def test_returns_once_the_file_appears(tmp_path: Path) -> None:
    """A file written by another thread ends the wait at once, long before the budget."""
    path = tmp_path / "admin.kubeconfig"
    writer = threading.Timer(0.3, lambda: path.write_text("apiVersion: v1\n"))
    writer.start()
    started = time.monotonic()
    env = {"VSYNCER_VIRTUAL_KUBECONFIG": str(path), "VSYNCER_VIRTUAL_KUBECONFIG_WAIT": "60"}
    assert wait_for_virtual_kubeconfig(config_file=None, env=env, log=Lines(), poll=0.05)
    assert time.monotonic() - started < 30
    writer.join()


def test_logs_every_ten_seconds_and_stops_at_the_file(tmp_path: Path) -> None:
    """The file appears at 35 s: four lines (0, 10, 20, 30 s), then True."""
    path = tmp_path / "admin.kubeconfig"
    clock = FakeTime(path=path, at=35.0)
    lines = Lines()
    env = {"VSYNCER_VIRTUAL_KUBECONFIG": str(path)}
    found = wait_for_virtual_kubeconfig(
        config_file=None, env=env, log=lines, monotonic=clock.monotonic, sleep=clock.sleep
    )
    assert found
    assert [line["waited_seconds"] for line in lines.seen] == [0, 10, 20, 30]
    assert {line["path"] for line in lines.seen} == {str(path)}
    assert {line["budget_seconds"] for line in lines.seen} == {300.0}


def test_gives_up_after_the_budget(tmp_path: Path) -> None:
    """Without the file, the wait ends at the budget (from the YAML file) and returns False."""
    path = tmp_path / "never.kubeconfig"
    config = tmp_path / "vsyncer.yaml"
    config.write_text(f"virtual_kubeconfig: {path}\nvirtual_kubeconfig_wait: 25\n")
    clock = FakeTime(path=path, at=None)
    found = wait_for_virtual_kubeconfig(
        config_file=config, env={}, log=Lines(), monotonic=clock.monotonic, sleep=clock.sleep
    )
    assert not found
    assert clock.now == pytest.approx(25.0)


def test_the_environment_wins_over_the_file(tmp_path: Path) -> None:
    """VSYNCER_VIRTUAL_KUBECONFIG_WAIT=0 overrides the file's budget: no wait at all."""
    config = tmp_path / "vsyncer.yaml"
    config.write_text(f"virtual_kubeconfig: {tmp_path / 'x'}\nvirtual_kubeconfig_wait: 600\n")
    clock = FakeTime(path=tmp_path / "x", at=None)
    env = {"VSYNCER_CONFIG": str(config), "VSYNCER_VIRTUAL_KUBECONFIG_WAIT": "0"}
    assert not wait_for_virtual_kubeconfig(
        config_file=None, env=env, log=Lines(), monotonic=clock.monotonic, sleep=clock.sleep
    )
    assert clock.now == 0.0


@pytest.mark.parametrize("value", ["-1", "soon", "inf", "nan"])
def test_a_bad_budget_names_the_setting(value: str) -> None:
    with pytest.raises(ConfigError) as info:
        wait_for_virtual_kubeconfig(
            config_file=None, env={"VSYNCER_VIRTUAL_KUBECONFIG_WAIT": value}, log=Lines()
        )
    assert info.value.setting == "VSYNCER_VIRTUAL_KUBECONFIG_WAIT"


def test_no_path_means_no_wait() -> None:
    assert not wait_for_virtual_kubeconfig(config_file=None, env={}, log=Lines())


def test_vsyncer_run_waits_then_exits_2_with_one_line(tmp_path: Path) -> None:
    """`vsyncer run` with a kubeconfig that never appears: log lines, then exit 2, one line."""
    env = {
        "PATH": "/usr/bin:/bin",
        "VSYNCER_VCLUSTER_NAME": "v",
        "VSYNCER_HOST_NAMESPACE": "h",
        "VSYNCER_VIRTUAL_KUBECONFIG": str(tmp_path / "missing.kubeconfig"),
        "VSYNCER_VIRTUAL_KUBECONFIG_WAIT": "1",
        "VSYNCER_LOG_FORMAT": "json",
    }
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "syncer", "run"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2
    assert time.monotonic() - started >= 1
    lines = proc.stderr.strip().splitlines()
    assert "waiting for the virtual kubeconfig" in lines[0]
    assert lines[-1].startswith("vsyncer: VSYNCER_VIRTUAL_KUBECONFIG: ")
    assert "Traceback" not in proc.stderr
