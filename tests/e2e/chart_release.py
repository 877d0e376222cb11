"""A release of deploy/chart in the local host cluster, and vsyncer run as its service account.

:func:`installed` runs ``helm install`` (the Helm built with the control plane)
into a fresh host namespace, with a static PersistentVolume of a class of its
own so the datastore claim binds and the scheduler places the pod on a kwok
node; it yields the rendered objects (``helm get manifest``) and uninstalls,
removing the namespace and the volume, afterwards.

:func:`service_account_kubeconfig` asks the host API server for a token of the
chart's vsyncer ServiceAccount (TokenRequest) and writes a kubeconfig with it
alone: no client certificate, nothing of the admin's.  :func:`chart_settings_env`
turns the vsyncer container's env into the environment of a local run, and
:func:`running_as_chart` runs the daemon so, yielding once it is ready and
asserting a clean stop (exit 0) afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import secrets
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from syncer.daemon import Daemon
from syncer.localcluster import ClusterInfo
from syncer.localcluster.cluster import Api
from syncer.localcluster.processes import free_port
from syncer.settings import Settings, load_settings
from tests.deploy.chart_support import CHART, helm

Json = dict[str, Any]
RELEASE = "vc"


@dataclass(frozen=True, slots=True)
class Release:
    namespace: str
    objects: list[Json]
    values: Json

    async def upgrade(self, host: ClusterInfo) -> None:
        """``helm upgrade`` with the same values."""
        await asyncio.to_thread(
            helm,
            "upgrade",
            RELEASE,
            str(CHART),
            "--namespace",
            self.namespace,
            kubeconfig=host.kubeconfig,
            values=self.values,
        )

    def vsyncer_env(self) -> list[Json]:
        (sts,) = [o for o in self.objects if o["kind"] == "StatefulSet"]
        (syncer,) = [
            c for c in sts["spec"]["template"]["spec"]["containers"] if c["name"] == "vsyncer"
        ]
        return list(syncer["env"])


def api_path(obj: Json, *, namespace: str) -> str:
    """The REST path of a rendered object (its kinds pluralise with an ``s``)."""
    version = obj["apiVersion"]
    prefix = f"/api/{version}" if "/" not in version else f"/apis/{version}"
    plural = obj["kind"].lower() + "s"
    name = obj["metadata"]["name"]
    if obj["kind"].startswith("Cluster"):
        return f"{prefix}/{plural}/{name}"
    return f"{prefix}/namespaces/{namespace}/{plural}/{name}"


def _must(status: int, body: Any, *, ok: tuple[int, ...], what: str) -> None:
    assert status in ok, f"{what}: {status} {body}"


@contextlib.contextmanager
def _volume(api: Api, *, name: str) -> Iterator[None]:
    body = {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {"name": name},
        "spec": {
            "capacity": {"storage": "5Gi"},
            "accessModes": ["ReadWriteOnce"],
            "storageClassName": name,
            "hostPath": {"path": f"/tmp/{name}"},
        },
    }
    status, out = api.request("POST", "/api/v1/persistentvolumes", body)
    _must(status, out, ok=(201,), what="creating the persistent volume")
    try:
        yield
    finally:
        api.request("DELETE", f"/api/v1/persistentvolumes/{name}")


@contextlib.asynccontextmanager
async def installed(host: ClusterInfo, *, values: Json | None = None) -> AsyncIterator[Release]:
    """``helm install`` of the chart in a fresh host namespace, uninstalled afterwards."""
    api = Api(host)
    namespace = f"chart-{secrets.token_hex(4)}"
    body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}
    status, out = api.request("POST", "/api/v1/namespaces", body)
    _must(status, out, ok=(201,), what="creating the host namespace")
    chosen = {**(values or {}), "persistence": {"storageClass": namespace}}
    common = ("--namespace", namespace)
    try:
        with _volume(api, name=namespace):
            await asyncio.to_thread(
                helm,
                "install",
                RELEASE,
                str(CHART),
                *common,
                kubeconfig=host.kubeconfig,
                values=chosen,
            )
            try:
                manifest = await asyncio.to_thread(
                    helm, "get", "manifest", RELEASE, *common, kubeconfig=host.kubeconfig
                )
                objects = [doc for doc in yaml.safe_load_all(manifest) if doc]
                yield Release(namespace=namespace, objects=objects, values=chosen)
            finally:
                await asyncio.to_thread(
                    helm, "uninstall", RELEASE, *common, kubeconfig=host.kubeconfig
                )
    finally:
        api.request("DELETE", f"/api/v1/namespaces/{namespace}")


def service_account_kubeconfig(
    host: ClusterInfo, *, namespace: str, account: str, path: Path
) -> Path:
    """A kubeconfig for the host whose only credential is a token of ``account``."""
    request = {
        "apiVersion": "authentication.k8s.io/v1",
        "kind": "TokenRequest",
        "spec": {"expirationSeconds": 3600},
    }
    status, out = Api(host).request(
        "POST", f"/api/v1/namespaces/{namespace}/serviceaccounts/{account}/token", request
    )
    _must(status, out, ok=(201,), what="requesting a service account token")
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "host",
                "cluster": {"server": host.server, "certificate-authority": str(host.ca_file)},
            }
        ],
        "users": [{"name": account, "user": {"token": out["status"]["token"]}}],
        "contexts": [{"name": "sa", "context": {"cluster": "host", "user": account}}],
        "current-context": "sa",
    }
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def chart_settings_env(
    release: Release, *, host_kubeconfig: Path, virtual: ClusterInfo
) -> dict[str, str]:
    """The vsyncer container's env, as a local run needs it.

    Kept from the chart: every value.  Replaced: the field references (the namespace, the
    pod IP as loopback), the in-pod file paths (the test's virtual admin kubeconfig and
    the virtual API server's kubelet-client CA), the listen ports (free loopback ports),
    and ``VSYNCER_VIRTUAL_SERVICE_HOST`` (emptied: the virtual cluster is shared by the
    whole session, whose other tests expect its default/kubernetes Service untouched).
    """
    env: dict[str, str] = {}
    for item in release.vsyncer_env():
        if "valueFrom" in item:
            path = item["valueFrom"]["fieldRef"]["fieldPath"]
            env[item["name"]] = {
                "metadata.namespace": release.namespace,
                "status.podIP": "127.0.0.1",
            }[path]
        else:
            env[item["name"]] = str(item["value"])
    env.update(
        VSYNCER_HOST_KUBECONFIG=str(host_kubeconfig),
        VSYNCER_VIRTUAL_KUBECONFIG=str(virtual.kubeconfig),
        VSYNCER_KUBELET_CLIENT_CA=str(virtual.kubelet_client_ca),
        VSYNCER_METRICS_BIND="127.0.0.1:0",
        VSYNCER_PROBES_BIND="127.0.0.1:0",
        VSYNCER_KUBELET_BIND=f"127.0.0.1:{free_port()}",
        VSYNCER_VIRTUAL_SERVICE_HOST="",
        VSYNCER_SHUTDOWN_GRACE="10",
    )
    return env


@contextlib.asynccontextmanager
async def running_as_chart(
    release: Release, *, host: ClusterInfo, virtual: ClusterInfo, workdir: Path
) -> AsyncIterator[tuple[Daemon, Settings, Path]]:
    """The daemon with the chart's settings and its service account's token (the kubeconfig
    path is yielded too), once ready; stopped gracefully afterwards."""
    kubeconfig = service_account_kubeconfig(
        host, namespace=release.namespace, account=f"vc-{RELEASE}", path=workdir / "sa.kubeconfig"
    )
    settings = load_settings(
        env=chart_settings_env(release, host_kubeconfig=kubeconfig, virtual=virtual)
    )
    assert settings.host_kubeconfig == kubeconfig
    daemon = Daemon(settings=settings)
    task = asyncio.create_task(daemon.run(install_signals=False))
    try:
        async with asyncio.timeout(90):
            while not daemon.ready()[0]:
                assert not task.done(), f"the daemon exited with {task.result()}"
                await asyncio.sleep(0.05)  # a bounded readiness poll
        yield daemon, settings, kubeconfig
    finally:
        daemon.request_stop()
        code = await asyncio.wait_for(task, 60)
    assert code == 0


def host_requests(daemon: Daemon) -> dict[str, float]:
    """Host REST requests the daemon made, by response code."""
    text = daemon.metrics.render()[0].decode()
    pattern = re.compile(r"^vsyncer_rest_requests_total\{([^}]*)\} (\S+)$", re.M)
    counts: dict[str, float] = {}
    for labels, value in pattern.findall(text):
        code = re.search(r'code="([^"]*)"', labels)
        if 'cluster="host"' in labels and code is not None:
            counts[code.group(1)] = counts.get(code.group(1), 0.0) + float(value)
    return counts
