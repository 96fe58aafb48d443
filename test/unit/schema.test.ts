import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { applyDefaults, prune } from '../../src/registry/schema/structural.ts';
import { SchemaValidator } from '../../src/registry/schema/SchemaValidator.ts';
import type { JsonSchema } from '../../src/registry/ResourceType.ts';

const schema: JsonSchema = {
  type: 'object',
  properties: {
    spec: {
      type: 'object',
      required: ['image'],
      properties: {
        image: { type: 'string' },
        replicas: { type: 'integer', default: 1, minimum: 0 },
        port: { 'x-kubernetes-int-or-string': true },
        mode: { type: 'string', enum: ['a', 'b'] },
        note: { type: 'string', nullable: true },
        labels: { type: 'object', additionalProperties: { type: 'string' } },
        free: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
        items: { type: 'array', items: { type: 'object', properties: { name: { type: 'string', default: 'x' } } } },
        service: { type: 'object', default: {}, properties: { port: { type: 'integer', default: 8080 } } },
        email: { type: 'string', format: 'email' },
        size: { type: 'string', format: 'int64' },
      },
    },
  },
};

describe('structural pruning and defaulting', () => {
  it('prunes unknown fields but keeps maps, preserved objects and the root identity fields', () => {
    const obj = {
      apiVersion: 'v',
      kind: 'K',
      metadata: { name: 'n' },
      extra: 1,
      spec: { image: 'i', bogus: 2, labels: { any: 'x' }, free: { deep: { x: 1 } }, items: [{ name: 'a', junk: 1 }] },
    };
    const removed = prune(schema, obj);
    assert.deepEqual(removed.sort(), ['extra', 'spec.bogus', 'spec.items[0].junk']);
    assert.deepEqual(obj, {
      apiVersion: 'v',
      kind: 'K',
      metadata: { name: 'n' },
      spec: { image: 'i', labels: { any: 'x' }, free: { deep: { x: 1 } }, items: [{ name: 'a' }] },
    });
  });
  it('applies defaults top-down, including inside defaulted objects and list items', () => {
    const obj: Record<string, unknown> = { spec: { image: 'i', items: [{}] } };
    applyDefaults(schema, obj);
    assert.deepEqual(obj.spec, { image: 'i', replicas: 1, items: [{ name: 'x' }], service: { port: 8080 } });
  });
  it('changes the root in place and nothing below it: members that change are replaced by copies, the others kept', () => {
    const spec = Object.freeze({
      image: 'i',
      bogus: 2,
      labels: Object.freeze({ any: 'x' }),
      items: Object.freeze([Object.freeze({ name: 'a', junk: 1 }), Object.freeze({ name: 'b' })]),
      service: Object.freeze({ port: 80 }),
    });
    const untouched = Object.freeze({ image: 'j', replicas: 3, service: Object.freeze({ port: 1 }), items: Object.freeze([]) });
    const obj: Record<string, unknown> = { apiVersion: 'v', kind: 'K', metadata: { name: 'n' }, spec };
    assert.deepEqual(prune(schema, obj), ['spec.bogus', 'spec.items[0].junk']);
    applyDefaults(schema, obj);
    const out = obj.spec as typeof spec;
    assert.notEqual(out, spec);
    assert.deepEqual(out, { image: 'i', labels: { any: 'x' }, items: [{ name: 'a' }, { name: 'b' }], service: { port: 80 }, replicas: 1 });
    assert.equal(out.labels, spec.labels, 'a member nothing changed in is kept, not copied');
    assert.equal(out.items[1], spec.items[1]);
    assert.equal(out.service, spec.service);
    assert.deepEqual(spec.items[0], { name: 'a', junk: 1 }, 'the members given are left as they were');
    const whole: Record<string, unknown> = { spec: untouched };
    assert.deepEqual(prune(schema, whole), []);
    applyDefaults(schema, whole);
    assert.equal(whole.spec, untouched, 'an object with nothing to prune or default is not copied at all');
  });
});

describe('schema validation causes', () => {
  const v = new SchemaValidator();
  const causes = (spec: unknown): string[] => v.validate(schema, { spec }).map((c) => `${c.reason} ${c.field}: ${c.message}`);
  it('accepts a valid object, int-or-string both ways, nullable null, and Kubernetes formats', () => {
    assert.deepEqual(causes({ image: 'i', port: 80, note: null, size: '12' }), []);
    assert.deepEqual(causes({ image: 'i', port: 'http' }), []);
  });
  it('names missing, mistyped, out-of-range and unsupported fields', () => {
    assert.deepEqual(causes({ replicas: 'x', mode: 'c' }).sort(), [
      'FieldValueNotSupported spec.mode: Unsupported value: "c": supported values: "a", "b"',
      'FieldValueRequired spec.image: Required value',
      'FieldValueTypeInvalid spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "x"',
    ]);
    assert.deepEqual(causes({ image: 'i', replicas: -1 }), ['FieldValueInvalid spec.replicas: Invalid value: -1: spec.replicas in body should be >= 0']);
    assert.match(causes({ image: 'i', email: 'nope' })[0] ?? '', /spec.email/);
    assert.match(causes({ image: 'i', port: true })[0] ?? '', /spec.port/);
  });
});
