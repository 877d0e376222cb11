"""Tests for syncer.logs."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from datetime import datetime

import pytest
import structlog

from syncer.keys import ObjectKey
from syncer.logs import configure_logging, get_logger, key_fields, reset_logging


class TtyStream(io.StringIO):
    """A StringIO that claims to be a terminal."""

    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """Leave structlog and the root logger as the test found them."""
    root = logging.getLogger()
    level = root.level
    yield
    reset_logging()
    structlog.contextvars.clear_contextvars()
    root.setLevel(level)


def json_lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_key_fields() -> None:
    """An ObjectKey becomes kind, namespace, name and the key's string form."""
    key = ObjectKey("pods", "team-a", "web-0")
    assert key_fields(key) == {
        "kind": "pods",
        "namespace": "team-a",
        "name": "web-0",
        "key": "pods:team-a/web-0",
    }


def test_key_fields_cluster_scoped() -> None:
    """A cluster-scoped key has an empty namespace and a key without a slash."""
    assert key_fields(ObjectKey("nodes", "", "n1"))["key"] == "nodes:n1"


def test_json_is_one_object_per_line_with_the_key() -> None:
    """Every JSON line parses alone and carries timestamp, level, logger, event and key fields."""
    stream = io.StringIO()
    configure_logging(format="json", level="info", stream=stream)
    key = ObjectKey("pods", "team-a", "web-0")
    log = get_logger("reconcile").bind(**key_fields(key))
    log.info("synced to host", attempt=2)
    log.warning("conflict, requeued")
    lines = json_lines(stream)
    assert len(lines) == 2
    first = lines[0]
    assert first["event"] == "synced to host"
    assert first["level"] == "info"
    assert first["logger"] == "reconcile"
    assert first["attempt"] == 2
    assert {k: first[k] for k in ("kind", "namespace", "name", "key")} == key_fields(key)
    assert lines[1]["level"] == "warning"
    assert lines[1]["key"] == "pods:team-a/web-0"
    assert list(first)[:4] == ["timestamp", "level", "logger", "event"]


def test_json_timestamp_is_iso_utc() -> None:
    """Timestamps are ISO-8601 in UTC."""
    stream = io.StringIO()
    configure_logging(format="json", level="info", stream=stream)
    get_logger("t").info("tick")
    stamp = str(json_lines(stream)[0]["timestamp"])
    assert stamp.endswith("Z")
    assert datetime.fromisoformat(stamp.replace("Z", "+00:00")).utcoffset() is not None


def test_level_filters() -> None:
    """Events below the configured level are dropped."""
    stream = io.StringIO()
    configure_logging(format="json", level="warning", stream=stream)
    log = get_logger("t")
    log.info("quiet")
    log.error("loud")
    assert [line["event"] for line in json_lines(stream)] == ["loud"]


def test_exception_stays_on_one_line() -> None:
    """A logged traceback is a field of the single JSON line."""
    stream = io.StringIO()
    configure_logging(format="json", level="info", stream=stream)
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        get_logger("t").exception("failed")
    (line,) = json_lines(stream)
    assert "RuntimeError: boom" in str(line["exception"])


def test_unserialisable_values_do_not_break_the_line() -> None:
    """A value JSON cannot encode is rendered with repr."""
    stream = io.StringIO()
    configure_logging(format="json", level="info", stream=stream)
    get_logger("t").info("odd", value=object())
    assert "object object" in str(json_lines(stream)[0]["value"])


def test_stdlib_records_are_json_too() -> None:
    """Records from the logging module come out as JSON lines on the same stream."""
    stream = io.StringIO()
    configure_logging(format="json", level="info", stream=stream)
    logging.getLogger("some.library").warning("from %s", "stdlib")
    (line,) = json_lines(stream)
    assert line["event"] == "from stdlib"
    assert line["logger"] == "some.library"
    assert line["level"] == "warning"


def test_contextvars_are_merged() -> None:
    """Fields bound with structlog.contextvars appear on every line of the task."""
    stream = io.StringIO()
    configure_logging(format="json", level="info", stream=stream)
    structlog.contextvars.bind_contextvars(reconcile_id="r-1")
    get_logger("t").info("hello")
    assert json_lines(stream)[0]["reconcile_id"] == "r-1"


def test_console_is_not_json() -> None:
    """The console format writes readable lines that are not JSON."""
    stream = io.StringIO()
    configure_logging(format="console", level="info", stream=stream)
    get_logger("reconcile").info("synced", **key_fields(ObjectKey("pods", "a", "b")))
    text = stream.getvalue()
    assert "synced" in text
    assert "key=pods:a/b" in text
    with pytest.raises(json.JSONDecodeError):
        json.loads(text.splitlines()[0])


def test_auto_picks_console_on_a_terminal() -> None:
    """format=auto writes console lines to a TTY and JSON elsewhere."""
    tty = TtyStream()
    configure_logging(format="auto", level="info", stream=tty)
    get_logger("t").info("hello")
    with pytest.raises(json.JSONDecodeError):
        json.loads(tty.getvalue().splitlines()[0])

    pipe = io.StringIO()
    configure_logging(format="auto", level="info", stream=pipe)
    get_logger("t").info("hello")
    assert json_lines(pipe)[0]["event"] == "hello"


def test_configure_is_idempotent() -> None:
    """Configuring twice writes each line once, where the last call says."""
    first, second = io.StringIO(), io.StringIO()
    configure_logging(format="json", level="info", stream=first)
    log = get_logger("t")  # made before the second call: must follow it
    configure_logging(format="json", level="info", stream=second)
    log.info("once")
    logging.getLogger("lib").warning("once too")
    assert first.getvalue() == ""
    assert [line["event"] for line in json_lines(second)] == ["once", "once too"]


def test_unknown_level_is_rejected() -> None:
    """An unknown level name raises ValueError."""
    with pytest.raises(ValueError, match="unknown log level"):
        configure_logging(format="json", level="chatty", stream=io.StringIO())
