/** A minimal Promise for tests and benches: a kind and, when given, one configure pipeline. */
import type { KubeObject } from '../../src/api/types.ts';
import { TEST_IMAGE } from './images.ts';

export interface TestPromiseOptions {
  kind: string;
  plural: string;
  group?: string;
  /** The resource workflow's one pipeline; none: a Promise that only serves its kind. */
  pipeline?: { name: string; spec: Record<string, unknown> };
  /** Typed `spec` fields (openAPIV3Schema properties); default: any fields kept. */
  specProperties?: Record<string, unknown>;
  destinationSelectors?: Record<string, string>;
  /** The resource workflow's delete pipeline (with `pipeline` only). */
  deletePipeline?: { name: string; spec: Record<string, unknown> };
}

export function testPromise(opts: TestPromiseOptions): KubeObject {
  const singular = opts.kind.toLowerCase();
  const group = opts.group ?? 'test.fleetops.dev';
  const schema = opts.specProperties
    ? { type: 'object', properties: { spec: { type: 'object', properties: opts.specProperties } } }
    : { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };
  return {
    apiVersion: 'platform.kratix.io/v1alpha1',
    kind: 'Promise',
    metadata: { name: singular },
    spec: {
      ...(opts.destinationSelectors ? { destinationSelectors: [{ matchLabels: opts.destinationSelectors }] } : {}),
      api: {
        apiVersion: 'apiextensions.k8s.io/v1',
        kind: 'CustomResourceDefinition',
        metadata: { name: `${opts.plural}.${group}` },
        spec: {
          group,
          scope: 'Namespaced',
          names: { kind: opts.kind, plural: opts.plural, singular },
          versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: schema } }],
        },
      },
      ...(opts.pipeline
        ? {
            workflows: {
              resource: {
                configure: [{ apiVersion: 'platform.kratix.io/v1alpha1', kind: 'Pipeline', metadata: { name: opts.pipeline.name }, spec: opts.pipeline.spec }],
                ...(opts.deletePipeline
                  ? {
                      delete: [
                        {
                          apiVersion: 'platform.kratix.io/v1alpha1',
                          kind: 'Pipeline',
                          metadata: { name: opts.deletePipeline.name },
                          spec: opts.deletePipeline.spec,
                        },
                      ],
                    }
                  : {}),
              },
            },
          }
        : {}),
    },
  };
}

/**
 * The rollout crash tests' Promise: a `Counter` whose step (after `stepSeconds`) writes the revision to its output and
 * `seen: <revision>` to its status, rolled out `maxConcurrent` at a time.
 */
export function counterPromise(
  revision: number,
  opts: { stepSeconds: number; maxConcurrent: number; destinationSelectors?: Record<string, string> },
): KubeObject {
  const p = testPromise({
    kind: 'Counter',
    plural: 'counters',
    ...(opts.destinationSelectors ? { destinationSelectors: opts.destinationSelectors } : {}),
    pipeline: {
      name: 'render',
      spec: {
        containers: [
          {
            name: 'render',
            image: TEST_IMAGE,
            command: [
              'sh',
              '-c',
              `sleep ${opts.stepSeconds}; echo "revision: ${revision}" > /kratix/output/out.yaml; echo "seen: ${revision}" > /kratix/metadata/status.yaml`,
            ],
          },
        ],
      },
    },
  });
  p.metadata.annotations = { 'fleetops.dev/rollout-strategy': `maxConcurrent: ${opts.maxConcurrent}` };
  return p;
}
