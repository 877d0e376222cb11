"""Pods for the podsecurity tests: a kubectl-run pod, its restricted twin, and edits."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from syncer.podsecurity import check_pod

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
