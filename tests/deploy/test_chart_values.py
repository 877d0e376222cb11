"""helm lint and helm template of deploy/chart, with default and non-default values: the
objects, the settings every value maps onto, security contexts, and the control plane."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from syncer.localcluster.build import ETCD_VERSION, KUBERNETES_VERSION
from syncer.localcluster.cluster import VIRTUAL_DISABLED
from syncer.settings import Settings, env_name, load_settings
from tests.deploy.chart_support import (
    CHART,
    container,
    env_of,
    helm,
    one,
    render,
    render_failure,
)
from tests.deploy.hostaccess import BUILTIN, values_key

NON_DEFAULT: dict[str, Any] = {
    "vclusterName": "team-a",
    "replicas": 2,
    "image": {"repository": "registry.example/vsyncer", "tag": "9.9.9"},
    "persistence": {"size": "20Gi", "storageClass": "fast"},
    "sync": {
        "events": {"enabled": False},
        "nodes": {"enabled": False},
        "extraKinds": ["ingresses.networking.k8s.io"],
        "optionalKinds": ["ingresses.networking.k8s.io"],
        "extraRules": [
            {
                "apiGroups": ["networking.k8s.io"],
                "resources": ["ingresses"],
                "verbs": ["get", "list", "watch", "create", "update", "delete"],
            }
        ],
    },
    "vsyncer": {
        "workers": 4,
        "hostQPS": 25,
        "hostBurst": 50,
        "virtualQPS": 500,
        "virtualBurst": 900,
        "cacheSyncTimeout": 60,
        "reconcileTimeout": 20,
        "shutdownGrace": 15,
        "driftInterval": 0,
        "virtualKubeconfigWait": 120,
        "sleepAfter": "1h30m",
        "logging": {"format": "console", "level": "debug"},
        "leaderElection": {"id": "team-a-leader", "leaseDuration": 30, "renewDeadline": 20},
        "podSecurity": {"level": "restricted", "allow": ["hostNetwork"]},
        "podRuntimeClasses": ["gvisor", "kata"],
        "serviceExternalIPCIDRs": ["192.0.2.0/24"],
        "hostServiceCIDRs": ["10.100.0.0/16"],
        "endpointsDenyCIDRs": ["10.0.0.0/8", "172.16.0.0/12"],
        "ingressAnnotations": ["nginx.ingress.kubernetes.io/rewrite-target"],
        "hostLabelDenylist": ["grafana_*", "example.com/team"],
        "metricsPort": 9090,
        "probesPort": 9091,
        "kubelet": {"port": 11250, "clientNames": ["kube-apiserver-kubelet-client", "other"]},
        "isolation": {"enabled": True, "quota": ["requests.cpu=4"], "allowCIDRs": ["10.1.0.0/16"]},
    },
    "nodeSelector": {"pool": "vclusters"},
    "tolerations": [{"key": "dedicated", "operator": "Exists", "effect": "NoSchedule"}],
}

#: Settings the chart leaves to their default on purpose.
NOT_FROM_VALUES = {
    "VSYNCER_HOST_KUBECONFIG": "the host side is the pod's own service account (in-cluster)",
}


def test_lint_default_and_non_default_values(tmp_path: Path) -> None:
    helm("lint", "--strict", str(CHART))
    helm("lint", "--strict", str(CHART), values=NON_DEFAULT)


def test_default_objects() -> None:
    """One release: its StatefulSet, API Service (the owner anchor, 443), headless Service,
    the two service accounts, the credentials Secret, Role, ClusterRole and bindings."""
    objects = render()
    kinds = sorted((o["kind"], o["metadata"]["name"]) for o in objects)
    assert kinds == [
        ("ClusterRole", "vc-vc-tenant-a"),
        ("ClusterRoleBinding", "vc-vc-tenant-a"),
        ("Role", "vc-vc"),
        ("RoleBinding", "vc-vc"),
        ("Secret", "vc-certs"),
        ("Service", "vc"),
        ("Service", "vc-headless"),
        ("ServiceAccount", "vc-vc"),
        ("ServiceAccount", "vc-workload-vc"),
        ("StatefulSet", "vc"),
    ]
    assert all(
        o["metadata"].get("namespace") == "tenant-a"
        for o in objects
        if not o["kind"].startswith("Cluster")
    )
    api = one(objects, "Service", "vc")
    assert api["spec"]["ports"] == [
        {"name": "https", "port": 443, "targetPort": "api", "protocol": "TCP"}
    ]
    sts = one(objects, "StatefulSet")
    assert sts["spec"]["replicas"] == 1
    assert sts["spec"]["serviceName"] == "vc-headless"
    claim = sts["spec"]["volumeClaimTemplates"][0]
    assert claim["spec"]["resources"]["requests"]["storage"] == "5Gi"
    assert "storageClassName" not in claim["spec"]


def test_selector_cannot_match_a_synced_pod() -> None:
    """The Services and the StatefulSet select on ``release``, a key the syncer rewrites on
    every host object it makes from a tenant's, besides the app.kubernetes.io labels."""
    objects = render()
    selector = {"app.kubernetes.io/name": "vsyncer", "app.kubernetes.io/instance": "vc"}
    selector["release"] = "vc"
    for name in ("vc", "vc-headless"):
        assert one(objects, "Service", name)["spec"]["selector"] == selector
    assert one(objects, "StatefulSet")["spec"]["selector"]["matchLabels"] == selector


def _settings_env(env: dict[str, Any], tmp_path: Path) -> dict[str, str]:
    """The container's env as vsyncer would see it, files replaced by ones that exist."""
    out: dict[str, str] = {}
    for name, value in env.items():
        if isinstance(value, dict):  # a fieldRef
            path = value["fieldRef"]["fieldPath"]
            value = {"metadata.namespace": "tenant-a", "status.podIP": "10.2.3.4"}[path]
        out[name] = str(value)
    for name in ("VSYNCER_VIRTUAL_KUBECONFIG", "VSYNCER_KUBELET_CLIENT_CA"):
        if out.get(name):
            real = tmp_path / Path(out[name]).name
            real.write_text("apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {}\n")
            out[name] = str(real)
    return out


@pytest.mark.parametrize("values", [None, NON_DEFAULT], ids=["default", "non-default"])
def test_every_setting_comes_from_the_values(values: dict[str, Any] | None, tmp_path: Path) -> None:
    """The vsyncer container sets every VSYNCER_* setting (but the in-cluster host
    kubeconfig), and the result loads: the values map onto settings one to one."""
    env = env_of(container(render(values), "vsyncer"))
    settings = {env_name(field) for field in Settings.model_fields}
    assert set(env) == settings - set(NOT_FROM_VALUES)
    loaded = load_settings(env=_settings_env(env, tmp_path))
    assert loaded.host_namespace == "tenant-a"
    if values is None:
        assert loaded.vcluster_name == "vc"
        assert loaded.owner_anchor == "vc"
        assert loaded.kinds == (
            "pods",
            "services",
            "endpoints",
            "configmaps",
            "secrets",
            "persistentvolumeclaims",
            "events",
            "nodes",
        )
        assert not loaded.leader_elect
        assert not loaded.dry_run
        assert loaded.workload_service_account == "vc-workload-vc"
        assert loaded.kubelet_client_ca is not None
        return
    assert loaded.vcluster_name == "team-a"
    assert loaded.owner_anchor == "team-a"
    assert loaded.virtual_service_host == "team-a"
    assert loaded.kinds == (
        "pods",
        "services",
        "endpoints",
        "configmaps",
        "secrets",
        "persistentvolumeclaims",
        "ingresses.networking.k8s.io",
    )
    assert loaded.optional_kinds == ("ingresses.networking.k8s.io",)
    assert loaded.leader_elect  # two replicas
    assert loaded.leader_election_id == "team-a-leader"
    assert (loaded.lease_duration, loaded.renew_deadline, loaded.retry_period) == (30, 20, 2)
    assert (loaded.workers, loaded.host_qps, loaded.host_burst) == (4, 25, 50)
    assert (loaded.virtual_qps, loaded.virtual_burst) == (500, 900)
    assert (loaded.cache_sync_timeout, loaded.reconcile_timeout) == (60, 20)
    assert (loaded.shutdown_grace, loaded.drift_interval) == (15, 0)
    assert loaded.virtual_kubeconfig_wait == 120
    assert loaded.sleep_after == 5400
    assert (loaded.log_format, loaded.log_level) == ("console", "debug")
    assert (loaded.metrics_bind, loaded.probes_bind, loaded.kubelet_bind) == (
        ":9090",
        ":9091",
        ":11250",
    )
    assert loaded.pod_security_level == "restricted"
    assert loaded.pod_security_allow == ("hostNetwork",)
    assert loaded.pod_runtime_classes == ("gvisor", "kata")
    assert loaded.service_external_ip_cidrs == ("192.0.2.0/24",)
    assert loaded.host_service_cidrs == ("10.100.0.0/16",)
    assert loaded.endpoints_deny_cidrs == ("10.0.0.0/8", "172.16.0.0/12")
    assert loaded.ingress_annotations == ("nginx.ingress.kubernetes.io/rewrite-target",)
    assert loaded.host_label_denylist == ("grafana_*", "example.com/team")
    assert loaded.kubelet_client_names == ("kube-apiserver-kubelet-client", "other")
    assert loaded.isolation
    assert loaded.isolation_quota == ("requests.cpu=4",)
    assert loaded.isolation_allow_cidrs == ("10.1.0.0/16",)
    assert loaded.isolation_control_plane_labels == ("release=vc",)


#: Settings whose chart default differs from vsyncer's own, and why.
CHART_CHOICES = {
    "vcluster_name": "required: the release name",
    "host_namespace": "required: the release namespace",
    "virtual_kubeconfig": "required: the control plane's admin kubeconfig",
    "log_format": "json: a pod's logs go to a collector, not a terminal",
    "virtual_service_host": "the chart's API Service",
    "owner_anchor": "the chart's API Service, named explicitly",
    "workload_service_account": "the chart's workload account, named explicitly",
    "kubelet_client_ca": "the control plane's kubelet-client CA: the kubelet API is on",
    "kubelet_address": "the pod's IP, from the downward API",
    "isolation_control_plane_labels": "release=<release>: the pod's own label",
}


def test_chart_defaults_are_vsyncers_defaults(tmp_path: Path) -> None:
    """Default values give vsyncer's own defaults, but for the chart's listed choices."""
    env = env_of(container(render(), "vsyncer"))
    loaded = load_settings(env=_settings_env(env, tmp_path))
    differ = {
        field
        for field, info in Settings.model_fields.items()
        if getattr(loaded, field) != info.default
    }
    assert differ == set(CHART_CHOICES)


def test_non_default_pod() -> None:
    """Image, replicas, PVC class and size, scheduling constraints, ports and probes."""
    objects = render(NON_DEFAULT)
    sts = one(objects, "StatefulSet", "team-a")
    assert sts["spec"]["replicas"] == 2
    pod = sts["spec"]["template"]["spec"]
    assert pod["nodeSelector"] == {"pool": "vclusters"}
    assert pod["tolerations"] == NON_DEFAULT["tolerations"]
    claim = sts["spec"]["volumeClaimTemplates"][0]["spec"]
    assert (claim["storageClassName"], claim["resources"]["requests"]["storage"]) == (
        "fast",
        "20Gi",
    )
    syncer = container(objects, "vsyncer")
    assert syncer["image"] == "registry.example/vsyncer:9.9.9"
    ports = {p["name"]: p["containerPort"] for p in syncer["ports"]}
    assert ports == {"metrics": 9090, "probes": 9091, "kubelet": 11250}
    assert syncer["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "probes"}
    assert syncer["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "probes"}
    etcd = container(objects, "etcd")["command"]
    members = "team-a-0=https://team-a-0.team-a-headless.tenant-a.svc:2380,"
    members += "team-a-1=https://team-a-1.team-a-headless.tenant-a.svc:2380"
    assert f"--initial-cluster={members}" in etcd
    assert "--peer-client-cert-auth=true" in etcd
    assert "--leader-elect=true" in container(objects, "kube-controller-manager")["command"]


def test_least_privilege_pod() -> None:
    """Every container: non-root, no privilege escalation, all capabilities dropped, a
    read-only root filesystem and /tmp an emptyDir; only vsyncer holds the host token."""
    for values in (None, {"controlPlane": {"distro": "k3s"}}):
        pod = one(render(values), "StatefulSet")["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["automountServiceAccountToken"] is False
        volumes = {v["name"]: v for v in pod["volumes"]}
        assert volumes["tmp"] == {"name": "tmp", "emptyDir": {}}
        for c in pod["containers"]:
            ctx = c["securityContext"]
            assert ctx["readOnlyRootFilesystem"] is True
            assert ctx["allowPrivilegeEscalation"] is False
            assert ctx["capabilities"] == {"drop": ["ALL"]}
            mounts = {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
            assert mounts["/tmp"] == "tmp"
            token = mounts.get("/var/run/secrets/kubernetes.io/serviceaccount")
            assert (token == "host-token") == (c["name"] == "vsyncer"), c["name"]


def test_control_plane_versions_are_the_local_planes() -> None:
    """The images run the Kubernetes and etcd versions the tests build and run."""
    objects = render()
    images = {c: container(objects, c)["image"] for c in ("kube-apiserver", "etcd")}
    images["kube-controller-manager"] = container(objects, "kube-controller-manager")["image"]
    assert images == {
        "kube-apiserver": f"registry.k8s.io/kube-apiserver:{KUBERNETES_VERSION}",
        "kube-controller-manager": f"registry.k8s.io/kube-controller-manager:{KUBERNETES_VERSION}",
        "etcd": f"registry.k8s.io/etcd:{ETCD_VERSION.removeprefix('v')}-0",
    }
    k3s = container(render({"controlPlane": {"distro": "k3s"}}), "k3s")["image"]
    assert k3s.startswith(f"rancher/k3s:{KUBERNETES_VERSION}-k3s")


def test_controller_manager_disables_what_the_local_plane_does() -> None:
    """--controllers is the local virtual plane's list (syncer/localcluster/cluster.py)."""
    command = container(render(), "kube-controller-manager")["command"]
    (flag,) = [a for a in command if a.startswith("--controllers=")]
    assert flag == "--controllers=" + ",".join(["*", *(f"-{c}" for c in VIRTUAL_DISABLED)])


def test_k3s_control_plane() -> None:
    """k3s: one server container without agent, scheduler or bundled add-ons, the same
    disabled controllers; vsyncer waits for the kubeconfig k3s writes; the one Secret is
    the kubelet client certificate's (tests/deploy/test_chart_k3s.py)."""
    objects = render({"controlPlane": {"distro": "k3s"}})
    assert [o["metadata"]["name"] for o in objects if o["kind"] == "Secret"] == [
        "vc-kubelet-client"
    ]
    names = [
        c["name"] for c in one(objects, "StatefulSet")["spec"]["template"]["spec"]["containers"]
    ]
    assert names == ["k3s", "vsyncer"]
    command = container(objects, "k3s")["command"]
    assert command[:3] == ["/bin/k3s", "server", "--disable-agent"]
    assert "--disable-scheduler" in command
    disabled = ",".join(["*", *(f"-{c}" for c in VIRTUAL_DISABLED)])
    assert f"--kube-controller-manager-arg=controllers={disabled}" in command
    env = env_of(container(objects, "vsyncer"))
    assert env["VSYNCER_VIRTUAL_KUBECONFIG"] == "/kubeconfig/admin.kubeconfig"
    assert "--write-kubeconfig=/kubeconfig/admin.kubeconfig" in command


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"controlPlane": {"distro": "k3s"}, "replicas": 2}, "k3s runs one replica"),
        ({"controlPlane": {"distro": "k0s"}}, "value must be one of 'kubernetes', 'k3s'"),
        ({"vsyncer": {"wrokers": 3}}, "additional properties 'wrokers' not allowed"),
        ({"sync": {"pod": {"enabled": True}}}, "additional properties 'pod' not allowed"),
        ({"replicas": 0}, "at '/replicas'"),
        ({"vclusterName": "Team_A"}, "must be a DNS-1123 label"),
        ({"sync": {values_key(k): {"enabled": False} for k in BUILTIN}}, "at least one kind"),
    ],
)
def test_bad_values_fail_with_a_message(values: dict[str, Any], message: str) -> None:
    assert message in render_failure(values)
