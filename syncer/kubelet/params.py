"""The kubelet's paths and query parameters, mapped to the host API's subresources.

Pure and synchronous.  The virtual kube-apiserver calls a kubelet with the
parameters it builds from the tenant's validated options (Kubernetes
``pkg/registry/core/pod/strategy.go``: ``LogLocation`` and ``streamParams``):

* ``/containerLogs/{ns}/{pod}/{container}`` with ``follow``, ``previous``,
  ``timestamps``, ``sinceSeconds``, ``sinceTime``, ``tailLines``, ``limitBytes``,
  ``stream`` → ``pods/log`` with the same names and ``container``;
* ``/exec/{ns}/{pod}/{container}`` with ``input``, ``output``, ``error``, ``tty``
  (each ``1`` when on) and ``command`` (repeated) → ``pods/exec`` with ``stdin``,
  ``stdout``, ``stderr``, ``tty`` (``true``), ``command`` and ``container``;
* ``/attach/{ns}/{pod}/{container}`` → ``pods/attach``, as exec without ``command``;
* ``/portForward/{ns}/{pod}`` with ``port`` (comma-separated numbers) →
  ``pods/portforward`` with ``ports`` (repeated).

Only these parameters reach the host; any other is dropped.  A value the host
would read differently than the kubelet (a port that is not a number) raises
:class:`ValueError`, answered 400.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable


class Verb(enum.Enum):
    """An endpoint of the kubelet API: its path prefix and the host subresource."""

    LOGS = "containerLogs"
    EXEC = "exec"
    ATTACH = "attach"
    PORT_FORWARD = "portForward"

    @property
    def subresource(self) -> str:
        return _SUBRESOURCES[self]

    @property
    def upgrades(self) -> bool:
        """Whether the endpoint answers with an upgraded (101) connection."""
        return self is not Verb.LOGS


_SUBRESOURCES = {
    Verb.LOGS: "log",
    Verb.EXEC: "exec",
    Verb.ATTACH: "attach",
    Verb.PORT_FORWARD: "portforward",
}
_LOG_PARAMS = frozenset(
    {
        "follow",
        "previous",
        "timestamps",
        "sinceSeconds",
        "sinceTime",
        "tailLines",
        "limitBytes",
        "stream",
    }
)
# The kubelet's names (pkg/apis/core: ExecStdinParam "input", ...) → PodExecOptions' names.
_STREAM_FLAGS = {"input": "stdin", "output": "stdout", "error": "stderr", "tty": "tty"}

Params = list[tuple[str, str]]


def host_params(verb: Verb, *, query: Iterable[tuple[str, str]], container: str | None) -> Params:
    """The host API's query for ``verb`` given the kubelet ``query`` (pairs, in order).

    ``container`` (``None`` for port-forward) becomes ``container=``.  Raises
    :class:`ValueError` for a ``port`` that is not a list of numbers 1-65535.
    """
    pairs = list(query)
    result: Params = []
    if verb is Verb.LOGS:
        result = [(key, value) for key, value in pairs if key in _LOG_PARAMS]
    elif verb is Verb.PORT_FORWARD:
        for key, value in pairs:
            if key == "port":
                result.extend(("ports", str(port)) for port in _ports(value))
    else:
        for key, value in pairs:
            if key in _STREAM_FLAGS and value == "1":
                result.append((_STREAM_FLAGS[key], "true"))
            elif key == "command" and verb is Verb.EXEC:
                result.append(("command", value))
    if container is not None:
        result.append(("container", container))
    return result


def _ports(value: str) -> list[int]:
    ports = []
    for part in value.split(","):
        text = part.strip()
        if not text.isdigit() or not 1 <= int(text) <= 65535:
            raise ValueError(f"port {part!r} is not a number from 1 to 65535")
        ports.append(int(text))
    return ports
