/**
 * What a dispatched WorkflowRun carries of its Promise: what a worker replica needs to run it (name, uid, output
 * rules, destination selectors), not the Promise's API, workflows, managed fields or the copy of the whole Promise
 * that `kubectl apply` keeps in an annotation — every run of a fleet update carries this.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { executionOf, targetOfRun, type WorkflowTarget } from '../../src/controllers/shared/WorkflowExecutor.ts';
import { ANNOTATION_OUTPUT_NAMESPACES } from '../../src/api/fleetopsNames.ts';
import type { KratixPromise } from '../../src/registry/builtin/kratixKinds.ts';

const schema = { type: 'object', properties: Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`field${i}`, { type: 'string' }])) };
/** What a run keeps of the Promise's metadata, beside its output rules. */
const identity = { name: 'app', uid: 'u-1', resourceVersion: '7', creationTimestamp: '2026-01-01T00:00:00Z' };
const promise = {
  apiVersion: 'platform.kratix.io/v1alpha1',
  kind: 'Promise',
  metadata: {
    ...identity,
    labels: { team: 'platform' },
    annotations: {
      [ANNOTATION_OUTPUT_NAMESPACES]: 'apps',
      'kubectl.kubernetes.io/last-applied-configuration': JSON.stringify({ spec: { api: { schema } } }),
    },
    managedFields: [{ manager: 'kubectl', operation: 'Apply', fieldsV1: { 'f:spec': { 'f:api': {} } } }],
  },
  spec: { api: { schema }, destinationSelectors: [{ matchLabels: { env: 'prod' } }], workflows: { resource: { configure: [] } } },
} as unknown as KratixPromise;

const pipeline = {
  apiVersion: 'platform.kratix.io/v1alpha1',
  kind: 'Pipeline',
  metadata: { name: 'p' },
  spec: { containers: [{ name: 's', image: 'busybox' }] },
};
const input = {
  apiVersion: 'example.com/v1',
  kind: 'App',
  metadata: { name: 'a', namespace: 'apps', uid: 'u-2', resourceVersion: '9', creationTimestamp: '2026-01-01T00:00:00Z' },
};
const target: WorkflowTarget = {
  object: input,
  workflowType: 'resource',
  action: 'configure',
  promise,
  plural: 'apps',
  pipelines: [pipeline as never],
  hash: 'h',
  namespace: 'apps',
};

test("a dispatched run carries the Promise's name, uid, output rules and selectors, and nothing large of it", () => {
  const x = executionOf(target, pipeline as never, input);
  assert.deepEqual(x.promise, {
    apiVersion: 'platform.kratix.io/v1alpha1',
    kind: 'Promise',
    metadata: { ...identity, annotations: { [ANNOTATION_OUTPUT_NAMESPACES]: 'apps' } },
    spec: { destinationSelectors: [{ matchLabels: { env: 'prod' } }] },
  });
  assert.ok(JSON.stringify(x.promise).length < 400, 'a few hundred bytes, whatever the Promise holds');
});

test('a worker rebuilds the same target from the run: output rules and selectors as the leader had them', () => {
  const run = {
    apiVersion: 'fleetops.dev/v1alpha1',
    kind: 'WorkflowRun',
    metadata: { name: 'r' },
    spec: { workflowType: 'resource', action: 'configure', hash: 'h', execution: executionOf(target, pipeline as never, input) },
  };
  const rebuilt = targetOfRun(run as never);
  assert.equal(rebuilt.target.promise.metadata.name, 'app');
  assert.equal(rebuilt.target.promise.metadata.annotations?.[ANNOTATION_OUTPUT_NAMESPACES], 'apps');
  assert.deepEqual(rebuilt.target.promise.spec?.destinationSelectors, [{ matchLabels: { env: 'prod' } }]);
  assert.deepEqual(rebuilt.input, input);
});
