"""Pod Security Standards: may a tenant's pod run on the host as it is written?

A virtual pod is written by a tenant who may be hostile.  Before it is synced to
the host it must meet a Pod Security Standards level: :func:`check_pod` lists
every violation, or nothing.  Pure: no I/O, no module state, and the pod (a
decoded-JSON mapping, possibly read-only) is never mutated.

The rules are Kubernetes' own, as enforced by the pod-security admission
controller of Kubernetes v1.36 at policy version ``latest``.  Sources: the
Pod Security Standards page (kubernetes.io/docs/concepts/security/
pod-security-standards) and, where that page lags the admission code, the
checks in ``k8s.io/pod-security-admission/policy`` of release-1.36, named here:

* Baseline -- ``hostProcess`` (``windowsOptions.hostProcess``), ``hostNamespaces``
  (``hostNetwork``, ``hostPID``, ``hostIPC``), ``privileged``, ``capabilities``
  (``add`` only from :data:`BASELINE_CAPABILITIES`), ``hostPathVolumes``,
  ``hostPorts`` (0 or unset), ``hostProbesAndHostLifecycle`` (no ``host`` in
  probes and lifecycle hooks; v1.34+), ``appArmorProfile`` (``RuntimeDefault`` or
  ``Localhost``, and the legacy ``container.apparmor.security.beta.kubernetes.io/*``
  annotations ``runtime/default`` or ``localhost/*``), ``seLinuxOptions`` (type in
  :data:`SELINUX_TYPES`, no user or role), ``procMount`` (``Default``; any value
  when the pod has its own user namespace, ``hostUsers: false``, v1.35+),
  ``seccompProfile`` (``RuntimeDefault`` or ``Localhost`` when set) and ``sysctls``
  (:data:`SAFE_SYSCTLS`: the page's list through v1.29 plus ``net.ipv4.tcp_rmem``
  and ``net.ipv4.tcp_wmem``, allowed by the admission policy since v1.32,
  kubernetes/kubernetes#127489).
* Restricted adds ``restrictedVolumes`` (:data:`RESTRICTED_VOLUME_SOURCES`, which
  includes ``image`` since v1.33, kubernetes/kubernetes#130394),
  ``allowPrivilegeEscalation`` (``false`` on every container), ``runAsNonRoot``
  (``true`` on the pod or every container, never ``false``), ``runAsUser`` (never
  0) -- those two waived for ``hostUsers: false`` (v1.35+) --, ``seccompProfile``
  set on the pod or every container, ``capabilities`` dropping ``ALL`` and adding
  only ``NET_BIND_SERVICE``, and ``procMount`` ``Default`` even in a user namespace.
  Pods with ``spec.os.name: windows`` are exempt from the restricted parts of
  ``allowPrivilegeEscalation``, ``seccompProfile`` and ``capabilities``.

Every container kind counts: ``initContainers``, ``containers`` and
``ephemeralContainers``; pod-level security context fields are checked where the
standard names them and serve as the default it describes.  Values compare
exactly, as the admission controller compares them (``CAP_SYS_ADMIN`` is not a
baseline capability, ``kernel/shm_rmid_forced`` not a safe sysctl).  The controls
themselves live in :mod:`syncer.podsecurity_controls`; this module words,
orders and filters what they find.

Guarantees (property-tested in ``tests/syncer/test_podsecurity_properties.py``):
level ``privileged`` yields nothing; allowing every control yields nothing; the
violations at ``restricted`` include every ``(control, field)`` of ``baseline``.
Two deliberate differences from the admission controller keep the last one
true: at restricted a Windows pod still gets the baseline capability and seccomp
rules (the controller drops them there; vsyncer is stricter), and a hostPath
volume is reported once, under ``hostPathVolumes`` rather than
``restrictedVolumes`` (so a ``hostPath:`` allow entry lifts it at both levels).

On top of the standard, one vsyncer rule at baseline and restricted, control
``tolerations``: a toleration with ``operator: Exists`` and no ``key`` tolerates
every taint, so the pod could land on control-plane or dedicated host nodes.

Allow-list entries (:data:`ALLOW_ENTRIES`) lift violations: a control name lifts
that whole control; ``hostNetwork``/``hostPID``/``hostIPC`` one host namespace;
``capability:<NAME>`` adding that capability (``CAP_`` prefix and case ignored);
``hostPath:<prefix>`` hostPath volumes at or under an absolute path, compared by
path components (``/data`` allows ``/data`` and ``/data/x``, not ``/database``; a
path with ``.`` or ``..`` components is never allowed by prefix);
``hostPort:<n>`` that host port; ``sysctl:<name>`` that sysctl.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from syncer.podsecurity_controls import (
    BASELINE_CAPABILITIES,
    CHECKS,
    HOST_NAMESPACES,
    RESTRICTED_VOLUME_SOURCES,
    SAFE_SYSCTLS,
    SELINUX_TYPES,
    Finding,
    Path,
    PodView,
    capability_key,
)

__all__ = [
    "ALLOW_ENTRIES",
    "BASELINE_CAPABILITIES",
    "CONTROLS",
    "LEVELS",
    "RESTRICTED_VOLUME_SOURCES",
    "SAFE_SYSCTLS",
    "SELINUX_TYPES",
    "Violation",
    "check_pod",
    "validate_allow_entry",
]

LEVELS = ("privileged", "baseline", "restricted")
#: Control names (pod-security-admission check IDs where they exist), the allow-list's
#: whole-control entries and :attr:`Violation.control`.  ``tolerations`` is vsyncer's.
CONTROLS = (
    "hostProcess",
    "hostNamespaces",
    "privileged",
    "capabilities",
    "hostPathVolumes",
    "hostPorts",
    "hostProbesAndHostLifecycle",
    "appArmorProfile",
    "seLinuxOptions",
    "procMount",
    "seccompProfile",
    "sysctls",
    "restrictedVolumes",
    "allowPrivilegeEscalation",
    "runAsNonRoot",
    "runAsUser",
    "tolerations",
)
#: The forms of ``VSYNCER_POD_SECURITY_ALLOW`` entries; see the module docstring.
ALLOW_ENTRIES = (
    "<control>",
    "hostNetwork",
    "hostPID",
    "hostIPC",
    "capability:<NAME>",
    "hostPath:<absolute path prefix>",
    "hostPort:<1-65535>",
    "sysctl:<name>",
)
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_CAPABILITY = re.compile(r"[A-Za-z0-9_]+")
_SYSCTL = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_./-]*")


@dataclass(frozen=True, slots=True)
class Violation:
    """One refused field of a pod.

    ``control`` is a name from :data:`CONTROLS`; ``field`` the JSON path into the
    pod (``spec.containers[0].securityContext.capabilities.add[1]``; map keys
    other than identifiers are bracketed and JSON-quoted); ``message`` one line,
    ``<field>: <what> at level <level>``, with tenant-written values quoted,
    escaped and cut to 64 characters.
    """

    control: str
    field: str
    message: str


@dataclass(frozen=True, slots=True)
class _Allowance:
    controls: frozenset[str]
    keys: frozenset[str]
    host_paths: tuple[tuple[str, ...], ...]

    def permits(self, finding: Finding) -> bool:
        if finding.control in self.controls:
            return True
        if finding.key is None:
            return False
        if finding.key.startswith("hostPath:"):
            parts = _path_parts(finding.key.removeprefix("hostPath:"))
            return parts is not None and any(parts[: len(p)] == p for p in self.host_paths)
        return finding.key in self.keys


def check_pod(pod: Mapping[str, Any], *, level: str, allow: Iterable[str] = ()) -> list[Violation]:
    """Every violation of the Pod Security Standards ``level`` in a virtual pod.

    ``pod`` is the pod as decoded JSON (``metadata``, ``spec``); it is only read.
    ``level`` is one of :data:`LEVELS`; ``privileged`` always yields ``[]``.
    ``allow`` holds allow-list entries (:data:`ALLOW_ENTRIES`) whose violations are
    left out.  The result is sorted by field path (list indexes as numbers), then
    control.  Raises ValueError for an unknown level or allow entry.
    """
    if level not in LEVELS:
        raise ValueError(f"unknown pod security level {level!r}; expected one of {LEVELS}")
    allowance = _allowance(allow)
    if level == "privileged":
        return []
    spec = _mapping(pod.get("spec"))
    view = PodView(
        metadata=_mapping(pod.get("metadata")),
        spec=spec,
        restricted=level == "restricted",
        windows=_mapping(spec.get("os")).get("name") == "windows",
        user_namespace=spec.get("hostUsers") is False,
    )
    findings = [f for check in CHECKS for f in check(view) if not allowance.permits(f)]
    findings.sort(key=lambda f: (_sort_key(f.path), f.control))
    violations = []
    for finding in findings:
        field = _render(finding.path)
        rule = " (a vsyncer rule)" if finding.control == "tolerations" else ""
        message = f"{field}: {finding.problem} at level {level}{rule}"
        violations.append(Violation(control=finding.control, field=field, message=message))
    return violations


def validate_allow_entry(entry: str) -> None:
    """Raise ValueError, with a one-line reason, unless ``entry`` is an allow-list entry."""
    _parse_entry(entry)


def _parse_entry(entry: str) -> str:
    """The normalised allow key of one entry (a control name is its own key)."""
    if entry in CONTROLS or entry in HOST_NAMESPACES:
        return entry
    kind, sep, value = entry.partition(":")
    if sep and kind == "capability":
        if _CAPABILITY.fullmatch(value):
            return f"capability:{capability_key(value)}"
        raise ValueError(
            f"allow entry {entry!r}: capability:<NAME> needs a capability such as NET_ADMIN"
        )
    if sep and kind == "hostPath":
        if _path_parts(value) is not None:
            return entry
        raise ValueError(
            f"allow entry {entry!r}: hostPath:<prefix> needs an absolute path without . or .."
        )
    if sep and kind == "hostPort":
        if value.isascii() and value.isdigit() and 1 <= int(value) <= 65535:
            return f"hostPort:{int(value)}"
        raise ValueError(f"allow entry {entry!r}: hostPort:<n> needs a port from 1 to 65535")
    if sep and kind == "sysctl":
        if _SYSCTL.fullmatch(value):
            return entry
        raise ValueError(
            f"allow entry {entry!r}: sysctl:<name> needs a sysctl such as net.core.somaxconn"
        )
    close = difflib.get_close_matches(entry, CONTROLS + HOST_NAMESPACES, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise ValueError(
        f"unknown allow entry {entry!r}{hint}; expected a control name, "
        "hostNetwork, hostPID, hostIPC, capability:<NAME>, hostPath:<path>, hostPort:<n> "
        "or sysctl:<name>"
    )


def _allowance(entries: Iterable[str]) -> _Allowance:
    keys = {_parse_entry(entry) for entry in entries}
    host_paths = tuple(
        parts
        for key in sorted(keys)
        if key.startswith("hostPath:")
        and (parts := _path_parts(key.removeprefix("hostPath:"))) is not None
    )
    return _Allowance(
        controls=frozenset(keys & set(CONTROLS)), keys=frozenset(keys), host_paths=host_paths
    )


def _path_parts(path: str) -> tuple[str, ...] | None:
    """An absolute path's components, or None if relative or holding ``.``/``..``."""
    if not path.startswith("/"):
        return None
    parts = tuple(part for part in path.split("/") if part)
    return None if any(part in (".", "..") for part in parts) else parts


def _render(path: Path) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _IDENT.fullmatch(part):
            out += f".{part}" if out else part
        else:
            out += f"[{json.dumps(part)}]"
    return out


def _sort_key(path: Path) -> tuple[tuple[int, int, str], ...]:
    return tuple((0, p, "") if isinstance(p, int) else (1, 0, p) for p in path)


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}
