"""A TLS-terminating HTTP proxy that answers a share of API requests with 429/500/503.

vsyncer gets a kubeconfig whose server is this proxy (same CA: the proxy's
certificate is signed by the cluster's CA, :mod:`tests.faults.certs`); the
proxy forwards to the real kube-apiserver over TLS with the admin client
certificate.  Each request is decided by :meth:`FaultPlan.decide` with the
proxy's seeded RNG:

* ``BEFORE`` — the error is answered at once and the request never reaches the
  API server (nothing happened);
* ``AFTER`` — the request is forwarded, its complete answer read and thrown
  away, and the error answered instead (the write happened, the answer is lost);
  watches are never failed this way (their answer does not end);
* ``PASS`` — forwarded, the answer relayed as it arrives (watch streams too).

Guarantees: the bytes of a passed request and its answer are relayed
unchanged; one upstream connection per client connection, so keep-alive and
ordering are the client's; counts of each outcome are kept per proxy
(:attr:`FaultyApiProxy.counts`); :meth:`FaultyApiProxy.close` ends every
connection.  The plan can be changed while running (``proxy.plan = ...``).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import random
import ssl
from collections import Counter
from dataclasses import dataclass

from syncer.localcluster.pki import CertPair
from tests.faults.httpframing import (
    Head,
    body_chunks,
    read_head,
    response_has_body,
    status_response,
)

_REASONS = {429: "TooManyRequests", 500: "InternalError", 503: "ServiceUnavailable"}


class Fault(enum.Enum):
    PASS = "pass"
    BEFORE = "before"
    AFTER = "after"


@dataclass(frozen=True, slots=True)
class FaultPlan:
    """``share`` (0..1) of requests fail; of those, ``after_share`` fail after forwarding."""

    share: float = 0.0
    after_share: float = 0.5
    codes: tuple[int, ...] = (429, 500, 503)

    def decide(self, rng: random.Random, *, watch: bool) -> tuple[Fault, int]:
        """The fate of one request: the fault and the status code to answer (0 for PASS)."""
        if rng.random() >= self.share:
            return Fault.PASS, 0
        code = rng.choice(self.codes)
        if not watch and rng.random() < self.after_share:
            return Fault.AFTER, code
        return Fault.BEFORE, code


def is_watch(target: str) -> bool:
    """Whether a request target is a watch (``?watch=true`` / ``watch=1``)."""
    _, _, query = target.partition("?")
    return any(p in ("watch=true", "watch=1") for p in query.split("&"))


@dataclass(frozen=True, slots=True)
class Upstream:
    """Where the proxy forwards: a host, port and (for TLS) the client's trust and identity."""

    host: str
    port: int
    ssl: ssl.SSLContext | None


def upstream_tls(*, ca_file: str, cert_file: str, key_file: str) -> ssl.SSLContext:
    """A client TLS context trusting ``ca_file`` and presenting ``cert_file``/``key_file``."""
    ctx = ssl.create_default_context(cafile=ca_file)
    ctx.load_cert_chain(cert_file, key_file)
    return ctx


class FaultyApiProxy:
    """Listens on ``127.0.0.1:<port>`` with TLS (``serving``) or plain (``None``)."""

    def __init__(
        self, *, upstream: Upstream, serving: CertPair | None, plan: FaultPlan, seed: int
    ) -> None:
        self.upstream = upstream
        self.plan = plan
        self.rng = random.Random(seed)
        self.counts: Counter[str] = Counter()
        self._tls: ssl.SSLContext | None = None
        if serving is not None:
            self._tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self._tls.load_cert_chain(str(serving.cert), str(serving.key))
            self._tls.set_alpn_protocols(["http/1.1"])
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def port(self) -> int:
        assert self._server is not None, "start() the proxy first"
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def url(self) -> str:
        return f"{'https' if self._tls else 'http'}://127.0.0.1:{self.port}"

    async def start(self) -> FaultyApiProxy:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self._tls)
        return self

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            writer.close()
        if self._server is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), 5)

    async def _serve(self, c_reader: asyncio.StreamReader, c_writer: asyncio.StreamWriter) -> None:
        self._writers.add(c_writer)
        upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        try:
            while (head := await read_head(c_reader)) is not None:
                body = b"".join([c async for c in body_chunks(c_reader, head, until_eof=False)])
                fault, code = self.plan.decide(self.rng, watch=is_watch(head.start[1]))
                self.counts[fault.value] += 1
                if fault is Fault.BEFORE:
                    c_writer.write(self._error(code, "before"))
                    await c_writer.drain()
                    continue
                if upstream is None:
                    upstream = await asyncio.open_connection(
                        self.upstream.host, self.upstream.port, ssl=self.upstream.ssl
                    )
                keep = await self._forward(head, body, upstream, c_writer, fault=fault, code=code)
                if not keep:
                    return
        except (OSError, ValueError, asyncio.IncompleteReadError, ssl.SSLError):
            return
        finally:
            self._writers.discard(c_writer)
            c_writer.close()
            if upstream is not None:
                upstream[1].close()

    def _error(self, code: int, when: str) -> bytes:
        reason = _REASONS.get(code, "InternalError")
        return status_response(code, reason=reason, message=f"injected by the fault proxy ({when})")

    async def _forward(
        self,
        head: Head,
        body: bytes,
        upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter],
        c_writer: asyncio.StreamWriter,
        *,
        fault: Fault,
        code: int,
    ) -> bool:
        """Relay one request and its answer; return whether both connections stay usable."""
        u_reader, u_writer = upstream
        u_writer.write(head.raw + body)
        await u_writer.drain()
        answer = await read_head(u_reader)
        if answer is None:
            return False
        status = int(answer.start[1])
        framed = answer.chunked or answer.content_length is not None
        has_body = response_has_body(method=head.start[0], status=status)
        if fault is Fault.AFTER:
            if has_body:
                async for _ in body_chunks(u_reader, answer, until_eof=True):
                    pass
            c_writer.write(self._error(code, "after"))
            await c_writer.drain()
            return framed or not has_body
        c_writer.write(answer.raw)
        if has_body:
            async for chunk in body_chunks(u_reader, answer, until_eof=True):
                c_writer.write(chunk)
                await c_writer.drain()
        await c_writer.drain()
        return (framed or not has_body) and not answer.closes and not head.closes
