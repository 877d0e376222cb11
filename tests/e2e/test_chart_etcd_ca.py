"""helm upgrade of a release whose etcd peers trust the cluster CA (as the chart made them
before etcd had a CA of its own): Helm's lookup against the real API server decides."""

from __future__ import annotations

import base64
import dataclasses
from typing import Any

from cryptography import x509

from syncer.kube import KubeClient
from syncer.localcluster import ClusterInfo
from syncer.resources import SECRETS
from tests.e2e.chart_release import RELEASE, Release, installed

Json = dict[str, Any]


def _certificate(data: Json, key: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate(base64.b64decode(data[key]))


async def _as_before_etcd_had_its_own_ca(host: KubeClient, release: Release) -> Json:
    """The release's Secret without ``etcd-ca.crt``; its data before."""
    name = f"{RELEASE}-certs"
    secret = await host.get(SECRETS, namespace=release.namespace, name=name)
    data: Json = dict(secret["data"])
    body = {**secret, "data": {k: v for k, v in data.items() if k != "etcd-ca.crt"}}
    await host.update(SECRETS, namespace=release.namespace, name=name, body=body)
    return data


async def test_an_older_release_moves_etcd_to_its_own_ca_when_no_peer_depends_on_it(
    host_cluster: ClusterInfo, host: KubeClient
) -> None:
    """With three replicas the peers keep trusting the cluster CA (their certificates cannot
    change one pod at a time): etcd-ca.crt is ca.crt, the peer certificate unchanged.  With
    one replica (no peer TLS) the upgrade makes etcd a CA of its own and a peer certificate
    it signed."""
    async with installed(host_cluster) as release:
        name, ns = f"{RELEASE}-certs", release.namespace
        before = await _as_before_etcd_had_its_own_ca(host, release)
        high_availability = dataclasses.replace(release, values={**release.values, "replicas": 3})
        await high_availability.upgrade(host_cluster)
        kept = (await host.get(SECRETS, namespace=ns, name=name))["data"]
        assert kept["etcd-ca.crt"] == before["ca.crt"]
        assert (kept["etcd-peer.crt"], kept["etcd-peer.key"]) == (
            before["etcd-peer.crt"],
            before["etcd-peer.key"],
        )

        before = await _as_before_etcd_had_its_own_ca(host, release)
        await release.upgrade(host_cluster)
        moved = (await host.get(SECRETS, namespace=ns, name=name))["data"]
        assert moved["ca.crt"] == before["ca.crt"]
        assert moved["etcd-ca.crt"] != before["ca.crt"]
        assert moved["etcd-peer.crt"] != before["etcd-peer.crt"]
        _certificate(moved, "etcd-peer.crt").verify_directly_issued_by(
            _certificate(moved, "etcd-ca.crt")
        )
        assert "etcd-ca.key" not in moved
