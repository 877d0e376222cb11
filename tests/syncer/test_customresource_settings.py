"""VSYNCER_CUSTOM_RESOURCES and VSYNCER_FROM_HOST_LABEL_SELECTOR: accepted forms (JSON in the
environment, a YAML list in the file) and one-line errors naming the setting."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from syncer.customresource_settings import check_label_selector
from syncer.customresources import FieldPatch
from syncer.errors import ConfigError
from syncer.resources import Resource
from syncer.settings import load_settings

BASE = {"VSYNCER_VCLUSTER_NAME": "vc", "VSYNCER_HOST_NAMESPACE": "vc-ns"}
ENTRY = {
    "resource": "widgets.example.com",
    "version": "v1",
    "kind": "Widget",
    "direction": "toHost",
}


def test_a_json_entry_in_the_environment() -> None:
    """One toHost entry: a namespaced Resource of that group, version, plural and kind."""
    s = load_settings(env={**BASE, "VSYNCER_CUSTOM_RESOURCES": json.dumps([ENTRY])})
    (custom,) = s.custom_resource_list()
    assert custom.resource == Resource("example.com", "v1", "widgets", "Widget")
    assert custom.direction == "toHost"
    assert custom.name == "widgets.example.com"


def test_patches_of_a_to_host_entry() -> None:
    """patches become FieldPatch values, in order."""
    patches = [
        {"path": "spec.selector", "type": "labelSelector"},
        {"path": "spec.targets[*].secretName", "type": "rewriteName"},
    ]
    value = json.dumps([{**ENTRY, "patches": patches}])
    (custom,) = load_settings(
        env={**BASE, "VSYNCER_CUSTOM_RESOURCES": value}
    ).custom_resource_list()
    assert [(p.path, p.type) for p in custom.patches] == [
        ("spec.selector", "labelSelector"),
        ("spec.targets[*].secretName", "rewriteName"),
    ]


def test_a_yaml_list_in_the_settings_file(tmp_path: Path) -> None:
    """The file form, with a cluster-scoped fromHost entry and its selector."""
    path = tmp_path / "vsyncer.yaml"
    path.write_text(
        "vcluster_name: vc\nhost_namespace: vc-ns\ncustom_resources:\n"
        "  - {resource: gadgets.example.com, version: v2, kind: Gadget, scope: Cluster,\n"
        "     direction: fromHost, labelSelector: 'shared in (yes)'}\n"
    )
    (custom,) = load_settings(config_file=path, env={}).custom_resource_list()
    assert not custom.resource.namespaced
    assert custom.label_selector == "shared in (yes)"


def test_a_reference_patch_names_its_kind() -> None:
    """``{path, type: reference, kind}`` reaches the mapper as a FieldPatch with that kind."""
    patch = {"path": "spec.targets[*].secretRef.name", "type": "reference", "kind": "secrets"}
    value = json.dumps([{**ENTRY, "patches": [patch]}])
    (custom,) = load_settings(
        env={**BASE, "VSYNCER_CUSTOM_RESOURCES": value}
    ).custom_resource_list()
    assert custom.patches == (
        FieldPatch(path="spec.targets[*].secretRef.name", type="reference", kind="secrets"),
    )


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("[{", "JSON"),
        (json.dumps([{**ENTRY, "resource": "widgets"}]), "plural.group"),
        (json.dumps([{**ENTRY, "kind": "widget"}]), "Kind"),
        (json.dumps([{**ENTRY, "scope": "Cluster"}]), "namespaced"),
        (json.dumps([{**ENTRY, "direction": "fromHost"}]), "cluster-scoped"),
        (json.dumps([{**ENTRY, "labelSelector": "a=b"}]), "fromHost only"),
        (json.dumps([ENTRY, ENTRY]), "more than once"),
        (json.dumps([{**ENTRY, "patch": []}]), "'patch'"),
        (
            json.dumps([{**ENTRY, "patches": [{"path": "metadata.name", "type": "rewriteName"}]}]),
            "path",
        ),
        (json.dumps([{**ENTRY, "patches": [{"path": "spec..x", "type": "rewriteName"}]}]), "path"),
        (
            json.dumps([{**ENTRY, "patches": [{"path": "spec.x", "type": "reference"}]}]),
            "names its kind",
        ),
        (
            json.dumps([{**ENTRY, "patches": [{"path": "spec.x", "type": "remove"}]}]),
            "reference",
        ),
        (
            json.dumps(
                [
                    {
                        **ENTRY,
                        "patches": [{"path": "spec.x", "type": "rewriteName", "kind": "secrets"}],
                    }
                ]
            ),
            "type reference only",
        ),
        (
            json.dumps(
                [{**ENTRY, "patches": [{"path": "spec.x", "type": "reference", "kind": "nodes"}]}]
            ),
            "secrets",
        ),
    ],
)
def test_bad_entries_are_one_line_naming_the_setting(value: str, says: str) -> None:
    """Each mistake is a ConfigError of VSYNCER_CUSTOM_RESOURCES with a one-line reason."""
    with pytest.raises(ConfigError) as caught:
        load_settings(env={**BASE, "VSYNCER_CUSTOM_RESOURCES": value})
    assert caught.value.setting == "VSYNCER_CUSTOM_RESOURCES"
    assert says in str(caught.value)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    "selector", ["a=b", "a==b,c!=d", "!legacy", "tier", "env in (prod, staging),x notin (y)"]
)
def test_label_selectors_accepted(selector: str) -> None:
    s = load_settings(env={**BASE, "VSYNCER_FROM_HOST_LABEL_SELECTOR": selector})
    assert s.from_host_label_selector == selector


@pytest.mark.parametrize("selector", ["a=b=c", "in (x)", "a in x", ",", "a=b,", "(a)"])
def test_bad_label_selectors_name_the_setting(selector: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(env={**BASE, "VSYNCER_FROM_HOST_LABEL_SELECTOR": selector})
    assert caught.value.setting == "VSYNCER_FROM_HOST_LABEL_SELECTOR"


_key = st.from_regex(r"[a-z][a-z0-9]{0,6}", fullmatch=True)


@given(terms=st.lists(st.tuples(_key, st.sampled_from(["=", "!=", "=="]), _key), min_size=1))
def test_any_equality_selector_is_accepted(terms: list[tuple[str, str, str]]) -> None:
    """Comma-joined equality terms are always a selector."""
    selector = ",".join(k + op + v for k, op, v in terms)
    assert check_label_selector(selector) == selector
