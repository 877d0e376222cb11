"""The command line as an operator meets it, through real subprocesses: --version, bad
settings (one line naming the setting, exit 2, no traceback), the start-up line."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from syncer import __version__
from syncer.settings import Settings

KUBECONFIG = """apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: not-a-secret}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
"""


@pytest.fixture
def kubeconfig(tmp_path: Path) -> Path:
    path = tmp_path / "kubeconfig"
    path.write_text(KUBECONFIG)
    return path


@pytest.fixture
def listening() -> Iterator[int]:
    """A port something listens on for the test."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def environment(kubeconfig: Path, **settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("VSYNCER_")}
    return {
        **env,
        "VSYNCER_VCLUSTER_NAME": "vc",
        "VSYNCER_HOST_NAMESPACE": "host-ns",
        "VSYNCER_VIRTUAL_KUBECONFIG": str(kubeconfig),
        "VSYNCER_HOST_KUBECONFIG": str(kubeconfig),
        "VSYNCER_METRICS_BIND": "127.0.0.1:0",
        "VSYNCER_PROBES_BIND": "127.0.0.1:0",
        "VSYNCER_LOG_FORMAT": "json",
        "VSYNCER_VIRTUAL_KUBECONFIG_WAIT": "0",
        **{f"VSYNCER_{name.upper()}": value for name, value in settings.items()},
    }


def vsyncer(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "syncer", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_version_flag_and_command_print_the_package_version() -> None:
    """``vsyncer --version`` and ``vsyncer version`` both name syncer.__version__."""
    flag, command = vsyncer("--version"), vsyncer("version")
    assert (flag.returncode, flag.stdout) == (0, f"vsyncer {__version__}\n")
    assert (command.returncode, command.stdout) == (0, f"{__version__}\n")


def one_line_exit_2(proc: subprocess.CompletedProcess[str], setting: str) -> str:
    """The single stderr line after ``vsyncer: SETTING: ``; exit 2, nothing else printed."""
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"vsyncer: {setting}: ")
    return lines[0]


def test_a_port_in_use(kubeconfig: Path, listening: int) -> None:
    """Metrics or probes on a taken port: the setting and the OS's reason."""
    for name in ("metrics_bind", "probes_bind"):
        env = environment(kubeconfig, **{name: f"127.0.0.1:{listening}"})
        line = one_line_exit_2(vsyncer("run", env=env), f"VSYNCER_{name.upper()}")
        assert "in use" in line.lower()


def test_metrics_and_probes_on_one_address(kubeconfig: Path) -> None:
    """Both servers cannot share an address."""
    env = environment(kubeconfig, metrics_bind="127.0.0.1:18099", probes_bind="127.0.0.1:18099")
    one_line_exit_2(vsyncer("run", env=env), "VSYNCER_PROBES_BIND")


def test_an_empty_kubeconfig(kubeconfig: Path, tmp_path: Path) -> None:
    """An empty virtual kubeconfig file."""
    empty = tmp_path / "empty"
    empty.write_text("")
    env = environment(kubeconfig, virtual_kubeconfig=str(empty))
    line = one_line_exit_2(vsyncer("run", env=env), "VSYNCER_VIRTUAL_KUBECONFIG")
    assert "empty" in line


def test_a_kind_no_mapper_serves(kubeconfig: Path) -> None:
    """VSYNCER_KINDS naming an unknown kind: the closest installed kind is suggested."""
    env = environment(kubeconfig, kinds="pods,configmap")
    line = one_line_exit_2(vsyncer("run", env=env), "VSYNCER_KINDS")
    assert "'configmap'" in line
    assert "did you mean 'configmaps'?" in line


async def start_lines(env: dict[str, str], *args: str, until: str) -> list[dict[str, Any]]:
    """The JSON log lines of ``vsyncer ARGS`` up to the first whose event is ``until``;
    then the process is stopped (SIGTERM, which may come before its handlers are in place)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "syncer", *args, env=env, stderr=asyncio.subprocess.PIPE
    )
    assert proc.stderr is not None
    lines: list[dict[str, Any]] = []
    try:
        async with asyncio.timeout(60):
            while not lines or lines[-1].get("event") != until:
                raw = await proc.stderr.readline()
                assert raw, f"exited before {until!r}: {lines}"
                if raw.startswith(b"{"):
                    lines.append(json.loads(raw))
    finally:
        proc.terminate()
        await asyncio.wait_for(proc.wait(), 60)
    return lines


async def test_start_up_line_and_misspelt_variable(kubeconfig: Path) -> None:
    """--dry-run: one warning naming the setting VSYNCER_WORKER meant, then the version and the
    effective settings (dry run on, leader election off, no kubeconfig contents)."""
    env = environment(kubeconfig, worker="3", leader_elect="true")
    lines = await start_lines(env, "run", "--dry-run", until="starting vsyncer")
    warnings = [line for line in lines if line["event"] == "unknown setting ignored"]
    assert [(w["variable"], w["did_you_mean"]) for w in warnings] == [
        ("VSYNCER_WORKER", "VSYNCER_WORKERS")
    ]
    start = lines[-1]
    assert start["version"] == __version__
    shown = start["settings"]
    default_workers = Settings.model_fields["workers"].default
    assert (shown["dry_run"], shown["leader_elect"]) == (True, False)
    assert shown["workers"] == default_workers  # VSYNCER_WORKER is not VSYNCER_WORKERS
    assert shown["virtual_kubeconfig"] == str(kubeconfig)
    assert "not-a-secret" not in json.dumps(lines)
