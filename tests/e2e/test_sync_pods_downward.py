"""Downward API end to end: every field a workload reads about itself shows the virtual value.

The kubelet resolves a ``fieldRef`` against the host pod it runs.  For the fields whose host
value differs from the virtual one (the service account, a renamed label key, the whole label
map), the host pod's ``fieldRef`` must read a field of the host pod that holds the virtual value
— and keep holding it when the virtual pod's labels change.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mappers.downward import LABELS_ANNOTATION, SERVICE_ACCOUNT_NAME_ANNOTATION
from syncer.kube import KubeClient
from syncer.resources import PODS
from tests.e2e.test_sync_support import pod, run_syncer, translator, where
from tests.kubehelpers import wait_for_object

KINDS = ("pods", "configmaps", "secrets", "nodes", "events")
Json = dict[str, Any]


def resolve(p_pod: Json, field_path: str) -> str | None:
    """What the kubelet would read for ``field_path`` of ``p_pod`` (the paths used here)."""
    meta = p_pod["metadata"]
    for prefix, source in (("metadata.annotations", "annotations"), ("metadata.labels", "labels")):
        if field_path.startswith(prefix + "['"):
            key = field_path[len(prefix) + 2 : -2]
            value = (meta.get(source) or {}).get(key)
            return None if value is None else str(value)
    raise AssertionError(f"the host pod reads {field_path!r}, which differs from the virtual pod")


def env_ref(p_pod: Json, name: str) -> str:
    (container,) = p_pod["spec"]["containers"]
    (var,) = [v for v in container["env"] if v["name"] == name]
    return str(var["valueFrom"]["fieldRef"]["fieldPath"])


def volume_ref(p_pod: Json) -> str:
    (volume,) = [v for v in p_pod["spec"]["volumes"] if v["name"] == "podinfo"]
    (item,) = volume["downwardAPI"]["items"]
    return str(item["fieldRef"]["fieldPath"])


async def test_fields_that_differ_on_the_host_resolve_to_the_virtual_values(
    namespace_with_sa: str,
    v_ns: str,
    host: KubeClient,
    virtual: KubeClient,
    host_kubeconfig: Path,
    virtual_kubeconfig: Path,
) -> None:
    """serviceAccountName, labels['release'] and the whole label map read the virtual values."""
    body = pod(
        "web",
        volumes=[
            {
                "name": "podinfo",
                "downwardAPI": {
                    "items": [{"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}}]
                },
            }
        ],
    )
    body["metadata"]["labels"] = {"app": "web", "release": "v1"}
    body["spec"]["containers"][0]["env"] = [
        {"name": "SA", "valueFrom": {"fieldRef": {"fieldPath": "spec.serviceAccountName"}}},
        {"name": "REL", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['release']"}}},
    ]
    p_name = translator(namespace_with_sa).host_name(v_ns, "web")
    async with run_syncer(
        host_namespace=namespace_with_sa,
        host_kubeconfig=host_kubeconfig,
        virtual_kubeconfig=virtual_kubeconfig,
        kinds=KINDS,
    ):
        await virtual.create(PODS, namespace=v_ns, body=body)
        p_pod = await wait_for_object(
            host, PODS, namespace=namespace_with_sa, name=p_name, predicate=where(lambda o: True)
        )
        assert p_pod is not None
        assert env_ref(p_pod, "SA") == f"metadata.annotations['{SERVICE_ACCOUNT_NAME_ANNOTATION}']"
        assert resolve(p_pod, env_ref(p_pod, "SA")) == "default"
        assert resolve(p_pod, env_ref(p_pod, "REL")) == "v1"
        assert p_pod["metadata"]["labels"].get("release") != "v1"  # the host's own key stays
        assert resolve(p_pod, volume_ref(p_pod)) == 'app="web"\nrelease="v1"'

        # A label change in virtual reaches what the workload reads.
        v_pod = await virtual.get(PODS, namespace=v_ns, name="web")
        v_pod["metadata"]["labels"]["tier"] = "front"
        await virtual.update(PODS, namespace=v_ns, name="web", body=v_pod)
        changed = await wait_for_object(
            host,
            PODS,
            namespace=namespace_with_sa,
            name=p_name,
            predicate=where(lambda o: "tier" in (o["metadata"].get("labels") or {})),
        )
        assert changed is not None
        assert resolve(changed, volume_ref(changed)) == 'app="web"\nrelease="v1"\ntier="front"'
        assert LABELS_ANNOTATION in volume_ref(changed)
