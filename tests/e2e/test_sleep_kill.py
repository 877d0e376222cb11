"""Sleep mode under SIGKILL: killed at random moments of falling asleep and of waking, five
times each, the syncer's next process always ends fully asleep or fully awake, no object
ever holds anything but its own count or its own record of it, and no bare pod is lost."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from syncer.kube import KubeClient
from syncer.resources import NAMESPACES, PODS
from syncer.sleep import CRONJOBS, DEPLOYMENTS, MARKER, MARKER_NAMESPACE
from syncer.sleep_plan import REPLICAS_ANNOTATION, SUSPEND_ANNOTATION
from syncer.sleep_pods import POD_MARK, is_slept
from syncer.translate import MANAGED_BY_LABEL, OBJECT_NAME_ANNOTATION
from tests.e2e.hostsnapshot import until
from tests.e2e.test_sync_support import VCLUSTER, pod, tenant_namespace
from tests.faults.syncerproc import SyncerConfig, SyncerProcess
from tests.owneranchors import create_owner_anchor

Json = dict[str, Any]
COUNT = 30  # paused Deployments (no pods: only their counts matter), replicas 1..COUNT
BARE = ("b1", "b2", "b3")  # bare pods: kept and marked asleep, their host pods gone
ROUNDS = 5


@pytest.fixture
async def v_ns(virtual: KubeClient) -> AsyncIterator[str]:
    async with tenant_namespace(virtual) as name:
        yield name
    patch = {"metadata": {"annotations": {MARKER: None}}}
    await virtual.patch(NAMESPACES, namespace=None, name=MARKER_NAMESPACE, body=patch)


def deployment(index: int) -> Json:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": f"d{index}"},
        "spec": {
            "replicas": index,
            "paused": True,
            "selector": {"matchLabels": {"app": f"d{index}"}},
            "template": {
                "metadata": {"labels": {"app": f"d{index}"}},
                "spec": {"containers": [{"name": "c", "image": "registry.example/d:1"}]},
            },
        },
    }


async def snapshot(virtual: KubeClient, ns: str) -> tuple[set[str], set[str], bool]:
    """(names fully asleep, names fully awake, marker present); an object in neither state
    fails the test at once."""
    asleep: set[str] = set()
    awake: set[str] = set()
    for item in (await virtual.list(DEPLOYMENTS, namespace=ns))["items"]:
        name = item["metadata"]["name"]
        own = int(name[1:])
        record = (item["metadata"].get("annotations") or {}).get(REPLICAS_ANNOTATION)
        replicas = item["spec"]["replicas"]
        if record == str(own) and replicas == 0:
            asleep.add(name)
        elif record is None and replicas == own:
            awake.add(name)
        else:
            raise AssertionError(f"{name}: replicas {replicas}, record {record!r}: a lost count")
    cron = await virtual.get(CRONJOBS, namespace=ns, name="nightly")
    record = (cron["metadata"].get("annotations") or {}).get(SUSPEND_ANNOTATION)
    suspended = bool(cron["spec"].get("suspend"))
    if (record, suspended) == ("false", True):
        asleep.add("nightly")
    elif (record, suspended) == (None, False):
        awake.add("nightly")
    else:
        raise AssertionError(f"cronjob: suspend {suspended}, record {record!r}")
    marker_ns = await virtual.get(NAMESPACES, namespace=None, name=MARKER_NAMESPACE)
    marked = MARKER in (marker_ns["metadata"].get("annotations") or {})
    return asleep, awake, marked


async def bare_pods(virtual: KubeClient, host: KubeClient, ns: str, host_ns: str) -> Json:
    """Each bare pod's state: ``asleep`` (marked, slept status, no host pod), ``awake``
    (unmarked, Running on the host and in the virtual cluster) or ``between``; a bare pod
    gone from the virtual cluster fails the test at once."""
    v_pods = {p["metadata"]["name"]: p for p in (await virtual.list(PODS, namespace=ns))["items"]}
    listed = await host.list(
        PODS, namespace=host_ns, label_selector=f"{MANAGED_BY_LABEL}={VCLUSTER}"
    )
    on_host = {
        p["metadata"]["annotations"].get(OBJECT_NAME_ANNOTATION): p["status"].get("phase")
        for p in listed["items"]
        if not p["metadata"].get("deletionTimestamp")
    }
    states: Json = {}
    for name in BARE:
        v_pod = v_pods.get(name)
        if v_pod is None:
            raise AssertionError(f"bare pod {name} lost")
        marked = POD_MARK in (v_pod["metadata"].get("annotations") or {})
        running = v_pod.get("status", {}).get("phase") == "Running"
        if marked and is_slept(v_pod) and name not in on_host:
            states[name] = "asleep"
        elif not marked and running and on_host.get(name) == "Running":
            states[name] = "awake"
        else:
            states[name] = "between"
    return states


async def test_sigkill_mid_sleep_and_mid_wake_always_ends_consistent(
    namespace_with_sa: str,
    v_ns: str,
    host: KubeClient,
    virtual: KubeClient,
    host_kubeconfig: Path,
    virtual_kubeconfig: Path,
    tmp_path: Path,
) -> None:
    names = {f"d{i}" for i in range(1, COUNT + 1)} | {"nightly"}
    for index in range(1, COUNT + 1):
        await virtual.create(DEPLOYMENTS, namespace=v_ns, body=deployment(index))
    cronjob = {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": "nightly"},
        "spec": {
            "schedule": "0 0 1 1 *",
            "jobTemplate": {
                "spec": {
                    "template": {
                        "spec": {
                            "restartPolicy": "Never",
                            "containers": [{"name": "c", "image": "registry.example/j:1"}],
                        }
                    }
                }
            },
        },
    }
    await virtual.create(CRONJOBS, namespace=v_ns, body=cronjob)
    for name in BARE:
        await virtual.create(PODS, namespace=v_ns, body=pod(name))
    await create_owner_anchor(host, namespace=namespace_with_sa, vcluster=VCLUSTER)
    process = SyncerProcess(
        config=SyncerConfig(
            vcluster=VCLUSTER,
            host_namespace=namespace_with_sa,
            host_kubeconfig=host_kubeconfig,
            virtual_kubeconfig=virtual_kubeconfig,
            # Nodes too: a bare pod bound to a node its virtual cluster lacks is the virtual
            # pod garbage collector's to delete.
            kinds="pods,configmaps,secrets,events,nodes",
            # Virtual writes paced at 20 a second: falling asleep or waking (one patch per
            # object, 34 objects, and the bare pods' status) takes about 2 s, so a kill
            # 0.1-0.8 s in cuts it short.
            extra={
                "VSYNCER_SLEEP_AFTER": "8",
                "VSYNCER_VIRTUAL_QPS": "20",
                "VSYNCER_VIRTUAL_BURST": "1",
            },
        ),
        run_dir=tmp_path,
    )
    rng = random.Random(1401)
    kills = partial = pods_between = 0

    async def fully(state: str) -> bool:
        asleep, awake, marked = await snapshot(virtual, v_ns)
        pods = await bare_pods(virtual, host, v_ns, namespace_with_sa)
        if state == "asleep":
            return asleep == names and marked and set(pods.values()) == {"asleep"}
        return awake == names and set(pods.values()) == {"awake"}

    try:
        await process.start()
        await until(lambda: fully("awake"), what="the bare pods running")
        for _ in range(ROUNDS):
            # Falling asleep: the marker goes first, then the objects; kill somewhere in there.
            await until(lambda: _marked(virtual), what="falling asleep")
            await asyncio.sleep(rng.uniform(0.1, 0.8))  # the random moment of the kill
            process.kill()
            kills += 1
            partial += _partial(await snapshot(virtual, v_ns))  # every object whole
            pods_between += _between(await bare_pods(virtual, host, v_ns, namespace_with_sa))
            await process.start()
            await until(lambda: fully("asleep"), what=f"asleep after kill {kills}")
            # Waking: remove the marker (what `vsyncer wake` does), kill mid-wake.
            patch = {"metadata": {"annotations": {MARKER: None}}}
            await virtual.patch(NAMESPACES, namespace=None, name=MARKER_NAMESPACE, body=patch)
            await asyncio.sleep(rng.uniform(0.1, 0.8))
            process.kill()
            kills += 1
            partial += _partial(await snapshot(virtual, v_ns))
            pods_between += _between(await bare_pods(virtual, host, v_ns, namespace_with_sa))
            await process.start()
            await until(lambda: fully("awake"), what=f"awake after kill {kills}")
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{process.log_tail()}") from None
    finally:
        await process.stop()
    assert kills == 2 * ROUNDS
    assert partial >= 1, "no kill landed mid-transition: the test proved nothing"
    assert pods_between >= 1, "no kill landed while a bare pod was between asleep and awake"


async def _marked(virtual: KubeClient) -> bool:
    namespace = await virtual.get(NAMESPACES, namespace=None, name=MARKER_NAMESPACE)
    return MARKER in (namespace["metadata"].get("annotations") or {})


def _partial(state: tuple[set[str], set[str], bool]) -> int:
    """1 when the kill left some objects asleep and others awake (a transition cut short)."""
    asleep, awake, _ = state
    return int(bool(asleep) and bool(awake))


def _between(pods: Json) -> int:
    """1 when the kill left a bare pod between asleep and awake (none is lost: checked)."""
    return int("between" in pods.values())
