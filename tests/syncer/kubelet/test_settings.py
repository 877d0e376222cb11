"""Tests for syncer.kubelet.settings: the VSYNCER_KUBELET_* fields of Settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from syncer.errors import ConfigError
from syncer.settings import load_settings

BASE = {"VSYNCER_VCLUSTER_NAME": "dev", "VSYNCER_HOST_NAMESPACE": "vcluster-dev"}


def test_defaults_leave_the_server_off_on_the_kubelet_port() -> None:
    """No CA: no server; the bind is the kubelet's :10250; no fixed address."""
    s = load_settings(env=BASE)
    assert (s.kubelet_bind, s.kubelet_address, s.kubelet_client_ca) == (":10250", None, None)
    assert (s.kubelet_tls_cert, s.kubelet_tls_key) == (None, None)
    assert (s.kubelet_max_streams, s.kubelet_stream_idle_timeout) == (200, 14400.0)


def test_all_fields_from_the_environment(tmp_path: Path) -> None:
    """Every field has its VSYNCER_KUBELET_* variable."""
    ca, cert, key = (tmp_path / name for name in ("ca.crt", "tls.crt", "tls.key"))
    for path in (ca, cert, key):
        path.write_text("x")
    s = load_settings(
        env={
            **BASE,
            "VSYNCER_KUBELET_BIND": "127.0.0.1:11250",
            "VSYNCER_KUBELET_ADDRESS": "10.0.0.7",
            "VSYNCER_KUBELET_CLIENT_CA": str(ca),
            "VSYNCER_KUBELET_TLS_CERT": str(cert),
            "VSYNCER_KUBELET_TLS_KEY": str(key),
            "VSYNCER_KUBELET_MAX_STREAMS": "50",
            "VSYNCER_KUBELET_STREAM_IDLE_TIMEOUT": "300",
        }
    )
    assert (s.kubelet_max_streams, s.kubelet_stream_idle_timeout) == (50, 300.0)
    assert (s.kubelet_bind, s.kubelet_address) == ("127.0.0.1:11250", "10.0.0.7")
    assert (s.kubelet_client_ca, s.kubelet_tls_cert, s.kubelet_tls_key) == (ca, cert, key)


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("VSYNCER_KUBELET_BIND", ":0", "fixed port"),
        ("VSYNCER_KUBELET_BIND", "10250", "host:port"),
        ("VSYNCER_KUBELET_ADDRESS", "not an address", "host name or IP"),
        ("VSYNCER_KUBELET_CLIENT_CA", "/no/such/ca.crt", "existing file"),
        ("VSYNCER_KUBELET_TLS_CERT", "/no/such/tls.crt", "existing file"),
        ("VSYNCER_KUBELET_TLS_KEY", "/no/such/tls.key", "existing file"),
        ("VSYNCER_KUBELET_MAX_STREAMS", "0", "must be >= 1"),
        ("VSYNCER_KUBELET_STREAM_IDLE_TIMEOUT", "0", "must be > 0"),
    ],
)
def test_bad_values_name_their_variable(variable: str, value: str, message: str) -> None:
    """One line naming the variable, as for every setting."""
    with pytest.raises(ConfigError) as caught:
        load_settings(env={**BASE, variable: value})
    assert caught.value.setting == variable
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)
