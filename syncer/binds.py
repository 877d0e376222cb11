"""Listen addresses: ``host:port`` strings as the settings and the probe server use them.

:func:`parse_bind` accepts ``:8080`` (empty host: every interface),
``127.0.0.1:0`` (port 0: an ephemeral port), ``localhost:9090`` and
``[::1]:8443`` (an IPv6 host in brackets), and raises ValueError with a
one-line reason for anything else.  :func:`is_host` says whether a string is a
host name, an IPv4 address or an (unbracketed) IPv6 address.
:func:`unavailable` says why a listener could not be opened on an address now
(``address already in use``), by opening and closing one the way the probe
server's listener does (``SO_REUSEADDR``, so a socket in TIME_WAIT does not
count); the answer can only go stale if something else binds the port between
the check and the start.
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
import socket
from typing import NamedTuple

__all__ = ["BindAddress", "is_host", "parse_bind", "unavailable"]

_HOST_LABEL = r"[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?"
_HOSTNAME = re.compile(rf"{_HOST_LABEL}(\.{_HOST_LABEL})*")


class BindAddress(NamedTuple):
    """A parsed ``host:port``; ``host`` is ``""`` for every interface."""

    host: str
    port: int


def parse_bind(text: str) -> BindAddress:
    """Split ``host:port`` (``:8080``, ``127.0.0.1:0``, ``[::1]:9090``); ValueError if invalid."""
    host, sep, port = text.rpartition(":")
    if not sep:
        raise ValueError("must be host:port, e.g. :8080")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
        if not _is_ipv6(host):
            raise ValueError(f"{host!r} is not an IPv6 address")
    elif host and not _is_name_or_ipv4(host):
        raise ValueError(f"{host!r} is not a host name or IP address (bracket IPv6: [::1]:8080)")
    if not port.isascii() or not port.isdigit() or int(port) > 65535:
        raise ValueError(f"port {port!r} must be a number from 0 to 65535")
    return BindAddress(host, int(port))


def is_host(text: str) -> bool:
    """A host name, an IPv4 address or an IPv6 address (without brackets)."""
    return _is_name_or_ipv4(text) or _is_ipv6(text)


def _is_name_or_ipv4(host: str) -> bool:
    try:
        ipaddress.IPv4Address(host)
    except ValueError:
        return len(host) <= 253 and _HOSTNAME.fullmatch(host) is not None
    return True


def _is_ipv6(host: str) -> bool:
    try:
        ipaddress.IPv6Address(host)
    except ValueError:
        return False
    return True


def unavailable(bind: BindAddress) -> str | None:
    """Why nothing can listen on ``bind`` now (the OS's reason), or ``None`` if it can.

    Port 0 always can.  An empty host is checked on the IPv4 wildcard, which a
    listener on every interface needs.
    """
    if bind.port == 0:
        return None
    host = bind.host or "0.0.0.0"
    family = socket.AF_INET6 if _is_ipv6(host) else socket.AF_INET
    try:
        infos = socket.getaddrinfo(host, bind.port, family, socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        infos = []
    if not infos:
        return f"cannot resolve {host!r}"
    with contextlib.closing(socket.socket(family, socket.SOCK_STREAM)) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(infos[0][4])
        except OSError as exc:
            return exc.strerror or str(exc)
    return None
