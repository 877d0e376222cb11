"""Command line: ``vsyncer run | dev | version``.

``run`` starts the daemon from settings (env ``VSYNCER_*`` and an optional YAML
file).  ``dev`` builds (once) and starts a local host and virtual cluster under
``.dev/``, prints how to reach them, then runs the syncer between them (vcluster
``dev``, host namespace ``vcluster-dev`` with the owner anchor a chart would
create there, the Service ``dev``) in the foreground, logging to the
console, until Ctrl-C, when it stops the syncer and everything it started.

Exit codes: a bad setting, or a plugin that cannot be loaded, prints one line
to stderr and exits 2 (``dev``: 1 when the clusters cannot be built or
started); otherwise the daemon's own code (0 after a clean stop, 1 after a
failure).  Both run the daemon on uvloop when it is installed (a Linux dependency).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
from pathlib import Path
from typing import Any

from syncer import __version__

DEV_VCLUSTER = "dev"
DEV_HOST_NAMESPACE = "vcluster-dev"


def _dev(args: argparse.Namespace) -> int:
    from syncer.errors import ConfigError
    from syncer.localcluster import BuildError, ControlPlaneError, cached
    from syncer.localcluster.__main__ import up
    from syncer.localcluster.cluster import Api
    from syncer.logs import configure_logging
    from syncer.owneranchor import stand_in
    from syncer.plugins import PluginError
    from syncer.settings import load_settings

    run_dir: Path = args.run_dir
    try:
        plane = up(run_dir=run_dir, nodes=args.nodes)
    except (BuildError, ControlPlaneError) as exc:
        print(f"vsyncer dev: {exc}", file=sys.stderr)
        return 1
    try:
        binaries = cached()
        if shutil.which("kubectl") is None and binaries is not None:
            print(f"kubectl (built with the control plane): {binaries.path('kubectl')}", flush=True)
        body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": DEV_HOST_NAMESPACE}}
        Api(plane.host).request("POST", "/api/v1/namespaces", body)
        # The owner anchor a chart would create: every synced host object is owned by it.
        anchor = stand_in(namespace=DEV_HOST_NAMESPACE, name=DEV_VCLUSTER)
        Api(plane.host).request("POST", f"/api/v1/namespaces/{DEV_HOST_NAMESPACE}/services", anchor)
        env = {
            "VSYNCER_VCLUSTER_NAME": DEV_VCLUSTER,
            "VSYNCER_HOST_NAMESPACE": DEV_HOST_NAMESPACE,
            "VSYNCER_HOST_KUBECONFIG": str(run_dir / "host.kubeconfig"),
            "VSYNCER_VIRTUAL_KUBECONFIG": str(run_dir / "virtual.kubeconfig"),
            "VSYNCER_METRICS_BIND": args.metrics_bind,
            "VSYNCER_PROBES_BIND": args.probes_bind,
            "VSYNCER_LOG_FORMAT": "console",
            "VSYNCER_LOG_LEVEL": "info",
        }
        try:
            settings = load_settings(env=env)
        except ConfigError as exc:
            print(f"vsyncer dev: {exc}", file=sys.stderr)
            return 2
        configure_logging(format=settings.log_format, level=settings.log_level)
        print(
            f"vsyncer: syncing vcluster {DEV_VCLUSTER!r} into host namespace "
            f"{DEV_HOST_NAMESPACE!r}; metrics at http://{_url(args.metrics_bind)}/metrics, "
            f"probes at http://{_url(args.probes_bind)}/readyz",
            flush=True,
        )
        print("Ctrl-C stops the syncer and both clusters.", flush=True)
        from syncer.daemon import Daemon

        try:
            return int(_runner()(Daemon(settings=settings).run()))
        except (ConfigError, PluginError) as exc:
            print(f"vsyncer dev: {exc}", file=sys.stderr)
            return 2
    finally:
        print("stopping the clusters…", file=sys.stderr, flush=True)
        plane.stop()


def _url(bind: str) -> str:
    host, _, port = bind.rpartition(":")
    return f"{host or '127.0.0.1'}:{port}"


def _runner() -> Any:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux
        return asyncio.run
    return uvloop.run


def _run(args: argparse.Namespace) -> int:
    import structlog

    from syncer.errors import ConfigError
    from syncer.kubeconfigwait import wait_for_virtual_kubeconfig
    from syncer.logs import configure_logging
    from syncer.plugins import PluginError
    from syncer.settings import load_settings

    try:
        # The control plane may still be writing the virtual kubeconfig: wait, bounded.
        configure_logging(format="auto", level="info")
        wait_for_virtual_kubeconfig(
            config_file=args.config, env=os.environ, log=structlog.get_logger("vsyncer.start")
        )
        settings = load_settings(config_file=args.config)
    except ConfigError as exc:
        print(f"vsyncer: {exc}", file=sys.stderr)
        return 2
    configure_logging(format=settings.log_format, level=settings.log_level)
    from syncer.daemon import Daemon

    try:
        return int(_runner()(Daemon(settings=settings).run()))
    except (ConfigError, PluginError) as exc:
        print(f"vsyncer: {exc}", file=sys.stderr)
        return 2


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="vsyncer", description="the syncer of a virtual cluster")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("version", help="print the version")
    run = sub.add_parser("run", help="run the syncer (settings from VSYNCER_* and --config)")
    run.add_argument("--config", type=Path, default=None, help="YAML settings file")
    dev = sub.add_parser("dev", help="run a local host and virtual cluster until Ctrl-C")
    dev.add_argument("--run-dir", type=Path, default=Path(".dev"))
    dev.add_argument("--nodes", type=int, default=3)
    dev.add_argument("--metrics-bind", default="127.0.0.1:8080")
    dev.add_argument("--probes-bind", default="127.0.0.1:8081")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if args.command == "version":
        print(__version__)
        return 0
    if args.command == "run":
        return _run(args)
    return _dev(args)
