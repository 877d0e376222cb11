"""Tests for syncer.kubelet.address: which address the fake nodes advertise."""

from __future__ import annotations

import socket

from syncer.kubelet.address import advertised_address


def test_the_setting_wins() -> None:
    """VSYNCER_KUBELET_ADDRESS is used as it is."""
    assert advertised_address("10.1.1.1", environ={"POD_IP": "10.2.2.2"}) == "10.1.1.1"


def test_pod_ip_next() -> None:
    """Without the setting, the downward API's POD_IP."""
    assert advertised_address(None, environ={"POD_IP": " 10.2.2.2 "}) == "10.2.2.2"


def test_then_this_hosts_address() -> None:
    """Without either, what this host's name resolves to."""
    expected = socket.gethostbyname(socket.gethostname())
    assert advertised_address(None, environ={}) == expected
    assert advertised_address("", environ={"POD_IP": ""}) == expected
