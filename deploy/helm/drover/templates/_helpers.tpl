{{/* Names and labels. */}}
{{- define "drover.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "drover.selectorLabels" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "drover.labels" -}}
{{ include "drover.selectorLabels" . }}
app.kubernetes.io/part-of: drover
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
{{- end -}}

{{/* Every pod of this release (the default-deny NetworkPolicy selects them all). */}}
{{- define "drover.releaseSelector" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "drover.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "drover.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "drover.image" -}}
{{- $tag := default .root.Chart.AppVersion .root.Values.image.tag -}}
{{- printf "%s%s%s:%s" .root.Values.image.registry .root.Values.image.prefix .component $tag -}}
{{- end -}}

{{/* The drain must fit in the grace period. */}}
{{- define "drover.checkGrace" -}}
{{- $drainS := div (int .Values.drover.shutdownTimeoutMs) 1000 -}}
{{- if le (int .Values.drover.terminationGracePeriodSeconds) (int $drainS) -}}
{{- fail (printf "drover.terminationGracePeriodSeconds (%v) must exceed drover.shutdownTimeoutMs (%v ms)" .Values.drover.terminationGracePeriodSeconds .Values.drover.shutdownTimeoutMs) -}}
{{- end -}}
{{- end -}}

{{/*
The session agents' seccomp profile and whether Chromium must run without its sandbox: only
a Localhost profile (deploy/seccomp/chromium.json) allows the namespace sandbox.
*/}}
{{- define "drover.chromeNoSandbox" -}}
{{- if eq .Values.sessionAgent.seccompProfile.type "Localhost" -}}false{{- else -}}true{{- end -}}
{{- end -}}

{{/*
One pod template. Arguments (dict): root, component, values (the component's values),
secretFiles (list of dicts: secret {name,key}, file), env (dict), ports (list of {name, port}),
probes (bool), sharedData (bool), shm (bool), args (list), restartPolicy.
*/}}
{{- define "drover.podTemplate" -}}
{{- $root := .root -}}
metadata:
  labels:
    {{- include "drover.labels" . | nindent 4 }}
  annotations:
    # Restart on a changed chart configuration (secrets are files: rotate them by restarting).
    checksum/values: {{ toJson $root.Values.drover | sha256sum | trunc 16 }}
spec:
  {{- if eq .component "bootstrap" }}
  # A Helm hook runs before the chart's ServiceAccount exists: the default one, without its token.
  serviceAccountName: default
  {{- else }}
  serviceAccountName: {{ include "drover.serviceAccountName" $root }}
  {{- end }}
  automountServiceAccountToken: false
  enableServiceLinks: false
  {{- with .restartPolicy }}
  restartPolicy: {{ . }}
  {{- end }}
  terminationGracePeriodSeconds: {{ $root.Values.drover.terminationGracePeriodSeconds }}
  {{- with $root.Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  securityContext:
    {{- $pod := deepCopy $root.Values.podSecurityContext }}
    {{- if eq .component "session-agent" }}
    {{- $_ := set $pod "seccompProfile" $root.Values.sessionAgent.seccompProfile }}
    {{- end }}
    {{- toYaml $pod | nindent 4 }}
  {{- with .values.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .values.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .values.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- $ctx := . }}
  {{- with .values.topologySpreadConstraints }}
  topologySpreadConstraints:
    {{- range . }}
    - labelSelector:
        matchLabels:
          {{- include "drover.selectorLabels" $ctx | nindent 10 }}
      {{- toYaml . | nindent 6 }}
    {{- end }}
  {{- end }}
  containers:
    - name: {{ .component }}
      image: {{ include "drover.image" . }}
      imagePullPolicy: {{ $root.Values.image.pullPolicy }}
      {{- with .args }}
      args:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      securityContext:
        {{- toYaml $root.Values.containerSecurityContext | nindent 8 }}
      env:
        - { name: DROVER_PROFILE, value: {{ $root.Values.drover.profile | quote }} }
        - { name: DROVER_DATA_DIR, value: /data }
        - { name: SHUTDOWN_TIMEOUT_MS, value: {{ $root.Values.drover.shutdownTimeoutMs | quote }} }
        - { name: LOG_LEVEL, value: {{ $root.Values.drover.logLevel | quote }} }
        - { name: DROVER_BUS_USERS, value: {{ $root.Values.drover.busUsers | quote }} }
        - { name: OPS_HOST, value: 0.0.0.0 }
        - { name: OPS_PORT, value: "9090" }
        {{- range $name, $value := .env }}
        - { name: {{ $name }}, value: {{ $value | quote }} }
        {{- end }}
        {{- range .secretFiles }}
        - { name: {{ .variable }}, value: /run/secrets/{{ .file }} }
        {{- end }}
        {{- range $name, $value := $root.Values.drover.extraEnv }}
        - { name: {{ $name }}, value: {{ $value | quote }} }
        {{- end }}
        {{- range $name, $value := .values.env }}
        - { name: {{ $name }}, value: {{ $value | quote }} }
        {{- end }}
      ports:
        - { name: ops, containerPort: 9090, protocol: TCP }
        {{- range .ports }}
        - { name: {{ .name }}, containerPort: {{ .port }}, protocol: TCP }
        {{- end }}
      {{- if .probes }}
      # The ops port: /live (the process runs), /ready (its connections are up).
      startupProbe:
        httpGet: { path: /live, port: ops }
        {{- toYaml $root.Values.probes.startup | nindent 8 }}
      livenessProbe:
        httpGet: { path: /live, port: ops }
        {{- toYaml $root.Values.probes.liveness | nindent 8 }}
      readinessProbe:
        httpGet: { path: /ready, port: ops }
        {{- toYaml $root.Values.probes.readiness | nindent 8 }}
      {{- end }}
      resources:
        {{- toYaml .values.resources | nindent 8 }}
      volumeMounts:
        - { name: tmp, mountPath: /tmp }
        - { name: data, mountPath: /data }
        - { name: secrets, mountPath: /run/secrets, readOnly: true }
        {{- if and .sharedData $root.Values.sharedData.existingClaim }}
        - { name: shared-data, mountPath: /data/files }
        {{- end }}
        {{- if .shm }}
        - { name: dshm, mountPath: /dev/shm }
        {{- end }}
  volumes:
    - name: tmp
      emptyDir: {}
    - name: data
      emptyDir: {}
    # Only the secrets this service needs, each a file read through <NAME>_FILE.
    - name: secrets
      projected:
        defaultMode: 0440
        sources:
          {{- range .secretFiles }}
          - secret:
              name: {{ .secret.name }}
              items:
                - { key: {{ .secret.key }}, path: {{ .file }} }
          {{- end }}
    {{- if and .sharedData $root.Values.sharedData.existingClaim }}
    - name: shared-data
      persistentVolumeClaim:
        claimName: {{ $root.Values.sharedData.existingClaim }}
    {{- end }}
    {{- if .shm }}
    - name: dshm
      emptyDir:
        medium: Memory
        sizeLimit: {{ $root.Values.sessionAgent.shmSize }}
    {{- end }}
{{- end -}}

{{/* A long-running service's Deployment (same arguments as drover.podTemplate). */}}
{{- define "drover.deployment" -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "drover.fullname" .root }}-{{ .component }}
  labels:
    {{- include "drover.labels" . | nindent 4 }}
spec:
  {{- if not .autoscaled }}
  replicas: {{ .values.replicas }}
  {{- end }}
  revisionHistoryLimit: 5
  selector:
    matchLabels:
      {{- include "drover.selectorLabels" . | nindent 6 }}
  strategy:
    type: RollingUpdate
    rollingUpdate: { maxUnavailable: 0, maxSurge: 1 }
  template:
    {{- include "drover.podTemplate" (merge (dict "probes" true) .) | nindent 4 }}
{{- end -}}

{{/* NetworkPolicy rules (networkpolicies.yaml). */}}
{{- define "drover.egressTo" -}}
- to:
    {{- toYaml .to | nindent 4 }}
  ports:
    {{- range .ports }}
    - { protocol: TCP, port: {{ . }} }
    {{- end }}
{{- end -}}
{{- define "drover.dnsEgress" -}}
- to:
    {{- toYaml .to | nindent 4 }}
  ports:
    - { protocol: UDP, port: 53 }
    - { protocol: TCP, port: 53 }
{{- end -}}
{{- define "drover.metricsIngress" -}}
{{- if . -}}
- from:
    {{- toYaml . | nindent 4 }}
  ports:
    - { protocol: TCP, port: 9090 }
{{- end }}
{{- end -}}
