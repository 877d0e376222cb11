"""The watch-stream framing the client uses: partial lines, ERROR events, bookmarks, huge lines."""

from __future__ import annotations

from collections.abc import Mapping

import orjson
import pytest

from syncer.errors import ApiError, Gone, ServerError, TooManyRequests
from syncer.watchlines import status_error, take_events


def _line(event: Mapping[str, object]) -> bytes:
    return orjson.dumps(event) + b"\n"


def _added(name: str, rv: str) -> dict[str, object]:
    return {
        "type": "ADDED",
        "object": {"metadata": {"name": name, "namespace": "ns", "resourceVersion": rv}},
    }


def test_complete_lines_are_decoded_in_order_and_removed() -> None:
    """Two whole lines give two events and leave an empty buffer."""
    buffer = bytearray(_line(_added("a", "1")) + _line(_added("b", "2")))
    events = list(take_events(buffer))
    assert [e["object"]["metadata"]["name"] for e in events] == ["a", "b"]
    assert buffer == b""


def test_a_partial_line_waits_for_the_rest() -> None:
    """Bytes after the last newline stay in the buffer until the chunk that completes them."""
    whole = _line(_added("a", "1")) + _line(_added("b", "2"))
    cut = len(_line(_added("a", "1"))) + 7
    buffer = bytearray(whole[:cut])
    assert [e["object"]["metadata"]["name"] for e in take_events(buffer)] == ["a"]
    assert bytes(buffer) == whole[len(_line(_added("a", "1"))) : cut]
    buffer += whole[cut:]
    assert [e["object"]["metadata"]["name"] for e in take_events(buffer)] == ["b"]
    assert buffer == b""


def test_a_stream_split_at_every_byte_decodes_the_same() -> None:
    """Feeding one byte at a time yields exactly the events of the whole stream."""
    whole = b"".join(_line(_added(f"o{i}", str(i))) for i in range(3))
    buffer = bytearray()
    names: list[str] = []
    for byte in whole:
        buffer.append(byte)
        names += [e["object"]["metadata"]["name"] for e in take_events(buffer)]
    assert names == ["o0", "o1", "o2"]
    assert buffer == b""


def test_empty_lines_are_skipped() -> None:
    """Blank lines between events are not events."""
    buffer = bytearray(b"\n" + _line(_added("a", "1")) + b"\n\n")
    assert len(list(take_events(buffer))) == 1
    assert buffer == b""


def test_bookmarks_are_passed_through() -> None:
    """A BOOKMARK event is yielded like any other; the reflector reads its resourceVersion."""
    bookmark = {"type": "BOOKMARK", "object": {"metadata": {"resourceVersion": "42"}}}
    assert list(take_events(bytearray(_line(bookmark)))) == [bookmark]


def test_an_error_event_with_status_410_raises_gone_after_earlier_events() -> None:
    """Events before the ERROR line are delivered, then Gone is raised."""
    status = {"kind": "Status", "code": 410, "reason": "Expired", "message": "too old"}
    buffer = bytearray(_line(_added("a", "1")) + _line({"type": "ERROR", "object": status}))
    events = take_events(buffer)
    assert next(events)["type"] == "ADDED"
    with pytest.raises(Gone) as caught:
        next(events)
    assert (caught.value.status, caught.value.reason, caught.value.message) == (
        410,
        "Expired",
        "too old",
    )


def test_other_error_statuses_map_to_their_classes() -> None:
    """429 is TooManyRequests; a Status without a code is a 500 ServerError."""
    assert isinstance(status_error({"code": 429}), TooManyRequests)
    missing = status_error({"message": "boom"})
    assert isinstance(missing, ServerError)
    assert missing.status == 500
    assert isinstance(status_error(None), ServerError)


def test_a_line_that_is_not_json_is_a_server_error() -> None:
    """Corrupt bytes raise ServerError(BadWatchLine), inside the project's hierarchy."""
    with pytest.raises(ServerError) as caught:
        list(take_events(bytearray(b"{not json\n")))
    assert caught.value.reason == "BadWatchLine"
    with pytest.raises(ApiError):
        list(take_events(bytearray(b"[1, 2]\n")))


def test_a_huge_line_is_decoded_whole() -> None:
    """A 5 MiB object (bigger than any read buffer) arrives intact across many chunks."""
    big = {
        "type": "MODIFIED",
        "object": {"metadata": {"name": "big"}, "data": {"k": "x" * 5_000_000}},
    }
    whole = _line(big)
    buffer = bytearray()
    events = []
    for offset in range(0, len(whole), 65536):
        buffer += whole[offset : offset + 65536]
        events += list(take_events(buffer))
    assert len(events) == 1
    assert events[0]["object"]["data"]["k"] == "x" * 5_000_000
    assert buffer == b""


def test_closing_early_still_compacts_what_was_consumed() -> None:
    """A consumer that stops after one event leaves only the unconsumed lines in the buffer."""
    second = _line(_added("b", "2"))
    buffer = bytearray(_line(_added("a", "1")) + second)
    events = take_events(buffer)
    next(events)
    events.close()
    assert bytes(buffer) == second
