{{/* The RayJob spec shared by the one-off RayJob and every RayCronJob's jobTemplate.
     Call with (dict "root" $ "job" "ingest" "config" (dict ...) "name" "ingest"). */}}
{{- define "covary.rayJobSpec" -}}
{{- $root := .root }}
{{- $v := $root.Values }}
{{- $entrypoint := printf "python -m jobs.%s" .job }}
{{- if .config }}
{{- $entrypoint = printf "%s --config-json %s" $entrypoint (toJson .config | squote) }}
{{- end -}}
entrypoint: {{ $entrypoint | quote }}
submissionMode: K8sJobMode
activeDeadlineSeconds: {{ $v.jobs.activeDeadlineSeconds }}
backoffLimit: {{ $v.jobs.backoffLimit }}
{{- if eq $v.jobs.cluster "shared" }}
clusterSelector:
  ray.io/cluster: {{ include "covary.fullname" $root }}
{{- else }}
shutdownAfterJobFinishes: true
ttlSecondsAfterFinished: {{ $v.jobs.ttlSecondsAfterFinished }}
rayClusterSpec:
  {{- include "covary.rayClusterSpec" (dict "root" $root "role" "jobs") | nindent 2 }}
{{- end }}
submitterPodTemplate:
  metadata:
    annotations:
      {{- include "covary.checkovSkips" (dict "checks" (list "CKV_K8S_35" "CKV_K8S_40" "CKV_K8S_8s" "CKV_K8S_9s")) | nindent 6 }}
    labels:
      {{- include "covary.labels" $root | nindent 6 }}
      covary.io/component: ray-job-submitter
      covary.io/ray-client: "true"
  spec:
    restartPolicy: Never
    serviceAccountName: {{ include "covary.serviceAccountName" $root }}
    automountServiceAccountToken: {{ $v.serviceAccount.automountToken }}
    securityContext:
      {{- toYaml $v.podSecurityContext | nindent 6 }}
    {{- with $v.imagePullSecrets }}
    imagePullSecrets:
      {{- range . }}
      - name: {{ . }}
      {{- end }}
    {{- end }}
    containers:
      - name: ray-job-submitter
        image: {{ include "covary.image" $root }}
        imagePullPolicy: {{ $v.image.pullPolicy }}
        securityContext:
          {{- toYaml $v.containerSecurityContext | nindent 10 }}
        resources:
          {{- toYaml $v.jobs.submitterResources | nindent 10 }}
        env:
          - name: HOME
            value: /tmp/home
          {{- include "covary.rayAuthTokenEnv" $root | nindent 10 }}
        volumeMounts:
          - name: tmp
            mountPath: /tmp
    volumes:
      - name: tmp
        emptyDir: {}
{{- end }}
