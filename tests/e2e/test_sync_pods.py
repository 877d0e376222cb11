"""Pods end to end: virtual pod → host pod (kwok runs it) → status, node and deletion back up."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from mappers.tokens import TOKEN_SECRET_LABEL
from syncer.api import token_host_name
from syncer.kube import KubeClient
from syncer.resources import NODES, PODS, SECRETS, Resource
from syncer.translate import (
    FAKE_NODE_LABEL,
    MANAGED_BY_LABEL,
    NAMESPACE_LABEL,
    OBJECT_HOST_NAME_ANNOTATION,
    OBJECT_NAME_ANNOTATION,
    OBJECT_NAMESPACE_ANNOTATION,
    OBJECT_UID_ANNOTATION,
)
from tests.e2e.test_sync_support import (
    VCLUSTER,
    exists,
    get_or_none,
    gone,
    pod,
    run_syncer,
    tenant_namespace,
    translator,
    wait_for_event,
    where,
)
from tests.kubehelpers import wait_for_object

KINDS = ("pods", "configmaps", "secrets", "nodes", "events")
RESOURCEQUOTAS = Resource("", "v1", "resourcequotas", "ResourceQuota")


@pytest.fixture
async def v_ns(virtual: KubeClient) -> AsyncIterator[str]:
    """A virtual namespace (labelled team=blue) for one test."""
    async with tenant_namespace(virtual, labels={"team": "blue"}) as name:
        yield name


def running(obj: dict[str, object]) -> bool:
    status = obj.get("status")
    return isinstance(status, dict) and status.get("phase") == "Running"


async def test_virtual_pod_runs_on_the_host_and_reports_back(
    namespace_with_sa: str,
    v_ns: str,
    host: KubeClient,
    virtual: KubeClient,
    host_kubeconfig: Path,
    virtual_kubeconfig: Path,
) -> None:
    """A virtual pod becomes a translated host pod; its Running status, IP and node come back."""
    t = translator(namespace_with_sa)
    async with run_syncer(
        host_namespace=namespace_with_sa,
        host_kubeconfig=host_kubeconfig,
        virtual_kubeconfig=virtual_kubeconfig,
        kinds=KINDS,
    ):
        v_pod = await virtual.create(PODS, namespace=v_ns, body=pod("web"))
        p_name = t.host_name(v_ns, "web")
        p_pod = await wait_for_object(
            host, PODS, namespace=namespace_with_sa, name=p_name, predicate=where(running)
        )
        assert p_pod is not None
        meta, spec = p_pod["metadata"], p_pod["spec"]
        assert meta["labels"]["app"] == "web"
        assert meta["labels"][MANAGED_BY_LABEL] == VCLUSTER
        assert meta["labels"][NAMESPACE_LABEL] == v_ns
        assert meta["labels"][t.namespace_label_key("team")] == "blue"
        assert meta["annotations"][OBJECT_NAME_ANNOTATION] == "web"
        assert meta["annotations"][OBJECT_NAMESPACE_ANNOTATION] == v_ns
        assert meta["annotations"][OBJECT_UID_ANNOTATION] == v_pod["metadata"]["uid"]
        assert spec["automountServiceAccountToken"] is False
        assert spec["enableServiceLinks"] is False
        assert spec["hostname"] == "web"
        assert spec["dnsPolicy"] == "None"
        assert spec["dnsConfig"]["searches"][0] == f"{v_ns}.svc.cluster.local"
        # The virtual service-account token, in a host secret owned by the host pod.
        token_name = token_host_name(vcluster=VCLUSTER, namespace=v_ns, pod="web")
        secret = await wait_for_object(
            host, SECRETS, namespace=namespace_with_sa, name=token_name, predicate=exists
        )
        assert secret is not None
        assert secret["metadata"]["labels"][TOKEN_SECRET_LABEL] == "true"
        assert secret["metadata"]["ownerReferences"][0]["uid"] == meta["uid"]
        assert base64.b64decode(secret["data"]["token"])
        assert base64.b64decode(secret["data"]["namespace"]).decode() == v_ns
        api_access = next(v for v in spec["volumes"] if v["name"].startswith("kube-api-access"))
        projected = api_access["projected"]["sources"]
        assert {s["secret"]["name"] for s in projected if "secret" in s} == {token_name}

        v_after = await wait_for_object(
            virtual,
            PODS,
            namespace=v_ns,
            name="web",
            predicate=where(
                lambda o: (
                    running(o)
                    and bool(o["status"].get("podIP"))
                    and o["spec"].get("nodeName") == p_pod["spec"]["nodeName"]
                )
            ),
        )
        assert v_after is not None
        assert v_after["status"]["podIP"] == p_pod["status"]["podIP"]
        assert v_after["status"]["qosClass"] == "BestEffort"

        node = v_after["spec"]["nodeName"]
        fake = await wait_for_object(virtual, NODES, namespace=None, name=node, predicate=exists)
        assert fake is not None
        assert fake["metadata"]["labels"][FAKE_NODE_LABEL] == "true"
        # The host scheduler's event about the host pod, re-pointed at the virtual pod.
        scheduled = await wait_for_event(virtual, namespace=v_ns, reason="Scheduled", name="web")
        assert scheduled["involvedObject"]["uid"] == v_pod["metadata"]["uid"]
        assert f"{v_ns}/web" in scheduled["message"]
        assert p_name not in scheduled["message"]

        await virtual.delete(PODS, namespace=v_ns, name="web")
        await wait_for_object(host, PODS, namespace=namespace_with_sa, name=p_name, predicate=gone)
        await wait_for_object(virtual, PODS, namespace=v_ns, name="web", predicate=gone)
        await wait_for_object(virtual, NODES, namespace=None, name=node, predicate=gone)


async def test_long_names_hash_and_sync_both_ways(
    namespace_with_sa: str,
    v_ns: str,
    host: KubeClient,
    virtual: KubeClient,
    host_kubeconfig: Path,
    virtual_kubeconfig: Path,
) -> None:
    """A pod whose host name would pass 63 characters gets a hashed name and still syncs."""
    t = translator(namespace_with_sa)
    name = "a-very-long-pod-name-that-keeps-going-and-going-for-the-hash-" + "x" * 20
    p_name = t.host_name(v_ns, name)
    assert len(p_name) <= 63
    assert not p_name.startswith(f"{name}-x-")
    async with run_syncer(
        host_namespace=namespace_with_sa,
        host_kubeconfig=host_kubeconfig,
        virtual_kubeconfig=virtual_kubeconfig,
        kinds=KINDS,
    ):
        long_pod = pod(name)
        long_pod["metadata"]["labels"] = {"app": "long"}
        await virtual.create(PODS, namespace=v_ns, body=long_pod)
        p_pod = await wait_for_object(
            host, PODS, namespace=namespace_with_sa, name=p_name, predicate=where(running)
        )
        assert p_pod is not None
        assert p_pod["metadata"]["annotations"][OBJECT_NAME_ANNOTATION] == name
        assert p_pod["spec"]["hostname"] == name[:63].rstrip("-")
        await wait_for_object(virtual, PODS, namespace=v_ns, name=name, predicate=where(running))


async def test_host_pod_deleted_by_someone_else(
    namespace_with_sa: str,
    v_ns: str,
    host: KubeClient,
    virtual: KubeClient,
    host_kubeconfig: Path,
    virtual_kubeconfig: Path,
) -> None:
    """Host pod gone after it started → virtual pod deleted; gone before it started → recreated."""
    t = translator(namespace_with_sa)
    async with run_syncer(
        host_namespace=namespace_with_sa,
        host_kubeconfig=host_kubeconfig,
        virtual_kubeconfig=virtual_kubeconfig,
        kinds=KINDS,
    ):
        # Started: kwok runs it, the status reaches the virtual pod.
        await virtual.create(PODS, namespace=v_ns, body=pod("started"))
        await wait_for_object(
            virtual, PODS, namespace=v_ns, name="started", predicate=where(running)
        )
        p_started = t.host_name(v_ns, "started")
        await host.delete(PODS, namespace=namespace_with_sa, name=p_started, grace_period_seconds=0)
        await wait_for_object(virtual, PODS, namespace=v_ns, name="started", predicate=gone)
        assert await get_or_none(host, PODS, namespace=namespace_with_sa, name=p_started) is None

        # Never started: no host node matches, so the host pod stays Pending and unscheduled.
        unplaceable = pod("pending", nodeSelector={"vsyncer.test/no-such-node": "true"})
        v_pending = await virtual.create(PODS, namespace=v_ns, body=unplaceable)
        p_pending = t.host_name(v_ns, "pending")
        first = await wait_for_object(
            host, PODS, namespace=namespace_with_sa, name=p_pending, predicate=exists
        )
        assert first is not None
        await host.delete(PODS, namespace=namespace_with_sa, name=p_pending, grace_period_seconds=0)
        second = await wait_for_object(
            host,
            PODS,
            namespace=namespace_with_sa,
            name=p_pending,
            predicate=where(lambda o: o["metadata"]["uid"] != first["metadata"]["uid"]),
        )
        assert second is not None
        assert (
            second["metadata"]["annotations"][OBJECT_UID_ANNOTATION] == v_pending["metadata"]["uid"]
        )
        still = await virtual.get(PODS, namespace=v_ns, name="pending")
        assert still["metadata"]["uid"] == v_pending["metadata"]["uid"]


async def test_host_objects_that_are_not_ours_are_never_touched(
    namespace_with_sa: str,
    v_ns: str,
    host: KubeClient,
    virtual: KubeClient,
    host_kubeconfig: Path,
    virtual_kubeconfig: Path,
) -> None:
    """A foreign host pod under the translated name, and spoofed provenance, change nothing."""
    t = translator(namespace_with_sa)
    # A pre-existing host pod, not ours, exactly where virtual pod "clash" would go.
    foreign = pod(t.host_name(v_ns, "clash"))
    foreign["metadata"]["labels"] = {"owner": "someone-else"}
    foreign = await host.create(PODS, namespace=namespace_with_sa, body=foreign)
    # An unrelated host pod a tenant tries to take over by spoofing labels and annotations.
    victim = await host.create(PODS, namespace=namespace_with_sa, body=pod("victim"))
    spoof = pod("attacker")
    spoof["metadata"]["labels"].update({MANAGED_BY_LABEL: VCLUSTER, NAMESPACE_LABEL: v_ns})
    spoof["metadata"]["annotations"] = {
        OBJECT_NAME_ANNOTATION: "victim",
        OBJECT_NAMESPACE_ANNOTATION: namespace_with_sa,
        OBJECT_UID_ANNOTATION: victim["metadata"]["uid"],
        OBJECT_HOST_NAME_ANNOTATION: "victim",
    }
    async with run_syncer(
        host_namespace=namespace_with_sa,
        host_kubeconfig=host_kubeconfig,
        virtual_kubeconfig=virtual_kubeconfig,
        kinds=KINDS,
    ):
        await virtual.create(PODS, namespace=v_ns, body=pod("clash"))
        warning = await wait_for_event(virtual, namespace=v_ns, reason="SyncRefused", name="clash")
        assert warning["type"] == "Warning"
        v_attacker = await virtual.create(PODS, namespace=v_ns, body=spoof)
        p_attacker = await wait_for_object(
            host,
            PODS,
            namespace=namespace_with_sa,
            name=t.host_name(v_ns, "attacker"),
            predicate=where(running),
        )
        assert p_attacker is not None
        annotations = p_attacker["metadata"]["annotations"]
        assert annotations[OBJECT_NAME_ANNOTATION] == "attacker"
        assert annotations[OBJECT_NAMESPACE_ANNOTATION] == v_ns
        assert annotations[OBJECT_UID_ANNOTATION] == v_attacker["metadata"]["uid"]
        labels = p_attacker["metadata"]["labels"]
        assert labels[t.translate_label_key(MANAGED_BY_LABEL)] == VCLUSTER
    for before in (foreign, victim):
        after = await host.get(PODS, namespace=namespace_with_sa, name=before["metadata"]["name"])
        assert after["metadata"]["uid"] == before["metadata"]["uid"]
        assert after["metadata"].get("labels") == before["metadata"].get("labels")
        assert after["metadata"].get("annotations") == before["metadata"].get("annotations")
        assert after["spec"]["containers"] == before["spec"]["containers"]


async def test_restarted_syncer_collects_orphans_and_catches_up(
    namespace_with_sa: str,
    v_ns: str,
    host: KubeClient,
    virtual: KubeClient,
    host_kubeconfig: Path,
    virtual_kubeconfig: Path,
) -> None:
    """Virtual pods deleted while the syncer was down lose their host pods; new ones sync."""
    t = translator(namespace_with_sa)
    run = {
        "host_namespace": namespace_with_sa,
        "host_kubeconfig": host_kubeconfig,
        "virtual_kubeconfig": virtual_kubeconfig,
        "kinds": KINDS,
    }
    async with run_syncer(**run):  # type: ignore[arg-type]
        for name in ("keep", "drop"):
            await virtual.create(PODS, namespace=v_ns, body=pod(name))
        for name in ("keep", "drop"):
            await wait_for_object(
                virtual, PODS, namespace=v_ns, name=name, predicate=where(running)
            )
    kept = await host.get(PODS, namespace=namespace_with_sa, name=t.host_name(v_ns, "keep"))
    # While the syncer is down: one pod goes for good, one is created.
    await virtual.delete(PODS, namespace=v_ns, name="drop", grace_period_seconds=0)
    await wait_for_object(virtual, PODS, namespace=v_ns, name="drop", predicate=gone)
    await virtual.create(PODS, namespace=v_ns, body=pod("new"))
    async with run_syncer(**run):  # type: ignore[arg-type]
        await wait_for_object(
            host, PODS, namespace=namespace_with_sa, name=t.host_name(v_ns, "drop"), predicate=gone
        )
        await wait_for_object(
            host,
            PODS,
            namespace=namespace_with_sa,
            name=t.host_name(v_ns, "new"),
            predicate=where(running),
        )
    after = await host.get(PODS, namespace=namespace_with_sa, name=t.host_name(v_ns, "keep"))
    assert after["metadata"]["uid"] == kept["metadata"]["uid"]


async def test_labels_added_on_the_host_pod_flow_up_and_virtual_wins_conflicts(
    namespace_with_sa: str,
    v_ns: str,
    host: KubeClient,
    virtual: KubeClient,
    host_kubeconfig: Path,
    virtual_kubeconfig: Path,
) -> None:
    """A label someone adds on the host pod appears in virtual; a virtual change then wins."""
    t = translator(namespace_with_sa)
    p_name = t.host_name(v_ns, "web")
    async with run_syncer(
        host_namespace=namespace_with_sa,
        host_kubeconfig=host_kubeconfig,
        virtual_kubeconfig=virtual_kubeconfig,
        kinds=KINDS,
    ):
        await virtual.create(PODS, namespace=v_ns, body=pod("web"))
        await wait_for_object(
            host, PODS, namespace=namespace_with_sa, name=p_name, predicate=exists
        )
        await host.patch(
            PODS,
            namespace=namespace_with_sa,
            name=p_name,
            body={"metadata": {"labels": {"added-on-host": "yes", "app": "host-value"}}},
        )
        # Both host changes flow up (virtual had not changed "app" since the last sync).
        await wait_for_object(
            virtual,
            PODS,
            namespace=v_ns,
            name="web",
            predicate=where(
                lambda o: o["metadata"]["labels"] == {"app": "host-value", "added-on-host": "yes"}
            ),
        )
        # A virtual change and a concurrent host change of the same key: virtual wins.
        await host.patch(
            PODS,
            namespace=namespace_with_sa,
            name=p_name,
            body={"metadata": {"labels": {"app": "host-again"}}},
        )
        await virtual.patch(
            PODS, namespace=v_ns, name="web", body={"metadata": {"labels": {"app": "virtual"}}}
        )
        p_pod = await wait_for_object(
            host,
            PODS,
            namespace=namespace_with_sa,
            name=p_name,
            predicate=where(lambda o: o["metadata"]["labels"].get("app") == "virtual"),
        )
        assert p_pod is not None
        assert p_pod["metadata"]["labels"]["added-on-host"] == "yes"
        assert p_pod["metadata"]["labels"][MANAGED_BY_LABEL] == VCLUSTER
        v_pod = await virtual.get(PODS, namespace=v_ns, name="web")
        assert v_pod["metadata"]["labels"] == {"app": "virtual", "added-on-host": "yes"}
        # The syncer's own labels never flowed up.
        assert not [k for k in v_pod["metadata"]["labels"] if k.startswith("vcluster.loft.sh/")]
