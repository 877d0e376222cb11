"""Build the real Kubernetes control plane from the Go module proxy, once.

Guarantees:

* Binaries come from the published Go modules, built with the machine's Go
  (``CGO_ENABLED=0``, ``GOTOOLCHAIN=local``), never downloaded prebuilt.
* ``kube-apiserver``, ``kube-controller-manager``, ``kube-scheduler`` (and
  ``kubectl``, for people) are built from ``k8s.io/kubernetes`` through a
  small generated module that
  requires it and replaces every ``k8s.io/*`` staging module that the tag's own
  ``go.mod`` requires at ``v0.0.0`` with its published ``v0.<minor>.<patch>``.
  The list is read from the tag's ``go.mod``, not guessed.
* kwok is built from a copy of its module with three fixes (exec exit codes,
  stdin end, UID-preconditioned pod deletes; see :mod:`syncer.localcluster.kwokpatch`).
* ``etcd``, ``kwok`` and ``helm`` (which installs the chart in ``deploy/chart``
  in the tests) get a generated module each, so their dependency graphs never
  constrain Kubernetes'.
* Everything lands in a per-user cache keyed by version
  (``~/.cache/vsyncer/k8s-v1.36.3/``; ``VSYNCER_CACHE_DIR`` or
  ``XDG_CACHE_HOME`` move it).  A component is rebuilt only when its binary is
  missing or its recorded module version differs; :func:`build` reports which
  components it built so callers (and tests) can tell a cache hit.
* Progress goes to a callback while building; a failure raises
  :class:`BuildError` with a one-line message that names the log file.
"""

from __future__ import annotations

import dataclasses
import fcntl
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from syncer.localcluster import kwokpatch
from syncer.localcluster.gotool import BuildError as BuildError
from syncer.localcluster.gotool import find_go, go_env, module_dir, staging_replaces

KUBERNETES_VERSION = "v1.36.3"
ETCD_VERSION = "v3.6.16"
KWOK_VERSION = "v0.8.0"
HELM_VERSION = "v3.22.0"
GO_DIRECTIVE = "1.26.0"

BINARIES = (
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kubectl",
    "etcd",
    "kwok",
    "helm",
)

#: kwok's own stage definitions (its module ships them), concatenated into one
#: config next to the binaries: nodes become Ready and keep a lease; pods get
#: scheduled, turn Running with an IP, complete, and are deleted gracefully.
KWOK_STAGES = (
    "kustomize/stage/node/fast/node-initialize.yaml",
    "kustomize/stage/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml",
    "kustomize/stage/pod/fast/pod-ready.yaml",
    "kustomize/stage/pod/fast/pod-complete.yaml",
    "kustomize/stage/pod/fast/pod-delete.yaml",
)
KWOK_CONFIG = "kwok-stages.yaml"

Progress = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class Component:
    """One generated Go module and the binaries built from it."""

    name: str
    module: str
    version: str
    #: binary name → package path
    packages: dict[str, str]
    replaces: dict[str, str] = field(default_factory=dict)
    #: module → local directory it is built from instead (a patched copy)
    local: dict[str, Path] = field(default_factory=dict)
    #: changes when what is built from ``version`` changes (e.g. its patches)
    revision: str = ""

    @property
    def recorded(self) -> str:
        """What the cache manifest records for this component."""
        return f"{self.version}+{self.revision}" if self.revision else self.version


@dataclass(frozen=True, slots=True)
class Binaries:
    """Paths of a built control plane."""

    directory: Path
    version: str

    def path(self, name: str) -> Path:
        return self.directory / name


@dataclass(frozen=True, slots=True)
class BuildResult:
    binaries: Binaries
    built: tuple[str, ...]
    seconds: float


def cache_root() -> Path:
    explicit = os.environ.get("VSYNCER_CACHE_DIR")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "vsyncer"


def cache_dir(version: str = KUBERNETES_VERSION) -> Path:
    return cache_root() / f"k8s-{version}"


def _print_progress(message: str) -> None:
    print(f"[controlplane] {message}", file=sys.stderr, flush=True)


def components(*, replaces: dict[str, str]) -> list[Component]:
    return [
        Component(
            name="kubernetes",
            module="k8s.io/kubernetes",
            version=KUBERNETES_VERSION,
            packages={
                "kube-apiserver": "k8s.io/kubernetes/cmd/kube-apiserver",
                "kube-controller-manager": "k8s.io/kubernetes/cmd/kube-controller-manager",
                "kube-scheduler": "k8s.io/kubernetes/cmd/kube-scheduler",
                # for people: `make dev` prints kubectl lines against both clusters.
                "kubectl": "k8s.io/kubernetes/cmd/kubectl",
            },
            replaces=replaces,
        ),
        Component(
            name="etcd",
            module="go.etcd.io/etcd/server/v3",
            version=ETCD_VERSION,
            packages={"etcd": "go.etcd.io/etcd/server/v3"},
        ),
        Component(
            name="kwok",
            module="sigs.k8s.io/kwok",
            version=KWOK_VERSION,
            packages={"kwok": "sigs.k8s.io/kwok/cmd/kwok"},
            revision=kwokpatch.REVISION,
        ),
        Component(
            name="helm",
            module="helm.sh/helm/v3",
            version=HELM_VERSION,
            packages={"helm": "helm.sh/helm/v3/cmd/helm"},
        ),
    ]


def _write_module(src: Path, component: Component) -> None:
    src.mkdir(parents=True, exist_ok=True)
    lines = [
        f"module vsyncer.local/build/{component.name}",
        "",
        f"go {GO_DIRECTIVE}",
        "",
        f"require {component.module} {component.version}",
    ]
    if component.replaces:
        lines += ["", "replace ("]
        lines += [f"\t{mod} => {mod} {ver}" for mod, ver in sorted(component.replaces.items())]
        lines.append(")")
    lines += [f"replace {mod} => {path}" for mod, path in sorted(component.local.items())]
    (src / "go.mod").write_text("\n".join(lines) + "\n")
    imports = "\n".join(f'\t_ "{pkg}"' for pkg in component.packages.values())
    (src / "tools.go").write_text(
        "//go:build tools\n\n"
        "// Generated by vsyncer: pins the packages to build.\npackage tools\n\n"
        f"import (\n{imports}\n)\n"
    )


Runner = Callable[[Sequence[str], Path, Path, Progress, str], int]


def _run_go(argv: Sequence[str], cwd: Path, log: Path, progress: Progress, label: str) -> int:
    """Run a go command, logging everything and reporting progress every 15 seconds."""
    started = time.monotonic()
    count = 0
    stop = threading.Event()

    def heartbeat() -> None:
        while not stop.wait(15):
            progress(f"{label}: {count} packages so far, {time.monotonic() - started:.0f}s")

    ticker = threading.Thread(target=heartbeat, daemon=True)
    with log.open("a") as out:
        out.write(f"$ {' '.join(argv)}\n")
        out.flush()
        proc = subprocess.Popen(
            list(argv), cwd=cwd, env=go_env(), stdout=out, stderr=subprocess.PIPE, text=True
        )
        ticker.start()
        assert proc.stderr is not None
        for line in proc.stderr:
            out.write(line)
            if not line.startswith(("go: downloading", "#")):
                count += 1
        rc = proc.wait()
        stop.set()
    return rc


def _manifest_path(root: Path) -> Path:
    return root / "manifest.json"


def _read_manifest(root: Path) -> dict[str, str]:
    try:
        data = json.loads(_manifest_path(root).read_text())
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def _up_to_date(root: Path, manifest: dict[str, str], component: Component) -> bool:
    extras = (KWOK_CONFIG,) if component.name == "kwok" else ()
    return manifest.get(component.name) == component.recorded and all(
        (root / "bin" / binary).is_file() for binary in (*component.packages, *extras)
    )


def _write_kwok_config(*, go: str, src: Path, target: Path, log: Path) -> None:
    proc = subprocess.run(
        [go, "list", "-m", "-json", "sigs.k8s.io/kwok"],
        cwd=src,
        env=go_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        with log.open("a") as out:
            out.write(proc.stdout + proc.stderr)
        raise BuildError(f"locating the kwok module failed (exit {proc.returncode}); log: {log}")
    module_dir = Path(json.loads(proc.stdout)["Dir"])
    docs = [(module_dir / stage).read_text().strip() for stage in KWOK_STAGES]
    target.write_text("\n---\n".join(docs) + "\n")


def _patched_kwok(component: Component, *, go: str, root: Path, log: Path) -> Component:
    """``component`` built from a fixed copy of the kwok module (:mod:`.kwokpatch`)."""
    source = module_dir(
        go=go,
        module=component.module,
        version=component.version,
        workdir=root / "src" / "probe",
        log=log,
    )
    target = root / "src" / "kwok-module"
    try:
        kwokpatch.patched_copy(source=source, target=target)
    except kwokpatch.PatchError as exc:
        raise BuildError(f"{exc}; log: {log}") from exc
    return dataclasses.replace(component, local={component.module: target})


def cached(version: str = KUBERNETES_VERSION) -> Binaries | None:
    """The cached binaries if every one of them is present and current, else ``None``."""
    root = cache_dir(version)
    manifest = _read_manifest(root)
    comps = components(replaces={})
    if all(_up_to_date(root, manifest, c) for c in comps):
        return Binaries(directory=root / "bin", version=version)
    return None


def build(*, progress: Progress = _print_progress, runner: Runner = _run_go) -> BuildResult:
    """Build what is missing from the cache and return the binaries' location.

    One build at a time per cache: a process that finds work to do takes an
    exclusive lock on ``<cache>/.build.lock`` (waiting for another build to
    finish, then finding its result in the manifest), so concurrent test
    sessions never write the same files.
    """
    started = time.monotonic()
    root = cache_dir(KUBERNETES_VERSION)
    manifest = _read_manifest(root)
    if all(_up_to_date(root, manifest, c) for c in components(replaces={})):
        return BuildResult(
            binaries=Binaries(directory=root / "bin", version=KUBERNETES_VERSION),
            built=(),
            seconds=0.0,
        )
    root.mkdir(parents=True, exist_ok=True)
    with (root / ".build.lock").open("a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            progress("another build of the control plane is running; waiting for it")
            fcntl.flock(lock, fcntl.LOCK_EX)
        return _build(root=root, progress=progress, runner=runner, started=started)


def _build(*, root: Path, progress: Progress, runner: Runner, started: float) -> BuildResult:
    bindir = root / "bin"
    logs = root / "logs"
    manifest = _read_manifest(root)
    wanted = components(replaces={})
    todo = [c for c in wanted if not _up_to_date(root, manifest, c)]
    if not todo:
        return BuildResult(
            binaries=Binaries(directory=bindir, version=KUBERNETES_VERSION), built=(), seconds=0.0
        )
    go = find_go()
    bindir.mkdir(parents=True, exist_ok=True)
    logs.mkdir(parents=True, exist_ok=True)
    built: list[str] = []
    for stub in todo:
        component = stub
        log = logs / f"build-{component.name}.log"
        log.write_text("")
        if component.name == "kubernetes":
            progress(f"reading the staging modules of k8s.io/kubernetes@{KUBERNETES_VERSION}")
            component = components(
                replaces=staging_replaces(
                    go=go, version=KUBERNETES_VERSION, workdir=root / "src" / "probe", log=log
                )
            )[0]
        if component.name == "kwok":
            component = _patched_kwok(component, go=go, root=root, log=log)
        src = root / "src" / component.name
        _write_module(src, component)
        progress(f"resolving {component.module}@{component.version} (log: {log})")
        rc = runner([go, "mod", "tidy"], src, log, progress, f"resolve {component.name}")
        if rc != 0:
            raise BuildError(
                f"resolving {component.module}@{component.version} failed (exit {rc}); log: {log}"
            )
        progress(f"building {', '.join(component.packages)} — the first build takes minutes")
        for binary, package in component.packages.items():
            out = bindir / f".{binary}.tmp"
            argv = [go, "build", "-v", "-trimpath", "-ldflags=-s -w", "-o", str(out), package]
            rc = runner(argv, src, log, progress, f"build {binary}")
            if rc != 0:
                raise BuildError(
                    f"building {binary} from {component.module}@{component.version} "
                    f"failed (exit {rc}); log: {log}"
                )
            out.replace(bindir / binary)
        if component.name == "kwok":
            _write_kwok_config(go=go, src=src, target=bindir / KWOK_CONFIG, log=log)
        manifest[component.name] = component.recorded
        _manifest_path(root).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        built.append(component.name)
        progress(f"{component.name} built")
    return BuildResult(
        binaries=Binaries(directory=bindir, version=KUBERNETES_VERSION),
        built=tuple(built),
        seconds=time.monotonic() - started,
    )
