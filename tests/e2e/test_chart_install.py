"""helm install of deploy/chart into the local host cluster: every object is accepted, the
StatefulSet's pod is created and scheduled (kwok plays the kubelet; no container runs)."""

from __future__ import annotations

import asyncio
import base64

from cryptography import x509

from syncer.kube import KubeClient
from syncer.localcluster import ClusterInfo, ControlPlane
from syncer.localcluster.cluster import Api
from syncer.resources import PODS, SECRETS, SERVICES
from tests.e2e.chart_release import RELEASE, api_path, installed
from tests.kubehelpers import wait_for_object


async def test_every_object_is_accepted_and_the_pod_scheduled(
    host_cluster: ClusterInfo, host: KubeClient
) -> None:
    """After ``helm install``: each rendered object reads back from the API server as
    rendered (kind, name, labels); the datastore claim binds; the pod ``vc-0`` is made
    from the template (admission accepted it) and placed on a node."""
    async with installed(host_cluster) as release:
        api = Api(host_cluster)
        kinds = sorted(o["kind"] for o in release.objects)
        assert kinds == [
            "ClusterRole",
            "ClusterRoleBinding",
            "Role",
            "RoleBinding",
            "Secret",
            "Service",
            "Service",
            "ServiceAccount",
            "ServiceAccount",
            "StatefulSet",
        ]
        for obj in release.objects:
            status, live = api.request("GET", api_path(obj, namespace=release.namespace))
            assert status == 200, (obj["kind"], obj["metadata"]["name"], live)
            assert live["kind"] == obj["kind"]
            assert obj["metadata"]["labels"].items() <= live["metadata"]["labels"].items()
        placed = await wait_for_object(
            host,
            PODS,
            namespace=release.namespace,
            name=f"{RELEASE}-0",
            predicate=lambda p: p is not None and bool(p["spec"].get("nodeName")),
            within=90,
        )
        assert placed is not None
        names = [c["name"] for c in placed["spec"]["containers"]]
        assert names == ["etcd", "kube-apiserver", "kube-controller-manager", "vsyncer"]
        assert placed["spec"]["serviceAccountName"] == f"vc-{RELEASE}"
        claim = f"/api/v1/namespaces/{release.namespace}/persistentvolumeclaims/data-{RELEASE}-0"
        deadline = asyncio.get_running_loop().time() + 60
        while api.request("GET", claim)[1]["status"].get("phase") != "Bound":
            assert asyncio.get_running_loop().time() < deadline, "the claim never bound"
            await asyncio.sleep(0.2)


async def test_upgrade_keeps_credentials_and_certifies_the_service_ip(
    host_cluster: ClusterInfo, host: KubeClient
) -> None:
    """``helm upgrade`` keeps the CA, keys and tokens made at install (Helm's lookup against
    the real API server) and issues the serving certificate again, now naming the API
    Service's cluster IP, signed by the same CA."""
    async with installed(host_cluster) as release:
        before = await host.get(SECRETS, namespace=release.namespace, name=f"{RELEASE}-certs")
        await release.upgrade(host_cluster)
        after = await host.get(SECRETS, namespace=release.namespace, name=f"{RELEASE}-certs")
        service = await host.get(SERVICES, namespace=release.namespace, name=RELEASE)
    assert set(after["data"]) == set(before["data"])
    kept = set(before["data"]) - {"apiserver.crt", "apiserver.key"}
    assert {k: after["data"][k] for k in kept} == {k: before["data"][k] for k in kept}
    ca = x509.load_pem_x509_certificate(base64.b64decode(after["data"]["ca.crt"]))
    serving = x509.load_pem_x509_certificate(base64.b64decode(after["data"]["apiserver.crt"]))
    serving.verify_directly_issued_by(ca)
    names = serving.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    ips = {str(ip) for ip in names.get_values_for_type(x509.IPAddress)}
    first = x509.load_pem_x509_certificate(base64.b64decode(before["data"]["apiserver.crt"]))
    first_names = first.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert service["spec"]["clusterIP"] not in {
        str(ip) for ip in first_names.get_values_for_type(x509.IPAddress)
    }
    assert ips == {"127.0.0.1", service["spec"]["clusterIP"]}
    assert f"{RELEASE}.{release.namespace}.svc" in names.get_values_for_type(x509.DNSName)


async def test_k3s_release_is_accepted(host_cluster: ClusterInfo, host: KubeClient) -> None:
    """The k3s control plane: a pod of the k3s server and vsyncer; one Secret, the API
    server's kubelet client certificate, kept as it is by ``helm upgrade``."""
    async with installed(host_cluster, values={"controlPlane": {"distro": "k3s"}}) as release:
        secrets = [o["metadata"]["name"] for o in release.objects if o["kind"] == "Secret"]
        assert secrets == [f"{RELEASE}-kubelet-client"]
        before = await host.get(SECRETS, namespace=release.namespace, name=secrets[0])
        await release.upgrade(host_cluster)
        after = await host.get(SECRETS, namespace=release.namespace, name=secrets[0])
        assert after["data"] == before["data"]
        placed = await wait_for_object(
            host,
            PODS,
            namespace=release.namespace,
            name=f"{RELEASE}-0",
            predicate=lambda p: p is not None and bool(p["spec"].get("nodeName")),
            within=90,
        )
        assert placed is not None
        assert [c["name"] for c in placed["spec"]["containers"]] == ["k3s", "vsyncer"]


def test_chart_flags_are_the_local_virtual_planes(control_plane: ControlPlane) -> None:
    """The chart runs kube-apiserver and kube-controller-manager with the flags the local
    virtual plane the tests sync against runs them with; only where a flag names a path,
    port, address or the datastore does the chart's value differ, and the chart adds only
    its credentials (a token file: Helm cannot put a group in a generated certificate)."""
    from tests.deploy.chart_support import container, render

    objects = render()
    environment = {
        "--etcd-servers",
        "--etcd-prefix",
        "--bind-address",
        "--advertise-address",
        "--secure-port",
        "--tls-cert-file",
        "--tls-private-key-file",
        "--client-ca-file",
        "--service-account-key-file",
        "--service-account-signing-key-file",
        "--service-account-private-key-file",
        "--service-cluster-ip-range",
        "--cert-dir",
        "--kubelet-client-certificate",
        "--kubelet-client-key",
        "--kubeconfig",
        "--root-ca-file",
        "--cluster-signing-cert-file",
        "--cluster-signing-key-file",
        "--leader-elect",
    }
    chart_only = {"--token-auth-file"}
    for chart_name, local_name in (
        ("kube-apiserver", "virtual-apiserver"),
        ("kube-controller-manager", "virtual-controller-manager"),
    ):
        chart = dict(a.split("=", 1) for a in container(objects, chart_name)["command"][1:])
        local = dict(a.split("=", 1) for a in control_plane.processes.get(local_name).argv[1:])
        assert set(chart) - chart_only == set(local), chart_name
        same = {flag: local[flag] for flag in local if flag not in environment}
        assert {flag: chart[flag] for flag in same} == same, chart_name
