{{/*
What vsyncer does on the host, per enabled kind: one place, rendered into the Role and the
ClusterRole. Every write goes through syncer/hostwriter.py (create, update, delete; no patch,
no status writes on the host); informers list and watch; live reads get.
  pods                    pods: read + create/update/delete (mappers/pods.py, syncer/kit/copysync.py);
                          secrets: read + create/update of each pod's token Secret (mappers/podtokens.py,
                          removed by the garbage collector through its owner, the host pod);
                          configmaps, persistentvolumeclaims: list/watch, the lookup of the host
                          names pods reference (syncer/hostlookup.py)
  services, endpoints,
  configmaps, secrets,
  persistentvolumeclaims,
  networkpolicies, ingresses,
  poddisruptionbudgets,
  serviceaccounts         read + create/update/delete (mappers/*.py, syncer/kit/copysync.py)
  events                  read only: host events flow up (mappers/events.py)
  (with pods)             serviceaccounts: get of the workload account, which the chart
                          creates (mappers/workloadsa.py) - in rbac.yaml, by name
  (owner anchor)          services: get of the anchor Service (syncer/owneranchor.py)
  (leader election)       leases: get/create/update of its one Lease (syncer/leader.py) - rbac.yaml
  (kubelet API)           pods/log get; pods/exec, attach, portforward create and get (a
                          WebSocket upgrade is a GET, authorized as create too) (syncer/kubelet/)
  (isolation)             resourcequotas, limitranges, networkpolicies: read + create/update;
                          the host Namespace: read + patch of that one (syncer/isolation.py)
  custom resources        toHost: read + create/update/delete; fromHost: read, cluster-wide;
                          their CRDs: read, cluster-wide (vsyncer runs that kind with them)
  priorityclassesToHost   priorityclasses: read + create/update/delete, cluster-wide (the
                          tenant's classes, mappers/priorityclasses_tohost.py)
Cluster-wide: nodes, storageclasses, ingressclasses, runtimeclasses, priorityclasses,
customresourcedefinitions: read (fake nodes and the fromHost copies, mappers/nodes.py,
mappers/*classes.py, mappers/customresourcedefinitions.py).
Result: JSON {"namespaced": {"group:resource": [verbs]}, "cluster": {...}}.
*/}}
{{- define "vsyncer.hostRules" -}}
{{- $read := list "get" "list" "watch" -}}
{{- $write := list "get" "list" "watch" "create" "update" "delete" -}}
{{- $keep := list "get" "list" "watch" "create" "update" -}}
{{- $ns := dict -}}
{{- $cluster := dict -}}
{{- $root := . -}}
{{- $writers := dict "pods" ":pods" "services" ":services" "endpoints" ":endpoints" "configmaps" ":configmaps" "secrets" ":secrets" "persistentvolumeclaims" ":persistentvolumeclaims" "networkpolicies.networking.k8s.io" "networking.k8s.io:networkpolicies" "ingresses.networking.k8s.io" "networking.k8s.io:ingresses" "poddisruptionbudgets.policy" "policy:poddisruptionbudgets" "serviceaccounts" ":serviceaccounts" -}}
{{- $readers := dict "nodes" ":nodes" "storageclasses.storage.k8s.io" "storage.k8s.io:storageclasses" "ingressclasses.networking.k8s.io" "networking.k8s.io:ingressclasses" "runtimeclasses.node.k8s.io" "node.k8s.io:runtimeclasses" "priorityclasses.scheduling.k8s.io" "scheduling.k8s.io:priorityclasses" "customresourcedefinitions.apiextensions.k8s.io" "apiextensions.k8s.io:customresourcedefinitions" -}}
{{- range $kind, $key := $writers -}}
{{- if include "vsyncer.kindEnabled" (dict "root" $root "kind" $kind) -}}
{{- $_ := set $ns $key (concat (get $ns $key | default list) $write) -}}
{{- end -}}
{{- end -}}
{{- range $kind, $key := $readers -}}
{{- if include "vsyncer.kindEnabled" (dict "root" $root "kind" $kind) -}}
{{- $_ := set $cluster $key (concat (get $cluster $key | default list) $read) -}}
{{- end -}}
{{- end -}}
{{- if include "vsyncer.kindEnabled" (dict "root" $root "kind" "pods") -}}
{{- $_ := set $ns ":secrets" (concat (get $ns ":secrets" | default list) $keep) -}}
{{- range $key := list ":configmaps" ":persistentvolumeclaims" -}}
{{- $_ := set $ns $key (concat (get $ns $key | default list) (list "list" "watch")) -}}
{{- end -}}
{{- if .Values.vsyncer.kubelet.enabled -}}
{{- $_ := set $ns ":pods/log" (list "get") -}}
{{- range $sub := list ":pods/exec" ":pods/attach" ":pods/portforward" -}}
{{- $_ := set $ns $sub (list "create" "get") -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if dig "priorityclassesToHost" "enabled" false .Values.sync -}}
{{- $_ := set $cluster "scheduling.k8s.io:priorityclasses" (concat (get $cluster "scheduling.k8s.io:priorityclasses" | default list) $write) -}}
{{- end -}}
{{- if include "vsyncer.kindEnabled" (dict "root" $root "kind" "events") -}}
{{- $_ := set $ns ":events" (concat (get $ns ":events" | default list) $read) -}}
{{- end -}}
{{- if .Values.vsyncer.setOwner -}}
{{- $_ := set $ns ":services" (concat (get $ns ":services" | default list) (list "get")) -}}
{{- end -}}
{{- if .Values.vsyncer.isolation.enabled -}}
{{- range $key := list ":resourcequotas" ":limitranges" "networking.k8s.io:networkpolicies" -}}
{{- $_ := set $ns $key (concat (get $ns $key | default list) $keep) -}}
{{- end -}}
{{- end -}}
{{- range $entry := .Values.sync.customResources -}}
{{- $_ := set $cluster "apiextensions.k8s.io:customresourcedefinitions" (concat (get $cluster "apiextensions.k8s.io:customresourcedefinitions" | default list) $read) -}}
{{- $plural := regexReplaceAll "\\..*$" $entry.resource "" -}}
{{- $key := printf "%s:%s" (trimPrefix (printf "%s." $plural) $entry.resource) $plural -}}
{{- if eq $entry.direction "fromHost" -}}
{{- $_ := set $cluster $key (concat (get $cluster $key | default list) $read) -}}
{{- else -}}
{{- $_ := set $ns $key (concat (get $ns $key | default list) $write) -}}
{{- end -}}
{{- end -}}
{{- $out := dict "namespaced" dict "cluster" dict -}}
{{- range $key, $verbs := $ns -}}
{{- $_ := set $out.namespaced $key (sortAlpha (uniq $verbs)) -}}
{{- end -}}
{{- range $key, $verbs := $cluster -}}
{{- $_ := set $out.cluster $key (sortAlpha (uniq $verbs)) -}}
{{- end -}}
{{- toJson $out -}}
{{- end -}}

{{/* One rule per "group:resource" key of a rules dict. */}}
{{- define "vsyncer.ruleList" -}}
{{- range $key := keys . | sortAlpha }}
{{- $parts := splitList ":" $key }}
- apiGroups: [{{ index $parts 0 | quote }}]
  resources: [{{ index $parts 1 }}]
  verbs: {{ get $ $key | toJson }}
{{- end }}
{{- end -}}
