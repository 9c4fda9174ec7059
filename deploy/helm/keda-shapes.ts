// KEDA's objects (keda.sh/v1alpha1 ScaledObject and TriggerAuthentication) have no npm package
// of schemas, so their shape is checked here with zod, written after the fields of KEDA's CRDs
// (config/crd/bases/keda.sh_scaledobjects.yaml and keda.sh_triggerauthentications.yaml in
// kedacore/keda, v2): the fields the chart may render, strict (an unknown or misspelt field is an
// error, which the CRD's structural schema would prune silently), with the required ones
// required. The HPA behaviour inside `advanced` is checked against Kubernetes' own schema.
import { z } from 'zod';
import { validate as hpaBehavior } from 'kubernetes-models/_schemas/IoK8sApiAutoscalingV2HorizontalPodAutoscalerBehavior.js';
import type { ValidateFunction } from './k8s-schemas';

const int32 = z
  .number()
  .int()
  .min(0)
  .max(2 ** 31 - 1);
const name = z.string().regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, 'a Kubernetes object name');

const metadata = z
  .object({
    name,
    namespace: z.string().optional(),
    labels: z.record(z.string()).optional(),
    annotations: z.record(z.string()).optional(),
  })
  .strict();

/** The rabbitmq scaler's metadata (keda.sh/docs/scalers/rabbitmq-queue). */
const rabbitmqMetadata = z
  .object({
    protocol: z.enum(['auto', 'amqp', 'http']).optional(),
    queueName: z.string().min(1),
    mode: z.enum(['QueueLength', 'MessageRate']),
    value: z.string().regex(/^\d+(\.\d+)?$/, 'a number, as a string'),
    activationValue: z.string().optional(),
    vhostName: z.string().optional(),
    hostFromEnv: z.string().optional(),
    unsafeSsl: z.enum(['true', 'false']).optional(),
    excludeUnacknowledged: z.enum(['true', 'false']).optional(),
  })
  .strict();

const trigger = z
  .object({
    type: z.string().min(1),
    name: z.string().optional(),
    metadata: z.record(z.string()),
    authenticationRef: z
      .object({ name, kind: z.enum(['TriggerAuthentication', 'ClusterTriggerAuthentication']).optional() })
      .strict()
      .optional(),
    metricType: z.enum(['AverageValue', 'Value', 'Utilization']).optional(),
    useCachedMetrics: z.boolean().optional(),
  })
  .strict()
  .superRefine((value, ctx) => {
    if (value.type !== 'rabbitmq') return;
    const parsed = rabbitmqMetadata.safeParse(value.metadata);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) ctx.addIssue({ ...issue, path: ['metadata', ...issue.path] });
    }
  });

export const ScaledObjectShape = z
  .object({
    apiVersion: z.literal('keda.sh/v1alpha1'),
    kind: z.literal('ScaledObject'),
    metadata,
    spec: z
      .object({
        scaleTargetRef: z
          .object({
            apiVersion: z.string().optional(),
            kind: z.string().optional(),
            name,
            envSourceContainerName: z.string().optional(),
          })
          .strict(),
        pollingInterval: int32.optional(),
        cooldownPeriod: int32.optional(),
        initialCooldownPeriod: int32.optional(),
        idleReplicaCount: int32.optional(),
        minReplicaCount: int32.optional(),
        maxReplicaCount: int32.optional(),
        fallback: z.object({ failureThreshold: int32, replicas: int32 }).strict().optional(),
        advanced: z
          .object({
            restoreToOriginalReplicaCount: z.boolean().optional(),
            horizontalPodAutoscalerConfig: z
              .object({
                name: z.string().optional(),
                behavior: z.unknown().superRefine((behavior, ctx) => {
                  if (!(hpaBehavior as ValidateFunction)(behavior)) {
                    ctx.addIssue({
                      code: z.ZodIssueCode.custom,
                      message: JSON.stringify((hpaBehavior as ValidateFunction).errors),
                    });
                  }
                }),
              })
              .strict()
              .optional(),
          })
          .strict()
          .optional(),
        triggers: z.array(trigger).min(1),
      })
      .strict()
      .refine(
        (spec) => (spec.minReplicaCount ?? 0) <= (spec.maxReplicaCount ?? 100),
        'minReplicaCount exceeds maxReplicaCount',
      ),
  })
  .strict();

export const TriggerAuthenticationShape = z
  .object({
    apiVersion: z.literal('keda.sh/v1alpha1'),
    kind: z.literal('TriggerAuthentication'),
    metadata,
    spec: z
      .object({
        secretTargetRef: z
          .array(z.object({ parameter: z.string().min(1), name, key: z.string().min(1) }).strict())
          .optional(),
        env: z
          .array(
            z
              .object({ parameter: z.string().min(1), name: z.string().min(1), containerName: z.string().optional() })
              .strict(),
          )
          .optional(),
      })
      .strict(),
  })
  .strict();

/** A validate function (as in k8s-schemas.ts) for each KEDA kind, from its zod shape. */
function fromZod(shape: z.ZodTypeAny): ValidateFunction {
  const validate: ValidateFunction = (data: unknown) => {
    const result = shape.safeParse(data);
    validate.errors = result.success
      ? null
      : result.error.issues.map((issue) => ({
          instancePath: `/${issue.path.join('/')}`,
          message: issue.message,
          keyword: issue.code,
        }));
    return result.success;
  };
  return validate;
}

export const KEDA_SHAPES: Record<string, ValidateFunction> = {
  'keda.sh/v1alpha1 ScaledObject': fromZod(ScaledObjectShape),
  'keda.sh/v1alpha1 TriggerAuthentication': fromZod(TriggerAuthenticationShape),
};
