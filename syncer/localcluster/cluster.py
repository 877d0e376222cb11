"""Run a host and a virtual Kubernetes cluster on loopback.

One etcd holds both clusters under separate prefixes.  The **host** cluster is
kube-apiserver + kube-controller-manager + kube-scheduler + kwok with a few fake
nodes (kwok plays the kubelets: pods get scheduled, turn Running and get IPs).
The **virtual** cluster is kube-apiserver + kube-controller-manager, the way
vcluster's vanilla-Kubernetes distro runs it.

Kubelet API: on the host, kwok also serves logs, exec, attach and port-forward
for its pods and the host API server reaches it on loopback
(:attr:`ControlPlane.kubelet`, a :class:`~syncer.localcluster.kwok.HostKubelet`:
per-pod log files, the exec directory, the local port every port-forward
reaches).  Each API server presents a client certificate to kubelets, signed by
a kubelet-client CA of its own: ``ClusterInfo.kubelet_client_ca``,
``kubelet_client_cert``, ``kubelet_client_key`` (for the virtual cluster, the CA
the syncer's kubelet server must trust, and a pair a test can call it with).
The virtual API server calls a fake node's kubelet at its InternalIP and
``daemonEndpoints`` port, over HTTPS, without verifying the serving certificate.

Guarantees: every port is a free loopback port; certificates and admin
kubeconfigs are generated into the run directory; :meth:`ControlPlane.start`
returns only when both API servers answer ``/readyz``, the controllers are
healthy, each cluster's ``default`` service account exists and the host nodes
are Ready; on any failure, and on :meth:`ControlPlane.stop`, every process it
started is gone (see :mod:`syncer.localcluster.processes`).  For fault tests,
any one component can be stopped (gracefully or killed) and started again on
the same port with the same data (:meth:`ControlPlane.stop_component`,
:meth:`ControlPlane.start_component`), and etcd compacted on demand.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from syncer.localcluster import etcd, pki
from syncer.localcluster.admin import Api as Api
from syncer.localcluster.admin import ClusterInfo as ClusterInfo
from syncer.localcluster.admin import write_kubeconfig
from syncer.localcluster.build import Binaries
from syncer.localcluster.kwok import HOST_KUBELET_ADDRESS_TYPES, HostKubelet, nodes_ready
from syncer.localcluster.processes import ProcessGroup, free_port

Progress = Callable[[str], None]

SERVICE_CIDR = "10.96.0.0/16"
SERVICE_IP = "10.96.0.1"

VIRTUAL_DISABLED = (
    "node-ipam-controller",
    "node-lifecycle-controller",
    "node-route-controller",
    "cloud-node-lifecycle-controller",
    "taint-eviction-controller",
    "service-lb-controller",
    "persistentvolume-binder-controller",
    "persistentvolume-attach-detach-controller",
    "persistentvolume-expander-controller",
    "ttl-controller",
)


class ControlPlaneError(RuntimeError):
    """A component did not come up; the message names it and its log."""


class ControlPlane:
    """Both local clusters; use as a context manager or call start/stop."""

    def __init__(
        self,
        *,
        binaries: Binaries,
        run_dir: Path,
        nodes: int = 3,
        virtual_only: bool = False,
        progress: Progress | None = None,
    ) -> None:
        self.binaries = binaries
        self.run_dir = run_dir.resolve()
        self.nodes = nodes
        self.virtual_only = virtual_only
        self._progress = progress or (lambda _msg: None)
        self.processes = ProcessGroup(run_dir=self.run_dir)
        self.etcd_url = ""
        self._clusters: dict[str, ClusterInfo] = {}
        self._argv: dict[str, list[str]] = {}
        self._kubelet: HostKubelet | None = None

    # -- public -------------------------------------------------------------------------

    @property
    def host(self) -> ClusterInfo:
        return self._clusters["host"]

    @property
    def virtual(self) -> ClusterInfo:
        return self._clusters["virtual"]

    @property
    def kubelet(self) -> HostKubelet:
        """kwok's kubelet API for the host pods; ``RuntimeError`` before start or virtual-only."""
        if self._kubelet is None:
            raise RuntimeError("the host kubelets run only once a full control plane started")
        return self._kubelet

    def __enter__(self) -> ControlPlane:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self, *, timeout: float = 180.0) -> None:
        started = time.monotonic()
        try:
            self._start(deadline=started + timeout)
        except BaseException:
            self.stop()
            raise
        self._progress(f"control plane ready in {time.monotonic() - started:.1f}s")

    def stop(self) -> None:
        self.processes.stop()

    def restart_apiserver(self, cluster: str, *, timeout: float = 90.0) -> None:
        """Stop and start one cluster's kube-apiserver on the same port (for failure tests)."""
        self.stop_component(f"{cluster}-apiserver")
        self.start_component(f"{cluster}-apiserver", timeout=timeout)

    def compact_etcd(self) -> int:
        """Compact etcd at its current revision (physically); return that revision."""
        return etcd.compact(self.etcd_url)

    def components(self) -> list[str]:
        """Names of the running components (``etcd``, ``host-apiserver``, ...)."""
        return self.processes.names()

    def stop_component(self, name: str, *, kill: bool = False) -> None:
        """Stop one component: SIGTERM with a grace period, or SIGKILL when ``kill``.

        ``name`` is one of :meth:`components`; ``KeyError`` if it is not running.
        Its port, data directory and certificates stay; :meth:`start_component`
        brings it back.
        """
        if kill:
            self.processes.kill_one(name)
        else:
            self.processes.stop_one(name)

    def start_component(self, name: str, *, timeout: float = 90.0) -> None:
        """Start a stopped component with its old command line; wait until it serves.

        etcd: ``/health``; an API server: ``/readyz``; a controller: that it stays
        up.  Raises :class:`ControlPlaneError` past ``timeout`` seconds.
        """
        self.processes.start_again(name)
        deadline = time.monotonic() + timeout
        if name == "etcd":
            self._wait_for("etcd", lambda: etcd.healthy(self.etcd_url), deadline=deadline)
        elif name.endswith("-apiserver"):
            self._wait_ready(self._clusters[name.removesuffix("-apiserver")], deadline=deadline)
        else:
            self.processes.check_alive()

    # -- start-up -----------------------------------------------------------------------

    def _start(self, *, deadline: float) -> None:
        if self.run_dir.exists():
            shutil.rmtree(self.run_dir / "etcd", ignore_errors=True)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self._start_etcd(deadline=deadline)
        names = ["virtual"] if self.virtual_only else ["host", "virtual"]
        for name in names:
            self._start_apiserver(name)
        for name in names:
            self._wait_ready(self._clusters[name], deadline=deadline)
            self._progress(f"{name} kube-apiserver ready at {self._clusters[name].server}")
        for name in names:
            self._start_controller_manager(name)
        if not self.virtual_only:
            self._start_scheduler()
            self._start_kwok(deadline=deadline)
            self._create_nodes()
        for name in names:
            self._wait_for(
                f"{name}: default service account",
                self._has_default_service_account(self._clusters[name]),
                deadline=deadline,
            )
        if not self.virtual_only:
            self._wait_for(
                "host: nodes Ready",
                lambda: nodes_ready(self.host, count=self.nodes),
                deadline=deadline,
            )
        (self.run_dir / "ready").write_text("ok\n")

    def _wait_for(self, what: str, check: Callable[[], bool], *, deadline: float) -> None:
        while True:
            self.processes.check_alive()
            try:
                if check():
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise ControlPlaneError(
                    f"timed out waiting for {what}; logs: {self.run_dir / 'logs'}"
                )
            time.sleep(0.2)

    def _start_etcd(self, *, deadline: float) -> None:
        client, peer = free_port(), free_port()
        self.etcd_url = f"http://127.0.0.1:{client}"
        argv = [
            str(self.binaries.path("etcd")),
            "--name=vsyncer",
            f"--data-dir={self.run_dir / 'etcd'}",
            f"--listen-client-urls={self.etcd_url}",
            f"--advertise-client-urls={self.etcd_url}",
            f"--listen-peer-urls=http://127.0.0.1:{peer}",
            f"--initial-advertise-peer-urls=http://127.0.0.1:{peer}",
            f"--initial-cluster=vsyncer=http://127.0.0.1:{peer}",
            "--unsafe-no-fsync",
            "--quota-backend-bytes=8589934592",
            "--log-level=warn",
        ]
        self.processes.start("etcd", argv)

        self._wait_for("etcd", lambda: etcd.healthy(self.etcd_url), deadline=deadline)
        self._progress(f"etcd ready at {self.etcd_url}")

    def _start_apiserver(self, name: str) -> None:
        directory = self.run_dir / name
        certs = pki.generate(directory / "pki", cluster=name, service_ip=SERVICE_IP)
        kubelet_client = pki.kubelet_client(directory / "pki", cluster=name)
        port = free_port()
        server = f"https://127.0.0.1:{port}"
        kubeconfigs = {}
        for stem, pair in certs.clients.items():
            path = directory / f"{stem}.kubeconfig"
            write_kubeconfig(
                path, name=f"vsyncer-{name}", server=server, ca=certs.ca.cert, cert=pair
            )
            kubeconfigs[stem] = path
        info = ClusterInfo(
            name=name,
            server=server,
            port=port,
            kubeconfig=kubeconfigs["admin"],
            ca_file=certs.ca.cert,
            client_cert=certs.clients["admin"].cert,
            client_key=certs.clients["admin"].key,
            kubelet_client_ca=kubelet_client.ca.cert,
            kubelet_client_cert=kubelet_client.client.cert,
            kubelet_client_key=kubelet_client.client.key,
        )
        self._clusters[name] = info
        argv = [
            str(self.binaries.path("kube-apiserver")),
            f"--etcd-servers={self.etcd_url}",
            f"--etcd-prefix=/{name}",
            "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1",
            f"--secure-port={port}",
            f"--tls-cert-file={certs.serving.cert}",
            f"--tls-private-key-file={certs.serving.key}",
            f"--client-ca-file={certs.ca.cert}",
            f"--service-account-key-file={certs.sa_pub}",
            f"--service-account-signing-key-file={certs.sa_key}",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            "--authorization-mode=RBAC",
            "--allow-privileged=true",
            "--endpoint-reconciler-type=none",
            "--profiling=false",
            f"--cert-dir={directory / 'pki'}",
            f"--kubelet-client-certificate={kubelet_client.client.cert}",
            f"--kubelet-client-key={kubelet_client.client.key}",
            *self._kubelet_flags(name, ca=certs.ca.cert),
        ]
        self._argv[f"{name}-apiserver"] = argv
        self.processes.start(f"{name}-apiserver", argv, tier=1)

    @staticmethod
    def _kubelet_flags(name: str, *, ca: Path) -> list[str]:
        """How an API server reaches kubelets.

        Host: kwok on ``127.0.0.1`` (the nodes' ExternalIP), its certificate
        signed by the host CA and verified.  Virtual: the fake nodes' InternalIP,
        which the syncer sets to its own kubelet server; the syncer generates its
        serving certificate itself, so the virtual API server does not verify it
        (``--kubelet-certificate-authority`` unset, Kubernetes' default).
        """
        if name == "host":
            return [
                f"--kubelet-preferred-address-types={HOST_KUBELET_ADDRESS_TYPES}",
                f"--kubelet-certificate-authority={ca}",
            ]
        return ["--kubelet-preferred-address-types=InternalIP"]

    @staticmethod
    def _has_default_service_account(info: ClusterInfo) -> Callable[[], bool]:
        def check() -> bool:
            path = "/api/v1/namespaces/default/serviceaccounts/default"
            return Api(info).request("GET", path)[0] == 200

        return check

    def _wait_ready(self, info: ClusterInfo, *, deadline: float) -> None:
        self._wait_for(
            f"{info.name} kube-apiserver /readyz",
            lambda: Api(info).request("GET", "/readyz")[0] == 200,
            deadline=deadline,
        )

    def _start_controller_manager(self, name: str) -> None:
        directory = self.run_dir / name
        certs = directory / "pki"
        argv = [
            str(self.binaries.path("kube-controller-manager")),
            f"--kubeconfig={directory / 'controller-manager.kubeconfig'}",
            "--bind-address=127.0.0.1",
            f"--secure-port={free_port()}",
            "--leader-elect=false",
            "--use-service-account-credentials=true",
            f"--service-account-private-key-file={certs / 'sa.key'}",
            f"--root-ca-file={certs / 'ca.crt'}",
            f"--cluster-signing-cert-file={certs / 'ca.crt'}",
            f"--cluster-signing-key-file={certs / 'ca.key'}",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            "--allocate-node-cidrs=false",
            "--profiling=false",
        ]
        if name == "virtual":
            # As vcluster runs it: the virtual cluster has no real nodes or volumes, so the
            # controllers that manage those (and would evict pods from the syncer's fake
            # nodes) stay off; the host's controllers do that work.
            argv.append("--controllers=" + ",".join(["*", *(f"-{c}" for c in VIRTUAL_DISABLED)]))
        self.processes.start(f"{name}-controller-manager", argv, tier=2)

    def _start_scheduler(self) -> None:
        directory = self.run_dir / "host"
        argv = [
            str(self.binaries.path("kube-scheduler")),
            f"--kubeconfig={directory / 'scheduler.kubeconfig'}",
            "--bind-address=127.0.0.1",
            f"--secure-port={free_port()}",
            "--leader-elect=false",
            "--profiling=false",
        ]
        self.processes.start("host-scheduler", argv, tier=2)

    def _start_kwok(self, *, deadline: float) -> None:
        kubelet = HostKubelet(run_dir=self.run_dir, binaries=self.binaries, host=self.host)
        kubelet.prepare()
        kubelet.install_kinds(deadline=deadline)
        env = dict(os.environ)
        env["HOME"] = str(self.run_dir / "kwok-home")
        self.processes.start("host-kwok", kubelet.argv(), tier=2, env=env)
        self._kubelet = kubelet

    def node_names(self) -> list[str]:
        return [f"kwok-node-{i}" for i in range(self.nodes)]

    def _create_nodes(self) -> None:
        api = Api(self.host)
        for name in self.node_names():
            status, body = api.request("POST", "/api/v1/nodes", self.kubelet.node(name))
            if status not in (201, 409):
                raise ControlPlaneError(f"creating fake node {name} failed: {status} {body}")
