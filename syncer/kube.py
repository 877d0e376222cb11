"""The Kubernetes client layer: the only module that imports kubernetes-asyncio.

Guarantees:

* Configuration (kubeconfig file or in-cluster service account), auth (client
  certificates, bearer tokens with refresh) and TLS come from kubernetes-asyncio.
* The hot path builds no model objects: list bodies and watch streams are decoded
  by orjson straight into plain dicts; writes send JSON bytes.  Watch streams are
  split on newlines by :func:`syncer.watchlines.take_events` (pure, unit-tested),
  so one large object cannot overflow a line buffer.
* Every request is counted and timed per cluster/verb/code through the injected
  :class:`RestMetrics`.
* Error answers and transport failures become the hierarchy of
  :mod:`syncer.errors` (``raise … from exc``); nothing above this module sees an
  aiohttp or kubernetes-asyncio exception.
* An optional :class:`~syncer.ratelimit.Throttle` gates every mutating request,
  so a burst on one side cannot flood the other side's API server.
"""

from __future__ import annotations

import asyncio
import io
import ssl
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import aiohttp
import orjson
from kubernetes_asyncio import client as k8s_client
from kubernetes_asyncio import config as k8s_config

from syncer.errors import ApiError, ServerError, error_for_status
from syncer.ratelimit import Throttle
from syncer.resources import Resource
from syncer.watchlines import take_events

Json = dict[str, Any]

_MUTATING = frozenset({"create", "update", "patch", "delete"})
#: Request bodies larger than this go to aiohttp as a stream, not as raw bytes.
_LARGE_BODY = 2**20
PATCH_TYPES = {
    "merge": "application/merge-patch+json",
    "strategic": "application/strategic-merge-patch+json",
    "json": "application/json-patch+json",
    "apply": "application/apply-patch+yaml",
}


class RestMetrics(Protocol):
    """Receives one observation per finished request."""

    def request(self, *, cluster: str, verb: str, code: str, seconds: float) -> None: ...


@dataclass(frozen=True, slots=True)
class Dial:
    """What :meth:`KubeClient.dial` returns; ``ssl`` is None for a plain-HTTP server."""

    server: str
    ssl: ssl.SSLContext | None
    server_hostname: str | None
    headers: Mapping[str, str]


class NoopRestMetrics:
    def request(self, *, cluster: str, verb: str, code: str, seconds: float) -> None:
        return None


def _ssl_context(cfg: Any) -> ssl.SSLContext:
    """The TLS context of the loaded configuration: its CA, client certificate, checks."""
    ctx = ssl.create_default_context(cafile=cfg.ssl_ca_cert)
    if cfg.cert_file:
        ctx.load_cert_chain(cfg.cert_file, keyfile=cfg.key_file)
    if not cfg.verify_ssl:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if cfg.disable_strict_ssl_verification:
        ctx.verify_flags &= ~ssl.VERIFY_X509_STRICT
    return ctx


def _session(cfg: Any, *, pool_size: int) -> aiohttp.ClientSession:
    """One keep-alive connection pool per cluster, TLS from the loaded configuration.

    Unlike kubernetes-asyncio's own session this one does not trust the
    environment: no proxy variables or ``.netrc`` are consulted per request
    (that lookup ran in a thread for every call and cost ~15 % of the CPU).
    """
    connector = aiohttp.TCPConnector(limit=pool_size, ssl=_ssl_context(cfg))
    # Watch events of large objects can exceed aiohttp's default read buffer.
    return aiohttp.ClientSession(connector=connector, trust_env=False, read_bufsize=2**21)


async def _configuration(*, kubeconfig: str | None, context: str | None) -> Any:
    cfg = k8s_client.Configuration()
    if kubeconfig:
        await k8s_config.load_kube_config(
            config_file=kubeconfig, context=context, client_configuration=cfg
        )
    else:
        k8s_config.load_incluster_config(client_configuration=cfg)  # type: ignore[no-untyped-call]
    return cfg


class KubeClient:
    """Raw-JSON access to one API server.  Create with :meth:`connect`; close when done."""

    def __init__(
        self,
        *,
        cluster: str,
        configuration: Any,
        session: aiohttp.ClientSession,
        metrics: RestMetrics,
        write_throttle: Throttle | None = None,
    ) -> None:
        self.cluster = cluster
        self._cfg = configuration
        self._base = str(configuration.host).rstrip("/")
        self._session = session
        self._server_hostname: str | None = configuration.tls_server_name or None
        self._metrics = metrics
        self._throttle = write_throttle
        self._dial_ssl: ssl.SSLContext | None = None

    @classmethod
    async def connect(
        cls,
        *,
        cluster: str,
        kubeconfig: str | None,
        context: str | None = None,
        metrics: RestMetrics | None = None,
        write_throttle: Throttle | None = None,
        pool_size: int = 64,
    ) -> KubeClient:
        """Connect from a kubeconfig file, or from in-cluster config when ``kubeconfig`` is None."""
        try:
            cfg = await _configuration(kubeconfig=kubeconfig, context=context)
        except Exception as exc:  # kubeconfig parsing raises many types
            where = kubeconfig or "in-cluster config"
            detail = " ".join(str(exc).split())
            raise ApiError(
                status=0, reason="ConfigError", message=f"cannot load {where}: {detail}"
            ) from exc
        return cls(
            cluster=cluster,
            configuration=cfg,
            session=_session(cfg, pool_size=pool_size),
            metrics=metrics or NoopRestMetrics(),
            write_throttle=write_throttle,
        )

    @property
    def server(self) -> str:
        return self._base

    async def close(self) -> None:
        await self._session.close()

    async def dial(self) -> Dial:
        """How to open a connection of one's own to this API server (for upgraded
        streams, which a pooled session cannot hand over): the server URL, a TLS
        context with this client's credentials (made once: ~5 ms), the TLS server
        name, auth headers (fresh each call: tokens rotate)."""
        if self._dial_ssl is None and self._base.startswith("https:"):
            self._dial_ssl = _ssl_context(self._cfg)
        return Dial(
            server=self._base,
            ssl=self._dial_ssl,
            server_hostname=self._server_hostname,
            headers={k: v for k, v in (await self._headers()).items() if k == "Authorization"},
        )

    # -- plumbing ---------------------------------------------------------------------

    async def _headers(self, content_type: str | None = None) -> dict[str, str]:
        # No gzip: the API server compresses large lists, which costs both sides more CPU
        # than the bytes are worth next to (or inside) the cluster.
        headers = {"Accept": "application/json", "Accept-Encoding": "identity"}
        if content_type:
            headers["Content-Type"] = content_type
        auth = await self._cfg.auth_settings()
        token = auth.get("BearerToken")
        if token and token.get("value"):
            headers["Authorization"] = token["value"]
        return headers

    async def _raise_for(self, resp: aiohttp.ClientResponse) -> None:
        raw = await resp.read()
        reason, message = "", raw[:512].decode(errors="replace")
        try:
            status = orjson.loads(raw)
            if isinstance(status, dict):
                reason = str(status.get("reason", ""))
                message = str(status.get("message", message))
        except orjson.JSONDecodeError:
            pass
        raise error_for_status(status=resp.status, reason=reason, message=message)

    async def request(
        self,
        verb: str,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Any = None,
        content_type: str = "application/json",
    ) -> Json:
        """One request/response round trip; returns the decoded body."""
        if verb in _MUTATING and self._throttle is not None:
            await self._throttle.acquire()
        data = None if body is None else (body if isinstance(body, bytes) else orjson.dumps(body))
        headers = await self._headers(content_type if data is not None else None)
        started = time.perf_counter()
        code = "error"
        try:
            async with self._session.request(
                method,
                self._base + path,
                params=params,
                # aiohttp warns (and may block the loop) on raw bodies over 1 MiB.
                data=io.BytesIO(data) if data is not None and len(data) > _LARGE_BODY else data,
                headers=headers,
                server_hostname=self._server_hostname,
            ) as resp:
                code = str(resp.status)
                if resp.status >= 400:
                    await self._raise_for(resp)
                raw = await resp.read()
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise ServerError(
                status=0, reason="Transport", message=f"{self.cluster}: {exc!r}"
            ) from exc
        finally:
            self._metrics.request(
                cluster=self.cluster, verb=verb, code=code, seconds=time.perf_counter() - started
            )
        result: Json = orjson.loads(raw) if raw else {}
        return result

    # -- reads ------------------------------------------------------------------------

    async def get(self, resource: Resource, *, namespace: str | None, name: str) -> Json:
        return await self.request("get", "GET", resource.path(namespace=namespace, name=name))

    async def list(
        self,
        resource: Resource,
        *,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        limit: int = 500,
        continue_token: str | None = None,
        resource_version: str | None = None,
    ) -> Json:
        """One page of a list; ``metadata.continue`` carries the next page's token."""
        params = {"limit": str(limit)}
        if label_selector:
            params["labelSelector"] = label_selector
        if field_selector:
            params["fieldSelector"] = field_selector
        if continue_token:
            params["continue"] = continue_token
        elif resource_version is not None:
            params["resourceVersion"] = resource_version
            params["resourceVersionMatch"] = "NotOlderThan"
        return await self.request("list", "GET", resource.path(namespace=namespace), params=params)

    async def watch(
        self,
        resource: Resource,
        *,
        resource_version: str,
        timeout_seconds: int,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        allow_bookmarks: bool = True,
    ) -> AsyncIterator[Json]:
        """Yield decoded watch events until the server ends the stream.

        An ``ERROR`` event carrying a Status is raised as the matching
        :class:`~syncer.errors.ApiError` (410 → :class:`~syncer.errors.Gone`);
        a line that is not a JSON object as :class:`~syncer.errors.ServerError`.
        """
        params = {
            "watch": "true",
            "resourceVersion": resource_version,
            "timeoutSeconds": str(timeout_seconds),
            "allowWatchBookmarks": "true" if allow_bookmarks else "false",
        }
        if label_selector:
            params["labelSelector"] = label_selector
        if field_selector:
            params["fieldSelector"] = field_selector
        headers = await self._headers()
        started = time.perf_counter()
        code = "error"
        timeout = aiohttp.ClientTimeout(total=None, sock_read=timeout_seconds + 30)
        try:
            async with self._session.get(
                self._base + resource.path(namespace=namespace),
                server_hostname=self._server_hostname,
                params=params,
                headers=headers,
                timeout=timeout,
            ) as resp:
                code = str(resp.status)
                if resp.status >= 400:
                    await self._raise_for(resp)
                buffer = bytearray()
                async for chunk in resp.content.iter_any():
                    buffer += chunk
                    for event in take_events(buffer):
                        yield event
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise ServerError(
                status=0, reason="Transport", message=f"{self.cluster}: {exc!r}"
            ) from exc
        except asyncio.IncompleteReadError as exc:  # pragma: no cover - depends on timing
            raise ServerError(
                status=0, reason="Transport", message=f"{self.cluster}: {exc!r}"
            ) from exc
        finally:
            self._metrics.request(
                cluster=self.cluster, verb="watch", code=code, seconds=time.perf_counter() - started
            )

    # -- writes -----------------------------------------------------------------------

    async def create(self, resource: Resource, *, namespace: str | None, body: Any) -> Json:
        return await self.request("create", "POST", resource.path(namespace=namespace), body=body)

    async def update(
        self, resource: Resource, *, namespace: str | None, name: str, body: Any
    ) -> Json:
        path = resource.path(namespace=namespace, name=name)
        return await self.request("update", "PUT", path, body=body)

    async def update_status(
        self, resource: Resource, *, namespace: str | None, name: str, body: Any
    ) -> Json:
        path = resource.path(namespace=namespace, name=name, subresource="status")
        return await self.request("update", "PUT", path, body=body)

    async def patch(
        self,
        resource: Resource,
        *,
        namespace: str | None,
        name: str,
        body: Any,
        patch_type: str = "merge",
        subresource: str | None = None,
    ) -> Json:
        path = resource.path(namespace=namespace, name=name, subresource=subresource)
        return await self.request(
            "patch", "PATCH", path, body=body, content_type=PATCH_TYPES[patch_type]
        )

    async def delete(
        self,
        resource: Resource,
        *,
        namespace: str | None,
        name: str,
        uid: str | None = None,
        resource_version: str | None = None,
        grace_period_seconds: int | None = None,
        propagation: str | None = None,
    ) -> Json:
        options: Json = {"apiVersion": "v1", "kind": "DeleteOptions"}
        preconditions = {}
        if uid:
            preconditions["uid"] = uid
        if resource_version:
            preconditions["resourceVersion"] = resource_version
        if preconditions:
            options["preconditions"] = preconditions
        if grace_period_seconds is not None:
            options["gracePeriodSeconds"] = grace_period_seconds
        if propagation:
            options["propagationPolicy"] = propagation
        path = resource.path(namespace=namespace, name=name)
        return await self.request("delete", "DELETE", path, body=options)

    async def create_subresource(
        self, resource: Resource, *, namespace: str | None, name: str, subresource: str, body: Any
    ) -> Json:
        path = resource.path(namespace=namespace, name=name, subresource=subresource)
        return await self.request("create", "POST", path, body=body)
