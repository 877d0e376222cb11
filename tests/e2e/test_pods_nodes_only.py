"""With only pods and nodes enabled, the kinds pods may read (secrets, configmaps, PVCs) are off:
the syncer starts, a pod still runs on the host and reports back, and it still gets a token
that authenticates to the virtual API server and the virtual CA, and the configured virtual API
address; a pod referencing a configmap gets a Warning event saying that configmaps are not
synced."""

from __future__ import annotations

import base64
from pathlib import Path

from syncer.kit import Json
from syncer.kube import KubeClient
from syncer.localcluster import ClusterInfo
from syncer.mappersettings import mapper_config
from syncer.resources import NODES, PODS, SECRETS, SERVICES, Resource
from tests.e2e.test_sync_support import (
    exists,
    pod,
    run_syncer,
    translator,
    wait_for_event,
    where,
)
from tests.kubehelpers import wait_for_object

TOKENREVIEWS = Resource(
    "authentication.k8s.io", "v1", "tokenreviews", "TokenReview", namespaced=False
)


def _running(obj: dict[str, object]) -> bool:
    status = obj.get("status")
    spec = obj.get("spec")
    return (
        isinstance(status, dict)
        and status.get("phase") == "Running"
        and isinstance(spec, dict)
        and bool(spec.get("nodeName"))
    )


async def test_pods_sync_with_only_pods_and_nodes_enabled(
    namespace_with_sa: str,
    v_ns: str,
    host: KubeClient,
    virtual: KubeClient,
    host_kubeconfig: Path,
    virtual_kubeconfig: Path,
    host_cluster: ClusterInfo,
    virtual_cluster: ClusterInfo,
) -> None:
    """The host pod runs, the virtual pod is Running on a fake node; its token authenticates
    to the virtual API server as the pod's service account and its ca.crt is the virtual CA."""
    t = translator(namespace_with_sa)
    async with run_syncer(
        host_namespace=namespace_with_sa,
        host_kubeconfig=host_kubeconfig,
        virtual_kubeconfig=virtual_kubeconfig,
        kinds=("pods", "nodes"),
    ) as daemon:
        await virtual.create(PODS, namespace=v_ns, body=pod("web"))
        p_pod = await wait_for_object(
            host,
            PODS,
            namespace=namespace_with_sa,
            name=t.host_name(v_ns, "web"),
            predicate=where(_running),
        )
        assert p_pod is not None
        v_pod = await wait_for_object(
            virtual, PODS, namespace=v_ns, name="web", predicate=where(_running)
        )
        assert v_pod is not None
        node = v_pod["spec"]["nodeName"]
        fake_node = await wait_for_object(
            virtual, NODES, namespace=None, name=node, predicate=exists
        )
        assert fake_node is not None
        # The fake node advertises this syncer's kubelet, not the host node's addresses.
        config = mapper_config(daemon.settings)
        assert fake_node["status"]["addresses"] == [
            {"type": "InternalIP", "address": config.kubelet_address},
            {"type": "Hostname", "address": node},
        ]
        port = config.kubelet_port
        assert fake_node["status"]["daemonEndpoints"] == {"kubeletEndpoint": {"Port": port}}
        p_node = await host.get(NODES, namespace=None, name=node)
        p_addresses = {a["address"] for a in p_node["status"].get("addresses", [])}
        leaked = p_addresses - {node, config.kubelet_address}
        assert not leaked & {a["address"] for a in fake_node["status"]["addresses"]}
        token, ca = await _mounted_token(host, namespace=namespace_with_sa, p_pod=p_pod)
        review = await virtual.create(
            TOKENREVIEWS,
            namespace=None,
            body={
                "apiVersion": "authentication.k8s.io/v1",
                "kind": "TokenReview",
                "spec": {"token": token},
            },
        )
        assert review["status"]["authenticated"] is True
        assert review["status"]["user"]["username"] == f"system:serviceaccount:{v_ns}:default"
        assert ca == virtual_cluster.ca_file.read_text()
        assert ca != host_cluster.ca_file.read_text()
        await virtual.delete(PODS, namespace=v_ns, name="web", grace_period_seconds=0)

        # A reference to a kind that is off is said, not silent: a Warning event.
        env = [{"name": "A", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "k"}}}]
        containers = [{"name": "main", "image": "registry.example/app:1", "env": env}]
        await virtual.create(PODS, namespace=v_ns, body=pod("cfg-user", containers=containers))
        event = await wait_for_event(
            virtual, namespace=v_ns, reason="ReferencesNotSynced", name="cfg-user"
        )
        assert event["type"] == "Warning"
        assert "configmap 'cfg' is not synced" in event["message"]


async def _mounted_token(host: KubeClient, *, namespace: str, p_pod: Json) -> tuple[str, str]:
    """The token and ca.crt the host pod's ``kube-api-access-*`` volume projects, read from
    the host Secret it names (once its CA is filled in)."""
    volumes = p_pod["spec"]["volumes"]
    access = next(v for v in volumes if v["name"].startswith("kube-api-access"))
    files: dict[str, tuple[str, str]] = {}
    for source in access["projected"]["sources"]:
        assert "configMap" not in source, "the host's kube-root-ca.crt is projected"
        if "secret" in source:
            for item in source["secret"]["items"]:
                files[item["path"]] = (source["secret"]["name"], item["key"])
    assert set(files) >= {"token", "ca.crt"}
    (name, token_key), (ca_name, ca_key) = files["token"], files["ca.crt"]
    assert ca_name == name
    secret = await wait_for_object(
        host,
        SECRETS,
        namespace=namespace,
        name=name,
        predicate=where(lambda o: bool(base64.b64decode(o["data"].get(ca_key, "")))),
    )
    assert secret is not None
    data = secret["data"]
    return base64.b64decode(data[token_key]).decode(), base64.b64decode(data[ca_key]).decode()


async def test_pods_reach_the_configured_virtual_api_service_without_the_services_kind(
    namespace_with_sa: str,
    v_ns: str,
    host: KubeClient,
    virtual: KubeClient,
    host_kubeconfig: Path,
    virtual_kubeconfig: Path,
) -> None:
    """VSYNCER_VIRTUAL_SERVICE_HOST with only pods and nodes: the host pod's
    KUBERNETES_SERVICE_HOST/PORT are that host Service's, though no services mapper aligns
    the virtual default/kubernetes (which keeps a virtual cluster IP)."""
    t = translator(namespace_with_sa)
    api = await host.create(
        SERVICES,
        namespace=namespace_with_sa,
        body={
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "vc-api"},
            "spec": {"ports": [{"name": "https", "port": 443, "targetPort": 8443}]},
        },
    )
    ip = api["spec"]["clusterIP"]
    v_api = await virtual.get(SERVICES, namespace="default", name="kubernetes")
    assert v_api["spec"]["clusterIP"] != ip  # the virtual one, not aligned
    async with run_syncer(
        host_namespace=namespace_with_sa,
        host_kubeconfig=host_kubeconfig,
        virtual_kubeconfig=virtual_kubeconfig,
        kinds=("pods", "nodes"),
        virtual_service_host="vc-api",
    ):
        await virtual.create(PODS, namespace=v_ns, body=pod("client"))
        p_pod = await wait_for_object(
            host,
            PODS,
            namespace=namespace_with_sa,
            name=t.host_name(v_ns, "client"),
            predicate=exists,
        )
        assert p_pod is not None
        env = {e["name"]: e.get("value") for e in p_pod["spec"]["containers"][0]["env"]}
        assert (env["KUBERNETES_SERVICE_HOST"], env["KUBERNETES_SERVICE_PORT"]) == (ip, "443")
        aliases = {a["ip"] for a in p_pod["spec"].get("hostAliases", [])}
        assert aliases == {ip}
