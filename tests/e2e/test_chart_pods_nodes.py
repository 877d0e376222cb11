"""The chart with only pods and nodes, run with its service account and Role only: the
pods mapper still looks up the host names of a pod's configmap and PVC (no copy mapper
caches them) and the Role lets it, so a pod referencing both reaches the host, one whose
configmap's host name a foreign host object holds is refused, and the host answers no
request with 403."""

from __future__ import annotations

from pathlib import Path

from syncer.kit import Json
from syncer.kube import KubeClient
from syncer.localcluster import ClusterInfo
from syncer.resources import CONFIGMAPS, PODS
from syncer.translate import Translator
from tests.deploy.hostaccess import BUILTIN, values_key
from tests.e2e.chart_release import RELEASE, host_requests, installed, running_as_chart
from tests.e2e.test_sync_support import (
    exists,
    get_or_none,
    pod,
    wait_for_event,
)
from tests.kubehelpers import wait_for_object


def _user(name: str, *, configmap: str) -> Json:
    """A pod reading ``configmap`` (envFrom) and mounting the claim ``data``."""
    containers = [
        {
            "name": "main",
            "image": "registry.example/app:1",
            "envFrom": [{"configMapRef": {"name": configmap}}],
            "volumeMounts": [{"name": "data", "mountPath": "/data"}],
        }
    ]
    volumes = [{"name": "data", "persistentVolumeClaim": {"claimName": "data"}}]
    return pod(name, containers=containers, volumes=volumes)


async def test_pod_references_are_looked_up_with_the_chart_role(
    host_cluster: ClusterInfo,
    virtual_cluster: ClusterInfo,
    host: KubeClient,
    virtual: KubeClient,
    v_ns: str,
    tmp_path: Path,
) -> None:
    values = {
        "sync": {values_key(kind): {"enabled": kind in ("pods", "nodes")} for kind in BUILTIN}
    }
    async with (
        installed(host_cluster, values=values) as release,
        running_as_chart(release, host=host_cluster, virtual=virtual_cluster, workdir=tmp_path) as (
            daemon,
            settings,
            _kubeconfig,
        ),
    ):
        assert set(settings.kinds) == {"pods", "nodes"}
        ns = release.namespace
        names = Translator(vcluster=RELEASE, host_namespace=ns)
        # a host configmap of someone else under the host name of the tenant's "taken"
        foreign = {"metadata": {"name": names.host_name(v_ns, "taken")}, "data": {"a": "b"}}
        await host.create(CONFIGMAPS, namespace=ns, body=foreign)
        await virtual.create(PODS, namespace=v_ns, body=_user("web", configmap="cfg"))
        await virtual.create(PODS, namespace=v_ns, body=_user("thief", configmap="taken"))
        await wait_for_object(
            host, PODS, namespace=ns, name=names.host_name(v_ns, "web"), predicate=exists
        )
        event = await wait_for_event(virtual, namespace=v_ns, reason="SyncRefused", name="thief")
        assert "belongs to another virtual object" in event["message"], event["message"]
        assert (
            await get_or_none(host, PODS, namespace=ns, name=names.host_name(v_ns, "thief")) is None
        )
        codes = host_requests(daemon)
        assert sum(codes.values()) > 0, "no host request counted: the check is blind"
        assert codes.get("403", 0) == 0, codes
