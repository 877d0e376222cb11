"""TLS of the kubelet server: its serving certificate and who may call it.

Guarantees:

* The server presents the certificate and key it is given, or else a fresh
  self-signed EC P-256 certificate (one day short of a year, generated at
  start-up with the ``cryptography`` library) for the advertised address and
  ``localhost``.  The virtual kube-apiserver checks a kubelet's serving
  certificate only when started with ``--kubelet-certificate-authority``; with
  a self-signed one it must not be.
* Client certificates are requested (``CERT_OPTIONAL``) and verified against
  the kubelet-client CA only (the CA behind the virtual API server's
  ``--kubelet-client-certificate``), never the system's trust store.  A client
  without a certificate completes the handshake and is answered 401 by the
  server (:func:`verified_client`); a certificate from another CA fails the
  handshake itself (OpenSSL aborts on a failed chain; Python offers no
  verification callback to turn that into a 401).
* A verified certificate is accepted only for the API server's kubelet-client
  identity: its subject common name must be one of the configured names
  (``VSYNCER_KUBELET_CLIENT_NAMES``, default kubeadm's
  ``kube-apiserver-kubelet-client``), so where the kubelet-client CA also signs
  other clients (users, approved CSRs) they are answered 401 too; an empty list
  accepts any certificate that CA signed.
* The client's cipher order is followed (OpenSSL's server preference is off,
  among the same strong suites): the API server, a Go client, puts
  AES-128-GCM first on CPUs with AES instructions, as Go's own kubelet server
  would choose, instead of the AES-256-GCM OpenSSL's order imposes; on a
  relay that encrypts every byte twice that is CPU the streams keep.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
import tempfile
from pathlib import Path
from typing import Any

_VALIDITY = dt.timedelta(days=364)


def server_context(
    *, client_ca: Path, cert: Path | None, key: Path | None, hosts: tuple[str, ...]
) -> ssl.SSLContext:
    """The server-side TLS context; raises :class:`OSError`/:class:`ssl.SSLError` for bad files.

    ``cert`` and ``key`` are both given or both ``None`` (then a self-signed
    certificate for ``hosts`` is made).
    """
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.options &= ~ssl.OP_CIPHER_SERVER_PREFERENCE
    if cert is not None and key is not None:
        ctx.load_cert_chain(cert, keyfile=key)
    else:
        cert_pem, key_pem = self_signed(hosts=hosts)
        with tempfile.TemporaryDirectory(prefix="vsyncer-kubelet-") as tmp:
            cert_file, key_file = Path(tmp) / "tls.crt", Path(tmp) / "tls.key"
            cert_file.write_bytes(cert_pem)
            key_file.touch(mode=0o600)
            key_file.write_bytes(key_pem)
            ctx.load_cert_chain(cert_file, keyfile=key_file)
    ctx.load_verify_locations(cafile=client_ca)
    ctx.verify_mode = ssl.CERT_OPTIONAL
    return ctx


def self_signed(*, hosts: tuple[str, ...]) -> tuple[bytes, bytes]:
    """A PEM certificate and PKCS#8 key, self-signed, valid for ``hosts`` (names or IPs)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "vsyncer-kubelet")])
    alt: list[x509.GeneralName] = []
    for host in dict.fromkeys((*hosts, "localhost")):
        try:
            alt.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            alt.append(x509.DNSName(host))
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + _VALIDITY)
        .add_extension(x509.SubjectAlternativeName(alt), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def verified_client(peercert: Any, *, names: tuple[str, ...] = ()) -> bool:
    """Whether the TLS peer presented a certificate the kubelet-client CA verified, for
    one of ``names`` (its subject common name; ``()``: any name).

    ``peercert`` is the transport's ``peercert`` extra info: with
    ``CERT_OPTIONAL`` it is a non-empty dict only for a verified certificate,
    whose ``subject`` is a tuple of relative distinguished names, each a tuple of
    ``(attribute, value)`` pairs.
    """
    if not (isinstance(peercert, dict) and peercert):
        return False
    if not names:
        return True
    common = [
        value
        for rdn in peercert.get("subject") or ()
        for attribute, value in rdn
        if attribute == "commonName"
    ]
    return len(common) == 1 and common[0] in names
