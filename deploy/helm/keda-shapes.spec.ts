import { describe, expect, it } from '@jest/globals';
import { schemaProblems } from './k8s-schemas';
import { KEDA_SHAPES } from './keda-shapes';

const scaledObject = (spec: Record<string, unknown> = {}) => ({
  apiVersion: 'keda.sh/v1alpha1',
  kind: 'ScaledObject',
  metadata: { name: 'drover-session-agent' },
  spec: {
    scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'drover-session-agent' },
    minReplicaCount: 2,
    maxReplicaCount: 20,
    advanced: { horizontalPodAutoscalerConfig: { behavior: { scaleDown: { stabilizationWindowSeconds: 300 } } } },
    triggers: [
      {
        type: 'rabbitmq',
        metadata: { protocol: 'amqp', queueName: 'sessions.pending', mode: 'QueueLength', value: '10' },
        authenticationRef: { name: 'drover-session-agent' },
      },
    ],
    ...spec,
  },
});

const problems = (object: unknown) => schemaProblems(object as { kind: string }, KEDA_SHAPES);

describe('KEDA shapes (zod, after the CRDs)', () => {
  it('accept the ScaledObject and TriggerAuthentication the chart renders', () => {
    expect(problems(scaledObject())).toEqual([]);
    expect(
      problems({
        apiVersion: 'keda.sh/v1alpha1',
        kind: 'TriggerAuthentication',
        metadata: { name: 'a' },
        spec: { secretTargetRef: [{ parameter: 'host', name: 'drover-rabbitmq-session-agent', key: 'rabbitmq_url' }] },
      }),
    ).toEqual([]);
  });

  it('report a misspelt field, a missing target and a trigger without its queue', () => {
    expect(problems(scaledObject({ maxReplicas: 3 })).join('\n')).toMatch(/maxReplicas/);
    expect(problems(scaledObject({ scaleTargetRef: undefined })).join('\n')).toMatch(/scaleTargetRef/);
    const noQueue = scaledObject({
      triggers: [{ type: 'rabbitmq', metadata: { mode: 'QueueLength', value: '10' } }],
    });
    expect(problems(noQueue).join('\n')).toMatch(/metadata\/queueName/);
    expect(problems(scaledObject({ triggers: [] })).join('\n')).toMatch(/triggers/);
  });

  it('check the HPA behaviour against Kubernetes schema', () => {
    const bad = scaledObject({
      advanced: { horizontalPodAutoscalerConfig: { behavior: { scaleDown: { policies: [{ type: 'Pods' }] } } } },
    });
    expect(problems(bad).join('\n')).toMatch(/behavior/);
  });
});
