"""Pod labels the host label denylist denies: renamed on the host pod, kept unchanged on the
virtual pod by the three-way merge, and never merged up from the host."""

from __future__ import annotations

from mappers.metamerge import label_merges, merge_pod_metadata
from mappers.podspec import translate_pod
from syncer.api import Translator
from syncer.hostlabels import HostLabelDenylist
from tests.mappers.fakes import T
from tests.mappers.test_metamerge import ENV, p_pod, v_pod

LABELS = {"app": "web", "grafana_dashboard": "1", "owner": "team-a"}


def test_the_host_pod_carries_denied_keys_renamed() -> None:
    """No denied key on the host pod; its value under the renamed key; others as they are."""
    labels = translate_pod(v_pod(LABELS), translator=T, env=ENV)["metadata"]["labels"]
    assert "grafana_dashboard" not in labels
    assert "owner" not in labels
    assert labels[T.translate_label_key("grafana_dashboard")] == "1"
    assert labels[T.translate_label_key("owner")] == "team-a"
    assert labels["app"] == "web"


def test_the_merge_keeps_the_virtual_pods_denied_labels() -> None:
    """The host pod has only the renamed keys: the virtual pod's denied labels are not taken
    for host-side deletions, and merging again changes nothing."""
    p = p_pod(last=LABELS, host=LABELS)
    result = merge_pod_metadata(T, v_pod(LABELS), p)
    assert result.labels == LABELS
    again = merge_pod_metadata(
        T, v_pod(result.labels), translate_pod(v_pod(result.labels), translator=T, env=ENV, p_pod=p)
    )
    assert again.labels == LABELS


def test_a_denied_key_set_on_the_host_pod_does_not_flow_up() -> None:
    """Someone sets grafana_dashboard itself on the host pod: not merged into the virtual
    pod (it could not go back down as it is), while an ordinary host label still flows up."""
    p = p_pod(last={"app": "web"}, host={"app": "web"})
    p["metadata"]["labels"].update({"grafana_dashboard": "host", "added": "yes"})
    result = merge_pod_metadata(T, v_pod({"app": "web"}), p)
    assert result.labels == {"app": "web", "added": "yes"}


def test_the_merge_follows_the_translators_denylist() -> None:
    """A key denied by a configured list takes no part; under the default it does."""
    custom = Translator(
        vcluster=T.vcluster,
        host_namespace=T.host_namespace,
        label_denylist=HostLabelDenylist.of(["team"]),
    )
    assert not label_merges(custom, "team")
    assert label_merges(T, "team")
    assert not label_merges(T, "grafana_dashboard")
    assert label_merges(custom, "grafana_dashboard")
