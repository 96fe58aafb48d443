/** A Promise's openAPIV3Schema is checked as Kubernetes checks a CRD's: a bad type is refused, a misspelt keyword told, with their paths. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { crdSchemaCauses } from '../../src/registry/schema/crdSchemaKeywords.ts';

const at = 'spec.api.spec.versions[0].schema.openAPIV3Schema';

describe("a CRD schema's keywords", () => {
  it('refuses an unknown type with the allowed values, and warns of an unknown keyword with the one meant', () => {
    const { causes, warnings } = crdSchemaCauses(
      { type: 'object', properties: { spec: { type: 'object', propertes: { replicas: { type: 'integer' } }, properties: { size: { type: 'integr' } } } } },
      at,
    );
    assert.deepEqual(
      causes.map((c) => [c.field, c.message]),
      [
        [
          `${at}.properties.spec.properties.size.type`,
          'Unsupported value: "integr": supported values: "array", "boolean", "integer", "number", "object", "string"',
        ],
      ],
    );
    assert.deepEqual(warnings, [
      `${at}.properties.spec.propertes: unknown field "propertes" in a schema, ignored (Kubernetes drops it); did you mean "properties"?`,
    ]);
  });
  it("refuses what Kubernetes forbids in a CRD ($ref), and accepts Kubernetes' own keywords everywhere a schema goes", () => {
    assert.match(
      crdSchemaCauses({ type: 'object', properties: { a: { $ref: '#/x' } } }, at).causes[0]?.message ?? '',
      /Forbidden: CRD schemas cannot refer to others/,
    );
    const fine = {
      type: 'object',
      'x-kubernetes-validations': [{ rule: 'self.a > 0' }],
      properties: {
        ports: { type: 'array', items: { type: 'object', properties: { port: { 'x-kubernetes-int-or-string': true } } }, 'x-kubernetes-list-type': 'atomic' },
        labels: { type: 'object', additionalProperties: { type: 'string' } },
        choice: { anyOf: [{ type: 'string' }, { type: 'integer' }], nullable: true, default: 1, description: 'd', example: 2 },
      },
    };
    assert.deepEqual(crdSchemaCauses(fine, at), { causes: [], warnings: [] });
  });
});

describe('x-kubernetes-map-type', () => {
  it('takes atomic and granular on objects, and refuses any other value or a map type on anything but an object', () => {
    const causes = (schema: unknown): [string | undefined, string][] => crdSchemaCauses(schema, at).causes.map((c) => [c.field, c.message]);
    assert.deepEqual(
      causes({
        type: 'object',
        properties: { a: { type: 'object', 'x-kubernetes-map-type': 'atomic' }, g: { type: 'object', 'x-kubernetes-map-type': 'granular' } },
      }),
      [],
    );
    assert.deepEqual(causes({ type: 'object', properties: { a: { type: 'object', 'x-kubernetes-map-type': 'whole' } } }), [
      [`${at}.properties.a.x-kubernetes-map-type`, 'Unsupported value: "whole": supported values: "atomic", "granular"'],
    ]);
    assert.deepEqual(causes({ type: 'object', properties: { a: { type: 'string', 'x-kubernetes-map-type': 'atomic' } } }), [
      [`${at}.properties.a.x-kubernetes-map-type`, 'Invalid value: "atomic": is only allowed for type: object'],
    ]);
    assert.deepEqual(causes({ type: 'object', properties: { a: { 'x-kubernetes-map-type': 'atomic' } } }), [
      [`${at}.properties.a.type`, 'Required value: must be object if x-kubernetes-map-type is specified'],
    ]);
  });
});
