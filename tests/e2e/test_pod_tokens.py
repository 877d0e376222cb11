"""A tenant secret named like a legacy token Secret ('<pod>-sa-token') end to end.

Passes once new pods get token Secrets under :func:`mappers.tokens.token_secret_host_name`
(which needs the guarded host writer to accept that Secret kind).
"""

from __future__ import annotations

import base64
from pathlib import Path

from syncer.kube import KubeClient
from syncer.resources import PODS, SECRETS
from tests.e2e.test_pod_boundary import KINDS, mounting, running, secret
from tests.e2e.test_sync_support import run_syncer, translator, where
from tests.kubehelpers import wait_for_object


async def test_a_tenant_secret_named_like_a_token_secret_is_kept(
    namespace_with_sa: str,
    v_ns: str,
    host: KubeClient,
    virtual: KubeClient,
    host_kubeconfig: Path,
    virtual_kubeconfig: Path,
) -> None:
    """The tenant's own secret 'web-sa-token', mounted by pod web: its host copy keeps the
    tenant's data, and web still gets a working service-account token."""
    t = translator(namespace_with_sa)
    async with run_syncer(
        host_namespace=namespace_with_sa,
        host_kubeconfig=host_kubeconfig,
        virtual_kubeconfig=virtual_kubeconfig,
        kinds=KINDS,
    ):
        await virtual.create(SECRETS, namespace=v_ns, body=secret("web-sa-token", mine="yes"))
        await virtual.create(PODS, namespace=v_ns, body=mounting("web", secret="web-sa-token"))
        p_pod = await wait_for_object(
            host, PODS, namespace=namespace_with_sa, name=t.host_name(v_ns, "web"),
            predicate=where(running),
        )  # fmt: skip
        assert p_pod is not None
        copy = await host.get(
            SECRETS, namespace=namespace_with_sa, name=t.host_name(v_ns, "web-sa-token")
        )
        assert base64.b64decode(copy["data"]["mine"]).decode() == "yes"
        assert "token" not in copy["data"]
        access = next(v for v in p_pod["spec"]["volumes"] if v["name"].startswith("kube-api"))
        token_names = {s["secret"]["name"] for s in access["projected"]["sources"] if "secret" in s}
        assert t.host_name(v_ns, "web-sa-token") not in token_names
        for name in token_names:
            token = await wait_for_object(
                host, SECRETS, namespace=namespace_with_sa, name=name,
                predicate=where(lambda s: bool(s.get("data", {}).get("token"))),
            )  # fmt: skip
            assert token is not None
