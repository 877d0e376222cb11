"""Tests for syncer.podsecurity: the Pod Security Standards check of virtual pods."""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from syncer.podsecurity import (
    ALLOW_ENTRIES,
    CONTROLS,
    LEVELS,
    Violation,
    check_pod,
    validate_allow_entry,
)

Json = dict[str, Any]
Edit = tuple[str, Any]


def kubectl_run_pod() -> Json:
    """What ``kubectl run web --image=nginx`` leaves in the API server (defaults filled in)."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "web", "namespace": "shop", "labels": {"run": "web"}},
        "spec": {
            "containers": [
                {
                    "name": "web",
                    "image": "nginx",
                    "imagePullPolicy": "Always",
                    "resources": {},
                    "terminationMessagePath": "/dev/termination-log",
                    "terminationMessagePolicy": "File",
                    "volumeMounts": [
                        {
                            "name": "kube-api-access-x7k2p",
                            "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
                            "readOnly": True,
                        }
                    ],
                }
            ],
            "dnsPolicy": "ClusterFirst",
            "enableServiceLinks": True,
            "preemptionPolicy": "PreemptLowerPriority",
            "priority": 0,
            "restartPolicy": "Always",
            "schedulerName": "default-scheduler",
            "securityContext": {},
            "serviceAccountName": "default",
            "terminationGracePeriodSeconds": 30,
            "tolerations": [
                {
                    "key": "node.kubernetes.io/not-ready",
                    "operator": "Exists",
                    "effect": "NoExecute",
                    "tolerationSeconds": 300,
                },
                {
                    "key": "node.kubernetes.io/unreachable",
                    "operator": "Exists",
                    "effect": "NoExecute",
                    "tolerationSeconds": 300,
                },
            ],
            "volumes": [
                {
                    "name": "kube-api-access-x7k2p",
                    "projected": {
                        "defaultMode": 420,
                        "sources": [
                            {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                            {"configMap": {"name": "kube-root-ca.crt"}},
                        ],
                    },
                }
            ],
        },
    }


def restricted_pod() -> Json:
    """The kubectl-run pod hardened the way the Restricted standard asks."""
    return patched(
        kubectl_run_pod(),
        (
            "spec.securityContext",
            {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
        ),
        (
            "spec.containers.0.securityContext",
            {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
        ),
    )


def patched(pod: Json, *edits: Edit) -> Json:
    """A deep copy of ``pod`` with each dotted path (digits index lists) set to its value."""
    out = copy.deepcopy(pod)
    for path, value in edits:
        *parents, last = path.split(".")
        node: Any = out
        for part in parents:
            node = node[int(part)] if part.isdigit() else node.setdefault(part, {})
        if last.isdigit():
            node[int(last)] = value
        else:
            node[last] = value
    return out


def found(
    pod: Mapping[str, Any], *, level: str, allow: tuple[str, ...] = ()
) -> list[tuple[str, str]]:
    return [(v.control, v.field) for v in check_pod(pod, level=level, allow=allow)]


def container(**fields: Any) -> Json:
    return {"name": "extra", "image": "busybox", **fields}


SC = "spec.containers.0.securityContext"
C0 = "spec.containers[0]"

# (id, edits, the one violation expected at baseline, or None if it passes baseline)
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


# --- the allow-list ---------------------------------------------------------------------


def test_allowing_a_control_lifts_only_that_control() -> None:
    pod = patched(kubectl_run_pod(), (f"{SC}.privileged", True), ("spec.hostNetwork", True))
    assert found(pod, level="baseline", allow=("privileged",)) == [
        ("hostNamespaces", "spec.hostNetwork")
    ]


@pytest.mark.parametrize("name", ["hostNetwork", "hostPID", "hostIPC"])
def test_allowing_one_host_namespace(name: str) -> None:
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
    ports = [{"containerPort": 80, "hostPort": 8080}, {"containerPort": 81, "hostPort": 8081}]
    pod = patched(kubectl_run_pod(), ("spec.containers.0.ports", ports))
    assert found(pod, level="baseline", allow=("hostPort:8080",)) == [
        ("hostPorts", f"{C0}.ports[1].hostPort")
    ]


def test_allowing_one_sysctl() -> None:
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


# --- properties -----------------------------------------------------------------------

flags = st.sampled_from([None, False, True])
names = st.lists(
    st.sampled_from(["CHOWN", "NET_BIND_SERVICE", "SYS_ADMIN", "NET_RAW", "ALL"]), max_size=3
)
profiles = st.sampled_from(["RuntimeDefault", "Localhost", "Unconfined"]).map(lambda t: {"type": t})
selinux = st.fixed_dictionaries(
    {},
    optional={
        "type": st.sampled_from(["", "container_t", "spc_t"]),
        "user": st.sampled_from(["", "system_u"]),
    },
)
common_context = {
    "runAsNonRoot": flags,
    "runAsUser": st.sampled_from([0, 1000]),
    "seccompProfile": profiles,
    "appArmorProfile": profiles,
    "seLinuxOptions": selinux,
    "windowsOptions": st.fixed_dictionaries({"hostProcess": flags}),
}
container_context = st.fixed_dictionaries(
    {},
    optional={
        **common_context,
        "privileged": flags,
        "allowPrivilegeEscalation": flags,
        "procMount": st.sampled_from(["Default", "Unmasked"]),
        "capabilities": st.fixed_dictionaries({}, optional={"add": names, "drop": names}),
    },
)
pod_context = st.fixed_dictionaries(
    {},
    optional={
        **common_context,
        "sysctls": st.lists(
            st.sampled_from(["kernel.shm_rmid_forced", "kernel.msgmax"]).map(
                lambda n: {"name": n, "value": "1"}
            ),
            max_size=2,
        ),
    },
)
containers = st.lists(
    st.fixed_dictionaries(
        {"name": st.just("c"), "image": st.just("nginx")},
        optional={
            "securityContext": container_context,
            "ports": st.lists(
                st.fixed_dictionaries(
                    {"containerPort": st.just(80), "hostPort": st.sampled_from([0, 80])}
                ),
                max_size=2,
            ),
            "startupProbe": st.fixed_dictionaries(
                {
                    "tcpSocket": st.fixed_dictionaries(
                        {"port": st.just(80), "host": st.sampled_from(["", "h"])}
                    )
                }
            ),
        },
    ),
    min_size=1,
    max_size=2,
)
volumes = st.lists(
    st.sampled_from(
        [
            {"name": "v", "emptyDir": {}},
            {"name": "v", "image": {"reference": "x"}},
            {"name": "v", "hostPath": {"path": "/var/log"}},
            {"name": "v", "nfs": {"server": "s", "path": "/"}},
        ]
    ),
    max_size=3,
)
tolerations = st.lists(
    st.sampled_from(
        [{"operator": "Exists"}, {"key": "k", "operator": "Exists"}, {"key": "k", "value": "v"}]
    ),
    max_size=2,
)
pods = st.fixed_dictionaries(
    {
        "metadata": st.fixed_dictionaries(
            {"name": st.just("p")},
            optional={
                "annotations": st.dictionaries(
                    st.sampled_from(["container.apparmor.security.beta.kubernetes.io/c", "note"]),
                    st.sampled_from(["runtime/default", "unconfined", "localhost/p"]),
                )
            },
        ),
        "spec": st.fixed_dictionaries(
            {"containers": containers},
            optional={
                "initContainers": containers,
                "ephemeralContainers": containers,
                "hostNetwork": flags,
                "hostPID": flags,
                "hostUsers": flags,
                "os": st.sampled_from([{"name": "linux"}, {"name": "windows"}]),
                "securityContext": pod_context,
                "volumes": volumes,
                "tolerations": tolerations,
            },
        ),
    }
)


@settings(max_examples=300, deadline=None)
@given(pod=pods)
def test_allowing_every_control_allows_every_pod(pod: Json) -> None:
    """With every control on the allow-list, no pod is refused at any level."""
    for level in LEVELS:
        assert check_pod(pod, level=level, allow=CONTROLS) == []


@settings(max_examples=300, deadline=None)
@given(pod=pods)
def test_restricted_refuses_everything_baseline_refuses(pod: Json) -> None:
    """Violations at restricted are a superset of those at baseline; the pod is not changed."""
    before = copy.deepcopy(pod)
    baseline = set(found(pod, level="baseline"))
    restricted = check_pod(pod, level="restricted")
    assert baseline <= {(v.control, v.field) for v in restricted}
    assert all(v.control in CONTROLS and v.message.startswith(f"{v.field}: ") for v in restricted)
    assert all("\n" not in v.message for v in restricted)
    assert pod == before
