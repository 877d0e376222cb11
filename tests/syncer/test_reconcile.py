"""The one retry policy."""

from __future__ import annotations

import pytest

from syncer.errors import Conflict, Forbidden, Invalid, NotFound, ServerError, TerminalError
from syncer.reconcile import Action, Outcome, Result, decide


@pytest.mark.parametrize(
    ("kwargs", "outcome", "action"),
    [
        ({"result": Result()}, Outcome.SUCCESS, Action.FORGET),
        ({"result": None}, Outcome.SUCCESS, Action.FORGET),
        ({"result": Result(requeue_after=3.0)}, Outcome.REQUEUE_AFTER, Action.FORGET_AND_ADD_AFTER),
        ({"result": Result(requeue=True)}, Outcome.REQUEUE, Action.RATE_LIMITED),
        ({"error": Conflict(status=409)}, Outcome.CONFLICT, Action.RATE_LIMITED),
        ({"error": TerminalError("x")}, Outcome.TERMINAL, Action.FORGET),
        ({"error": Invalid(status=422)}, Outcome.TERMINAL, Action.FORGET),
        ({"error": TimeoutError()}, Outcome.TIMEOUT, Action.RATE_LIMITED),
        ({"error": ServerError(status=500)}, Outcome.ERROR, Action.RATE_LIMITED),
        ({"error": NotFound(status=404)}, Outcome.ERROR, Action.RATE_LIMITED),
        ({"error": Forbidden(status=403)}, Outcome.ERROR, Action.RATE_LIMITED),
        ({"error": ZeroDivisionError()}, Outcome.ERROR, Action.RATE_LIMITED),
    ],
)
def test_decide(kwargs: dict[str, object], outcome: Outcome, action: Action) -> None:
    """Each result or error maps to exactly one outcome and queue action."""
    decision = decide(**kwargs)  # type: ignore[arg-type]
    assert decision.outcome is outcome
    assert decision.action is action


def test_requeue_after_carries_the_delay() -> None:
    """``requeue_after`` is honoured as the add-after delay."""
    assert decide(result=Result(requeue_after=2.5)).delay == 2.5
