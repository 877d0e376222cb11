"""P10: a burst of custom resources through vsyncer ÷ dual-write of the same objects.

The issue's goal: a burst of 2,000 objects of a configured toHost custom
resource (``VSYNCER_CUSTOM_RESOURCES``) at the same syncer ÷ dual-write ratio
as pods' P1, within ± 10 %.  Both halves run in the same run on the same API
servers, with the same client and the same concurrency (:data:`CONCURRENCY`):

1. the CRD ``widgets.bench.vsyncer.dev`` (namespaced, ``v1``, status
   subresource) is installed on the host and in the virtual cluster;
2. *dual-write*: each object is created in a virtual namespace and its twin,
   under its host name, in a host namespace of its own — the cheapest way to
   make both copies;
3. the baseline's virtual objects are removed, a vsyncer of its own starts
   with the custom resource configured (the other scenarios' is stopped), and
   the same number of objects is created in virtual; the *syncer* time runs
   from the first create to the moment the last host copy is seen by a watch on
   the host namespace.

``run.results["P10"]``: ``n``, ``dual_write_s``, ``syncer_s``, ``ratio``
(syncer ÷ dual-write) and, when P1 ran, ``vs_p1`` (this ratio ÷ P1's).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable, Iterable
from typing import Any

from benchmarks.harness import SyncerProcess, bounded, ensure_namespaces
from benchmarks.run import CONCURRENCY, HOST_NS, NAMESPACES, VCLUSTER, Run, pod_names
from syncer.errors import AlreadyExists
from syncer.kube import KubeClient
from syncer.owneranchor import stand_in
from syncer.resources import CRDS, SERVICES, Resource
from syncer.resources import NAMESPACES as NAMESPACES_R
from syncer.translate import MANAGED_BY_LABEL

WIDGETS = Resource("bench.vsyncer.dev", "v1", "widgets", "Widget", True)
#: The VSYNCER_CUSTOM_RESOURCES entry the restarted syncer runs with.
ENTRY = {
    "resource": WIDGETS.qualified,
    "version": WIDGETS.version,
    "kind": WIDGETS.kind,
    "direction": "toHost",
}


def definition() -> dict[str, Any]:
    """The CRD of :data:`WIDGETS`: one served and stored version, a status subresource."""
    return {
        "apiVersion": CRDS.api_version,
        "kind": CRDS.kind,
        "metadata": {"name": WIDGETS.qualified},
        "spec": {
            "group": WIDGETS.group,
            "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "x-kubernetes-preserve-unknown-fields": True,
                        }
                    },
                }
            ],
        },
    }


def widget(name: str, *, namespace: str, index: int = 0) -> dict[str, Any]:
    """An operator-style object of about 1 KB as JSON: labels, annotations, a nested spec."""
    app = f"app-{index % 17}"
    return {
        "apiVersion": WIDGETS.api_version,
        "kind": WIDGETS.kind,
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {
                "app.kubernetes.io/name": app,
                "app.kubernetes.io/instance": f"{app}-prod",
                "app.kubernetes.io/managed-by": "shop-operator",
            },
            "annotations": {"checksum/config": "3f2a9c01bd7e4c5a9d8e7f6a5b4c3d2e1f0a9b8c"},
        },
        "spec": {
            "replicas": 3,
            "image": f"registry.example.com/shop/{app}:1.24.3",
            "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}},
            "endpoints": [
                {"name": "http", "port": 8080, "path": "/"},
                {"name": "metrics", "port": 9090, "path": "/metrics"},
            ],
            "settings": {f"key-{k}": f"value-{k}-{index}" for k in range(8)},
        },
    }


async def install_definition(client: KubeClient, *, namespace: str) -> None:
    """Create the CRD, wait until its kind is served, and write one object to ``namespace``
    and delete it, so that neither half measures the API server's first use of the kind."""
    with contextlib.suppress(AlreadyExists):
        await client.create(CRDS, namespace=None, body=definition())
    async with asyncio.timeout(60):
        while True:
            try:
                await client.create(
                    WIDGETS, namespace=namespace, body=widget("warm-up", namespace=namespace)
                )
                break
            except AlreadyExists:
                break
            except Exception:
                await asyncio.sleep(0.1)
    await client.delete(WIDGETS, namespace=namespace, name="warm-up")


async def create_all(
    run: Run, names: Iterable[tuple[str, str]], *, twin_namespace: str | None
) -> None:
    """Create a widget per name in virtual and, with ``twin_namespace``, its host twin too."""

    def job(i: int, ns: str, name: str) -> Callable[[], Any]:
        async def create() -> None:
            await run.virtual.create(
                WIDGETS, namespace=ns, body=widget(name, namespace=ns, index=i)
            )
            if twin_namespace is not None:
                twin = widget(run.t.host_name(ns, name), namespace=twin_namespace, index=i)
                await run.host.create(WIDGETS, namespace=twin_namespace, body=twin)

        return create

    jobs = (job(i, ns, name) for i, (ns, name) in enumerate(names))
    await bounded(jobs, concurrency=CONCURRENCY)


async def wait_for_host(run: Run, wanted: set[str], *, within: float = 900) -> float:
    """Watch the host namespace's managed widgets until every name in ``wanted`` was seen;
    the monotonic time of the last one."""
    selector = f"{MANAGED_BY_LABEL}={VCLUSTER}"
    seen: dict[str, float] = {}
    async with asyncio.timeout(within):
        listed = await run.host.list(WIDGETS, namespace=HOST_NS, label_selector=selector)
        for item in listed.get("items", []):
            seen.setdefault(item["metadata"]["name"], time.monotonic())
        rv = listed["metadata"]["resourceVersion"]
        while not wanted <= seen.keys():
            async for event in run.host.watch(
                WIDGETS,
                namespace=HOST_NS,
                resource_version=rv,
                timeout_seconds=300,
                label_selector=selector,
            ):
                obj = event["object"]
                rv = obj["metadata"].get("resourceVersion", rv)
                if event["type"] in ("ADDED", "MODIFIED"):
                    seen.setdefault(obj["metadata"]["name"], time.monotonic())
                if wanted <= seen.keys():
                    break
    return max(seen[name] for name in wanted)


async def remove_namespaces(client: KubeClient, names: list[str]) -> None:
    """Delete the namespaces and wait until no widget is left in them."""
    for ns in names:
        await client.delete(NAMESPACES_R, namespace=None, name=ns)
    async with asyncio.timeout(300):
        for ns in names:
            while (await client.list(WIDGETS, namespace=ns, limit=1))["items"]:
                await asyncio.sleep(0.5)


def custom_resource_syncer(run: Run) -> SyncerProcess:
    """vsyncer with the benchmark's usual settings that also syncs :data:`WIDGETS`."""
    return SyncerProcess(
        host_kubeconfig=run.plane.host.kubeconfig,
        virtual_kubeconfig=run.plane.virtual.kubeconfig,
        host_namespace=HOST_NS,
        vcluster=VCLUSTER,
        log=run.workdir / "vsyncer-p10.log",
        workers=run.workers,
        extra_env={"VSYNCER_CUSTOM_RESOURCES": json.dumps([ENTRY])},
    )


async def scenario_p10(run: Run) -> None:
    """P10 (see the module); runs with the other scenarios' vsyncer stopped, its own after
    the baseline."""
    n = run.n(2000)
    dw_ns = [f"cw-{i}" for i in range(NAMESPACES)]
    await ensure_namespaces(run.virtual, dw_ns)
    await ensure_namespaces(run.host, ["direct-cw"])
    await install_definition(run.host, namespace="direct-cw")
    await install_definition(run.virtual, namespace=dw_ns[0])
    started = time.monotonic()
    await create_all(run, pod_names("dw", n, dw_ns), twin_namespace="direct-cw")
    dual_write_s = time.monotonic() - started
    await remove_namespaces(run.virtual, dw_ns)

    v_ns = [f"p10-{i}" for i in range(NAMESPACES)]
    await ensure_namespaces(run.virtual, v_ns)
    names = pod_names("w", n, v_ns)
    wanted = {run.t.host_name(ns, name) for ns, name in names}
    # The owner anchor a chart would create (another scenario's start may have made it).
    with contextlib.suppress(AlreadyExists):
        await run.host.create(
            SERVICES, namespace=HOST_NS, body=stand_in(namespace=HOST_NS, name=VCLUSTER)
        )
    syncer = custom_resource_syncer(run)
    await asyncio.to_thread(syncer.start)
    try:
        started = time.monotonic()
        watcher = asyncio.create_task(wait_for_host(run, wanted))
        await create_all(run, names, twin_namespace=None)
        syncer_s = await watcher - started
    finally:
        await asyncio.to_thread(syncer.stop)
    result: dict[str, Any] = {
        "n": n,
        "dual_write_s": dual_write_s,
        "syncer_s": syncer_s,
        "ratio": syncer_s / dual_write_s,
    }
    p1 = run.results.get("P1", {})
    if "ratio" in p1:
        result["vs_p1"] = result["ratio"] / p1["ratio"]
    run.results["P10"] = result
