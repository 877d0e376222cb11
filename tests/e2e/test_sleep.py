"""Sleep mode end to end: idle workloads sleep, wake on use; half-done states converge.

The syncer serves the fake nodes' kubelet API, so a ``kubectl logs`` reaches it.
"""

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
from syncer.localcluster import ControlPlane
from syncer.localcluster.kwok import append_log
from syncer.localcluster.processes import free_port
from syncer.resources import NAMESPACES, PODS
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
from syncer.sleep_pods import POD_MARK, is_slept
from syncer.translate import MANAGED_BY_LABEL
from tests.e2e.hostsnapshot import until
from tests.e2e.kubectl import kubectl
from tests.e2e.kubelet_fixtures import advertised
from tests.e2e.test_sync_support import VCLUSTER, pod, run_syncer, tenant_namespace, translator

Json = dict[str, Any]
KINDS = ("pods", "configmaps", "secrets", "nodes", "events")
IDLE = 10.0  # long enough to see each awake state before the next sleep
BARE = "solo"  # the bare pod: no controller owns it


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
    await virtual.create(PODS, namespace=ns, body=pod(BARE))


async def host_pods(host: KubeClient, host_ns: str) -> int:
    listed = await host.list(
        PODS, namespace=host_ns, label_selector=f"{MANAGED_BY_LABEL}={VCLUSTER}"
    )
    return len(listed["items"])


async def bare_pod(virtual: KubeClient, ns: str) -> str:
    """``asleep`` (marked, slept status), ``running`` (unmarked, Running) or what it is."""
    found = await virtual.get(PODS, namespace=ns, name=BARE)
    marked = POD_MARK in (found["metadata"].get("annotations") or {})
    phase = found.get("status", {}).get("phase")
    if marked and is_slept(found):
        return "asleep"
    if not marked and phase == "Running" and not is_slept(found):
        return "running"
    return f"marked {marked}, phase {phase}, slept {is_slept(found)}"


async def state(virtual: KubeClient, ns: str) -> tuple[int, int, bool, bool, bool, bool, str]:
    """(deployment replicas, statefulset replicas, cronjob suspended, job suspended,
    daemonset pinned, any sleep record, the bare pod's state)."""
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
        await bare_pod(virtual, ns),
    )


def sleeping(daemon: Daemon) -> float:
    return float(daemon.metrics.registry.get_sample_value("vsyncer_sleeping") or 0)


@contextlib.asynccontextmanager
async def syncer(
    ns: str,
    host_kubeconfig: Path,
    virtual_kubeconfig: Path,
    *,
    kubelet: ControlPlane | None = None,
    kubelet_port: int = 0,
) -> AsyncIterator[Daemon]:
    """The syncer in sleep mode; with ``kubelet`` it serves the kubelet API on
    ``kubelet_port``, trusting that control plane's kubelet-client CA."""
    settings: dict[str, Any] = {}
    if kubelet is not None:
        settings = {
            "kubelet_bind": f"127.0.0.1:{kubelet_port}",
            "kubelet_address": "127.0.0.1",
            "kubelet_client_ca": kubelet.virtual.kubelet_client_ca,
        }
    async with run_syncer(
        host_namespace=ns,
        host_kubeconfig=host_kubeconfig,
        virtual_kubeconfig=virtual_kubeconfig,
        kinds=KINDS,
        sleep_after=IDLE,
        **settings,
    ) as daemon:
        yield daemon


async def test_workloads_sleep_when_idle_and_wake_on_kubectl_exactly_as_they_were(
    control_plane: ControlPlane,
    namespace_with_sa: str,
    v_ns: str,
    host: KubeClient,
    virtual: KubeClient,
    host_kubeconfig: Path,
    virtual_kubeconfig: Path,
) -> None:
    """5/2/unsuspended/a running Job/a DaemonSet/a bare pod → asleep (0/0/suspended/suspended/
    pinned/the bare pod kept but marked, no tenant pod on the host) → a kubectl write wakes
    it → as before, every pod back on the host; asleep again → a `kubectl logs` of the bare
    pod wakes it (that first one fails: no host pod yet; a retry prints the log); asleep
    again → `vsyncer wake`."""
    assert await vsyncer_wake(namespace_with_sa, virtual_kubeconfig) == (
        0,
        "the virtual cluster is awake",
    )
    port = free_port()
    async with syncer(
        namespace_with_sa,
        host_kubeconfig,
        virtual_kubeconfig,
        kubelet=control_plane,
        kubelet_port=port,
    ) as daemon:
        host_bare = translator(namespace_with_sa).host_name(v_ns, BARE)
        logs = await asyncio.to_thread(
            control_plane.kubelet.pod_log,
            namespace=namespace_with_sa,
            pod=host_bare,
            containers=("main",),
        )
        append_log(logs["main"].current, "hello from the bare pod")
        await create_workloads(virtual, v_ns)
        awake = (5, 2, False, False, False, False, "running")
        await until(lambda: _is(state(virtual, v_ns), awake), what="every workload running")
        await until(lambda: _at_least(host_pods(host, namespace_with_sa), 10), what="host pods")
        await until(lambda: marker(virtual), within=90, what="the cluster falling asleep")
        asleep = (0, 0, True, True, True, True, "asleep")
        await until(lambda: _is(state(virtual, v_ns), asleep), what="every workload asleep")
        await until(lambda: _is(host_pods(host, namespace_with_sa), 0), what="no host pod")
        assert sleeping(daemon) == 1

        poke = await kubectl(
            "-n", v_ns, "create", "configmap", "poke", kubeconfig=virtual_kubeconfig
        )
        assert poke.code == 0, poke.stderr
        await until(lambda: _is(state(virtual, v_ns), awake), what="every workload awake")
        assert await marker(virtual) is None
        # 5 + 2 + the Job's pod + the bare pod, and one DaemonSet pod per fake node.
        await until(lambda: _at_least(host_pods(host, namespace_with_sa), 10), what="host pods")
        assert sleeping(daemon) == 0

        await until(lambda: marker(virtual), within=90, what="falling asleep again")
        await until(lambda: _is(state(virtual, v_ns), asleep), what="asleep again")
        await until(lambda: _is(host_pods(host, namespace_with_sa), 0), what="no host pod again")
        v_bare = await virtual.get(PODS, namespace=v_ns, name=BARE)
        await advertised(virtual, node=v_bare["spec"]["nodeName"], port=port)
        args = ("-n", v_ns, "logs", BARE)
        first = await kubectl(*args, kubeconfig=virtual_kubeconfig)
        assert first.code != 0, first.stdout  # no host pod to read yet: the request wakes it
        await until(lambda: _is(state(virtual, v_ns), awake), what="awake after kubectl logs")
        assert daemon.activity is not None
        assert daemon.activity.sources.get("kubelet", 0) >= 1

        async def logs_printed() -> bool:
            again = await kubectl(*args, kubeconfig=virtual_kubeconfig)
            return (again.code, again.stdout) == (0, "hello from the bare pod\n")

        await until(logs_printed, what="kubectl logs of the woken bare pod")

        await until(lambda: marker(virtual), within=90, what="falling asleep a third time")
        await until(lambda: _is(state(virtual, v_ns), asleep), what="asleep a third time")
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
            lambda: _is(state(virtual, v_ns), (0, 0, True, True, True, True, "asleep")),
            what="sleep finished",
        )
        assert daemon.sleep is not None
        await until(lambda: sleeping(daemon) == 1, what="vsyncer_sleeping")
        assert await marker(virtual) is not None  # the restart woke nothing
    # Mid-wake: marker gone, the Deployment not restored yet.
    await set_marker(virtual, None)
    async with syncer(namespace_with_sa, host_kubeconfig, virtual_kubeconfig):
        await until(
            lambda: _is(state(virtual, v_ns), (5, 2, False, False, False, False, "running")),
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
