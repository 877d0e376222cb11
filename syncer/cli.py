"""Command line: ``vsyncer run | explain | wake | rbac | dev | version`` and ``vsyncer --version``.

``run`` starts the daemon from settings (env ``VSYNCER_*`` and an optional YAML
file): it checks what validation alone cannot (:func:`syncer.startup.preflight`:
ports in use, kinds no mapper serves), warns about ``VSYNCER_*`` variables that
are no setting, and logs one ``starting vsyncer`` line with the version and the
effective settings (secrets redacted) before the daemon starts.  ``run
--dry-run`` (``VSYNCER_DRY_RUN``) writes nothing (:mod:`syncer.dryrun`) and runs
without leader election.  ``explain`` prints one object's mapping, owner and
drift (:mod:`syncer.explain`; exit 0 in sync, 1 drifted, 2 not ours; ``-o json``
for scripts).  ``wake``
removes sleep mode's marker, so the running syncer wakes the cluster
(:func:`syncer.sleep.wake`; exit 0, or 2 when the cluster cannot be reached).
``rbac`` prints, as YAML, the host Role and ClusterRole the settings need
(:mod:`syncer.rbac`, the rules the Helm chart renders); it reads no cluster.

``dev`` builds (once) and starts a local host and virtual cluster under
``.dev/``, prints how to reach them, then runs the syncer between them (vcluster
``dev``, host namespace ``vcluster-dev`` with the owner anchor a chart would
create there, the Service ``dev``) in the foreground, logging to the
console, until Ctrl-C, when it stops the syncer and everything it started.
Its kubelet API (``--kubelet-bind``, default ``127.0.0.1:10250``) trusts the
virtual API server's kubelet-client CA and is what the fake nodes advertise,
so ``kubectl logs``/``exec``/``port-forward`` of virtual pods work; ``dev``
prints a ``kubectl logs`` line for the README walkthrough's deployment.

Exit codes: a bad setting, or a plugin that cannot be loaded, prints one line
to stderr and exits 2 (``dev``: 1 when the clusters cannot be built or
started); otherwise the daemon's own code (0 after a clean stop, 1 after a
failure).  Both run the daemon on uvloop when it is installed (a Linux dependency).
"""

from __future__ import annotations

import argparse
import asyncio
import json
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
            # The fake nodes' kubelet API, trusted by the virtual API server's kubelet client.
            "VSYNCER_KUBELET_BIND": args.kubelet_bind,
            "VSYNCER_KUBELET_ADDRESS": "127.0.0.1",
            "VSYNCER_KUBELET_CLIENT_CA": str(plane.virtual.kubelet_client_ca),
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
        print(
            f"kubelet API (logs, exec, attach, port-forward) at https://{_url(args.kubelet_bind)};"
            " once the README walkthrough has created deployment web:\n"
            f"         kubectl --kubeconfig {run_dir / 'virtual.kubeconfig'} -n shop logs"
            " deployment/web",
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
    from syncer.plugins import PluginError, discover
    from syncer.settings import load_settings
    from syncer.startup import effective_settings, preflight, warn_misspelt

    env = {**os.environ, "VSYNCER_DRY_RUN": "true"} if args.dry_run else dict(os.environ)
    try:
        # The control plane may still be writing the virtual kubeconfig: wait, bounded.
        configure_logging(format="auto", level="info")
        wait_for_virtual_kubeconfig(
            config_file=args.config, env=env, log=structlog.get_logger("vsyncer.start")
        )
        settings = load_settings(config_file=args.config, env=env)
        if settings.dry_run:  # a dry run writes no Lease either
            settings = settings.model_copy(update={"leader_elect": False})
        preflight(settings, kinds_served=discover())
    except (ConfigError, PluginError) as exc:
        print(f"vsyncer: {exc}", file=sys.stderr)
        return 2
    configure_logging(format=settings.log_format, level=settings.log_level)
    log = structlog.get_logger("vsyncer.start")
    warn_misspelt(env, log=log)
    log.info("starting vsyncer", version=__version__, settings=effective_settings(settings))
    from syncer.daemon import Daemon

    try:
        return int(_runner()(Daemon(settings=settings).run()))
    except (ConfigError, PluginError) as exc:
        print(f"vsyncer: {exc}", file=sys.stderr)
        return 2


def _explain(args: argparse.Namespace) -> int:
    from syncer.errors import ConfigError
    from syncer.explain import Target, explain
    from syncer.logs import configure_logging
    from syncer.plugins import PluginError
    from syncer.settings import load_settings

    try:
        target = Target.parse(args.target, host_name=args.host)
        settings = load_settings(config_file=args.config)
        configure_logging(format="console", level="warning", stream=sys.stderr)
        report = _runner()(explain(settings=settings, target=target))
    except (ConfigError, PluginError) as exc:
        print(f"vsyncer explain: {exc}", file=sys.stderr)
        return 2
    if args.output == "json":
        print(json.dumps(report.as_dict(), indent=2))
    else:
        print("\n".join(report.lines()))
    return int(report.code)


def _wake(args: argparse.Namespace) -> int:
    from syncer.errors import ApiError, ConfigError
    from syncer.settings import load_settings
    from syncer.sleep import wake

    try:
        was_asleep = _runner()(wake(settings=load_settings(config_file=args.config)))
    except (ConfigError, ApiError) as exc:
        print(f"vsyncer wake: {exc}", file=sys.stderr)
        return 2
    print("waking the virtual cluster" if was_asleep else "the virtual cluster is awake")
    return 0


def _rbac(args: argparse.Namespace) -> int:
    import yaml

    from syncer.errors import ConfigError
    from syncer.rbac import manifests
    from syncer.settings import load_settings

    try:
        objects = manifests(load_settings(config_file=args.config))
    except ConfigError as exc:
        print(f"vsyncer rbac: {exc}", file=sys.stderr)
        return 2
    print(yaml.safe_dump_all(objects, sort_keys=False), end="")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="vsyncer", description="the syncer of a virtual cluster")
    parser.add_argument("--version", action="version", version=f"vsyncer {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("version", help="print the version")
    run = sub.add_parser("run", help="run the syncer (settings from VSYNCER_* and --config)")
    run.add_argument("--config", type=Path, default=None, help="YAML settings file")
    run.add_argument(
        "--dry-run", action="store_true", help="reconcile, log and count every write, send none"
    )
    why = sub.add_parser("explain", help="one object's mapping, owner and drift (exit 0/1/2)")
    why.add_argument("target", help="KIND/NAMESPACE/NAME, KIND/NAME, or KIND with --host")
    why.add_argument("--host", default=None, metavar="NAME", help="start from this host object")
    why.add_argument("-o", "--output", choices=("text", "json"), default="text")
    why.add_argument("--config", type=Path, default=None, help="YAML settings file")
    wake = sub.add_parser("wake", help="wake a sleeping virtual cluster (sleep mode)")
    wake.add_argument("--config", type=Path, default=None, help="YAML settings file")
    rbac = sub.add_parser("rbac", help="print the host Role and ClusterRole the settings need")
    rbac.add_argument("--config", type=Path, default=None, help="YAML settings file")
    dev = sub.add_parser("dev", help="run a local host and virtual cluster until Ctrl-C")
    dev.add_argument("--run-dir", type=Path, default=Path(".dev"))
    dev.add_argument("--nodes", type=int, default=3)
    dev.add_argument("--metrics-bind", default="127.0.0.1:8080")
    dev.add_argument("--probes-bind", default="127.0.0.1:8081")
    dev.add_argument("--kubelet-bind", default="127.0.0.1:10250")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if args.command == "version":
        print(__version__)
        return 0
    if args.command == "run":
        return _run(args)
    if args.command == "explain":
        return _explain(args)
    if args.command == "wake":
        return _wake(args)
    if args.command == "rbac":
        return _rbac(args)
    return _dev(args)
