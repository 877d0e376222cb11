"""kubectl exec, cp, attach and port-forward through vsyncer's kubelet API to the host pod.

Each goes from the real kubectl to the virtual kube-apiserver, which upgrades
a connection to the fake node's kubelet (vsyncer); vsyncer upgrades one to the
host API server for the host pod's subresource and splices the two, so kwok
(the host's kubelet) runs the command or dials the port-forward target.
kwok runs exec commands on this machine, in its exec directory.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import re
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from syncer.localcluster import ControlPlane
from syncer.localcluster.kwok import append_log
from tests.e2e.kubectl import kubectl, kubectl_process
from tests.e2e.kubelet_fixtures import Tenant, tenant

__all__ = ["tenant"]


async def test_exec_prints_the_output(tenant: Tenant) -> None:
    """kubectl exec POD -- echo hello prints hello."""
    t = tenant
    done = await kubectl(
        "-n", t.v_ns, "exec", t.pod, "-c", "app", "--", "echo", "hello", kubeconfig=t.kubeconfig
    )
    assert (done.code, done.stdout) == (0, "hello\n"), done.stderr


async def test_exec_exit_code_propagates(tenant: Tenant) -> None:
    """kubectl exec exits with the command's exit code (sh -c 'exit 3' gives 3)."""
    t = tenant
    done = await kubectl(
        "-n", t.v_ns, "exec", t.pod, "--", "sh", "-c", "exit 3", kubeconfig=t.kubeconfig
    )
    assert done.code == 3, done.stderr
    assert "command terminated with exit code 3" in done.stderr


async def test_exec_reads_piped_stdin(tenant: Tenant) -> None:
    """-i passes kubectl's standard input to the command."""
    t = tenant
    done = await kubectl(
        "-n",
        t.v_ns,
        "exec",
        "-i",
        t.pod,
        "--",
        "head",
        "-n",
        "1",
        stdin="piped input\n",
        kubeconfig=t.kubeconfig,
    )
    assert (done.code, done.stdout) == (0, "piped input\n"), done.stderr


async def test_cp_copies_a_file_out_of_the_pod(
    tenant: Tenant, control_plane: ControlPlane, tmp_path: Path
) -> None:
    """kubectl cp POD:FILE LOCAL runs tar in the container and unpacks the bytes here."""
    t = tenant
    name = f"report-{secrets.token_hex(4)}.bin"
    content = os.urandom(200_000)
    (control_plane.kubelet.exec_dir / name).write_bytes(content)
    target = tmp_path / "copied.bin"
    done = await kubectl(
        "-n", t.v_ns, "cp", f"{t.pod}:{name}", str(target), "-c", "app", kubeconfig=t.kubeconfig
    )
    assert done.code == 0, done.stderr
    assert target.read_bytes() == content


async def test_cp_copies_a_file_into_the_pod(
    tenant: Tenant, control_plane: ControlPlane, tmp_path: Path
) -> None:
    """kubectl cp LOCAL POD:FILE streams a tar to the container's stdin; it ends with it."""
    t = tenant
    name = f"upload-{secrets.token_hex(4)}.bin"
    content = os.urandom(200_000)
    source = tmp_path / "upload.bin"
    source.write_bytes(content)
    done = await kubectl(
        "-n", t.v_ns, "cp", str(source), f"{t.pod}:{name}", "-c", "app", kubeconfig=t.kubeconfig
    )
    assert done.code == 0, done.stderr
    assert (control_plane.kubelet.exec_dir / name).read_bytes() == content


async def test_attach_follows_the_container_output(tenant: Tenant) -> None:
    """kubectl attach prints what the container writes after it attached."""
    t = tenant
    async with kubectl_process(
        "-n", t.v_ns, "attach", t.pod, "-c", "app", kubeconfig=t.kubeconfig
    ) as attached:
        # Attach starts at the end of the file: write until a line comes through.
        seen = ""
        for i in range(50):
            append_log(t.logs["app"].current, f"attached {i}")
            try:
                seen = await attached.read_line(within=1.0)
            except AssertionError:
                continue
            break
        assert seen.startswith("attached "), seen


@pytest.fixture
async def echo_server(control_plane: ControlPlane) -> AsyncIterator[list[int]]:
    """A TCP server on kwok's port-forward target that echoes every byte; counts bytes seen.

    Its connections are closed, and their handlers finished, when the test ends.
    """
    seen = [0]
    handlers: list[tuple[asyncio.Task[None], asyncio.StreamWriter]] = []

    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        handlers.append((task, writer))
        with contextlib.suppress(ConnectionError):
            while chunk := await reader.read(65536):
                seen[0] += len(chunk)
                writer.write(chunk)
                await writer.drain()
        writer.close()

    server = await asyncio.start_server(echo, "127.0.0.1", control_plane.kubelet.forward_port)
    async with server:
        yield seen
        for _task, writer in handlers:
            writer.close()
        await asyncio.wait_for(asyncio.gather(*(task for task, _ in handlers)), 30)


async def test_port_forward_carries_10_mb_both_ways(tenant: Tenant, echo_server: list[int]) -> None:
    """kubectl port-forward POD :80 reaches the test's server; 10 MB go there and back intact."""
    t = tenant
    payload = os.urandom(10 * 1024 * 1024)
    async with kubectl_process(
        "-n", t.v_ns, "port-forward", t.pod, ":80", kubeconfig=t.kubeconfig
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
        received = await asyncio.wait_for(reader.readexactly(len(payload)), 120)
        await sender
        writer.close()
    assert hashlib.sha256(received).digest() == hashlib.sha256(payload).digest()
    assert echo_server[0] == len(payload)
