"""kubectl logs against the virtual API server, through vsyncer's kubelet API to the host pod.

The real kubectl asks the virtual kube-apiserver, which calls the fake node's
kubelet (vsyncer), which streams the host pod's ``pods/log`` from the host API
server, which reads kwok's log file of that pod.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import re

from syncer.localcluster.kwok import append_log
from tests.e2e.kubectl import kubectl, kubectl_process
from tests.e2e.kubelet_fixtures import Tenant, tenant

__all__ = ["tenant"]


async def test_logs_tail_timestamps_and_container(tenant: Tenant) -> None:
    """-c picks the container, --tail the last lines, --timestamps the CRI times."""
    t = tenant
    at = dt.datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=dt.UTC)
    append_log(t.logs["app"].current, "one", "two", "three", at=at)
    append_log(t.logs["side"].current, "from the sidecar")
    args = ("-n", t.v_ns, "logs", t.pod)
    logs = await kubectl(*args, "-c", "app", kubeconfig=t.kubeconfig)
    assert (logs.code, logs.stdout) == (0, "one\ntwo\nthree\n"), logs.stderr
    tail = await kubectl(*args, "-c", "app", "--tail=2", kubeconfig=t.kubeconfig)
    assert (tail.code, tail.stdout) == (0, "two\nthree\n"), tail.stderr
    stamped = await kubectl(*args, "-c", "app", "--tail=1", "--timestamps", kubeconfig=t.kubeconfig)
    assert re.fullmatch(r"2026-01-02T03:04:05\.678\d*Z three\n", stamped.stdout), stamped
    side = await kubectl(*args, "-c", "side", kubeconfig=t.kubeconfig)
    assert (side.code, side.stdout) == (0, "from the sidecar\n"), side.stderr


def _finished(t: Tenant, verb: str) -> float:
    """Kubelet requests of ``verb`` the syncer has finished (any status)."""
    total = 0.0
    for metric in t.daemon.metrics.registry.collect():
        for sample in metric.samples:
            if sample.name == "vsyncer_kubelet_requests_total" and sample.labels["verb"] == verb:
                total += sample.value
    return total


async def test_logs_follow_streams_a_line_appended_later(tenant: Tenant) -> None:
    """-f prints what is there, then a line appended later as it comes, and stops on Ctrl-C;
    the syncer's side of the stream ends with it (the request is finished and counted)."""
    t = tenant
    append_log(t.logs["side"].current, "before following")
    before = _finished(t, "containerLogs")
    async with kubectl_process(
        "-n", t.v_ns, "logs", "-f", t.pod, "-c", "side", "--tail=1", kubeconfig=t.kubeconfig
    ) as follow:
        assert await follow.read_line() == "before following"
        append_log(t.logs["side"].current, "appended later")
        assert await follow.read_line() == "appended later"
        assert _finished(t, "containerLogs") == before  # still streaming
        done = await follow.interrupt()
    assert (done.code, done.stdout) == (1, ""), done.stderr
    async with asyncio.timeout(30):
        for _ in itertools.count():  # a bounded poll for the stream's end
            if _finished(t, "containerLogs") > before:
                break
            await asyncio.sleep(0.05)
