"""Just enough HTTP/1.1 framing to relay Kubernetes API traffic message by message.

A message is a head (start line and headers, up to the blank line) and a body
framed by ``Content-Length``, by ``Transfer-Encoding: chunked`` (relayed chunk
by chunk, so a watch stream flows as it comes), or by the end of the
connection.  Nothing is decoded or re-encoded: the bytes read are the bytes
relayed.  A malformed message raises :class:`ValueError`; a connection that
ends mid-message raises :class:`asyncio.IncompleteReadError`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

_MAX_HEAD = 1 << 20


@dataclass(frozen=True, slots=True)
class Head:
    """A parsed message head: the start line's words, lower-cased header names, raw bytes."""

    start: tuple[str, ...]
    headers: dict[str, str]
    raw: bytes

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")

    @property
    def chunked(self) -> bool:
        return "chunked" in self.header("transfer-encoding").lower()

    @property
    def content_length(self) -> int | None:
        value = self.header("content-length")
        return int(value) if value else None

    @property
    def closes(self) -> bool:
        return self.header("connection").lower() == "close"


def parse_head(raw: bytes) -> Head:
    """Parse a head that ends with the blank line; ``ValueError`` if it is not HTTP/1.x."""
    lines = raw.decode("latin-1").split("\r\n")
    start = tuple(lines[0].split(" ", 2))
    if len(start) < 2:
        raise ValueError(f"not an HTTP start line: {lines[0]!r}")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep:
            raise ValueError(f"not an HTTP header: {line!r}")
        headers[name.strip().lower()] = value.strip()
    return Head(start=start, headers=headers, raw=raw)


async def read_head(reader: asyncio.StreamReader) -> Head | None:
    """The next message head, or ``None`` if the connection ended cleanly between messages."""
    try:
        raw = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if not exc.partial:
            return None
        raise
    except asyncio.LimitOverrunError as exc:
        raise ValueError("HTTP head too long") from exc
    if len(raw) > _MAX_HEAD:
        raise ValueError("HTTP head too long")
    return parse_head(raw)


async def body_chunks(
    reader: asyncio.StreamReader, head: Head, *, until_eof: bool
) -> AsyncIterator[bytes]:
    """The raw body bytes of the message ``head`` starts, as they arrive.

    ``until_eof``: a message without length or chunking runs to the end of the
    connection (responses); otherwise it has no body (requests).
    """
    if head.chunked:
        while True:
            size_line = await reader.readuntil(b"\r\n")
            size = int(size_line.split(b";", 1)[0].strip(), 16)
            if size == 0:
                trailer = size_line
                while True:
                    line = await reader.readuntil(b"\r\n")
                    trailer += line
                    if line == b"\r\n":
                        break
                yield trailer
                return
            yield size_line + await reader.readexactly(size + 2)
    elif head.content_length is not None:
        remaining = head.content_length
        while remaining > 0:
            data = await reader.read(min(remaining, 65536))
            if not data:
                raise asyncio.IncompleteReadError(b"", remaining)
            remaining -= len(data)
            yield data
    elif until_eof:
        while data := await reader.read(65536):
            yield data


def response_has_body(*, method: str, status: int) -> bool:
    """RFC 9112: no body after HEAD, 1xx, 204 or 304."""
    return method != "HEAD" and status >= 200 and status not in (204, 304)


def status_response(code: int, *, reason: str, message: str) -> bytes:
    """A complete Kubernetes ``Status`` error response (keep-alive, JSON)."""
    body = (
        '{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",'
        f'"message":"{message}","reason":"{reason}","code":{code}}}'
    ).encode()
    retry = "Retry-After: 1\r\n" if code == 429 else ""
    head = (
        f"HTTP/1.1 {code} {reason}\r\nContent-Type: application/json\r\n{retry}"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    return head + body
