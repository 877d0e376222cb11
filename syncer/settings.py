"""Settings: ``VSYNCER_*`` environment variables over an optional YAML file, validated once.

:class:`Settings` is a frozen pydantic-settings model; every field has an
environment variable named ``VSYNCER_`` + the field name in upper case
(``vcluster_name`` ← ``VSYNCER_VCLUSTER_NAME``).  An empty variable counts as
unset.  ``kinds`` is a comma-separated list in the environment
(``VSYNCER_KINDS=pods,services``) and a list or the same string in YAML; kinds
are trimmed and lower-cased, and each is a core kind's plural (``pods``) or a
plural qualified by its API group (``ingresses.networking.k8s.io``,
``widgets.example.com``): a DNS-1123 subdomain whose first label is the plural.
``optional_kinds`` (same forms, may be empty) names kinds whose failure to sync
does not make the daemon unready; each must also be in ``kinds``.  Kubeconfig
paths, when given, must name existing files (relative paths are relative to the
working directory).

:func:`load_settings` is the one entry point the CLI uses.  It reads the YAML
file named by its ``config_file`` argument or else by ``VSYNCER_CONFIG``
(through pydantic-settings' ``YamlConfigSettingsSource``; ``~`` is expanded),
and ``VSYNCER_*`` variables from its ``env`` argument or else ``os.environ``;
the file's keys are the field names, and the environment overrides the file.
No other source is read: an injected ``env`` hides ``os.environ`` entirely.
(:class:`Settings` constructed directly reads only ``os.environ`` and its
arguments.)
It never returns settings that fail validation and never raises anything but
:class:`~syncer.errors.ConfigError`, whose ``setting`` is the *first* offending
setting — the environment variable for a field, ``VSYNCER_CONFIG`` for a file
that is missing, unreadable or not a YAML mapping, the key itself for a key the
file should not have — and whose message is a single line.

Bind addresses (``metrics_bind``, ``probes_bind``) are ``host:port`` strings
checked by :func:`parse_bind` (from :mod:`syncer.binds`, re-exported here).
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import Field, ValidationError, ValidationInfo, field_validator
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from syncer.binds import BindAddress, is_host, parse_bind
from syncer.boundary_settings import BoundaryFields
from syncer.customresource_settings import ResourceModelFields
from syncer.errors import ConfigError
from syncer.isolation_settings import IsolationFields
from syncer.kind_settings import KindFields
from syncer.kubeconfigfile import check_kubeconfig
from syncer.kubelet.settings import KubeletFields
from syncer.settingerrors import describe
from syncer.sleep_settings import SleepFields

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
_LOG_LEVELS = {"debug", "info", "warning", "error", "critical"}


def env_name(field: str) -> str:
    """The environment variable of a :class:`Settings` field."""
    return ENV_PREFIX + field.upper()


def _check_label(value: str) -> str:
    if len(value) > 63:
        raise ValueError(f"must be at most 63 characters (has {len(value)})")
    if not _LABEL.fullmatch(value):
        raise ValueError("must be a DNS-1123 label: lower-case letters, digits and '-'")
    return value


def _check_kinds(kinds: tuple[str, ...]) -> tuple[str, ...]:
    """``kinds`` if each is ``plural`` or ``plural.group`` and none repeats; else ValueError."""
    for kind in kinds:
        labels = kind.split(".")
        if len(kind) > 253 or not all(len(x) <= 63 and _LABEL.fullmatch(x) for x in labels):
            raise ValueError(
                f"{kind!r} is not a kind: a plural such as pods, or plural.group such as"
                " ingresses.networking.k8s.io"
            )
    duplicates = sorted({kind for kind in kinds if kinds.count(kind) > 1})
    if duplicates:
        raise ValueError(f"lists {', '.join(duplicates)} more than once")
    return kinds


class Settings(
    BoundaryFields,
    IsolationFields,
    KubeletFields,
    SleepFields,
    ResourceModelFields,
    KindFields,
    BaseSettings,
):
    """Everything the daemon can be told (the module docstring: the sources); the ``isolation*``,
    ``kubelet_*``, ``sleep_*``, ``from_host_*``, ``custom_*``, ``ingress_hosts``/``_classes``,
    ``pdb_*`` and ``to_host_*`` fields are the mixins'."""

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
    # Seconds `vsyncer run` waits for that file to appear (syncer/kubeconfigwait.py).
    virtual_kubeconfig_wait: float = Field(default=300, ge=0)
    host_kubeconfig: Path | None = None  # None: the in-cluster service account
    kinds: Annotated[tuple[str, ...], NoDecode] = DEFAULT_KINDS
    # Kinds whose failure to sync leaves /readyz ready; each must be in kinds (declared above).
    optional_kinds: Annotated[tuple[str, ...], NoDecode] = ()
    # max_concurrent_reconciles per kind; host writes in flight adapt below it (syncer/inflight.py)
    workers: int = Field(default=32, ge=1)
    host_qps: float = Field(default=1000, gt=0)
    host_burst: int = Field(default=2000, ge=1)
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
    dry_run: bool = False  # reconcile, log and count every write, send none (syncer/dryrun.py)
    log_format: Literal["auto", "json", "console"] = "auto"
    log_level: str = "info"
    # The host Service (in the host namespace) fronting the virtual API server, or its IP;
    # virtual default/kubernetes follows it (mappers/apiservice.py).  None: left alone.
    virtual_service_host: str | None = None
    virtual_service_port: int = Field(default=443, ge=1, le=65535)
    # Host Service owning every namespaced host object (syncer/owneranchor.py, vcluster's
    # setOwner); None: the one named like the vcluster.  set_owner=false: no owner.
    set_owner: bool = True
    owner_anchor: str | None = None
    # The host service account synced pods run as; None: vc-workload-<vcluster_name>.
    workload_service_account: str | None = None

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

    @field_validator("owner_anchor", "workload_service_account")
    @classmethod
    def _anchor(cls, value: str | None) -> str | None:
        return None if value is None else _check_label(value)

    @field_validator("leader_election_id")
    @classmethod
    def _dns_subdomain(cls, value: str) -> str:
        if len(value) > 253 or not all(_LABEL.fullmatch(part) for part in value.split(".")):
            raise ValueError("must be a DNS-1123 subdomain (the Lease's name)")
        return value

    @field_validator("virtual_kubeconfig", "host_kubeconfig")
    @classmethod
    def _existing_file(cls, value: Path | None) -> Path | None:
        return value if value is None else check_kubeconfig(value)  # ValueError: the reason

    @field_validator("kinds", "optional_kinds", mode="before")
    @classmethod
    def _split_kinds(cls, value: Any) -> Any:
        return value.split(",") if isinstance(value, str) else value

    @field_validator("kinds")
    @classmethod
    def _clean_kinds(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        kinds = tuple(kind.strip().lower() for kind in value)
        if not kinds or any(not kind for kind in kinds):
            raise ValueError("must be a non-empty, comma-separated list of kinds")
        return _check_kinds(kinds)

    @field_validator("optional_kinds")
    @classmethod
    def _clean_optional_kinds(cls, value: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        optional = _check_kinds(tuple(kind.strip().lower() for kind in value if kind.strip()))
        kinds = info.data.get("kinds")  # absent when kinds itself failed (reported first)
        missing = [kind for kind in optional if kinds is not None and kind not in kinds]
        if missing:
            raise ValueError(f"lists {', '.join(missing)}, not in VSYNCER_KINDS")
        return optional

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
        if value is not None and not is_host(value):
            raise ValueError("must be a host name or IP address")
        return value


class _Environment(PydanticBaseSettingsSource):
    """``VSYNCER_*`` variables of a given mapping, as strings for the fields' validators.

    pydantic-settings' own ``EnvSettingsSource`` reads only ``os.environ``; this is the same
    rule over any mapping: names match case-insensitively, an empty value counts as unset.
    """

    def __init__(self, settings_cls: type[BaseSettings], *, environ: Mapping[str, str]) -> None:
        super().__init__(settings_cls)
        given = {key.upper(): value for key, value in environ.items() if value != ""}
        self._values = {
            field: given[env_name(field)]
            for field in settings_cls.model_fields
            if env_name(field) in given
        }

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return self._values.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self._values)


def load_settings(
    *, config_file: Path | None = None, env: Mapping[str, str] | None = None
) -> Settings:
    """Validated settings from ``env`` (default: ``os.environ``) over the YAML file, if any."""
    environ: Mapping[str, str] = os.environ if env is None else env
    if config_file is None and environ.get(CONFIG_ENV):
        config_file = Path(environ[CONFIG_ENV])
    file_source = _read_file(config_file) if config_file is not None else None
    from_file = file_source.yaml_data if file_source is not None else {}
    sources = (_Environment(Settings, environ=environ),) + (
        (file_source,) if file_source is not None else ()
    )
    try:
        # _build_sources is pydantic-settings' init option for ready-made sources (first
        # wins); without it Settings() would read os.environ too.  mypy knows only the
        # fields-only __init__ that pydantic's dataclass_transform implies.
        return Settings(_build_sources=(sources, {}))  # type: ignore[call-arg]
    except ValidationError as exc:
        raise _config_error(exc.errors()[0], from_file=from_file, environ=environ) from None


def _read_file(path: Path) -> YamlConfigSettingsSource:
    """pydantic-settings' YAML source over the file, its keys checked; ConfigError if unusable."""
    shown = repr(str(path))
    if not path.expanduser().is_file():
        reason = "not a regular file" if path.expanduser().exists() else "no such file"
        raise ConfigError(CONFIG_ENV, f"cannot read {shown}: {reason}")
    try:
        source = YamlConfigSettingsSource(Settings, yaml_file=path)
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigError(CONFIG_ENV, f"cannot read {shown}: {reason}") from None
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" at line {where.line + 1}" if where is not None else ""
        problem = getattr(exc, "problem", None) or type(exc).__name__
        raise ConfigError(CONFIG_ENV, f"{shown} is not valid YAML{line}: {problem}") from None
    except (AttributeError, TypeError, ValueError):
        # The source merges the document into a dict and lower-cases its keys: anything but a
        # mapping with string keys fails there (a list of pairs is read as the mapping it spells).
        raise ConfigError(CONFIG_ENV, f"{shown} must hold a YAML mapping of settings") from None
    data: dict[str, Any] = source.yaml_data
    known = list(Settings.model_fields)
    for key in data:
        if key not in known:  # the source itself would match keys case-insensitively
            name = str(key).lower().removeprefix(ENV_PREFIX.lower())
            close = [name] if name in known else difflib.get_close_matches(name, known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ConfigError(str(key), f"unknown setting in {shown}{hint}")
    return source


def _config_error(
    error: ErrorDetails, *, from_file: Mapping[str, Any], environ: Mapping[str, str]
) -> ConfigError:
    field = str(error["loc"][0]) if error["loc"] else ""
    setting = env_name(field) if field else ENV_PREFIX + "*"
    message = describe(error)
    if error["type"] != "missing":
        value = str(error["input"])
        shown = repr(value if len(value) <= 60 else value[:57] + "...")
        if environ.get(setting):
            message = f"{message} (got {shown})"
        elif field in from_file:
            message = f"{message} (got {shown} from the config file)"
    return ConfigError(setting, " ".join(message.split()))
