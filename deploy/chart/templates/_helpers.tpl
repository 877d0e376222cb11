{{/* The virtual cluster's name: also the StatefulSet's and the API Service's (the owner anchor). */}}
{{- define "vsyncer.name" -}}
{{- $name := .Values.vclusterName | default .Release.Name -}}
{{- if not (regexMatch "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$" $name) -}}
{{- fail (printf "vclusterName %q must be a DNS-1123 label" $name) -}}
{{- end -}}
{{- if gt (len $name) 52 -}}
{{- fail (printf "vclusterName %q must be at most 52 characters" $name) -}}
{{- end -}}
{{- $name -}}
{{- end -}}

{{- define "vsyncer.serviceAccount" -}}
{{- .Values.serviceAccount.name | default (printf "vc-%s" (include "vsyncer.name" .)) -}}
{{- end -}}

{{- define "vsyncer.workloadServiceAccount" -}}
{{- .Values.workloadServiceAccount.name | default (printf "vc-workload-%s" (include "vsyncer.name" .)) -}}
{{- end -}}

{{/*
Selector labels. "release" is one of the label keys the syncer rewrites on every host
object it creates from a tenant's, so no synced pod can match this selector.
*/}}
{{- define "vsyncer.selectorLabels" -}}
app.kubernetes.io/name: vsyncer
app.kubernetes.io/instance: {{ .Release.Name }}
release: {{ .Release.Name }}
{{- end -}}

{{- define "vsyncer.labels" -}}
{{ include "vsyncer.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "vsyncer.replicas" -}}
{{- $n := int .Values.replicas -}}
{{- if lt $n 1 -}}{{- fail "replicas must be at least 1" -}}{{- end -}}
{{- if and (gt $n 1) (eq .Values.controlPlane.distro "k3s") -}}
{{- fail "controlPlane.distro k3s runs one replica (its datastore is embedded)" -}}
{{- end -}}
{{- $n -}}
{{- end -}}

{{- define "vsyncer.leaderElect" -}}
{{- if or .Values.vsyncer.leaderElection.enabled (gt (int .Values.replicas) 1) -}}true{{- else -}}false{{- end -}}
{{- end -}}

{{/*
The built-in kinds switched on (values key: the plural), in VSYNCER_KINDS order, then the
plugin kinds.
*/}}
{{- define "vsyncer.kinds" -}}
{{- $kinds := list -}}
{{- range $kind := list "pods" "services" "endpoints" "configmaps" "secrets" "persistentvolumeclaims" "events" "nodes" "networkpolicies.networking.k8s.io" "ingresses.networking.k8s.io" "poddisruptionbudgets.policy" "serviceaccounts" "storageclasses.storage.k8s.io" "ingressclasses.networking.k8s.io" "runtimeclasses.node.k8s.io" "priorityclasses.scheduling.k8s.io" "customresourcedefinitions.apiextensions.k8s.io" -}}
{{- if dig (regexReplaceAll "\\..*$" $kind "") "enabled" false $.Values.sync -}}{{- $kinds = append $kinds $kind -}}{{- end -}}
{{- end -}}
{{- $kinds = concat $kinds $.Values.sync.extraKinds -}}
{{- if not $kinds -}}{{- fail "sync: enable at least one kind" -}}{{- end -}}
{{- join "," $kinds -}}
{{- end -}}

{{- define "vsyncer.kindEnabled" -}}
{{- if has .kind (splitList "," (include "vsyncer.kinds" .root)) -}}true{{- end -}}
{{- end -}}

{{- define "vsyncer.virtualKubeconfig" -}}
{{- if eq .Values.controlPlane.distro "k3s" -}}/kubeconfig/admin.kubeconfig{{- else -}}/etc/vsyncer/virtual/admin.kubeconfig{{- end -}}
{{- end -}}

{{/* The CA of the virtual API server's kubelet client certificate, as vsyncer sees it. */}}
{{- define "vsyncer.kubeletClientCA" -}}
{{- if eq .Values.controlPlane.distro "k3s" -}}/etc/vsyncer/kubelet-client/ca.crt{{- else -}}/etc/vsyncer/virtual/kubelet-client-ca.crt{{- end -}}
{{- end -}}

{{/*
k3s: the Secret (kubernetes.io/tls, with ca.crt) of the API server's kubelet client
certificate: the one given, or the one the chart generates.
*/}}
{{- define "vsyncer.k3sKubeletClientSecret" -}}
{{- .Values.controlPlane.k3s.kubeletClient.secretName | default (printf "%s-kubelet-client" (include "vsyncer.name" .)) -}}
{{- end -}}
