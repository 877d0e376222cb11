"""Realistic pod manifests (~3-5 KB as JSON) for benchmarks."""

from __future__ import annotations

from typing import Any


def pod(name: str, *, namespace: str, index: int = 0) -> dict[str, Any]:
    """A Deployment-style pod with the usual labels, env, probes, volumes and resources."""
    app = f"app-{index % 17}"
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {
                "app.kubernetes.io/name": app,
                "app.kubernetes.io/instance": f"{app}-prod",
                "app.kubernetes.io/version": "1.24.3",
                "app.kubernetes.io/component": "backend",
                "app.kubernetes.io/part-of": "shop",
                "pod-template-hash": "7d9f8c6b5d",
            },
            "annotations": {
                "prometheus.io/scrape": "true",
                "prometheus.io/port": "9090",
                "kubectl.kubernetes.io/restartedAt": "2026-11-20T10:00:00Z",
                "checksum/config": "3f2a9c01bd7e4c5a9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b",
            },
        },
        "spec": {
            "serviceAccountName": "default",
            "terminationGracePeriodSeconds": 30,
            "containers": [
                {
                    "name": "app",
                    "image": f"registry.example.com/shop/{app}:1.24.3",
                    "imagePullPolicy": "IfNotPresent",
                    "args": ["--port=8080", "--metrics-port=9090", "--log-level=info"],
                    "ports": [
                        {"name": "http", "containerPort": 8080, "protocol": "TCP"},
                        {"name": "metrics", "containerPort": 9090, "protocol": "TCP"},
                    ],
                    "env": [
                        {
                            "name": "POD_NAME",
                            "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}},
                        },
                        {
                            "name": "POD_IP",
                            "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}},
                        },
                        {"name": "DATABASE_HOST", "value": "postgres.shop.svc.cluster.local"},
                        {
                            "name": "CACHE_URL",
                            "value": "redis://redis.shop.svc.cluster.local:6379/0",
                        },
                        {
                            "name": "API_KEY",
                            "valueFrom": {
                                "secretKeyRef": {"name": f"{app}-secrets", "key": "api-key"}
                            },
                        },
                    ],
                    "envFrom": [{"configMapRef": {"name": f"{app}-config"}}],
                    "resources": {
                        "requests": {"cpu": "100m", "memory": "128Mi"},
                        "limits": {"cpu": "500m", "memory": "512Mi"},
                    },
                    "readinessProbe": {
                        "httpGet": {"path": "/healthz", "port": "http"},
                        "initialDelaySeconds": 5,
                        "periodSeconds": 10,
                    },
                    "livenessProbe": {
                        "httpGet": {"path": "/livez", "port": "http"},
                        "initialDelaySeconds": 15,
                        "periodSeconds": 20,
                    },
                    "volumeMounts": [
                        {"name": "config", "mountPath": "/etc/app", "readOnly": True},
                        {"name": "cache", "mountPath": "/var/cache/app"},
                    ],
                },
                {
                    "name": "log-shipper",
                    "image": "registry.example.com/infra/log-shipper:3.2.1",
                    "args": ["--input=/var/log/app", "--output=stdout"],
                    "resources": {"requests": {"cpu": "10m", "memory": "32Mi"}},
                    "volumeMounts": [{"name": "cache", "mountPath": "/var/log/app"}],
                },
            ],
            "volumes": [
                {"name": "config", "configMap": {"name": f"{app}-config"}},
                {"name": "cache", "emptyDir": {"sizeLimit": "1Gi"}},
            ],
            "tolerations": [
                {
                    "key": "node.kubernetes.io/not-ready",
                    "operator": "Exists",
                    "effect": "NoExecute",
                },
            ],
        },
    }
