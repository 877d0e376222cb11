"""Tests for syncer.hostlabels: the host label denylist, its setting, and that no denied key
ever reaches a host object (the translator, selectors and host metadata)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from syncer.hostlabels import (
    DEFAULT_DENYLIST,
    DEFAULT_HOST_LABEL_DENYLIST,
    HostLabelDenylist,
    parse_entries,
)
from syncer.kit.metadata import host_metadata
from syncer.resources import CONFIGMAPS
from syncer.settings import load_settings
from syncer.translate import MANAGED_BY_LABEL, NAMESPACE_LABEL, Translator
from tests.syncer.test_cli import environment, one_line_exit_2, vsyncer
from tests.syncer.test_settings import config_error, env
from tests.syncer.translate_support import QUALIFIED_NAME_PART, TRANSLATOR, sha10

#: Keys host tools select by (the module docstring), each denied by the default.
TOOL_KEYS = (
    "grafana_dashboard",
    "grafana_datasource",
    "grafana_alert",
    "owner",
    "argocd.argoproj.io/secret-type",
    "argocd.argoproj.io/instance",
    "kustomize.toolkit.fluxcd.io/name",
    "helm.toolkit.fluxcd.io/namespace",
)


@pytest.mark.parametrize("key", TOOL_KEYS)
def test_the_default_renames_what_host_tools_select_by(key: str) -> None:
    """grafana_dashboard (the chart's own dashboard sidecar), Helm's owner, Argo CD, Flux."""
    assert DEFAULT_DENYLIST.denies(key)
    assert TRANSLATOR.translate_label_key(key) == f"vcluster.loft.sh/label-dev-x-{sha10(key)}"


@pytest.mark.parametrize(
    "key", ["app", "app.kubernetes.io/name", "grafana", "owners", "team/owner", "argocd.io/x"]
)
def test_the_default_leaves_ordinary_keys_alone(key: str) -> None:
    assert not DEFAULT_DENYLIST.denies(key)
    assert TRANSLATOR.translate_label_key(key) == key


def test_entries_are_exact_keys_or_prefixes() -> None:
    """A trailing * is a prefix; anything else is one key, denied exactly."""
    deny = HostLabelDenylist.of([" example.com/team ", "acme.io/*", "", "x_*"])
    assert deny == HostLabelDenylist(
        keys=frozenset({"example.com/team"}), prefixes=("acme.io/", "x_")
    )
    assert [deny.denies(k) for k in ("example.com/team", "example.com/teams", "acme.io/a")] == [
        True,
        False,
        True,
    ]
    assert deny.denies("x_y")
    assert not deny.denies("x")


@pytest.mark.parametrize("entry", ["*", "a b", "acme.io/*/x", "Example.com/x", "a/b/c", "-x"])
def test_an_entry_that_is_no_key_is_refused(entry: str) -> None:
    with pytest.raises(ValueError, match="neither a label key"):
        parse_entries([entry])


@pytest.mark.parametrize("entry", ["v*", "vcluster.loft.sh/*", "vcluster.loft.sh/x", "vsyncer.d*"])
def test_an_entry_in_the_syncers_own_key_space_is_refused(entry: str) -> None:
    """The renamed keys and the markers live there: denying them would deny the syncer."""
    with pytest.raises(ValueError, match="syncers' own keys"):
        parse_entries([entry])


def test_the_setting_defaults_to_the_documented_list_and_takes_a_comma_list() -> None:
    assert load_settings(env=env()).host_label_denylist == DEFAULT_HOST_LABEL_DENYLIST
    given_list = load_settings(env=env(host_label_denylist="team, acme.io/*"))
    assert given_list.host_label_denylist == ("team", "acme.io/*")


def test_a_bad_entry_names_the_setting(tmp_path: Path) -> None:
    error = config_error(env(host_label_denylist="grafana_*,a b"))
    assert error.setting == "VSYNCER_HOST_LABEL_DENYLIST"
    assert "'a b'" in str(error)
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {}\n")
    proc = vsyncer("run", env=environment(kubeconfig, host_label_denylist="*"))
    assert "neither a label key" in one_line_exit_2(proc, "VSYNCER_HOST_LABEL_DENYLIST")


# -- the property: no denied key on a host object --------------------------------------

_NAME = st.text("abgrx_.-1", min_size=1, max_size=12).filter(
    lambda s: bool(QUALIFIED_NAME_PART.fullmatch(s))
)


def _accepted(entry: str) -> bool:
    try:
        return bool(parse_entries([entry]))
    except ValueError:
        return False


_PREFIX = st.sampled_from(["", "acme.io/", "argocd.argoproj.io/", "vcluster.loft.sh/"])
KEYS = st.one_of(st.builds(str.__add__, _PREFIX, _NAME), st.sampled_from(TOOL_KEYS))
ENTRIES = st.lists(
    st.one_of(KEYS, st.builds(lambda k: k[: max(1, len(k) // 2)] + "*", KEYS)).filter(_accepted),
    max_size=5,
)
LABELS = st.dictionaries(KEYS, st.sampled_from(["1", "a", ""]), max_size=8)


def _host_keys(translator: Translator, labels: dict[str, str]) -> set[str]:
    """Every label key of every host-side place tenant labels reach."""
    v_obj: dict[str, Any] = {
        "metadata": {"name": "web", "namespace": "shop", "uid": "u", "labels": labels}
    }
    metadata = host_metadata(translator=translator, resource=CONFIGMAPS, v_obj=v_obj)
    selector = translator.translate_label_selector(
        {
            "matchLabels": labels,
            "matchExpressions": [{"key": k, "operator": "Exists"} for k in labels],
        },
        namespace="shop",
    )
    return (
        set(metadata["labels"])
        | set(translator.translate_selector(labels, namespace="shop"))
        | set(selector["matchLabels"])
        | {e["key"] for e in selector["matchExpressions"]}
    )


@given(entries=ENTRIES, labels=LABELS)
def test_no_denied_key_ever_reaches_the_host(entries: list[str], labels: dict[str, str]) -> None:
    """Whatever the denylist and the tenant's labels: no denied key on the host object or in a
    host selector, each tenant key is kept or renamed to one it alone maps to, values kept."""
    deny = HostLabelDenylist.of(entries)
    translator = Translator(vcluster="dev", host_namespace="h", label_denylist=deny)
    host_keys = _host_keys(translator, labels)
    assert not [k for k in host_keys if deny.denies(k)]
    renamed = {translator.translate_label_key(k): k for k in labels}
    assert len(renamed) == len(labels)  # injective: a tenant key is never merged into another
    host_labels = translator.translate_labels(labels, namespace="shop")
    for host_key, v_key in renamed.items():
        assert host_labels[host_key] == labels[v_key]
        if deny.denies(v_key):
            assert host_key == f"vcluster.loft.sh/label-dev-x-{sha10(v_key)}"
    assert {MANAGED_BY_LABEL, NAMESPACE_LABEL} <= set(host_labels)


@given(labels=LABELS)
def test_the_default_translator_denies_the_default_list(labels: dict[str, str]) -> None:
    """A Translator made without a denylist (tests, plugins) applies the default one."""
    assert not [k for k in _host_keys(TRANSLATOR, labels) if DEFAULT_DENYLIST.denies(k)]
