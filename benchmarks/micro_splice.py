"""Micro-benchmark: the CPU the kubelet relay's splice spends per 100 MB.  Not a test.

Three processes on uvloop, as ``vsyncer run``: a TLS source sends ``--mb``
megabytes to the relay's TLS server, whose connection is spliced
(:func:`syncer.kubelet.splice.splice`) to a TLS connection to a sink that
reads everything.  The relay's own CPU seconds (user + system, from
``getrusage``) over the splice are reported per 100 MB, min / median / max of
``--runs`` runs: the number P9's ``vsyncer`` column is made of, without the
API servers and kubectl around it.

    python -m benchmarks.micro_splice [--mb 200] [--runs 5]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import resource
import ssl
import statistics
import tempfile
from multiprocessing.queues import Queue
from pathlib import Path

import uvloop

from syncer.kubelet.splice import Side, splice
from syncer.kubelet.tls import self_signed

CHUNK = 2**20


def _contexts(pki: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(pki / "tls.crt", keyfile=pki / "tls.key")
    client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client.load_verify_locations(cafile=pki / "tls.crt")
    return server, client


def _sink(pki: Path, ready: Queue[int]) -> None:
    async def main() -> None:
        server_ctx, _ = _contexts(pki)
        done = asyncio.Event()

        async def drain(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            while await reader.read(CHUNK):
                pass
            writer.close()
            done.set()

        server = await asyncio.start_server(drain, "127.0.0.1", 0, ssl=server_ctx)
        ready.put(server.sockets[0].getsockname()[1])
        await done.wait()

    uvloop.run(main())


def _relay(pki: Path, upstream: int, ready: Queue[int], spent: Queue[float]) -> None:
    async def main() -> None:
        server_ctx, client_ctx = _contexts(pki)
        done = asyncio.Event()

        async def relay(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            up = await asyncio.open_connection("127.0.0.1", upstream, ssl=client_ctx)
            before = resource.getrusage(resource.RUSAGE_SELF)
            await splice(Side(reader, writer), Side(*up))
            after = resource.getrusage(resource.RUSAGE_SELF)
            used = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
            spent.put(used)
            done.set()

        server = await asyncio.start_server(relay, "127.0.0.1", 0, ssl=server_ctx)
        ready.put(server.sockets[0].getsockname()[1])
        await done.wait()

    uvloop.run(main())


def _send(port: int, pki: Path, total: int) -> None:
    async def main() -> None:
        _, client_ctx = _contexts(pki)
        _, writer = await asyncio.open_connection("127.0.0.1", port, ssl=client_ctx)
        chunk = b"\0" * CHUNK
        for _ in range(total // CHUNK):
            writer.write(chunk)
            await writer.drain()
        writer.close()
        await writer.wait_closed()

    uvloop.run(main())


def one_run(*, pki: Path, total: int) -> float:
    """The relay's CPU seconds per 100 MB for one transfer of ``total`` bytes."""
    ports: Queue[int] = multiprocessing.Queue()
    spent: Queue[float] = multiprocessing.Queue()
    sink = multiprocessing.Process(target=_sink, args=(pki, ports))
    sink.start()
    relay = multiprocessing.Process(target=_relay, args=(pki, ports.get(timeout=30), ports, spent))
    relay.start()
    _send(ports.get(timeout=30), pki, total)
    used = spent.get(timeout=600)
    for process in (relay, sink):
        process.join(60)
    return used * 100 * 2**20 / total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=200, help="megabytes per transfer")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="micro-splice-") as tmp:
        pki = Path(tmp)
        cert, key = self_signed(hosts=("127.0.0.1",))
        (pki / "tls.crt").write_bytes(cert)
        (pki / "tls.key").write_bytes(key)
        used = [one_run(pki=pki, total=args.mb * 2**20) for _ in range(args.runs)]
    print(
        f"relay CPU-s per 100 MB over {args.runs} runs of {args.mb} MB: "
        f"min {min(used):.3f}, median {statistics.median(used):.3f}, max {max(used):.3f}"
    )


if __name__ == "__main__":
    main()
