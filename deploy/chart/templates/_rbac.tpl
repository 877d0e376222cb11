{{/*
What vsyncer does on the host, per enabled kind: one place, rendered into the Role.
Every write goes through syncer/hostwriter.py (create, update, delete; no patch, no
status writes on the host); informers list and watch; live reads get.
  pods                    pods: read + create/update/delete (mappers/pods.py, syncer/kit/copysync.py);
                          secrets: read + create/update of each pod's token Secret (mappers/podtokens.py,
                          removed by the garbage collector through its owner, the host pod)
  services, endpoints,
  configmaps, secrets,
  persistentvolumeclaims  read + create/update/delete (mappers/services.py, syncer/kit/copysync.py)
  events                  read only: host events flow up (mappers/events.py)
  (with pods)             serviceaccounts: get of the workload account, which the chart
                          creates (mappers/workloadsa.py)
  (owner anchor)          services: get of the anchor Service (syncer/owneranchor.py)
  (leader election)       leases: get/create/update of its one Lease (syncer/leader.py)
  (kubelet API)           pods/log get; pods/exec, attach, portforward create and get (a
                          WebSocket upgrade is a GET, authorized as create too) (syncer/kubelet/)
  (isolation)             resourcequotas, limitranges, networkpolicies: read + create/update;
                          the host Namespace: read + patch of that one (syncer/isolation.py)
Result: a dict resource -> sorted verbs.
*/}}
{{- define "vsyncer.hostRules" -}}
{{- $read := list "get" "list" "watch" -}}
{{- $write := list "get" "list" "watch" "create" "update" "delete" -}}
{{- $rules := dict -}}
{{- $root := . -}}
{{- if include "vsyncer.kindEnabled" (dict "root" $root "kind" "pods") -}}
{{- $_ := set $rules "pods" (concat (get $rules "pods" | default list) $write) -}}
{{- $_ := set $rules "secrets" (concat (get $rules "secrets" | default list) (list "get" "list" "watch" "create" "update")) -}}
{{- end -}}
{{- range $kind := list "services" "endpoints" "configmaps" "secrets" "persistentvolumeclaims" -}}
{{- if include "vsyncer.kindEnabled" (dict "root" $root "kind" $kind) -}}
{{- $_ := set $rules $kind (concat (get $rules $kind | default list) $write) -}}
{{- end -}}
{{- end -}}
{{- if include "vsyncer.kindEnabled" (dict "root" $root "kind" "events") -}}
{{- $_ := set $rules "events" (concat (get $rules "events" | default list) $read) -}}
{{- end -}}
{{- if .Values.vsyncer.setOwner -}}
{{- $_ := set $rules "services" (concat (get $rules "services" | default list) (list "get")) -}}
{{- end -}}
{{- if and .Values.vsyncer.kubelet.enabled (include "vsyncer.kindEnabled" (dict "root" $root "kind" "pods")) -}}
{{- $_ := set $rules "pods/log" (list "get") -}}
{{- range $sub := list "pods/exec" "pods/attach" "pods/portforward" -}}
{{- $_ := set $rules $sub (list "create" "get") -}}
{{- end -}}
{{- end -}}
{{- if .Values.vsyncer.isolation.enabled -}}
{{- range $kind := list "resourcequotas" "limitranges" -}}
{{- $_ := set $rules $kind (concat (get $rules $kind | default list) (list "get" "list" "watch" "create" "update")) -}}
{{- end -}}
{{- end -}}
{{- $out := dict -}}
{{- range $resource, $verbs := $rules -}}
{{- $_ := set $out $resource (sortAlpha (uniq $verbs)) -}}
{{- end -}}
{{- toJson $out -}}
{{- end -}}
