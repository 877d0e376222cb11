"""The kubernetes control plane's credentials in the chart: each container mounts only the
items of the ``-certs`` Secret its flags name, and etcd's peers trust a CA of their own.

The cluster CA also signs the certificates of CSRs the tenant (admin in the virtual cluster)
approves itself (the controller manager's ``--cluster-signing-*``), so etcd peers trusting
it would accept such a certificate from anyone who reaches the peer port.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature

from tests.deploy.chart_support import container, one, render

Json = dict[str, Any]
CONTAINERS = ("etcd", "kube-apiserver", "kube-controller-manager")
HA: Json = {"replicas": 3}


def _mounted_items(objects: list[Json], name: str) -> set[str]:
    """Every ``path`` under a secret volume the container mounts, as ``mountPath/path``."""
    pod = one(objects, "StatefulSet")["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    files = set()
    for mount in container(objects, name)["volumeMounts"]:
        secret = volumes.get(mount["name"], {}).get("secret")
        if secret is None:
            continue
        assert secret["secretName"] == "vc-certs"
        assert "items" in secret, f"{name} mounts the whole Secret"
        files |= {f"{mount['mountPath']}/{item['path']}" for item in secret["items"]}
    return files


def _flag_paths(objects: list[Json], name: str) -> set[str]:
    """The /pki files a container's flags name."""
    args = container(objects, name)["command"][1:]
    return {a.split("=", 1)[1] for a in args if "=/pki/" in a}


@pytest.mark.parametrize("values", [None, HA], ids=["one replica", "three replicas"])
def test_each_container_mounts_exactly_the_files_its_flags_name(values: Json | None) -> None:
    """No CA key but the controller manager's (it signs), the admin token file only in the API
    server, nothing in etcd without peers; every named file is there."""
    objects = render(values)
    for name in CONTAINERS:
        assert _mounted_items(objects, name) == _flag_paths(objects, name), name
    assert "/pki/ca.key" in _flag_paths(objects, "kube-controller-manager")
    assert (_flag_paths(objects, "etcd") == set()) == (values is None)


def _certificates(values: Json | None) -> dict[str, x509.Certificate]:
    data = one(render(values), "Secret", "vc-certs")["data"]
    return {
        key: x509.load_pem_x509_certificate(base64.b64decode(data[key]))
        for key in ("ca.crt", "etcd-ca.crt", "etcd-peer.crt", "apiserver.crt")
    }


def test_etcd_peers_trust_their_own_ca_and_nothing_the_cluster_ca_signs() -> None:
    """etcd-peer.crt is signed by etcd-ca.crt, a CA apart from ca.crt whose key the Secret
    does not hold; ca.crt's certificates (the serving one, any approved CSR's) do not verify
    against it; etcd's trust flag names it."""
    certs = _certificates(HA)
    certs["etcd-peer.crt"].verify_directly_issued_by(certs["etcd-ca.crt"])
    assert certs["etcd-ca.crt"].extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert certs["etcd-ca.crt"] != certs["ca.crt"]
    with pytest.raises((InvalidSignature, ValueError)):
        certs["apiserver.crt"].verify_directly_issued_by(certs["etcd-ca.crt"])
    with pytest.raises((InvalidSignature, ValueError)):
        certs["etcd-peer.crt"].verify_directly_issued_by(certs["ca.crt"])
    data = one(render(HA), "Secret", "vc-certs")["data"]
    assert "etcd-ca.key" not in data
    command = container(render(HA), "etcd")["command"]
    assert "--peer-trusted-ca-file=/pki/etcd-ca.crt" in command
    assert "--peer-client-cert-auth=true" in command
