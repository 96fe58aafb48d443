/**
 * Kubernetes structural-schema semantics that plain JSON Schema lacks: pruning of unknown fields and defaulting.
 * Mirrors apiextensions-apiserver `pkg/apiserver/schema/{pruning,defaulting}`.
 */
import { isPlainObject, cloneJson } from '../../api/types.ts';
import type { JsonSchema } from '../ResourceType.ts';

/** Fields kept at the root of every object regardless of the schema. */
const ROOT_FIELDS = new Set(['apiVersion', 'kind', 'metadata']);

function preserves(schema: JsonSchema | undefined): boolean {
  return schema?.['x-kubernetes-preserve-unknown-fields'] === true;
}

/**
 * Removes fields the schema does not declare, in place. Returns the dotted paths removed (for strict field
 * validation). `x-kubernetes-preserve-unknown-fields` keeps unknown fields; `additionalProperties` declares a map.
 */
export function prune(schema: JsonSchema | undefined, value: unknown, isRoot = true, path = ''): string[] {
  const removed: string[] = [];
  pruneInto(schema, value, isRoot, path, removed);
  return removed;
}

/**
 * `prune` into one list. Runs on every write over the whole object: a member's path is written out only when the
 * walk goes into it or removes it, and scalars (most members) are not walked into.
 */
function pruneInto(schema: JsonSchema | undefined, value: unknown, isRoot: boolean, path: string, removed: string[]): void {
  if (!schema) return;
  if (isPlainObject(value)) {
    // embedded objects keep their own apiVersion/kind/metadata like a root object
    const root = isRoot || Boolean(schema['x-kubernetes-embedded-resource']);
    for (const key of Object.keys(value)) {
      if (root && ROOT_FIELDS.has(key)) continue;
      const member = value[key];
      const propSchema = schema.properties?.[key] ?? (isPlainObject(schema.additionalProperties) ? schema.additionalProperties : undefined);
      if (propSchema) {
        if (typeof member === 'object' && member !== null) pruneInto(propSchema, member, false, `${path}${path ? '.' : ''}${key}`, removed);
      } else if (schema.additionalProperties === true || preserves(schema)) {
        continue;
      } else {
        delete value[key];
        removed.push(`${path}${path ? '.' : ''}${key}`);
      }
    }
  } else if (Array.isArray(value) && schema.items) {
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      if (typeof item === 'object' && item !== null) pruneInto(schema.items, item, false, `${path}[${i}]`, removed);
    }
  }
}

/** Applies `default`s in place, top-down, as the apiserver does on create, update and read. */
export function applyDefaults(schema: JsonSchema | undefined, value: unknown): void {
  if (!schema) return;
  if (isPlainObject(value)) {
    const properties = schema.properties;
    // for-in, not Object.entries: runs at every level of every object written, and the pairs list was allocated each time.
    for (const key in properties) {
      const propSchema = properties[key];
      if (!Object.hasOwn(properties, key) || !propSchema) continue;
      if (value[key] === undefined && propSchema.default !== undefined) value[key] = cloneJson(propSchema.default);
      applyDefaults(propSchema, value[key]);
    }
    if (isPlainObject(schema.additionalProperties)) {
      for (const key in value) {
        if (Object.hasOwn(value, key) && !schema.properties?.[key]) applyDefaults(schema.additionalProperties, value[key]);
      }
    }
  } else if (Array.isArray(value) && schema.items) {
    for (const item of value) applyDefaults(schema.items, item);
  }
}
