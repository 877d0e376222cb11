"""The host cluster plays the kubelet API for real: kubectl against a kwok pod, no syncer.

``kubectl logs`` (``--tail``, ``--timestamps``, ``-c``, ``--previous``, ``-f``),
``exec`` (output, failure, stdin), ``attach`` and ``port-forward`` go from the
real kubectl through the host kube-apiserver to kwok's kubelet server on
loopback, as they would to a node's kubelet.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import os
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from syncer.kube import KubeClient
from syncer.localcluster import ClusterInfo, ControlPlane
from syncer.localcluster.kwok import NODE_INTERNAL_IP, PodLog, append_log
from syncer.resources import NODES, PODS
from tests.e2e.kubectl import kubectl, kubectl_process
from tests.kubehelpers import wait_for_object

CONTAINERS = ("app", "side")


def _pod(name: str) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {
            "containers": [{"name": c, "image": "registry.example/app:1"} for c in CONTAINERS]
        },
    }


@pytest.fixture
async def running_pod(host: KubeClient, namespace_with_sa: str) -> str:
    """A host pod with two containers, Running on a kwok node."""
    await host.create(PODS, namespace=namespace_with_sa, body=_pod("web"))
    await wait_for_object(
        host,
        PODS,
        namespace=namespace_with_sa,
        name="web",
        predicate=lambda o: o is not None and o.get("status", {}).get("phase") == "Running",
    )
    return "web"


@pytest.fixture
async def pod_logs(
    control_plane: ControlPlane, namespace_with_sa: str, running_pod: str
) -> dict[str, PodLog]:
    """The running pod's own log files, one per container, served by kwok."""
    return await asyncio.to_thread(
        control_plane.kubelet.pod_log,
        namespace=namespace_with_sa,
        pod=running_pod,
        containers=CONTAINERS,
    )


@pytest.fixture
def kubeconfig(host_cluster: ClusterInfo) -> Path:
    return host_cluster.kubeconfig


async def test_logs_tail_timestamps_container_and_previous(
    namespace_with_sa: str, running_pod: str, pod_logs: dict[str, PodLog], kubeconfig: Path
) -> None:
    """kubectl logs reads the container's file: --tail, --timestamps, -c and --previous."""
    ns = namespace_with_sa
    at = dt.datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=dt.UTC)
    append_log(pod_logs["app"].current, "one", "two", "three", at=at)
    append_log(pod_logs["side"].current, "from the sidecar")
    append_log(pod_logs["app"].previous, "before the restart")
    logs = await kubectl("-n", ns, "logs", running_pod, "-c", "app", kubeconfig=kubeconfig)
    assert (logs.code, logs.stdout) == (0, "one\ntwo\nthree\n"), logs.stderr
    tail = await kubectl(
        "-n", ns, "logs", running_pod, "-c", "app", "--tail=2", kubeconfig=kubeconfig
    )
    assert tail.stdout == "two\nthree\n"
    stamped = await kubectl(
        "-n",
        ns,
        "logs",
        running_pod,
        "-c",
        "app",
        "--tail=1",
        "--timestamps",
        kubeconfig=kubeconfig,
    )
    assert re.fullmatch(r"2026-01-02T03:04:05\.678\d*Z three\n", stamped.stdout), stamped.stdout
    side = await kubectl("-n", ns, "logs", running_pod, "-c", "side", kubeconfig=kubeconfig)
    assert side.stdout == "from the sidecar\n"
    previous = await kubectl(
        "-n", ns, "logs", running_pod, "-c", "app", "--previous", kubeconfig=kubeconfig
    )
    assert previous.stdout == "before the restart\n"


async def test_logs_follow_streams_a_line_appended_later(
    namespace_with_sa: str, running_pod: str, pod_logs: dict[str, PodLog], kubeconfig: Path
) -> None:
    """kubectl logs -f prints what is there, then a line appended later, and stops on Ctrl-C."""
    append_log(pod_logs["app"].current, "first")
    async with kubectl_process(
        "-n", namespace_with_sa, "logs", "-f", running_pod, "-c", "app", kubeconfig=kubeconfig
    ) as follow:
        assert await follow.read_line() == "first"
        append_log(pod_logs["app"].current, "appended later")
        assert await follow.read_line() == "appended later"
        done = await follow.interrupt()
    # kubectl handles the interrupt itself: exit code 1, nothing more printed.
    assert (done.code, done.stdout) == (1, ""), done.stderr


async def test_exec_output_exit_code_and_stdin(
    namespace_with_sa: str, running_pod: str, kubeconfig: Path
) -> None:
    """exec prints the command's output, passes its exit code on, and gets piped stdin (-i)."""
    ns = namespace_with_sa
    hello = await kubectl(
        "-n", ns, "exec", running_pod, "--", "echo", "hello", kubeconfig=kubeconfig
    )
    assert (hello.code, hello.stdout) == (0, "hello\n"), hello.stderr
    failed = await kubectl(
        "-n", ns, "exec", running_pod, "--", "sh", "-c", "exit 3", kubeconfig=kubeconfig
    )
    assert failed.code == 3, failed.stderr
    piped = await kubectl(
        "-n",
        ns,
        "exec",
        "-i",
        running_pod,
        "--",
        "cat",
        stdin="piped\ninput\n",
        kubeconfig=kubeconfig,
    )
    assert (piped.code, piped.stdout) == (0, "piped\ninput\n"), piped.stderr


async def test_attach_follows_the_container_output(
    namespace_with_sa: str, running_pod: str, pod_logs: dict[str, PodLog], kubeconfig: Path
) -> None:
    """kubectl attach prints what the container writes after it attached."""
    async with kubectl_process(
        "-n", namespace_with_sa, "attach", running_pod, "-c", "app", kubeconfig=kubeconfig
    ) as attached:
        # Attach starts at the end of the file: write until a line comes through.
        seen = ""
        for i in range(50):
            append_log(pod_logs["app"].current, f"attached {i}")
            try:
                seen = await attached.read_line(within=1.0)
            except AssertionError:
                continue
            break
        assert seen.startswith("attached ")


@pytest.fixture
async def echo_server(control_plane: ControlPlane) -> AsyncIterator[list[int]]:
    """A TCP server on kwok's port-forward target that echoes every byte; counts bytes seen."""
    seen = [0]

    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while chunk := await reader.read(65536):
            seen[0] += len(chunk)
            writer.write(chunk)
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(echo, "127.0.0.1", control_plane.kubelet.forward_port)
    async with server:
        yield seen


async def test_port_forward_carries_bytes_both_ways(
    namespace_with_sa: str, running_pod: str, kubeconfig: Path, echo_server: list[int]
) -> None:
    """kubectl port-forward POD :80 reaches the test's server; 4 MB go there and back intact."""
    payload = os.urandom(4 * 1024 * 1024)
    async with kubectl_process(
        "-n", namespace_with_sa, "port-forward", running_pod, ":80", kubeconfig=kubeconfig
    ) as forward:
        line = await forward.read_line()
        match = re.match(r"Forwarding from 127\.0\.0\.1:(\d+) -> 80", line)
        assert match, line
        reader, writer = await asyncio.open_connection("127.0.0.1", int(match.group(1)))

        async def send() -> None:
            for start in range(0, len(payload), 65536):
                writer.write(payload[start : start + 65536])
                await writer.drain()

        sender = asyncio.create_task(send())
        received = await asyncio.wait_for(reader.readexactly(len(payload)), 60)
        await sender
        writer.close()
    assert hashlib.sha256(received).digest() == hashlib.sha256(payload).digest()
    assert echo_server[0] == len(payload)


async def test_nodes_advertise_kwok_on_loopback(
    host: KubeClient, control_plane: ControlPlane
) -> None:
    """Host nodes: a non-loopback InternalIP, ExternalIP 127.0.0.1 and kwok's kubelet port."""
    listed = await host.list(NODES, namespace=None)
    assert listed["items"]
    for node in listed["items"]:
        status = node["status"]
        addresses = {a["type"]: a["address"] for a in status["addresses"]}
        assert addresses == {
            "InternalIP": NODE_INTERNAL_IP,
            "ExternalIP": "127.0.0.1",
            "Hostname": node["metadata"]["name"],
        }
        assert status["daemonEndpoints"]["kubeletEndpoint"]["Port"] == control_plane.kubelet.port
