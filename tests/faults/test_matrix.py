"""The fault matrix: each cell injects one fault around a burst of syncing and ends with
the consistency checker at zero (nothing lost, duplicated, orphaned or mismatched).

``make test`` runs the SHORT set (one SIGKILL cell with a small burst, one
injected-429/500/503 cell); ``make faults`` (``FAULTS_FULL=1``) runs every cell
at full size and writes ``tests/faults/RESULTS.md``.  The set is chosen at
collection time, so nothing is skipped.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from syncer.api import ObjectKey
from syncer.errors import NotFound
from syncer.resources import CONFIGMAPS, PODS, SERVICES
from syncer.translate import (
    MANAGED_BY_LABEL,
    OBJECT_KIND_ANNOTATION,
    OBJECT_NAME_ANNOTATION,
    OBJECT_NAMESPACE_ANNOTATION,
)
from tests.faults.checker import NotConverged
from tests.faults.consistency import Report
from tests.faults.faultproxy import FaultPlan
from tests.faults.lab import Lab
from tests.faults.load import Burst, retrying
from tests.faults.results import ROWS, Row, full_run

pytestmark = [pytest.mark.faults, pytest.mark.e2e]

FULL = full_run()
BURST = Burst(services=30, pods=30, configmaps=10) if FULL else Burst(8, 8, 3)
CONVERGE = 300.0 if FULL else 150.0


async def finish(lab: Lab, request: pytest.FixtureRequest, fault: str) -> float:
    """Converge, record the row, and fail loudly (seed, report, log tail) if not consistent."""
    rows = request.config.stash.setdefault(ROWS, [])
    try:
        seconds = await lab.checker.converge(timeout=CONVERGE)
    except NotConverged as exc:
        report = exc.report or Report(created=lab.ledger.created_count, checked=0)
        rows.append(Row(fault=fault, seed=lab.seed, report=report, seconds=None))
        tail = lab.syncer.log_tail() if lab.syncer is not None else ""
        pytest.fail(f"{fault} (seed {lab.seed}): {exc}\nvsyncer log tail:\n{tail}")
    assert lab.checker.last is not None
    rows.append(Row(fault=fault, seed=lab.seed, report=lab.checker.last, seconds=seconds))
    return seconds


async def sigkill_mid_burst(lab: Lab, rounds: int) -> None:
    """SIGKILL 0.3-3 s into each burst, restart at once, ``rounds`` times."""
    ns = await lab.load.namespace(f"{lab.vcluster}-kill")
    syncer = await lab.start_syncer()
    for r in range(rounds):
        burst = asyncio.create_task(lab.load.burst(namespace=ns, prefix=f"r{r}", size=BURST))
        await asyncio.sleep(lab.delay(0.3, 3.0))
        syncer.kill()
        await syncer.start()
        await burst


async def cell_sigkill(lab: Lab) -> None:
    await sigkill_mid_burst(lab, rounds=5 if FULL else 1)


async def restart_mid_burst(lab: Lab, component: str) -> None:
    ns = await lab.load.namespace(f"{lab.vcluster}-cp")
    await lab.start_syncer()
    burst = asyncio.create_task(lab.load.burst(namespace=ns, prefix="b", size=BURST))
    await asyncio.sleep(lab.delay(0.5, 2.0))
    await lab.restart_component(component, kill=True, down=2.0)
    await burst
    await lab.load.burst(namespace=ns, prefix="after", size=Burst(3, 3, 1))


async def cell_host_apiserver(lab: Lab) -> None:
    await restart_mid_burst(lab, "host-apiserver")


async def cell_virtual_apiserver(lab: Lab) -> None:
    await restart_mid_burst(lab, "virtual-apiserver")


async def changes(lab: Lab, ns: str) -> None:
    """Creates, updates and deletes in virtual (and the ledger) while the syncer is not looking."""
    await lab.load.burst(namespace=ns, prefix="late", size=Burst(3, 3, 1))
    for i in range(0, BURST.pods, BURST.configmaps):  # every pod of configmap 0
        await lab.load.delete(PODS, namespace=ns, name=f"b-pod-{i}")
    await lab.load.delete(SERVICES, namespace=ns, name="b-svc-0")
    await lab.load.patch(CONFIGMAPS, namespace=ns, name="b-cm-1", body={"data": {"value": "2"}})


async def cell_etcd_compaction(lab: Lab) -> None:
    """SIGSTOP, changes, compaction, SIGCONT: the syncer must relist after 410 Gone."""
    ns = await lab.load.namespace(f"{lab.vcluster}-etcd")
    syncer = await lab.start_syncer()
    await lab.load.burst(namespace=ns, prefix="b", size=BURST)
    await lab.checker.converge(timeout=CONVERGE)
    syncer.pause()
    await changes(lab, ns)
    await lab.compact_etcd()
    syncer.resume()


async def cell_connection_cuts(lab: Lab) -> None:
    """Every connection to both API servers cut every 5 s, through the burst and after."""
    ns = await lab.load.namespace(f"{lab.vcluster}-cuts")
    host_proxy, host_kc = await lab.tcp_proxy("host")
    virtual_proxy, virtual_kc = await lab.tcp_proxy("virtual")
    await lab.start_syncer(host_kubeconfig=host_kc, virtual_kubeconfig=virtual_kc)
    lab.background(host_proxy.cut_every(5.0))
    lab.background(virtual_proxy.cut_every(5.0))
    await lab.load.burst(namespace=ns, prefix="b", size=BURST)


async def cell_injected_errors(lab: Lab) -> None:
    """10 % of requests to both API servers answered 429/500/503, half after forwarding."""
    ns = await lab.load.namespace(f"{lab.vcluster}-errs")
    plan = FaultPlan(share=0.10, after_share=0.5)
    host_proxy, host_kc = await lab.fault_proxy("host", plan)
    virtual_proxy, virtual_kc = await lab.fault_proxy("virtual", plan)
    await lab.start_syncer(host_kubeconfig=host_kc, virtual_kubeconfig=virtual_kc)
    await lab.load.burst(namespace=ns, prefix="b", size=BURST)
    del host_proxy, virtual_proxy  # test_cell checks their counts after convergence


async def cell_changes_while_down(lab: Lab) -> None:
    """Both sides change while the syncer is down; on restart it converges, foreign objects
    in the host namespace untouched: an unlabelled configmap, and a pod with this vcluster's
    marker label whose provenance names another pod (not ours by vcluster's rule, so the
    orphan collection at start must leave it, though no virtual pod matches it)."""
    ns = await lab.load.namespace(f"{lab.vcluster}-down")
    syncer = await lab.start_syncer()
    await lab.load.burst(namespace=ns, prefix="b", size=BURST)
    await lab.checker.converge(timeout=CONVERGE)
    syncer.kill()
    await changes(lab, ns)
    t, h, hns = lab.translator, lab.host, lab.host_namespace
    await retrying(lambda: h.delete(SERVICES, namespace=hns, name=t.host_name(ns, "b-svc-2")))
    await retrying(lambda: h.delete(CONFIGMAPS, namespace=hns, name=t.host_name(ns, "b-cm-2")))
    await retrying(
        lambda: h.patch(
            CONFIGMAPS,
            namespace=hns,
            name=t.host_name(ns, "b-cm-1"),
            body={"data": {"value": "tampered"}},
        )
    )
    # A host pod gone after it started: the syncer deletes its virtual pod (vcluster's pod rule).
    await retrying(lambda: h.delete(PODS, namespace=hns, name=t.host_name(ns, "b-pod-1")))
    lab.ledger.deleted(ObjectKey("pods", ns, "b-pod-1"))
    foreign = {"metadata": {"name": "not-synced"}, "data": {"mine": "yes"}}
    await retrying(lambda: h.create(CONFIGMAPS, namespace=hns, body=foreign))
    forged = await retrying(lambda: h.create(PODS, namespace=hns, body=forged_pod(lab)))
    await syncer.start()
    await lab.checker.converge(timeout=CONVERGE)
    try:
        kept = await h.get(CONFIGMAPS, namespace=hns, name="not-synced")
        kept_pod = await h.get(PODS, namespace=hns, name=forged["metadata"]["name"])
    except NotFound:
        pytest.fail("the syncer deleted a host object it does not own")
    assert kept["data"] == {"mine": "yes"}
    assert kept_pod["metadata"]["uid"] == forged["metadata"]["uid"]


def forged_pod(lab: Lab) -> dict[str, Any]:
    """A host pod under the host name of ``ghost/intruder`` with this vcluster's marker label
    and provenance naming ``ghost/someone-else`` (which does not re-translate to its name)."""
    annotations = {
        OBJECT_NAME_ANNOTATION: "someone-else",
        OBJECT_NAMESPACE_ANNOTATION: "ghost",
        OBJECT_KIND_ANNOTATION: PODS.kind_string,
    }
    metadata = {
        "name": lab.translator.host_name("ghost", "intruder"),
        "labels": {MANAGED_BY_LABEL: lab.vcluster},
        "annotations": annotations,
    }
    return {"metadata": metadata, "spec": {"containers": [{"name": "c", "image": "nginx:1"}]}}


Cell = Callable[[Lab], Awaitable[None]]
SHORT: dict[str, Cell] = {
    "SIGKILL mid-burst": cell_sigkill,
    "10% 429/500/503 (half after forwarding)": cell_injected_errors,
}
ALL: dict[str, Cell] = {
    "SIGKILL x5 mid-burst": cell_sigkill,
    "host API server restart": cell_host_apiserver,
    "virtual API server restart": cell_virtual_apiserver,
    "etcd compaction while paused": cell_etcd_compaction,
    "connection cuts every 5 s": cell_connection_cuts,
    "10% 429/500/503 (half after forwarding)": cell_injected_errors,
    "changes on both sides while down": cell_changes_while_down,
}
CELLS = ALL if FULL else SHORT


@pytest.mark.timeout(900)
@pytest.mark.parametrize("fault", list(CELLS))
async def test_cell(fault: str, lab: Lab, request: pytest.FixtureRequest) -> None:
    """The fault, then the checker at zero within the deadline."""
    await CELLS[fault](lab)
    await finish(lab, request, fault)
    for proxy in lab.fault_proxies:  # the faults really happened, both kinds
        assert proxy.counts["before"] > 0, proxy.counts
        assert proxy.counts["after"] > 0, proxy.counts
