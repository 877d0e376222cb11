"""Tests for syncer.kubelet.params: kubelet query → host API query."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from syncer.kubelet.params import Verb, host_params


def test_log_parameters_pass_with_the_container() -> None:
    """The API server's log parameters keep their names; others are dropped."""
    query = [
        ("follow", "true"),
        ("tailLines", "5"),
        ("timestamps", "true"),
        ("sinceSeconds", "60"),
        ("sinceTime", "2026-01-01T00:00:00Z"),
        ("limitBytes", "100"),
        ("previous", "true"),
        ("stream", "Stdout"),
        ("insecureSkipTLSVerifyBackend", "true"),
        ("container", "other"),
    ]
    assert host_params(Verb.LOGS, query=query, container="app") == [
        *query[:8],
        ("container", "app"),
    ]


def test_exec_flags_and_command_are_renamed() -> None:
    """input/output/error/tty=1 become stdin/stdout/stderr/tty=true; command keeps its order."""
    query = [
        ("command", "sh"),
        ("input", "1"),
        ("output", "1"),
        ("error", "1"),
        ("tty", "1"),
        ("command", "-c"),
        ("command", "exit 3"),
        ("stdin", "true"),
    ]
    assert host_params(Verb.EXEC, query=query, container="c") == [
        ("command", "sh"),
        ("stdin", "true"),
        ("stdout", "true"),
        ("stderr", "true"),
        ("tty", "true"),
        ("command", "-c"),
        ("command", "exit 3"),
        ("container", "c"),
    ]


def test_exec_flag_not_one_is_off() -> None:
    """The kubelet reads a flag as on only when it is "1"."""
    assert host_params(Verb.EXEC, query=[("input", "true"), ("output", "0")], container="c") == [
        ("container", "c")
    ]


def test_attach_has_no_command() -> None:
    """attach forwards the stream flags but never a command."""
    query = [("input", "1"), ("output", "1"), ("command", "rm")]
    assert host_params(Verb.ATTACH, query=query, container="c") == [
        ("stdin", "true"),
        ("stdout", "true"),
        ("container", "c"),
    ]


def test_port_forward_ports_are_split() -> None:
    """The kubelet's comma-separated port list becomes repeated ports, no container."""
    assert host_params(Verb.PORT_FORWARD, query=[("port", "80,8443")], container=None) == [
        ("ports", "80"),
        ("ports", "8443"),
    ]
    assert host_params(Verb.PORT_FORWARD, query=[], container=None) == []


@pytest.mark.parametrize("value", ["", "http", "0", "65536", "80,,81", "-1", "8 0"])
def test_bad_port_raises(value: str) -> None:
    """A port that is not 1-65535 is refused with a reason."""
    with pytest.raises(ValueError, match="port"):
        host_params(Verb.PORT_FORWARD, query=[("port", value)], container=None)


@given(
    verb=st.sampled_from(list(Verb)),
    query=st.lists(st.tuples(st.text(max_size=12), st.text(max_size=12)), max_size=8),
)
def test_only_known_names_reach_the_host(verb: Verb, query: list[tuple[str, str]]) -> None:
    """Whatever the query, the host sees only the API's own parameter names."""
    allowed = {
        Verb.LOGS: {
            "follow",
            "previous",
            "timestamps",
            "sinceSeconds",
            "sinceTime",
            "tailLines",
            "limitBytes",
            "stream",
            "container",
        },
        Verb.EXEC: {"stdin", "stdout", "stderr", "tty", "command", "container"},
        Verb.ATTACH: {"stdin", "stdout", "stderr", "tty", "container"},
        Verb.PORT_FORWARD: {"ports"},
    }[verb]
    container = None if verb is Verb.PORT_FORWARD else "c"
    try:
        result = host_params(verb, query=query, container=container)
    except ValueError:
        assert verb is Verb.PORT_FORWARD
        return
    assert {key for key, _ in result} <= allowed
