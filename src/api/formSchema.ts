/**
 * A CRD's OpenAPI schema as form libraries read it (the portal's rjsf, Backstage's scaffolder): Kubernetes'
 * `x-kubernetes-*` keywords dropped, an int-or-string field as `anyOf` integer or string. Isomorphic.
 */
import { isPlainObject } from './types.ts';

const NESTED = new Set(['items', 'additionalProperties', 'not']);
const LISTS = new Set(['allOf', 'anyOf', 'oneOf']);

export function formSchema(schema: unknown): Record<string, unknown> {
  if (!isPlainObject(schema)) return {};
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(schema)) {
    if (k.startsWith('x-kubernetes-')) continue;
    if (k === 'properties' && isPlainObject(v)) out.properties = Object.fromEntries(Object.entries(v).map(([p, s]) => [p, formSchema(s)]));
    else if (NESTED.has(k) && isPlainObject(v)) out[k] = formSchema(v);
    else if (LISTS.has(k) && Array.isArray(v)) out[k] = v.map(formSchema);
    else out[k] = v;
  }
  if (schema['x-kubernetes-int-or-string']) {
    delete out.type;
    out.anyOf = [{ type: 'integer' }, { type: 'string' }];
  }
  return out;
}
