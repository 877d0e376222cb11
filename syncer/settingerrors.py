"""One-line reasons for pydantic validation errors, worded for people setting ``VSYNCER_*``.

:func:`describe` turns one pydantic error into the reason part of a
:class:`~syncer.errors.ConfigError` (``must be >= 1``, ``must be true or
false``, ``required``); a validator's own ValueError message is used as it is,
and an error type it does not know keeps pydantic's message.  The text may hold
newlines only if pydantic's message does; the caller folds whitespace.
"""

from __future__ import annotations

from pydantic_core import ErrorDetails

__all__ = ["describe"]


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
