"""Splice two byte streams: copy both directions until either side closes.

The relay of an upgraded (101) connection.  Bytes are copied as they come,
in chunks of at most :data:`CHUNK` bytes, without looking at them (no SPDY or
WebSocket frame is parsed).  Back-pressure: each direction awaits the
receiving side's ``drain()`` before it reads again, and an asyncio
``StreamReader`` stops reading its socket when its buffer is full, so a slow
reader slows the writer down instead of filling memory (at most about
``CHUNK`` + the transports' buffers per direction).

When either side reaches end of stream or fails, both are closed and the
other direction is cancelled: a TLS stream cannot be half-closed, and the
kubelet protocols end the whole connection when one peer goes away.  Closing
(:func:`close_all`) waits at most :data:`CLOSE_WAIT` seconds for each TLS
goodbye (the peer's ``close_notify``), then aborts the connection, so none
is left half-closed behind the splice.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass

CHUNK = 2**16
CLOSE_WAIT = 2.0


@dataclass(frozen=True, slots=True)
class Side:
    """One end of the splice."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter


@dataclass(frozen=True, slots=True)
class Spliced:
    """Bytes copied each way: ``a_to_b`` (``a`` read, ``b`` written) and ``b_to_a``."""

    a_to_b: int
    b_to_a: int


async def _copy(source: Side, sink: Side, counter: list[int]) -> None:
    reader, writer = source.reader, sink.writer
    while True:
        data = await reader.read(CHUNK)
        if not data:
            return
        writer.write(data)
        counter[0] += len(data)
        await writer.drain()


async def splice(a: Side, b: Side) -> Spliced:
    """Copy ``a`` → ``b`` and ``b`` → ``a`` until one ends; close both; return the counts.

    Transport errors (reset, broken pipe, TLS errors) end the splice like an end
    of stream; cancellation closes both sides and propagates.
    """
    forward, backward = [0], [0]
    tasks = [
        asyncio.ensure_future(_copy(a, b, forward)),
        asyncio.ensure_future(_copy(b, a, backward)),
    ]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, ConnectionError, OSError):
                await task
        await close_all((a, b))
    return Spliced(a_to_b=forward[0], b_to_a=backward[0])


async def close_all(sides: Sequence[Side], *, within: float = CLOSE_WAIT) -> None:
    """Close every side; abort those whose close has not completed ``within`` seconds."""
    for side in sides:
        side.writer.close()
    waits = [asyncio.ensure_future(side.writer.wait_closed()) for side in sides]
    _, pending = await asyncio.wait(waits, timeout=within)
    for side, wait in zip(sides, waits, strict=True):
        if wait in pending:
            wait.cancel()
            side.writer.transport.abort()
        elif not wait.cancelled():
            wait.exception()  # retrieved: a reset while closing is no news
