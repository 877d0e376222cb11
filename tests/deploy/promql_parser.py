"""Prometheus' own PromQL parser for the tests: ``tests/deploy/promqlcheck`` built once.

:func:`parse` sends expressions to the ``promqlcheck`` command (a few lines of
Go around ``github.com/prometheus/prometheus/promql/parser``, pinned by its
``go.mod``/``go.sum``), built from the Go module proxy like the control plane
and cached under the same directory (:func:`syncer.localcluster.build.cache_root`),
keyed by a hash of its sources so a change rebuilds it.  Each answer is
``Parsed(error=None, metrics=...)`` with the metric names of the expression's
vector selectors, or ``Parsed(error="1:11: parse error: ...", metrics=())``.
A build that fails raises ``AssertionError`` with Go's output.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

from syncer.localcluster.build import cache_root

SOURCE = Path(__file__).resolve().parent / "promqlcheck"
FILES = ("go.mod", "go.sum", "main.go")


class Parsed(NamedTuple):
    error: str | None
    metrics: tuple[str, ...]


def _binary() -> Path:
    digest = hashlib.sha256(b"".join((SOURCE / f).read_bytes() for f in FILES)).hexdigest()
    binary = cache_root() / f"promqlcheck-{digest[:16]}" / "promqlcheck"
    if binary.is_file():
        return binary
    go = shutil.which("go") or "/usr/local/go/bin/go"
    env = {
        **os.environ,
        "CGO_ENABLED": "0",
        "GOTOOLCHAIN": "local",
        "GOFLAGS": "-mod=readonly -buildvcs=false",
    }
    binary.parent.mkdir(parents=True, exist_ok=True)
    partial = binary.with_suffix(".partial")
    proc = subprocess.run(
        [go, "build", "-o", str(partial), "."],
        cwd=SOURCE,
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    assert proc.returncode == 0, f"building promqlcheck failed: {proc.stderr.strip()}"
    partial.replace(binary)
    return binary


def parse(exprs: Sequence[str]) -> list[Parsed]:
    """Prometheus' verdict on each of ``exprs``, in order."""
    stdin = "".join(json.dumps(expr) + "\n" for expr in exprs)
    proc = subprocess.run(
        [str(_binary())], input=stdin, capture_output=True, text=True, timeout=120, check=True
    )
    answers = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(answers) == len(exprs), proc.stderr
    return [Parsed(a.get("error"), tuple(a.get("metrics") or ())) for a in answers]
