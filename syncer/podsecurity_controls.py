"""The Pod Security Standards controls, one generator per control.

Each check reads a :class:`PodView` and yields a :class:`Finding` for every
field that breaks its control at the view's level; :mod:`syncer.podsecurity`
applies the allow-list, orders the findings and words the violations.  The
rules, their sources and the level each belongs to are listed in that module's
docstring; each function here names the fields it reads.  Pure: no
I/O, nothing mutated, malformed values (a string where a list belongs) read as
absent -- the virtual API server has validated the pod's types already.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "BASELINE_CAPABILITIES",
    "CHECKS",
    "HOST_NAMESPACES",
    "RESTRICTED_VOLUME_SOURCES",
    "SAFE_SYSCTLS",
    "SELINUX_TYPES",
    "Finding",
    "Path",
    "PodView",
    "capability_key",
]

#: What a baseline container may add to its capabilities.
BASELINE_CAPABILITIES = frozenset(
    {"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD"}
    | {"NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"}
)
#: The "safe" sysctls a baseline pod may set (policy version 1.32 and later).
SAFE_SYSCTLS = frozenset(
    {
        "kernel.shm_rmid_forced",
        "net.ipv4.ip_local_port_range",
        "net.ipv4.ip_unprivileged_port_start",
        "net.ipv4.tcp_syncookies",
        "net.ipv4.ping_group_range",
        "net.ipv4.ip_local_reserved_ports",
        "net.ipv4.tcp_keepalive_time",
        "net.ipv4.tcp_fin_timeout",
        "net.ipv4.tcp_keepalive_intvl",
        "net.ipv4.tcp_keepalive_probes",
        "net.ipv4.tcp_rmem",
        "net.ipv4.tcp_wmem",
    }
)
#: The SELinux types a baseline pod or container may ask for ("" is unset).
SELINUX_TYPES = frozenset(
    {"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"}
)
#: The volume sources a restricted pod may use.
RESTRICTED_VOLUME_SOURCES = frozenset(
    {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "image"}
    | {"persistentVolumeClaim", "projected", "secret"}
)

HOST_NAMESPACES = ("hostNetwork", "hostPID", "hostIPC")
_PROFILE_TYPES = frozenset({"RuntimeDefault", "Localhost"})
_APPARMOR_ANNOTATION = "container.apparmor.security.beta.kubernetes.io/"
_CONTAINER_KINDS = ("initContainers", "containers", "ephemeralContainers")
_PROBES = ("livenessProbe", "readinessProbe", "startupProbe")
_HOOKS = ("postStart", "preStop")
_SHOWN = 64
_POD_CONTEXT = ("spec", "securityContext")

#: A JSON path into the pod: field names and list indexes.
Path = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Finding:
    """A field that breaks ``control``; ``key`` is the field-specific allow key that lifts it."""

    control: str
    path: Path
    problem: str
    key: str | None = None


@dataclass(frozen=True, slots=True)
class PodView:
    """The parts of a pod the checks read, and the level facts they depend on."""

    metadata: Mapping[str, Any]
    spec: Mapping[str, Any]
    restricted: bool
    windows: bool
    user_namespace: bool

    @property
    def context(self) -> Mapping[str, Any]:
        return _map(self.spec.get("securityContext"))

    def containers(self) -> Iterator[tuple[Path, Mapping[str, Any]]]:
        for kind in _CONTAINER_KINDS:
            for i, container in enumerate(_list(self.spec.get(kind))):
                yield ("spec", kind, i), _map(container)

    def contexts(self) -> Iterator[tuple[Path, Mapping[str, Any]]]:
        """The pod's security context, then every container's."""
        yield _POD_CONTEXT, self.context
        for path, container in self.containers():
            yield (*path, "securityContext"), _context(container)


# --- the controls --------------------------------------------------------------------


def _host_process(pod: PodView) -> Iterator[Finding]:
    """``windowsOptions.hostProcess`` of the pod and every container: not true."""
    for path, context in pod.contexts():
        if _map(context.get("windowsOptions")).get("hostProcess") is True:
            where = (*path, "windowsOptions", "hostProcess")
            yield Finding("hostProcess", where, "Windows HostProcess containers are not allowed")


def _host_namespaces(pod: PodView) -> Iterator[Finding]:
    """``spec.hostNetwork``, ``spec.hostPID``, ``spec.hostIPC``: not true."""
    for name in HOST_NAMESPACES:
        if pod.spec.get(name) is True:
            yield Finding("hostNamespaces", ("spec", name), "host namespaces are not allowed", name)


def _privileged(pod: PodView) -> Iterator[Finding]:
    """``securityContext.privileged`` of every container: not true."""
    for path, container in pod.containers():
        if _context(container).get("privileged") is True:
            where = (*path, "securityContext", "privileged")
            yield Finding("privileged", where, "privileged containers are not allowed")


def _capabilities(pod: PodView) -> Iterator[Finding]:
    """``capabilities.add`` (and at restricted ``drop``) of every container."""
    strict = pod.restricted and not pod.windows
    allowed = frozenset({"NET_BIND_SERVICE"}) if strict else BASELINE_CAPABILITIES
    for path, container in pod.containers():
        where = (*path, "securityContext", "capabilities")
        capabilities = _map(_context(container).get("capabilities"))
        if strict and "ALL" not in _list(capabilities.get("drop")):
            yield Finding("capabilities", (*where, "drop"), "must include ALL")
        for j, name in enumerate(_list(capabilities.get("add"))):
            if name not in allowed:
                problem = f"adding capability {_show(name)} is not allowed"
                yield Finding(
                    "capabilities",
                    (*where, "add", j),
                    problem,
                    f"capability:{capability_key(name)}",
                )


def _host_path_volumes(pod: PodView) -> Iterator[Finding]:
    """``spec.volumes[*].hostPath``: absent."""
    for i, volume in enumerate(_list(pod.spec.get("volumes"))):
        source = _map(volume).get("hostPath")
        if source is not None:
            path = str(_map(source).get("path", ""))
            problem = f"hostPath volumes are not allowed (path {_show(path)})"
            yield Finding(
                "hostPathVolumes", ("spec", "volumes", i, "hostPath"), problem, f"hostPath:{path}"
            )


def _host_ports(pod: PodView) -> Iterator[Finding]:
    """``ports[*].hostPort`` of every container: unset or 0."""
    for path, container in pod.containers():
        for k, port in enumerate(_list(container.get("ports"))):
            host_port = _map(port).get("hostPort")
            if host_port is not None and host_port != 0:
                problem = f"host port {_show(host_port)} is not allowed"
                yield Finding(
                    "hostPorts", (*path, "ports", k, "hostPort"), problem, f"hostPort:{host_port}"
                )


def _probe_hosts(pod: PodView) -> Iterator[Finding]:
    """``host`` of every container's probes and lifecycle hooks: unset or empty."""
    for path, container in pod.containers():
        lifecycle = _map(container.get("lifecycle"))
        handlers = [((*path, probe), _map(container.get(probe))) for probe in _PROBES]
        handlers += [((*path, "lifecycle", hook), _map(lifecycle.get(hook))) for hook in _HOOKS]
        for where, handler in handlers:
            for action in ("httpGet", "tcpSocket"):
                host = _map(handler.get(action)).get("host")
                if host is not None and host != "":
                    problem = f"a probe or lifecycle hook host ({_show(host)}) is not allowed"
                    yield Finding("hostProbesAndHostLifecycle", (*where, action, "host"), problem)


def _apparmor(pod: PodView) -> Iterator[Finding]:
    """AppArmor annotations and the pod's and containers' ``appArmorProfile.type``."""
    for key, value in _map(pod.metadata.get("annotations")).items():
        if str(key).startswith(_APPARMOR_ANNOTATION) and not (
            value in ("", "runtime/default") or str(value).startswith("localhost/")
        ):
            problem = f"AppArmor profile {_show(value)} is not allowed"
            yield Finding("appArmorProfile", ("metadata", "annotations", str(key)), problem)
    for path, context in pod.contexts():
        kind = _map(context.get("appArmorProfile")).get("type")
        if kind is not None and kind not in _PROFILE_TYPES:
            where = (*path, "appArmorProfile", "type")
            yield Finding(
                "appArmorProfile", where, f"AppArmor profile {_show(kind)} is not allowed"
            )


def _selinux(pod: PodView) -> Iterator[Finding]:
    """``seLinuxOptions`` type, user and role of the pod and every container."""
    for path, context in pod.contexts():
        options = _map(context.get("seLinuxOptions"))
        kind = options.get("type")
        if kind is not None and kind not in SELINUX_TYPES:
            where = (*path, "seLinuxOptions", "type")
            yield Finding("seLinuxOptions", where, f"SELinux type {_show(kind)} is not allowed")
        for name in ("user", "role"):
            if options.get(name) not in (None, ""):
                where = (*path, "seLinuxOptions", name)
                yield Finding("seLinuxOptions", where, f"a custom SELinux {name} is not allowed")


def _proc_mount(pod: PodView) -> Iterator[Finding]:
    """``securityContext.procMount`` of every container: unset or ``Default``."""
    if pod.user_namespace and not pod.restricted:
        return
    for path, container in pod.containers():
        mount = _context(container).get("procMount")
        if mount is not None and mount != "Default":
            where = (*path, "securityContext", "procMount")
            yield Finding("procMount", where, f"procMount {_show(mount)} is not allowed")


def _seccomp(pod: PodView) -> Iterator[Finding]:
    """``seccompProfile.type`` of the pod and every container."""
    strict = pod.restricted and not pod.windows
    pod_kind = _map(pod.context.get("seccompProfile")).get("type")
    for path, context in pod.contexts():
        kind = _map(context.get("seccompProfile")).get("type")
        if kind is not None and kind not in _PROFILE_TYPES:
            where = (*path, "seccompProfile", "type")
            yield Finding("seccompProfile", where, f"seccomp profile {_show(kind)} is not allowed")
        elif kind is None and strict and pod_kind is None and path != _POD_CONTEXT:
            problem = "a seccomp profile (RuntimeDefault or Localhost) must be set on it or the pod"
            yield Finding("seccompProfile", (*path, "seccompProfile"), problem)


def _sysctls(pod: PodView) -> Iterator[Finding]:
    """``spec.securityContext.sysctls[*].name``: in the safe set."""
    for i, sysctl in enumerate(_list(pod.context.get("sysctls"))):
        name = _map(sysctl).get("name")
        if name not in SAFE_SYSCTLS:
            where = ("spec", "securityContext", "sysctls", i, "name")
            yield Finding(
                "sysctls", where, f"sysctl {_show(name)} is not allowed", f"sysctl:{name}"
            )


def _restricted_volumes(pod: PodView) -> Iterator[Finding]:
    """Restricted: every volume's source is one of the allowed kinds."""
    if not pod.restricted:
        return
    for i, volume in enumerate(_list(pod.spec.get("volumes"))):
        sources = [k for k, v in _map(volume).items() if k != "name" and v is not None]
        if "hostPath" in sources or any(s in RESTRICTED_VOLUME_SOURCES for s in sources):
            continue  # a hostPath volume is reported once, by hostPathVolumes
        where: Path = ("spec", "volumes", i, str(sources[0])) if sources else ("spec", "volumes", i)
        what = f"{_show(sources[0])} volumes are" if sources else "a volume without a source is"
        yield Finding("restrictedVolumes", where, f"{what} not allowed")


def _privilege_escalation(pod: PodView) -> Iterator[Finding]:
    """Restricted: ``allowPrivilegeEscalation`` false on every container."""
    if not pod.restricted or pod.windows:
        return
    for path, container in pod.containers():
        if _context(container).get("allowPrivilegeEscalation") is not False:
            where = (*path, "securityContext", "allowPrivilegeEscalation")
            yield Finding("allowPrivilegeEscalation", where, "must be set to false")


def _run_as_non_root(pod: PodView) -> Iterator[Finding]:
    """Restricted: ``runAsNonRoot`` true on the pod or every container, never false."""
    if not pod.restricted or pod.user_namespace:
        return
    pod_value = pod.context.get("runAsNonRoot")
    for path, context in pod.contexts():
        value = context.get("runAsNonRoot")
        if value is False:
            yield Finding("runAsNonRoot", (*path, "runAsNonRoot"), "must not be false")
        elif value is None and pod_value is not True and path != _POD_CONTEXT:
            problem = "must be true on the container or the pod"
            yield Finding("runAsNonRoot", (*path, "runAsNonRoot"), problem)


def _run_as_user(pod: PodView) -> Iterator[Finding]:
    """Restricted: ``runAsUser`` of the pod and every container: not 0."""
    if not pod.restricted or pod.user_namespace:
        return
    for path, context in pod.contexts():
        user = context.get("runAsUser")
        if type(user) is int and user == 0:
            yield Finding(
                "runAsUser", (*path, "runAsUser"), "running as user 0 (root) is not allowed"
            )


def _tolerations(pod: PodView) -> Iterator[Finding]:
    """vsyncer: no toleration of every taint (``operator: Exists`` without ``key``)."""
    for i, toleration in enumerate(_list(pod.spec.get("tolerations"))):
        item = _map(toleration)
        if item.get("operator") == "Exists" and not item.get("key"):
            problem = "a toleration of every taint (operator Exists without a key) is not allowed"
            yield Finding("tolerations", ("spec", "tolerations", i), problem)


CHECKS: tuple[Callable[[PodView], Iterator[Finding]], ...] = (
    _host_process,
    _host_namespaces,
    _privileged,
    _capabilities,
    _host_path_volumes,
    _host_ports,
    _probe_hosts,
    _apparmor,
    _selinux,
    _proc_mount,
    _seccomp,
    _sysctls,
    _restricted_volumes,
    _privilege_escalation,
    _run_as_non_root,
    _run_as_user,
    _tolerations,
)


# --- helpers ---------------------------------------------------------------------------


def _map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> Sequence[Any]:
    return value if isinstance(value, Sequence) and not isinstance(value, str) else ()


def _context(container: Mapping[str, Any]) -> Mapping[str, Any]:
    return _map(container.get("securityContext"))


def capability_key(name: Any) -> str:
    """A capability as the allow-list compares it: upper case, no ``CAP_`` prefix."""
    return str(name).upper().removeprefix("CAP_")


def _show(value: Any) -> str:
    """A tenant-written value for a one-line message: quoted, escaped, cut short."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return json.dumps(text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "...")
