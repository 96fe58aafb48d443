/**
 * Whether a value matches a JSON schema, by interpreting it (no code is generated, so it runs under the portal's
 * Content-Security-Policy, which forbids evaluating strings). The form asks it only which branch of an
 * anyOf/oneOf/if a value belongs to; the errors users see come from the server's own validation (a dry run).
 * Covers the structural-schema keywords Kubernetes allows in a CRD.
 */

type Schema = Record<string, unknown>;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function typeOk(type: unknown, v: unknown): boolean {
  const one = (t: unknown): boolean => {
    switch (t) {
      case 'object':
        return isObject(v);
      case 'array':
        return Array.isArray(v);
      case 'string':
        return typeof v === 'string';
      case 'integer':
        return typeof v === 'number' && Number.isInteger(v);
      case 'number':
        return typeof v === 'number';
      case 'boolean':
        return typeof v === 'boolean';
      case 'null':
        return v === null;
      default:
        return true;
    }
  };
  return Array.isArray(type) ? type.some(one) : one(type);
}

const equal = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

export function schemaMatches(schema: unknown, v: unknown): boolean {
  if (schema === true || schema === undefined) return true;
  if (schema === false || !isObject(schema)) return schema !== false;
  const s: Schema = schema;
  if (v === null && s.nullable === true) return true;
  if (v === undefined) return true;
  if (s['x-kubernetes-int-or-string'] === true && !(typeof v === 'string' || (typeof v === 'number' && Number.isInteger(v)))) return false;
  if (s.type !== undefined && !typeOk(s.type, v)) return false;
  if (Array.isArray(s.enum) && !s.enum.some((e) => equal(e, v))) return false;
  if ('const' in s && !equal(s.const, v)) return false;
  if (typeof v === 'number') {
    if (typeof s.minimum === 'number' && (s.exclusiveMinimum === true ? v <= s.minimum : v < s.minimum)) return false;
    if (typeof s.maximum === 'number' && (s.exclusiveMaximum === true ? v >= s.maximum : v > s.maximum)) return false;
    if (typeof s.multipleOf === 'number' && s.multipleOf > 0 && Math.abs(v / s.multipleOf - Math.round(v / s.multipleOf)) > 1e-9) return false;
  }
  if (typeof v === 'string') {
    const length = [...v].length;
    if (typeof s.minLength === 'number' && length < s.minLength) return false;
    if (typeof s.maxLength === 'number' && length > s.maxLength) return false;
    if (typeof s.pattern === 'string') {
      try {
        if (!new RegExp(s.pattern, 'u').test(v)) return false;
      } catch {
        // a pattern this browser cannot read: the server decides
      }
    }
  }
  if (Array.isArray(v)) {
    if (typeof s.minItems === 'number' && v.length < s.minItems) return false;
    if (typeof s.maxItems === 'number' && v.length > s.maxItems) return false;
    if (s.items !== undefined && !v.every((item) => schemaMatches(s.items, item))) return false;
    if (s.uniqueItems === true && new Set(v.map((i) => JSON.stringify(i))).size !== v.length) return false;
  }
  if (isObject(v)) {
    const props = isObject(s.properties) ? s.properties : {};
    if (Array.isArray(s.required) && !s.required.every((k) => typeof k === 'string' && v[k] !== undefined)) return false;
    for (const [k, value] of Object.entries(v)) {
      if (k in props) {
        if (!schemaMatches(props[k], value)) return false;
      } else if (s.additionalProperties === false) return false;
      else if (isObject(s.additionalProperties) && !schemaMatches(s.additionalProperties, value)) return false;
    }
    if (typeof s.minProperties === 'number' && Object.keys(v).length < s.minProperties) return false;
    if (typeof s.maxProperties === 'number' && Object.keys(v).length > s.maxProperties) return false;
  }
  if (Array.isArray(s.allOf) && !s.allOf.every((x) => schemaMatches(x, v))) return false;
  if (Array.isArray(s.anyOf) && !s.anyOf.some((x) => schemaMatches(x, v))) return false;
  if (Array.isArray(s.oneOf) && s.oneOf.filter((x) => schemaMatches(x, v)).length !== 1) return false;
  if (s.not !== undefined && schemaMatches(s.not, v)) return false;
  if (s.if !== undefined) {
    const branch = schemaMatches(s.if, v) ? s.then : s.else;
    if (branch !== undefined && !schemaMatches(branch, v)) return false;
  }
  return true;
}
