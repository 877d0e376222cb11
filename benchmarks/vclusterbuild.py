"""Build vcluster's syncer (``vcluster start``), the P7 baseline, once, from the Go module proxy.

A benchmark-only build: ``make bench`` and ``make bench-vcluster`` ask for it,
``make test`` and CI never do.

Guarantees:

* The binary is built from ``github.com/loft-sh/vcluster/cmd/vcluster`` at
  :data:`VCLUSTER_VERSION` with the machine's Go and the control plane's Go
  environment (:func:`syncer.localcluster.gotool.go_env`: ``CGO_ENABLED=0``,
  ``GOTOOLCHAIN=local``, ``-mod=mod -buildvcs=false``; the default build and
  module caches), through a generated module that requires it, because
  ``go install …@version`` needs the proxy's version list, which it refuses.
* ``GONOSUMDB=github.com/loft-sh``: the checksum database does not know one of
  vcluster's own pre-release dependencies (``github.com/loft-sh/api/v4`` at an
  ``-rc`` version), which the proxy serves; every other module is verified.
* It lands next to the control plane, keyed by version
  (``<cache root>/vcluster-v0.36.1/bin/vcluster``), with the version's complete
  ``config/values.yaml`` beside it (its config schema has no defaults on the
  path the benchmark uses, so overrides are merged into the full file).  A
  cached binary is reused; one build at a time per cache (a file lock).
* Failure raises :class:`~syncer.localcluster.gotool.BuildError` with one line
  naming the log; the P7 row then says "not run" with that line.
"""

from __future__ import annotations

import fcntl
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from syncer.localcluster.build import Component, _write_module, cache_root
from syncer.localcluster.gotool import BuildError, find_go, go_env, module_dir

VCLUSTER_MODULE = "github.com/loft-sh/vcluster"
VCLUSTER_VERSION = "v0.36.1"
PACKAGE = f"{VCLUSTER_MODULE}/cmd/vcluster"


@dataclass(frozen=True, slots=True)
class VclusterBinary:
    """The built ``vcluster`` binary and its version's full ``values.yaml``."""

    binary: Path
    values: Path


def _root() -> Path:
    return cache_root() / f"vcluster-{VCLUSTER_VERSION}"


def _env() -> dict[str, str]:
    return {**go_env(), "GONOSUMDB": "github.com/loft-sh"}


def _go(argv: list[str], *, cwd: Path, log: Path) -> None:
    with log.open("a") as out:
        out.write(f"$ {' '.join(argv)}\n")
        out.flush()
        rc = subprocess.run(
            argv, cwd=cwd, env=_env(), stdout=out, stderr=subprocess.STDOUT, check=False
        ).returncode
    if rc != 0:
        raise BuildError(f"{' '.join(argv[:2])} for vcluster failed (exit {rc}); log: {log}")


def vcluster_binary() -> VclusterBinary:
    """The cached binary, built first if missing (minutes on 2 cores); :class:`BuildError`."""
    root = _root()
    found = VclusterBinary(binary=root / "bin" / "vcluster", values=root / "values.yaml")
    if found.binary.is_file() and found.values.is_file():
        return found
    root.mkdir(parents=True, exist_ok=True)
    with (root / ".build.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if found.binary.is_file() and found.values.is_file():
            return found
        go = find_go()
        log = root / "build.log"
        log.write_text("")
        src = root / "src"
        component = Component(
            name="vcluster",
            module=VCLUSTER_MODULE,
            version=VCLUSTER_VERSION,
            packages={"vcluster": PACKAGE},
        )
        _write_module(src, component)
        _go([go, "mod", "tidy"], cwd=src, log=log)
        found.binary.parent.mkdir(parents=True, exist_ok=True)
        tmp = found.binary.with_name(".vcluster.tmp")
        _go(
            [go, "build", "-trimpath", "-ldflags=-s -w", "-o", str(tmp), PACKAGE],
            cwd=src,
            log=log,
        )
        module = module_dir(
            go=go, module=VCLUSTER_MODULE, version=VCLUSTER_VERSION, workdir=src, log=log
        )
        shutil.copyfile(module / "config" / "values.yaml", found.values)
        tmp.replace(found.binary)
    return found
