"""Tests for syncer.kubelet.splice: both directions intact, back-pressure, end on close."""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import AsyncIterator

import pytest

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


@pytest.fixture
async def ends() -> AsyncIterator[tuple[Side, Side, asyncio.Task[Spliced]]]:
    """client ↔ [a | splice | b] ↔ backend: yields the client, the backend and the splice."""
    client, a = await _pair()
    b, backend = await _pair()
    task = asyncio.ensure_future(splice(a, b))
    yield client, backend, task
    task.cancel()
    for side in (client, backend):
        side.writer.close()


async def _send(side: Side, data: bytes) -> None:
    side.writer.write(data)
    await side.writer.drain()


async def test_bytes_cross_both_ways_intact(
    ends: tuple[Side, Side, asyncio.Task[Spliced]],
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
    ends: tuple[Side, Side, asyncio.Task[Spliced]],
) -> None:
    """The backend going away ends the splice and the client sees end of stream."""
    client, backend, task = ends
    await _send(backend, b"bye")
    backend.writer.close()
    assert await asyncio.wait_for(client.reader.read(), 10) == b"bye"
    await asyncio.wait_for(task, 10)


async def test_a_reader_that_does_not_read_holds_the_writer_back(
    ends: tuple[Side, Side, asyncio.Task[Spliced]],
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
