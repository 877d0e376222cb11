"""Tests for syncer.podsecurity's allow-list: each entry kind, and entry validation."""

from __future__ import annotations

import re

import pytest

from syncer.podsecurity import ALLOW_ENTRIES, CONTROLS, LEVELS, check_pod, validate_allow_entry
from tests.syncer.podsecurity_pods import (
    C0,
    SC,
    found,
    kubectl_run_pod,
    patched,
    restricted_pod,
)


def test_allowing_a_control_lifts_only_that_control() -> None:
    """A control name lifts that control and nothing else."""
    pod = patched(kubectl_run_pod(), (f"{SC}.privileged", True), ("spec.hostNetwork", True))
    assert found(pod, level="baseline", allow=("privileged",)) == [
        ("hostNamespaces", "spec.hostNetwork")
    ]


@pytest.mark.parametrize("name", ["hostNetwork", "hostPID", "hostIPC"])
def test_allowing_one_host_namespace(name: str) -> None:
    """hostNetwork, hostPID and hostIPC each lift their own namespace only."""
    pod = patched(
        kubectl_run_pod(),
        ("spec.hostNetwork", True),
        ("spec.hostPID", True),
        ("spec.hostIPC", True),
    )
    assert found(pod, level="baseline", allow=(name,)) == [
        ("hostNamespaces", f"spec.{other}")
        for other in ("hostIPC", "hostNetwork", "hostPID")
        if other != name
    ]


@pytest.mark.parametrize("entry", ["capability:SYS_ADMIN", "capability:cap_sys_admin"])
def test_allowing_one_capability(entry: str) -> None:
    """capability:<NAME> lifts adding that capability only; case and CAP_ are ignored."""
    pod = patched(
        kubectl_run_pod(),
        (f"{SC}.capabilities", {"add": ["SYS_ADMIN", "NET_ADMIN", "CAP_SYS_ADMIN"]}),
    )
    assert found(pod, level="baseline", allow=(entry,)) == [
        ("capabilities", f"{C0}.securityContext.capabilities.add[1]")
    ]


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ("/data", True),
        ("/data/", True),
        ("/data/x/y", True),
        ("//data//x", True),
        ("/database", False),
        ("/", False),
        ("/dat", False),
        ("/data/../etc", False),
        ("/data/./x", False),
        ("data/x", False),
    ],
)
def test_allowing_host_paths_under_a_prefix(path: str, allowed: bool) -> None:
    """hostPath:/data allows /data and below, by path components, never through `..`."""
    pod = patched(kubectl_run_pod(), ("spec.volumes.0", {"name": "h", "hostPath": {"path": path}}))
    expected = [] if allowed else [("hostPathVolumes", "spec.volumes[0].hostPath")]
    assert found(pod, level="baseline", allow=("hostPath:/data",)) == expected
    assert found(pod, level="baseline", allow=("hostPath:/srv", "hostPath:/data/")) == expected


def test_allowing_a_host_path_at_restricted() -> None:
    """At restricted a hostPath volume is only a hostPathVolumes violation, lifted by its entry."""
    pod = patched(
        restricted_pod(), ("spec.volumes.0", {"name": "h", "hostPath": {"path": "/data/x"}})
    )
    assert found(pod, level="restricted") == [("hostPathVolumes", "spec.volumes[0].hostPath")]
    assert found(pod, level="restricted", allow=("hostPath:/data",)) == []


def test_allowing_one_host_port() -> None:
    """hostPort:<n> lifts that host port only."""
    ports = [{"containerPort": 80, "hostPort": 8080}, {"containerPort": 81, "hostPort": 8081}]
    pod = patched(kubectl_run_pod(), ("spec.containers.0.ports", ports))
    assert found(pod, level="baseline", allow=("hostPort:8080",)) == [
        ("hostPorts", f"{C0}.ports[1].hostPort")
    ]


def test_allowing_one_sysctl() -> None:
    """sysctl:<name> lifts that sysctl only."""
    sysctls = [
        {"name": "net.core.somaxconn", "value": "1024"},
        {"name": "kernel.msgmax", "value": "1"},
    ]
    pod = patched(kubectl_run_pod(), ("spec.securityContext.sysctls", sysctls))
    assert found(pod, level="baseline", allow=("sysctl:net.core.somaxconn",)) == [
        ("sysctls", "spec.securityContext.sysctls[1].name")
    ]


@pytest.mark.parametrize(
    "entry",
    [
        *CONTROLS,
        "hostNetwork",
        "hostPID",
        "hostIPC",
        "capability:NET_ADMIN",
        "hostPath:/",
        "hostPath:/var/log",
        "hostPort:1",
        "hostPort:65535",
        "sysctl:net.core.somaxconn",
    ],
)
def test_valid_allow_entries(entry: str) -> None:
    """Every documented entry form is accepted, and allowing never adds a violation."""
    validate_allow_entry(entry)
    pod = kubectl_run_pod()
    allowed = found(pod, level="restricted", allow=(entry,))
    assert set(allowed) <= set(found(pod, level="restricted"))


@pytest.mark.parametrize(
    ("entry", "reason"),
    [
        ("", "unknown allow entry"),
        ("hostNet", "did you mean 'hostNetwork'?"),
        ("Privileged", "did you mean 'privileged'?"),
        ("volume:nfs", "unknown allow entry"),
        ("capability:", "capability:<NAME>"),
        ("capability:SYS ADMIN", "capability:<NAME>"),
        ("hostPath:data", "absolute path"),
        ("hostPath:/a/../b", "absolute path"),
        ("hostPort:0", "from 1 to 65535"),
        ("hostPort:65536", "from 1 to 65535"),
        ("hostPort:http", "from 1 to 65535"),
        ("sysctl:", "sysctl:<name>"),
    ],
)
def test_invalid_allow_entries(entry: str, reason: str) -> None:
    """An unknown entry is a ValueError with a one-line reason naming it."""
    with pytest.raises(ValueError, match=re.escape(repr(entry))) as caught:
        validate_allow_entry(entry)
    message = str(caught.value)
    assert reason in message
    assert repr(entry) in message
    assert "\n" not in message
    with pytest.raises(ValueError, match="allow"):
        check_pod(kubectl_run_pod(), level="baseline", allow=(entry,))


def test_unknown_level_is_an_error() -> None:
    """A level outside LEVELS is a ValueError naming it."""
    with pytest.raises(ValueError, match="unknown pod security level 'strict'"):
        check_pod(kubectl_run_pod(), level="strict")


def test_allow_entry_forms_are_documented() -> None:
    """ALLOW_ENTRIES lists every entry kind, and LEVELS the three standard levels in order."""
    assert LEVELS == ("privileged", "baseline", "restricted")
    kinds = {entry.split(":")[0] for entry in ALLOW_ENTRIES}
    assert kinds == {
        "<control>",
        "hostNetwork",
        "hostPID",
        "hostIPC",
        "capability",
        "hostPath",
        "hostPort",
        "sysctl",
    }
