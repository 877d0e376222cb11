"""Informer hot-path figures against a real kube-apiserver (not a test).

Starts a virtual-only local control plane, creates N realistic pods, then measures:

* ``list``: paginated list into a store through the reflector (objects/s);
* ``watch``: a watch from resourceVersion "0", which the API server answers with
  one ADDED event per existing pod as fast as it can, decoded and stored by the
  same reflector path (events/s — bounded by the API server's own encoding);
* ``decode``: the same watch lines decoded (orjson), transformed and stored in
  process, with no network (events/s — the syncer-side ceiling);
* ``memory``: bytes per cached pod after the transform (tracemalloc).

Usage: ``python -m benchmarks.micro_informer [N]``.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import orjson

from benchmarks.pods import pod
from syncer.kube import KubeClient
from syncer.localcluster import ControlPlane, build
from syncer.reflector import drop_managed_fields
from syncer.resources import NAMESPACES, PODS
from syncer.store import Store


class Count:
    def __init__(self) -> None:
        self.n = 0

    def on_add(self, obj: object) -> None:
        self.n += 1

    def on_update(self, old: object, new: object) -> None:
        self.n += 1

    def on_delete(self, obj: object) -> None:
        self.n += 1


async def main(n: int) -> None:
    binaries = build().binaries
    with (
        tempfile.TemporaryDirectory() as tmp,
        ControlPlane(binaries=binaries, run_dir=Path(tmp), virtual_only=True) as plane,
    ):
        kube = await KubeClient.connect(cluster="virtual", kubeconfig=str(plane.virtual.kubeconfig))
        await kube.create(NAMESPACES, namespace=None, body={"metadata": {"name": "bench"}})
        sem = asyncio.Semaphore(32)

        async def create(i: int) -> None:
            async with sem:
                await kube.create(
                    PODS, namespace="bench", body=pod(f"p-{i}", namespace="bench", index=i)
                )

        started = time.perf_counter()
        await asyncio.gather(*(create(i) for i in range(n)))
        print(f"created {n} pods in {time.perf_counter() - started:.1f}s")

        # list
        from syncer.reflector import Reflector

        store = Store()
        reflector = Reflector(client=kube, resource=PODS, store=store, handler=Count())
        started = time.perf_counter()
        await reflector._list()
        list_s = time.perf_counter() - started
        print(f"list:   {n / list_s:,.0f} objects/s ({list_s:.2f}s for {n})")

        # watch from "0": one ADDED event per pod
        lines: list[bytes] = []
        store = Store()
        started = time.perf_counter()
        count = 0
        async for event in kube.watch(PODS, resource_version="0", timeout_seconds=60):
            if event["type"] != "ADDED":
                continue
            lines.append(orjson.dumps(event))
            store.add(drop_managed_fields(event["object"]))
            count += 1
            if count == n:
                break
        watch_s = time.perf_counter() - started
        print(f"watch:  {n / watch_s:,.0f} events/s through the real API server")
        size = sum(len(line) for line in lines) / len(lines)

        # decode only
        store = Store()
        started = time.perf_counter()
        for line in lines:
            event = orjson.loads(line)
            store.add(drop_managed_fields(event["object"]))
        decode_s = time.perf_counter() - started
        print(f"decode: {n / decode_s:,.0f} events/s in process ({size:,.0f} bytes per event)")

        # memory per cached pod
        del store
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        store = Store()
        for line in lines:
            store.add(drop_managed_fields(orjson.loads(line)["object"]))
        after = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        print(f"memory: {(after - before) / n:,.0f} bytes per cached pod (tracemalloc)")
        await kube.close()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 5000))
