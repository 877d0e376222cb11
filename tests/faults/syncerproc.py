"""vsyncer as a separate process that a fault test can kill, pause and restart.

Runs ``python -m syncer run`` (the ``vsyncer`` console script's code) with only
``VSYNCER_*`` settings from :class:`SyncerConfig` (none inherited), in its own
process group, logging JSON to ``<run dir>/logs/vsyncer.log`` (appended
across restarts, so one log tells the whole story).  Metrics and probes bind
free loopback ports chosen once, so a restart serves on the same ports — unless
another process took one meanwhile (vsyncer exits 2 naming it): then new ports
are chosen and it is started again, up to :data:`PORT_ATTEMPTS` times.

Guarantees: :meth:`SyncerProcess.start` returns once ``/readyz`` answers 200
(both caches synced) or raises ``RuntimeError`` naming the log; ``kill`` is
SIGKILL to the whole group (no shutdown path runs); ``pause``/``resume`` are
SIGSTOP/SIGCONT; ``stop`` is SIGTERM with a bounded wait; the process never
outlives the :class:`~syncer.localcluster.processes.ProcessGroup` it is in
(dies with the test process too).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path

from syncer.localcluster.processes import ProcessGroup, free_port

NAME = "vsyncer"
#: Starts tried when a chosen port turns out to be taken by another process.
PORT_ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class SyncerConfig:
    """What the subprocess is told: one vcluster, one host namespace, two kubeconfigs."""

    vcluster: str
    host_namespace: str
    host_kubeconfig: Path
    virtual_kubeconfig: Path
    kinds: str = "pods,services,endpoints,configmaps,secrets,persistentvolumeclaims,events,nodes"
    extra: dict[str, str] = field(default_factory=dict)


class SyncerProcess:
    """One vsyncer subprocess under test; see the module docstring."""

    def __init__(self, *, config: SyncerConfig, run_dir: Path) -> None:
        self.config = config
        self.metrics_port = free_port()
        self.probes_port = free_port()
        self.group = ProcessGroup(run_dir=run_dir)
        self.log = run_dir / "logs" / f"{NAME}.log"
        self.starts = 0
        self.kills = 0

    def env(self) -> dict[str, str]:
        base = {k: v for k, v in os.environ.items() if not k.startswith("VSYNCER_")}
        c = self.config
        return {
            **base,
            "VSYNCER_VCLUSTER_NAME": c.vcluster,
            "VSYNCER_HOST_NAMESPACE": c.host_namespace,
            "VSYNCER_HOST_KUBECONFIG": str(c.host_kubeconfig),
            "VSYNCER_VIRTUAL_KUBECONFIG": str(c.virtual_kubeconfig),
            "VSYNCER_KINDS": c.kinds,
            "VSYNCER_METRICS_BIND": f"127.0.0.1:{self.metrics_port}",
            "VSYNCER_PROBES_BIND": f"127.0.0.1:{self.probes_port}",
            "VSYNCER_LOG_FORMAT": "json",
            "VSYNCER_LOG_LEVEL": "info",
            "VSYNCER_SHUTDOWN_GRACE": "10",
            **c.extra,
        }

    @property
    def running(self) -> bool:
        return NAME in self.group.names()

    async def start(self, *, ready_within: float = 120.0) -> float:
        """Start (or start again) and wait for ``/readyz``; return the seconds that took."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        self.group.start(NAME, [sys.executable, "-m", "syncer", "run"], env=self.env())
        self.starts += 1
        attempts = 1
        while not await self._ready():
            child = self.group.get(NAME)
            if child.proc.poll() is not None:
                if attempts < PORT_ATTEMPTS and "Address already in use" in self.log_tail(1):
                    self.group.stop_one(NAME, timeout=1)  # forgets the exited child, no signal
                    self.metrics_port, self.probes_port = free_port(), free_port()
                    self.group.start(NAME, [sys.executable, "-m", "syncer", "run"], env=self.env())
                    attempts += 1
                    continue
                raise RuntimeError(f"vsyncer exited with {child.proc.returncode}; log: {self.log}")
            if loop.time() - started > ready_within:
                raise RuntimeError(f"vsyncer not ready after {ready_within}s; log: {self.log}")
            await asyncio.sleep(0.1)
        return loop.time() - started

    async def _ready(self) -> bool:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", self.probes_port)
        except OSError:
            return False
        try:
            writer.write(b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            await writer.drain()
            head = await asyncio.wait_for(reader.readline(), 2)
        except (OSError, TimeoutError):
            return False
        finally:
            writer.close()
        return head.split(b" ")[1:2] == [b"200"]

    def kill(self) -> None:
        """SIGKILL now: no drain, no shutdown path."""
        self.group.kill_one(NAME)
        self.kills += 1

    def pause(self) -> None:
        self.group.signal_one(NAME, signal.SIGSTOP)

    def resume(self) -> None:
        self.group.signal_one(NAME, signal.SIGCONT)

    async def restart(self) -> float:
        """SIGKILL and start again; return the seconds to ready."""
        if self.running:
            self.kill()
        return await self.start()

    async def stop(self) -> None:
        """SIGCONT (in case it is paused), then SIGTERM, SIGKILL after a grace period."""
        if self.running:
            self.resume()
            await asyncio.to_thread(self.group.stop, timeout=20)
        else:
            self.group.stop(timeout=1)

    def log_tail(self, lines: int = 40) -> str:
        """The last ``lines`` lines of the log, for failure messages."""
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"
