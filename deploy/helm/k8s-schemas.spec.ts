import { describe, expect, it } from '@jest/globals';
import { schemaProblems } from './k8s-schemas';

const deployment = (container: Record<string, unknown>) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'x' },
  spec: {
    selector: { matchLabels: { app: 'x' } },
    template: { metadata: { labels: { app: 'x' } }, spec: { containers: [{ name: 'c', image: 'i', ...container }] } },
  },
});

describe('Kubernetes schemas (kubernetes-models)', () => {
  it('accepts a valid Deployment', () => {
    expect(schemaProblems(deployment({ ports: [{ containerPort: 80 }] }))).toEqual([]);
  });

  it('reports wrong types and bad quantities with their path', () => {
    const problems = schemaProblems(
      deployment({ ports: [{ containerPort: '80' }], resources: { limits: { cpu: '1x' } } }),
    );
    expect(problems.join('\n')).toContain('/spec/template/spec/containers/0/ports/0/containerPort');
    expect(problems.join('\n')).toContain('/spec/template/spec/containers/0/resources/limits/cpu');
  });

  it('reports a missing required field', () => {
    const problems = schemaProblems({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'x' }, spec: {} });
    expect(problems.join('\n')).toMatch(/required/);
  });

  it('reports a kind it has no schema for', () => {
    expect(schemaProblems({ apiVersion: 'v1', kind: 'Pod' })).toEqual(['v1 Pod: no schema known for this kind']);
  });
});
