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
  if (!schema) return removed;
  if (isPlainObject(value)) {
    if (schema['x-kubernetes-embedded-resource'] && !isRoot) {
      // embedded objects keep their own apiVersion/kind/metadata like a root object
      isRoot = true;
    }
    for (const key of Object.keys(value)) {
      const child = `${path}${path ? '.' : ''}${key}`;
      if (isRoot && ROOT_FIELDS.has(key)) continue;
      const propSchema = schema.properties?.[key];
      if (propSchema) {
        removed.push(...prune(propSchema, value[key], false, child));
      } else if (isPlainObject(schema.additionalProperties)) {
        removed.push(...prune(schema.additionalProperties, value[key], false, child));
      } else if (schema.additionalProperties === true || preserves(schema)) {
        continue;
      } else {
        delete value[key];
        removed.push(child);
      }
    }
  } else if (Array.isArray(value) && schema.items) {
    value.forEach((item, i) => removed.push(...prune(schema.items, item, false, `${path}[${i}]`)));
  }
  return removed;
}

/** Applies `default`s in place, top-down, as the apiserver does on create, update and read. */
export function applyDefaults(schema: JsonSchema | undefined, value: unknown): void {
  if (!schema) return;
  if (isPlainObject(value)) {
    for (const [key, propSchema] of Object.entries(schema.properties ?? {})) {
      if (value[key] === undefined && propSchema.default !== undefined) value[key] = cloneJson(propSchema.default);
      applyDefaults(propSchema, value[key]);
    }
    if (isPlainObject(schema.additionalProperties)) {
      for (const key of Object.keys(value)) {
        if (!schema.properties?.[key]) applyDefaults(schema.additionalProperties, value[key]);
      }
    }
  } else if (Array.isArray(value) && schema.items) {
    for (const item of value) applyDefaults(schema.items, item);
  }
}
