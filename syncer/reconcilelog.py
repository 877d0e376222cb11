"""The logger a reconcile runs with: bound to its key and reconcile id, on first use.

controller-runtime hands user code a logger carrying the controller, the key
and a reconcile id; so does vsyncer, without paying for it on reconciles that
log nothing (most of them: the pods up-to-date check takes a few
microseconds, binding a structlog logger about a microsecond).

Guarantees:

* :func:`enter` marks the running task (and only it, with the tasks it
  starts) as reconciling one key under one id; the
  :class:`~syncer.controller.Controller` calls it before every reconcile and
  :func:`leave` after it, which restores what was there before.  That costs one
  :class:`contextvars.ContextVar` set and reset, nothing else (a
  ``with`` statement would cost twice as much on the hot path).
* A :class:`ReconcileLogger` logs through its base logger; between
  :func:`enter` and :func:`leave` every line also carries ``key`` (``kind:namespace/name``)
  and ``reconcile_id``, bound when the line is logged.  Outside a reconcile
  (an informer handler) its lines carry only what the base logger binds.
* The variable is the module's only state; it holds a per-task value, never
  shared between concurrent reconciles.
"""

from __future__ import annotations

from contextvars import ContextVar, Token
from typing import Any, NamedTuple

from syncer.keys import ObjectKey


class ReconcileScope(NamedTuple):
    """The reconcile the current task runs: its key and its id."""

    key: ObjectKey
    reconcile_id: int


_CURRENT: ContextVar[ReconcileScope | None] = ContextVar("vsyncer_reconcile", default=None)


ScopeToken = Token[ReconcileScope | None]


def enter(*, key: ObjectKey, reconcile_id: int) -> ScopeToken:
    """Mark the current task as running reconcile ``reconcile_id`` of ``key``;
    hand the token to :func:`leave` when it ends (``try``/``finally``)."""
    return _CURRENT.set(ReconcileScope(key, reconcile_id))


def leave(token: ScopeToken) -> None:
    """End the reconcile :func:`enter` began: the task's previous scope is back."""
    _CURRENT.reset(token)


class ReconcileLogger:
    """A structlog logger that adds the current reconcile's key and id to every line."""

    __slots__ = ("_base",)

    def __init__(self, base: Any) -> None:
        self._base = base

    def _log(self) -> Any:
        scope = _CURRENT.get()
        if scope is None:
            return self._base
        return self._base.bind(key=str(scope.key), reconcile_id=scope.reconcile_id)

    def bind(self, **fields: Any) -> ReconcileLogger:
        """A logger with ``fields`` bound too, still adding the reconcile's key and id."""
        return ReconcileLogger(self._base.bind(**fields))

    def debug(self, event: str, *args: Any, **fields: Any) -> Any:
        return self._log().debug(event, *args, **fields)

    def info(self, event: str, *args: Any, **fields: Any) -> Any:
        return self._log().info(event, *args, **fields)

    def warning(self, event: str, *args: Any, **fields: Any) -> Any:
        return self._log().warning(event, *args, **fields)

    def error(self, event: str, *args: Any, **fields: Any) -> Any:
        return self._log().error(event, *args, **fields)

    def exception(self, event: str, *args: Any, **fields: Any) -> Any:
        return self._log().exception(event, *args, **fields)
