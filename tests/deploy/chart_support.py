"""Render and install deploy/chart with the Helm built from the Go module proxy.

:func:`helm` runs the cached ``helm`` (built with the control plane, once) with
its cache, config and data directories under a temporary directory, so nothing
is written to the user's home; a non-zero exit raises ``AssertionError`` with
Helm's stderr.  :func:`render` is ``helm template`` with the given values,
parsed into the list of rendered objects.
"""

from __future__ import annotations

import copy
import functools
import json
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from syncer.localcluster import build

CHART = Path(__file__).resolve().parents[2] / "deploy" / "chart"
KUBE_VERSION = "1.36.3"
Json = dict[str, Any]


@functools.cache
def helm_binary() -> Path:
    """The cached Helm, built first (with the control plane) if the cache is cold."""
    return build().binaries.path("helm")


def helm(
    *args: str, kubeconfig: Path | None = None, values: Mapping[str, Any] | None = None
) -> str:
    """Helm's stdout; ``values`` go in as a values file (``-f``)."""
    with tempfile.TemporaryDirectory(prefix="helm-") as home:
        argv = [str(helm_binary()), *args]
        if values is not None:
            path = Path(home) / "values.yaml"
            path.write_text(yaml.safe_dump(dict(values)))
            argv += ["-f", str(path)]
        if kubeconfig is not None:
            argv += ["--kubeconfig", str(kubeconfig)]
        env = {
            "PATH": "/usr/bin:/bin",
            "HOME": home,
            "HELM_CACHE_HOME": f"{home}/cache",
            "HELM_CONFIG_HOME": f"{home}/config",
            "HELM_DATA_HOME": f"{home}/data",
        }
        proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"helm {' '.join(args)} failed: {proc.stderr.strip()}"
    return proc.stdout


def render(
    values: Mapping[str, Any] | None = None, *, release: str = "vc", namespace: str = "tenant-a"
) -> list[Json]:
    """The objects ``helm template`` renders for ``values`` (a fresh copy each call)."""
    key = json.dumps(values, sort_keys=True)
    return copy.deepcopy(_rendered(key, release=release, namespace=namespace))


@functools.cache
def _rendered(values: str, *, release: str, namespace: str) -> list[Json]:
    """One ``helm template`` per distinct input in a session (the chart does not change)."""
    out = helm(
        "template",
        release,
        str(CHART),
        "--namespace",
        namespace,
        "--kube-version",
        KUBE_VERSION,
        values=json.loads(values),
    )
    return [doc for doc in yaml.safe_load_all(out) if doc]


def render_failure(values: Mapping[str, Any]) -> str:
    """Helm's error for ``values`` that must not render."""
    with tempfile.TemporaryDirectory(prefix="helm-") as home:
        path = Path(home) / "values.yaml"
        path.write_text(yaml.safe_dump(dict(values)))
        argv = [str(helm_binary()), "template", "vc", str(CHART), "--kube-version", KUBE_VERSION]
        proc = subprocess.run(
            [*argv, "-f", str(path)],
            env={"PATH": "/usr/bin:/bin", "HOME": home},
            capture_output=True,
            text=True,
            timeout=300,
        )
    assert proc.returncode != 0, "the values rendered"
    return proc.stderr


def one(objects: Sequence[Json], kind: str, name: str | None = None) -> Json:
    found = [
        o for o in objects if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)
    ]
    assert len(found) == 1, f"{len(found)} {kind} {name or ''}"
    return found[0]


def container(objects: Sequence[Json], name: str) -> Json:
    pod = one(objects, "StatefulSet")["spec"]["template"]["spec"]
    by_name = {c["name"]: c for c in pod["containers"]}
    return dict(by_name[name])


def env_of(c: Json) -> dict[str, Any]:
    """A container's env: name → value, or the ``valueFrom`` mapping."""
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in c.get("env", [])}


def role_rules(objects: Sequence[Json], kind: str = "Role") -> dict[tuple[str, str], set[str]]:
    """(apiGroup, resource[/resourceName]) → verbs, over every rule of the one ``kind``."""
    found = [o for o in objects if o["kind"] == kind]
    rules: dict[tuple[str, str], set[str]] = {}
    for obj in found:
        for rule in obj["rules"]:
            for group in rule["apiGroups"]:
                for resource in rule["resources"]:
                    names = rule.get("resourceNames") or [""]
                    for name in names:
                        key = (group, f"{resource}:{name}" if name else resource)
                        rules.setdefault(key, set()).update(rule["verbs"])
    return rules
