"""Tests for syncer.podsecurity: each control at each level, messages and order."""

from __future__ import annotations

import copy
from types import MappingProxyType
from typing import Any

import pytest

from syncer.podsecurity import Violation, check_pod
from tests.syncer.podsecurity_pods import (
    C0,
    SC,
    Edit,
    container,
    found,
    kubectl_run_pod,
    patched,
    restricted_pod,
)

BASELINE: list[tuple[str, tuple[Edit, ...], tuple[str, str] | None]] = [
    ("hostNetwork", (("spec.hostNetwork", True),), ("hostNamespaces", "spec.hostNetwork")),
    ("hostPID", (("spec.hostPID", True),), ("hostNamespaces", "spec.hostPID")),
    ("hostIPC", (("spec.hostIPC", True),), ("hostNamespaces", "spec.hostIPC")),
    ("host namespaces false", (("spec.hostNetwork", False), ("spec.hostPID", False)), None),
    (
        "privileged container",
        ((f"{SC}.privileged", True),),
        ("privileged", f"{C0}.securityContext.privileged"),
    ),
    (
        "privileged initContainer",
        (("spec.initContainers", [container(securityContext={"privileged": True})]),),
        ("privileged", "spec.initContainers[0].securityContext.privileged"),
    ),
    (
        "privileged ephemeralContainer",
        (("spec.ephemeralContainers", [container(securityContext={"privileged": True})]),),
        ("privileged", "spec.ephemeralContainers[0].securityContext.privileged"),
    ),
    ("privileged false", ((f"{SC}.privileged", False),), None),
    (
        "capability SYS_ADMIN",
        ((f"{SC}.capabilities", {"add": ["CHOWN", "SYS_ADMIN"]}),),
        ("capabilities", f"{C0}.securityContext.capabilities.add[1]"),
    ),
    (
        "baseline capabilities",
        ((f"{SC}.capabilities", {"add": ["NET_BIND_SERVICE", "KILL"]}),),
        None,
    ),
    (
        "hostPath /",
        (("spec.volumes.0", {"name": "root", "hostPath": {"path": "/"}}),),
        ("hostPathVolumes", "spec.volumes[0].hostPath"),
    ),
    ("emptyDir volume", (("spec.volumes.0", {"name": "scratch", "emptyDir": {}}),), None),
    (
        "toleration of every taint",
        (("spec.tolerations", [{"operator": "Exists"}]),),
        ("tolerations", "spec.tolerations[0]"),
    ),
    (
        "toleration of every NoSchedule taint",
        (("spec.tolerations", [{"key": "", "operator": "Exists", "effect": "NoSchedule"}]),),
        ("tolerations", "spec.tolerations[0]"),
    ),
    (
        "toleration with a key",
        (("spec.tolerations", [{"key": "gpu", "operator": "Exists"}]),),
        None,
    ),
    (
        "hostProcess",
        (("spec.securityContext.windowsOptions", {"hostProcess": True}),),
        ("hostProcess", "spec.securityContext.windowsOptions.hostProcess"),
    ),
    ("hostProcess false", ((f"{SC}.windowsOptions", {"hostProcess": False}),), None),
    (
        "hostPort",
        (("spec.containers.0.ports", [{"containerPort": 80, "hostPort": 8080}]),),
        ("hostPorts", f"{C0}.ports[0].hostPort"),
    ),
    ("hostPort 0", (("spec.containers.0.ports", [{"containerPort": 80, "hostPort": 0}]),), None),
    (
        "probe host",
        (("spec.containers.0.livenessProbe", {"httpGet": {"port": 80, "host": "10.0.0.1"}}),),
        ("hostProbesAndHostLifecycle", f"{C0}.livenessProbe.httpGet.host"),
    ),
    (
        "lifecycle host",
        (("spec.containers.0.lifecycle", {"preStop": {"tcpSocket": {"port": 22, "host": "x"}}}),),
        ("hostProbesAndHostLifecycle", f"{C0}.lifecycle.preStop.tcpSocket.host"),
    ),
    (
        "probe without host",
        (("spec.containers.0.readinessProbe", {"httpGet": {"port": 80}}),),
        None,
    ),
    (
        "AppArmor Unconfined",
        ((f"{SC}.appArmorProfile", {"type": "Unconfined"}),),
        ("appArmorProfile", f"{C0}.securityContext.appArmorProfile.type"),
    ),
    (
        "AppArmor annotation unconfined",
        (
            (
                "metadata.annotations",
                {"container.apparmor.security.beta.kubernetes.io/web": "unconfined"},
            ),
        ),
        (
            "appArmorProfile",
            'metadata.annotations["container.apparmor.security.beta.kubernetes.io/web"]',
        ),
    ),
    (
        "AppArmor Localhost",
        (
            (
                "spec.securityContext.appArmorProfile",
                {"type": "Localhost", "localhostProfile": "p"},
            ),
            (
                "metadata.annotations",
                {"container.apparmor.security.beta.kubernetes.io/web": "localhost/p"},
            ),
        ),
        None,
    ),
    (
        "SELinux type spc_t",
        ((f"{SC}.seLinuxOptions", {"type": "spc_t"}),),
        ("seLinuxOptions", f"{C0}.securityContext.seLinuxOptions.type"),
    ),
    (
        "SELinux user",
        (("spec.securityContext.seLinuxOptions", {"user": "system_u"}),),
        ("seLinuxOptions", "spec.securityContext.seLinuxOptions.user"),
    ),
    (
        "SELinux container_engine_t",
        ((f"{SC}.seLinuxOptions", {"type": "container_engine_t", "level": "s0:c1,c2"}),),
        None,
    ),
    (
        "procMount Unmasked",
        ((f"{SC}.procMount", "Unmasked"),),
        ("procMount", f"{C0}.securityContext.procMount"),
    ),
    (
        "procMount Unmasked in a user namespace",
        (("spec.hostUsers", False), (f"{SC}.procMount", "Unmasked")),
        None,
    ),
    (
        "seccomp Unconfined",
        (("spec.securityContext.seccompProfile", {"type": "Unconfined"}),),
        ("seccompProfile", "spec.securityContext.seccompProfile.type"),
    ),
    ("seccomp RuntimeDefault", ((f"{SC}.seccompProfile", {"type": "RuntimeDefault"}),), None),
    (
        "unsafe sysctl",
        (("spec.securityContext.sysctls", [{"name": "kernel.msgmax", "value": "65536"}]),),
        ("sysctls", "spec.securityContext.sysctls[0].name"),
    ),
    (
        "safe sysctls",
        (
            (
                "spec.securityContext.sysctls",
                [
                    {"name": "net.ipv4.ip_local_reserved_ports", "value": "8080"},
                    {"name": "net.ipv4.tcp_keepalive_probes", "value": "3"},
                    {"name": "net.ipv4.tcp_rmem", "value": "4096 87380 16777216"},
                ],
            ),
        ),
        None,
    ),
]

# (id, edits on the restricted pod, the one violation expected at restricted, or None)
RESTRICTED: list[tuple[str, tuple[Edit, ...], tuple[str, str] | None]] = [
    (
        "nfs volume",
        (("spec.volumes.0", {"name": "n", "nfs": {"server": "s", "path": "/"}}),),
        ("restrictedVolumes", "spec.volumes[0].nfs"),
    ),
    ("image volume", (("spec.volumes.0", {"name": "i", "image": {"reference": "x"}}),), None),
    (
        "privilege escalation unset",
        ((f"{SC}.allowPrivilegeEscalation", None),),
        ("allowPrivilegeEscalation", f"{C0}.securityContext.allowPrivilegeEscalation"),
    ),
    (
        "privilege escalation true",
        ((f"{SC}.allowPrivilegeEscalation", True),),
        ("allowPrivilegeEscalation", f"{C0}.securityContext.allowPrivilegeEscalation"),
    ),
    (
        "runAsNonRoot false on a container",
        ((f"{SC}.runAsNonRoot", False),),
        ("runAsNonRoot", f"{C0}.securityContext.runAsNonRoot"),
    ),
    (
        "runAsNonRoot nowhere",
        (("spec.securityContext.runAsNonRoot", None),),
        ("runAsNonRoot", f"{C0}.securityContext.runAsNonRoot"),
    ),
    (
        "runAsNonRoot on every container",
        (("spec.securityContext.runAsNonRoot", None), (f"{SC}.runAsNonRoot", True)),
        None,
    ),
    (
        "runAsUser 0",
        (("spec.securityContext.runAsUser", 0),),
        ("runAsUser", "spec.securityContext.runAsUser"),
    ),
    ("runAsUser 1000", ((f"{SC}.runAsUser", 1000),), None),
    (
        "root in a user namespace",
        (
            ("spec.hostUsers", False),
            ("spec.securityContext.runAsNonRoot", None),
            (f"{SC}.runAsUser", 0),
        ),
        None,
    ),
    (
        "seccomp nowhere",
        (("spec.securityContext.seccompProfile", None),),
        ("seccompProfile", f"{C0}.securityContext.seccompProfile"),
    ),
    (
        "seccomp on every container",
        (
            ("spec.securityContext.seccompProfile", None),
            (f"{SC}.seccompProfile", {"type": "Localhost"}),
        ),
        None,
    ),
    (
        "capabilities not dropped",
        ((f"{SC}.capabilities", {"drop": ["NET_RAW"]}),),
        ("capabilities", f"{C0}.securityContext.capabilities.drop"),
    ),
    (
        "capability CHOWN",
        ((f"{SC}.capabilities", {"drop": ["ALL"], "add": ["CHOWN"]}),),
        ("capabilities", f"{C0}.securityContext.capabilities.add[0]"),
    ),
    (
        "capability NET_BIND_SERVICE",
        ((f"{SC}.capabilities", {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}),),
        None,
    ),
    (
        "procMount Unmasked in a user namespace",
        (("spec.hostUsers", False), (f"{SC}.procMount", "Unmasked")),
        ("procMount", f"{C0}.securityContext.procMount"),
    ),
    (
        "Windows pod",
        (("spec.os", {"name": "windows"}), (SC, {}), ("spec.securityContext.seccompProfile", None)),
        None,
    ),
]


@pytest.mark.parametrize(
    ("edits", "expected"), [c[1:] for c in BASELINE], ids=[c[0] for c in BASELINE]
)
def test_baseline_controls(edits: tuple[Edit, ...], expected: tuple[str, str] | None) -> None:
    """Each baseline control refuses its field in a kubectl-run pod, and passes allowed values."""
    pod = patched(kubectl_run_pod(), *edits)
    assert found(pod, level="baseline") == ([expected] if expected else [])


REFUSED = [c for c in BASELINE if c[2] is not None]


@pytest.mark.parametrize(
    ("edits", "expected"), [c[1:] for c in REFUSED], ids=[c[0] for c in REFUSED]
)
def test_baseline_rules_hold_at_restricted(
    edits: tuple[Edit, ...], expected: tuple[str, str]
) -> None:
    """Restricted includes baseline: the same edit of a restricted pod is refused the same way."""
    assert expected in found(patched(restricted_pod(), *edits), level="restricted")


@pytest.mark.parametrize(
    ("edits", "expected"), [c[1:] for c in RESTRICTED], ids=[c[0] for c in RESTRICTED]
)
def test_restricted_controls(edits: tuple[Edit, ...], expected: tuple[str, str] | None) -> None:
    """Each restricted control refuses its field in a restricted pod, and passes allowed values."""
    pod = patched(restricted_pod(), *edits)
    assert found(pod, level="restricted") == ([expected] if expected else [])
    assert found(pod, level="baseline") == []


def test_kubectl_run_pod_passes_baseline_but_not_restricted() -> None:
    """The default pod meets baseline; restricted asks for four things it lacks."""
    assert check_pod(kubectl_run_pod(), level="baseline") == []
    assert found(kubectl_run_pod(), level="restricted") == [
        ("allowPrivilegeEscalation", f"{C0}.securityContext.allowPrivilegeEscalation"),
        ("capabilities", f"{C0}.securityContext.capabilities.drop"),
        ("runAsNonRoot", f"{C0}.securityContext.runAsNonRoot"),
        ("seccompProfile", f"{C0}.securityContext.seccompProfile"),
    ]
    assert check_pod(restricted_pod(), level="restricted") == []


def test_privileged_level_allows_anything() -> None:
    """Level privileged never refuses, whatever the pod holds."""
    pod = patched(kubectl_run_pod(), *(edit for _, edits, _ in BASELINE for edit in edits))
    assert found(pod, level="baseline") != []
    assert check_pod(pod, level="privileged") == []


def test_message_names_the_field_on_one_line() -> None:
    """A message is `<field>: <what> at level <level>`, with tenant text escaped to one line."""
    assert check_pod(patched(kubectl_run_pod(), ("spec.hostNetwork", True)), level="baseline") == [
        Violation(
            control="hostNamespaces",
            field="spec.hostNetwork",
            message="spec.hostNetwork: host namespaces are not allowed at level baseline",
        )
    ]
    pod = patched(
        kubectl_run_pod(), (f"{SC}.capabilities", {"add": ["SYS_ADMIN\nEVIL" + "X" * 200]})
    )
    [violation] = check_pod(pod, level="baseline")
    assert violation.field == f"{C0}.securityContext.capabilities.add[0]"
    assert "\n" not in violation.message
    assert violation.message.startswith(f'{violation.field}: adding capability "SYS_ADMIN\\nEVILXX')
    assert violation.message.endswith('..." is not allowed at level baseline')
    assert len(violation.message) < 200


def test_violations_are_in_field_order() -> None:
    """Sorted by field path, list indexes compared as numbers."""
    many = [container(name=f"c{i}", securityContext={"privileged": True}) for i in range(11)]
    pod = patched(kubectl_run_pod(), ("spec.containers", many), ("spec.hostPID", True))
    fields = [v.field for v in check_pod(pod, level="baseline")]
    assert fields == [f"spec.containers[{i}].securityContext.privileged" for i in range(11)] + [
        "spec.hostPID"
    ]


def frozen(value: Any) -> Any:
    if isinstance(value, dict):
        return MappingProxyType({k: frozen(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(frozen(v) for v in value)
    return value


def test_reads_read_only_pods_without_changing_them() -> None:
    """A cached, read-only pod is checked as it is; a plain pod is left as it was."""
    pod = patched(kubectl_run_pod(), ("spec.hostIPC", True), (f"{SC}.procMount", "Unmasked"))
    before = copy.deepcopy(pod)
    expected = found(pod, level="restricted")
    assert found(frozen(pod), level="restricted") == expected
    assert pod == before
