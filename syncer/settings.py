"""Settings: ``VSYNCER_*`` environment variables over an optional YAML file, validated once.

:class:`Settings` is a frozen pydantic-settings model; every field has an
environment variable named ``VSYNCER_`` + the field name in upper case
(``vcluster_name`` ← ``VSYNCER_VCLUSTER_NAME``).  An empty variable counts as
unset.  ``kinds`` is a comma-separated list in the environment
(``VSYNCER_KINDS=pods,services``) and a list or the same string in YAML; kinds
are trimmed and lower-cased.  Kubeconfig paths, when given, must name existing
files (relative paths are relative to the working directory).

:func:`load_settings` is the one entry point the CLI uses.  It reads the YAML
file named by its ``config_file`` argument or else by ``VSYNCER_CONFIG``;
the file's keys are the field names, and the environment overrides the file.
It never returns settings that fail validation and never raises anything but
:class:`~syncer.errors.ConfigError`, whose ``setting`` is the *first* offending
setting — the environment variable for a field, ``VSYNCER_CONFIG`` for a file
that is missing, unreadable or not a YAML mapping, the key itself for a key the
file should not have — and whose message is a single line.

Bind addresses (``metrics_bind``, ``probes_bind``) are ``host:port`` strings:
an empty host means every interface, an IPv6 host is bracketed
(``[::1]:8080``) and port 0 asks for an ephemeral port; :func:`parse_bind`
splits them for the server.
"""

from __future__ import annotations

import difflib
import ipaddress
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, NamedTuple

import yaml
from pydantic import Field, ValidationError, ValidationInfo, field_validator
from pydantic_core import ErrorDetails
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    InitSettingsSource,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from syncer.errors import ConfigError
from syncer.podsecurity import validate_allow_entry

__all__ = [
    "CONFIG_ENV",
    "DEFAULT_KINDS",
    "ENV_PREFIX",
    "BindAddress",
    "Settings",
    "env_name",
    "load_settings",
    "parse_bind",
]

ENV_PREFIX = "VSYNCER_"
CONFIG_ENV = "VSYNCER_CONFIG"
DEFAULT_KINDS = (
    "pods",
    "services",
    "endpoints",
    "configmaps",
    "secrets",
    "persistentvolumeclaims",
    "events",
    "nodes",
)
# client-go's leader election requires renew_deadline > retry_period * JitterFactor.
_LEADER_JITTER = 1.2
_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_HOST_LABEL = r"[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?"
_HOSTNAME = re.compile(rf"{_HOST_LABEL}(\.{_HOST_LABEL})*")
_LOG_LEVELS = {"debug", "info", "warning", "error", "critical"}


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
    elif host and not _is_host(host):
        raise ValueError(f"{host!r} is not a host name or IP address (bracket IPv6: [::1]:8080)")
    if not port.isascii() or not port.isdigit() or int(port) > 65535:
        raise ValueError(f"port {port!r} must be a number from 0 to 65535")
    return BindAddress(host, int(port))


def env_name(field: str) -> str:
    """The environment variable of a :class:`Settings` field."""
    return ENV_PREFIX + field.upper()


def _is_host(host: str) -> bool:
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


def _check_label(value: str) -> str:
    if len(value) > 63:
        raise ValueError(f"must be at most 63 characters (has {len(value)})")
    if not _LABEL.fullmatch(value):
        raise ValueError("must be a DNS-1123 label: lower-case letters, digits and '-'")
    return value


class Settings(BaseSettings):
    """Everything the daemon can be told; see the module docstring for the sources."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        case_sensitive=False,
        env_ignore_empty=True,
        extra="forbid",
        frozen=True,
    )

    vcluster_name: str
    host_namespace: str
    virtual_kubeconfig: Path | None = None
    host_kubeconfig: Path | None = None  # None: the in-cluster service account
    kinds: Annotated[tuple[str, ...], NoDecode] = DEFAULT_KINDS
    workers: int = Field(default=10, ge=1)  # max_concurrent_reconciles per kind
    host_qps: float = Field(default=40, gt=0)
    host_burst: int = Field(default=80, ge=1)
    virtual_qps: float = Field(default=1000, gt=0)
    virtual_burst: int = Field(default=2000, ge=1)
    metrics_bind: str = ":8080"
    probes_bind: str = ":8081"
    leader_elect: bool = False
    leader_election_id: str = "vsyncer-leader"
    lease_duration: float = Field(default=15, gt=0)
    renew_deadline: float = Field(default=10, gt=0)
    retry_period: float = Field(default=2, gt=0)
    cache_sync_timeout: float = Field(default=120, gt=0)
    reconcile_timeout: float = Field(default=30, gt=0)
    shutdown_grace: float = Field(default=30, ge=0)
    drift_interval: float = Field(default=300, ge=0)  # seconds between drift checks; 0: off
    log_format: Literal["auto", "json", "console"] = "auto"
    log_level: str = "info"
    # The host Service (in the host namespace) fronting the virtual API server, or its IP;
    # virtual default/kubernetes follows it (mappers/apiservice.py).  None: left alone.
    virtual_service_host: str | None = None
    virtual_service_port: int = Field(default=443, ge=1, le=65535)
    # Pod Security Standards level a virtual pod must meet to be synced (syncer/podsecurity.py),
    # and the controls or fields allowed past it anyway.
    pod_security_level: Literal["privileged", "baseline", "restricted"] = "baseline"
    pod_security_allow: Annotated[tuple[str, ...], NoDecode] = ()
    # Service spec.externalIPs are refused unless inside one of these CIDRs.
    service_external_ip_cidrs: Annotated[tuple[str, ...], NoDecode] = ()
    # Endpoints addresses of selector-less services are refused inside the host's service
    # CIDRs and these extra CIDRs (loopback, link-local and node addresses always are).
    host_service_cidrs: Annotated[tuple[str, ...], NoDecode] = ("10.96.0.0/12",)
    endpoints_deny_cidrs: Annotated[tuple[str, ...], NoDecode] = ()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Arguments, then the environment; no ``.env`` or secrets directory."""
        return init_settings, env_settings

    @field_validator("vcluster_name", "host_namespace")
    @classmethod
    def _dns_label(cls, value: str) -> str:
        return _check_label(value)

    @field_validator("leader_election_id")
    @classmethod
    def _dns_subdomain(cls, value: str) -> str:
        if len(value) > 253 or not all(_LABEL.fullmatch(part) for part in value.split(".")):
            raise ValueError("must be a DNS-1123 subdomain (the Lease's name)")
        return value

    @field_validator("virtual_kubeconfig", "host_kubeconfig")
    @classmethod
    def _existing_file(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError("must name an existing file")
        return value

    @field_validator("kinds", mode="before")
    @classmethod
    def _split_kinds(cls, value: Any) -> Any:
        return value.split(",") if isinstance(value, str) else value

    @field_validator("kinds")
    @classmethod
    def _clean_kinds(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        kinds = tuple(kind.strip().lower() for kind in value)
        if not kinds or any(not kind for kind in kinds):
            raise ValueError("must be a non-empty, comma-separated list of kinds")
        duplicates = sorted({kind for kind in kinds if kinds.count(kind) > 1})
        if duplicates:
            raise ValueError(f"lists {', '.join(duplicates)} more than once")
        return kinds

    @field_validator(
        "pod_security_allow",
        "service_external_ip_cidrs",
        "host_service_cidrs",
        "endpoints_deny_cidrs",
        mode="before",
    )
    @classmethod
    def _split_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("pod_security_allow")
    @classmethod
    def _pod_security_allow(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for entry in value:
            validate_allow_entry(entry)  # ValueError: a one-line reason naming the entry
        return value

    @field_validator("service_external_ip_cidrs", "host_service_cidrs", "endpoints_deny_cidrs")
    @classmethod
    def _cidrs(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for cidr in value:
            try:
                ipaddress.ip_network(cidr, strict=False)
            except ValueError:
                raise ValueError(f"{cidr!r} is not a CIDR such as 10.0.0.0/8") from None
        return value

    @field_validator("metrics_bind", "probes_bind")
    @classmethod
    def _bind(cls, value: str) -> str:
        parse_bind(value)
        return value

    @field_validator("renew_deadline")
    @classmethod
    def _renew_below_lease(cls, value: float, info: ValidationInfo) -> float:
        lease = info.data.get("lease_duration")
        if lease is not None and value >= lease:
            raise ValueError(f"must be less than VSYNCER_LEASE_DURATION ({lease:g})")
        return value

    @field_validator("retry_period")
    @classmethod
    def _retry_below_renew(cls, value: float, info: ValidationInfo) -> float:
        renew = info.data.get("renew_deadline")
        if renew is not None and value * _LEADER_JITTER >= renew:
            raise ValueError(f"times {_LEADER_JITTER} must be less than VSYNCER_RENEW_DEADLINE")
        return value

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        level = value.strip().lower()
        level = "warning" if level == "warn" else level
        if level not in _LOG_LEVELS:
            raise ValueError(f"must be one of {', '.join(sorted(_LOG_LEVELS))}")
        return level

    @field_validator("virtual_service_host")
    @classmethod
    def _service_host(cls, value: str | None) -> str | None:
        if value is not None and not (_is_host(value) or _is_ipv6(value)):
            raise ValueError("must be a host name or IP address")
        return value


class _MappingEnvSource(EnvSettingsSource):
    """pydantic-settings' environment source, reading a given mapping instead of os.environ."""

    def __init__(self, settings_cls: type[BaseSettings], *, environ: Mapping[str, str]) -> None:
        self._environ = environ  # read by _load_env_vars, which the base __init__ calls
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return {
            key.lower(): value
            for key, value in self._environ.items()
            if not (self.env_ignore_empty and value == "")
        }


def load_settings(
    *, config_file: Path | None = None, env: Mapping[str, str] | None = None
) -> Settings:
    """Validated settings from ``env`` (default: ``os.environ``) over the YAML file, if any."""
    environ: Mapping[str, str] = os.environ if env is None else env
    if config_file is None and environ.get(CONFIG_ENV):
        config_file = Path(environ[CONFIG_ENV])
    from_file = _read_file(config_file) if config_file is not None else {}
    sources = (
        _MappingEnvSource(Settings, environ=environ),
        InitSettingsSource(Settings, init_kwargs=from_file),
    )
    try:
        # mypy knows only the fields-only __init__ pydantic's dataclass_transform implies.
        return Settings(_build_sources=(sources, {}))  # type: ignore[call-arg]
    except ValidationError as exc:
        raise _config_error(exc.errors()[0], from_file=from_file, environ=environ) from None


def _read_file(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigError(CONFIG_ENV, f"cannot read {str(path)!r}: {reason}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" at line {where.line + 1}" if where is not None else ""
        problem = getattr(exc, "problem", None) or type(exc).__name__
        raise ConfigError(CONFIG_ENV, f"{str(path)!r} is not valid YAML{line}: {problem}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(CONFIG_ENV, f"{str(path)!r} must hold a YAML mapping of settings")
    known = list(Settings.model_fields)
    for key in data:
        if key not in known:
            name = str(key).lower().removeprefix(ENV_PREFIX.lower())
            close = [name] if name in known else difflib.get_close_matches(name, known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ConfigError(str(key), f"unknown setting in {str(path)!r}{hint}")
    return data


def _config_error(
    error: ErrorDetails, *, from_file: Mapping[str, Any], environ: Mapping[str, str]
) -> ConfigError:
    field = str(error["loc"][0]) if error["loc"] else ""
    setting = env_name(field) if field else ENV_PREFIX + "*"
    message = _describe(error)
    if error["type"] != "missing":
        value = str(error["input"])
        shown = repr(value if len(value) <= 60 else value[:57] + "...")
        if environ.get(setting):
            message = f"{message} (got {shown})"
        elif field in from_file:
            message = f"{message} (got {shown} from the config file)"
    return ConfigError(setting, " ".join(message.split()))


def _describe(error: ErrorDetails) -> str:
    kind = error["type"]
    ctx = error.get("ctx", {})
    if kind == "missing":
        return "required"
    if kind in {"greater_than_equal", "greater_than", "less_than_equal", "less_than"}:
        op, bound = {
            "greater_than_equal": (">=", ctx.get("ge")),
            "greater_than": (">", ctx.get("gt")),
            "less_than_equal": ("<=", ctx.get("le")),
            "less_than": ("<", ctx.get("lt")),
        }[kind]
        return f"must be {op} {bound}"
    if kind in {"int_parsing", "int_from_float", "int_type"}:
        return "must be a whole number"
    if kind in {"float_parsing", "float_type"}:
        return "must be a number"
    if kind in {"bool_parsing", "bool_type"}:
        return "must be true or false"
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected', '')}"
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    return error["msg"]
