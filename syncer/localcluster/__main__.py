"""``python -m syncer.localcluster build | up``: build the binaries, or run both clusters.

``up`` writes ``<run dir>/host.kubeconfig`` and ``<run dir>/virtual.kubeconfig``,
prints how to use them and where the host's kubelet API (kwok) reads pod logs,
runs exec and forwards ports, and stays in the foreground until SIGINT/SIGTERM,
then stops every process it started.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import sys
import threading
import time
from pathlib import Path
from types import FrameType

from syncer.localcluster.build import BuildError, build
from syncer.localcluster.cluster import ControlPlane, ControlPlaneError


def _say(message: str) -> None:
    print(f"[controlplane] {message}", file=sys.stderr, flush=True)


def up(*, run_dir: Path, virtual_only: bool = False, nodes: int = 3) -> ControlPlane:
    """Build if needed, start both clusters and publish their kubeconfigs in ``run_dir``."""
    result = build(progress=_say)
    if result.built:
        _say(f"built {', '.join(result.built)} in {result.seconds:.0f}s")
    plane = ControlPlane(
        binaries=result.binaries,
        run_dir=run_dir,
        nodes=nodes,
        virtual_only=virtual_only,
        progress=_say,
    )
    plane.start()
    clusters = [plane.virtual] if virtual_only else [plane.host, plane.virtual]
    for info in clusters:
        target = run_dir / f"{info.name}.kubeconfig"
        shutil.copyfile(info.kubeconfig, target)
        print(f"{info.name:8s} kubeconfig: {target}", flush=True)
        print(f"         kubectl --kubeconfig {target} get ns", flush=True)
    if not virtual_only:
        kubelet = plane.kubelet
        _say(
            f"host kubelets (kwok) at {kubelet.address}:{kubelet.port}: pods log "
            f"{kubelet.default_log.name} from {kubelet.logs_dir}, exec runs here in "
            f"{kubelet.exec_dir}, port-forward reaches 127.0.0.1:{kubelet.forward_port}"
        )
    return plane


def wait_for_signal() -> None:
    """Block until SIGINT or SIGTERM."""
    stop = threading.Event()

    def handler(signum: int, frame: FrameType | None) -> None:
        del signum, frame
        stop.set()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)
    while not stop.wait(0.5):
        pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m syncer.localcluster")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("build", help="build the control-plane binaries into the cache")
    run = sub.add_parser("up", help="run a host and a virtual cluster until interrupted")
    run.add_argument("--run-dir", type=Path, default=Path(".dev"))
    run.add_argument("--virtual-only", action="store_true")
    run.add_argument("--nodes", type=int, default=3)
    args = parser.parse_args(argv)
    try:
        if args.command == "build":
            result = build(progress=_say)
            what = (
                f"built {', '.join(result.built)} in {result.seconds:.0f}s"
                if result.built
                else "cached"
            )
            _say(f"binaries in {result.binaries.directory} ({what})")
            return 0
        started = time.monotonic()
        plane = up(run_dir=args.run_dir, virtual_only=args.virtual_only, nodes=args.nodes)
        try:
            _say(f"up in {time.monotonic() - started:.1f}s; Ctrl-C stops everything")
            wait_for_signal()
        finally:
            _say("stopping")
            plane.stop()
            _say("stopped")
    except (BuildError, ControlPlaneError) as exc:
        print(f"vsyncer: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
