"""Splice two byte streams: copy both directions until either side closes.

The relay of an upgraded (101) connection.  Each side is handed over as an
asyncio stream pair; the splice takes its transport over with a protocol of
its own (:class:`_Pump`, a ``BufferedProtocol``), so bytes go from one
transport's read straight to the other transport's ``write`` in the event
loop's callback, without a coroutine switch, a stream buffer or a frame parsed
(no SPDY or WebSocket framing is looked at).  Bytes the stream had already
read past the HTTP head are relayed first, in order.

Back-pressure is the transports' own flow control: when the bytes waiting
to be written to one side pass :data:`HIGH_WATER`, reading from the other
side pauses until they fall under :data:`LOW_WATER`, so at most about
``HIGH_WATER`` plus one read (256 KiB for TLS on uvloop) is held per
direction, and a slow reader slows the writer down instead of filling memory.

With an ``idle_timeout``, a splice that has relayed no byte either way for
that many seconds ends too (the kubelet's
``--streaming-connection-idle-timeout``); each read stamps the time, and the
splice looks at the stamp only when the timeout could have passed.

When either side reaches end of stream or fails, both are closed: a TLS
stream cannot be half-closed, and the kubelet protocols end the whole
connection when one peer goes away.  Closing (:func:`close_all`) waits at
most :data:`CLOSE_WAIT` seconds for each TLS goodbye (the peer's
``close_notify``), then aborts the connection, so none is left half-closed
behind the splice.  The stream's own protocol is told when its connection is
lost, so ``StreamWriter.wait_closed`` and whoever owned the connection
before see its end.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

#: bytes buffered for writing to one side before reading from the other pauses
HIGH_WATER = 2**20
#: ... and the level under which reading resumes
LOW_WATER = 2**18
#: bytes one read of a side may bring (uvloop's TLS reads at most 256 KiB at a time)
READ_BUFFER = 2**18
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


class _Pump(asyncio.BufferedProtocol):
    """The protocol of one side's transport: what it reads is written to ``sink``.

    The transport reads into one buffer of :data:`READ_BUFFER` bytes, reused, and
    each read is handed on as one ``bytes`` of its own size: a TLS transport that
    made its own objects would allocate a :data:`READ_BUFFER`-sized one per TLS
    record (16 KiB), which costs page faults and zeroing at relay rates.
    """

    def __init__(
        self, *, previous: asyncio.BaseProtocol, sink: asyncio.Transport, ended: asyncio.Event
    ) -> None:
        self.previous, self.sink, self.ended = previous, sink, ended
        self.copied = 0
        self.last = asyncio.get_running_loop().time()  # of the last bytes relayed
        self._buffer = memoryview(bytearray(READ_BUFFER))

    def get_buffer(self, sizehint: int) -> memoryview:
        return self._buffer

    def buffer_updated(self, nbytes: int) -> None:
        # A copy: the sink may keep what it is given until it is sent.
        self.relay(bytes(self._buffer[:nbytes]))

    def relay(self, data: bytes) -> None:
        if data and not self.sink.is_closing():
            self.last = asyncio.get_running_loop().time()
            self.sink.write(data)
            self.copied += len(data)

    def eof_received(self) -> bool:
        self.ended.set()
        return False  # close: no half-closed relay

    def pause_writing(self) -> None:
        # Our side's outgoing buffer is full: stop reading what would be written to it.
        self.sink.pause_reading()

    def resume_writing(self) -> None:
        if not self.sink.is_closing():
            self.sink.resume_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        self.ended.set()
        self.previous.connection_lost(exc)


def _transport(side: Side) -> asyncio.Transport:
    # A stream's transport reads too; uvloop's are not asyncio.Transport subclasses,
    # so this is a cast, not a check.
    return cast(asyncio.Transport, side.writer.transport)


async def _buffered(reader: asyncio.StreamReader) -> bytes:
    """What ``reader`` holds, once no more bytes can reach it (its protocol was replaced)."""
    if reader.exception() is not None:
        return b""
    reader.feed_eof()
    return await reader.read()  # at end of stream: returns the buffer at once


async def splice(a: Side, b: Side, *, idle_timeout: float | None = None) -> Spliced:
    """Copy ``a`` → ``b`` and ``b`` → ``a`` until one ends; close both; return the counts.

    ``idle_timeout`` (seconds, ``None``: none): end when no byte passed for that long.

    Transport errors (reset, broken pipe, TLS errors) end the splice like an end
    of stream; cancellation closes both sides and propagates.  The streams'
    readers must not be read from meanwhile.
    """
    ended = asyncio.Event()
    ta, tb = _transport(a), _transport(b)
    pa = _Pump(previous=ta.get_protocol(), sink=tb, ended=ended)
    pb = _Pump(previous=tb.get_protocol(), sink=ta, ended=ended)
    try:
        for transport, pump in ((ta, pa), (tb, pb)):
            transport.set_protocol(pump)
            transport.set_write_buffer_limits(high=HIGH_WATER, low=LOW_WATER)
        for side, pump in ((a, pa), (b, pb)):
            pump.relay(await _buffered(side.reader))
        for transport in (ta, tb):
            if transport.is_closing():
                ended.set()
            else:
                transport.resume_reading()
        await _until(ended, pumps=(pa, pb), idle_timeout=idle_timeout)
    finally:
        await close_all((a, b))
    return Spliced(a_to_b=pa.copied, b_to_a=pb.copied)


async def _until(
    ended: asyncio.Event, *, pumps: Sequence[_Pump], idle_timeout: float | None
) -> None:
    """Return when ``ended`` is set or no pump relayed a byte for ``idle_timeout`` s."""
    if idle_timeout is None:
        await ended.wait()
        return
    loop = asyncio.get_running_loop()
    while True:
        left = max(pump.last for pump in pumps) + idle_timeout - loop.time()
        if left <= 0:
            return
        try:
            async with asyncio.timeout(left):
                await ended.wait()
            return
        except TimeoutError:
            continue


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
