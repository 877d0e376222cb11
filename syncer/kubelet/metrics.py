"""The kubelet server's metric families, registered on the daemon's registry.

* ``vsyncer_kubelet_requests_total{verb,code}`` — finished requests of
  clients whose certificate passed the check, by endpoint (``containerLogs``,
  ``exec``, ``attach``, ``portForward``, or ``other`` for any other path) and
  HTTP status answered (``101`` for an upgraded connection).  The sleep mode
  reads its growth as tenant activity (:class:`~syncer.activity.CounterActivity`),
  so it counts nothing a caller without the client certificate sent.
* ``vsyncer_kubelet_unauthorized_total`` — requests answered 401 (no verified
  client certificate); not activity.
* ``vsyncer_kubelet_request_duration_seconds{verb}`` — from the request to the
  end of its response or relayed connection.
* ``vsyncer_kubelet_relayed_bytes_total{verb,direction}`` — body bytes passed
  ``to_client`` (host → virtual API server) and ``to_host``.

Named like the kubelet's own ``kubelet_http_requests_total`` family, with the
syncer's prefix.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

_BUCKETS = (0.005, 0.025, 0.1, 0.25, 1, 5, 30, 120, 600, 3600)


class KubeletMetrics:
    """The families above; pass the daemon's registry (tests: a fresh one)."""

    def __init__(self, *, registry: CollectorRegistry) -> None:
        self._requests = Counter(
            "vsyncer_kubelet_requests_total",
            "Requests to the kubelet API of the fake nodes, by endpoint and status answered.",
            ["verb", "code"],
            registry=registry,
        )
        self._seconds = Histogram(
            "vsyncer_kubelet_request_duration_seconds",
            "Duration of kubelet API requests, including relayed streams.",
            ["verb"],
            buckets=_BUCKETS,
            registry=registry,
        )
        self._unauthorized = Counter(
            "vsyncer_kubelet_unauthorized_total",
            "Requests to the kubelet API refused 401: no verified client certificate.",
            registry=registry,
        )
        self._bytes = Counter(
            "vsyncer_kubelet_relayed_bytes_total",
            "Bytes relayed by the kubelet API, by endpoint and direction.",
            ["verb", "direction"],
            registry=registry,
        )

    def request(self, *, verb: str, code: int, seconds: float) -> None:
        self._requests.labels(verb=verb, code=str(code)).inc()
        self._seconds.labels(verb=verb).observe(seconds)

    def unauthorized(self) -> None:
        self._unauthorized.inc()

    def relayed(self, *, verb: str, to_client: int, to_host: int) -> None:
        if to_client:
            self._bytes.labels(verb=verb, direction="to_client").inc(to_client)
        if to_host:
            self._bytes.labels(verb=verb, direction="to_host").inc(to_host)
