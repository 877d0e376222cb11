"""The kubelet settings: the ``VSYNCER_KUBELET_*`` fields of :class:`~syncer.settings.Settings`.

:class:`KubeletFields` is a pydantic model that :class:`~syncer.settings.Settings`
inherits, so these fields are read, validated and reported (one line naming the
variable, exit 2) exactly like the others.

* ``kubelet_client_ca``: the kubelet-client CA file (the CA of the virtual API
  server's ``--kubelet-client-certificate``).  The kubelet server runs when it
  is set and only accepts clients whose certificate it signed; unset, there is
  no kubelet server.
* ``kubelet_bind`` (default ``:10250``, the kubelet's port): where the server
  listens; its port is also the port the fake nodes advertise
  (``daemonEndpoints.kubeletEndpoint.Port``), so it cannot be 0.
* ``kubelet_address``: the address the fake nodes advertise (their
  ``InternalIP``); default the pod's IP (``POD_IP``), see
  :mod:`syncer.kubelet.address`.
* ``kubelet_tls_cert`` / ``kubelet_tls_key``: the serving certificate and key,
  both or neither; neither: a self-signed one is made at start-up.
* ``kubelet_client_names`` (default ``kube-apiserver-kubelet-client``, kubeadm's
  name for the API server's kubelet-client certificate): the subject common
  names a client certificate may have; empty: any the CA signed.
* ``kubelet_max_streams`` (default 200): requests served at once per endpoint
  (``containerLogs``, ``exec``, ``attach``, ``portForward``, each counted
  apart); one more is answered 429, so a flood of ``follow`` log streams
  cannot starve ``exec`` and the other way round.
* ``kubelet_stream_idle_timeout`` (seconds, default 14400): an exec, attach or
  port-forward connection that relays no byte either way for this long is
  closed — the kubelet's own ``--streaming-connection-idle-timeout``
  default (4 h), so a relayed session lives as long as a kubelet's would.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, Field, field_validator
from pydantic_settings import NoDecode

from syncer.binds import is_host, parse_bind


class KubeletFields(BaseModel):
    """The ``VSYNCER_KUBELET_*`` settings (see the module docstring)."""

    kubelet_bind: str = ":10250"
    kubelet_address: str | None = None
    kubelet_client_ca: Path | None = None
    kubelet_tls_cert: Path | None = None
    kubelet_tls_key: Path | None = None
    kubelet_client_names: Annotated[tuple[str, ...], NoDecode] = ("kube-apiserver-kubelet-client",)
    kubelet_max_streams: int = Field(default=200, ge=1)
    kubelet_stream_idle_timeout: float = Field(default=14400.0, gt=0)

    @field_validator("kubelet_client_names", mode="before")
    @classmethod
    def _split_names(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("kubelet_bind")
    @classmethod
    def _kubelet_bind(cls, value: str) -> str:
        if parse_bind(value).port == 0:
            raise ValueError("needs a fixed port: the fake nodes advertise it")
        return value

    @field_validator("kubelet_address")
    @classmethod
    def _kubelet_address(cls, value: str | None) -> str | None:
        if value is not None and not is_host(value):
            raise ValueError("must be a host name or IP address")
        return value

    @field_validator("kubelet_client_ca", "kubelet_tls_cert", "kubelet_tls_key")
    @classmethod
    def _kubelet_file(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError("must name an existing file")
        return value
