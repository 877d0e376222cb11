"""Command line: ``vsyncer run | dev | version``.

``run`` starts the daemon from settings (env ``VSYNCER_*`` and an optional YAML
file).  ``dev`` builds (once) and starts a local host and virtual cluster under
``.dev/``, prints how to reach them, and stays in the foreground until Ctrl-C,
when it stops everything it started.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
from pathlib import Path

from syncer import __version__


def _dev(args: argparse.Namespace) -> int:
    from syncer.localcluster import BuildError, ControlPlaneError, cached
    from syncer.localcluster.__main__ import up, wait_for_signal

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
        print("Ctrl-C stops everything.", flush=True)
        wait_for_signal()
    finally:
        print("stopping…", file=sys.stderr, flush=True)
        plane.stop()
    return 0


def _run(args: argparse.Namespace) -> int:
    from syncer.errors import ConfigError
    from syncer.logs import configure_logging
    from syncer.plugins import PluginError
    from syncer.settings import load_settings

    try:
        settings = load_settings(config_file=args.config)
    except ConfigError as exc:
        print(f"vsyncer: {exc}", file=sys.stderr)
        return 2
    configure_logging(format=settings.log_format, level=settings.log_level)
    from syncer.daemon import Daemon

    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux
        runner = asyncio.run
    else:
        runner = uvloop.run
    try:
        return int(runner(Daemon(settings=settings).run()))
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
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if args.command == "version":
        print(__version__)
        return 0
    if args.command == "run":
        return _run(args)
    return _dev(args)
