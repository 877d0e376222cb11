"""The sleep-mode settings: the ``VSYNCER_SLEEP_*`` fields of :class:`~syncer.settings.Settings`.

:class:`SleepFields` is a pydantic model that :class:`~syncer.settings.Settings`
inherits, so these fields are read, validated and reported (one line naming the
variable, exit 2) like the others.  Off by default.

* ``sleep_after``: how long the virtual cluster may stay idle (no tenant
  activity, :mod:`syncer.activity`) before it goes to sleep.  A duration as Go
  and Kubernetes write them — ``30m``, ``1h30m``, ``90s``, ``1.5h`` — or a plain
  number of seconds; unset (the default) turns sleep mode off, and with it the
  activity tracking and ``vsyncer_last_activity_timestamp_seconds``.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, field_validator

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ms|s|m|h)")


def parse_duration(value: str) -> float:
    """Seconds in a duration such as ``30m``, ``1h30m`` or ``45`` (seconds); ValueError if
    it is not one or not positive."""
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        parts = _PART.findall(text)
        if not parts or "".join(n + u for n, u in parts) != text:
            raise ValueError(f"{value!r} is not a duration such as 30m, 1h30m or 90s") from None
        seconds = sum(float(number) * _UNITS[unit] for number, unit in parts)
    if not seconds > 0 or seconds == float("inf"):
        raise ValueError(f"{value!r} must be a positive duration")
    return seconds


class SleepFields(BaseModel):
    """The sleep block of :class:`~syncer.settings.Settings` (see the module docstring)."""

    sleep_after: float | None = None

    @field_validator("sleep_after", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> Any:
        if value is None or isinstance(value, bool):
            return value
        return parse_duration(str(value))
