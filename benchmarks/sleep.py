"""P11: putting a virtual cluster of 1,000 pods to sleep and waking it, ÷ creating them.

The issue's record: the time to sleep and to wake a virtual cluster with 1,000
pods, as ratios to the time to create the same pods from scratch through
vsyncer, all in the same run on the same API servers.  With the other
scenarios' vsyncer stopped, a vsyncer of its own runs in sleep mode
(``VSYNCER_SLEEP_AFTER=24h``: it never falls asleep by itself here):

1. *create* (the baseline): :data:`NAMESPACES` virtual namespaces get ``n`` bare
   pods (the benchmark's usual ~4 KB manifests, with the usual concurrency); the
   time runs from the first create to the moment a watch on the host namespace
   has seen the last host pod;
2. *sleep*: the sleep marker is written on the virtual ``default`` Namespace
   (what vsyncer writes after the idle period); the time runs until no host pod
   of them is left (listed every 0.2 s; terminating ones count as left);
3. *wake*: the marker is removed (what ``vsyncer wake`` does); the time runs
   until a fresh watch on the host namespace has seen every host pod again.

Between steps the syncer's pods queue settles.  Sleep and wake run
``run.repeats`` times; their medians are reported.  ``run.results["P11"]``:
``n``, ``create_s``, ``sleep_s``, ``wake_s`` (medians, with ``*_spread``),
``ratio`` (wake ÷ create), ``sleep_ratio`` (sleep ÷ create) and ``rounds``.
It runs last: its pods stay in the host namespace.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import statistics
import time

from benchmarks.harness import (
    SyncerProcess,
    ensure_namespaces,
    host_observer,
    wait_for_default_sa,
)
from benchmarks.run import (
    HOST_NS,
    NAMESPACES,
    VCLUSTER,
    Run,
    create_virtual,
    pod_names,
    settle,
    stop_syncer,
)
from syncer.errors import AlreadyExists
from syncer.owneranchor import stand_in
from syncer.resources import NAMESPACES as NAMESPACES_R
from syncer.resources import PODS, SERVICES
from syncer.sleep import MARKER, MARKER_NAMESPACE
from syncer.translate import MANAGED_BY_LABEL

SLEEP_NAMESPACES = [f"sl-{i}" for i in range(NAMESPACES)]


def sleep_syncer(run: Run) -> SyncerProcess:
    """vsyncer with the benchmark's usual settings, in sleep mode (a day's idle period)."""
    return SyncerProcess(
        host_kubeconfig=run.plane.host.kubeconfig,
        virtual_kubeconfig=run.plane.virtual.kubeconfig,
        host_namespace=HOST_NS,
        vcluster=VCLUSTER,
        log=run.workdir / "vsyncer-p11.log",
        workers=run.workers,
        extra_env={"VSYNCER_SLEEP_AFTER": "24h"},
    )


async def set_marker(run: Run, *, asleep: bool) -> None:
    """Write (``asleep``) or remove the sleep marker, as vsyncer and ``vsyncer wake`` do."""
    since = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    patch = {"metadata": {"annotations": {MARKER: since if asleep else None}}}
    await run.virtual.patch(NAMESPACES_R, namespace=None, name=MARKER_NAMESPACE, body=patch)


async def until_host_empty(run: Run, wanted: set[str], *, within: float = 1800) -> float:
    """Poll the host namespace until none of ``wanted`` is there; the monotonic time then."""
    async with asyncio.timeout(within):
        while True:
            listed = await run.host.list(
                PODS, namespace=HOST_NS, label_selector=f"{MANAGED_BY_LABEL}={VCLUSTER}"
            )
            if not wanted & {p["metadata"]["name"] for p in listed.get("items", [])}:
                return time.monotonic()
            await asyncio.sleep(0.2)


async def wake_time(run: Run, wanted: set[str]) -> float:
    """Remove the marker; seconds until a fresh host watch has seen every ``wanted`` pod."""
    observer = host_observer(run.host, namespace=HOST_NS, vcluster=VCLUSTER)
    await observer.start()
    try:
        started = time.monotonic()
        await set_marker(run, asleep=False)
        return await observer.wait_for(wanted, within=1800) - started
    finally:
        await observer.stop()


async def scenario_p11(run: Run) -> None:
    """P11 (see the module); runs with the other scenarios' vsyncer stopped, its own started."""
    n = run.n(1000)
    await ensure_namespaces(run.virtual, SLEEP_NAMESPACES)
    await wait_for_default_sa(run.virtual, SLEEP_NAMESPACES)
    with contextlib.suppress(AlreadyExists):  # the owner anchor a chart would create
        await run.host.create(
            SERVICES, namespace=HOST_NS, body=stand_in(namespace=HOST_NS, name=VCLUSTER)
        )
    syncer = sleep_syncer(run)
    await asyncio.to_thread(syncer.start)
    run.syncer = syncer
    try:
        names = pod_names("sl", n, SLEEP_NAMESPACES)
        wanted = {run.t.host_name(ns, name) for ns, name in names}
        run.observer = host_observer(run.host, namespace=HOST_NS, vcluster=VCLUSTER)
        await run.observer.start()
        started = time.monotonic()
        await create_virtual(run, names)
        create_s = await run.observer.wait_for(wanted) - started
        await settle(run)
        sleeps: list[float] = []
        wakes: list[float] = []
        for _ in range(max(1, run.repeats)):
            started = time.monotonic()
            await set_marker(run, asleep=True)
            sleeps.append(await until_host_empty(run, wanted) - started)
            await settle(run)
            wakes.append(await wake_time(run, wanted))
            await settle(run)
    finally:
        await stop_syncer(run)
    sleep_s, wake_s = statistics.median(sleeps), statistics.median(wakes)
    run.results["P11"] = {
        "n": n,
        "create_s": create_s,
        "sleep_s": sleep_s,
        "wake_s": wake_s,
        "sleep_s_spread": [min(sleeps), max(sleeps)],
        "wake_s_spread": [min(wakes), max(wakes)],
        "ratio": wake_s / create_s,
        "sleep_ratio": sleep_s / create_s,
        "rounds": len(wakes),
    }
