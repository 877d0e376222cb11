"""Wait for the virtual kubeconfig file before the settings are validated.

Next to a virtual control plane that writes its own admin kubeconfig when it
has started (k3s's ``--write-kubeconfig``), vsyncer usually starts first.
Validation requires ``VSYNCER_VIRTUAL_KUBECONFIG`` to name an existing file, so
without this wait the container would exit 2 and crash-loop until the control
plane is up.

Guarantees of :func:`wait_for_virtual_kubeconfig`:

* The path and the budget come from the sources settings are read from, the
  environment over the YAML file (:mod:`syncer.settings`):
  ``VSYNCER_VIRTUAL_KUBECONFIG`` and ``VSYNCER_VIRTUAL_KUBECONFIG_WAIT`` (seconds,
  default 300).  No path, or a file that cannot be read as a YAML mapping,
  means no wait: validation then reports the problem as usual.
* It returns as soon as the file exists (checked every ``poll`` seconds), or
  once the budget is spent, without raising: validation then reports the
  missing file with one line and exit 2.
* While waiting it logs ``waiting for the virtual kubeconfig`` with the path
  and the seconds waited, once per 10 seconds.
* A budget that is not a number of seconds >= 0 raises
  :class:`~syncer.errors.ConfigError` naming ``VSYNCER_VIRTUAL_KUBECONFIG_WAIT``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

import yaml

from syncer.errors import ConfigError
from syncer.settings import CONFIG_ENV, Settings, env_name

PATH_FIELD = "virtual_kubeconfig"
WAIT_FIELD = "virtual_kubeconfig_wait"
LOG_EVERY = 10.0


class WaitLog(Protocol):
    """The one log call made (a structlog logger's ``info``)."""

    def info(self, event: str, **fields: Any) -> Any: ...


def _file_values(config_file: Path | None, env: Mapping[str, str]) -> Mapping[str, Any]:
    if config_file is None and env.get(CONFIG_ENV):
        config_file = Path(env[CONFIG_ENV])
    if config_file is None:
        return {}
    try:
        data = yaml.safe_load(config_file.expanduser().read_text())
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return {}
    return data if isinstance(data, dict) else {}


def _value(field: str, *, env: Mapping[str, str], from_file: Mapping[str, Any]) -> Any:
    given = {key.upper(): value for key, value in env.items() if value != ""}
    if env_name(field) in given:
        return given[env_name(field)]
    return from_file.get(field)


def _budget(value: Any) -> float:
    if value is None:
        default = Settings.model_fields[WAIT_FIELD].default
        return float(default)
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = math.nan
    if not seconds >= 0 or math.isinf(seconds):
        raise ConfigError(
            env_name(WAIT_FIELD), f"must be a number of seconds >= 0 (got {str(value)!r})"
        )
    return seconds


def wait_for_virtual_kubeconfig(
    *,
    config_file: Path | None,
    env: Mapping[str, str],
    log: WaitLog,
    poll: float = 0.5,
    monotonic: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> bool:
    """Block until the virtual kubeconfig exists or the budget is spent; ``True`` if it exists.

    ``False`` also when no path is configured.  Raises :class:`ConfigError` for a bad budget.
    """
    from_file = _file_values(config_file, env)
    budget = _budget(_value(WAIT_FIELD, env=env, from_file=from_file))
    raw = _value(PATH_FIELD, env=env, from_file=from_file)
    if not raw:
        return False
    path = Path(str(raw))
    started = monotonic()
    logged = 0
    while not path.exists():
        waited = monotonic() - started
        if waited >= budget:
            return False
        if waited >= logged * LOG_EVERY:
            log.info(
                "waiting for the virtual kubeconfig",
                path=str(path),
                setting=env_name(PATH_FIELD),
                waited_seconds=round(waited),
                budget_seconds=budget,
            )
            logged += 1
        sleep(min(poll, max(budget - waited, 0.0)))
    return True
