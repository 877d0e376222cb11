"""Tests for syncer.kubelet.splice: both directions intact, back-pressure, end on close.

Each scenario runs on asyncio's loop (the test's) and on uvloop (the daemon's), whose
transports differ.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import os
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
import uvloop

from syncer.kubelet.splice import Side, Spliced, splice


async def _pair() -> tuple[Side, Side]:
    """Two connected loopback TCP stream ends."""
    accepted: asyncio.Future[Side] = asyncio.get_running_loop().create_future()

    def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.set_result(Side(reader=reader, writer=writer))

    server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    near = await accepted
    server.close()
    return Side(reader=reader, writer=writer), near


Ends = tuple[Side, Side, "asyncio.Task[Spliced]"]


@contextlib.asynccontextmanager
async def _ends(*, head: bytes = b"", idle_timeout: float | None = None) -> AsyncIterator[Ends]:
    """client ↔ [a | splice | b] ↔ backend: yields the client, the backend and the splice.

    With ``head``, the client and the backend each first send ``head`` and then
    ``b"early"`` in one write, and the splice starts once ``a`` and ``b`` have read
    ``head`` (as an upgrade's head is read before its splice).
    """
    client, a = await _pair()
    b, backend = await _pair()
    if head:
        for sender, receiver in ((client, a), (backend, b)):
            sender.writer.write(head + b"early")
            await receiver.reader.readexactly(len(head))
    task = asyncio.ensure_future(splice(a, b, idle_timeout=idle_timeout))
    try:
        yield client, backend, task
    finally:
        task.cancel()
        for side in (client, backend):
            side.writer.close()


@pytest.fixture
async def ends() -> AsyncIterator[Ends]:
    """The spliced ends of :func:`_ends`."""
    async with _ends() as made:
        yield made


async def _send(side: Side, data: bytes) -> None:
    side.writer.write(data)
    await side.writer.drain()


async def test_bytes_cross_both_ways_intact(
    ends: Ends,
) -> None:
    """4 MiB each way arrive unchanged; the counts are what was copied."""
    client, backend, task = ends
    up, down = os.urandom(4 * 2**20), os.urandom(4 * 2**20)
    sending = asyncio.gather(_send(client, up), _send(backend, down))
    got_up, got_down = await asyncio.gather(
        backend.reader.readexactly(len(up)), client.reader.readexactly(len(down))
    )
    await sending
    assert hashlib.sha256(got_up).digest() == hashlib.sha256(up).digest()
    assert hashlib.sha256(got_down).digest() == hashlib.sha256(down).digest()
    client.writer.close()
    counts = await asyncio.wait_for(task, 10)
    assert counts == Spliced(a_to_b=len(up), b_to_a=len(down))


async def test_closing_one_side_closes_the_other(
    ends: Ends,
) -> None:
    """The backend going away ends the splice and the client sees end of stream."""
    client, backend, task = ends
    await _send(backend, b"bye")
    backend.writer.close()
    assert await asyncio.wait_for(client.reader.read(), 10) == b"bye"
    await asyncio.wait_for(task, 10)


async def test_a_reader_that_does_not_read_holds_the_writer_back(
    ends: Ends,
) -> None:
    """Back-pressure: 64 MiB cannot be pushed while the backend reads nothing.

    Without flow control the splice would buffer it all in memory within
    milliseconds and the client's drain would return; with it, the client's
    drain waits until the backend reads.
    """
    client, backend, _task = ends
    data = os.urandom(2**20) * 64
    sender = asyncio.ensure_future(_send(client, data))
    done, _ = await asyncio.wait({sender}, timeout=2)
    assert not done, "64 MiB went through a reader that never read"
    received = await asyncio.wait_for(backend.reader.readexactly(len(data)), 60)
    await asyncio.wait_for(sender, 10)
    assert received == data


async def test_bytes_read_before_the_splice_are_relayed_first() -> None:
    """Bytes a stream already holds past the head go through, before later ones."""
    async with _ends(head=b"HTTP/1.1 101\r\n\r\n") as (client, backend, task):
        await _send(client, b"-late")
        await _send(backend, b"-late")
        assert await asyncio.wait_for(backend.reader.readexactly(10), 10) == b"early-late"
        assert await asyncio.wait_for(client.reader.readexactly(10), 10) == b"early-late"
        client.writer.close()
        assert await asyncio.wait_for(task, 10) == Spliced(a_to_b=10, b_to_a=10)


async def test_an_idle_splice_ends_and_a_busy_one_does_not() -> None:
    """With an idle timeout: bytes every 0.1 s (either way) keep a 0.4 s splice open for
    1.2 s; once nothing passes, it ends and closes both sides."""
    async with _ends(idle_timeout=0.4) as (client, backend, task):
        loop = asyncio.get_running_loop()
        busy_until = loop.time() + 1.2
        for turn in itertools.count():
            if loop.time() >= busy_until:
                break
            sender, receiver = (client, backend) if turn % 2 else (backend, client)
            last_sent = loop.time()
            await _send(sender, b"x")
            assert await asyncio.wait_for(receiver.reader.readexactly(1), 5) == b"x"
            assert not task.done()
            await asyncio.sleep(0.1)
        counts = await asyncio.wait_for(task, 10)
        assert loop.time() - last_sent >= 0.39  # not before the idle time (1 ms clock steps)
        assert counts.a_to_b + counts.b_to_a == turn
        assert await asyncio.wait_for(client.reader.read(), 10) == b""
        assert await asyncio.wait_for(backend.reader.read(), 10) == b""


_SCENARIOS: dict[str, Callable[[Ends], Awaitable[None]]] = {
    "intact": test_bytes_cross_both_ways_intact,
    "close": test_closing_one_side_closes_the_other,
    "back-pressure": test_a_reader_that_does_not_read_holds_the_writer_back,
}


@pytest.mark.parametrize("scenario", sorted(_SCENARIOS))
def test_on_uvloop(scenario: str) -> None:
    """The same scenarios hold on uvloop."""

    async def run() -> None:
        async with _ends() as made:
            await _SCENARIOS[scenario](made)

    uvloop.run(run())


def test_idle_timeout_on_uvloop() -> None:
    """The idle timeout holds on uvloop too."""
    uvloop.run(test_an_idle_splice_ends_and_a_busy_one_does_not())


def test_early_bytes_on_uvloop() -> None:
    """Bytes held past the head are relayed first on uvloop too."""
    uvloop.run(test_bytes_read_before_the_splice_are_relayed_first())
