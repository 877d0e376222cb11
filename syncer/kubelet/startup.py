"""From settings to a running kubelet server, or none.

The server runs when ``VSYNCER_KUBELET_CLIENT_CA`` names the kubelet-client
CA (the CA of the virtual API server's ``--kubelet-client-certificate``);
without it there is no kubelet server (and ``kubectl logs``/``exec`` of
virtual pods fail with the virtual API server's connection error).  Every
setting problem found here — a serving certificate without its key, a
certificate file that does not load, a bind address that cannot be bound —
is a :class:`~syncer.errors.ConfigError` naming the setting, which the CLI
prints as one line (exit 2).

The server resolves pods with a :class:`~syncer.translate.Translator` built
from the same two settings as the sync path's, over the host ``pods``
informer's store and the virtual ``pods`` informer's store, whose specs name
the containers a request may address (``None`` when pods are not synced:
every pod is then 404).
"""

from __future__ import annotations

import ssl

from prometheus_client import CollectorRegistry

from syncer.binds import parse_bind
from syncer.errors import ConfigError
from syncer.kubelet.address import advertised_address
from syncer.kubelet.metrics import KubeletMetrics
from syncer.kubelet.resolve import PodCache, PodResolver
from syncer.kubelet.server import KubeletServer
from syncer.kubelet.tls import server_context
from syncer.kubelet.upstream import Dialer, HostPods
from syncer.settings import Settings, env_name
from syncer.translate import Translator


async def start_kubelet(
    *,
    settings: Settings,
    host: Dialer,
    host_pods: PodCache | None,
    virtual_pods: PodCache | None,
    registry: CollectorRegistry,
) -> KubeletServer | None:
    """Start the kubelet server if configured; ``None`` when it is off."""
    s = settings
    if s.kubelet_client_ca is None:
        return None
    if (s.kubelet_tls_cert is None) != (s.kubelet_tls_key is None):
        missing = "kubelet_tls_key" if s.kubelet_tls_key is None else "kubelet_tls_cert"
        raise ConfigError(env_name(missing), "the serving certificate and key go together")
    bind = parse_bind(s.kubelet_bind)
    if bind.port == 0:
        raise ConfigError(
            env_name("kubelet_bind"), "needs a fixed port: the fake nodes advertise it"
        )
    hosts = (advertised_address(s.kubelet_address), "127.0.0.1")
    try:
        context = server_context(
            client_ca=s.kubelet_client_ca,
            cert=s.kubelet_tls_cert,
            key=s.kubelet_tls_key,
            hosts=hosts,
        )
    except (OSError, ssl.SSLError, ValueError) as exc:
        field = "kubelet_tls_cert" if s.kubelet_tls_cert is not None else "kubelet_client_ca"
        raise ConfigError(env_name(field), f"cannot be loaded: {exc}") from None
    server = KubeletServer(
        bind=bind,
        ssl_context=context,
        resolver=PodResolver(
            translator=Translator(vcluster=s.vcluster_name, host_namespace=s.host_namespace),
            host_pods=host_pods,
            virtual_pods=virtual_pods,
        ),
        host=HostPods(client=host),
        metrics=KubeletMetrics(registry=registry),
        shutdown_timeout=min(s.shutdown_grace, 10.0),
        client_names=s.kubelet_client_names,
        max_streams=s.kubelet_max_streams,
        idle_timeout=s.kubelet_stream_idle_timeout,
    )
    try:
        await server.start()
    except OSError as exc:
        raise ConfigError(
            env_name("kubelet_bind"), f"cannot listen on {s.kubelet_bind!r}: {exc.strerror or exc}"
        ) from None
    return server
