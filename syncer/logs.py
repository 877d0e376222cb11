"""Logging: structured events, one JSON object per line in production.

:func:`configure_logging` sets up structlog (the library's own global
configuration, the only global this module touches besides the stdlib root
logger's handler) and may be called any number of times: each call replaces
what the previous one set up, so the last call wins and nothing is added twice.

Every line carries an ISO-8601 UTC ``timestamp``, the ``level``, the
``logger`` name (bind it with :func:`get_logger`) and the ``event``; then the
bound fields.  ``format="json"`` writes one JSON object per line;
``"console"`` writes aligned human-readable lines; ``"auto"`` picks console
when the stream is a terminal and JSON otherwise.  Records from libraries that
log through the standard :mod:`logging` module (asyncio, kubernetes-asyncio, aiohttp)
are rendered the same way, to the same stream, so a JSON log stays parseable.

:func:`key_fields` gives the fields naming one object (``kind``,
``namespace``, ``name``, ``key``) for a logger to bind.  Context bound with
:func:`structlog.contextvars.bind_contextvars` is merged into every line
logged from that task.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any, Literal, TextIO

import orjson
import structlog
from structlog.typing import EventDict, FilteringBoundLogger, Processor, WrappedLogger

from syncer.keys import ObjectKey

__all__ = ["LogFormat", "configure_logging", "get_logger", "key_fields", "reset_logging"]

LogFormat = Literal["auto", "json", "console"]

_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warn": logging.WARNING,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "critical": logging.CRITICAL,
}
_LEADING_KEYS = ("timestamp", "level", "logger", "event")


class _StdlibHandler(logging.StreamHandler[TextIO]):
    """The root handler this module installs; found again by its type to be replaced."""


def configure_logging(*, format: LogFormat, level: str, stream: TextIO | None = None) -> None:
    """Send structured logs at ``level`` and above to ``stream`` (default: stderr)."""
    threshold = _LEVELS.get(level.strip().lower())
    if threshold is None:
        raise ValueError(f"unknown log level {level!r}; use one of {', '.join(_LEVELS)}")
    out = stream if stream is not None else sys.stderr
    console = format == "console" or (format == "auto" and _is_tty(out))
    renderer: Processor
    if console:
        renderer = structlog.dev.ConsoleRenderer(colors=_is_tty(out))
        tail: list[Processor] = [renderer]
    else:
        renderer = structlog.processors.JSONRenderer(serializer=_dumps)
        tail = [structlog.processors.format_exc_info, _lead_with_basics, renderer]
    stamp = structlog.processors.TimeStamper(fmt="iso", utc=True)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            _add_logger_name,
            structlog.processors.StackInfoRenderer(),
            stamp,
            *tail,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(threshold),
        logger_factory=_NamedLoggerFactory(file=out),
        # Loggers stay lazy so that a later call (a test, a re-configuration) reaches them.
        cache_logger_on_first_use=False,
    )
    handler = _StdlibHandler(out)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[
                structlog.contextvars.merge_contextvars,
                structlog.processors.add_log_level,
                structlog.stdlib.add_logger_name,
                stamp,
            ],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *tail],
        )
    )
    root = logging.getLogger()
    _remove_handlers(root)
    root.addHandler(handler)
    root.setLevel(threshold)


def reset_logging() -> None:
    """Undo :func:`configure_logging`: structlog's defaults, no handler of ours on the root."""
    structlog.reset_defaults()
    _remove_handlers(logging.getLogger())


def get_logger(name: str, **fields: Any) -> FilteringBoundLogger:
    """A logger whose lines carry ``logger=name`` and ``fields``.

    It stays lazy until it is bound further: a logger made before
    :func:`configure_logging` still writes where the latest call says.
    """
    logger: FilteringBoundLogger = structlog.get_logger(name, **fields)
    return logger


def key_fields(key: ObjectKey) -> dict[str, str]:
    """Log fields naming one object: ``kind``, ``namespace``, ``name`` and ``key``."""
    return {"kind": key.kind, "namespace": key.namespace, "name": key.name, "key": str(key)}


class _NamedWriteLogger(structlog.WriteLogger):
    """A WriteLogger that remembers the name it was asked for."""

    def __init__(self, *, file: TextIO, name: str) -> None:
        super().__init__(file)
        self.name = name


class _NamedLoggerFactory:
    """``structlog.get_logger(name)`` passes ``name`` here; :func:`_add_logger_name` reads it."""

    def __init__(self, *, file: TextIO) -> None:
        self._file = file

    def __call__(self, *args: Any) -> _NamedWriteLogger:
        return _NamedWriteLogger(file=self._file, name=str(args[0]) if args else "")


def _add_logger_name(logger: WrappedLogger, _: str, event_dict: EventDict) -> EventDict:
    name = getattr(logger, "name", "")
    if name and "logger" not in event_dict:
        event_dict["logger"] = name
    return event_dict


def _remove_handlers(root: logging.Logger) -> None:
    for handler in list(root.handlers):
        if isinstance(handler, _StdlibHandler):
            root.removeHandler(handler)


def _is_tty(stream: TextIO) -> bool:
    isatty: Callable[[], bool] | None = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False


def _dumps(obj: Any, default: Callable[[Any], Any] | None = None, **_: Any) -> str:
    return orjson.dumps(obj, default=default or repr, option=orjson.OPT_NON_STR_KEYS).decode()


def _lead_with_basics(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """Put timestamp, level, logger and event first, so a JSON line reads left to right."""
    ordered = {key: event_dict.pop(key) for key in _LEADING_KEYS if key in event_dict}
    ordered.update(event_dict)
    return ordered
