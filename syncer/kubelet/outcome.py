"""What a kubelet request handler reports back to the server's log and metrics line.

Handlers fill one :class:`Outcome` per request (the host pod, bytes relayed);
the server middleware stamps the status and duration and writes one log line
and one metrics observation from it.  Errors answered to the client are
plain-text bodies: the virtual API server turns a kubelet's non-2xx answer
into a Status whose message is that body (Kubernetes
``GenericHttpResponseChecker``), which ``kubectl`` prints.
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson
from aiohttp import web


@dataclass(slots=True)
class Outcome:
    """Mutable per-request record, owned by the request's handler."""

    verb: str = "other"
    host_pod: str = ""
    to_client: int = 0
    to_host: int = 0


_OUTCOME = web.RequestKey("vsyncer_outcome", Outcome)


def outcome_of(request: web.Request) -> Outcome:
    """The request's :class:`Outcome` (created on first use, by the server middleware)."""
    found = request.get(_OUTCOME)
    if found is None:
        found = Outcome()
        request[_OUTCOME] = found
    return found


def text_error(status: int, message: str) -> web.Response:
    """A plain-text error answer (one line, newline-terminated)."""
    return web.Response(status=status, text=message.rstrip("\n") + "\n")


def status_message(body: bytes) -> str:
    """The ``message`` of a Kubernetes Status body, or the body itself as text."""
    try:
        status = orjson.loads(body)
    except orjson.JSONDecodeError:
        status = None
    if isinstance(status, dict) and isinstance(status.get("message"), str):
        return str(status["message"])
    return body.decode(errors="replace").strip() or "no message"


def not_synced(*, namespace: str, pod: str) -> web.Response:
    """The 404 for a virtual pod without a host twin of this virtual cluster."""
    return text_error(
        404,
        f'pod "{pod}" in namespace "{namespace}" has no copy on the host cluster'
        " (not synced yet, or not a pod of this virtual cluster)",
    )


def no_container(*, namespace: str, pod: str, container: str) -> web.Response:
    """The 404 for a container name that is not in the virtual pod's spec."""
    return text_error(
        404, f'container "{container}" is not a container of pod "{pod}" in namespace "{namespace}"'
    )
