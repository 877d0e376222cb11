"""Tests for syncer.settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from syncer.errors import ConfigError
from syncer.settings import (
    DEFAULT_KINDS,
    BindAddress,
    Settings,
    env_name,
    load_settings,
    parse_bind,
)

REQUIRED = {"VSYNCER_VCLUSTER_NAME": "vc1", "VSYNCER_HOST_NAMESPACE": "vc1-host"}


def env(**overrides: str) -> dict[str, str]:
    return {**REQUIRED, **{env_name(key): value for key, value in overrides.items()}}


def config_error(environ: dict[str, str], *, config_file: Path | None = None) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load_settings(env=environ, config_file=config_file)
    return caught.value


def test_defaults() -> None:
    """Only the two names are required; everything else has the documented default."""
    settings = load_settings(env=REQUIRED)
    assert settings.vcluster_name == "vc1"
    assert settings.host_namespace == "vc1-host"
    assert settings.kinds == DEFAULT_KINDS
    assert settings.workers == 32
    assert (settings.host_qps, settings.host_burst) == (1000, 2000)
    assert (settings.virtual_qps, settings.virtual_burst) == (1000, 2000)
    assert (settings.metrics_bind, settings.probes_bind) == (":8080", ":8081")
    assert settings.leader_elect is False
    assert settings.leader_election_id == "vsyncer-leader"
    assert (settings.lease_duration, settings.renew_deadline, settings.retry_period) == (15, 10, 2)
    assert settings.virtual_kubeconfig is None
    assert settings.host_kubeconfig is None
    assert settings.log_format == "auto"
    assert settings.log_level == "info"
    assert settings.virtual_service_host is None
    assert settings.virtual_service_port == 443
    assert settings.drift_interval == 300
    assert settings.optional_kinds == ()


def test_drift_interval_zero_turns_the_check_off_and_takes_fractions() -> None:
    assert load_settings(env=env(drift_interval="0")).drift_interval == 0
    assert load_settings(env=env(drift_interval="0.5")).drift_interval == 0.5


def test_settings_are_frozen() -> None:
    """A loaded Settings cannot be changed."""
    settings = load_settings(env=REQUIRED)
    with pytest.raises(ValueError, match="frozen"):
        settings.workers = 3


def test_environment_overrides_defaults() -> None:
    """VSYNCER_* variables set the matching fields, converted to their types."""
    settings = load_settings(
        env=env(workers="4", host_qps="12.5", leader_elect="true", log_format="json")
    )
    assert settings.workers == 4
    assert settings.host_qps == 12.5
    assert settings.leader_elect is True
    assert settings.log_format == "json"


def test_empty_variable_counts_as_unset() -> None:
    """An empty VSYNCER_* variable leaves the default in place."""
    settings = load_settings(env=env(workers="", virtual_kubeconfig=""))
    assert settings.workers == 32
    assert settings.virtual_kubeconfig is None


def test_unrelated_variables_are_ignored() -> None:
    """Variables outside the prefix, and unknown VSYNCER_* ones, do not matter."""
    settings = load_settings(env={**REQUIRED, "WORKERS": "0", "VSYNCER_NOPE": "x"})
    assert settings.workers == 32


def test_kinds_from_a_comma_separated_variable() -> None:
    """VSYNCER_KINDS is split on commas, trimmed and lower-cased."""
    settings = load_settings(env=env(kinds="pods, Services,configmaps"))
    assert settings.kinds == ("pods", "services", "configmaps")


def test_group_qualified_kinds() -> None:
    """Kinds may be core plurals or plural.group, in any mix; case is folded."""
    kinds = "pods, Ingresses.Networking.K8s.io,widgets.example.com"
    settings = load_settings(env=env(kinds=kinds))
    assert settings.kinds == ("pods", "ingresses.networking.k8s.io", "widgets.example.com")


def test_optional_kinds_are_a_subset_of_kinds() -> None:
    """VSYNCER_OPTIONAL_KINDS lists kinds also in VSYNCER_KINDS; blanks are dropped."""
    settings = load_settings(
        env=env(kinds="pods,widgets.example.com,nodes", optional_kinds=" Widgets.example.com,, ")
    )
    assert settings.optional_kinds == ("widgets.example.com",)
    assert load_settings(env=env(optional_kinds="nodes,events")).optional_kinds == (
        "nodes",
        "events",
    )


def test_bad_kinds_are_reported_before_optional_kinds() -> None:
    """With kinds invalid, the error names VSYNCER_KINDS, not the optional list."""
    error = config_error(env(kinds="pods,,x", optional_kinds="widgets.example.com"))
    assert error.setting == "VSYNCER_KINDS"


def test_optional_kinds_from_the_file(tmp_path: Path) -> None:
    """The file may give optional_kinds as a list; the check against kinds still applies."""
    path = tmp_path / "vsyncer.yaml"
    path.write_text("kinds: [pods, widgets.example.com]\noptional_kinds: [widgets.example.com]\n")
    settings = load_settings(env=REQUIRED, config_file=path)
    assert settings.optional_kinds == ("widgets.example.com",)
    error = config_error(env(kinds="pods"), config_file=path)
    assert error.setting == "VSYNCER_OPTIONAL_KINDS"
    assert "config file" in error.message


def test_injected_environment_hides_the_process_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With env given, os.environ is not read at all; without it, os.environ is the env."""
    monkeypatch.setenv("VSYNCER_WORKERS", "0")
    monkeypatch.setenv("VSYNCER_VCLUSTER_NAME", "from-process")
    monkeypatch.setenv("VSYNCER_HOST_NAMESPACE", "ns")
    assert load_settings(env=REQUIRED).workers == 32
    assert config_error_from_process().setting == "VSYNCER_WORKERS"
    monkeypatch.setenv("VSYNCER_WORKERS", "3")
    assert load_settings().vcluster_name == "from-process"


def config_error_from_process() -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load_settings()
    return caught.value


def test_variable_names_match_case_insensitively() -> None:
    """vsyncer_workers counts as VSYNCER_WORKERS, as pydantic-settings' own source does."""
    assert load_settings(env={**REQUIRED, "vsyncer_workers": "6"}).workers == 6


def test_yaml_file(tmp_path: Path) -> None:
    """Settings come from the YAML file named by the argument."""
    path = tmp_path / "vsyncer.yaml"
    path.write_text(
        "vcluster_name: fromfile\nhost_namespace: host-ns\nworkers: 3\nkinds: [pods, nodes]\n"
    )
    settings = load_settings(env={}, config_file=path)
    assert settings.vcluster_name == "fromfile"
    assert settings.workers == 3
    assert settings.kinds == ("pods", "nodes")


def test_yaml_file_from_vsyncer_config(tmp_path: Path) -> None:
    """Without the argument, VSYNCER_CONFIG names the file."""
    path = tmp_path / "vsyncer.yaml"
    path.write_text("workers: 7\nkinds: pods,services\n")
    settings = load_settings(env={**REQUIRED, "VSYNCER_CONFIG": str(path)})
    assert settings.workers == 7
    assert settings.kinds == ("pods", "services")


def test_environment_beats_file(tmp_path: Path) -> None:
    """A variable overrides the same setting in the file; the file fills in the rest."""
    path = tmp_path / "vsyncer.yaml"
    path.write_text("workers: 3\nhost_qps: 5\n")
    settings = load_settings(env=env(workers="8"), config_file=path)
    assert settings.workers == 8
    assert settings.host_qps == 5


def test_empty_yaml_file_is_no_settings(tmp_path: Path) -> None:
    """An empty file changes nothing."""
    path = tmp_path / "vsyncer.yaml"
    path.write_text("# nothing yet\n")
    assert load_settings(env=REQUIRED, config_file=path).workers == 32


def test_existing_kubeconfig_is_accepted(tmp_path: Path) -> None:
    """A kubeconfig path that names a file is kept as a Path."""
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("apiVersion: v1\nclusters: [{name: c, cluster: {server: 'https://x'}}]\n")
    settings = load_settings(env=env(virtual_kubeconfig=str(kubeconfig)))
    assert settings.virtual_kubeconfig == kubeconfig


@pytest.mark.parametrize(
    ("overrides", "setting", "message"),
    [
        ({"vcluster_name": "Not_A_Label"}, "VSYNCER_VCLUSTER_NAME", "DNS-1123 label"),
        ({"vcluster_name": "a" * 64}, "VSYNCER_VCLUSTER_NAME", "at most 63"),
        ({"host_namespace": "-bad"}, "VSYNCER_HOST_NAMESPACE", "DNS-1123 label"),
        ({"virtual_kubeconfig": "/no/such/file"}, "VSYNCER_VIRTUAL_KUBECONFIG", "existing file"),
        ({"host_kubeconfig": "/no/such/file"}, "VSYNCER_HOST_KUBECONFIG", "existing file"),
        ({"kinds": "pods,,services"}, "VSYNCER_KINDS", "non-empty"),
        ({"kinds": "pods,Pods"}, "VSYNCER_KINDS", "more than once"),
        ({"kinds": "pods,pod_disruption"}, "VSYNCER_KINDS", "'pod_disruption' is not a kind"),
        ({"kinds": "widgets.example..com"}, "VSYNCER_KINDS", "plural.group"),
        ({"kinds": "pods." + "a" * 64}, "VSYNCER_KINDS", "is not a kind"),
        ({"optional_kinds": "x.io"}, "VSYNCER_OPTIONAL_KINDS", "x.io, not in VSYNCER_KINDS"),
        ({"optional_kinds": "pods,-x"}, "VSYNCER_OPTIONAL_KINDS", "'-x' is not a kind"),
        ({"optional_kinds": "pods,pods"}, "VSYNCER_OPTIONAL_KINDS", "more than once"),
        ({"workers": "0"}, "VSYNCER_WORKERS", "must be >= 1"),
        ({"workers": "many"}, "VSYNCER_WORKERS", "whole number"),
        ({"host_qps": "0"}, "VSYNCER_HOST_QPS", "must be > 0"),
        ({"host_burst": "0"}, "VSYNCER_HOST_BURST", "must be >= 1"),
        ({"virtual_qps": "fast"}, "VSYNCER_VIRTUAL_QPS", "must be a number"),
        ({"virtual_burst": "-1"}, "VSYNCER_VIRTUAL_BURST", "must be >= 1"),
        ({"metrics_bind": "8080"}, "VSYNCER_METRICS_BIND", "host:port"),
        ({"probes_bind": ":99999"}, "VSYNCER_PROBES_BIND", "0 to 65535"),
        ({"probes_bind": "no space:80"}, "VSYNCER_PROBES_BIND", "host name"),
        ({"leader_elect": "maybe"}, "VSYNCER_LEADER_ELECT", "true or false"),
        ({"leader_election_id": "Bad_Id"}, "VSYNCER_LEADER_ELECTION_ID", "subdomain"),
        ({"renew_deadline": "15"}, "VSYNCER_RENEW_DEADLINE", "VSYNCER_LEASE_DURATION"),
        ({"retry_period": "9"}, "VSYNCER_RETRY_PERIOD", "VSYNCER_RENEW_DEADLINE"),
        ({"cache_sync_timeout": "0"}, "VSYNCER_CACHE_SYNC_TIMEOUT", "must be > 0"),
        ({"reconcile_timeout": "-1"}, "VSYNCER_RECONCILE_TIMEOUT", "must be > 0"),
        ({"shutdown_grace": "-1"}, "VSYNCER_SHUTDOWN_GRACE", "must be >= 0"),
        ({"drift_interval": "-1"}, "VSYNCER_DRIFT_INTERVAL", "must be >= 0"),
        ({"log_format": "xml"}, "VSYNCER_LOG_FORMAT", "'auto', 'json' or 'console'"),
        ({"log_level": "loud"}, "VSYNCER_LOG_LEVEL", "must be one of"),
        ({"virtual_service_host": "a b"}, "VSYNCER_VIRTUAL_SERVICE_HOST", "host name"),
        ({"virtual_service_port": "0"}, "VSYNCER_VIRTUAL_SERVICE_PORT", "must be >= 1"),
    ],
)
def test_invalid_setting_is_named_on_one_line(
    overrides: dict[str, str], setting: str, message: str
) -> None:
    """Each invalid value raises ConfigError naming its variable, on one line."""
    error = config_error(env(**overrides))
    assert error.setting == setting
    assert message in error.message
    assert "\n" not in str(error)
    assert str(error).startswith(f"{setting}: ")


def test_missing_required_setting() -> None:
    """A missing required setting is named and called required."""
    error = config_error({"VSYNCER_HOST_NAMESPACE": "ns"})
    assert str(error) == "VSYNCER_VCLUSTER_NAME: required"


def test_first_offending_setting_is_reported() -> None:
    """With several bad settings, the first in field order is the one reported."""
    error = config_error(env(workers="0", host_qps="0", log_format="xml"))
    assert error.setting == "VSYNCER_WORKERS"


def test_error_shows_the_rejected_value() -> None:
    """The message quotes the value that was rejected."""
    assert str(config_error(env(workers="0"))) == "VSYNCER_WORKERS: must be >= 1 (got '0')"


def test_error_from_the_file_names_the_variable(tmp_path: Path) -> None:
    """A bad value in the file is still named by its variable, and blamed on the file."""
    path = tmp_path / "vsyncer.yaml"
    path.write_text("workers: 0\n")
    error = config_error(REQUIRED, config_file=path)
    assert error.setting == "VSYNCER_WORKERS"
    assert "config file" in error.message


def test_unknown_yaml_key_is_named(tmp_path: Path) -> None:
    """A key the file should not have is the setting named, with a suggestion."""
    path = tmp_path / "vsyncer.yaml"
    path.write_text("workers: 3\nworkerz: 4\n")
    error = config_error(REQUIRED, config_file=path)
    assert error.setting == "workerz"
    assert "unknown setting" in error.message
    assert "'workers'" in error.message


def test_variable_name_as_yaml_key_suggests_the_field(tmp_path: Path) -> None:
    """Writing VSYNCER_WORKERS in the file suggests 'workers'."""
    path = tmp_path / "vsyncer.yaml"
    path.write_text("VSYNCER_WORKERS: 3\n")
    error = config_error(REQUIRED, config_file=path)
    assert error.setting == "VSYNCER_WORKERS"
    assert "did you mean 'workers'" in error.message


def test_missing_file_names_vsyncer_config(tmp_path: Path) -> None:
    """A file that does not exist is blamed on VSYNCER_CONFIG."""
    error = config_error({**REQUIRED, "VSYNCER_CONFIG": str(tmp_path / "absent.yaml")})
    assert error.setting == "VSYNCER_CONFIG"
    assert "cannot read" in error.message


def test_invalid_yaml_names_vsyncer_config(tmp_path: Path) -> None:
    """A file that is not YAML is blamed on VSYNCER_CONFIG, on one line."""
    path = tmp_path / "vsyncer.yaml"
    path.write_text("workers: [3\nkinds: x\n")
    error = config_error(REQUIRED, config_file=path)
    assert error.setting == "VSYNCER_CONFIG"
    assert "not valid YAML" in error.message
    assert "\n" not in str(error)


@pytest.mark.parametrize("text", ["- workers\n", "just words\n", "7\n", "1: x\n"])
def test_yaml_that_is_not_a_mapping_names_vsyncer_config(tmp_path: Path, text: str) -> None:
    """A YAML list or scalar at the top, or a non-string key, is blamed on VSYNCER_CONFIG."""
    path = tmp_path / "vsyncer.yaml"
    path.write_text(text)
    error = config_error(REQUIRED, config_file=path)
    assert error.setting == "VSYNCER_CONFIG"
    assert "must hold a YAML mapping" in error.message


def test_unreadable_file_names_vsyncer_config(tmp_path: Path) -> None:
    """A directory, or a file that is not UTF-8, is blamed on VSYNCER_CONFIG."""
    error = config_error(REQUIRED, config_file=tmp_path)
    assert (error.setting, error.message) == (
        "VSYNCER_CONFIG",
        f"cannot read {str(tmp_path)!r}: not a regular file",
    )
    path = tmp_path / "vsyncer.yaml"
    path.write_bytes(b"workers: \xff\xfe\n")
    error = config_error(REQUIRED, config_file=path)
    assert error.setting == "VSYNCER_CONFIG"
    assert "cannot read" in error.message


def test_settings_reads_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """Constructed directly, Settings reads VSYNCER_* from the process environment."""
    monkeypatch.setenv("VSYNCER_KINDS", "pods,nodes")
    settings = Settings(vcluster_name="vc", host_namespace="ns")
    assert settings.kinds == ("pods", "nodes")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (":8080", BindAddress("", 8080)),
        ("127.0.0.1:0", BindAddress("127.0.0.1", 0)),
        ("localhost:9090", BindAddress("localhost", 9090)),
        ("[::1]:8443", BindAddress("::1", 8443)),
    ],
)
def test_parse_bind(text: str, expected: BindAddress) -> None:
    """Bind strings split into host and port; an empty host means every interface."""
    assert parse_bind(text) == expected


@pytest.mark.parametrize("text", ["8080", ":", ":http", "::1:80", "[nope]:80", "host:-1"])
def test_parse_bind_rejects(text: str) -> None:
    """Malformed bind strings raise ValueError."""
    with pytest.raises(ValueError, match=r"."):
        parse_bind(text)


def test_pod_security_allow_entries_are_validated() -> None:
    """Known allow entries load as a tuple; an unknown one is a one-line error naming it."""
    allow = " hostNetwork,capability:NET_ADMIN , hostPath:/data,hostPort:8080,sysctl:kernel.msgmax"
    settings = load_settings(env=env(pod_security_allow=allow, pod_security_level="restricted"))
    assert settings.pod_security_level == "restricted"
    assert settings.pod_security_allow == (
        "hostNetwork",
        "capability:NET_ADMIN",
        "hostPath:/data",
        "hostPort:8080",
        "sysctl:kernel.msgmax",
    )
    error = config_error(env(pod_security_allow="hostNetwork,hostNet"))
    assert error.setting == "VSYNCER_POD_SECURITY_ALLOW"
    assert "unknown allow entry 'hostNet' (did you mean 'hostNetwork'?)" in error.message
    assert "\n" not in str(error)
    error = config_error(env(pod_security_allow="hostPath:../etc"))
    assert error.setting == "VSYNCER_POD_SECURITY_ALLOW"
    assert "absolute path" in error.message


def test_workload_service_account_is_a_dns_label_or_unset() -> None:
    """Unset by default (vc-workload-<vcluster> is derived); a bad name is named."""
    assert load_settings(env=REQUIRED).workload_service_account is None
    assert load_settings(env=env(workload_service_account="runner")).workload_service_account == (
        "runner"
    )
    error = config_error(env(workload_service_account="Bad_Name"))
    assert error.setting == "VSYNCER_WORKLOAD_SERVICE_ACCOUNT"
