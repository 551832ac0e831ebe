{{/* Names, labels, the config validator and the shared container/pod pieces. */}}

{{- define "covary.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "covary.fullname" -}}
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

{{- define "covary.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels every object carries. */}}
{{- define "covary.labels" -}}
helm.sh/chart: {{ include "covary.chart" . }}
app.kubernetes.io/name: {{ include "covary.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: covary
covary.io/release: {{ .Release.Name }}
{{- end }}

{{/* Selector labels: KubeRay rewrites app.kubernetes.io/name on Ray pods, so selectors use covary.io/*. */}}
{{- define "covary.selectorLabels" -}}
covary.io/release: {{ .Release.Name }}
{{- end }}

{{- define "covary.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "covary.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "covary.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{- /*
Justified checkov suppressions (tests/deploy/test_checkov.py scans the production manifests, Ray pod
templates included): annotations `checkov.io/skipN: CHECK=reason`. Call with (dict "checks" (list ...)).
*/}}
{{- define "covary.checkovSkips" -}}
{{- $reasons := dict
  "CKV_K8S_35" "store URIs and tokens come from Secrets via secretKeyRef; mlflow server, boto3 and Ray read them from the environment only"
  "CKV_K8S_40" "uid 1000 is the image's own user (rayproject/ray owns its files as 1000); runAsNonRoot, no privilege escalation, all capabilities dropped"
  "CKV_K8S_8" "KubeRay injects the liveness probe of Ray head and worker containers (ray health-check) itself"
  "CKV_K8S_9" "KubeRay injects the readiness probe of Ray head and worker containers itself"
  "CKV_K8S_8s" "the submitter runs `ray job submit` to completion; there is no server to probe"
  "CKV_K8S_9s" "the submitter runs `ray job submit` to completion; there is no server to probe"
}}
{{- range $i, $id := .checks }}
checkov.io/skip{{ add1 $i }}: {{ printf "%s=%s" (trimSuffix "s" $id) (get $reasons $id) | quote }}
{{- end }}
{{- end }}

{{- define "covary.mlflowName" -}}
{{- printf "%s-mlflow" (include "covary.fullname" .) }}
{{- end }}

{{- define "covary.lakeClaimName" -}}
{{- default (printf "%s-lake" (include "covary.fullname" .)) .Values.lakehouse.pvc.existingClaim }}
{{- end }}

{{/* Resources check: requests and limits both set, with cpu and memory. */}}
{{- define "covary.requireResources" -}}
{{- $path := index . 0 }}{{- $r := index . 1 }}
{{- if not (and $r $r.requests $r.limits) }}
{{- fail (printf "%s must set both requests and limits" $path) }}
{{- end }}
{{- range $kind := list "requests" "limits" }}
{{- $section := index $r $kind }}
{{- if not (and (hasKey $section "cpu") (hasKey $section "memory")) }}
{{- fail (printf "%s.%s must set cpu and memory" $path $kind) }}
{{- end }}
{{- end }}
{{- end }}

{{/* maxUnavailable of a PDB: never 0, never 100%. */}}
{{- define "covary.checkMaxUnavailable" -}}
{{- $v := . }}
{{- if kindIs "string" $v }}
{{- if not (regexMatch "^([1-9]|[1-9][0-9])%$" $v) }}
{{- fail (printf "pdb.maxUnavailable=%q: use an integer >= 1 or a percentage from 1%% to 99%% (0 blocks node drains, 100%% protects nothing)" $v) }}
{{- end }}
{{- else if lt (int $v) 1 }}
{{- fail (printf "pdb.maxUnavailable=%v: must be >= 1 (0 blocks every node drain)" $v) }}
{{- end }}
{{- end }}

{{/* Fails with the name of the bad value; values.schema.json catches types, this catches combinations. */}}
{{- define "covary.validateConfig" -}}
{{- $v := .Values }}
{{- if and $v.ray.auth.enabled (not $v.ray.auth.existingSecret) }}
{{- fail "ray.auth.existingSecret is required when ray.auth.enabled=true: create a Secret with key auth_token (kubectl create secret generic covary-ray-auth --from-literal=auth_token=$(openssl rand -hex 32))" }}
{{- end }}
{{- range $name := list "cpuWorkers" "gpuWorkers" }}
{{- $g := index $v.ray $name }}
{{- if gt (int $g.minReplicas) (int $g.maxReplicas) }}
{{- fail (printf "ray.%s.minReplicas=%v is greater than ray.%s.maxReplicas=%v" $name $g.minReplicas $name $g.maxReplicas) }}
{{- end }}
{{- if or (lt (int $g.replicas) (int $g.minReplicas)) (gt (int $g.replicas) (int $g.maxReplicas)) }}
{{- fail (printf "ray.%s.replicas=%v must lie between minReplicas=%v and maxReplicas=%v" $name $g.replicas $g.minReplicas $g.maxReplicas) }}
{{- end }}
{{- end }}
{{- if gt (int $v.serve.workers.minReplicas) (int $v.serve.workers.maxReplicas) }}
{{- fail (printf "serve.workers.minReplicas=%v is greater than serve.workers.maxReplicas=%v" $v.serve.workers.minReplicas $v.serve.workers.maxReplicas) }}
{{- end }}
{{- if gt (int $v.llm.minReplicas) (int $v.llm.maxReplicas) }}
{{- fail (printf "llm.minReplicas=%v is greater than llm.maxReplicas=%v" $v.llm.minReplicas $v.llm.maxReplicas) }}
{{- end }}
{{- include "covary.requireResources" (list "ray.head.resources" $v.ray.head.resources) }}
{{- include "covary.requireResources" (list "ray.cpuWorkers.resources" $v.ray.cpuWorkers.resources) }}
{{- include "covary.requireResources" (list "ray.gpuWorkers.resources" $v.ray.gpuWorkers.resources) }}
{{- include "covary.requireResources" (list "ray.autoscaling.resources" $v.ray.autoscaling.resources) }}
{{- include "covary.requireResources" (list "mlflow.resources" $v.mlflow.resources) }}
{{- include "covary.requireResources" (list "jobs.submitterResources" $v.jobs.submitterResources) }}
{{- if eq $v.lakehouse.storage "s3" }}
{{- if not (hasPrefix "s3://" $v.lakehouse.s3.uri) }}
{{- fail (printf "lakehouse.s3.uri=%q must be an s3:// URI when lakehouse.storage=s3" $v.lakehouse.s3.uri) }}
{{- end }}
{{- if and (eq $v.lakehouse.s3.commitCoordination "unsafeRename") (not $v.lakehouse.s3.acknowledgeSingleWriter) }}
{{- fail "lakehouse.s3.commitCoordination=unsafeRename corrupts tables with concurrent writers (jobs and Serve both write): use conditionalPut or dynamodb, or set lakehouse.s3.acknowledgeSingleWriter=true" }}
{{- end }}
{{- else if not (has "ReadWriteMany" $v.lakehouse.pvc.accessModes) }}
{{- fail (printf "lakehouse.pvc.accessModes=%v must include ReadWriteMany: every Ray pod mounts the lake" $v.lakehouse.pvc.accessModes) }}
{{- end }}
{{- if and $v.mlflow.enabled (not $v.mlflow.existingSecret) }}
{{- fail "mlflow.existingSecret is required when mlflow.enabled=true: a Secret with keys backend-store-uri and artifacts-destination" }}
{{- end }}
{{- if and (not $v.mlflow.enabled) (not $v.mlflow.externalUri) }}
{{- fail "mlflow.externalUri is required when mlflow.enabled=false" }}
{{- end }}
{{- if and $v.llm.enabled (not $v.ray.gpuWorkers.enabled) }}
{{- fail "llm.enabled=true needs ray.gpuWorkers.enabled=true: vLLM runs on the GPU worker group" }}
{{- end }}
{{- if and $v.llm.enabled (not $v.serve.enabled) }}
{{- fail "llm.enabled=true needs serve.enabled=true: the model is an application of the RayService" }}
{{- end }}
{{- if and $v.llm.enabled $v.llm.externalBaseUrl }}
{{- fail "set either llm.enabled or llm.externalBaseUrl, not both" }}
{{- end }}
{{- if and $v.ingress.enabled (not $v.ingress.host) }}
{{- fail "ingress.host is required when ingress.enabled=true" }}
{{- end }}
{{- if and $v.ingress.enabled (not $v.serve.enabled) }}
{{- fail "ingress.enabled=true needs serve.enabled=true: the Ingress only ever exposes the Serve app" }}
{{- end }}
{{- if $v.pdb.enabled }}
{{- include "covary.checkMaxUnavailable" $v.pdb.maxUnavailable }}
{{- end }}
{{- range $key, $s := $v.jobs.schedules }}
{{- if not (regexMatch "^[a-z][a-z0-9_]*$" (toString $s.job)) }}
{{- fail (printf "jobs.schedules.%s.job=%q must name a package under jobs/ (lowercase, e.g. ingest)" $key (toString $s.job)) }}
{{- end }}
{{- if not (regexMatch "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$" $key) }}
{{- fail (printf "jobs.schedules.%s: the schedule name must be a DNS label (lowercase letters, digits, -)" $key) }}
{{- end }}
{{- end }}
{{- end }}

{{/* Writable emptyDir volumes of Ray pods (the root filesystem is read-only). */}}
{{- define "covary.ray.volumes" -}}
- name: ray-logs
  emptyDir: {}
- name: tmp
  emptyDir: {}
- name: shm
  emptyDir:
    medium: Memory
    sizeLimit: {{ .shmSize }}
{{- if eq .root.Values.lakehouse.storage "pvc" }}
- name: lake
  persistentVolumeClaim:
    claimName: {{ include "covary.lakeClaimName" .root }}
{{- end }}
{{- if .root.Values.serve.apiKeysSecret }}
- name: api-keys
  secret:
    secretName: {{ .root.Values.serve.apiKeysSecret }}
    items:
      - key: {{ .root.Values.serve.apiKeysKey }}
        path: keys.yaml
{{- end }}
{{- end }}

{{- define "covary.ray.volumeMounts" -}}
- name: ray-logs
  mountPath: /tmp/ray
- name: tmp
  mountPath: /tmp
- name: shm
  mountPath: /dev/shm
{{- if eq .Values.lakehouse.storage "pvc" }}
- name: lake
  mountPath: {{ .Values.lakehouse.pvc.mountPath }}
{{- end }}
{{- if .Values.serve.apiKeysSecret }}
- name: api-keys
  mountPath: /etc/covary/keys
  readOnly: true
{{- end }}
{{- end }}

{{/* delta-rs storage options for the lake, as a dict (rendered to JSON for COVARY_LAKE__STORAGE_OPTIONS). */}}
{{- define "covary.lake.storageOptions" -}}
{{- $s := .Values.lakehouse.s3 }}
{{- $opts := dict "AWS_REGION" $s.region }}
{{- if $s.endpoint }}{{- $_ := set $opts "AWS_ENDPOINT_URL" $s.endpoint }}{{- end }}
{{- if $s.allowHttp }}{{- $_ := set $opts "AWS_ALLOW_HTTP" "true" }}{{- end }}
{{- $_ := set $opts "AWS_VIRTUAL_HOSTED_STYLE_REQUEST" (ternary "true" "false" $s.virtualHostedStyle) }}
{{- if eq $s.commitCoordination "conditionalPut" }}
{{- $_ := set $opts "aws_conditional_put" $s.conditionalPut }}
{{- else if eq $s.commitCoordination "dynamodb" }}
{{- $_ := set $opts "AWS_S3_LOCKING_PROVIDER" "dynamodb" }}
{{- $_ := set $opts "DELTA_DYNAMO_TABLE_NAME" $s.dynamodbTable }}
{{- else }}
{{- $_ := set $opts "AWS_S3_ALLOW_UNSAFE_RENAME" "true" }}
{{- end }}
{{- range $k, $val := $s.extraStorageOptions }}{{- $_ := set $opts $k (toString $val) }}{{- end }}
{{- toJson $opts }}
{{- end }}

{{- define "covary.mlflowUri" -}}
{{- if .Values.mlflow.enabled }}
{{- printf "http://%s:%v" (include "covary.mlflowName" .) .Values.mlflow.port }}
{{- else }}
{{- .Values.mlflow.externalUri }}
{{- end }}
{{- end }}

{{/* covary settings (COVARY_*, nested with __) and Ray auth for every Ray container; secrets only by reference. */}}
{{- define "covary.env" -}}
{{- $v := .Values -}}
- name: COVARY_HOME
  value: {{ $v.settings.home | quote }}
- name: COVARY_LOG_LEVEL
  value: {{ $v.settings.logLevel | quote }}
- name: COVARY_RAY__ADDRESS
  value: auto
- name: COVARY_SERVE__HOST
  value: "0.0.0.0"
- name: HF_HOME
  value: /tmp/hf
- name: HOME
  value: /tmp/home
{{- if eq $v.lakehouse.storage "pvc" }}
- name: COVARY_LAKE__ROOT
  value: {{ $v.lakehouse.pvc.mountPath | quote }}
{{- else }}
- name: COVARY_LAKE__ROOT
  value: {{ $v.lakehouse.s3.uri | quote }}
- name: COVARY_LAKE__STORAGE_OPTIONS
  value: {{ include "covary.lake.storageOptions" . | quote }}
{{- if and (eq $v.lakehouse.s3.commitCoordination "unsafeRename") $v.lakehouse.s3.acknowledgeSingleWriter }}
- name: COVARY_LAKE__SINGLE_WRITER
  value: "true"
{{- end }}
{{- if $v.lakehouse.s3.existingSecret }}
- name: AWS_ACCESS_KEY_ID
  valueFrom:
    secretKeyRef: {name: {{ $v.lakehouse.s3.existingSecret }}, key: AWS_ACCESS_KEY_ID}
- name: AWS_SECRET_ACCESS_KEY
  valueFrom:
    secretKeyRef: {name: {{ $v.lakehouse.s3.existingSecret }}, key: AWS_SECRET_ACCESS_KEY}
{{- end }}
{{- end }}
- name: COVARY_MLFLOW__TRACKING_URI
  value: {{ include "covary.mlflowUri" . | quote }}
{{- if $v.milvus.uri }}
- name: COVARY_MILVUS__URI
  value: {{ $v.milvus.uri | quote }}
{{- end }}
- name: COVARY_MILVUS__COLLECTION
  value: {{ $v.milvus.collection | quote }}
{{- if $v.milvus.existingSecret }}
- name: COVARY_MILVUS__TOKEN
  valueFrom:
    secretKeyRef: {name: {{ $v.milvus.existingSecret }}, key: {{ $v.milvus.tokenKey }}}
{{- end }}
{{- if $v.llm.enabled }}
- name: COVARY_LLM__BASE_URL
  value: "http://127.0.0.1:8000/llm/v1"
- name: COVARY_LLM__MODEL
  value: {{ $v.llm.modelId | quote }}
{{- else if $v.llm.externalBaseUrl }}
- name: COVARY_LLM__BASE_URL
  value: {{ $v.llm.externalBaseUrl | quote }}
- name: COVARY_LLM__MODEL
  value: {{ $v.llm.modelId | quote }}
{{- end }}
{{- if $v.llm.apiKeySecret }}
- name: COVARY_LLM__API_KEY
  valueFrom:
    secretKeyRef: {name: {{ $v.llm.apiKeySecret }}, key: {{ $v.llm.apiKeyKey }}}
{{- end }}
{{- if $v.serve.apiKeysSecret }}
- name: COVARY_SERVE__API_KEYS_FILE
  value: /etc/covary/keys/keys.yaml
{{- end }}
{{- include "covary.rayAuthEnv" . }}
{{- with $v.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* With ray.auth.operatorAuthOptions the operator injects RAY_AUTH_* into Ray containers itself. */}}
{{- define "covary.rayAuthEnv" -}}
{{- if .Values.ray.auth.enabled }}
{{- if not .Values.ray.auth.operatorAuthOptions }}
{{ include "covary.rayAuthTokenEnv" . }}
{{- end }}
- name: COVARY_RAY__AUTH_TOKEN
  valueFrom:
    secretKeyRef: {name: {{ .Values.ray.auth.existingSecret }}, key: {{ .Values.ray.auth.secretKey }}}
{{- end }}
{{- end }}

{{- define "covary.rayAuthTokenEnv" -}}
{{- if .Values.ray.auth.enabled -}}
- name: RAY_AUTH_MODE
  value: token
- name: RAY_AUTH_TOKEN
  valueFrom:
    secretKeyRef: {name: {{ .Values.ray.auth.existingSecret }}, key: {{ .Values.ray.auth.secretKey }}}
{{- end }}
{{- end }}

{{- define "covary.envFrom" -}}
{{- if .Values.connectors.existingSecret }}
envFrom:
  - secretRef:
      name: {{ .Values.connectors.existingSecret }}
      optional: false
{{- end }}
{{- end }}
