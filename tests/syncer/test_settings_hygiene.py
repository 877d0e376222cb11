"""Settings hygiene: unusable kubeconfig files, misspelt VSYNCER_* variables, taken ports."""

from __future__ import annotations

import json
import socket
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from syncer.binds import BindAddress, parse_bind, unavailable
from syncer.errors import ConfigError
from syncer.settingerrors import Misspelt, misspelt
from syncer.settings import CONFIG_ENV, ENV_PREFIX, Settings, env_name, load_settings
from syncer.startup import REDACTED, effective_settings

FIELDS = list(Settings.model_fields)
REQUIRED = {"VSYNCER_VCLUSTER_NAME": "vc", "VSYNCER_HOST_NAMESPACE": "ns"}


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "is empty"),
        ("  \n\n", "is empty"),
        ("- a\n- b\n", "no YAML mapping"),
        ("apiVersion: v1\nkind: Config\n", "names no cluster"),
        ("clusters: [\n", "not valid YAML"),
    ],
)
def test_an_unusable_kubeconfig_is_one_line_naming_the_setting(
    tmp_path: Path, text: str, reason: str
) -> None:
    """An empty or clusterless kubeconfig fails validation, naming the variable."""
    path = tmp_path / "kubeconfig"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_settings(env={**REQUIRED, "VSYNCER_HOST_KUBECONFIG": str(path)})
    assert caught.value.setting == "VSYNCER_HOST_KUBECONFIG"
    assert reason in caught.value.message
    assert "\n" not in str(caught.value)


def test_a_misspelt_variable_names_the_closest_setting() -> None:
    """VSYNCER_WORKER and VSYNCER_LEADER_ELECTT point at the settings they meant."""
    environ = {"VSYNCER_WORKER": "3", "vsyncer_leader_electt": "true", "VSYNCER_WORKERS": "2"}
    found = misspelt(environ, settings=FIELDS, prefix=ENV_PREFIX)
    assert found == [
        Misspelt("VSYNCER_WORKER", "VSYNCER_WORKERS"),
        Misspelt("vsyncer_leader_electt", "VSYNCER_LEADER_ELECT"),
    ]


def test_far_off_and_known_other_variables() -> None:
    """A name close to no setting has no suggestion; VSYNCER_CONFIG and empty ones are fine."""
    environ = {"VSYNCER_ZZZZZZZZZZZZZZZZ": "1", CONFIG_ENV: "/x", "VSYNCER_NOPE_X": ""}
    found = misspelt(environ, settings=FIELDS, prefix=ENV_PREFIX, others=[CONFIG_ENV])
    assert found == [Misspelt("VSYNCER_ZZZZZZZZZZZZZZZZ", None)]


@given(st.sampled_from(FIELDS))
def test_no_setting_variable_is_ever_reported(field: str) -> None:
    """Every setting's own variable, in any case, is known."""
    for name in (env_name(field), env_name(field).lower()):
        assert misspelt({name: "x"}, settings=FIELDS, prefix=ENV_PREFIX) == []


def test_a_port_in_use_is_unavailable_and_a_free_one_is_not() -> None:
    """A listening socket's port is reported with the OS's reason; port 0 is always free."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        reason = unavailable(BindAddress("127.0.0.1", port))
        assert reason is not None
        assert "in use" in reason.lower()
    assert unavailable(parse_bind("127.0.0.1:0")) is None
    assert unavailable(BindAddress("127.0.0.1", port)) is None


def test_effective_settings_show_every_field_and_redact_secrets() -> None:
    """Every field, JSON-ready (paths and tuples as strings and lists); a secret-named field
    that is set is shown as <redacted>, an unset one as it is."""
    settings = load_settings(env={**REQUIRED, "VSYNCER_KINDS": "pods,services"})
    shown = effective_settings(settings)
    assert set(shown) == set(FIELDS)
    assert shown["kinds"] == ["pods", "services"]
    assert json.loads(json.dumps(shown)) == shown
    secret = effective_settings(
        settings, secret=lambda name: name in {"host_namespace", "owner_anchor"}
    )
    assert (secret["host_namespace"], secret["owner_anchor"]) == (REDACTED, None)


def test_effective_settings_of_structured_values_are_json() -> None:
    """A dataclass, a mapping or a path in a setting's value is shown as JSON data."""

    @dataclass(frozen=True)
    class Entry:
        name: str
        where: Path

    class Fake:
        model_fields = {"entries": None, "labels": None}
        entries = (Entry("w", Path("/x")),)
        labels = {"a": ("b",)}

    shown = effective_settings(Fake(), secret=lambda _: False)  # type: ignore[arg-type]
    assert shown == {"entries": [{"name": "w", "where": "/x"}], "labels": {"a": ["b"]}}
