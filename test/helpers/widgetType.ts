/** A small namespaced kind with a status subresource, for unit tests of the registry: `spec.size` (≥ 1) and a defaulted `spec.color`. */
import { defineType, s } from '../../src/registry/builtin/defineType.ts';

export const widgetType = defineType({
  group: 'test.fleetops.dev',
  version: 'v1',
  kind: 'Widget',
  plural: 'widgets',
  namespaced: true,
  statusSubresource: true,
  schema: s.root(s.obj({ size: s.int({ minimum: 1 }), color: s.str({ default: 'blue' }) }, { required: ['size'] }), s.any()),
  // A kind rule to see it enforced: the label `forbidden` is refused.
  strategy: { validate: (obj) => (obj.metadata.labels?.forbidden ? [{ reason: 'FieldValueForbidden', field: 'metadata.labels', message: 'no' }] : []) },
});
