"""The kubelet API of the fake virtual nodes: logs, exec, attach and port-forward.

Each fake virtual Node advertises this syncer as its kubelet
(:mod:`syncer.kubelet.address`), so the *virtual* kube-apiserver itself calls
it for ``pods/log``, ``pods/exec``, ``pods/attach`` and ``pods/portforward``
after doing the tenant's authentication and authorization (vsyncer never
re-implements them).  The server (:mod:`syncer.kubelet.server`, started by
:mod:`syncer.kubelet.startup` from the ``VSYNCER_KUBELET_*`` settings of
:mod:`syncer.kubelet.settings`) accepts only clients whose certificate the
kubelet-client CA signed (:mod:`syncer.kubelet.tls`), resolves the virtual pod
to its host twin through the sync path's cache and ownership rule
(:mod:`syncer.kubelet.resolve`), maps the kubelet's query parameters to the
API's (:mod:`syncer.kubelet.params`) and forwards the request to the host API
server with the host kubeconfig's credentials (:mod:`syncer.kubelet.upstream`):
logs as a stream (:mod:`syncer.kubelet.logs`), the rest as an upgraded
connection relayed byte for byte (:mod:`syncer.kubelet.upgrade`,
:mod:`syncer.kubelet.splice`).  Every request is logged and counted
(:mod:`syncer.kubelet.outcome`, :mod:`syncer.kubelet.metrics`).
"""
