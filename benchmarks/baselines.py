"""The baselines: a direct client doing the syncer's API work, measured in the same run.

Same API servers, same client, same concurrency as the syncer's workers, so
the scenarios compare the syncer with the cheapest way to do the same writes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from benchmarks.harness import bounded, ensure_namespaces, wait_for_default_sa
from benchmarks.pods import pod
from benchmarks.run import CONCURRENCY, NAMESPACES, Run, pod_names, remove_round
from syncer.resources import PODS


async def baseline_p1(run: Run) -> None:
    """The P1 baselines alone, stored as ``run.results["P1"]`` (for a scenario that needs the
    same run's dual-write throughput without running P1)."""
    run.results["P1"] = await measure_baseline_p1(run, tag="b")


async def measure_baseline_p1(run: Run, *, tag: str, n: int | None = None) -> dict[str, float]:
    """Host-only and dual-write creation of the P1 burst with the same client and concurrency.

    ``tag`` keeps each round's namespaces apart; ``n`` defaults to the P1 burst.  Returns
    ``n``, ``host_only_s``, ``dual_write_s``.  The dual-write's virtual pods are removed
    before it returns (a syncer must not find them); the host pods stay.
    """
    n = run.n(2000) if n is None else n
    host_ns = [f"direct-host-{tag}"]
    await ensure_namespaces(run.host, host_ns)
    await wait_for_default_sa(run.host, host_ns)

    def host_job(i: int) -> Callable[[], Any]:
        async def create() -> None:
            body = pod(f"h-{i}", namespace=host_ns[0])
            await run.host.create(PODS, namespace=host_ns[0], body=body)

        return create

    started = time.monotonic()
    await bounded((host_job(i) for i in range(n)), concurrency=CONCURRENCY)
    host_only = time.monotonic() - started

    v_ns = [f"dw{tag}-{i}" for i in range(NAMESPACES)]
    dw_ns = f"direct-dw-{tag}"
    await ensure_namespaces(run.virtual, v_ns)
    await ensure_namespaces(run.host, [dw_ns])
    await wait_for_default_sa(run.virtual, v_ns)
    await wait_for_default_sa(run.host, [dw_ns])

    def job(ns: str, name: str) -> Callable[[], Any]:
        async def both() -> None:
            await run.virtual.create(PODS, namespace=ns, body=pod(name, namespace=ns))
            twin = pod(run.t.host_name(ns, name), namespace=dw_ns)
            await run.host.create(PODS, namespace=dw_ns, body=twin)

        return both

    started = time.monotonic()
    await bounded(
        (job(ns, name) for ns, name in pod_names(f"dw{tag}", n, v_ns)), concurrency=CONCURRENCY
    )
    dual_write = time.monotonic() - started
    await remove_round(run, virtual_namespaces=v_ns, host_namespace=None, nodes=False)
    return {"n": n, "host_only_s": host_only, "dual_write_s": dual_write}
