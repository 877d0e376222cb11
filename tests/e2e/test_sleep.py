"""Sleep mode end to end: idle workloads sleep, wake on use; half-done states converge."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from syncer.daemon import Daemon
from syncer.kube import KubeClient
from syncer.resources import CONFIGMAPS, NAMESPACES, PODS
from syncer.sleep import (
    CRONJOBS,
    DAEMONSETS,
    DEPLOYMENTS,
    JOBS,
    MARKER,
    MARKER_NAMESPACE,
    STATEFULSETS,
)
from syncer.sleep_plan import PIN_ANNOTATION, PIN_LABEL, REPLICAS_ANNOTATION, SUSPEND_ANNOTATION
from syncer.translate import MANAGED_BY_LABEL
from tests.e2e.hostsnapshot import until
from tests.e2e.test_sync_support import VCLUSTER, run_syncer, tenant_namespace

Json = dict[str, Any]
KINDS = ("pods", "configmaps", "secrets", "nodes", "events")
IDLE = 10.0  # long enough to see each awake state before the next sleep


@pytest.fixture
async def v_ns(virtual: KubeClient) -> AsyncIterator[str]:
    async with tenant_namespace(virtual) as name:
        yield name
    await set_marker(virtual, None)


async def set_marker(virtual: KubeClient, value: str | None) -> None:
    patch = {"metadata": {"annotations": {MARKER: value}}}
    await virtual.patch(NAMESPACES, namespace=None, name=MARKER_NAMESPACE, body=patch)


async def marker(virtual: KubeClient) -> str | None:
    ns = await virtual.get(NAMESPACES, namespace=None, name=MARKER_NAMESPACE)
    value = (ns["metadata"].get("annotations") or {}).get(MARKER)
    return value if isinstance(value, str) else None


def template(app: str) -> Json:
    return {
        "metadata": {"labels": {"app": app}},
        "spec": {"containers": [{"name": "c", "image": f"registry.example/{app}:1"}]},
    }


async def create_workloads(virtual: KubeClient, ns: str, *, replicas: int = 5) -> None:
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "template": template("web"),
        },
    }
    statefulset = {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": "db"},
        "spec": {
            "replicas": 2,
            "serviceName": "db",
            "selector": {"matchLabels": {"app": "db"}},
            "template": template("db"),
        },
    }
    cronjob = {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": "nightly"},
        "spec": {
            "schedule": "0 0 1 1 *",
            "jobTemplate": {
                "spec": {
                    "template": {
                        **template("job"),
                        "spec": {**template("job")["spec"], "restartPolicy": "Never"},
                    }
                }
            },
        },
    }
    await virtual.create(DEPLOYMENTS, namespace=ns, body=deployment)
    await virtual.create(STATEFULSETS, namespace=ns, body=statefulset)
    await virtual.create(CRONJOBS, namespace=ns, body=cronjob)
    job_pod = template("batch")
    job_pod["spec"]["restartPolicy"] = "Never"
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "batch"},
        "spec": {"template": job_pod},
    }
    await virtual.create(JOBS, namespace=ns, body=job)
    daemonset = {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": "agent"},
        "spec": {"selector": {"matchLabels": {"app": "agent"}}, "template": template("agent")},
    }
    await virtual.create(DAEMONSETS, namespace=ns, body=daemonset)


async def host_pods(host: KubeClient, host_ns: str) -> int:
    listed = await host.list(
        PODS, namespace=host_ns, label_selector=f"{MANAGED_BY_LABEL}={VCLUSTER}"
    )
    return len(listed["items"])


async def state(virtual: KubeClient, ns: str) -> tuple[int, int, bool, bool, bool, bool]:
    """(deployment replicas, statefulset replicas, cronjob suspended, job suspended,
    daemonset pinned, any sleep record)."""
    d = await virtual.get(DEPLOYMENTS, namespace=ns, name="web")
    s = await virtual.get(STATEFULSETS, namespace=ns, name="db")
    c = await virtual.get(CRONJOBS, namespace=ns, name="nightly")
    j = await virtual.get(JOBS, namespace=ns, name="batch")
    a = await virtual.get(DAEMONSETS, namespace=ns, name="agent")
    records = [
        PIN_ANNOTATION in (a["metadata"].get("annotations") or {}),
        REPLICAS_ANNOTATION in (d["metadata"].get("annotations") or {}),
        REPLICAS_ANNOTATION in (s["metadata"].get("annotations") or {}),
        SUSPEND_ANNOTATION in (c["metadata"].get("annotations") or {}),
        SUSPEND_ANNOTATION in (j["metadata"].get("annotations") or {}),
    ]
    return (
        d["spec"]["replicas"],
        s["spec"]["replicas"],
        bool(c["spec"].get("suspend")),
        bool(j["spec"].get("suspend")),
        PIN_LABEL in (a["spec"]["template"]["spec"].get("nodeSelector") or {}),
        any(records),
    )


def sleeping(daemon: Daemon) -> float:
    return float(daemon.metrics.registry.get_sample_value("vsyncer_sleeping") or 0)


@contextlib.asynccontextmanager
async def syncer(ns: str, host_kubeconfig: Path, virtual_kubeconfig: Path) -> AsyncIterator[Daemon]:
    async with run_syncer(
        host_namespace=ns,
        host_kubeconfig=host_kubeconfig,
        virtual_kubeconfig=virtual_kubeconfig,
        kinds=KINDS,
        sleep_after=IDLE,
    ) as daemon:
        yield daemon


async def test_workloads_sleep_when_idle_and_wake_on_a_write_exactly_as_they_were(
    namespace_with_sa: str,
    v_ns: str,
    host: KubeClient,
    virtual: KubeClient,
    host_kubeconfig: Path,
    virtual_kubeconfig: Path,
) -> None:
    """5/2/unsuspended/a running Job/a DaemonSet → asleep (0/0/suspended/suspended/pinned, no
    tenant pod on the host) → a kubectl write wakes it → as before, every pod back on the
    host; `vsyncer wake` too."""
    assert await vsyncer_wake(namespace_with_sa, virtual_kubeconfig) == (
        0,
        "the virtual cluster is awake",
    )
    async with syncer(namespace_with_sa, host_kubeconfig, virtual_kubeconfig) as daemon:
        await create_workloads(virtual, v_ns)
        await until(lambda: host_pods(host, namespace_with_sa), what="pods on the host")
        await until(lambda: marker(virtual), within=90, what="the cluster falling asleep")
        asleep = (0, 0, True, True, True, True)
        await until(lambda: _is(state(virtual, v_ns), asleep), what="every workload asleep")
        await until(lambda: _is(host_pods(host, namespace_with_sa), 0), what="no host pod")
        assert sleeping(daemon) == 1

        cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "poke"}}
        await virtual.create(CONFIGMAPS, namespace=v_ns, body=cm)
        awake = (5, 2, False, False, False, False)
        await until(lambda: _is(state(virtual, v_ns), awake), what="every workload awake")
        assert await marker(virtual) is None
        # 5 + 2 + the Job's pod, and one DaemonSet pod per fake node those run on.
        await until(lambda: _at_least(host_pods(host, namespace_with_sa), 9), what="host pods")
        assert sleeping(daemon) == 0

        await until(lambda: marker(virtual), within=90, what="falling asleep again")
        await until(lambda: _is(state(virtual, v_ns), asleep), what="asleep again")
        assert await vsyncer_wake(namespace_with_sa, virtual_kubeconfig) == (
            0,
            "waking the virtual cluster",
        )
        await until(lambda: _is(state(virtual, v_ns), awake), what="awake after `vsyncer wake`")


async def test_a_half_done_sleep_or_wake_converges_and_a_restart_does_not_wake(
    namespace_with_sa: str,
    v_ns: str,
    virtual: KubeClient,
    host_kubeconfig: Path,
    virtual_kubeconfig: Path,
) -> None:
    """A process killed mid-sleep leaves the marker and some objects not yet asleep: the next
    one finishes the sleep (and stays asleep); killed mid-wake, the next one finishes the wake."""
    await create_workloads(virtual, v_ns)
    # Mid-sleep: marker written, only the StatefulSet recorded-and-scaled so far.
    await set_marker(virtual, "2026-01-01T00:00:00Z")
    sts_asleep = {
        "metadata": {"annotations": {REPLICAS_ANNOTATION: "2"}},
        "spec": {"replicas": 0},
    }
    await virtual.patch(STATEFULSETS, namespace=v_ns, name="db", body=sts_asleep)
    async with syncer(namespace_with_sa, host_kubeconfig, virtual_kubeconfig) as daemon:
        await until(
            lambda: _is(state(virtual, v_ns), (0, 0, True, True, True, True)),
            what="sleep finished",
        )
        assert daemon.sleep is not None
        await until(lambda: sleeping(daemon) == 1, what="vsyncer_sleeping")
        assert await marker(virtual) is not None  # the restart woke nothing
    # Mid-wake: marker gone, the Deployment not restored yet.
    await set_marker(virtual, None)
    async with syncer(namespace_with_sa, host_kubeconfig, virtual_kubeconfig):
        await until(
            lambda: _is(state(virtual, v_ns), (5, 2, False, False, False, False)),
            what="wake finished",
        )


async def vsyncer_wake(host_namespace: str, virtual_kubeconfig: Path) -> tuple[int, str]:
    """``vsyncer wake`` as a process: its exit code and output line."""
    env = {
        **os.environ,
        "VSYNCER_VCLUSTER_NAME": VCLUSTER,
        "VSYNCER_HOST_NAMESPACE": host_namespace,
        "VSYNCER_VIRTUAL_KUBECONFIG": str(virtual_kubeconfig),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "syncer", "wake", env=env, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await asyncio.wait_for(process.communicate(), 60)
    return int(process.returncode or 0), out.decode().strip()


async def _at_least(value: Any, expected: int) -> bool:
    return bool(await value >= expected)


async def _is(value: Any, expected: Any) -> bool:
    return bool(await value == expected)
