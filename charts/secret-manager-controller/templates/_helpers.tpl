{{/*
Names and labels. The settings ConfigMap and the leader-election Lease have fixed names because the
controller looks them up by name in its own namespace (POD_NAMESPACE, the release namespace).
*/}}
{{- define "smc.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "smc.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "smc.settingsConfigMap" -}}secret-manager-controller-config{{- end -}}
{{- /* One Lease per shard (src/controller/leader-election.ts leaseNameFor): -<shard_key> when set. */ -}}
{{- define "smc.leaseName" -}}secret-manager-controller-leader{{- with .Values.settings.shard_key }}-{{ . }}{{- end -}}{{- end -}}

{{- define "smc.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "smc.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "smc.selectorLabels" -}}
app.kubernetes.io/name: {{ include "smc.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "smc.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "smc.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* The image reference: repository@digest, else repository:tag (tag defaults to appVersion). */}}
{{- define "smc.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/* metrics_port as an integer (the container port, probes and Service follow it). */}}
{{- define "smc.metricsPort" -}}
{{- $p := toString (index .Values.settings "metrics_port" | default "5000") -}}
{{- if not (regexMatch "^[0-9]+$" $p) -}}
{{- fail (printf "settings.metrics_port must be a port number, got %q" $p) -}}
{{- end -}}
{{- $p -}}
{{- end -}}

{{/* Checks on value combinations that would render a broken install. */}}
{{- define "smc.validate" -}}
{{- if and (gt (int .Values.replicas) 1) (not .Values.leaderElection.enabled) -}}
{{- fail "replicas > 1 needs leaderElection.enabled: true (otherwise every replica writes)" -}}
{{- end -}}
{{- if hasKey .Values.settings "watch_namespaces" -}}
{{- fail "set watchNamespaces (a list), not settings.watch_namespaces" -}}
{{- end -}}
{{- if and .Values.rbac.create (not .Values.rbac.clusterWide) (empty .Values.watchNamespaces) -}}
{{- fail "rbac.clusterWide: false binds the ClusterRole per namespace: list them in watchNamespaces" -}}
{{- end -}}
{{- end -}}
