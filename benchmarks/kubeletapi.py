"""P8 and P9: the fake nodes' kubelet API through vsyncer against the host pod directly.

One virtual pod runs (its host twin on a kwok node); the same kubectl command
is run against the virtual API server (virtual API server → vsyncer's kubelet
server → host API server → kwok) and against the host API server for the twin
(host API server → kwok), alternately, in the same run:

* P8 — ``kubectl logs`` of a 50 MB container log: throughput through vsyncer ÷
  direct (goal ≥ 0.8).
* P9 — ``kubectl port-forward``: 100 MB read from a TCP server behind kwok's
  port-forward target, through vsyncer ÷ direct (goal ≥ 0.8); and
  ``kubectl exec POD -- echo`` round trips: p50 through vsyncer minus direct
  (goal ≤ 20 ms).

Each measurement is repeated, the two sides taking turns (port-forward: one
``kubectl port-forward`` per side, kept open, downloads alternating); min/median/max
are reported and the ratio uses medians (P9 also gives the spread of each
repeat's own ratio).  The CPU time each process spends per call (vsyncer, both
API servers, kwok, kubectl and this process, which runs the TCP source and the
reader; from ``/proc`` and ``getrusage``) is reported per side with its sum, to
show what dominates and what a two-core machine's CPU budget allows.  kubectl's
own start-up is in both sides of every comparison.  Not a test: nothing here
asserts.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import resource
import statistics
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from benchmarks.harness import ensure_namespaces, percentile, wait_for_default_sa
from benchmarks.run import HOST_NS, Run
from syncer.errors import AlreadyExists, NotFound
from syncer.localcluster.kwok import cri_line
from syncer.resources import PODS

V_NS = "kubelet-bench"
POD = "kubelet"
CONTAINER = "app"
LOG_BYTES = 50 * 1024 * 1024
FORWARD_BYTES = 100 * 1024 * 1024
_LINE = "x" * 99  # with its newline: 100 bytes of log text per line


def _spread(values: list[float]) -> dict[str, float]:
    return {"min": min(values), "median": statistics.median(values), "max": max(values)}


async def _kubectl(run: Run, kubeconfig: Path, *args: str) -> tuple[int, bytes, bytes]:
    proc = await asyncio.create_subprocess_exec(
        str(run.plane.binaries.path("kubectl")),
        f"--kubeconfig={kubeconfig}",
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 600)
    assert proc.returncode is not None
    return proc.returncode, out, err


async def _running_pod(run: Run) -> str:
    """Create the virtual pod; return its host twin's name once both sides are Running."""
    await ensure_namespaces(run.virtual, [V_NS])
    await wait_for_default_sa(run.virtual, [V_NS])
    body = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": POD},
        "spec": {"containers": [{"name": CONTAINER, "image": "registry.example/app:1"}]},
    }
    with contextlib.suppress(AlreadyExists):
        await run.virtual.create(PODS, namespace=V_NS, body=body)
    host_name = run.t.host_name(V_NS, POD)
    async with asyncio.timeout(300):
        while True:
            v_pod = await _get(run, virtual=True, namespace=V_NS, name=POD)
            h_pod = await _get(run, virtual=False, namespace=HOST_NS, name=host_name)
            if _is_running(v_pod) and _is_running(h_pod):
                return host_name
            await asyncio.sleep(0.2)


async def _get(run: Run, *, virtual: bool, namespace: str, name: str) -> dict[str, Any] | None:
    client = run.virtual if virtual else run.host
    try:
        return await client.get(PODS, namespace=namespace, name=name)
    except NotFound:
        return None


def _is_running(obj: dict[str, Any] | None) -> bool:
    return bool(
        obj
        and obj.get("status", {}).get("phase") == "Running"
        and obj.get("spec", {}).get("nodeName")
    )


async def scenario_p8_p9(run: Run) -> None:
    """Measure P8 and P9 (see the module docstring); results under ``run.results``."""
    try:
        host_name = await _running_pod(run)
    except TimeoutError:
        for sid in ("P8", "P9"):
            run.results[sid] = {"not_run": "the virtual pod did not become Running"}
        return
    sides = {
        "direct": (run.plane.host.kubeconfig, HOST_NS, host_name),
        "vsyncer": (run.plane.virtual.kubeconfig, V_NS, POD),
    }
    files = await asyncio.to_thread(
        run.plane.kubelet.pod_log, namespace=HOST_NS, pod=host_name, containers=(CONTAINER,)
    )
    log = files[CONTAINER].current
    count = LOG_BYTES // (len(_LINE) + 1)
    await asyncio.to_thread(_write_log, log, count)
    repeats = 3 if run.quick else 5
    if run.wants("P8"):
        run.results["P8"] = await _p8(run, sides, expected=count * (len(_LINE) + 1), n=repeats)
    if run.wants("P9"):
        run.results["P9"] = await _p9(run, sides, n=repeats, execs=20 if run.quick else 50)


#: the control-plane processes whose CPU time P8/P9 report (besides vsyncer and the clients)
COMPONENTS = ("virtual-apiserver", "host-apiserver", "host-kwok")
#: every CPU account of a measured call: the relay, the control plane, kubectl, and this
#: process (the port-forward benchmark's TCP source and reader)
ACCOUNTS = ("vsyncer", *COMPONENTS, "kubectl", "benchmark")


def _proc_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text()
    ticks = fields.rsplit(")", 1)[1].split()
    return (int(ticks[11]) + int(ticks[12])) / os.sysconf("SC_CLK_TCK")


def _cpu(run: Run, *, kubectl: int | None = None) -> dict[str, float]:
    """CPU seconds used so far by each of :data:`ACCOUNTS`.

    ``kubectl`` is the pid of a running kubectl; without it, kubectl's CPU is that
    of this process's reaped children (each short kubectl call is reaped inside its
    own measurement, and no other child ends meanwhile).
    """
    used = {"vsyncer": run.syncer.cpu_seconds() if run.syncer is not None else 0.0}
    for name in COMPONENTS:
        used[name] = _proc_cpu(run.plane.processes.get(name).proc.pid)
    if kubectl is not None:
        used["kubectl"] = _proc_cpu(kubectl)
    else:
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        used["kubectl"] = children.ru_utime + children.ru_stime
    me = resource.getrusage(resource.RUSAGE_SELF)
    used["benchmark"] = me.ru_utime + me.ru_stime
    return used


class CpuTally:
    """CPU seconds per side and account, summed over measured calls."""

    def __init__(self, sides: Sides) -> None:
        self.total = {side: dict.fromkeys(ACCOUNTS, 0.0) for side in sides}

    def add(self, side: str, before: dict[str, float], after: dict[str, float]) -> None:
        for name, value in after.items():
            self.total[side][name] += value - before[name]

    def per_call(self, calls: int) -> dict[str, dict[str, float]]:
        """Per side: seconds per call for each account, and their ``sum``."""
        out: dict[str, dict[str, float]] = {}
        for side, used in self.total.items():
            out[side] = {name: round(value / calls, 3) for name, value in used.items()}
            out[side]["sum"] = round(sum(used.values()) / calls, 3)
        return out


def _write_log(path: Path, count: int) -> None:
    line = cri_line(_LINE)
    with path.open("w") as out:
        for _ in range(count // 1000):
            out.write(line * 1000)
        out.write(line * (count % 1000))


Sides = dict[str, tuple[Path, str, str]]


async def _p8(run: Run, sides: Sides, *, expected: int, n: int) -> dict[str, Any]:
    rates: dict[str, list[float]] = {side: [] for side in sides}
    cpu = CpuTally(sides)
    for _ in range(n):
        for side, (kubeconfig, ns, pod) in sides.items():
            started, before = time.monotonic(), _cpu(run)
            code, out, err = await _kubectl(run, kubeconfig, "-n", ns, "logs", pod, "-c", CONTAINER)
            seconds = time.monotonic() - started
            cpu.add(side, before, _cpu(run))
            if code != 0 or len(out) != expected:
                return {"not_run": f"{side} kubectl logs: exit {code}, {len(out)} bytes: {err!r}"}
            rates[side].append(expected / seconds / 1e6)
    direct, via = _spread(rates["direct"]), _spread(rates["vsyncer"])
    return {
        "bytes": expected,
        "direct_mb_s": direct,
        "vsyncer_mb_s": via,
        "ratio": via["median"] / direct["median"],
        "cpu_s_per_read": cpu.per_call(n),
    }


async def _p9(run: Run, sides: Sides, *, n: int, execs: int) -> dict[str, Any]:
    result: dict[str, Any] = {"bytes": FORWARD_BYTES}
    errors: list[str] = []
    cpu = CpuTally(sides)
    rates: dict[str, list[float]] = {side: [] for side in sides}
    async with _source(run.plane.kubelet.forward_port), contextlib.AsyncExitStack() as stack:
        forwards: dict[str, tuple[int, int]] = {}
        for side, (kubeconfig, ns, pod) in sides.items():
            log = run.workdir / f"port-forward-{side}.log"
            try:
                forwards[side] = await stack.enter_async_context(
                    _forward(run, kubeconfig, ns, pod, log=log)
                )
            except RuntimeError as exc:
                errors.append(f"{side} port-forward: {exc}; kubectl: {log.read_text()!r}")
        for _ in range(n):
            for side, (port, pid) in forwards.items():
                if errors:
                    break
                before = _cpu(run, kubectl=pid)
                try:
                    rates[side].append(await _download(port))
                except RuntimeError as exc:
                    errors.append(f"{side} port-forward: {exc}")
                    break
                cpu.add(side, before, _cpu(run, kubectl=pid))
    if not errors:
        direct, via = _spread(rates["direct"]), _spread(rates["vsyncer"])
        result.update(direct_mb_s=direct, vsyncer_mb_s=via, ratio=via["median"] / direct["median"])
        paired = [v / d for v, d in zip(rates["vsyncer"], rates["direct"], strict=True)]
        result["ratio_per_repeat"] = _spread(paired)
        per_transfer = cpu.per_call(n)
        result["cpu_s_per_transfer"] = per_transfer
        # When every process of a path shares one machine's CPUs and they are the limit,
        # throughput is inversely proportional to the path's total CPU per byte:
        result["cpu_bound_ratio"] = per_transfer["direct"]["sum"] / per_transfer["vsyncer"]["sum"]
    exec_ms: dict[str, list[float]] = {side: [] for side in sides}
    for _ in range(execs):
        for side, (kubeconfig, ns, pod) in sides.items():
            started = time.monotonic()
            code, out, err = await _kubectl(
                run, kubeconfig, "-n", ns, "exec", pod, "--", "echo", "ping"
            )
            if code != 0 or out != b"ping\n":
                errors.append(f"{side} kubectl exec: exit {code}: {err!r}")
                result["not_run"] = "; ".join(errors)
                return result
            exec_ms[side].append((time.monotonic() - started) * 1000)
    p50 = {side: percentile(values, 0.5) for side, values in exec_ms.items()}
    result.update(
        exec_direct_ms=_spread(exec_ms["direct"]),
        exec_vsyncer_ms=_spread(exec_ms["vsyncer"]),
        exec_added_p50_ms=p50["vsyncer"] - p50["direct"],
    )
    if errors:
        result["not_run"] = "; ".join(errors)
    return result


@contextlib.asynccontextmanager
async def _source(port: int) -> AsyncIterator[None]:
    """A TCP server on kwok's port-forward target sending FORWARD_BYTES to each client."""
    chunk = b"\0" * (1 << 20)

    async def send(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        del reader
        with contextlib.suppress(ConnectionError):
            for _ in range(FORWARD_BYTES // len(chunk)):
                writer.write(chunk)
                await writer.drain()
            writer.close()
            await writer.wait_closed()

    server = await asyncio.start_server(send, "127.0.0.1", port)
    async with server:
        yield


@contextlib.asynccontextmanager
async def _forward(
    run: Run, kubeconfig: Path, ns: str, pod: str, *, log: Path
) -> AsyncIterator[tuple[int, int]]:
    """``kubectl port-forward POD :80`` (stderr to ``log``); yields the local port and its pid."""
    with log.open("wb") as err:
        proc = await asyncio.create_subprocess_exec(
            str(run.plane.binaries.path("kubectl")),
            f"--kubeconfig={kubeconfig}",
            "-n",
            ns,
            "port-forward",
            pod,
            ":80",
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=err,
        )
    try:
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), 60)).decode()
        match = re.match(r"Forwarding from 127\.0\.0\.1:(\d+)", line)
        if match is None:
            raise RuntimeError(f"kubectl port-forward printed {line!r}")
        yield int(match.group(1)), proc.pid
    finally:
        if proc.returncode is None:
            proc.kill()
        await proc.wait()


async def _download(port: int) -> float:
    """Read FORWARD_BYTES through the forwarded port; MB/s."""
    started = time.monotonic()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    got = 0
    async with asyncio.timeout(600):
        while got < FORWARD_BYTES:
            data = await reader.read(1 << 20)
            if not data:
                raise RuntimeError(f"port-forward ended after {got} bytes")
            got += len(data)
    seconds = time.monotonic() - started
    writer.close()
    return FORWARD_BYTES / seconds / 1e6
