"""The relay: the smallest possible syncer, the latency baseline of P2 and P6.

``python -m benchmarks.relay`` (settings in the environment: ``RELAY_HOST_KUBECONFIG``,
``RELAY_VIRTUAL_KUBECONFIG``, ``RELAY_HOST_NAMESPACE``, ``RELAY_VCLUSTER``,
``RELAY_WORKERS``) does one thing: one watch on virtual pods from the moment it
starts (pods that existed before are ignored), and for every pod added, one
create of its twin in the host namespace, with the twin's name translated as
vsyncer translates it and the spec copied.  Nothing else: no status back, no
updates, no deletes, no retries.  Added pods go into one FIFO queue that
``RELAY_WORKERS`` tasks drain (vsyncer's default worker count), the API
server's and a plain controller's order, so a burst in one namespace delays
every other namespace behind it.  It prints ``ready`` once its watch is open.

:class:`RelayProcess` runs it as a separate process, like vsyncer, so the two
are measured under the same conditions.  Not a test.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from syncer.errors import AlreadyExists
from syncer.kube import KubeClient
from syncer.resources import PODS
from syncer.translate import MANAGED_BY_LABEL
from syncer.translate import host_name as translated_name

READY = "ready"


def twin(pod: dict[str, Any], *, host_namespace: str, vcluster: str) -> dict[str, Any]:
    """The host twin of virtual ``pod``: translated name, our label, the spec as is."""
    meta = pod["metadata"]
    # Fields the host's admission sets itself (and refuses when they disagree).
    spec = {k: v for k, v in pod.get("spec", {}).items() if k not in ("nodeName", "priority")}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": translated_name(
                name=meta["name"], namespace=meta["namespace"], vcluster=vcluster
            ),
            "namespace": host_namespace,
            "labels": {MANAGED_BY_LABEL: vcluster},
        },
        "spec": spec,
    }


async def relay(*, host: KubeClient, virtual: KubeClient, namespace: str, vcluster: str) -> None:
    workers = int(os.environ.get("RELAY_WORKERS", "32"))
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def worker() -> None:
        while True:
            pod = await queue.get()
            body = twin(pod, host_namespace=namespace, vcluster=vcluster)
            with contextlib.suppress(AlreadyExists):
                await host.create(PODS, namespace=namespace, body=body)

    tasks = [asyncio.create_task(worker()) for _ in range(workers)]
    rv = (await virtual.list(PODS, limit=1))["metadata"]["resourceVersion"]
    print(READY, flush=True)
    while True:
        async for event in virtual.watch(PODS, resource_version=rv, timeout_seconds=600):
            obj = event["object"]
            rv = obj["metadata"].get("resourceVersion", rv)
            if event["type"] == "ADDED":
                queue.put_nowait(obj)
        if all(t.done() for t in tasks):
            return


async def _main() -> None:
    env = os.environ
    host = await KubeClient.connect(cluster="host", kubeconfig=env["RELAY_HOST_KUBECONFIG"])
    virtual = await KubeClient.connect(
        cluster="virtual", kubeconfig=env["RELAY_VIRTUAL_KUBECONFIG"]
    )
    await relay(
        host=host,
        virtual=virtual,
        namespace=env["RELAY_HOST_NAMESPACE"],
        vcluster=env["RELAY_VCLUSTER"],
    )


class RelayProcess:
    """``python -m benchmarks.relay`` between the local clusters; ``start`` then ``stop``."""

    def __init__(
        self,
        *,
        host_kubeconfig: Path,
        virtual_kubeconfig: Path,
        host_namespace: str,
        vcluster: str,
        log: Path,
        workers: int = 32,
    ) -> None:
        self.env = {
            **os.environ,
            "RELAY_HOST_KUBECONFIG": str(host_kubeconfig),
            "RELAY_VIRTUAL_KUBECONFIG": str(virtual_kubeconfig),
            "RELAY_HOST_NAMESPACE": host_namespace,
            "RELAY_VCLUSTER": vcluster,
            "RELAY_WORKERS": str(workers),
        }
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, *, within: float = 60) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "benchmarks.relay"],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        deadline = time.monotonic() + within
        while READY not in self.log.read_text(errors="replace").split():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the relay did not start; log: {self.log}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


if __name__ == "__main__":
    asyncio.run(_main())
