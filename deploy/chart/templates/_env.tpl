{{/* "-" before each of a list of controller names, as a JSON array. */}}
{{- define "vsyncer.negated" -}}
{{- $out := list -}}
{{- range . }}{{ $out = append $out (printf "-%s" .) }}{{ end -}}
{{- toJson $out -}}
{{- end -}}

{{/*
vsyncer's settings (syncer/settings.py), one variable each. The host side is the pod's
service account (VSYNCER_HOST_KUBECONFIG unset: in-cluster). An empty value is unset.
*/}}
{{- define "vsyncer.env" -}}
{{- $v := .Values.vsyncer -}}
{{- $name := include "vsyncer.name" . -}}
- name: VSYNCER_VCLUSTER_NAME
  value: {{ $name | quote }}
- name: VSYNCER_HOST_NAMESPACE
  valueFrom: {fieldRef: {fieldPath: metadata.namespace}}
- name: VSYNCER_VIRTUAL_KUBECONFIG
  value: {{ include "vsyncer.virtualKubeconfig" . | quote }}
- name: VSYNCER_VIRTUAL_KUBECONFIG_WAIT
  value: {{ $v.virtualKubeconfigWait | quote }}
- name: VSYNCER_KINDS
  value: {{ include "vsyncer.kinds" . | quote }}
- name: VSYNCER_OPTIONAL_KINDS
  value: {{ join "," .Values.sync.optionalKinds | quote }}
- name: VSYNCER_FROM_HOST_LABEL_SELECTOR
  value: {{ .Values.sync.fromHostLabelSelector | quote }}
{{- $toHostClasses := dig "priorityclassesToHost" "enabled" false .Values.sync }}
{{- if and $toHostClasses (dig "priorityclasses" "enabled" false .Values.sync) }}
{{- fail "sync.priorityclassesToHost.enabled: priority classes sync one way only; turn off sync.priorityclasses.enabled (the host's classes copied up)" }}
{{- end }}
- name: VSYNCER_TO_HOST_PRIORITY_CLASSES
  value: {{ $toHostClasses | quote }}
- name: VSYNCER_CUSTOM_RESOURCES
  value: {{ ternary (toJson .Values.sync.customResources) "" (gt (len .Values.sync.customResources) 0) | quote }}
- name: VSYNCER_WORKERS
  value: {{ $v.workers | quote }}
- name: VSYNCER_HOST_QPS
  value: {{ $v.hostQPS | quote }}
- name: VSYNCER_HOST_BURST
  value: {{ $v.hostBurst | quote }}
- name: VSYNCER_VIRTUAL_QPS
  value: {{ $v.virtualQPS | quote }}
- name: VSYNCER_VIRTUAL_BURST
  value: {{ $v.virtualBurst | quote }}
- name: VSYNCER_METRICS_BIND
  value: {{ printf ":%v" $v.metricsPort | quote }}
- name: VSYNCER_PROBES_BIND
  value: {{ printf ":%v" $v.probesPort | quote }}
- name: VSYNCER_LEADER_ELECT
  value: {{ include "vsyncer.leaderElect" . | quote }}
- name: VSYNCER_LEADER_ELECTION_ID
  value: {{ $v.leaderElection.id | quote }}
- name: VSYNCER_LEASE_DURATION
  value: {{ $v.leaderElection.leaseDuration | quote }}
- name: VSYNCER_RENEW_DEADLINE
  value: {{ $v.leaderElection.renewDeadline | quote }}
- name: VSYNCER_RETRY_PERIOD
  value: {{ $v.leaderElection.retryPeriod | quote }}
- name: VSYNCER_CACHE_SYNC_TIMEOUT
  value: {{ $v.cacheSyncTimeout | quote }}
- name: VSYNCER_RECONCILE_TIMEOUT
  value: {{ $v.reconcileTimeout | quote }}
- name: VSYNCER_SHUTDOWN_GRACE
  value: {{ $v.shutdownGrace | quote }}
- name: VSYNCER_DRIFT_INTERVAL
  value: {{ $v.driftInterval | quote }}
- name: VSYNCER_LOG_FORMAT
  value: {{ $v.logging.format | quote }}
- name: VSYNCER_LOG_LEVEL
  value: {{ $v.logging.level | quote }}
- name: VSYNCER_VIRTUAL_SERVICE_HOST
  value: {{ $name | quote }}
- name: VSYNCER_VIRTUAL_SERVICE_PORT
  value: "443"
- name: VSYNCER_SET_OWNER
  value: {{ $v.setOwner | quote }}
- name: VSYNCER_OWNER_ANCHOR
  value: {{ $name | quote }}
- name: VSYNCER_POD_SECURITY_LEVEL
  value: {{ $v.podSecurity.level | quote }}
- name: VSYNCER_POD_SECURITY_ALLOW
  value: {{ join "," $v.podSecurity.allow | quote }}
- name: VSYNCER_POD_RUNTIME_CLASSES
  value: {{ join "," $v.podRuntimeClasses | quote }}
- name: VSYNCER_SERVICE_EXTERNAL_IP_CIDRS
  value: {{ join "," $v.serviceExternalIPCIDRs | quote }}
- name: VSYNCER_HOST_LABEL_DENYLIST
  value: {{ join "," $v.hostLabelDenylist | quote }}
- name: VSYNCER_INGRESS_ANNOTATIONS
  value: {{ join "," $v.ingressAnnotations | quote }}
- name: VSYNCER_SERVICE_ACCOUNT_ANNOTATIONS
  value: {{ join "," $v.serviceAccountAnnotations | quote }}
- name: VSYNCER_INGRESS_HOSTS
  value: {{ join "," $v.ingressHosts | quote }}
- name: VSYNCER_INGRESS_CLASSES
  value: {{ join "," $v.ingressClasses | quote }}
- name: VSYNCER_PDB_NO_DISRUPTION
  value: {{ $v.pdbNoDisruption | quote }}
- name: VSYNCER_HOST_SERVICE_CIDRS
  value: {{ join "," $v.hostServiceCIDRs | quote }}
- name: VSYNCER_ENDPOINTS_DENY_CIDRS
  value: {{ join "," $v.endpointsDenyCIDRs | quote }}
- name: VSYNCER_WORKLOAD_SERVICE_ACCOUNT
  value: {{ include "vsyncer.workloadServiceAccount" . | quote }}
- name: VSYNCER_DRY_RUN
  value: {{ $v.dryRun | quote }}
- name: VSYNCER_SLEEP_AFTER
  value: {{ $v.sleepAfter | quote }}
- name: VSYNCER_KUBELET_CLIENT_CA
  value: {{ ternary (include "vsyncer.kubeletClientCA" .) "" $v.kubelet.enabled | quote }}
- name: VSYNCER_KUBELET_CLIENT_NAMES
  value: {{ join "," $v.kubelet.clientNames | quote }}
- name: VSYNCER_KUBELET_MAX_STREAMS
  value: {{ $v.kubelet.maxStreams | quote }}
- name: VSYNCER_KUBELET_STREAM_IDLE_TIMEOUT
  value: {{ $v.kubelet.streamIdleTimeout | quote }}
- name: VSYNCER_KUBELET_BIND
  value: {{ printf ":%v" $v.kubelet.port | quote }}
- name: VSYNCER_KUBELET_ADDRESS
  valueFrom: {fieldRef: {fieldPath: status.podIP}}
- name: VSYNCER_KUBELET_TLS_CERT
  value: ""
- name: VSYNCER_KUBELET_TLS_KEY
  value: ""
{{- $i := $v.isolation }}
- name: VSYNCER_ISOLATION
  value: {{ $i.enabled | quote }}
- name: VSYNCER_ISOLATION_QUOTA
  value: {{ join "," $i.quota | quote }}
- name: VSYNCER_ISOLATION_LIMIT_DEFAULT
  value: {{ join "," $i.limitDefault | quote }}
- name: VSYNCER_ISOLATION_LIMIT_DEFAULT_REQUEST
  value: {{ join "," $i.limitDefaultRequest | quote }}
- name: VSYNCER_ISOLATION_NETWORK_POLICY
  value: {{ $i.networkPolicy | quote }}
- name: VSYNCER_ISOLATION_PUBLIC_EGRESS
  value: {{ $i.publicEgress | quote }}
- name: VSYNCER_ISOLATION_ALLOW_CIDRS
  value: {{ join "," $i.allowCIDRs | quote }}
- name: VSYNCER_ISOLATION_ALLOW_NAMESPACES
  value: {{ join "," $i.allowNamespaces | quote }}
- name: VSYNCER_ISOLATION_CONTROL_PLANE_LABELS
  value: {{ printf "release=%s" .Release.Name | quote }}
- name: VSYNCER_ISOLATION_LABEL_NAMESPACE
  value: {{ $i.labelNamespace | quote }}
- name: VSYNCER_ISOLATION_RESYNC
  value: {{ $i.resync | quote }}
{{- with $v.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}
