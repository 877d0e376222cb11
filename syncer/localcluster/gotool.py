"""The Go toolchain as the control-plane build uses it: its environment, modules.

Guarantees: every ``go`` command runs with ``CGO_ENABLED=0``,
``GOTOOLCHAIN=local`` (the machine's Go, never a downloaded one),
``-mod=mod -buildvcs=false`` and no workspace; a failure raises
:class:`BuildError` with one line that names the log file.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path


class BuildError(RuntimeError):
    """The control plane could not be built; the message is one line and names the log."""


def go_env() -> dict[str, str]:
    """The environment every go command of the build runs with (see the module docstring)."""
    env = dict(os.environ)
    env["CGO_ENABLED"] = "0"
    env["GOTOOLCHAIN"] = "local"
    env["GOFLAGS"] = "-mod=mod -buildvcs=false"
    env.setdefault("GOCACHE", str(Path.home() / ".cache" / "go-build"))
    env.pop("GOWORK", None)
    return env


def find_go() -> str:
    go = shutil.which("go")
    if go is None:
        raise BuildError(
            "the Go toolchain (go >= 1.26) is not on PATH; it is needed once to build the "
            "local Kubernetes control plane"
        )
    return go


def staging_replaces(*, go: str, version: str, workdir: Path, log: Path) -> dict[str, str]:
    """``k8s.io/*`` modules the tag's go.mod requires at v0.0.0 → their published version."""
    workdir.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        [go, "mod", "download", "-json", f"k8s.io/kubernetes@{version}"],
        cwd=workdir,
        env=go_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    log.write_text(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        raise BuildError(
            f"could not fetch k8s.io/kubernetes@{version} (exit {proc.returncode}); log: {log}"
        )
    gomod = Path(json.loads(proc.stdout)["GoMod"]).read_text()
    published = "v0." + version.removeprefix("v1.")
    staged = sorted(set(re.findall(r"^\s*(k8s\.io/[A-Za-z0-9._/-]+) v0\.0\.0\s*$", gomod, re.M)))
    if not staged:
        raise BuildError(
            f"no v0.0.0 staging requirements found in k8s.io/kubernetes@{version}'s go.mod"
        )
    return dict.fromkeys(staged, published)


def module_dir(*, go: str, module: str, version: str, workdir: Path, log: Path) -> Path:
    """Download ``module@version`` into the Go module cache; return its directory there."""
    workdir.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        [go, "mod", "download", "-json", f"{module}@{version}"],
        cwd=workdir,
        env=go_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    with log.open("a") as out:
        out.write(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        raise BuildError(f"could not fetch {module}@{version} (exit {proc.returncode}); log: {log}")
    return Path(json.loads(proc.stdout)["Dir"])
