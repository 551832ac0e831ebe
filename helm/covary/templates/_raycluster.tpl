{{/* The RayCluster spec shared by the jobs RayCluster, the RayService and ephemeral RayJobs.
     Call with (dict "root" $ "role" "jobs"|"serve"). */}}

{{- define "covary.ray.podLabels" -}}
covary.io/ray: "true"
covary.io/ray-cluster: {{ .role }}
covary.io/component: {{ .component }}
{{- end }}

{{- define "covary.ray.container" -}}
{{- $root := .root -}}
name: {{ .name }}
image: {{ include "covary.image" $root }}
imagePullPolicy: {{ $root.Values.image.pullPolicy }}
securityContext:
  {{- toYaml $root.Values.containerSecurityContext | nindent 2 }}
resources:
  {{- toYaml .resources | nindent 2 }}
env:
  {{- include "covary.env" $root | nindent 2 }}
  {{- if and .gpu $root.Values.llm.hfTokenSecret }}
  - name: HF_TOKEN
    valueFrom:
      secretKeyRef: {name: {{ $root.Values.llm.hfTokenSecret }}, key: {{ $root.Values.llm.hfTokenKey }}}
  {{- end }}
{{- include "covary.envFrom" $root }}
volumeMounts:
  {{- include "covary.ray.volumeMounts" $root | nindent 2 }}
{{- end }}

{{- define "covary.ray.podSpec" -}}
{{- $root := .root -}}
serviceAccountName: {{ include "covary.serviceAccountName" $root }}
automountServiceAccountToken: {{ $root.Values.serviceAccount.automountToken }}
securityContext:
  {{- toYaml $root.Values.podSecurityContext | nindent 2 }}
{{- with $root.Values.imagePullSecrets }}
imagePullSecrets:
  {{- range . }}
  - name: {{ . }}
  {{- end }}
{{- end }}
{{- with .group.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .group.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .group.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
volumes:
  {{- include "covary.ray.volumes" (dict "root" $root "shmSize" .group.shmSize) | nindent 2 }}
{{- end }}

{{- define "covary.rayClusterSpec" -}}
{{- $root := .root }}
{{- $v := $root.Values }}
{{- $role := .role -}}
rayVersion: {{ $v.ray.version | quote }}
{{- if and $v.ray.auth.enabled $v.ray.auth.operatorAuthOptions }}
authOptions:
  mode: token
  secretName: {{ $v.ray.auth.existingSecret }}
{{- end }}
enableInTreeAutoscaling: {{ $v.ray.autoscaling.enabled }}
{{- if $v.ray.autoscaling.enabled }}
autoscalerOptions:
  upscalingMode: {{ $v.ray.autoscaling.upscalingMode }}
  idleTimeoutSeconds: {{ $v.ray.autoscaling.idleTimeoutSeconds }}
  imagePullPolicy: {{ $v.image.pullPolicy }}
  resources:
    {{- toYaml $v.ray.autoscaling.resources | nindent 4 }}
  securityContext:
    {{- toYaml $v.containerSecurityContext | nindent 4 }}
  env:
    {{- include "covary.rayAuthTokenEnv" $root | nindent 4 }}
    - name: HOME
      value: /tmp/home
{{- end }}
headGroupSpec:
  rayStartParams:
    dashboard-host: "0.0.0.0"
    {{- range $k, $val := $v.ray.head.rayStartParams }}
    {{ $k }}: {{ $val | toString | quote }}
    {{- end }}
  template:
    metadata:
      annotations:
        {{- include "covary.checkovSkips" (dict "checks" (list "CKV_K8S_35" "CKV_K8S_40" "CKV_K8S_8" "CKV_K8S_9")) | nindent 8 }}
      labels:
        {{- include "covary.labels" $root | nindent 8 }}
        {{- include "covary.ray.podLabels" (dict "root" $root "role" $role "component" "ray-head") | nindent 8 }}
    spec:
      {{- include "covary.ray.podSpec" (dict "root" $root "group" $v.ray.head) | nindent 6 }}
      containers:
        - {{- include "covary.ray.container" (dict "root" $root "name" "ray-head" "resources" $v.ray.head.resources) | nindent 10 }}
          ports:
            - {containerPort: 6379, name: gcs-server}
            - {containerPort: 8265, name: dashboard}
            - {containerPort: 10001, name: client}
            - {containerPort: 8080, name: metrics}
            {{- if eq $role "serve" }}
            - {containerPort: 8000, name: serve}
            {{- end }}
workerGroupSpecs:
  {{- $cpu := $v.ray.cpuWorkers }}
  {{- $counts := $cpu }}
  {{- if eq $role "serve" }}{{- $counts = $v.serve.workers }}{{- end }}
  - groupName: {{ $cpu.groupName }}
    replicas: {{ $counts.replicas }}
    minReplicas: {{ $counts.minReplicas }}
    maxReplicas: {{ $counts.maxReplicas }}
    rayStartParams:
      {{- range $k, $val := $cpu.rayStartParams }}
      {{ $k }}: {{ $val | toString | quote }}
      {{- else }} {}
      {{- end }}
    template:
      metadata:
        annotations:
          {{- include "covary.checkovSkips" (dict "checks" (list "CKV_K8S_35" "CKV_K8S_40" "CKV_K8S_8" "CKV_K8S_9")) | nindent 10 }}
        labels:
          {{- include "covary.labels" $root | nindent 10 }}
          {{- include "covary.ray.podLabels" (dict "root" $root "role" $role "component" "ray-worker") | nindent 10 }}
          covary.io/worker-group: {{ $cpu.groupName }}
      spec:
        {{- include "covary.ray.podSpec" (dict "root" $root "group" $cpu) | nindent 8 }}
        containers:
          - {{- include "covary.ray.container" (dict "root" $root "name" "ray-worker" "resources" $cpu.resources) | nindent 12 }}
            ports:
              - {containerPort: 8080, name: metrics}
              {{- if eq $role "serve" }}
              - {containerPort: 8000, name: serve}
              {{- end }}
  {{- if $v.ray.gpuWorkers.enabled }}
  {{- $gpu := $v.ray.gpuWorkers }}
  {{- $gpuResources := deepCopy $gpu.resources }}
  {{- $_ := set $gpuResources.limits "nvidia.com/gpu" $gpu.gpusPerWorker }}
  {{- $_ := set $gpuResources.requests "nvidia.com/gpu" $gpu.gpusPerWorker }}
  - groupName: {{ $gpu.groupName }}
    replicas: {{ $gpu.replicas }}
    minReplicas: {{ $gpu.minReplicas }}
    maxReplicas: {{ $gpu.maxReplicas }}
    rayStartParams:
      {{- range $k, $val := $gpu.rayStartParams }}
      {{ $k }}: {{ $val | toString | quote }}
      {{- else }} {}
      {{- end }}
    template:
      metadata:
        annotations:
          {{- include "covary.checkovSkips" (dict "checks" (list "CKV_K8S_35" "CKV_K8S_40" "CKV_K8S_8" "CKV_K8S_9")) | nindent 10 }}
        labels:
          {{- include "covary.labels" $root | nindent 10 }}
          {{- include "covary.ray.podLabels" (dict "root" $root "role" $role "component" "ray-worker") | nindent 10 }}
          covary.io/worker-group: {{ $gpu.groupName }}
      spec:
        {{- include "covary.ray.podSpec" (dict "root" $root "group" $gpu) | nindent 8 }}
        containers:
          - {{- include "covary.ray.container" (dict "root" $root "name" "ray-worker" "resources" $gpuResources "gpu" true) | nindent 12 }}
            ports:
              - {containerPort: 8080, name: metrics}
              {{- if eq $role "serve" }}
              - {containerPort: 8000, name: serve}
              {{- end }}
  {{- end }}
{{- end }}
