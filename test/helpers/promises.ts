/** A minimal Promise for tests and benches: a kind (any fields kept) and one configure pipeline. */
import type { KubeObject } from '../../src/api/types.ts';

export function testPromise(opts: { kind: string; plural: string; group?: string; pipeline: { name: string; spec: Record<string, unknown> } }): KubeObject {
  const singular = opts.kind.toLowerCase();
  const group = opts.group ?? 'test.fleetops.dev';
  return {
    apiVersion: 'platform.kratix.io/v1alpha1',
    kind: 'Promise',
    metadata: { name: singular },
    spec: {
      api: {
        apiVersion: 'apiextensions.k8s.io/v1',
        kind: 'CustomResourceDefinition',
        metadata: { name: `${opts.plural}.${group}` },
        spec: {
          group,
          scope: 'Namespaced',
          names: { kind: opts.kind, plural: opts.plural, singular },
          versions: [
            { name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } },
          ],
        },
      },
      workflows: {
        resource: {
          configure: [{ apiVersion: 'platform.kratix.io/v1alpha1', kind: 'Pipeline', metadata: { name: opts.pipeline.name }, spec: opts.pipeline.spec }],
        },
      },
    },
  };
}
