"""A TCP proxy between a client and one upstream address, that can cut and delay.

Guarantees:

* it listens on ``127.0.0.1`` (an ephemeral port unless one is given) and
  forwards each accepted connection to one new upstream connection, bytes
  unchanged, in both directions;
* :meth:`TcpProxy.cut` closes every open connection (both halves, at once, with
  a TCP reset where the platform allows) and returns how many it closed; new
  connections are accepted afterwards as before; :meth:`TcpProxy.cut_every`
  does that every ``period`` seconds until cancelled;
* ``delay`` seconds (settable at any time) are waited before each chunk is
  forwarded, in either direction;
* :meth:`TcpProxy.close` stops listening and cuts everything; nothing outlives it.

The proxy runs on the caller's event loop; it knows nothing about HTTP or TLS.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct

_CHUNK = 65536


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with RST (SO_LINGER 0) rather than FIN: a cut, not a goodbye."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.close()


class TcpProxy:
    """``127.0.0.1:<port>`` → ``upstream_host:upstream_port``; see the module docstring."""

    def __init__(self, *, upstream_host: str, upstream_port: int, port: int = 0) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.delay = 0.0
        self.accepted = 0
        self.cuts = 0
        self._port = port
        self._server: asyncio.Server | None = None
        # Every live connection: its two writers and the task pumping it.
        self._conns: dict[asyncio.Task[None], tuple[asyncio.StreamWriter, ...]] = {}

    @property
    def port(self) -> int:
        """The listening port (valid after :meth:`start`)."""
        assert self._server is not None, "start() the proxy first"
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def open_connections(self) -> int:
        return len(self._conns)

    async def start(self) -> TcpProxy:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self._port)
        return self

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        self.cut()
        tasks = list(self._conns)
        await asyncio.gather(*tasks, return_exceptions=True)

    def cut(self) -> int:
        """Close every open connection now; return how many there were."""
        conns = list(self._conns.items())
        for task, writers in conns:
            for writer in writers:
                _reset(writer)
            task.cancel()
        self.cuts += 1
        return len(conns)

    async def cut_every(self, period: float) -> None:
        """Cut all connections every ``period`` seconds, until cancelled."""
        while True:
            await asyncio.sleep(period)
            self.cut()

    async def _accept(self, c_reader: asyncio.StreamReader, c_writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        task = asyncio.current_task()
        assert task is not None
        try:
            u_reader, u_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            _reset(c_writer)
            return
        self._conns[task] = (c_writer, u_writer)
        try:
            await asyncio.gather(self._pump(c_reader, u_writer), self._pump(u_reader, c_writer))
        except (OSError, asyncio.CancelledError):
            pass
        finally:
            self._conns.pop(task, None)
            for writer in (c_writer, u_writer):
                writer.close()

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            data = await reader.read(_CHUNK)
            if not data:
                with contextlib.suppress(OSError):
                    if writer.can_write_eof():
                        writer.write_eof()
                return
            if self.delay > 0:
                await asyncio.sleep(self.delay)
            writer.write(data)
            await writer.drain()
