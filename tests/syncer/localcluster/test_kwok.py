"""The CRI log lines kwok serves container logs from (no cluster)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from syncer.localcluster.kwok import cri_line

_CRI = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z) (stdout|stderr) F (.*)\n", re.S)


@given(
    text=st.text(alphabet=st.characters(blacklist_characters="\n\r", codec="utf-8")),
    stream=st.sampled_from(["stdout", "stderr"]),
    at=st.datetimes(min_value=dt.datetime(1970, 1, 1), timezones=st.just(dt.UTC)),
)
def test_cri_line_round_trips(text: str, stream: str, at: dt.datetime) -> None:
    """One full CRI line: time (UTC, microseconds), stream, tag F, the text unchanged."""
    match = _CRI.fullmatch(cri_line(text, stream=stream, at=at))
    assert match is not None
    stamp = dt.datetime.strptime(match.group(1), "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.UTC)
    assert (stamp, match.group(2), match.group(3)) == (at, stream, text)


def test_cri_line_converts_the_time_to_utc() -> None:
    """A time in another zone is written as the same instant in UTC."""
    at = dt.datetime(2026, 1, 2, 5, 0, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert cri_line("x", at=at) == "2026-01-02T03:00:00.000000Z stdout F x\n"


@pytest.mark.parametrize(
    ("text", "stream", "why"),
    [("two\nlines", "stdout", "newline"), ("x", "stdin", "stream"), ("x", "STDOUT", "stream")],
)
def test_cri_line_refuses_what_the_format_cannot_hold(text: str, stream: str, why: str) -> None:
    """A newline in the text or an unknown stream is a ValueError, not a corrupt log."""
    with pytest.raises(ValueError, match=why):
        cri_line(text, stream=stream)
