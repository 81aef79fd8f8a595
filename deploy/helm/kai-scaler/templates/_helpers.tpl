{{/* The chart's name, overridable. */}}
{{- define "kai-scaler.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The full name of the release's objects: the release name when it already holds the chart's
name ("helm install kai-scaler ..." gives kai-scaler), else <release>-<name>.
*/}}
{{- define "kai-scaler.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "kai-scaler.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Labels of every object, next to its selector labels (which carry the instance: not repeated
here, a key given twice is invalid YAML to strict parsers).
*/}}
{{- define "kai-scaler.labels" -}}
helm.sh/chart: {{ include "kai-scaler.chart" . }}
app.kubernetes.io/version: {{ include "kai-scaler.tag" . | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: kai
{{- end }}

{{/*
Labels selecting kai-scaler's pods. app.kubernetes.io/name is also the ServiceMonitor's
jobLabel: the scrape job is "kai-scaler" whatever the release is called, which the alert
rules select on (job="kai-scaler").
*/}}
{{- define "kai-scaler.selectorLabels" -}}
app.kubernetes.io/name: {{ include "kai-scaler.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: server
{{- end }}

{{- define "kai-scaler.redisSelectorLabels" -}}
app.kubernetes.io/name: {{ include "kai-scaler.name" . }}-redis
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: redis
{{- end }}

{{- define "kai-scaler.tag" -}}
{{- default .Chart.AppVersion .Values.image.tag }}
{{- end }}

{{- define "kai-scaler.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "kai-scaler.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "kai-scaler.apiSecretName" -}}
{{- default (printf "%s-api" (include "kai-scaler.fullname" .)) .Values.apiToken.existingSecret }}
{{- end }}

{{- define "kai-scaler.redisSecretName" -}}
{{- default (printf "%s-redis" (include "kai-scaler.fullname" .)) .Values.redis.bundled.passwordSecret.name }}
{{- end }}

{{/* Whether kai-scaler uses Redis (bundled or external) instead of the embedded store. */}}
{{- define "kai-scaler.usesRedis" -}}
{{- if or .Values.redis.bundled.enabled .Values.redis.external.url }}true{{ end }}
{{- end }}

{{/*
The managed namespaces: those of "services", sorted and deduplicated as
"kai-scaler rbac" does.
*/}}
{{- define "kai-scaler.managedNamespaces" -}}
{{- $ns := list }}
{{- range .Values.services }}
{{- $ns = append $ns (required "every entry of services needs a namespace" .namespace) }}
{{- end }}
{{- $ns | uniq | sortAlpha | toJson }}
{{- end }}

{{/*
The rules kai-scaler needs where it manages services; the same as ManagedRules in
actuator/kube/rbac.go (the chart's tests compare them).
*/}}
{{- define "kai-scaler.managedRules" -}}
- apiGroups: [autoscaling]
  resources: [horizontalpodautoscalers]
  verbs: [patch]
- apiGroups: [apps]
  resources: [deployments, statefulsets]
  verbs: [get, list, watch, patch]
- apiGroups: [apps]
  resources: [deployments/scale, statefulsets/scale]
  verbs: [get, update, patch]
- apiGroups: [events.k8s.io]
  resources: [events]
  verbs: [create, patch]
- apiGroups: [""]
  resources: [pods]
  verbs: [list]
{{- end }}

{{/*
A Secret value kept across upgrades: the live Secret's (lookup), else a new random one.
Arguments: (list $ctx secretName key length).
*/}}
{{- define "kai-scaler.persistentRandom" -}}
{{- $ctx := index . 0 }}
{{- $name := index . 1 }}
{{- $key := index . 2 }}
{{- $len := index . 3 }}
{{- $live := lookup "v1" "Secret" $ctx.Release.Namespace $name }}
{{- if and $live $live.data (hasKey $live.data $key) }}
{{- index $live.data $key }}
{{- else }}
{{- randAlphaNum $len | b64enc }}
{{- end }}
{{- end }}
