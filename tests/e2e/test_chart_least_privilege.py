"""vsyncer with the chart's service account and Role only: sufficient and minimal.

The chart is installed into the local host cluster; then the daemon runs locally with
the settings the chart gives its container and, for the host, nothing but a token of
the chart's vsyncer ServiceAccount (TokenRequest).  Every enabled kind syncs, `kubectl logs`
in the virtual cluster reaches the host pod through the kubelet API, the host
API server answered none of its requests with 403, and writes the Role does not grant
(outside the host namespace, cluster-wide, RBAC itself) are refused with 403.
"""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path
from typing import Any

import pytest

from syncer.binds import parse_bind
from syncer.errors import Forbidden
from syncer.kube import KubeClient
from syncer.localcluster import ClusterInfo, ControlPlane
from syncer.localcluster.kwok import append_log
from syncer.resources import (
    CONFIGMAPS,
    ENDPOINTS,
    LEASES,
    NAMESPACES,
    NODES,
    PODS,
    PVCS,
    SECRETS,
    SERVICES,
    Resource,
)
from syncer.translate import Translator
from tests.e2e.chart_release import RELEASE, host_requests, installed, running_as_chart
from tests.e2e.kubectl import kubectl
from tests.e2e.kubelet_fixtures import advertised
from tests.e2e.test_sync_support import exists, gone, pod, wait_for_event, where
from tests.kubehelpers import wait_for_object

Json = dict[str, Any]
ROLES = Resource(
    group="rbac.authorization.k8s.io", version="v1", plural="roles", kind="Role", namespaced=True
)


def _objects(name: str) -> list[tuple[Resource, Json]]:
    """A pod using a configmap and a secret, its Service, a claim, and a selector-less
    Service with its Endpoints: one object of every namespaced built-in kind."""
    secret = base64.b64encode(b"s3cret").decode()
    return [
        (CONFIGMAPS, {"metadata": {"name": "cfg"}, "data": {"mode": "chart"}}),
        (SECRETS, {"metadata": {"name": "creds"}, "data": {"token": secret}}),
        (
            PVCS,
            {
                "metadata": {"name": "data"},
                "spec": {
                    "accessModes": ["ReadWriteOnce"],
                    "resources": {"requests": {"storage": "1Gi"}},
                },
            },
        ),
        (
            PODS,
            pod(
                name,
                containers=[
                    {
                        "name": "main",
                        "image": "registry.example/app:1",
                        "envFrom": [{"configMapRef": {"name": "cfg"}}],
                        "volumeMounts": [{"name": "creds", "mountPath": "/creds"}],
                    }
                ],
                volumes=[{"name": "creds", "secret": {"secretName": "creds"}}],
            ),
        ),
        (
            SERVICES,
            {
                "metadata": {"name": name},
                "spec": {"selector": {"app": name}, "ports": [{"port": 80}]},
            },
        ),
        (SERVICES, {"metadata": {"name": "ext"}, "spec": {"ports": [{"port": 443}]}}),
        (
            ENDPOINTS,
            {
                "metadata": {"name": "ext"},
                "subsets": [{"addresses": [{"ip": "192.0.2.10"}], "ports": [{"port": 443}]}],
            },
        ),
    ]


async def test_service_account_suffices_and_nothing_more(
    control_plane: ControlPlane,
    host_cluster: ClusterInfo,
    virtual_cluster: ClusterInfo,
    host: KubeClient,
    virtual: KubeClient,
    v_ns: str,
    tmp_path: Path,
) -> None:
    values = {"vsyncer": {"leaderElection": {"enabled": True}}}
    async with (
        installed(host_cluster, values=values) as release,
        running_as_chart(release, host=host_cluster, virtual=virtual_cluster, workdir=tmp_path) as (
            daemon,
            settings,
            kubeconfig,
        ),
    ):
        ns = release.namespace
        assert settings.leader_elect
        for resource, body in _objects("web"):
            await virtual.create(resource, namespace=v_ns, body=body)
        names = Translator(vcluster=RELEASE, host_namespace=ns)
        for resource, name in (
            (CONFIGMAPS, "cfg"),
            (SECRETS, "creds"),
            (PVCS, "data"),
            (SERVICES, "web"),
            (SERVICES, "ext"),
            (ENDPOINTS, "ext"),
        ):
            await wait_for_object(
                host, resource, namespace=ns, name=names.host_name(v_ns, name), predicate=exists
            )
        p_pod = await wait_for_object(
            host,
            PODS,
            namespace=ns,
            name=names.host_name(v_ns, "web"),
            predicate=where(lambda p: bool(p["spec"].get("nodeName"))),
            within=90,
        )
        assert p_pod is not None
        assert p_pod["spec"]["serviceAccountName"] == f"vc-workload-{RELEASE}"
        # host -> virtual: status, the node, the host scheduler's event
        await wait_for_object(
            virtual,
            PODS,
            namespace=v_ns,
            name="web",
            predicate=where(lambda p: p.get("status", {}).get("phase") == "Running"),
            within=90,
        )
        await wait_for_object(
            virtual, NODES, namespace=None, name=p_pod["spec"]["nodeName"], predicate=exists
        )
        await wait_for_event(virtual, namespace=v_ns, reason="Scheduled", name="web", within=90)
        lease = await host.get(LEASES, namespace=ns, name=settings.leader_election_id)
        assert lease["spec"]["holderIdentity"]
        # the kubelet API: kubectl logs in the virtual cluster reads the host pod's pods/log
        port = parse_bind(settings.kubelet_bind).port
        await advertised(virtual, node=p_pod["spec"]["nodeName"], port=port)
        log = await asyncio.to_thread(
            control_plane.kubelet.pod_log,
            namespace=ns,
            pod=names.host_name(v_ns, "web"),
            containers=("main",),
        )
        append_log(log["main"].current, "served through the chart's Role")
        logs = await kubectl("-n", v_ns, "logs", "web", kubeconfig=virtual_cluster.kubeconfig)
        assert (logs.code, logs.stdout) == (0, "served through the chart's Role\n"), logs.stderr
        # virtual deletes reach the host: the pod (graceful) and a service
        await virtual.delete(SERVICES, namespace=v_ns, name="ext")
        await virtual.delete(PODS, namespace=v_ns, name="web", grace_period_seconds=0)
        for resource, name in ((SERVICES, "ext"), (PODS, "web")):
            await wait_for_object(
                host, resource, namespace=ns, name=names.host_name(v_ns, name), predicate=gone
            )
        codes = host_requests(daemon)
        assert sum(codes.values()) > 0, "no host request counted: the check is blind"
        assert codes.get("403", 0) == 0, codes
        await _writes_beyond_the_role_are_refused(kubeconfig, ns=ns)


async def _writes_beyond_the_role_are_refused(kubeconfig: Path, *, ns: str) -> None:
    """With the same token: another namespace, cluster-scoped writes, RBAC, the namespace."""
    sa = await KubeClient.connect(cluster="host", kubeconfig=str(kubeconfig))
    try:
        elsewhere = {"metadata": {"name": "escape"}, "data": {"a": "b"}}
        for namespace in ("default", "kube-system"):
            with pytest.raises(Forbidden):
                await sa.create(CONFIGMAPS, namespace=namespace, body=elsewhere)
        node = {"metadata": {"name": "rogue-node"}}
        with pytest.raises(Forbidden):
            await sa.create(NODES, namespace=None, body=node)
        role = {"metadata": {"name": "more"}, "rules": []}
        with pytest.raises(Forbidden):
            await sa.create(ROLES, namespace=ns, body=role)
        label = {"metadata": {"labels": {"pod-security.kubernetes.io/enforce": "privileged"}}}
        with pytest.raises(Forbidden):
            await sa.patch(NAMESPACES, namespace=None, name=ns, body=label)
    finally:
        await sa.close()
