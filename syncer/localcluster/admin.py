"""What the harness needs to reach a running local cluster: its address and admin files.

:class:`ClusterInfo` names one cluster's server and admin credentials;
:class:`Api` is a tiny synchronous admin client for bootstrapping calls (one
HTTPS request per call, 10 s timeout, ``OSError`` on a connection failure);
:func:`write_kubeconfig` writes a kubeconfig with file references.
"""

from __future__ import annotations

import http.client
import json
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from syncer.localcluster import pki


@dataclass(frozen=True, slots=True)
class ClusterInfo:
    """How to reach one running cluster, and what its API server presents to kubelets.

    ``kubelet_client_ca`` is the CA that signed ``kubelet_client_cert`` /
    ``kubelet_client_key``, the pair the API server is started with
    (``--kubelet-client-certificate`` / ``--kubelet-client-key``) and presents
    when it calls a node's kubelet for ``pods/log``, ``pods/exec``,
    ``pods/attach``, ``pods/portforward`` and ``nodes/proxy``.  A kubelet that
    trusts that CA accepts exactly those calls; a test can use the same pair to
    call a kubelet port directly.  The CA is not the cluster CA (see
    :mod:`syncer.localcluster.pki`).
    """

    name: str
    server: str
    port: int
    kubeconfig: Path
    ca_file: Path
    client_cert: Path
    client_key: Path
    kubelet_client_ca: Path
    kubelet_client_cert: Path
    kubelet_client_key: Path


def write_kubeconfig(path: Path, *, name: str, server: str, ca: Path, cert: pki.CertPair) -> None:
    """Write a kubeconfig for ``server`` with client certificate ``cert``, trusting ``ca``."""
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": name, "cluster": {"server": server, "certificate-authority": str(ca)}}
        ],
        "users": [
            {
                "name": name,
                "user": {"client-certificate": str(cert.cert), "client-key": str(cert.key)},
            }
        ],
        "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
        "current-context": name,
    }
    path.write_text(yaml.safe_dump(config, sort_keys=False))


class Api:
    """A tiny synchronous admin client for the harness's own bootstrapping calls."""

    def __init__(self, info: ClusterInfo) -> None:
        self._info = info
        ctx = ssl.create_default_context(cafile=str(info.ca_file))
        ctx.load_cert_chain(str(info.client_cert), str(info.client_key))
        self._ctx = ctx

    def request(
        self, method: str, path: str, body: Mapping[str, Any] | None = None
    ) -> tuple[int, Any]:
        conn = http.client.HTTPSConnection(
            "127.0.0.1", self._info.port, context=self._ctx, timeout=10
        )
        try:
            payload = json.dumps(body).encode() if body is not None else None
            headers = {"Content-Type": "application/json", "Accept": "application/json"}
            conn.request(method, path, body=payload, headers=headers)
            resp = conn.getresponse()
            raw = resp.read()
        finally:
            conn.close()
        try:
            data = json.loads(raw) if raw else None
        except ValueError:
            data = raw.decode(errors="replace")
        return resp.status, data
