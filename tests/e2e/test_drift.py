"""The drift check end to end: a host copy edited while vsyncer's host watch is down is found
and put back, without any watch event."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from syncer.kube import KubeClient
from syncer.resources import CONFIGMAPS
from tests.e2e.copies import copying_daemon, metric, until
from tests.e2e.test_sync_support import translator, where
from tests.kubehelpers import wait_for_object

DETECTED = 'vsyncer_drift_detected_total{kind="configmaps",reason="%s"}'
REPAIRED = 'vsyncer_drift_repaired_total{kind="configmaps"}'


async def stop_task(name: str) -> None:
    """Cancel the running task called ``name`` (the daemon names each guarded task)."""
    (task,) = [t for t in asyncio.all_tasks() if t.get_name() == name]
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def test_an_edit_behind_a_dead_watch_is_found_and_repaired(
    namespace: str,
    v_ns: str,
    host: KubeClient,
    virtual: KubeClient,
    host_kubeconfig: Path,
    virtual_kubeconfig: Path,
) -> None:
    p_name = translator(namespace).host_name(v_ns, "app")
    body = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "app"},
        "data": {"v": "1"},
    }
    async with copying_daemon(
        host_namespace=namespace,
        host_kubeconfig=host_kubeconfig,
        virtual_kubeconfig=virtual_kubeconfig,
        drift_interval=1,
    ) as daemon:
        await virtual.create(CONFIGMAPS, namespace=v_ns, body=body)
        p_obj = await wait_for_object(
            host, CONFIGMAPS, namespace=namespace, name=p_name, predicate=where(lambda o: True)
        )
        assert p_obj is not None
        # Once the host cache holds the host's current version (nothing left for a watch
        # event to correct), the host watch goes silent: the host informer of configmaps stops.
        cache = daemon.informers[("host", "configmaps")].store
        async with asyncio.timeout(30):
            while True:
                p_obj = await host.get(CONFIGMAPS, namespace=namespace, name=p_name)
                cached = cache.get(namespace, p_name)
                if (
                    cached is not None
                    and cached["metadata"]["resourceVersion"]
                    == (p_obj["metadata"]["resourceVersion"])
                ):
                    break
                await asyncio.sleep(0.1)  # a bounded poll of an observable condition
        await stop_task("informer host/configmaps")
        p_obj["data"] = {"v": "changed behind vsyncer's back"}
        await host.update(CONFIGMAPS, namespace=namespace, name=p_name, body=p_obj)
        await wait_for_object(
            host,
            CONFIGMAPS,
            namespace=namespace,
            name=p_name,
            predicate=where(lambda o: o.get("data") == {"v": "1"}),
        )
        found = {r: metric(daemon, DETECTED % r) for r in ("stale_cache", "missing", "content")}
        assert sum(found.values()) >= 1, found
        await until(lambda: metric(daemon, REPAIRED) >= 1)
        assert daemon.healthy()
