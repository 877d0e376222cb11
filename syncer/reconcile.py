"""The reconcile contract and its one retry policy.

A reconciler gets only a key and returns a :class:`Result`; everything about
retrying lives in :func:`decide`, one switch, each branch a named outcome that
is counted in ``vsyncer_reconcile_total{result=…}``:

==================  ===========================================  ==============
what happened        queue action                                 result label
==================  ===========================================  ==============
success              forget                                       ``success``
``requeue_after``    forget, then add after the delay             ``requeue_after``
``requeue``          rate-limited re-add                          ``requeue``
409 Conflict         rate-limited re-add (re-read fresh cache)    ``conflict``
TerminalError, 422   forget and drop (logged, counted)            ``terminal``
timeout              rate-limited re-add                          ``timeout``
any other error      rate-limited re-add                          ``error``
==================  ===========================================  ==============

Nothing retries in a hot loop: every retry goes through the rate limiter,
whose per-item backoff starts at 5 ms and doubles up to 1000 s.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol

from syncer.errors import Conflict, Invalid, TerminalError
from syncer.keys import ObjectKey


@dataclass(frozen=True, slots=True)
class Result:
    """What a reconcile asks for next: nothing, a retry with backoff, or a timed revisit."""

    requeue: bool = False
    requeue_after: float | None = None


DONE = Result()


class Reconciler(Protocol):
    """Makes the world match one key's desired state.  Must be safe to call repeatedly."""

    async def reconcile(self, key: ObjectKey) -> Result: ...


class Outcome(enum.Enum):
    SUCCESS = "success"
    REQUEUE_AFTER = "requeue_after"
    REQUEUE = "requeue"
    CONFLICT = "conflict"
    TERMINAL = "terminal"
    TIMEOUT = "timeout"
    ERROR = "error"


class Action(enum.Enum):
    FORGET = "forget"
    FORGET_AND_ADD_AFTER = "forget_and_add_after"
    RATE_LIMITED = "rate_limited"


@dataclass(frozen=True, slots=True)
class Decision:
    outcome: Outcome
    action: Action
    delay: float = 0.0


def decide(*, result: Result | None = None, error: BaseException | None = None) -> Decision:
    """The one retry policy: map a reconcile's result or error to a queue action."""
    if error is not None:
        if isinstance(error, TerminalError | Invalid):
            return Decision(Outcome.TERMINAL, Action.FORGET)
        if isinstance(error, Conflict):
            return Decision(Outcome.CONFLICT, Action.RATE_LIMITED)
        if isinstance(error, TimeoutError):
            return Decision(Outcome.TIMEOUT, Action.RATE_LIMITED)
        return Decision(Outcome.ERROR, Action.RATE_LIMITED)
    result = result or DONE
    if result.requeue_after is not None and result.requeue_after >= 0:
        return Decision(Outcome.REQUEUE_AFTER, Action.FORGET_AND_ADD_AFTER, result.requeue_after)
    if result.requeue:
        return Decision(Outcome.REQUEUE, Action.RATE_LIMITED)
    return Decision(Outcome.SUCCESS, Action.FORGET)
