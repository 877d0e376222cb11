"""PersistentVolumeClaims end to end: spec down, status up, deletion follows."""

from __future__ import annotations

from pathlib import Path

from syncer.kube import KubeClient
from syncer.resources import PODS, PVCS
from tests.e2e.test_sync_support import gone, pod, run_syncer, translator, where
from tests.kubehelpers import wait_for_object

KINDS = ("pods", "persistentvolumeclaims", "configmaps", "secrets")


async def test_claim_is_copied_down_and_its_status_comes_up(
    namespace_with_sa: str,
    v_ns: str,
    host: KubeClient,
    virtual: KubeClient,
    host_kubeconfig: Path,
    virtual_kubeconfig: Path,
) -> None:
    """The host claim has the virtual spec; pods mount it by its host name; deletion follows."""
    t = translator(namespace_with_sa)
    ns = namespace_with_sa
    claim = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "data", "labels": {"app": "db"}},
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": "1Gi"}},
            "storageClassName": "",
        },
    }
    p_name = t.host_name(v_ns, "data")
    async with run_syncer(
        host_namespace=ns,
        host_kubeconfig=host_kubeconfig,
        virtual_kubeconfig=virtual_kubeconfig,
        kinds=KINDS,
    ):
        await virtual.create(PVCS, namespace=v_ns, body=claim)
        p_claim = await wait_for_object(
            host,
            PVCS,
            namespace=ns,
            name=p_name,
            predicate=where(lambda o: o.get("status", {}).get("phase") == "Pending"),
        )
        assert p_claim is not None
        assert p_claim["spec"]["resources"]["requests"]["storage"] == "1Gi"
        assert p_claim["metadata"]["labels"]["app"] == "db"
        await wait_for_object(
            virtual,
            PVCS,
            namespace=v_ns,
            name="data",
            predicate=where(lambda o: o.get("status", {}).get("phase") == "Pending"),
        )
        user = pod("db", volumes=[{"name": "data", "persistentVolumeClaim": {"claimName": "data"}}])
        await virtual.create(PODS, namespace=v_ns, body=user)
        p_pod = await wait_for_object(
            host, PODS, namespace=ns, name=t.host_name(v_ns, "db"), predicate=where(bool)
        )
        assert p_pod is not None
        assert p_pod["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"] == p_name
        await virtual.delete(PODS, namespace=v_ns, name="db", grace_period_seconds=0)
        await virtual.delete(PVCS, namespace=v_ns, name="data")
        await wait_for_object(host, PVCS, namespace=ns, name=p_name, predicate=gone)
