"""Microbenchmarks of the hot path, no cluster needed: ``python -m benchmarks.micro``.

* decode one pod watch event (the client's line split + orjson + transform + store add);
* translate one pod (virtual pod → host pod, :func:`mappers.podspec.translate_pod`);
* compute one host update (:func:`mappers.podspec.updated_host_pod`);
* check that a running host pod needs no update (:func:`mappers.podspec.host_pod_update`,
  what most reconciles do);
* read one pod from a cache of 1,000 pods (a zstd frame against the trained dictionary);
* one work-queue round trip (add → get → done).

Each figure is the best of five timeit repeats, in microseconds per operation.
Regressions show up here without starting a control plane; nothing asserts on time.
"""

from __future__ import annotations

import asyncio
import timeit
import uuid
from typing import Any

import orjson

from benchmarks.pods import pod
from mappers.podspec import PodEnvironment, host_pod_update, translate_pod, updated_host_pod
from syncer.keys import ObjectKey
from syncer.reflector import drop_managed_fields
from syncer.store import TRAIN_AT, Store
from syncer.translate import Translator
from syncer.workqueue import WorkQueue


def _server_pod() -> dict[str, Any]:
    """A pod as the API server returns it: uid, resourceVersion, managedFields, status."""
    obj = pod("web-7d9f8c6b5d-x2x9z", namespace="shop", index=3)
    obj["metadata"].update(
        {
            "uid": str(uuid.uuid4()),
            "resourceVersion": "123456",
            "creationTimestamp": "2026-11-24T10:00:00Z",
            "managedFields": [
                {
                    "manager": "kube-controller-manager",
                    "operation": "Update",
                    "apiVersion": "v1",
                    "time": "2026-11-24T10:00:00Z",
                    "fieldsType": "FieldsV1",
                    "fieldsV1": {
                        "f:metadata": {
                            "f:labels": {f"f:{k}": {} for k in obj["metadata"]["labels"]}
                        }
                    },
                }
            ],
        }
    )
    obj["status"] = {"phase": "Pending", "qosClass": "Burstable"}
    return obj


def _best(stmt: Any, number: int) -> float:
    return min(timeit.repeat(stmt, number=number, repeat=5)) / number * 1e6


def main() -> None:
    obj = _server_pod()
    line = orjson.dumps({"type": "MODIFIED", "object": obj}) + b"\n"
    store = Store()

    def decode() -> None:
        event = orjson.loads(line)
        store.add(drop_managed_fields(event["object"]))

    decode()
    translator = Translator(vcluster="dev", host_namespace="vcluster-dev")
    env = PodEnvironment(api_host="10.96.0.10")
    v_pod = store.get("shop", obj["metadata"]["name"])
    assert v_pod is not None
    host = translate_pod(v_pod, translator=translator, env=env)

    def translate() -> None:
        translate_pod(v_pod, translator=translator, env=env)

    def update() -> None:
        updated_host_pod(host, host)

    desired = {"metadata": host["metadata"], "spec": v_pod["spec"]}
    assert host_pod_update(host, desired) is None

    def check() -> None:
        host_pod_update(host, desired)

    cache = Store()
    for n in range(max(1000, TRAIN_AT)):
        one = _server_pod()
        one["metadata"]["name"] = f"web-{n}"
        cache.add(one)
    assert cache.compressed

    def read() -> None:
        cache.get("shop", "web-500")

    queue: WorkQueue[ObjectKey] = WorkQueue(name="micro")
    key = ObjectKey("pods", "shop", "web")

    async def round_trips(n: int) -> None:
        for _ in range(n):
            queue.add(key)
            got = await queue.get()
            queue.done(got)

    loop = asyncio.new_event_loop()
    rows = [
        ("decode one pod watch event", _best(decode, 2000), f"{len(line):,} bytes"),
        ("translate one pod", _best(translate, 2000), ""),
        ("compute one host update", _best(update, 2000), ""),
        ("check a host pod is up to date", _best(check, 2000), ""),
        (
            "read one cached pod",
            _best(read, 2000),
            f"{cache.stored_bytes() / len(cache):,.0f} bytes cached per pod",
        ),
        (
            "queue add/get/done",
            min(
                timeit.repeat(
                    lambda: loop.run_until_complete(round_trips(10000)), number=1, repeat=5
                )
            )
            / 10000
            * 1e6,
            "",
        ),
    ]
    loop.close()
    for name, micros, note in rows:
        print(f"{name:32s} {micros:8.1f} µs  {note}")


if __name__ == "__main__":
    main()
