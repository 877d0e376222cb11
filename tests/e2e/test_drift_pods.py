"""The drift check of pods end to end: a host pod changed without an event vsyncer acts on is
found (``vsyncer_drift_detected_total{kind="pods"}``) and put back by the ordinary reconcile."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from syncer.api import thaw, token_host_name
from syncer.daemon import Daemon
from syncer.kube import KubeClient
from syncer.resources import PODS, SECRETS
from syncer.translate import NAMESPACE_LABEL
from tests.e2e.copies import metric, until
from tests.e2e.test_drift import stop_task
from tests.e2e.test_sync_support import (
    VCLUSTER,
    pod,
    run_syncer,
    translator,
    where,
)
from tests.kubehelpers import wait_for_object

Json = dict[str, Any]
KINDS = ("pods", "configmaps", "secrets", "nodes", "events")
DETECTED = 'vsyncer_drift_detected_total{kind="pods",reason="%s"}'
REPAIRED = 'vsyncer_drift_repaired_total{kind="pods"}'
IMAGE = "registry.example/app:1"


def _rv(obj: Any) -> str:
    return "" if obj is None else str(obj["metadata"]["resourceVersion"])


async def running_pair(
    daemon: Daemon,
    *,
    host: KubeClient,
    virtual: KubeClient,
    host_namespace: str,
    v_ns: str,
    p_name: str,
) -> Json:
    """The host pod of ``v_ns/web`` once it runs, the virtual pod shows it (node, IP), and
    vsyncer is done with it: its caches hold what both API servers hold and no pod
    reconcile is queued or running (so no event in flight can repair what the test changes).
    """

    def shown(o: Json) -> bool:
        status = o.get("status") or {}
        return bool(
            status.get("phase") == "Running" and status.get("podIP") and o["spec"].get("nodeName")
        )

    await wait_for_object(virtual, PODS, namespace=v_ns, name="web", predicate=where(shown))
    await wait_for_object(host, PODS, namespace=host_namespace, name=p_name, predicate=where(shown))
    sync, queue = daemon.syncs["pods"], daemon.controllers["pods"].queue
    async with asyncio.timeout(60):
        while True:
            p_pod = await host.get(PODS, namespace=host_namespace, name=p_name)
            v_pod = await virtual.get(PODS, namespace=v_ns, name="web")
            if (
                _rv(sync.host.store.get(host_namespace, p_name)) == _rv(p_pod)
                and _rv(sync.virtual.store.get(v_ns, "web")) == _rv(v_pod)
                and queue.depth == 0
                and queue.in_flight == 0
            ):
                return p_pod
            await asyncio.sleep(0.1)  # a bounded poll for an observable condition


def tampered(p_pod: Json) -> Json:
    """``p_pod`` running another image and claiming another virtual namespace."""
    body = thaw(p_pod)
    body["metadata"]["labels"][NAMESPACE_LABEL] = "another-namespace"
    body["spec"]["containers"][0]["image"] = "registry.example/evil:1"
    return body


def put_back(v_ns: str) -> Any:
    def check(o: Json) -> bool:
        image = o["spec"]["containers"][0]["image"]
        return bool(o["metadata"]["labels"].get(NAMESPACE_LABEL) == v_ns and image == IMAGE)

    return where(check)


async def test_a_pod_edited_behind_a_dead_host_watch_is_found_and_put_back(
    namespace_with_sa: str,
    v_ns: str,
    host: KubeClient,
    virtual: KubeClient,
    host_kubeconfig: Path,
    virtual_kubeconfig: Path,
) -> None:
    """The host pods watch stops; a label and an image changed meanwhile are restored."""
    p_name = translator(namespace_with_sa).host_name(v_ns, "web")
    async with run_syncer(
        host_namespace=namespace_with_sa,
        host_kubeconfig=host_kubeconfig,
        virtual_kubeconfig=virtual_kubeconfig,
        kinds=KINDS,
        drift_interval=1,
    ) as daemon:
        await virtual.create(PODS, namespace=v_ns, body=pod("web"))
        p_pod = await running_pair(
            daemon,
            host=host,
            virtual=virtual,
            host_namespace=namespace_with_sa,
            v_ns=v_ns,
            p_name=p_name,
        )
        await stop_task("informer host/pods")
        await host.update(PODS, namespace=namespace_with_sa, name=p_name, body=tampered(p_pod))
        await wait_for_object(
            host, PODS, namespace=namespace_with_sa, name=p_name, predicate=put_back(v_ns)
        )
        assert metric(daemon, DETECTED % "stale_cache") >= 1
        await until(lambda: metric(daemon, REPAIRED) >= 1)
        v_pod = await virtual.get(PODS, namespace=v_ns, name="web")
        assert v_pod["spec"]["containers"][0]["image"] == IMAGE
        assert daemon.healthy()


async def test_a_deleted_token_secret_is_found_by_the_pods_comparison_and_recreated(
    namespace_with_sa: str,
    v_ns: str,
    host: KubeClient,
    virtual: KubeClient,
    host_kubeconfig: Path,
    virtual_kubeconfig: Path,
) -> None:
    """No event brings a pod back when its token Secret goes: the pods mapper's ``drift`` does.

    The host caches are right (the watches are alive); only the comparison of
    what the pod mounts with what the host holds finds it, long before the
    token's renewal would.
    """
    p_name = translator(namespace_with_sa).host_name(v_ns, "web")
    token_name = token_host_name(vcluster=VCLUSTER, namespace=v_ns, pod="web")
    async with run_syncer(
        host_namespace=namespace_with_sa,
        host_kubeconfig=host_kubeconfig,
        virtual_kubeconfig=virtual_kubeconfig,
        kinds=KINDS,
        drift_interval=1,
    ) as daemon:
        await virtual.create(PODS, namespace=v_ns, body=pod("web"))
        await running_pair(
            daemon,
            host=host,
            virtual=virtual,
            host_namespace=namespace_with_sa,
            v_ns=v_ns,
            p_name=p_name,
        )
        secret = await host.get(SECRETS, namespace=namespace_with_sa, name=token_name)
        await host.delete(SECRETS, namespace=namespace_with_sa, name=token_name)
        old_uid = secret["metadata"]["uid"]
        recreated = await wait_for_object(
            host,
            SECRETS,
            namespace=namespace_with_sa,
            name=token_name,
            predicate=where(lambda o: o["metadata"]["uid"] != old_uid),
        )
        assert recreated is not None
        assert recreated["data"]["token"]
        assert metric(daemon, DETECTED % "content") >= 1
        await until(lambda: metric(daemon, REPAIRED) >= 1)
        assert daemon.healthy()
