"""The project's error hierarchy.

Only :mod:`syncer.kube` translates the client library's exceptions into these
(with ``raise … from exc``); everything above it reasons in these terms.

``ApiError`` → ``NotFound``, ``Conflict``, ``AlreadyExists``, ``Gone``, ``Invalid``,
``Forbidden``, ``TooManyRequests``, ``ServerError``.  ``TerminalError`` marks a
reconcile failure that retrying cannot fix: it is counted and dropped; its
``Refused`` is a tenant-boundary refusal the engine reports on the virtual object.
``ConfigError`` is a bad setting: the CLI prints it on one line and exits 2.
"""

from __future__ import annotations


class VsyncerError(Exception):
    """Base of every error this project raises on purpose."""


class ConfigError(VsyncerError):
    """A setting is invalid; ``setting`` names it."""

    def __init__(self, setting: str, message: str) -> None:
        super().__init__(f"{setting}: {message}")
        self.setting = setting
        self.message = message


class TerminalError(VsyncerError):
    """A reconcile error that retrying cannot fix: counted and dropped."""


class Refused(TerminalError):
    """vsyncer refuses to sync a virtual object as it is: a tenant-boundary rule says no.

    ``reason`` is a short snake_case label (``pod_security``, ``external_ips``, …)
    counted in ``vsyncer_refused_objects_total{kind,reason}``; ``message`` is one
    line that names the offending field by its JSON path
    (``spec.containers[0].securityContext.privileged: …``) and becomes a Warning
    event on the virtual object.  ``retry_after`` is ``None`` when only a change
    of the object itself can lift the refusal (its next watch event brings the
    key back), else the seconds after which the engine looks again, for causes
    that can change elsewhere (a colliding object removed, a node added, a host
    quota raised).  With ``retry_max``, ``retry_after`` is the first delay of a
    backoff that doubles with every consecutive refusal of the object, up to
    ``retry_max`` seconds (a cause that may go any moment, such as a full
    quota).  ``event_reason`` is the Warning event's reason:
    ``SyncRefused`` for vsyncer's own rules, ``SyncError`` when the host cluster
    rejected the write.
    """

    def __init__(
        self,
        *,
        reason: str,
        message: str,
        retry_after: float | None = None,
        event_reason: str = "SyncRefused",
        retry_max: float | None = None,
    ) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.retry_after = retry_after
        self.event_reason = event_reason
        self.retry_max = retry_max


class ApiError(VsyncerError):
    """An error answer from a Kubernetes API server."""

    def __init__(self, *, status: int, reason: str = "", message: str = "") -> None:
        super().__init__(f"{status} {reason}: {message}".strip())
        self.status = status
        self.reason = reason
        self.message = message


class NotFound(ApiError):
    """404: the object (or its namespace) does not exist."""


class Conflict(ApiError):
    """409 with a stale resourceVersion or failed precondition: retry from fresh cache state."""


class AlreadyExists(ApiError):
    """409 AlreadyExists on create."""


class Gone(ApiError):
    """410: the resourceVersion is too old (compacted); the reflector relists."""


class Invalid(ApiError):
    """422: the server rejected the object; retrying the same object cannot help."""


class Forbidden(ApiError):
    """403: RBAC or admission refused the request."""


class TooManyRequests(ApiError):
    """429: the server asks us to slow down."""


class ServerError(ApiError):
    """5xx or a transport failure; worth retrying with backoff."""


class HostWriteRefused(TerminalError):
    """The guarded host writer refused a write: not ours, or outside the host namespace."""


def error_for_status(*, status: int, reason: str = "", message: str = "") -> ApiError:
    """The :class:`ApiError` subclass for an HTTP status and Kubernetes ``reason``."""
    cls: type[ApiError]
    if status == 404:
        cls = NotFound
    elif status == 409:
        cls = AlreadyExists if reason == "AlreadyExists" else Conflict
    elif status == 410:
        cls = Gone
    elif status == 422:
        cls = Invalid
    elif status == 403:
        cls = Forbidden
    elif status == 429:
        cls = TooManyRequests
    elif status >= 500 or status == 0:
        cls = ServerError
    else:
        cls = ApiError
    return cls(status=status, reason=reason, message=message)
