"""The baselines: a direct client doing the syncer's API work, measured in the same run.

Same API servers, same client, same concurrency as the syncer's workers, so
the scenarios compare the syncer with the cheapest way to do the same writes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from benchmarks.harness import bounded, ensure_namespaces, wait_for_default_sa
from benchmarks.pods import pod
from benchmarks.run import CONCURRENCY, NAMESPACES, Run, pod_names
from syncer.resources import NAMESPACES as NAMESPACES_R
from syncer.resources import PODS


async def baseline_p1(run: Run) -> None:
    """Host-only and dual-write creation of the P1 burst with the same client and concurrency."""
    n = run.n(2000)
    host_ns = ["direct-host"]
    await ensure_namespaces(run.host, host_ns)
    await wait_for_default_sa(run.host, host_ns)

    def host_job(i: int) -> Callable[[], Any]:
        async def create() -> None:
            body = pod(f"h-{i}", namespace="direct-host")
            await run.host.create(PODS, namespace="direct-host", body=body)

        return create

    started = time.monotonic()
    await bounded((host_job(i) for i in range(n)), concurrency=CONCURRENCY)
    host_only = time.monotonic() - started

    v_ns = [f"dw-{i}" for i in range(NAMESPACES)]
    await ensure_namespaces(run.virtual, v_ns)
    await ensure_namespaces(run.host, ["direct-dw"])
    await wait_for_default_sa(run.virtual, v_ns)
    await wait_for_default_sa(run.host, ["direct-dw"])

    def job(ns: str, name: str) -> Callable[[], Any]:
        async def both() -> None:
            await run.virtual.create(PODS, namespace=ns, body=pod(name, namespace=ns))
            twin = pod(run.t.host_name(ns, name), namespace="direct-dw")
            await run.host.create(PODS, namespace="direct-dw", body=twin)

        return both

    started = time.monotonic()
    await bounded((job(ns, name) for ns, name in pod_names("dw", n, v_ns)), concurrency=CONCURRENCY)
    run.results["P1"] = {
        "n": n,
        "host_only_s": host_only,
        "dual_write_s": time.monotonic() - started,
    }
    # The syncer must not find the baseline's virtual pods: remove them before it starts.
    for ns in v_ns:
        await run.virtual.delete(NAMESPACES_R, namespace=None, name=ns)
    async with asyncio.timeout(300):
        for ns in v_ns:
            while (await run.virtual.list(PODS, namespace=ns, limit=1))["items"]:
                await asyncio.sleep(0.5)
