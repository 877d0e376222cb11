"""Watch-stream framing: newline-delimited JSON events, decoded without any I/O.

A Kubernetes watch answers with one JSON event per line.  :func:`take_events`
is the pure part of reading that stream: the client appends each network chunk
to one ``bytearray`` and asks for the complete lines in it.

Guarantees:

* Every complete line (ending in ``\\n``) is decoded by orjson, in order, and
  removed from the buffer once the iterator is exhausted or closed; bytes after
  the last newline (a partial line) stay for the next chunk.  Empty lines are
  skipped.  A line may be of any size: the buffer grows as needed.
* Lines are decoded from a view of the buffer, not copied; the buffer is
  compacted once per call, not once per line.
* An ``ERROR`` event is raised as the :class:`~syncer.errors.ApiError` its
  Status names (410 → :class:`~syncer.errors.Gone`), after every event before
  it has been yielded.  A Status without a code counts as 500.
* A line that is not a JSON object raises :class:`~syncer.errors.ServerError`
  (reason ``BadWatchLine``), so a corrupt stream is retried like any other
  server failure instead of escaping the error hierarchy.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping
from typing import Any

import orjson

from syncer.errors import ApiError, ServerError, error_for_status

Json = dict[str, Any]

__all__ = ["status_error", "take_events"]


def status_error(status: Mapping[str, Any] | None) -> ApiError:
    """The error an ``ERROR`` watch event's Status object stands for."""
    status = status or {}
    return error_for_status(
        status=int(status.get("code") or 500),
        reason=str(status.get("reason", "")),
        message=str(status.get("message", "")),
    )


def take_events(buffer: bytearray) -> Generator[Json, None, None]:
    """Yield the decoded events of every complete line in ``buffer``; keep the partial tail."""
    start = 0
    try:
        while (end := buffer.find(b"\n", start)) >= 0:
            begin, start = start, end + 1
            if end == begin:
                continue
            try:
                with memoryview(buffer) as view:
                    event = orjson.loads(view[begin:end])
            except orjson.JSONDecodeError as exc:
                raise _bad_line(buffer, begin, end) from exc
            if type(event) is not dict:
                raise _bad_line(buffer, begin, end)
            if event.get("type") == "ERROR":
                raise status_error(event.get("object"))
            yield event
    finally:
        if start:
            del buffer[:start]


def _bad_line(buffer: bytearray, begin: int, end: int) -> ServerError:
    head = bytes(buffer[begin : min(end, begin + 120)]).decode(errors="replace")
    return ServerError(
        status=0, reason="BadWatchLine", message=f"not a watch event ({end - begin} bytes): {head}"
    )
