"""Ingresses: host names for services and TLS secrets, refusals, TLS secrets kept while named."""

from __future__ import annotations

from typing import Any

import pytest

from mappers.ingresses import (
    SECRET_INDEX,
    IngressMapper,
    host_ingress_spec,
    secret_index,
)
from mappers.references import SECRET_INDEX as POD_SECRET_INDEX
from mappers.references import index_secrets
from mappers.secrets import SecretMapper
from syncer.api import (
    DONE,
    INGRESSES,
    PODS,
    SECRETS,
    SERVICES,
    MapperConfig,
    ObjectKey,
    Refused,
)
from syncer.kit.testing import host_copy
from syncer.mappersettings import mapper_config
from syncer.settings import load_settings
from tests.mappers.fakes import Fake, T

Json = dict[str, Any]
WITH_INGRESSES = MapperConfig(kinds=("pods", "secrets", INGRESSES.qualified))


def backend(name: str, port: Json | None = None) -> Json:
    return {"service": {"name": name, "port": port or {"number": 80}}}


def v_ingress(name: str = "web", namespace: str = "shop", **spec: Any) -> Json:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {
            "namespace": namespace,
            "name": name,
            "uid": "v-uid",
            "annotations": {
                "nginx.ingress.kubernetes.io/rewrite-target": "/",
                "vsyncer.dev/x": "1",
            },
        },
        "spec": spec
        or {
            "ingressClassName": "nginx",
            "defaultBackend": backend("fallback"),
            "tls": [{"hosts": ["shop.example"], "secretName": "cert"}],
            "rules": [
                {
                    "host": "shop.example",
                    "http": {
                        "paths": [
                            {"path": "/", "pathType": "Prefix", "backend": backend("web")},
                            {
                                "path": "/api",
                                "pathType": "Exact",
                                "backend": backend("api", {"name": "http"}),
                            },
                        ]
                    },
                }
            ],
        },
    }


def v_secret(name: str = "cert", namespace: str = "shop") -> Json:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"namespace": namespace, "name": name, "uid": "s-uid"},
        "type": "kubernetes.io/tls",
        "data": {"tls.crt": "Y2VydA==", "tls.key": "a2V5"},
    }


def test_host_spec_names_the_tenants_own_services_and_secrets() -> None:
    spec = host_ingress_spec(v_ingress()["spec"], namespace="shop", translator=T)
    assert spec == {
        "ingressClassName": "nginx",
        "defaultBackend": backend(T.host_name("shop", "fallback")),
        "tls": [{"hosts": ["shop.example"], "secretName": T.host_name("shop", "cert")}],
        "rules": [
            {
                "host": "shop.example",
                "http": {
                    "paths": [
                        {
                            "path": "/",
                            "pathType": "Prefix",
                            "backend": backend(T.host_name("shop", "web")),
                        },
                        {
                            "path": "/api",
                            "pathType": "Exact",
                            "backend": backend(T.host_name("shop", "api"), {"name": "http"}),
                        },
                    ]
                },
            }
        ],
    }


@pytest.mark.parametrize(
    ("spec", "reason", "path"),
    [
        (
            {"defaultBackend": {"resource": {"apiGroup": "", "kind": "Secret", "name": "x"}}},
            "ingress_backend",
            "spec.defaultBackend.resource",
        ),
        (
            {
                "rules": [
                    {
                        "http": {
                            "paths": [{"path": "/", "backend": {"resource": {"kind": "Bucket"}}}]
                        }
                    }
                ]
            },
            "ingress_backend",
            "spec.rules[0].http.paths[0].backend.resource",
        ),
        ({"backend": backend("old")}, "unknown_field", "spec.backend"),
        ({"tls": [{"secretName": "c", "x": 1}]}, "unknown_field", "spec.tls[0].x"),
        (
            {"defaultBackend": {"service": {"name": "a", "namespace": "kube-system"}}},
            "unknown_field",
            "spec.defaultBackend.service.namespace",
        ),
    ],
)
def test_what_must_not_reach_the_host_is_refused(spec: Json, reason: str, path: str) -> None:
    with pytest.raises(Refused) as refused:
        host_ingress_spec(spec, namespace="shop", translator=T)
    assert refused.value.reason == reason
    assert refused.value.message.startswith(path + ":")
    assert secret_index(v_ingress(**spec)) == []  # a refused ingress keeps no secret


async def test_created_with_tenant_annotations_only_and_status_comes_up() -> None:
    mapper = IngressMapper(translator=T)
    v_obj = v_ingress()
    fake = Fake(virtual={"ingresses": [v_obj]}, enabled=[INGRESSES])
    assert await mapper.sync_to_host(fake.ctx, v_obj) == DONE
    [created] = fake.host.created
    annotations = created["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/rewrite-target"] == "/"
    assert "vsyncer.dev/x" not in annotations
    assert "status" not in created
    p_obj = {**created, "status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.7"}]}}}
    assert mapper.drift(fake.ctx, v_obj, p_obj) is None
    assert await mapper.sync(fake.ctx, v_obj, p_obj) == DONE
    assert fake.calls[-1] == ("virtual", "update_status", "web")
    assert fake.virtual.bodies[-1]["status"] == p_obj["status"]


async def test_an_ambiguous_reference_waits_for_its_own_copy() -> None:
    """Service ``a`` of ``b-x-shop`` shares its host name with ``a-x-b`` of ``shop``."""
    mapper = IngressMapper(translator=T)
    v_obj = v_ingress(namespace="b-x-shop", defaultBackend=backend("a"))
    partner = host_copy(SERVICES, namespace="shop", name="a-x-b")
    reads = [INGRESSES, *mapper.may_read]  # what it declares is enough
    fake = Fake(host={"services": [partner]}, enabled=[INGRESSES, SERVICES], reads=reads)
    with pytest.raises(Refused) as refused:
        await mapper.sync_to_host(fake.ctx, v_obj)
    assert refused.value.reason == "reference_collision"
    assert refused.value.retry_after is not None
    assert fake.calls == []
    own = host_copy(SERVICES, namespace="b-x-shop", name="a")
    fake = Fake(host={"services": [own]}, enabled=[INGRESSES, SERVICES], reads=reads)
    assert await mapper.sync_to_host(fake.ctx, v_obj) == DONE


def _secrets_fake(*, pods: list[Json], ingresses: list[Json], secrets: list[Json]) -> Fake:
    fake = Fake(
        virtual={"pods": pods, "ingresses": ingresses, "secrets": secrets},
        enabled=[PODS, SECRETS, INGRESSES],
    )
    fake.virtual_caches["pods"].indexes[POD_SECRET_INDEX] = index_secrets
    fake.virtual_caches["ingresses"].indexes[SECRET_INDEX] = secret_index
    return fake


async def test_a_tls_secret_is_synced_while_an_ingress_names_it() -> None:
    secret = v_secret()
    mapper = SecretMapper(translator=T, config=WITH_INGRESSES)
    assert INGRESSES in mapper.watches()
    assert mapper.keys_of_ingress(v_ingress()) == [ObjectKey("secrets", "shop", "cert")]
    fake = _secrets_fake(pods=[], ingresses=[v_ingress()], secrets=[secret])
    assert await fake.bind(mapper).sync_to_host(fake.ctx, secret) == DONE
    assert fake.calls == [("host", "create", T.host_name("shop", "cert"))]
    p_secret = fake.host.created[0]
    assert p_secret["type"] == "kubernetes.io/tls"

    unreferenced = _secrets_fake(pods=[], ingresses=[], secrets=[secret])
    mapper = unreferenced.bind(SecretMapper(translator=T, config=WITH_INGRESSES))
    assert mapper.drift(unreferenced.ctx, secret, p_secret) == "metadata"
    assert await mapper.sync(unreferenced.ctx, secret, p_secret) == DONE
    assert unreferenced.calls == [("host", "delete(grace=None)", T.host_name("shop", "cert"))]


async def test_without_the_ingresses_kind_an_ingress_keeps_no_secret() -> None:
    secret = v_secret()
    mapper = SecretMapper(translator=T, config=MapperConfig(kinds=("pods", "secrets")))
    assert INGRESSES not in mapper.watches()
    fake = Fake(virtual={"pods": [], "secrets": [secret]})
    fake.virtual_caches["pods"].indexes[POD_SECRET_INDEX] = index_secrets
    assert await fake.bind(mapper).sync_to_host(fake.ctx, secret) == DONE
    assert fake.calls == []


@pytest.mark.parametrize(
    "key",
    [
        "nginx.ingress.kubernetes.io/configuration-snippet",
        "nginx.ingress.kubernetes.io/auth-url",
        "nginx.ingress.kubernetes.io/auth-tls-secret",
        "nginx.ingress.kubernetes.io/default-backend",
        "traefik.ingress.kubernetes.io/router.middlewares",
    ],
)
async def test_a_controller_annotation_outside_the_allow_list_is_refused(key: str) -> None:
    """With the default setting, an annotation the controller reads as configuration that is
    not known to be harmless never reaches the host."""
    mapper = IngressMapper(translator=T, config=load_config())
    v_obj = v_ingress()
    v_obj["metadata"]["annotations"][key] = "kube-system/x"
    fake = Fake(virtual={"ingresses": [v_obj]}, enabled=[INGRESSES])
    with pytest.raises(Refused) as caught:
        await mapper.sync_to_host(fake.ctx, v_obj)
    assert caught.value.reason == "ingress_annotation"
    assert key in caught.value.message
    assert "VSYNCER_INGRESS_ANNOTATIONS" in caught.value.message
    assert fake.calls == []


async def test_allowed_and_unprefixed_annotations_reach_the_host() -> None:
    config = load_config(VSYNCER_INGRESS_ANNOTATIONS="nginx.ingress.kubernetes.io/*,example.com/x")
    mapper = IngressMapper(translator=T, config=config)
    v_obj = v_ingress()
    v_obj["metadata"]["annotations"].update(
        {"nginx.ingress.kubernetes.io/auth-url": "http://a", "example.com/x": "1", "note": "n"}
    )
    fake = Fake(virtual={"ingresses": [v_obj]}, enabled=[INGRESSES])
    assert await mapper.sync_to_host(fake.ctx, v_obj) == DONE
    annotations = fake.host.created[0]["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/auth-url"] == "http://a"
    assert annotations["example.com/x"] == "1"
    assert annotations["note"] == "n"


def load_config(**env: str) -> MapperConfig:
    """The MapperConfig ``vsyncer run`` would build from ``env``."""
    return mapper_config(
        load_settings(env={"VSYNCER_VCLUSTER_NAME": "vc", "VSYNCER_HOST_NAMESPACE": "h", **env})
    )
