"""Tests for syncer.kubelet.tls: the generated serving certificate and the client check."""

from __future__ import annotations

import ipaddress
import ssl
from pathlib import Path

from cryptography import x509

from syncer.kubelet.tls import self_signed, server_context, verified_client


def test_self_signed_names_the_hosts_and_localhost() -> None:
    """IPs become IP SANs, names DNS SANs; localhost is always there."""
    cert_pem, key_pem = self_signed(hosts=("10.1.2.3", "vsyncer.example"))
    cert = x509.load_pem_x509_certificate(cert_pem)
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("10.1.2.3")]
    assert sans.get_values_for_type(x509.DNSName) == ["vsyncer.example", "localhost"]
    assert b"PRIVATE KEY" in key_pem


def test_server_context_asks_for_client_certificates(tmp_path: Path) -> None:
    """CERT_OPTIONAL against the given CA: no certificate is a 401 later, not a TLS abort."""
    cert_pem, _ = self_signed(hosts=("127.0.0.1",))
    ca = tmp_path / "ca.crt"
    ca.write_bytes(cert_pem)
    ctx = server_context(client_ca=ca, cert=None, key=None, hosts=("127.0.0.1",))
    assert ctx.verify_mode is ssl.CERT_OPTIONAL
    assert ctx.cert_store_stats()["x509_ca"] == 0  # a self-signed leaf, not a CA
    assert ctx.cert_store_stats()["x509"] == 1


def test_the_clients_cipher_order_is_followed(tmp_path: Path) -> None:
    """No server preference: a Go client's AES-128-GCM-first order is what is used."""
    cert_pem, _ = self_signed(hosts=("127.0.0.1",))
    ca = tmp_path / "ca.crt"
    ca.write_bytes(cert_pem)
    ctx = server_context(client_ca=ca, cert=None, key=None, hosts=("127.0.0.1",))
    assert not ctx.options & ssl.OP_CIPHER_SERVER_PREFERENCE


def test_verified_client() -> None:
    """Only a non-empty peer certificate dict counts."""
    assert verified_client({"subject": ((("commonName", "x"),),)})
    assert not verified_client({})
    assert not verified_client(None)


def test_only_the_configured_client_names_are_verified_clients() -> None:
    """Where the kubelet-client CA also signs users' certificates, only the API server's
    kubelet-client identity gets through."""
    names = ("kube-apiserver-kubelet-client",)
    apiserver = {"subject": ((("organizationName", "x"),), (("commonName", names[0]),))}
    user = {"subject": ((("organizationName", "readonly"),), (("commonName", "jane"),))}
    twice = {"subject": ((("commonName", names[0]),), (("commonName", "jane"),))}
    assert verified_client(apiserver, names=names)
    assert not verified_client(user, names=names)
    assert not verified_client(twice, names=names)
    assert not verified_client({}, names=names)
    assert verified_client(user, names=())
