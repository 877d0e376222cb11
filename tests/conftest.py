"""Shared fixtures: the real local control plane, clients for both sides, fresh namespaces.

The control plane is session-scoped: one etcd, a host cluster (with kwok nodes)
and a virtual cluster, started once from the cached binaries (built first if
the cache is cold) and stopped, with every process, at the end of the session.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from kubernetes_asyncio import client as k8s_client
from kubernetes_asyncio import config as k8s_config

from syncer.kube import KubeClient
from syncer.localcluster import ClusterInfo, ControlPlane, build
from syncer.resources import NAMESPACES, SERVICEACCOUNTS
from tests.kubehelpers import wait_for_object


@pytest.fixture(scope="session")
def control_plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlane]:
    """Both clusters, running for the whole session."""
    result = build()
    plane = ControlPlane(binaries=result.binaries, run_dir=tmp_path_factory.mktemp("controlplane"))
    plane.start()
    try:
        yield plane
    finally:
        plane.stop()


@pytest.fixture(scope="session")
def host_cluster(control_plane: ControlPlane) -> ClusterInfo:
    return control_plane.host


@pytest.fixture(scope="session")
def virtual_cluster(control_plane: ControlPlane) -> ClusterInfo:
    return control_plane.virtual


@pytest.fixture(scope="session")
def host_kubeconfig(host_cluster: ClusterInfo) -> Path:
    return host_cluster.kubeconfig


@pytest.fixture(scope="session")
def virtual_kubeconfig(virtual_cluster: ClusterInfo) -> Path:
    return virtual_cluster.kubeconfig


async def _api_client(kubeconfig: Path) -> k8s_client.ApiClient:
    cfg = k8s_client.Configuration()
    await k8s_config.load_kube_config(config_file=str(kubeconfig), client_configuration=cfg)
    return k8s_client.ApiClient(configuration=cfg)


@pytest.fixture(scope="session")
async def host_api(host_kubeconfig: Path) -> AsyncIterator[k8s_client.ApiClient]:
    """A connected kubernetes-asyncio client for the host cluster."""
    api = await _api_client(host_kubeconfig)
    yield api
    await api.close()


@pytest.fixture(scope="session")
async def virtual_api(virtual_kubeconfig: Path) -> AsyncIterator[k8s_client.ApiClient]:
    """A connected kubernetes-asyncio client for the virtual cluster."""
    api = await _api_client(virtual_kubeconfig)
    yield api
    await api.close()


@pytest.fixture(scope="session")
async def host(host_kubeconfig: Path) -> AsyncIterator[KubeClient]:
    """The project's raw-JSON client for the host cluster."""
    kube = await KubeClient.connect(cluster="host", kubeconfig=str(host_kubeconfig))
    yield kube
    await kube.close()


@pytest.fixture(scope="session")
async def virtual(virtual_kubeconfig: Path) -> AsyncIterator[KubeClient]:
    """The project's raw-JSON client for the virtual cluster."""
    kube = await KubeClient.connect(cluster="virtual", kubeconfig=str(virtual_kubeconfig))
    yield kube
    await kube.close()


@pytest.fixture
async def namespace(host: KubeClient, virtual: KubeClient) -> AsyncIterator[str]:
    """A fresh namespace of the same name in both clusters, deleted afterwards."""
    name = f"t-{secrets.token_hex(4)}"
    body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
    for kube in (host, virtual):
        await kube.create(NAMESPACES, namespace=None, body=body)
    yield name
    for kube in (host, virtual):
        await kube.delete(NAMESPACES, namespace=None, name=name)


@pytest.fixture
async def namespace_with_sa(namespace: str, host: KubeClient, virtual: KubeClient) -> str:
    """``namespace`` once both clusters' controllers have created its default service account."""
    for kube in (host, virtual):
        await wait_for_object(
            kube,
            SERVICEACCOUNTS,
            namespace=namespace,
            name="default",
            predicate=lambda o: o is not None,
        )
    return namespace
