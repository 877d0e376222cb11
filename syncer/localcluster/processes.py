"""Child processes of a local control plane, and nothing left behind.

Guarantees:

* Every component runs in its own process group (``start_new_session``), with
  stdout and stderr appended to ``<run dir>/logs/<name>.log``.
* :meth:`ProcessGroup.stop` stops tier by tier, highest first (controllers,
  then API servers, then etcd, so nothing hangs retrying a store that is already
  gone): SIGTERM to each process group of the tier, a bounded wait, then SIGKILL
  for whatever is left, so a stop never leaves a process.
* When started from the main thread, children get ``PR_SET_PDEATHSIG`` =
  SIGKILL: if the harness itself is killed outright, the kernel ends them too.
* The PIDs of live children are mirrored in ``<run dir>/pids`` so an outside
  observer (a test, an operator) can check that nothing survived.
* A child can be stopped (gracefully or by SIGKILL) and started again alone
  with the same command line and environment (:meth:`ProcessGroup.stop_one`,
  :meth:`ProcessGroup.kill_one`, :meth:`ProcessGroup.start_again`), which is
  what fault tests need; a stopped child's command line is remembered until
  it is started again or the whole group stops.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

_PR_SET_PDEATHSIG = 1


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _die_with_parent() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


@dataclass(slots=True)
class Child:
    name: str
    proc: subprocess.Popen[bytes]
    log: Path
    tier: int
    argv: tuple[str, ...] = ()
    env: dict[str, str] | None = None


def pid_alive(pid: int) -> bool:
    """True if ``pid`` is a live process (zombies count as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


class ProcessGroup:
    """The processes one control plane started, stopped together."""

    def __init__(self, *, run_dir: Path) -> None:
        self._run_dir = run_dir
        self._logs = run_dir / "logs"
        self._logs.mkdir(parents=True, exist_ok=True)
        self._children: list[Child] = []
        self._stopped: dict[str, Child] = {}
        self._lock = threading.Lock()

    def start(
        self, name: str, argv: Sequence[str], *, tier: int = 0, env: dict[str, str] | None = None
    ) -> Child:
        log = self._logs / f"{name}.log"
        with log.open("ab") as out:
            out.write(f"$ {' '.join(argv)}\n".encode())
            out.flush()
            proc = subprocess.Popen(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent
                if threading.current_thread() is threading.main_thread()
                else None,
                env=env,
                cwd=self._run_dir,
            )
        child = Child(name=name, proc=proc, log=log, tier=tier, argv=tuple(argv), env=env)
        with self._lock:
            self._stopped.pop(name, None)
            self._children.append(child)
            self._write_pids()
        return child

    def get(self, name: str) -> Child:
        for child in self._children:
            if child.name == name:
                return child
        raise KeyError(name)

    def names(self) -> list[str]:
        """Names of the running children, in start order."""
        with self._lock:
            return [c.name for c in self._children]

    def check_alive(self) -> None:
        """Raise if any child exited; the message names it and its log."""
        for child in self._children:
            rc = child.proc.poll()
            if rc is not None:
                raise RuntimeError(f"{child.name} exited with code {rc}; log: {child.log}")

    def pids(self) -> list[int]:
        return [c.proc.pid for c in self._children]

    def stop_one(self, name: str, *, timeout: float = 15.0) -> None:
        """SIGTERM one child's process group, SIGKILL after ``timeout`` seconds."""
        child = self.get(name)
        self._terminate([child], timeout=timeout)
        self._forget(child)

    def kill_one(self, name: str) -> None:
        """SIGKILL one child's process group at once (a crash, not a shutdown)."""
        child = self.get(name)
        self._signal(child, signal.SIGKILL)
        child.proc.wait()
        self._forget(child)

    def signal_one(self, name: str, sig: signal.Signals) -> None:
        """Send ``sig`` (e.g. SIGSTOP / SIGCONT) to one child's process group."""
        self._signal(self.get(name), sig)

    def start_again(self, name: str) -> Child:
        """Start a child stopped by :meth:`stop_one` / :meth:`kill_one` with its old argv.

        Raises ``KeyError`` if no stopped child has that name.
        """
        with self._lock:
            old = self._stopped[name]
        return self.start(name, old.argv, tier=old.tier, env=old.env)

    def _forget(self, child: Child) -> None:
        with self._lock:
            self._children.remove(child)
            self._stopped[child.name] = child
            self._write_pids()

    def stop(self, *, timeout: float = 10.0) -> None:
        with self._lock:
            children = list(self._children)
        for tier in sorted({c.tier for c in children}, reverse=True):
            self._terminate([c for c in children if c.tier == tier], timeout=timeout)
            with self._lock:
                self._children = [c for c in self._children if c.tier != tier]
                self._write_pids()
        with self._lock:
            self._stopped.clear()

    @staticmethod
    def _signal(child: Child, sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(child.proc.pid, sig)

    def _terminate(self, children: list[Child], *, timeout: float) -> None:
        for child in children:
            if child.proc.poll() is None:
                self._signal(child, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for child in children:
            remaining = max(0.0, deadline - time.monotonic())
            try:
                child.proc.wait(timeout=remaining)
            except subprocess.TimeoutExpired:
                self._signal(child, signal.SIGKILL)
                child.proc.wait()
            # The group may hold grandchildren; make sure none outlive the leader.
            self._signal(child, signal.SIGKILL)

    def _write_pids(self) -> None:
        text = "".join(f"{c.proc.pid} {c.name}\n" for c in self._children)
        (self._run_dir / "pids").write_text(text)
