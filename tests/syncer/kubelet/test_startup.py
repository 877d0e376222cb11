"""Tests for syncer.kubelet.startup: settings → a running kubelet server, or a one-line error."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from syncer.errors import ConfigError
from syncer.kube import Dial
from syncer.kubelet.startup import start_kubelet
from syncer.kubelet.tls import self_signed
from syncer.localcluster.pki import kubelet_client
from syncer.settings import Settings


class NoHost:
    async def dial(self) -> Dial:
        raise AssertionError("start-up never dials the host")


def _settings(**kubelet: Any) -> Settings:
    return Settings(vcluster_name="dev", host_namespace="vcluster-dev", **kubelet)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _start(settings: Settings) -> Any:
    return await start_kubelet(
        settings=settings,
        host=NoHost(),
        host_pods=None,
        virtual_pods=None,
        registry=CollectorRegistry(),
    )


async def test_no_client_ca_no_server() -> None:
    """Without VSYNCER_KUBELET_CLIENT_CA there is no kubelet server."""
    assert await _start(_settings()) is None


async def test_starts_on_the_bound_port_with_a_generated_certificate(tmp_path: Path) -> None:
    """With the CA, the server listens on the bind's port."""
    pki = kubelet_client(tmp_path, cluster="t")
    port = _free_port()
    server = await _start(
        _settings(kubelet_client_ca=pki.ca.cert, kubelet_bind=f"127.0.0.1:{port}")
    )
    try:
        assert server.port == port
    finally:
        await server.stop()


async def test_certificate_without_key_names_the_key(tmp_path: Path) -> None:
    """The serving certificate and key go together."""
    pki = kubelet_client(tmp_path, cluster="t")
    with pytest.raises(ConfigError) as caught:
        await _start(_settings(kubelet_client_ca=pki.ca.cert, kubelet_tls_cert=pki.client.cert))
    assert caught.value.setting == "VSYNCER_KUBELET_TLS_KEY"


async def test_a_ca_file_that_is_no_certificate_names_the_ca(tmp_path: Path) -> None:
    """A CA file that does not load is one line naming VSYNCER_KUBELET_CLIENT_CA."""
    ca = tmp_path / "ca.crt"
    ca.write_text("not a certificate\n")
    with pytest.raises(ConfigError) as caught:
        await _start(_settings(kubelet_client_ca=ca))
    assert caught.value.setting == "VSYNCER_KUBELET_CLIENT_CA"
    assert "\n" not in str(caught.value)


async def test_a_mismatched_serving_pair_names_the_certificate(tmp_path: Path) -> None:
    """A serving certificate whose key is another's is refused, naming the certificate."""
    pki = kubelet_client(tmp_path, cluster="t")
    cert_pem, _ = self_signed(hosts=("127.0.0.1",))
    _, other_key = self_signed(hosts=("127.0.0.1",))
    cert, key = tmp_path / "tls.crt", tmp_path / "tls.key"
    cert.write_bytes(cert_pem)
    key.write_bytes(other_key)
    with pytest.raises(ConfigError) as caught:
        await _start(
            _settings(kubelet_client_ca=pki.ca.cert, kubelet_tls_cert=cert, kubelet_tls_key=key)
        )
    assert caught.value.setting == "VSYNCER_KUBELET_TLS_CERT"


async def test_a_port_in_use_names_the_bind(tmp_path: Path) -> None:
    """A bind address that cannot be listened on is one line naming VSYNCER_KUBELET_BIND."""
    pki = kubelet_client(tmp_path, cluster="t")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ConfigError) as caught:
            await _start(_settings(kubelet_client_ca=pki.ca.cert, kubelet_bind=f"127.0.0.1:{port}"))
    assert caught.value.setting == "VSYNCER_KUBELET_BIND"
