/**
 * Kubernetes structural-schema semantics that plain JSON Schema lacks: pruning of unknown fields and defaulting.
 * Mirrors apiextensions-apiserver `pkg/apiserver/schema/{pruning,defaulting}`.
 *
 * Both change the root object they are given in place, and nothing below it: a member that loses a field or gains a
 * default is replaced by a copy, the others are left as they are. A write's members may be shared (a controller's
 * body made of its informer's objects, the stored object a status write starts from; see ObjectService), and most
 * writes change nothing below the root, so nothing is copied for them.
 */
import { isPlainObject, cloneJson, type JsonObject } from '../../api/types.ts';
import type { JsonSchema } from '../ResourceType.ts';

/** Fields kept at the root of every object regardless of the schema. */
const ROOT_FIELDS = new Set(['apiVersion', 'kind', 'metadata']);

function preserves(schema: JsonSchema | undefined): boolean {
  return schema?.['x-kubernetes-preserve-unknown-fields'] === true;
}

/**
 * Removes fields the schema does not declare from `root` (in place; its members are replaced, not changed). Returns
 * the dotted paths removed (for strict field validation). `x-kubernetes-preserve-unknown-fields` keeps unknown
 * fields; `additionalProperties` declares a map.
 */
export function prune(schema: JsonSchema | undefined, root: JsonObject): string[] {
  const removed: string[] = [];
  pruneMembers(schema, root, true, '', removed, root);
  return removed;
}

/**
 * `value` pruned: `value` itself when nothing in it goes, else a copy along the paths that lose a field. Runs on
 * every write over the whole object: a member's path is written out only when the walk goes into it or removes it,
 * and scalars (most members) are not walked into.
 */
function pruned(schema: JsonSchema | undefined, value: unknown, isRoot: boolean, path: string, removed: string[]): unknown {
  if (!schema) return value;
  if (isPlainObject(value)) return pruneMembers(schema, value, isRoot, path, removed, undefined);
  const items = schema.items;
  if (Array.isArray(value) && items)
    return itemsReplaced(value, (item, i) => (typeof item === 'object' && item !== null ? pruned(items, item, false, `${path}[${i}]`, removed) : item));
  return value;
}

/** `list` with each item as `next` makes it: `list` itself when no item changes, else a copy made at the first change. */
function itemsReplaced(list: unknown[], next: (item: unknown, i: number) => unknown): unknown[] {
  let out: unknown[] | undefined;
  for (let i = 0; i < list.length; i++) {
    const item: unknown = list[i];
    const made = next(item, i);
    if (made !== item) (out ??= list.slice())[i] = made;
  }
  return out ?? list;
}

/** The members of `value` pruned, into `target` when given (the root), else into a copy made at the first change. */
function pruneMembers(
  schema: JsonSchema | undefined,
  value: JsonObject,
  isRoot: boolean,
  path: string,
  removed: string[],
  target: JsonObject | undefined,
): JsonObject {
  if (!schema) return value;
  // embedded objects keep their own apiVersion/kind/metadata like a root object
  const root = isRoot || Boolean(schema['x-kubernetes-embedded-resource']);
  let out = target;
  for (const key of Object.keys(value)) {
    if (root && ROOT_FIELDS.has(key)) continue;
    const member = value[key];
    const propSchema = schema.properties?.[key] ?? (isPlainObject(schema.additionalProperties) ? schema.additionalProperties : undefined);
    if (propSchema) {
      if (typeof member !== 'object' || member === null) continue;
      const next = pruned(propSchema, member, false, `${path}${path ? '.' : ''}${key}`, removed);
      if (next !== member) (out ??= { ...value })[key] = next;
    } else if (schema.additionalProperties === true || preserves(schema)) {
      continue;
    } else {
      delete (out ??= { ...value })[key];
      removed.push(`${path}${path ? '.' : ''}${key}`);
    }
  }
  return out ?? value;
}

/**
 * Applies `default`s to `root`, top-down, as the apiserver does on create, update and read: in place at the root,
 * its members replaced by copies where a default is added below them.
 */
export function applyDefaults(schema: JsonSchema | undefined, root: JsonObject): void {
  defaultMembers(schema, root, root);
}

/** `value` with its defaults: `value` itself when none is missing, else a copy along the paths that gain one. */
function defaulted(schema: JsonSchema | undefined, value: unknown): unknown {
  if (!schema) return value;
  if (isPlainObject(value)) return defaultMembers(schema, value, undefined);
  const items = schema.items;
  if (Array.isArray(value) && items) return itemsReplaced(value, (item) => defaulted(items, item));
  return value;
}

function defaultMembers(schema: JsonSchema | undefined, value: JsonObject, target: JsonObject | undefined): JsonObject {
  if (!schema) return value;
  let out = target;
  const properties = schema.properties;
  // for-in, not Object.entries: runs at every level of every object written, and the pairs list was allocated each time.
  for (const key in properties) {
    const propSchema = properties[key];
    if (!Object.hasOwn(properties, key) || !propSchema) continue;
    const member = value[key];
    const given = member === undefined && propSchema.default !== undefined ? cloneJson(propSchema.default) : member;
    const next = defaulted(propSchema, given);
    if (next !== member) (out ??= { ...value })[key] = next;
  }
  if (isPlainObject(schema.additionalProperties)) {
    for (const key in value) {
      if (!Object.hasOwn(value, key) || schema.properties?.[key]) continue;
      const member = value[key];
      const next = defaulted(schema.additionalProperties, member);
      if (next !== member) (out ??= { ...value })[key] = next;
    }
  }
  return out ?? value;
}
