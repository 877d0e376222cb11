"""Certificates for a local control plane.

Generates, once per run directory, everything a kube-apiserver and its clients
need to talk TLS on loopback: a CA, a serving certificate valid for
``127.0.0.1``/``localhost`` and the in-cluster service names, client
certificates for the admin and each controller (the user is the certificate's
CN, the groups its O), and the service-account signing key pair.  For kubelet
traffic it also makes a serving certificate signed by a cluster's CA (what kwok
serves on the host) and a *separate* kubelet-client CA with the client
certificate the API server presents to kubelets: separate because the cluster
CA also signs what the CSR API approves, which a cluster-admin tenant can
drive, so a kubelet that trusted the cluster CA would trust the tenant.  Keys
are EC P-256: fast to generate and small.  Nothing here talks to a network.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_VALIDITY = dt.timedelta(days=365)


@dataclass(frozen=True, slots=True)
class CertPair:
    """A PEM certificate and its PEM private key on disk."""

    cert: Path
    key: Path


@dataclass(frozen=True, slots=True)
class ClusterPKI:
    """All the files one cluster's components and clients need."""

    ca: CertPair
    serving: CertPair
    clients: dict[str, CertPair]
    sa_key: Path
    sa_pub: Path


def _new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path.chmod(0o600)


def _name(common_name: str, organizations: tuple[str, ...] = ()) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, org) for org in organizations]
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(attrs)


def _builder(
    subject: x509.Name, issuer: x509.Name, public: ec.EllipticCurvePublicKey
) -> x509.CertificateBuilder:
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + _VALIDITY)
    )


def _make_ca(
    directory: Path, *, common_name: str, stem: str = "ca"
) -> tuple[CertPair, x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = _new_key()
    subject = _name(common_name)
    cert = (
        _builder(subject, subject, key.public_key())
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    pair = CertPair(cert=directory / f"{stem}.crt", key=directory / f"{stem}.key")
    pair.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    _write_key(pair.key, key)
    return pair, cert, key


def _issue(
    directory: Path,
    stem: str,
    *,
    ca_cert: x509.Certificate,
    ca_key: ec.EllipticCurvePrivateKey,
    common_name: str,
    organizations: tuple[str, ...] = (),
    server_names: tuple[str, ...] = (),
    server_ips: tuple[str, ...] = (),
) -> CertPair:
    key = _new_key()
    usage = (
        ExtendedKeyUsageOID.SERVER_AUTH
        if server_names or server_ips
        else ExtendedKeyUsageOID.CLIENT_AUTH
    )
    builder = (
        _builder(_name(common_name, organizations), ca_cert.subject, key.public_key())
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
    )
    if server_names or server_ips:
        sans: list[x509.GeneralName] = [x509.DNSName(n) for n in server_names]
        sans += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in server_ips]
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    cert = builder.sign(ca_key, hashes.SHA256())
    pair = CertPair(cert=directory / f"{stem}.crt", key=directory / f"{stem}.key")
    pair.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    _write_key(pair.key, key)
    return pair


#: client certificate stem → (user, groups)
CLIENTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "admin": ("kubernetes-admin", ("system:masters",)),
    "controller-manager": ("system:kube-controller-manager", ()),
    "scheduler": ("system:kube-scheduler", ()),
}


@dataclass(frozen=True, slots=True)
class KubeletClientPKI:
    """The kubelet-client CA and the client certificate an API server presents to kubelets."""

    ca: CertPair
    client: CertPair


def kubelet_client(directory: Path, *, cluster: str) -> KubeletClientPKI:
    """Write a fresh kubelet-client CA and one client certificate signed by it.

    The client's user is ``kube-apiserver-kubelet-client`` (kubeadm's name for
    the same certificate); a kubelet only checks that the CA signed it.
    """
    directory.mkdir(parents=True, exist_ok=True)
    name = f"vsyncer-local-{cluster}-kubelet-client-ca"
    ca, ca_cert, ca_key = _make_ca(directory, common_name=name, stem="kubelet-client-ca")
    client = _issue(
        directory,
        "kubelet-client",
        ca_cert=ca_cert,
        ca_key=ca_key,
        common_name="kube-apiserver-kubelet-client",
    )
    return KubeletClientPKI(ca=ca, client=client)


def serving(
    directory: Path, *, ca: CertPair, stem: str, names: tuple[str, ...], ips: tuple[str, ...]
) -> CertPair:
    """A serving certificate for ``names``/``ips`` signed by the CA in ``ca`` (read from disk)."""
    directory.mkdir(parents=True, exist_ok=True)
    ca_cert = x509.load_pem_x509_certificate(ca.cert.read_bytes())
    ca_key = serialization.load_pem_private_key(ca.key.read_bytes(), password=None)
    if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
        raise TypeError(f"{ca.key} is not an EC private key")
    return _issue(
        directory,
        stem,
        ca_cert=ca_cert,
        ca_key=ca_key,
        common_name=stem,
        server_names=names,
        server_ips=ips,
    )


def generate(directory: Path, *, cluster: str, service_ip: str) -> ClusterPKI:
    """Write a fresh PKI for one cluster into ``directory`` and return its paths."""
    directory.mkdir(parents=True, exist_ok=True)
    ca, ca_cert, ca_key = _make_ca(directory, common_name=f"vsyncer-local-{cluster}-ca")
    serving = _issue(
        directory,
        "apiserver",
        ca_cert=ca_cert,
        ca_key=ca_key,
        common_name="kube-apiserver",
        server_names=(
            "localhost",
            "kubernetes",
            "kubernetes.default",
            "kubernetes.default.svc",
            "kubernetes.default.svc.cluster.local",
        ),
        server_ips=("127.0.0.1", service_ip),
    )
    clients = {
        stem: _issue(
            directory, stem, ca_cert=ca_cert, ca_key=ca_key, common_name=user, organizations=groups
        )
        for stem, (user, groups) in CLIENTS.items()
    }
    sa = _new_key()
    sa_key = directory / "sa.key"
    sa_pub = directory / "sa.pub"
    _write_key(sa_key, sa)
    sa_pub.write_bytes(
        sa.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return ClusterPKI(ca=ca, serving=serving, clients=clients, sa_key=sa_key, sa_pub=sa_pub)
