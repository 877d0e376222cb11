"""Tests for syncer.sleep_settings: VSYNCER_SLEEP_AFTER and its durations."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from syncer.errors import ConfigError
from syncer.settings import load_settings
from syncer.sleep_settings import parse_duration

REQUIRED = {"VSYNCER_VCLUSTER_NAME": "vc1", "VSYNCER_HOST_NAMESPACE": "vc1-host"}


def test_off_by_default() -> None:
    assert load_settings(env=REQUIRED).sleep_after is None


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("30m", 1800), ("1h30m", 5400), ("90s", 90), ("1.5h", 5400), ("45", 45), ("500ms", 0.5)],
)
def test_durations(value: str, seconds: float) -> None:
    assert load_settings(env={**REQUIRED, "VSYNCER_SLEEP_AFTER": value}).sleep_after == seconds


@pytest.mark.parametrize("value", ["0", "-5m", "30x", "m", "1h 30m", "inf", "nan", "soon"])
def test_a_bad_duration_is_one_line_naming_the_setting(value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(env={**REQUIRED, "VSYNCER_SLEEP_AFTER": value})
    assert caught.value.setting == "VSYNCER_SLEEP_AFTER"
    assert "duration" in caught.value.message
    assert "\n" not in str(caught.value)


@given(h=st.integers(0, 99), m=st.integers(0, 59), s=st.integers(1, 59))
def test_parts_add_up(h: int, m: int, s: int) -> None:
    assert parse_duration(f"{h}h{m}m{s}s") == h * 3600 + m * 60 + s
