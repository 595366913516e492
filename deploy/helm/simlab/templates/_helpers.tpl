{{/* Names ------------------------------------------------------------------------------ */}}
{{- define "simlab.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "simlab.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* The simulation namespace (default: the release namespace). */}}
{{- define "simlab.simNamespace" -}}
{{- default .Release.Namespace .Values.simulations.namespace }}
{{- end }}

{{- define "simlab.runnerAccount" -}}
{{- default (printf "%s-runner" (include "simlab.fullname" .)) .Values.runner.serviceAccount.name }}
{{- end }}

{{/* Labels: call with (dict "root" $ "component" "gateway"). */}}
{{- define "simlab.selectorLabels" -}}
app.kubernetes.io/name: {{ include "simlab.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "simlab.labels" -}}
{{ include "simlab.selectorLabels" . }}
app.kubernetes.io/part-of: simlab
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" }}
{{- with .root.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Images ----------------------------------------------------------------------------- */}}
{{- define "simlab.image" -}}
{{- printf "%s:%s" .repository .tag }}
{{- end }}

{{/* Addresses -------------------------------------------------------------------------- */}}
{{- define "simlab.jobstoreHost" -}}
{{- printf "%s-jobstore" (include "simlab.fullname" .) }}
{{- end }}

{{/* The job store as the platform reaches it (same namespace). */}}
{{- define "simlab.jobstoreAddress" -}}
{{- printf "%s:%d" (include "simlab.jobstoreHost" .) (int .Values.jobstore.port) }}
{{- end }}

{{/* The job store as simulation pods reach it (another namespace): the Service's FQDN. */}}
{{- define "simlab.jobstoreWorkerAddress" -}}
{{- printf "%s.%s.svc.%s:%d" (include "simlab.jobstoreHost" .) .Release.Namespace .Values.clusterDomain (int .Values.jobstore.port) }}
{{- end }}

{{/* The Host names the gateway answers to: its Service's in-cluster names, `localhost` (kubectl
port-forward) and gateway.allowedHosts (the pod's IP is added in the pod, for the probes). */}}
{{- define "simlab.gatewayHosts" -}}
{{- $svc := printf "%s-gateway" (include "simlab.fullname" .) }}
{{- $ns := .Release.Namespace }}
{{- $hosts := list "localhost" "127.0.0.1" "::1" $svc (printf "%s.%s" $svc $ns) (printf "%s.%s.svc" $svc $ns) (printf "%s.%s.svc.%s" $svc $ns .Values.clusterDomain) }}
{{- join "," (concat $hosts .Values.gateway.allowedHosts | uniq) }}
{{- end }}

{{/* The bundled NATS's address, without credentials. */}}
{{- define "simlab.natsAddress" -}}
{{- printf "%s-nats.%s.svc.%s:4222" (include "simlab.fullname" .) .Release.Namespace .Values.clusterDomain }}
{{- end }}

{{- define "simlab.s3Endpoint" -}}
{{- if .Values.minio.enabled }}
{{- printf "http://%s-minio.%s.svc.%s:9000" (include "simlab.fullname" .) .Release.Namespace .Values.clusterDomain }}
{{- else }}
{{- required "objectStore.external.endpoint is required when minio.enabled is false" .Values.objectStore.external.endpoint }}
{{- end }}
{{- end }}

{{/* Generated secrets ------------------------------------------------------------------
Every generated value is made once per render (memoised in .Values._memo) and, on upgrades,
read back from the Secret that holds it (kept on uninstall: `simlab.keptSecret`), so it never
changes by itself. Rendering without cluster access (Argo CD, `helm template`) cannot read it
back: there every `existingSecret` value must be set instead. */}}
{{- define "simlab.keep" -}}
{{- $root := index . 0 }}{{ $secret := index . 1 }}{{ $key := index . 2 }}{{ $given := index . 3 }}
{{- $memo := $root.Values._memo }}
{{- $id := printf "%s/%s" $secret $key }}
{{- if not (hasKey $memo $id) }}
{{- $value := $given }}
{{- if not $value }}
{{- $existing := lookup "v1" "Secret" $root.Release.Namespace $secret }}
{{- if and $existing $existing.data (hasKey $existing.data $key) }}
{{- $value = index $existing.data $key | b64dec }}
{{- else }}
{{- $value = randAlphaNum 40 }}
{{- end }}
{{- end }}
{{- $_ := set $memo $id $value }}
{{- end }}
{{- index $memo $id }}
{{- end }}

{{/* Creates the memo once; templates call it first (includes see the same Values map). */}}
{{- define "simlab.init" -}}
{{- if not (hasKey .Values "_memo") }}{{ $_ := set .Values "_memo" dict }}{{ end }}
{{- end }}

{{- define "simlab.platformSecret" -}}
{{- default (printf "%s-platform" (include "simlab.fullname" .)) .Values.auth.existingSecret }}
{{- end }}

{{- define "simlab.sessionSecret" -}}
{{- default (printf "%s-gateway-session" (include "simlab.fullname" .)) .Values.gateway.existingSessionSecret }}
{{- end }}

{{- define "simlab.tokensSecret" -}}
{{- default (printf "%s-gateway-tokens" (include "simlab.fullname" .)) .Values.gateway.existingTokensSecret }}
{{- end }}

{{- define "simlab.postgresqlSecret" -}}
{{- default (printf "%s-postgresql" (include "simlab.fullname" .)) .Values.postgresql.existingSecret }}
{{- end }}

{{- define "simlab.natsSecret" -}}
{{- default (printf "%s-nats" (include "simlab.fullname" .)) .Values.nats.auth.existingSecret }}
{{- end }}

{{- define "simlab.minioSecret" -}}
{{- default (printf "%s-minio" (include "simlab.fullname" .)) .Values.minio.existingSecret }}
{{- end }}

{{/* The metadata of a Secret the chart generates: (dict "root" $ "name" ... "component" ...).
Kept on `helm uninstall`, so that a reinstall (whose kept database volume holds the old
password) reads the same values back; `kubectl delete secret` removes it for good. */}}
{{- define "simlab.keptSecret" -}}
name: {{ .name }}
namespace: {{ .root.Release.Namespace }}
labels: {{- include "simlab.labels" (dict "root" .root "component" .component) | nindent 2 }}
annotations:
  helm.sh/resource-policy: keep
{{- end }}

{{/* Percent-encoding for the userinfo of a URL: urlquery escapes everything but
[A-Za-z0-9-_.~] and writes a space as "+", which a URL's userinfo would read as a plus. */}}
{{- define "simlab.urlEncode" -}}
{{- urlquery . | replace "+" "%20" }}
{{- end }}

{{- define "simlab.platformData" -}}
{{- include "simlab.init" . }}
{{- $name := include "simlab.platformSecret" . -}}
service-token: {{ include "simlab.keep" (list . $name "service-token" .Values.auth.serviceToken) | quote }}
job-token-secret: {{ include "simlab.keep" (list . $name "job-token-secret" .Values.auth.jobTokenSecret) | quote }}
{{- end }}

{{/* The gateway tokens: one key per user, plus `tokens` in the gateway's format. */}}
{{- define "simlab.tokensData" -}}
{{- include "simlab.init" . }}
{{- $name := include "simlab.tokensSecret" . }}
{{- $pairs := list }}
{{- $users := .Values.gateway.users }}
{{- range $user, $_ := .Values.gateway.tokens }}{{ if not (has $user $users) }}{{ $users = append $users $user }}{{ end }}{{ end }}
{{- range $users }}
{{- $token := include "simlab.keep" (list $ $name . (get $.Values.gateway.tokens .)) }}
{{- $pairs = append $pairs (printf "%s=%s" $token .) }}
{{ . }}: {{ $token | quote }}
{{- end }}
tokens: {{ join "," $pairs | quote }}
{{- end }}

{{- define "simlab.sessionData" -}}
{{- include "simlab.init" . -}}
session-secret: {{ include "simlab.keep" (list . (include "simlab.sessionSecret" .) "session-secret" .Values.gateway.sessionSecret) | quote }}
{{- end }}

{{- define "simlab.postgresqlPassword" -}}
{{- include "simlab.init" . }}
{{- include "simlab.keep" (list . (include "simlab.postgresqlSecret" .) "password" .Values.postgresql.password) }}
{{- end }}

{{/* The bundled NATS's users' passwords, one key per user of files/nats-auth.conf. */}}
{{- define "simlab.natsData" -}}
{{- include "simlab.init" . }}
{{- $name := include "simlab.natsSecret" . }}
{{- range list "jobstore" "runner" "gateway" }}
{{ . }}-password: {{ include "simlab.keep" (list $ $name (printf "%s-password" .) "") | quote }}
{{- end }}
{{- end }}

{{- define "simlab.minioData" -}}
{{- include "simlab.init" . }}
{{- $name := include "simlab.minioSecret" . -}}
access-key: {{ default "simlab" .Values.minio.rootUser | quote }}
secret-key: {{ include "simlab.keep" (list . $name "secret-key" .Values.minio.rootPassword) | quote }}
{{- end }}

{{/* Environment ------------------------------------------------------------------------ */}}
{{/* The NATS URL of a service prefix: (list $ "SIMLAB_GATEWAY"). The bundled NATS: the
service's own user (gateway), its password from the Secret, put into the URL by Kubernetes'
$(VAR) expansion so that no rendered object holds it (the service's prefix keeps it out of
workers' environments). An external NATS: its URL. */}}
{{- define "simlab.natsEnv" -}}
{{- $root := index . 0 }}{{ $prefix := index . 1 }}
{{- if $root.Values.nats.enabled }}
{{- $user := $prefix | trimPrefix "SIMLAB_" | lower }}
- name: {{ $prefix }}_NATS_PASSWORD
  valueFrom: {secretKeyRef: {name: {{ include "simlab.natsSecret" $root }}, key: {{ $user }}-password}}
- name: {{ $prefix }}_NATS_URL
  value: {{ printf "nats://%s:$(%s_NATS_PASSWORD)@%s" $user $prefix (include "simlab.natsAddress" $root) | quote }}
{{- else }}
- name: {{ $prefix }}_NATS_URL
{{- if $root.Values.nats.external.existingSecret }}
  valueFrom: {secretKeyRef: {name: {{ $root.Values.nats.external.existingSecret }}, key: {{ $root.Values.nats.external.urlKey }}}}
{{- else }}
  value: {{ required "nats.external.url or nats.external.existingSecret is required when nats.enabled is false" $root.Values.nats.external.url | quote }}
{{- end }}
{{- end }}
{{- end }}

{{/* The object-store credentials, shared SIMLAB_S3_* of the gateway, the job store and the
runner (never of simulation pods: workers reach bundles and results through the job store). */}}
{{- define "simlab.s3Env" -}}
{{- if .Values.minio.enabled }}
- name: SIMLAB_S3_ACCESS_KEY
  valueFrom: {secretKeyRef: {name: {{ include "simlab.minioSecret" . }}, key: access-key}}
- name: SIMLAB_S3_SECRET_KEY
  valueFrom: {secretKeyRef: {name: {{ include "simlab.minioSecret" . }}, key: secret-key}}
{{- else }}
{{- $secret := required "objectStore.external.existingSecret is required when minio.enabled is false" .Values.objectStore.external.existingSecret }}
- name: SIMLAB_S3_ACCESS_KEY
  valueFrom: {secretKeyRef: {name: {{ $secret }}, key: {{ .Values.objectStore.external.accessKeyKey }}}}
- name: SIMLAB_S3_SECRET_KEY
  valueFrom: {secretKeyRef: {name: {{ $secret }}, key: {{ .Values.objectStore.external.secretKeyKey }}}}
{{- end }}
{{- end }}

{{/* Rolls pods when configuration or credentials the chart manages change. Credentials in
Secrets of your own roll nothing: restart the Deployments after changing them. */}}
{{- define "simlab.checksums" -}}
{{- $secrets := list .Values.auth.existingSecret .Values.gateway.existingTokensSecret .Values.gateway.existingSessionSecret .Values.postgresql.existingSecret .Values.minio.existingSecret .Values.postgresql.external .Values.nats.external .Values.nats.auth .Values.objectStore.external }}
{{- if not .Values.auth.existingSecret }}{{ $secrets = append $secrets (include "simlab.platformData" .) }}{{ end }}
{{- if not .Values.gateway.existingTokensSecret }}{{ $secrets = append $secrets (include "simlab.tokensData" .) }}{{ end }}
{{- if not .Values.gateway.existingSessionSecret }}{{ $secrets = append $secrets (include "simlab.sessionData" .) }}{{ end }}
{{- if and .Values.minio.enabled (not .Values.minio.existingSecret) }}{{ $secrets = append $secrets (include "simlab.minioData" .) }}{{ end }}
{{- if and .Values.nats.enabled (not .Values.nats.auth.existingSecret) }}{{ $secrets = append $secrets (include "simlab.natsData" .) }}{{ end }}
{{- if and .Values.postgresql.enabled (not .Values.postgresql.existingSecret) }}{{ $secrets = append $secrets (include "simlab.postgresqlPassword" .) }}{{ end -}}
checksum/config: {{ include (print .Template.BasePath "/configmaps.yaml") . | sha256sum }}
checksum/secrets: {{ $secrets | toJson | sha256sum }}
{{- end }}

{{/* Pod and container security for Pod Security `restricted`. */}}
{{- define "simlab.containerSecurity" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities: {drop: [ALL]}
{{- end }}

{{/* Pod security for a dependency running as a given uid. */}}
{{- define "simlab.depPodSecurity" -}}
runAsNonRoot: true
runAsUser: {{ . }}
runAsGroup: {{ . }}
fsGroup: {{ . }}
# Only a fresh volume is chowned: PostgreSQL refuses a data directory that fsGroup's
# recursive chmod made group-writable.
fsGroupChangePolicy: OnRootMismatch
seccompProfile: {type: RuntimeDefault}
{{- end }}

{{- define "simlab.imagePullSecrets" -}}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* A NetworkPolicy egress rule: (list peer cidr port); no peer and no cidr: anywhere. */}}
{{- define "simlab.egressTo" -}}
{{- $peer := index . 0 }}{{ $cidr := index . 1 }}{{ $port := index . 2 -}}
- ports: [{port: {{ $port }}, protocol: TCP}]
  {{- if $peer }}
  to: [{{ toJson $peer }}]
  {{- else if $cidr }}
  to: [{ipBlock: {cidr: {{ $cidr | quote }}}}]
  {{- end }}
{{- end }}
