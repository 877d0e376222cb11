"""Support for the engine's end-to-end tests: a daemon copying every virtual configmap.

:class:`AllConfigMaps` is the generic :class:`~syncer.kit.CopySyncer`
for configmaps without the "only while a pod refers to it" rule, so a test can
sync one object without pods.  :func:`copying_daemon` runs it in-process
(ephemeral ports, no signal handlers) until the block ends, and yields once
both caches have synced; the daemon must then stop cleanly (exit code 0).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from syncer.api import CONFIGMAPS, ObjectKey, Translator
from syncer.daemon import Daemon
from syncer.kit import CopySyncer
from syncer.settings import Settings
from tests.owneranchors import create_owner_anchor_for

VCLUSTER = "vc"


class AllConfigMaps(CopySyncer):
    synced_fields = ("data",)

    def __init__(self, *, translator: Translator) -> None:
        super().__init__(resource=CONFIGMAPS, translator=translator)

    def virtual_to_host(self, key: ObjectKey) -> str | None:
        return None if key.name == "kube-root-ca.crt" else super().virtual_to_host(key)


@contextlib.asynccontextmanager
async def copying_daemon(
    *, host_namespace: str, host_kubeconfig: Path, virtual_kubeconfig: Path, **daemon: Any
) -> AsyncIterator[Daemon]:
    """The daemon with :class:`AllConfigMaps`; ``daemon`` holds Daemon keywords and
    ``drift_interval``."""
    settings = Settings(
        vcluster_name=VCLUSTER,
        host_namespace=host_namespace,
        host_kubeconfig=host_kubeconfig,
        virtual_kubeconfig=virtual_kubeconfig,
        kinds=("configmaps",),
        metrics_bind="127.0.0.1:0",
        probes_bind="127.0.0.1:0",
        shutdown_grace=10,
        drift_interval=daemon.pop("drift_interval", 0),
    )
    factory: Callable[..., AllConfigMaps] = AllConfigMaps
    await create_owner_anchor_for(settings)
    runner = Daemon(settings=settings, factories={"configmaps": factory}, **daemon)
    task = asyncio.create_task(runner.run(install_signals=False))
    try:
        async with asyncio.timeout(60):
            while not runner.ready()[0]:
                assert not task.done(), f"daemon exited early with {task.result()}"
                await asyncio.sleep(0.05)  # a bounded readiness poll
        yield runner
    finally:
        runner.request_stop()
        code = await asyncio.wait_for(task, 60)
    assert code == 0, runner._failure


def metric(daemon: Daemon, needle: str) -> float:
    """The value of the sample line starting with ``needle`` (0 when absent)."""
    text = daemon.metrics.render()[0].decode()
    for line in text.splitlines():
        if line.startswith(needle + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def until(check: Callable[[], bool], *, within: float = 60.0) -> None:
    """Poll ``check`` until it holds, failing after ``within`` seconds."""
    async with asyncio.timeout(within):
        while True:
            if check():
                return
            await asyncio.sleep(0.1)
