// The Kubernetes schemas a rendered chart object is checked against: the JSON schemas of the
// Kubernetes OpenAPI, compiled to validate functions by the npm package `kubernetes-models`
// (kubernetes-models-ts; one module per definition under `_schemas/`). KEDA's ScaledObject has
// no such package: its schema is the one of the CRD vendored in `keda/` (see keda-crd.ts).
// The schemas are the API server's: they check types, formats and required fields, not unknown
// fields (the API's OpenAPI does not forbid them); the chart's own rules (chart-rules.ts) check
// what must be present.
import { validate as deployment } from 'kubernetes-models/_schemas/IoK8sApiAppsV1Deployment.js';
import { validate as job } from 'kubernetes-models/_schemas/IoK8sApiBatchV1Job.js';
import { validate as service } from 'kubernetes-models/_schemas/IoK8sApiCoreV1Service.js';
import { validate as serviceAccount } from 'kubernetes-models/_schemas/IoK8sApiCoreV1ServiceAccount.js';
import { validate as secret } from 'kubernetes-models/_schemas/IoK8sApiCoreV1Secret.js';
import { validate as configMap } from 'kubernetes-models/_schemas/IoK8sApiCoreV1ConfigMap.js';
import { validate as networkPolicy } from 'kubernetes-models/_schemas/IoK8sApiNetworkingV1NetworkPolicy.js';
import { validate as podDisruptionBudget } from 'kubernetes-models/_schemas/IoK8sApiPolicyV1PodDisruptionBudget.js';
import { validate as hpa } from 'kubernetes-models/_schemas/IoK8sApiAutoscalingV2HorizontalPodAutoscaler.js';
import { validate as ingress } from 'kubernetes-models/_schemas/IoK8sApiNetworkingV1Ingress.js';

/** An ajv-style validate function, as `kubernetes-models` compiles them. */
export interface ValidateFunction {
  (data: unknown): boolean;
  errors?: Array<{ instancePath: string; message?: string; keyword: string; params?: unknown }> | null;
}

/** `apiVersion kind` of every built-in kind the chart may render, and its schema. */
export const KUBERNETES_SCHEMAS: Record<string, ValidateFunction> = {
  'apps/v1 Deployment': deployment,
  'batch/v1 Job': job,
  'v1 Service': service,
  'v1 ServiceAccount': serviceAccount,
  'v1 Secret': secret,
  'v1 ConfigMap': configMap,
  'networking.k8s.io/v1 NetworkPolicy': networkPolicy,
  'networking.k8s.io/v1 Ingress': ingress,
  'policy/v1 PodDisruptionBudget': podDisruptionBudget,
  'autoscaling/v2 HorizontalPodAutoscaler': hpa,
};

/** Problems of one object against its schema (empty: valid); an unknown kind is a problem too. */
export function schemaProblems(
  object: { apiVersion?: unknown; kind?: unknown; [field: string]: unknown },
  extra: Record<string, ValidateFunction> = {},
): string[] {
  const key = `${String(object.apiVersion)} ${String(object.kind)}`;
  const validate = extra[key] ?? KUBERNETES_SCHEMAS[key];
  if (!validate) return [`${key}: no schema known for this kind`];
  if (validate(object)) return [];
  return (validate.errors ?? []).map(
    (error) =>
      `${key}: ${error.instancePath || '/'} ${error.message ?? error.keyword} ${JSON.stringify(error.params ?? {})}`,
  );
}
