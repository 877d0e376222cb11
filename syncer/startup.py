"""What ``vsyncer run`` checks and says before the daemon starts.

Guarantees:

* :func:`preflight` raises :class:`~syncer.errors.ConfigError` (one line, the
  setting first; the CLI prints it and exits 2) for what validation of each
  value alone cannot see: a bind address something already listens on
  (``VSYNCER_METRICS_BIND`` / ``VSYNCER_PROBES_BIND``, with the OS's reason),
  both servers on one address, and a kind in ``VSYNCER_KINDS`` that no
  installed mapper serves (with the closest registered kind, and all of them).
  It runs before any client is built or any port opened, so a bad setting
  never leaves a half-started daemon behind.
* :func:`warn_misspelt` logs one warning per ``VSYNCER_*`` variable that is no
  setting (pydantic-settings ignores those silently), naming the closest
  setting (:func:`syncer.settingerrors.misspelt`).
* :func:`effective_settings` is every setting's value as the daemon uses it,
  JSON-ready, for the start-up log line; a field whose name says it holds a
  secret (token, password, secret, credential) is shown as ``<redacted>``
  unless unset.  Kubeconfig *paths* are shown; their contents never are.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

from syncer.binds import parse_bind, unavailable
from syncer.errors import ConfigError
from syncer.settingerrors import misspelt
from syncer.settings import CONFIG_ENV, ENV_PREFIX, Settings, env_name

__all__ = ["OTHER_VARIABLES", "REDACTED", "effective_settings", "preflight", "warn_misspelt"]

#: ``VSYNCER_*`` variables that are read but are no setting: the settings file, and the
#: local control plane's binary cache (:mod:`syncer.localcluster`).
OTHER_VARIABLES = (CONFIG_ENV, "VSYNCER_CACHE_DIR")
_SECRET_WORDS = ("token", "password", "secret", "credential")
REDACTED = "<redacted>"


class WarningLog(Protocol):
    def warning(self, event: str, **fields: Any) -> Any: ...


def preflight(settings: Settings, *, kinds_served: Iterable[str]) -> None:
    """Raise ConfigError for a bind address in use or shared, or a kind no mapper serves."""
    _check_binds(settings)
    _check_kinds(settings.kinds, served=sorted(kinds_served))


def _check_binds(settings: Settings) -> None:
    metrics, probes = parse_bind(settings.metrics_bind), parse_bind(settings.probes_bind)
    if metrics.port and metrics == probes:
        raise ConfigError(
            env_name("probes_bind"), f"{settings.probes_bind!r} is VSYNCER_METRICS_BIND's address"
        )
    for field, bind in (("metrics_bind", metrics), ("probes_bind", probes)):
        reason = unavailable(bind)
        if reason is not None:
            shown = getattr(settings, field)
            raise ConfigError(env_name(field), f"cannot listen on {shown!r}: {reason}")


def _check_kinds(kinds: Iterable[str], *, served: list[str]) -> None:
    for kind in kinds:
        if kind not in served:
            close = difflib.get_close_matches(kind, served, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            known = ", ".join(served) or "none"
            raise ConfigError(
                env_name("kinds"), f"no mapper serves {kind!r}; {hint}(installed: {known})"
            )


def warn_misspelt(environ: Mapping[str, str], *, log: WarningLog) -> None:
    """One warning per ``VSYNCER_*`` variable that is no setting, with the closest one."""
    found = misspelt(
        environ, settings=Settings.model_fields, prefix=ENV_PREFIX, others=OTHER_VARIABLES
    )
    for variable, closest in found:
        log.warning(
            "unknown setting ignored",
            variable=variable,
            did_you_mean=closest,
        )


def _shown(value: Any) -> Any:
    """``value`` as JSON data: scalars as they are, sequences as lists, mappings and
    dataclasses (a configured custom resource) as objects, anything else as its ``str``."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, tuple | list | frozenset | set):
        return [_shown(item) for item in value]
    if isinstance(value, Mapping):
        return {str(key): _shown(item) for key, item in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _shown(getattr(value, f.name)) for f in dataclasses.fields(value)}
    return str(value)


def effective_settings(
    settings: Settings, *, secret: Callable[[str], bool] | None = None
) -> dict[str, Any]:
    """Every field by name, JSON-ready, secrets (by field name) redacted."""
    is_secret = secret or (lambda name: any(word in name for word in _SECRET_WORDS))
    shown: dict[str, Any] = {}
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        shown[name] = REDACTED if is_secret(name) and value not in (None, "") else _shown(value)
    return shown
