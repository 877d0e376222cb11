"""The chart's k3s mode: the virtual API server's kubelet client certificate comes from a CA
of its own, the only CA vsyncer's kubelet API trusts.

k3s's client CA also signs the certificates of CSRs a tenant's admin can create and
approve (signer ``kubernetes.io/kube-apiserver-client``), so trusting it would let a
tenant mint a certificate named ``kube-apiserver-kubelet-client``.  k3s itself needs a
container engine, which the tests do not have: these tests check the rendered manifest
(``helm template``), and the TLS handshake of vsyncer's own kubelet server context with
the rendered certificates.
"""

from __future__ import annotations

import base64
import ssl
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from syncer.kubelet.settings import KubeletFields
from syncer.kubelet.tls import server_context, verified_client
from syncer.localcluster import pki
from tests.deploy.chart_support import container, env_of, one, render

K3S: dict[str, Any] = {"controlPlane": {"distro": "k3s"}}
CERTIFICATE = "--kube-apiserver-arg=kubelet-client-certificate="
KEY = "--kube-apiserver-arg=kubelet-client-key="
Json = dict[str, Any]


def _pod(objects: list[Json]) -> Json:
    spec: Json = one(objects, "StatefulSet")["spec"]["template"]["spec"]
    return spec


def _mounted(objects: list[Json], container_name: str, path: str) -> tuple[str, str]:
    """(Secret name, key) of the file at ``path`` in the container, from its secret volume."""
    volumes = {v["name"]: v for v in _pod(objects)["volumes"]}
    for mount in container(objects, container_name)["volumeMounts"]:
        prefix = mount["mountPath"].rstrip("/") + "/"
        if path.startswith(prefix):
            secret = volumes[mount["name"]]["secret"]
            (key,) = [i["key"] for i in secret["items"] if i["path"] == path[len(prefix) :]]
            return secret["secretName"], key
    raise AssertionError(f"{path} is not mounted in {container_name}")


def _flag(command: list[str], prefix: str) -> str:
    (value,) = [a.removeprefix(prefix) for a in command if a.startswith(prefix)]
    return value


def _secret_files(tmp_path: Path) -> dict[str, Path]:
    """The generated Secret's entries written to files: ``ca.crt``, ``tls.crt``, ``tls.key``."""
    data = one(render(K3S), "Secret", "vc-kubelet-client")["data"]
    files = {}
    for key, value in data.items():
        files[key] = tmp_path / key
        files[key].write_bytes(base64.b64decode(value))
    return files


def test_k3s_presents_a_kubelet_client_certificate_vsyncer_trusts_and_nothing_else() -> None:
    """k3s's API server gets the generated certificate and key; vsyncer's
    VSYNCER_KUBELET_CLIENT_CA is the same Secret's CA, and vsyncer no longer mounts
    k3s's data directory (its CAs and keys)."""
    objects = render(K3S)
    secret = one(objects, "Secret", "vc-kubelet-client")
    assert secret["type"] == "kubernetes.io/tls"
    assert sorted(secret["data"]) == ["ca.crt", "tls.crt", "tls.key"]  # no CA key: signs no more
    command = container(objects, "k3s")["command"]
    assert _mounted(objects, "k3s", _flag(command, CERTIFICATE)) == ("vc-kubelet-client", "tls.crt")
    assert _mounted(objects, "k3s", _flag(command, KEY)) == ("vc-kubelet-client", "tls.key")
    ca = env_of(container(objects, "vsyncer"))["VSYNCER_KUBELET_CLIENT_CA"]
    assert _mounted(objects, "vsyncer", ca) == ("vc-kubelet-client", "ca.crt")
    mounts = {m["mountPath"] for m in container(objects, "vsyncer")["volumeMounts"]}
    assert "/data" not in mounts
    assert not [a for a in command if "client-ca" in a]


def test_the_generated_certificate_is_the_api_servers_kubelet_client(tmp_path: Path) -> None:
    """Signed by the Secret's CA, for client authentication, under the name vsyncer accepts
    by default; the CA is a CA and signed nothing else in the Secret."""
    files = _secret_files(tmp_path)
    ca = x509.load_pem_x509_certificate(files["ca.crt"].read_bytes())
    client = x509.load_pem_x509_certificate(files["tls.crt"].read_bytes())
    client.verify_directly_issued_by(ca)  # raises unless the CA signed it
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    usage = client.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.CLIENT_AUTH in usage
    (cn,) = client.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    assert cn.value in KubeletFields.model_fields["kubelet_client_names"].default


def _handshake(server: ssl.SSLContext, client: ssl.SSLContext) -> Any:
    """A TLS handshake in memory; the server side's ``getpeercert()``."""
    s_in, s_out, c_in, c_out = ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO()
    s = server.wrap_bio(s_in, s_out, server_side=True)
    c = client.wrap_bio(c_in, c_out, server_side=False, server_hostname="127.0.0.1")
    done = {"server": False, "client": False}
    for _ in range(10):  # TLS 1.3 completes in two round trips
        for name, side in (("client", c), ("server", s)):
            if not done[name]:
                try:
                    side.do_handshake()
                    done[name] = True
                except ssl.SSLWantReadError:
                    pass
        s_in.write(c_out.read())
        c_in.write(s_out.read())
        if all(done.values()):
            s.write(b"x")  # TLS 1.3: the server judges the client's certificate by now
            return s.getpeercert()
    raise AssertionError("the handshake did not finish")


def _client(cert: Path, key: Path) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # the server's certificate is not what is tested
    ctx.load_cert_chain(cert, keyfile=key)
    return ctx


def test_vsyncer_accepts_the_rendered_certificate_and_refuses_another_cas(
    tmp_path: Path,
) -> None:
    """vsyncer's kubelet server context, trusting the rendered CA: the rendered client
    certificate is a verified client; one named the same but signed by another CA (as
    k3s's client CA signs an approved CSR) fails the handshake."""
    files = _secret_files(tmp_path)
    names = KubeletFields.model_fields["kubelet_client_names"].default
    server = server_context(client_ca=files["ca.crt"], cert=None, key=None, hosts=("127.0.0.1",))
    peer = _handshake(server, _client(files["tls.crt"], files["tls.key"]))
    assert verified_client(peer, names=names)
    minted = pki.kubelet_client(tmp_path / "other", cluster="k3s").client
    with pytest.raises(ssl.SSLError):
        _handshake(server, _client(minted.cert, minted.key))


def test_a_given_secret_is_used_and_none_generated() -> None:
    """``controlPlane.k3s.kubeletClient.secretName``: that Secret, and no Secret rendered."""
    k3s = {"kubeletClient": {"secretName": "my-kubelet-client"}}
    values = {"controlPlane": {"distro": "k3s", "k3s": k3s}}
    objects = render(values)
    assert not [o for o in objects if o["kind"] == "Secret"]
    command = container(objects, "k3s")["command"]
    assert _mounted(objects, "k3s", _flag(command, KEY)) == ("my-kubelet-client", "tls.key")
    ca = env_of(container(objects, "vsyncer"))["VSYNCER_KUBELET_CLIENT_CA"]
    assert _mounted(objects, "vsyncer", ca) == ("my-kubelet-client", "ca.crt")
