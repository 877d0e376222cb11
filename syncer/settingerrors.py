"""One-line reasons for pydantic validation errors, worded for people setting ``VSYNCER_*``.

:func:`describe` turns one pydantic error into the reason part of a
:class:`~syncer.errors.ConfigError` (``must be >= 1``, ``must be true or
false``, ``required``); a validator's own ValueError message is used as it is,
and an error type it does not know keeps pydantic's message.  The text may hold
newlines only if pydantic's message does; the caller folds whitespace.

:func:`misspelt` finds ``VSYNCER_*`` variables that name no setting (pydantic
-settings ignores them silently) and the setting each most likely meant, by
:func:`difflib.get_close_matches` (ratio >= 0.6, Python's default cut-off).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import NamedTuple

from pydantic_core import ErrorDetails

__all__ = ["Misspelt", "describe", "misspelt"]


class Misspelt(NamedTuple):
    """A ``VSYNCER_*`` variable that is no setting, and the closest one (``None``: none close)."""

    variable: str
    closest: str | None


def misspelt(
    environ: Mapping[str, str], *, settings: Iterable[str], prefix: str, others: Iterable[str] = ()
) -> list[Misspelt]:
    """Every variable of ``environ`` under ``prefix`` that is neither a setting's variable
    (``prefix`` + a name of ``settings`` upper-cased) nor one of ``others``, sorted, each
    with the closest setting variable.  Names compare case-insensitively, as the settings
    read them; empty variables count as unset and are ignored."""
    known = [prefix + name.upper() for name in settings]
    allowed = {name.upper() for name in (*known, *others)}
    found = []
    for variable, value in environ.items():
        name = variable.upper()
        if name.startswith(prefix) and value != "" and name not in allowed:
            close = difflib.get_close_matches(name, known, n=1)
            found.append(Misspelt(variable, close[0] if close else None))
    return sorted(found)


def describe(error: ErrorDetails) -> str:
    """The reason, without the setting's name or value: ``must be >= 1``, ``required``."""
    kind = error["type"]
    ctx = error.get("ctx", {})
    if kind == "missing":
        return "required"
    if kind in {"greater_than_equal", "greater_than", "less_than_equal", "less_than"}:
        op, bound = {
            "greater_than_equal": (">=", ctx.get("ge")),
            "greater_than": (">", ctx.get("gt")),
            "less_than_equal": ("<=", ctx.get("le")),
            "less_than": ("<", ctx.get("lt")),
        }[kind]
        return f"must be {op} {bound}"
    if kind in {"int_parsing", "int_from_float", "int_type"}:
        return "must be a whole number"
    if kind in {"float_parsing", "float_type"}:
        return "must be a number"
    if kind in {"bool_parsing", "bool_type"}:
        return "must be true or false"
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected', '')}"
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    return error["msg"]
