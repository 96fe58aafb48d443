/**
 * A CRD's OpenAPI schema as form libraries read it (the portal's rjsf, Backstage's scaffolder): Kubernetes'
 * `x-kubernetes-*` keywords dropped, an int-or-string field as `anyOf` integer or string, and every property titled
 * (its own `title`, else its name made readable: `dbDriver` → "Db driver") so forms label fields as people read them.
 * Isomorphic.
 */
import { isPlainObject } from './types.ts';

const NESTED = new Set(['items', 'additionalProperties', 'not']);
const LISTS = new Set(['allOf', 'anyOf', 'oneOf']);

export function formSchema(schema: unknown): Record<string, unknown> {
  if (!isPlainObject(schema)) return {};
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(schema)) {
    if (k.startsWith('x-kubernetes-')) continue;
    if (k === 'properties' && isPlainObject(v)) out.properties = Object.fromEntries(Object.entries(v).map(([p, s]) => [p, titled(formSchema(s), p)]));
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

function titled(schema: Record<string, unknown>, name: string): Record<string, unknown> {
  return typeof schema.title === 'string' && schema.title ? schema : { title: readable(name), ...schema };
}

/** A property name as words: `dbDriver`, `db_driver` and `db-driver` all read "Db driver"; `tlsURL` reads "Tls URL". */
export function readable(name: string): string {
  const words = name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .split(/[\s_-]+/)
    .filter(Boolean)
    .map((w, i) => (w === w.toUpperCase() && w.length > 1 ? w : i === 0 ? w : w.toLowerCase()));
  const text = words.join(' ');
  return text.charAt(0).toUpperCase() + text.slice(1);
}
