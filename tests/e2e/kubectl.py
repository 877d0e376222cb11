"""The real ``kubectl``, built with the local control plane, run against a kubeconfig.

:func:`kubectl` runs one command to completion and returns its exit code and
output; :func:`kubectl_process` starts a long-running one (``logs -f``,
``port-forward``, ``attach``) and stops it on leaving the block.  Both are
asyncio subprocesses, so a syncer running in the test's event loop keeps
running while kubectl waits.  Every wait is bounded: past ``within`` seconds
the process is killed and :class:`KubectlTimeout` raised, so a hanging stream
fails the test instead of hanging it.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from syncer.localcluster import build
from syncer.localcluster.build import cache_dir


class KubectlTimeout(AssertionError):
    """kubectl did not finish (or print what was awaited) in time."""


@dataclass(frozen=True, slots=True)
class Result:
    """What one kubectl run did: its exit code and its whole stdout and stderr (text)."""

    code: int
    stdout: str
    stderr: str


def kubectl_binary() -> Path:
    """The kubectl built with the control plane (built first if the cache has none)."""
    cached = cache_dir() / "bin" / "kubectl"
    return cached if cached.is_file() else build().binaries.path("kubectl")


def _argv(args: tuple[str, ...], kubeconfig: Path) -> list[str]:
    return [str(kubectl_binary()), f"--kubeconfig={kubeconfig}", *args]


async def kubectl(
    *args: str,
    kubeconfig: Path,
    stdin: bytes | str | None = None,
    within: float = 60.0,
) -> Result:
    """Run ``kubectl --kubeconfig=<kubeconfig> *args`` to completion.

    ``stdin`` is written to kubectl's standard input, which is then closed
    (none: kubectl's stdin is empty).  Raises :class:`KubectlTimeout` after
    ``within`` seconds, having killed kubectl.
    """
    proc = await asyncio.create_subprocess_exec(
        *_argv(args, kubeconfig),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    data = stdin.encode() if isinstance(stdin, str) else (stdin or b"")
    try:
        out, err = await asyncio.wait_for(proc.communicate(data), within)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise KubectlTimeout(f"kubectl {' '.join(args)} still running after {within}s") from None
    assert proc.returncode is not None
    return Result(code=proc.returncode, stdout=out.decode(), stderr=err.decode())


class Running:
    """A kubectl process started by :func:`kubectl_process`."""

    def __init__(self, proc: asyncio.subprocess.Process, args: tuple[str, ...]) -> None:
        self.proc = proc
        self._args = args

    async def read_line(self, *, within: float = 30.0) -> str:
        """The next line kubectl prints on stdout, without its newline; ``""`` at the end."""
        assert self.proc.stdout is not None
        try:
            line = await asyncio.wait_for(self.proc.stdout.readline(), within)
        except TimeoutError:
            raise KubectlTimeout(
                f"kubectl {' '.join(self._args)} printed no line in {within}s"
            ) from None
        return line.decode().removesuffix("\n")

    async def write(self, data: bytes) -> None:
        """Write to kubectl's stdin."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(data)
        await self.proc.stdin.drain()

    async def interrupt(self, *, within: float = 30.0) -> Result:
        """SIGINT (as Ctrl-C does), then wait for the exit; the rest of its output."""
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGINT)
        return await self.wait(within=within)

    async def wait(self, *, within: float = 30.0) -> Result:
        """Wait for kubectl to exit on its own; the rest of its output."""
        assert self.proc.stdout is not None
        assert self.proc.stderr is not None
        try:
            out, err = await asyncio.wait_for(
                asyncio.gather(self.proc.stdout.read(), self.proc.stderr.read()), within
            )
            code = await asyncio.wait_for(self.proc.wait(), within)
        except TimeoutError:
            raise KubectlTimeout(
                f"kubectl {' '.join(self._args)} did not exit in {within}s"
            ) from None
        return Result(code=code, stdout=out.decode(), stderr=err.decode())


@contextlib.asynccontextmanager
async def kubectl_process(*args: str, kubeconfig: Path) -> AsyncIterator[Running]:
    """Start ``kubectl *args`` with pipes for stdin, stdout and stderr; kill it on exit."""
    proc = await asyncio.create_subprocess_exec(
        *_argv(args, kubeconfig),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        yield Running(proc, args)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
