"""The fault lab: one vcluster's world, with every fault a cell needs at hand.

A :class:`Lab` owns a fresh host namespace and vcluster name, the test's
:class:`~tests.faults.ledger.Ledger` and :class:`~tests.faults.load.Load`, a
:class:`~tests.faults.checker.Checker`, and a seeded RNG (the seed is printed
and named in every failure, so a run can be replayed with ``FAULTS_SEED``).
Faults it offers:

* vsyncer as a subprocess (:meth:`Lab.start_syncer`): SIGKILL, SIGSTOP/SIGCONT,
  restart (:class:`~tests.faults.syncerproc.SyncerProcess`);
* any control-plane component stopped or killed and started again, on the
  same port with the same data (:meth:`Lab.restart_component`), and etcd
  compaction (:meth:`Lab.compact_etcd`);
* a TCP proxy that cuts/delays (:meth:`Lab.tcp_proxy`) and a TLS proxy that
  injects 429/500/503 (:meth:`Lab.fault_proxy`), each with a kubeconfig that
  points vsyncer at it.

:meth:`Lab.close` stops the syncer and the proxies and deletes what the lab
created in both clusters (its virtual namespaces and host namespace).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from syncer.kube import KubeClient
from syncer.localcluster import ClusterInfo, ControlPlane
from syncer.localcluster.admin import write_kubeconfig
from syncer.localcluster.pki import CertPair
from syncer.resources import NAMESPACES
from syncer.translate import Translator
from tests.faults.certs import mint_serving_cert
from tests.faults.checker import Checker
from tests.faults.faultproxy import FaultPlan, FaultyApiProxy, Upstream, upstream_tls
from tests.faults.ledger import Ledger
from tests.faults.load import Load, retrying
from tests.faults.syncerproc import SyncerConfig, SyncerProcess
from tests.faults.tcpproxy import TcpProxy
from tests.owneranchors import create_owner_anchor


class Lab:
    """One fault cell's world; see the module docstring."""

    def __init__(
        self,
        *,
        plane: ControlPlane,
        host: KubeClient,
        virtual: KubeClient,
        run_dir: Path,
        seed: int,
        name: str,
    ) -> None:
        self.plane = plane
        self.host = host
        self.virtual = virtual
        self.run_dir = run_dir
        self.seed = seed
        self.rng = random.Random(seed)
        self.vcluster = name
        self.host_namespace = f"vcluster-{name}"
        self.translator = Translator(vcluster=name, host_namespace=self.host_namespace)
        self.ledger = Ledger()
        self.load = Load(virtual=virtual, ledger=self.ledger)
        self.checker = Checker(
            host=host, virtual=virtual, translator=self.translator, ledger=self.ledger
        )
        self.syncer: SyncerProcess | None = None
        self._proxies: list[TcpProxy | FaultyApiProxy] = []
        self._tasks: list[asyncio.Task[Any]] = []

    async def open(self) -> Lab:
        await retrying(
            lambda: self.host.create(
                NAMESPACES, namespace=None, body={"metadata": {"name": self.host_namespace}}
            )
        )
        await retrying(
            lambda: create_owner_anchor(
                self.host, namespace=self.host_namespace, vcluster=self.vcluster
            )
        )
        return self

    def cluster(self, name: str) -> ClusterInfo:
        return self.plane.host if name == "host" else self.plane.virtual

    # -- vsyncer ----------------------------------------------------------------------

    async def start_syncer(
        self,
        *,
        host_kubeconfig: Path | None = None,
        virtual_kubeconfig: Path | None = None,
        **extra: str,
    ) -> SyncerProcess:
        """Start vsyncer for this lab (kubeconfigs default to the clusters' own) and wait ready."""
        config = SyncerConfig(
            vcluster=self.vcluster,
            host_namespace=self.host_namespace,
            host_kubeconfig=host_kubeconfig or self.plane.host.kubeconfig,
            virtual_kubeconfig=virtual_kubeconfig or self.plane.virtual.kubeconfig,
            extra=dict(extra),
        )
        self.syncer = SyncerProcess(config=config, run_dir=self.run_dir / "syncer")
        await self.syncer.start()
        return self.syncer

    def delay(self, low: float, high: float) -> float:
        """A seeded random delay in ``[low, high]`` seconds."""
        return self.rng.uniform(low, high)

    # -- control plane ----------------------------------------------------------------

    async def restart_component(self, name: str, *, kill: bool = True, down: float = 0.0) -> None:
        """Kill (or stop) one component, keep it down ``down`` seconds, start it, wait ready."""
        await asyncio.to_thread(self.plane.stop_component, name, kill=kill)
        await asyncio.sleep(down)
        await asyncio.to_thread(self.plane.start_component, name)

    async def compact_etcd(self) -> int:
        return await asyncio.to_thread(self.plane.compact_etcd)

    # -- proxies ----------------------------------------------------------------------

    def _kubeconfig(self, cluster: ClusterInfo, *, server: str, stem: str) -> Path:
        path = self.run_dir / f"{stem}.kubeconfig"
        pair = CertPair(cert=cluster.client_cert, key=cluster.client_key)
        write_kubeconfig(path, name=stem, server=server, ca=cluster.ca_file, cert=pair)
        return path

    async def tcp_proxy(self, cluster: str) -> tuple[TcpProxy, Path]:
        """A cutting/delaying TCP proxy in front of ``cluster``'s API server, and its kubeconfig."""
        info = self.cluster(cluster)
        proxy = await TcpProxy(upstream_host="127.0.0.1", upstream_port=info.port).start()
        self._proxies.append(proxy)
        server = f"https://127.0.0.1:{proxy.port}"
        return proxy, self._kubeconfig(info, server=server, stem=f"{cluster}-tcp")

    async def fault_proxy(self, cluster: str, plan: FaultPlan) -> tuple[FaultyApiProxy, Path]:
        """A 429/500/503-injecting TLS proxy in front of ``cluster``, and its kubeconfig."""
        info = self.cluster(cluster)
        ca = CertPair(cert=info.ca_file, key=info.ca_file.with_name("ca.key"))
        serving = mint_serving_cert(ca=ca, directory=self.run_dir / f"{cluster}-proxy")
        tls = upstream_tls(
            ca_file=str(info.ca_file),
            cert_file=str(info.client_cert),
            key_file=str(info.client_key),
        )
        proxy = FaultyApiProxy(
            upstream=Upstream("127.0.0.1", info.port, tls),
            serving=serving,
            plan=plan,
            seed=self.rng.randrange(1 << 30),
        )
        await proxy.start()
        self._proxies.append(proxy)
        return proxy, self._kubeconfig(info, server=proxy.url, stem=f"{cluster}-faults")

    @property
    def fault_proxies(self) -> list[FaultyApiProxy]:
        return [p for p in self._proxies if isinstance(p, FaultyApiProxy)]

    def background(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run ``coro`` until the lab closes (e.g. ``proxy.cut_every(5)``)."""
        task = asyncio.create_task(coro)
        self._tasks.append(task)
        return task

    # -- teardown ---------------------------------------------------------------------

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.syncer is not None:
            await self.syncer.stop()
        for proxy in self._proxies:
            await proxy.close()
        for ns in sorted(self.ledger.namespaces()):
            with contextlib.suppress(Exception):
                await self.virtual.delete(NAMESPACES, namespace=None, name=ns)
        with contextlib.suppress(Exception):
            await self.host.delete(NAMESPACES, namespace=None, name=self.host_namespace)
