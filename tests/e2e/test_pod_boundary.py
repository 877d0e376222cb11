"""The pod tenant boundary end to end: hostile pods, colliding references, tenant nodeName.

Every hostile input here must leave the host untouched (no host pod for it)
and put a Warning event on the virtual pod; the refusals are counted in
``vsyncer_refused_objects_total{kind,reason}``.
"""

from __future__ import annotations

import base64
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from syncer.daemon import Daemon
from syncer.kube import KubeClient
from syncer.resources import (
    CONFIGMAPS,
    NAMESPACES,
    NODES,
    PODS,
    PVCS,
    SECRETS,
    SERVICEACCOUNTS,
    Resource,
)
from syncer.translate import OBJECT_NAME_ANNOTATION, OBJECT_NAMESPACE_ANNOTATION
from tests.e2e.test_sync_support import (
    exists,
    get_or_none,
    pod,
    remove_virtual_namespace,
    run_syncer,
    translator,
    wait_for_event,
    where,
)
from tests.kubehelpers import wait_for_object

Json = dict[str, Any]
KINDS = ("pods", "configmaps", "secrets", "persistentvolumeclaims", "nodes", "events")
DEPLOYMENTS = Resource("apps", "v1", "deployments", "Deployment")


@contextlib.asynccontextmanager
async def named_namespace(virtual: KubeClient, name: str) -> AsyncIterator[str]:
    """A virtual namespace of exactly ``name`` for the block (for colliding names)."""
    body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
    await virtual.create(NAMESPACES, namespace=None, body=body)
    try:
        await wait_for_object(
            virtual, SERVICEACCOUNTS, namespace=name, name="default", predicate=exists
        )
        yield name
    finally:
        await remove_virtual_namespace(virtual, name)


def refused_count(daemon: Daemon, reason: str) -> float:
    value = daemon.metrics.registry.get_sample_value(
        "vsyncer_refused_objects_total", {"kind": "pods", "reason": reason}
    )
    return value or 0.0


def running(obj: Json) -> bool:
    return bool(obj.get("status", {}).get("phase") == "Running")


def with_container(name: str, **security: Any) -> Json:
    body = pod(name)
    body["spec"]["containers"][0]["securityContext"] = security
    return body


HOSTILE: list[tuple[Json, str]] = [
    (pod("host-net", hostNetwork=True), "spec.hostNetwork"),
    (pod("host-pid", hostPID=True), "spec.hostPID"),
    (pod("host-ipc", hostIPC=True), "spec.hostIPC"),
    (with_container("privileged", privileged=True), "securityContext.privileged"),
    (with_container("sys-admin", capabilities={"add": ["SYS_ADMIN"]}), "capabilities.add"),
    (pod("host-root", volumes=[{"name": "r", "hostPath": {"path": "/"}}]), "hostPath"),
    (pod("tolerate-all", tolerations=[{"operator": "Exists"}]), "spec.tolerations[0]"),
]


async def test_hostile_pods_are_refused_and_ordinary_ones_run(
    namespace_with_sa: str,
    v_ns: str,
    host: KubeClient,
    virtual: KubeClient,
    host_kubeconfig: Path,
    virtual_kubeconfig: Path,
) -> None:
    """Baseline (default): each hostile pod gets SyncRefused naming its field, no host pod;
    a plain pod and a Deployment's pods run unchanged."""
    t = translator(namespace_with_sa)
    async with run_syncer(
        host_namespace=namespace_with_sa,
        host_kubeconfig=host_kubeconfig,
        virtual_kubeconfig=virtual_kubeconfig,
        kinds=KINDS,
    ) as daemon:
        for body, _ in HOSTILE:
            await virtual.create(PODS, namespace=v_ns, body=body)
        await virtual.create(PODS, namespace=v_ns, body=pod("nginx"))
        deployment = {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web"},
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "nginx", "image": "nginx"}]},
                },
            },
        }
        await virtual.create(DEPLOYMENTS, namespace=v_ns, body=deployment)
        for body, field in HOSTILE:
            name = body["metadata"]["name"]
            event = await wait_for_event(virtual, namespace=v_ns, reason="SyncRefused", name=name)
            assert event["type"] == "Warning"
            assert field in event["message"], (name, event["message"])
        await wait_for_object(
            host, PODS, namespace=namespace_with_sa, name=t.host_name(v_ns, "nginx"),
            predicate=where(running),
        )  # fmt: skip
        # The Deployment's pods run too (their names are the ReplicaSet's choice).
        for _ in range(2):
            listed = await virtual.list(PODS, namespace=v_ns, label_selector="app=web")
            names = [p["metadata"]["name"] for p in listed["items"]]
            if len(names) == 2:
                break
            await wait_for_object(
                virtual, DEPLOYMENTS, namespace=v_ns, name="web",
                predicate=where(lambda d: d.get("status", {}).get("replicas") == 2),
            )  # fmt: skip
        assert len(names) == 2
        for name in names:
            await wait_for_object(
                host, PODS, namespace=namespace_with_sa, name=t.host_name(v_ns, name),
                predicate=where(running),
            )  # fmt: skip
        assert refused_count(daemon, "pod_security") >= len(HOSTILE)
        for body, _ in HOSTILE:
            p_name = t.host_name(v_ns, body["metadata"]["name"])
            assert await get_or_none(host, PODS, namespace=namespace_with_sa, name=p_name) is None


def secret(name: str, **data: str) -> Json:
    encoded = {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}, "data": encoded}


def configmap(name: str, **data: str) -> Json:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}


def claim(name: str) -> Json:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": name},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
    }


def mounting(name: str, *, secret: str = "", configmap: str = "", claim: str = "") -> Json:
    volumes: list[Json] = []
    if secret:
        volumes.append({"name": "s", "secret": {"secretName": secret}})
    if configmap:
        volumes.append({"name": "c", "configMap": {"name": configmap}})
    if claim:
        volumes.append({"name": "p", "persistentVolumeClaim": {"claimName": claim}})
    return pod(name, volumes=volumes)


async def test_a_pod_never_mounts_another_namespaces_object(
    namespace_with_sa: str,
    v_ns: str,
    host: KubeClient,
    virtual: KubeClient,
    host_kubeconfig: Path,
    virtual_kubeconfig: Path,
) -> None:
    """Namespace c's s-x-b / m-x-b / d-x-b collide with b-x-c's s / m / d, which b-x-c's pod
    uses: c's pods are refused (reference_collision), the host copies stay b-x-c's."""
    t = translator(namespace_with_sa)
    c = v_ns
    async with (
        named_namespace(virtual, f"b-x-{c}") as b,
        run_syncer(
            host_namespace=namespace_with_sa,
            host_kubeconfig=host_kubeconfig,
            virtual_kubeconfig=virtual_kubeconfig,
            kinds=KINDS,
        ) as daemon,
    ):
        await virtual.create(SECRETS, namespace=b, body=secret("s", owner="b"))
        await virtual.create(CONFIGMAPS, namespace=b, body=configmap("m", owner="b"))
        await virtual.create(PVCS, namespace=b, body=claim("d"))
        await virtual.create(
            PODS, namespace=b, body=mounting("owner", secret="s", configmap="m", claim="d")
        )
        await wait_for_object(
            host, PODS, namespace=namespace_with_sa, name=t.host_name(b, "owner"), predicate=exists
        )
        copies = {
            SECRETS: (t.host_name(b, "s"), "s-x-b"),
            CONFIGMAPS: (t.host_name(b, "m"), "m-x-b"),
            PVCS: (t.host_name(b, "d"), "d-x-b"),
        }
        for resource, (p_name, c_name) in copies.items():
            assert p_name == t.host_name(c, c_name)
            await wait_for_object(
                host, resource, namespace=namespace_with_sa, name=p_name, predicate=exists
            )
        await virtual.create(SECRETS, namespace=c, body=secret("s-x-b", owner="c"))
        await virtual.create(CONFIGMAPS, namespace=c, body=configmap("m-x-b", owner="c"))
        await virtual.create(PVCS, namespace=c, body=claim("d-x-b"))
        readers = {
            "read-secret": mounting("read-secret", secret="s-x-b"),
            "read-cm": mounting("read-cm", configmap="m-x-b"),
            "read-pvc": mounting("read-pvc", claim="d-x-b"),
        }
        for body in readers.values():
            await virtual.create(PODS, namespace=c, body=body)
        for name in readers:
            event = await wait_for_event(virtual, namespace=c, reason="SyncRefused", name=name)
            assert "belongs to another virtual object" in event["message"]
            assert await get_or_none(
                host, PODS, namespace=namespace_with_sa, name=t.host_name(c, name)
            ) is None  # fmt: skip
        assert refused_count(daemon, "reference_collision") >= len(readers)
        for resource, (p_name, _) in copies.items():
            held = await host.get(resource, namespace=namespace_with_sa, name=p_name)
            annotations = held["metadata"]["annotations"]
            assert annotations[OBJECT_NAMESPACE_ANNOTATION] == b, resource
            assert annotations[OBJECT_NAME_ANNOTATION] == p_name.split("-x-")[0], resource
        data = (await host.get(SECRETS, namespace=namespace_with_sa, name=copies[SECRETS][0]))[
            "data"
        ]
        assert base64.b64decode(data["owner"]).decode() == "b"


async def test_another_pods_token_secret_is_never_mounted(
    namespace_with_sa: str,
    v_ns: str,
    host: KubeClient,
    virtual: KubeClient,
    host_kubeconfig: Path,
    virtual_kubeconfig: Path,
) -> None:
    """A pod in c naming 'v-sa-token-x-b' (pod v of b-x-c's token Secret under the old
    naming) is not synced: refused or left waiting, never mounted."""
    t = translator(namespace_with_sa)
    c = v_ns
    async with (
        named_namespace(virtual, f"b-x-{c}") as b,
        run_syncer(
            host_namespace=namespace_with_sa,
            host_kubeconfig=host_kubeconfig,
            virtual_kubeconfig=virtual_kubeconfig,
            kinds=KINDS,
        ),
    ):
        await virtual.create(PODS, namespace=b, body=pod("v"))
        await wait_for_object(
            host, PODS, namespace=namespace_with_sa, name=t.host_name(b, "v"), predicate=exists
        )
        await virtual.create(PODS, namespace=c, body=mounting("thief", secret="v-sa-token-x-b"))
        listed: list[Json] = []
        for reason in ("SyncRefused", "WaitingForReferences"):
            with contextlib.suppress(TimeoutError):
                listed.append(
                    await wait_for_event(
                        virtual, namespace=c, reason=reason, name="thief", within=20
                    )
                )
                break
        assert listed, "the pod was neither refused nor told it waits"
        assert listed[0]["type"] == "Warning"
        p_thief = t.host_name(c, "thief")
        assert await get_or_none(host, PODS, namespace=namespace_with_sa, name=p_thief) is None


async def test_a_tenant_set_node_name_is_honoured_or_refused(
    namespace_with_sa: str,
    v_ns: str,
    host: KubeClient,
    virtual: KubeClient,
    host_kubeconfig: Path,
    virtual_kubeconfig: Path,
) -> None:
    """nodeName of a missing node → SyncRefused (node_name); of a kwok node → placed there."""
    t = translator(namespace_with_sa)
    nodes = await host.list(NODES, namespace=None)
    node = sorted(n["metadata"]["name"] for n in nodes["items"])[-1]
    async with run_syncer(
        host_namespace=namespace_with_sa,
        host_kubeconfig=host_kubeconfig,
        virtual_kubeconfig=virtual_kubeconfig,
        kinds=KINDS,
    ) as daemon:
        await virtual.create(PODS, namespace=v_ns, body=pod("lost", nodeName="no-such-node"))
        await virtual.create(PODS, namespace=v_ns, body=pod("pinned", nodeName=node))
        event = await wait_for_event(virtual, namespace=v_ns, reason="SyncRefused", name="lost")
        assert event["message"] == "spec.nodeName: node 'no-such-node' does not exist on the host"
        p_pinned = await wait_for_object(
            host, PODS, namespace=namespace_with_sa, name=t.host_name(v_ns, "pinned"),
            predicate=where(running),
        )  # fmt: skip
        assert p_pinned is not None
        assert p_pinned["spec"]["nodeName"] == node
        assert refused_count(daemon, "node_name") >= 1
        p_lost = t.host_name(v_ns, "lost")
        assert await get_or_none(host, PODS, namespace=namespace_with_sa, name=p_lost) is None
