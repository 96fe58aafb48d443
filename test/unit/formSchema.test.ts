/** A CRD schema as the form libraries read it: the portal's and Backstage's. */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { formSchema } from '../../src/api/formSchema.ts';

it('drops Kubernetes keywords at every depth and turns int-or-string into integer-or-string', () => {
  const crd = {
    type: 'object',
    'x-kubernetes-preserve-unknown-fields': true,
    required: ['port'],
    properties: {
      port: { 'x-kubernetes-int-or-string': true, description: 'a port' },
      hosts: { type: 'array', items: { type: 'object', 'x-kubernetes-embedded-resource': true, properties: { name: { type: 'string' } } } },
      labels: { type: 'object', additionalProperties: { type: 'string', 'x-kubernetes-list-type': 'set' } },
      either: { oneOf: [{ type: 'string', 'x-kubernetes-validations': [] }, { type: 'integer' }] },
    },
  };
  assert.deepEqual(formSchema(crd), {
    type: 'object',
    required: ['port'],
    properties: {
      port: { description: 'a port', anyOf: [{ type: 'integer' }, { type: 'string' }] },
      hosts: { type: 'array', items: { type: 'object', properties: { name: { type: 'string' } } } },
      labels: { type: 'object', additionalProperties: { type: 'string' } },
      either: { oneOf: [{ type: 'string' }, { type: 'integer' }] },
    },
  });
  assert.deepEqual(formSchema('not a schema'), {});
});
