"""ConfigMaps and secrets end to end: synced exactly while a synced pod refers to them."""

from __future__ import annotations

import base64
from pathlib import Path

from syncer.kube import KubeClient
from syncer.resources import CONFIGMAPS, PODS, SECRETS
from syncer.translate import OBJECT_NAME_ANNOTATION
from tests.e2e.test_sync_support import (
    get_or_none,
    gone,
    pod,
    run_syncer,
    translator,
    where,
)
from tests.kubehelpers import wait_for_object

KINDS = ("pods", "configmaps", "secrets")


def configmap(name: str, **data: str) -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}


def secret(name: str, **data: str) -> dict[str, object]:
    encoded = {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}, "data": encoded}


def referencing_pod(name: str) -> dict[str, object]:
    """A pod that mounts configmap ``settings`` and reads secret ``creds`` from the environment."""
    body = pod(
        name,
        volumes=[{"name": "settings", "configMap": {"name": "settings"}}],
    )
    body["spec"]["containers"][0]["env"] = [
        {
            "name": "PASSWORD",
            "valueFrom": {"secretKeyRef": {"name": "creds", "key": "password"}},
        }
    ]
    return body


async def test_synced_while_referenced_and_deleted_with_the_last_reference(
    namespace_with_sa: str,
    v_ns: str,
    host: KubeClient,
    virtual: KubeClient,
    host_kubeconfig: Path,
    virtual_kubeconfig: Path,
) -> None:
    """Unreferenced → absent; referenced → copied and kept equal; last reference gone → deleted."""
    t = translator(namespace_with_sa)
    ns = namespace_with_sa
    p_cm, p_secret = t.host_name(v_ns, "settings"), t.host_name(v_ns, "creds")
    p_lonely = t.host_name(v_ns, "lonely")
    async with run_syncer(
        host_namespace=ns,
        host_kubeconfig=host_kubeconfig,
        virtual_kubeconfig=virtual_kubeconfig,
        kinds=KINDS,
    ):
        await virtual.create(CONFIGMAPS, namespace=v_ns, body=configmap("lonely", a="1"))
        await virtual.create(CONFIGMAPS, namespace=v_ns, body=configmap("settings", mode="fast"))
        await virtual.create(SECRETS, namespace=v_ns, body=secret("creds", password="hunter2"))
        await virtual.create(PODS, namespace=v_ns, body=referencing_pod("one"))
        await virtual.create(PODS, namespace=v_ns, body=referencing_pod("two"))

        host_cm = await wait_for_object(
            host,
            CONFIGMAPS,
            namespace=ns,
            name=p_cm,
            predicate=where(lambda o: o.get("data") == {"mode": "fast"}),
        )
        assert host_cm is not None
        assert host_cm["metadata"]["annotations"][OBJECT_NAME_ANNOTATION] == "settings"
        host_secret = await wait_for_object(
            host, SECRETS, namespace=ns, name=p_secret, predicate=where(lambda o: True)
        )
        assert host_secret is not None
        assert base64.b64decode(host_secret["data"]["password"]) == b"hunter2"
        # The host pod refers to the host copies.
        p_pod = await wait_for_object(
            host, PODS, namespace=ns, name=t.host_name(v_ns, "one"), predicate=where(bool)
        )
        assert p_pod is not None
        volume = p_pod["spec"]["volumes"][0]
        assert volume["configMap"]["name"] == p_cm
        env = {e["name"]: e for e in p_pod["spec"]["containers"][0]["env"]}
        assert env["PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == p_secret

        # Data changes flow down.
        v_cm = await virtual.get(CONFIGMAPS, namespace=v_ns, name="settings")
        v_cm["data"] = {"mode": "slow"}
        await virtual.update(CONFIGMAPS, namespace=v_ns, name="settings", body=v_cm)
        await wait_for_object(
            host,
            CONFIGMAPS,
            namespace=ns,
            name=p_cm,
            predicate=where(lambda o: o.get("data") == {"mode": "slow"}),
        )

        # One reference left: still there.  None left: gone.
        await virtual.delete(PODS, namespace=v_ns, name="one", grace_period_seconds=0)
        await wait_for_object(
            host, PODS, namespace=ns, name=t.host_name(v_ns, "one"), predicate=gone
        )
        assert await get_or_none(host, CONFIGMAPS, namespace=ns, name=p_cm) is not None
        await virtual.delete(PODS, namespace=v_ns, name="two", grace_period_seconds=0)
        await wait_for_object(host, CONFIGMAPS, namespace=ns, name=p_cm, predicate=gone)
        await wait_for_object(host, SECRETS, namespace=ns, name=p_secret, predicate=gone)
        assert await get_or_none(virtual, CONFIGMAPS, namespace=v_ns, name="settings") is not None
        assert await get_or_none(host, CONFIGMAPS, namespace=ns, name=p_lonely) is None
        # The virtual kube-root-ca.crt is never copied.
        root_ca = t.host_name(v_ns, "kube-root-ca.crt")
        assert await get_or_none(host, CONFIGMAPS, namespace=ns, name=root_ca) is None
