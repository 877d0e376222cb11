"""vcluster's own syncer (``vcluster start``) between the two local clusters, for P7.

vcluster v0.36.1's syncer runs outside a pod against the benchmark's host and
virtual API servers, the way it runs in its own chart with our control plane
as its virtual cluster (its own API server and controller manager turned off).
What it needs there, and what this module provides (vcluster's behaviour as
of that version):

* its name-mapping store in an etcd that only accepts TLS with a client
  certificate: a separate small etcd per start (the control plane's cached
  binary, certificates from :mod:`syncer.localcluster.pki`), so no state
  survives between starts;
* its complete ``values.yaml`` with the overrides of :func:`config`: the
  schema has no defaults on this path;
* in the host namespace, the objects its chart would create first: a
  ServiceAccount ``vc-workload-<name>``, a Secret ``vc-config-<name>`` and a
  Service ``<name>``; in the virtual cluster a ``kube-system/kube-dns``
  Service (its pod sync waits for the DNS Service's host IP);
* the environment of its pod (``POD_NAME``, ``NAMESPACE``, …) with the host
  client limits vsyncer gets, a throw-away ``HOME`` (it writes its kubeconfig
  there) and, when the benchmark runs as root, a non-root user (nobody), so
  nothing of root's is touched.  Every file it reads is a copy in its own
  directory, kubeconfigs with embedded credentials.

Ready when its log says ``Successfully started vCluster controllers`` and the
DNS Service's host twin exists.  :meth:`VclusterSyncer.stop` leaves no process
(:class:`~syncer.localcluster.processes.ProcessGroup`).
"""

from __future__ import annotations

import base64
import os
import shutil
import ssl
import time
import urllib.request
from pathlib import Path
from typing import Any

import yaml

from benchmarks.harness import process_cpu_seconds, process_rss_bytes
from benchmarks.vclusterbuild import VclusterBinary
from syncer.localcluster import ControlPlane, pki
from syncer.localcluster.admin import Api, ClusterInfo
from syncer.localcluster.processes import ProcessGroup, free_port

NOBODY = 65534
READY_LINE = "Successfully started vCluster controllers"


def merged(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``overrides`` merged in, mappings recursively, anything else replaced."""
    out = dict(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merged(out[key], value)
        else:
            out[key] = value
    return out


def config(*, etcd: str, certs: dict[str, Path], proxy_port: int) -> dict[str, Any]:
    """The overrides on top of vcluster's full ``values.yaml`` (see the module docstring)."""
    return {
        "controlPlane": {
            "distro": {
                "k8s": {"apiServer": {"enabled": False}, "controllerManager": {"enabled": False}}
            },
            "backingStore": {
                "etcd": {
                    "external": {
                        "enabled": True,
                        "endpoint": etcd,
                        "tls": {
                            "caFile": str(certs["etcd-ca"]),
                            "certFile": str(certs["etcd-client"]),
                            "keyFile": str(certs["etcd-client-key"]),
                        },
                    }
                }
            },
            "proxy": {"bindAddress": "127.0.0.1", "port": proxy_port},
            "coredns": {"enabled": False},
        },
        "networking": {"advanced": {"proxyKubelets": {"byHostname": False, "byIP": False}}},
        "policies": {"resourceQuota": {"enabled": False}, "limitRange": {"enabled": False}},
        "telemetry": {"enabled": False},
        "experimental": {
            "virtualClusterKubeConfig": {
                "kubeConfig": str(certs["virtual-kubeconfig"]),
                "serverCACert": str(certs["virtual-ca"]),
                "serverCAKey": str(certs["virtual-ca-key"]),
                "clientCACert": str(certs["virtual-ca"]),
                "clientCAKey": str(certs["virtual-ca-key"]),
                "requestHeaderCACert": str(certs["virtual-ca"]),
            }
        },
    }


def embedded_kubeconfig(info: ClusterInfo) -> str:
    """An admin kubeconfig for ``info`` with the credentials inline (base64 PEM)."""

    def data(path: Path) -> str:
        return base64.b64encode(path.read_bytes()).decode()

    return yaml.safe_dump(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": info.name,
                    "cluster": {
                        "server": info.server,
                        "certificate-authority-data": data(info.ca_file),
                    },
                }
            ],
            "users": [
                {
                    "name": info.name,
                    "user": {
                        "client-certificate-data": data(info.client_cert),
                        "client-key-data": data(info.client_key),
                    },
                }
            ],
            "contexts": [{"name": info.name, "context": {"cluster": info.name, "user": info.name}}],
            "current-context": info.name,
        }
    )


class VclusterSyncer:
    """One ``vcluster start`` (and its etcd) in ``directory``; ``start`` then ``stop``."""

    def __init__(
        self,
        *,
        binary: VclusterBinary,
        plane: ControlPlane,
        directory: Path,
        name: str,
        host_namespace: str,
        host_qps: int,
        host_burst: int,
    ) -> None:
        self._binary = binary
        self._plane = plane
        self._dir = directory
        self.name = name
        self.host_namespace = host_namespace
        self._qps, self._burst = host_qps, host_burst
        self._group = ProcessGroup(run_dir=directory)
        self.pid = 0

    def start(self, *, within: float = 300) -> float:
        """Create its prerequisites, start etcd and vcluster, wait until ready; seconds taken."""
        started = time.monotonic()
        self._dir.mkdir(parents=True, exist_ok=True)
        self._dir.chmod(0o755)
        files = self._files()
        etcd = self._start_etcd(files)
        self._prerequisites()
        overrides = config(etcd=etcd, certs=files, proxy_port=free_port())
        values = yaml.safe_load(self._binary.values.read_text())
        conf = self._dir / "vcluster.yaml"
        conf.write_text(yaml.safe_dump(merged(values, overrides), sort_keys=False))
        home, plugins = self._dir / "home", self._dir / "plugins"
        for d in (home, plugins):
            d.mkdir(exist_ok=True)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(home),
            "POD_NAME": f"{self.name}-0",
            "POD_NAMESPACE": self.host_namespace,
            "NAMESPACE": self.host_namespace,
            "VCLUSTER_NAME": self.name,
            "KUBECONFIG": str(files["host-kubeconfig"]),
            "PLUGIN_FOLDER": str(plugins),
            "VCLUSTER_PHYSICAL_CLIENT_QPS": str(self._qps),
            "VCLUSTER_PHYSICAL_CLIENT_BURST": str(self._burst),
        }
        prefix: list[str] = []
        if os.geteuid() == 0:
            for path in (self._dir, *self._dir.rglob("*")):
                os.chown(path, NOBODY, NOBODY)
            setpriv = shutil.which("setpriv") or "setpriv"
            prefix = [setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "--"]
        argv = [*prefix, str(self._binary.binary), "start", f"--config={conf}"]
        child = self._group.start("vcluster", argv, tier=1, env=env)
        self.pid = child.proc.pid
        deadline = started + within
        while not self._ready():
            if child.proc.poll() is not None:
                raise RuntimeError(
                    f"vcluster exited with {child.proc.returncode}; log: {child.log}"
                )
            if time.monotonic() > deadline:
                raise RuntimeError(f"vcluster not ready after {within:.0f} s; log: {child.log}")
            time.sleep(0.2)
        return time.monotonic() - started

    def stop(self) -> None:
        self._group.stop(timeout=30)

    @property
    def log(self) -> Path:
        return self._dir / "logs" / "vcluster.log"

    def cpu_seconds(self) -> float:
        return process_cpu_seconds(self.pid)

    def rss_bytes(self) -> int:
        return process_rss_bytes(self.pid)

    def _files(self) -> dict[str, Path]:
        etcd_pki = pki.generate(
            self._dir / "etcd-pki", cluster="vcluster-etcd", service_ip="127.0.0.1"
        )
        virtual = self._plane.virtual
        out = {
            "etcd-ca": etcd_pki.ca.cert,
            "etcd-serving": etcd_pki.serving.cert,
            "etcd-serving-key": etcd_pki.serving.key,
            "etcd-client": etcd_pki.clients["admin"].cert,
            "etcd-client-key": etcd_pki.clients["admin"].key,
            "virtual-ca": self._dir / "virtual-ca.crt",
            "virtual-ca-key": self._dir / "virtual-ca.key",
            "virtual-kubeconfig": self._dir / "virtual.kubeconfig",
            "host-kubeconfig": self._dir / "host.kubeconfig",
        }
        shutil.copyfile(virtual.ca_file, out["virtual-ca"])
        shutil.copyfile(virtual.ca_file.with_suffix(".key"), out["virtual-ca-key"])
        out["virtual-kubeconfig"].write_text(embedded_kubeconfig(virtual))
        out["host-kubeconfig"].write_text(embedded_kubeconfig(self._plane.host))
        for path in out.values():
            path.chmod(0o644)
        return out

    def _start_etcd(self, files: dict[str, Path]) -> str:
        client, peer = free_port(), free_port()
        url = f"https://127.0.0.1:{client}"
        argv = [
            str(self._plane.binaries.path("etcd")),
            "--name=vcluster",
            f"--data-dir={self._dir / 'etcd'}",
            f"--listen-client-urls={url}",
            f"--advertise-client-urls={url}",
            f"--listen-peer-urls=http://127.0.0.1:{peer}",
            f"--initial-advertise-peer-urls=http://127.0.0.1:{peer}",
            f"--initial-cluster=vcluster=http://127.0.0.1:{peer}",
            "--client-cert-auth",
            f"--trusted-ca-file={files['etcd-ca']}",
            f"--cert-file={files['etcd-serving']}",
            f"--key-file={files['etcd-serving-key']}",
            "--unsafe-no-fsync",
            "--log-level=warn",
        ]
        self._group.start("etcd", argv, tier=0)
        ctx = ssl.create_default_context(cafile=str(files["etcd-ca"]))
        ctx.load_cert_chain(str(files["etcd-client"]), str(files["etcd-client-key"]))
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2, context=ctx) as resp:
                    if resp.status == 200:
                        return f"127.0.0.1:{client}"
            except OSError:
                if time.monotonic() > deadline:
                    raise
            time.sleep(0.2)

    def _prerequisites(self) -> None:
        host, virtual = Api(self._plane.host), Api(self._plane.virtual)
        ns = self.host_namespace
        labels = {"app": "vcluster", "release": self.name}
        for api, path, body in (
            (host, "/api/v1/namespaces", {"metadata": {"name": ns}}),
            (
                host,
                f"/api/v1/namespaces/{ns}/serviceaccounts",
                {"metadata": {"name": f"vc-workload-{self.name}"}},
            ),
            (
                host,
                f"/api/v1/namespaces/{ns}/secrets",
                {"metadata": {"name": f"vc-config-{self.name}"}, "data": {}},
            ),
            (
                host,
                f"/api/v1/namespaces/{ns}/services",
                {
                    "metadata": {"name": self.name, "labels": labels},
                    "spec": {
                        "type": "ClusterIP",
                        "ports": [{"name": "https", "port": 443, "targetPort": 8443}],
                    },
                },
            ),
            (
                virtual,
                "/api/v1/namespaces/kube-system/services",
                {
                    "metadata": {"name": "kube-dns"},
                    "spec": {
                        "ports": [
                            {"name": "dns", "port": 53, "protocol": "UDP"},
                            {"name": "dns-tcp", "port": 53, "protocol": "TCP"},
                        ]
                    },
                },
            ),
        ):
            status, answer = api.request("POST", path, body)
            if status not in (201, 409):
                raise RuntimeError(f"creating {path} for vcluster: {status} {answer}")

    def _ready(self) -> bool:
        if not self.log.exists() or READY_LINE not in self.log.read_text(errors="replace"):
            return False
        status, answer = Api(self._plane.host).request(
            "GET", f"/api/v1/namespaces/{self.host_namespace}/services"
        )
        names = [item["metadata"]["name"] for item in (answer or {}).get("items", [])]
        return status == 200 and any(n.startswith("kube-dns-x-kube-system") for n in names)
