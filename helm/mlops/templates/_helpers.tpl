{{/*
Names, labels and the per-service pieces shared by the templates.
*/}}

{{- define "mlops.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* "<release>-mlops", or the release name when it already contains the chart name. */}}
{{- define "mlops.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "mlops.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "mlops.labels" -}}
helm.sh/chart: {{ include "mlops.chart" . }}
app.kubernetes.io/name: {{ include "mlops.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/part-of: mlops
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* Selector of the pods of one service. Call with (dict "root" $ "name" "gateway"). */}}
{{- define "mlops.selectorLabels" -}}
app.kubernetes.io/name: {{ include "mlops.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .name }}
{{- end -}}

{{/* Labels of one service's objects. Call with (dict "root" $ "name" "gateway"). */}}
{{- define "mlops.componentLabels" -}}
{{ include "mlops.labels" .root }}
app.kubernetes.io/component: {{ .name }}
{{- end -}}

{{/* Resource name of one service's objects: "<fullname>-<service>". */}}
{{- define "mlops.serviceFullname" -}}
{{- printf "%s-%s" (include "mlops.fullname" .root) .name -}}
{{- end -}}

{{- define "mlops.image" -}}
{{- printf "%s/mlops-%s:%s" .root.Values.image.repository .name (default .root.Chart.AppVersion .root.Values.image.tag) -}}
{{- end -}}

{{/*
The architecture's call edges: the peers each service calls (gRPC client
side), from the contracts in proto/mlops/<area>/v1:
  features   -> ingestion (source schemas, ReadDatasetVersion, WatchDatasetVersions)
  training   -> ingestion (dataset versions), features (historical retrieval),
                registry (RegisterModelVersion)
  registry   -> ingestion, features, training, monitoring (ExportModelCard lineage/status)
  gateway    -> features (online lookup), registry (WatchDeployments,
                RecordDeploymentEvent), monitoring (LogPredictions),
                ingestion (batch scoring output)
  monitoring -> ingestion (profiles), registry (versions, promotions),
                training (retrain triggers), gateway (rollback)
  ingestion  -> none
Each service gets MLOPS_<PEER>_ADDR for its peers; the NetworkPolicies allow
exactly these edges. Output: JSON object service -> list of peers.
*/}}
{{- define "mlops.peers" -}}
{{- dict
    "ingestion" (list)
    "features" (list "ingestion")
    "training" (list "ingestion" "features" "registry")
    "registry" (list "ingestion" "features" "training" "monitoring")
    "gateway" (list "ingestion" "features" "registry" "monitoring")
    "monitoring" (list "ingestion" "features" "training" "registry" "gateway")
  | toJson -}}
{{- end -}}

{{/* The services that call the given one. Call with (dict "root" $ "name" "features"); JSON list. */}}
{{- define "mlops.callers" -}}
{{- $callers := list -}}
{{- range $caller, $peers := include "mlops.peers" .root | fromJson -}}
{{- if has $.name $peers -}}
{{- $callers = append $callers $caller -}}
{{- end -}}
{{- end -}}
{{- $callers | toJson -}}
{{- end -}}

{{/* Fails rendering with a clear message when a required Secret name is missing. */}}
{{- define "mlops.validate" -}}
{{- $_ := required "database.existingSecret is required: the name of a Secret in the release namespace whose key database.secretKey (default \"database-url\") holds the PostgreSQL DSN, e.g. kubectl create secret generic mlops-database --from-literal=database-url='postgresql://user:pass@host:5432/mlops'" .Values.database.existingSecret -}}
{{- if .Values.auth.enabled -}}
{{- $_ := required "auth.existingSecret is required when auth.enabled: the name of a Secret with the token file (key auth.tokensKey) and the peer token (key auth.peerTokenKey); set auth.enabled=false only for experiments" .Values.auth.existingSecret -}}
{{- end -}}
{{- if .Values.tls.enabled -}}
{{- $_ := required "tls.existingSecret is required when tls.enabled: the name of a kubernetes.io/tls Secret with tls.crt, tls.key and ca.crt" .Values.tls.existingSecret -}}
{{- end -}}
{{- end -}}

{{/*
Environment of one service's container (the binaries read MLOPS_<FLAG>).
Call with (dict "root" $ "name" "gateway" "svc" $svc "peers" true|false).
*/}}
{{- define "mlops.env" -}}
{{- $root := .root -}}
{{- $values := $root.Values -}}
- name: MLOPS_GRPC_PORT
  value: {{ .svc.grpcPort | quote }}
- name: MLOPS_METRICS_PORT
  value: {{ .svc.metricsPort | quote }}
- name: MLOPS_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ $values.database.existingSecret }}
      key: {{ $values.database.secretKey }}
- name: MLOPS_PG_POOL_SIZE
  value: {{ $values.database.poolSize | quote }}
- name: MLOPS_LOG_LEVEL
  value: {{ $values.logLevel | quote }}
- name: MLOPS_SHUTDOWN_GRACE_SECONDS
  value: {{ $values.shutdownGraceSeconds | quote }}
{{- range $flag, $value := .svc.flags }}
- name: MLOPS_{{ upper $flag }}
  value: {{ printf "%d" (int64 $value) | quote }}
{{- end }}
{{- $peers := index (include "mlops.peers" $root | fromJson) .name }}
{{- if $values.auth.enabled }}
- name: MLOPS_AUTH_TOKENS_FILE
  value: /etc/mlops/auth/tokens
{{- if and .peers $peers }}
- name: MLOPS_PEER_TOKEN_FILE
  value: /etc/mlops/auth/peer-token
{{- end }}
{{- else }}
- name: MLOPS_AUTH_DISABLED
  value: "true"
{{- end }}
{{- if $values.tls.enabled }}
- name: MLOPS_TLS_CERT_FILE
  value: /etc/mlops/tls/tls.crt
- name: MLOPS_TLS_KEY_FILE
  value: /etc/mlops/tls/tls.key
{{- if $values.tls.clientAuth }}
- name: MLOPS_TLS_CLIENT_CA_FILE
  value: /etc/mlops/tls/ca.crt
{{- end }}
{{- if and .peers $peers }}
- name: MLOPS_PEER_CA_FILE
  value: /etc/mlops/tls/ca.crt
{{- end }}
{{- end }}
{{- if .peers }}
{{- range $peer := $peers }}
- name: MLOPS_{{ upper $peer }}_ADDR
  value: {{ printf "%s:%d" (include "mlops.serviceFullname" (dict "root" $root "name" $peer)) (int (index $values.services $peer).grpcPort) | quote }}
{{- end }}
{{- end }}
{{- with .svc.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Volumes holding the secrets and /tmp, and on a Deployment ("workload" true) the
   service's extraVolumes. Call with (dict "root" $ "name" ... "svc" ... "peers" bool "workload" bool). */}}
{{- define "mlops.volumes" -}}
{{- $values := .root.Values -}}
{{- $peers := index (include "mlops.peers" .root | fromJson) .name -}}
- name: tmp
  emptyDir:
    sizeLimit: {{ $values.tmpSizeLimit }}
{{- if $values.auth.enabled }}
- name: auth
  secret:
    secretName: {{ $values.auth.existingSecret }}
    defaultMode: 0440
    items:
      - key: {{ $values.auth.tokensKey }}
        path: tokens
{{- if and .peers $peers }}
      - key: {{ $values.auth.peerTokenKey }}
        path: peer-token
{{- end }}
{{- end }}
{{- if $values.tls.enabled }}
- name: tls
  secret:
    secretName: {{ $values.tls.existingSecret }}
    defaultMode: 0440
{{- end }}
{{- if .workload }}
{{- with .svc.extraVolumes }}
{{ toYaml . }}
{{- end }}
{{- end }}
{{- end -}}

{{- define "mlops.volumeMounts" -}}
{{- $values := .root.Values -}}
- name: tmp
  mountPath: /tmp
{{- if $values.auth.enabled }}
- name: auth
  mountPath: /etc/mlops/auth
  readOnly: true
{{- end }}
{{- if $values.tls.enabled }}
- name: tls
  mountPath: /etc/mlops/tls
  readOnly: true
{{- end }}
{{- if .workload }}
{{- with .svc.extraVolumeMounts }}
{{ toYaml . }}
{{- end }}
{{- end }}
{{- end -}}

{{/* nodeSelector, tolerations (and affinity) of one service's pods: its own, else the global ones. */}}
{{- define "mlops.placement" -}}
{{- $values := .root.Values -}}
{{- with (default $values.nodeSelector .svc.nodeSelector) }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with (default $values.tolerations .svc.tolerations) }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- if .affinity }}
{{- with (default $values.affinity .svc.affinity) }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}
{{- end -}}
