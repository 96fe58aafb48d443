/** A CRD schema as the form libraries read it: the portal's and Backstage's. */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { formSchema, readable } from '../../src/api/formSchema.ts';

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
      port: { title: 'Port', description: 'a port', anyOf: [{ type: 'integer' }, { type: 'string' }] },
      hosts: { title: 'Hosts', type: 'array', items: { type: 'object', properties: { name: { title: 'Name', type: 'string' } } } },
      labels: { title: 'Labels', type: 'object', additionalProperties: { type: 'string' } },
      either: { title: 'Either', oneOf: [{ type: 'string' }, { type: 'integer' }] },
    },
  });
  assert.deepEqual(formSchema('not a schema'), {});
});

it('titles each field by its own title, else its name made readable', () => {
  assert.deepEqual(['dbDriver', 'db_driver', 'db-driver', 'image', 'tlsURL', 'maxReplicas2'].map(readable), [
    'Db driver',
    'Db driver',
    'Db driver',
    'Image',
    'Tls URL',
    'Max replicas2',
  ]);
  assert.deepEqual(formSchema({ type: 'object', properties: { a: { title: 'Mine', type: 'string' } } }), {
    type: 'object',
    properties: { a: { title: 'Mine', type: 'string' } },
  });
});
