"""kwok as the host cluster's kubelets: its nodes, the kubelet API it serves, pod log files.

kwok (``sigs.k8s.io/kwok``) simulates the host's nodes and pods, and also serves
the kubelet API for them: ``/containerLogs`` from a file, ``/exec`` by running a
local command, ``/attach`` by following a file, ``/portForward`` by dialing a
local TCP address.  :class:`HostKubelet` configures that and wires the host API
server to it, so ``kubectl logs | exec | attach | port-forward`` against a host
pod work for real.

Guarantees:

* kwok serves HTTPS on ``127.0.0.1:<port>`` (:attr:`HostKubelet.port`) with a
  certificate signed by the host cluster's CA for ``127.0.0.1``; the host API
  server verifies it (``--kubelet-certificate-authority``).
* Every host node gets ``InternalIP`` :data:`NODE_INTERNAL_IP` (not loopback, so
  the rule refusing Endpoints at a host node's address is exercised on its own),
  ``ExternalIP`` ``127.0.0.1`` and ``Hostname`` its name, and kwok advertises its
  port in ``status.daemonEndpoints.kubeletEndpoint.Port``.  The host API server
  prefers ``ExternalIP`` for kubelet calls (``--kubelet-preferred-address-types``),
  which is how it reaches kwok on loopback.
* Defaults for every pod and container, from kwok's ``--config``
  (``ClusterLogs``, ``ClusterAttach``, ``ClusterExec``, ``ClusterPortForward``):
  logs and attach read :attr:`HostKubelet.default_log` (one constant line);
  exec runs the command on this machine in :attr:`HostKubelet.exec_dir` (so
  ``echo``, ``sh``, ``cat``, ``tar`` are the machine's own), its exit code
  reaches kubectl and its stdin ends when the client's does (kwok is built
  with those fixes: :mod:`syncer.localcluster.kwokpatch`); a port-forward to
  any pod port dials ``127.0.0.1:`` :attr:`HostKubelet.forward_port`, where a
  test runs its TCP server.
* Per pod, :meth:`HostKubelet.pod_log` gives each container its own log file
  (and a ``--previous`` one) through kwok's namespaced ``Logs`` and ``Attach``
  custom resources, and returns only once kwok serves that file.  Lines are
  appended with :func:`append_log` in the CRI log format kwok reads.

kwok's exec runs commands as the user running the control plane: this is a
local development and test harness, never a place for untrusted tenants.
"""

from __future__ import annotations

import datetime as dt
import http.client
import ssl
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from syncer.localcluster import pki
from syncer.localcluster.admin import Api, ClusterInfo
from syncer.localcluster.build import Binaries
from syncer.localcluster.processes import free_port

KWOK_API_VERSION = "kwok.x-k8s.io/v1alpha1"
NODE_INTERNAL_IP = "10.0.0.1"
KUBELET_ADDRESS = "127.0.0.1"
POD_CIDR = "10.244.0.0/16"
#: what the host API server tries, in order, to reach a node's kubelet
HOST_KUBELET_ADDRESS_TYPES = "ExternalIP,InternalIP"
#: namespaced kwok kinds served from custom resources (kind, plural): one per pod
PER_POD_KINDS = (("Attach", "attaches"), ("Logs", "logs"))
DEFAULT_LOG_LINE = "kwok simulates this pod; it has no log file of its own"


class KubeletError(RuntimeError):
    """kwok's kubelet API did not do what was asked in time; the message says what."""


@dataclass(frozen=True, slots=True)
class PodLog:
    """One container's log files as kwok serves them (``kubectl logs`` / ``--previous``)."""

    current: Path
    previous: Path


def cri_line(text: str, *, stream: str = "stdout", at: dt.datetime | None = None) -> str:
    """``text`` as one line of the CRI log format (``<RFC 3339 time> <stream> F <text>\\n``).

    That is the format kubelets (and kwok) read container logs in; ``stream`` is
    ``stdout`` or ``stderr``; ``at`` defaults to now (UTC).  ``ValueError`` if
    ``text`` holds a newline or ``stream`` is neither.
    """
    if "\n" in text:
        raise ValueError("one CRI log line cannot hold a newline")
    if stream not in ("stdout", "stderr"):
        raise ValueError(f"stream must be stdout or stderr, not {stream!r}")
    when = (at or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    return f"{when.strftime('%Y-%m-%dT%H:%M:%S.%fZ')} {stream} F {text}\n"


def append_log(
    path: Path, *lines: str, stream: str = "stdout", at: dt.datetime | None = None
) -> None:
    """Append ``lines`` to a container log file, in one write (see :func:`cri_line`)."""
    data = "".join(cri_line(line, stream=stream, at=at) for line in lines)
    with path.open("a") as out:
        out.write(data)


def _crd(kind: str, plural: str) -> dict[str, Any]:
    """A CustomResourceDefinition for one of kwok's namespaced kinds (its schema is kwok's)."""
    group = KWOK_API_VERSION.split("/")[0]
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{group}"},
        "spec": {
            "group": group,
            "scope": "Namespaced",
            "names": {
                "kind": kind,
                "listKind": f"{kind}List",
                "plural": plural,
                "singular": kind.lower(),
            },
            "versions": [
                {
                    "name": KWOK_API_VERSION.split("/")[1],
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "x-kubernetes-preserve-unknown-fields": True,
                        }
                    },
                }
            ],
        },
    }


class HostKubelet:
    """kwok's kubelet API for the host cluster: its files, ports and per-pod log files."""

    def __init__(self, *, run_dir: Path, binaries: Binaries, host: ClusterInfo) -> None:
        self.directory = run_dir / "host" / "kwok"
        self.logs_dir = self.directory / "logs"
        self.exec_dir = self.directory / "exec"
        self.default_log = self.logs_dir / "default.log"
        self.config = self.directory / "kwok.yaml"
        self.address = KUBELET_ADDRESS
        self.port = free_port()
        self.forward_port = free_port()
        self._binaries = binaries
        self._host = host
        self._serving: pki.CertPair | None = None

    # -- start-up (called by the control plane) --------------------------------------------

    def prepare(self) -> None:
        """Write the serving certificate, the default log and kwok's config file."""
        for directory in (self.logs_dir, self.exec_dir):
            directory.mkdir(parents=True, exist_ok=True)
        self._serving = pki.serving(
            self.directory,
            ca=pki.CertPair(cert=self._host.ca_file, key=self._host.ca_file.with_suffix(".key")),
            stem="kubelet",
            names=("localhost",),
            ips=(KUBELET_ADDRESS,),
        )
        self.default_log.write_text(cri_line(DEFAULT_LOG_LINE))
        stages = self._binaries.path("kwok-stages.yaml").read_text().strip()
        defaults = yaml.safe_dump_all(self._defaults(), sort_keys=False)
        self.config.write_text(f"{stages}\n---\n{defaults}")

    def _defaults(self) -> list[dict[str, Any]]:
        log = str(self.default_log)

        def doc(kind: str, spec: dict[str, Any]) -> dict[str, Any]:
            return {
                "apiVersion": KWOK_API_VERSION,
                "kind": kind,
                "metadata": {"name": "vsyncer-local"},
                "spec": spec,
            }

        return [
            doc("ClusterLogs", {"logs": [{"logsFile": log, "previousLogsFile": log}]}),
            doc("ClusterAttach", {"attaches": [{"logsFile": log}]}),
            doc("ClusterExec", {"execs": [{"local": {"workDir": str(self.exec_dir)}}]}),
            doc(
                "ClusterPortForward",
                {"forwards": [{"target": {"address": "127.0.0.1", "port": self.forward_port}}]},
            ),
        ]

    def install_kinds(self, *, deadline: float) -> None:
        """Create the CRDs of :data:`PER_POD_KINDS` in the host cluster; wait until served."""
        api = Api(self._host)
        crds = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
        for kind, plural in PER_POD_KINDS:
            status, body = api.request("POST", crds, _crd(kind, plural))
            if status not in (201, 409):
                raise KubeletError(f"creating the CRD of kwok's {kind} failed: {status} {body}")
        for _kind, plural in PER_POD_KINDS:
            path = f"/apis/{KWOK_API_VERSION}/{plural}"
            while api.request("GET", path)[0] != 200:
                if time.monotonic() > deadline:
                    raise KubeletError(f"{path} is not served")
                time.sleep(0.1)

    def argv(self) -> list[str]:
        """kwok's command line."""
        if self._serving is None:
            raise KubeletError("prepare() must run before kwok starts")
        return [
            str(self._binaries.path("kwok")),
            f"--kubeconfig={self._host.kubeconfig}",
            f"--config={self.config}",
            "--manage-all-nodes=false",
            "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
            f"--cidr={POD_CIDR.replace('.0/16', '.1/16')}",
            f"--node-ip={NODE_INTERNAL_IP}",
            f"--node-port={self.port}",
            f"--server-address={self.address}:{self.port}",
            f"--tls-cert-file={self._serving.cert}",
            f"--tls-private-key-file={self._serving.key}",
            "--enable-crds=" + ",".join(kind for kind, _ in PER_POD_KINDS),
            "--node-lease-duration-seconds=40",
        ]

    def node(self, name: str) -> dict[str, Any]:
        """The body of fake host node ``name`` (kwok manages it by its annotation)."""
        return {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": name,
                "annotations": {"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
                "labels": {
                    "kubernetes.io/hostname": name,
                    "kubernetes.io/os": "linux",
                    "kubernetes.io/arch": "amd64",
                    "type": "kwok",
                },
            },
            # Room for benchmark-sized loads (tens of thousands of pods): kwok nodes
            # cost nothing, and a full node would stall scheduling, not the syncer.
            "status": {
                "allocatable": {"cpu": "4000", "memory": "16Ti", "pods": "20000"},
                "capacity": {"cpu": "4000", "memory": "16Ti", "pods": "20000"},
                "addresses": [
                    {"type": "InternalIP", "address": NODE_INTERNAL_IP},
                    {"type": "ExternalIP", "address": KUBELET_ADDRESS},
                    {"type": "Hostname", "address": name},
                ],
                "daemonEndpoints": {"kubeletEndpoint": {"Port": self.port}},
            },
        }

    # -- per pod ---------------------------------------------------------------------------

    def pod_log(
        self, *, namespace: str, pod: str, containers: tuple[str, ...], timeout: float = 30.0
    ) -> dict[str, PodLog]:
        """Give each of the host pod's ``containers`` its own (empty) log files.

        Creates kwok ``Logs`` and ``Attach`` objects named like the pod in its
        namespace (the pod itself need not exist yet) and returns once kwok
        serves the new file for every container; ``kubectl logs``/``attach`` then
        read what :func:`append_log` writes there.  Calling it again for the
        same pod is an error (409 from the host API server: :class:`KubeletError`).
        Raises :class:`KubeletError` if kwok does not serve them within ``timeout``
        seconds.
        """
        files: dict[str, PodLog] = {}
        for container in containers:
            stem = self.logs_dir / f"{namespace}_{pod}_{container}"
            files[container] = PodLog(
                current=stem.with_suffix(".log"), previous=stem.with_suffix(".previous.log")
            )
            files[container].current.touch()
            files[container].previous.touch()
        logs = [
            {"containers": [c], "logsFile": str(f.current), "previousLogsFile": str(f.previous)}
            for c, f in files.items()
        ]
        attaches = [{"containers": [c], "logsFile": str(f.current)} for c, f in files.items()]
        api = Api(self._host)
        for kind, plural, spec in (
            ("Attach", "attaches", {"attaches": attaches}),
            ("Logs", "logs", {"logs": logs}),
        ):
            body = {
                "apiVersion": KWOK_API_VERSION,
                "kind": kind,
                "metadata": {"name": pod, "namespace": namespace},
                "spec": spec,
            }
            path = f"/apis/{KWOK_API_VERSION}/namespaces/{namespace}/{plural}"
            status, answer = api.request("POST", path, body)
            if status != 201:
                raise KubeletError(f"creating kwok {kind} {namespace}/{pod}: {status} {answer}")
        deadline = time.monotonic() + timeout
        for container in containers:
            while self._serves_default(namespace=namespace, pod=pod, container=container):
                if time.monotonic() > deadline:
                    raise KubeletError(
                        f"kwok still serves the default log for {namespace}/{pod}/{container}"
                    )
                time.sleep(0.1)
        return files

    def _serves_default(self, *, namespace: str, pod: str, container: str) -> bool:
        """Whether kwok answers ``/containerLogs`` for that container with the default log."""
        parts = (urllib.parse.quote(p, safe="") for p in (namespace, pod, container))
        try:
            status, body = self.get("/containerLogs/" + "/".join(parts))
        except OSError:
            return True
        return status != 200 or body.decode().strip() == DEFAULT_LOG_LINE

    def get(self, path: str) -> tuple[int, bytes]:
        """One GET to kwok's kubelet API, verifying its certificate (10 s timeout)."""
        ctx = ssl.create_default_context(cafile=str(self._host.ca_file))
        conn = http.client.HTTPSConnection(self.address, self.port, context=ctx, timeout=10)
        try:
            conn.request("GET", path)
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            conn.close()


def nodes_ready(host: ClusterInfo, *, count: int) -> bool:
    """Whether at least ``count`` host nodes report Ready."""
    status, body = Api(host).request("GET", "/api/v1/nodes")
    if status != 200:
        return False
    ready = 0
    for node in body.get("items", []):
        for cond in node.get("status", {}).get("conditions", []) or []:
            if cond.get("type") == "Ready" and cond.get("status") == "True":
                ready += 1
    return ready >= count
