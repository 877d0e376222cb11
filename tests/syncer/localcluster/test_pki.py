"""Kubelet certificates: a separate kubelet-client CA, and serving certificates from a CA."""

from __future__ import annotations

import ipaddress
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from syncer.localcluster import pki


def _load(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def _signed_by(cert: x509.Certificate, ca: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, InvalidSignature):
        return False
    return True


def test_kubelet_client_ca_is_not_the_cluster_ca(tmp_path: Path) -> None:
    """The kubelet client is signed by its own CA, which did not sign the cluster's clients."""
    cluster = pki.generate(tmp_path, cluster="virtual", service_ip="10.96.0.1")
    kubelet = pki.kubelet_client(tmp_path, cluster="virtual")
    client, ca = _load(kubelet.client.cert), _load(kubelet.ca.cert)
    cluster_ca = _load(cluster.ca.cert)
    assert _signed_by(client, ca)
    assert not _signed_by(client, cluster_ca)
    assert not _signed_by(_load(cluster.clients["admin"].cert), ca)
    assert kubelet.ca.cert != cluster.ca.cert
    usage = client.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usage) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    cn = client.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    assert cn == "kube-apiserver-kubelet-client"


def test_serving_certificate_names_its_addresses(tmp_path: Path) -> None:
    """A serving certificate from a CA on disk: signed by it, for exactly those names and IPs."""
    cluster = pki.generate(tmp_path, cluster="host", service_ip="10.96.0.1")
    pair = pki.serving(
        tmp_path / "kwok", ca=cluster.ca, stem="kubelet", names=("localhost",), ips=("127.0.0.1",)
    )
    cert = _load(pair.cert)
    assert _signed_by(cert, _load(cluster.ca.cert))
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == ["localhost"]
    assert sans.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1")]
    usage = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usage) == [ExtendedKeyUsageOID.SERVER_AUTH]
